"""The README's promises: it shows a card, CI runs exactly its test command, and it says how the
tests find PostgreSQL. (The pages under docs/ are checked by tests/test_docs.py.)"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "<!-- test-command -->" in README and "test-command" in ci
    command = README.split("<!-- test-command -->", 1)[1].split("```sh\n", 1)[1].split("\n", 1)[0]
    assert "pytest" in command and command.startswith("python3 -m venv")


def test_the_readme_says_how_the_tests_find_postgresql():
    source = (Path(__file__).parent / "store" / "databases.py").read_text()
    (default,) = re.findall(r'"WITHDRAWAL_CDS_TEST_PG_URL", "([^"]+)"', source)
    assert "WITHDRAWAL_CDS_TEST_PG_URL" in README and f"`{default}`" in README
    assert "skipped with a message" in README and "`CI=true` they fail" in README


def test_the_first_screen_shows_a_card_then_the_two_commands():
    """What it is, a picture of a card, run, test: before any other heading."""
    first_screen = README.split("\n## ", 1)[0]
    picture = first_screen.index("](docs/card.png)")
    run_command = "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/withdrawal-cds serve"
    run = first_screen.index(f"```sh\n{run_command}\n")
    test = first_screen.index("<!-- test-command -->")
    assert first_screen.index("CDS Hooks") < picture < run < test


def test_the_readme_is_a_few_kilobytes_and_points_to_every_page():
    assert len(README.encode()) < 6000, "the rest belongs in docs/"
    pages = {p.name for p in (ROOT / "docs").glob("*.md")} - {"README.md"}
    linked = set(re.findall(r"\]\(docs/([\w-]+\.md)\)", README))
    assert pages <= linked, f"docs pages the README does not list: {sorted(pages - linked)}"
