"""The README's promises: its config examples load, and CI runs exactly its test command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cds_service.config import load_settings

README = (Path(__file__).parent.parent / "README.md").read_text()
TOML_BLOCKS = re.findall(r"```toml\n(.*?)```", README, flags=re.S)


def test_readme_has_config_examples():
    assert len(TOML_BLOCKS) >= 3


@pytest.mark.parametrize("block", TOML_BLOCKS, ids=[f"toml-{i}" for i in range(len(TOML_BLOCKS))])
def test_readme_config_example_loads(tmp_path, block):
    for jwks in re.findall(r'jwks_file = "([^"]+)"', block):
        (tmp_path / jwks).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / jwks).write_text('{"keys": []}')
    path = tmp_path / "config.toml"
    path.write_text(block)
    load_settings(path, environ={})  # raises ConfigError on anything it would refuse at start


def test_ci_runs_the_readme_test_command():
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text()
    assert "<!-- test-command -->" in README and "test-command" in ci
    command = README.split("<!-- test-command -->", 1)[1].split("```sh\n", 1)[1].split("\n", 1)[0]
    assert "pytest" in command and command.startswith("python3 -m venv")


def test_the_readme_lists_every_clinical_setting_with_its_default():
    import dataclasses
    import tomllib

    from cards import EngineSettings

    (block,) = [b for b in TOML_BLOCKS if "[clinical]" in b and "use_window_days" in b]
    listed = tomllib.loads(block)["clinical"]
    defaults = EngineSettings()
    numeric = {f.name for f in dataclasses.fields(EngineSettings) if isinstance(f.default, int)}
    assert listed == {name: getattr(defaults, name) for name in numeric}


def test_the_readme_card_table_names_every_topic_once():
    import cards

    section = README.split("### Cards", 1)[1]
    table = section[section.index("| topic |"):].split("\n\n", 1)[0]
    rows = re.findall(r"^\| `([a-z-]+)` \|", table, flags=re.M)
    assert rows == list(cards.TOPICS)


def test_the_pictures_the_readme_shows_are_in_the_repository():
    # docs/cows-form.png is rewritten by tests/apps/test_cows_form.py with UPDATE_PICTURES=1.
    pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README)
    assert "docs/cows-form.png" in pictures
    assert all((Path(__file__).parent.parent / picture).is_file() for picture in pictures)


def test_every_command_the_readme_gives_works_in_a_fresh_shell():
    """`withdrawal-cds` alone is `command not found` until the venv is activated: every invocation in a
    code span or block names .venv/bin/, except inside the image (after `docker run ... IMAGE`)."""
    code = re.findall(r"```sh\n(.*?)```", README, flags=re.S) + re.findall(r"`([^`\n]+)`", README)
    bare = [line for text in code for line in text.splitlines()
            if re.search(r"(?<![\w/.-])withdrawal-cds (serve|evaluate|report|purge)\b", line)
            and not line.lstrip().startswith("docker ")]
    assert bare == []


def test_the_readme_says_how_the_tests_find_postgresql():
    source = (Path(__file__).parent / "store" / "databases.py").read_text()
    (default,) = re.findall(r'"WITHDRAWAL_CDS_TEST_PG_URL", "([^"]+)"', source)
    assert "WITHDRAWAL_CDS_TEST_PG_URL" in README and f"`{default}`" in README
    assert "skipped with a message" in README and "`CI=true` they fail" in README
