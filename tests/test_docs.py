"""The README and the pages under docs/ keep their promises: every relative link and anchor leads
somewhere, every shell command names a real subcommand, option, file and module, the config examples
load, and the tables that mirror code list what the code has."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from cds_service import cli
from cds_service.config import load_settings

ROOT = Path(__file__).parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TEXT = {page: page.read_text() for page in PAGES}
# What a page says outside its fenced blocks, and inside them, by the block's language.
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", flags=re.S | re.M)


def blocks(language: str) -> list[tuple[Path, str]]:
    return [(page, body) for page, text in TEXT.items() for lang, body in FENCE.findall(text) if lang == language]


def ids(pairs) -> list[str]:
    return [f"{page.relative_to(ROOT)}-{i}" for i, (page, _) in enumerate(pairs)]


# --- links -----------------------------------------------------------------------------------------

def anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#{1,6} (.+)$", FENCE.sub("", markdown), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def relative_links(markdown: str) -> list[str]:
    prose = FENCE.sub("", markdown)
    targets = re.findall(r"\]\(([^)\s]+)\)", prose) + re.findall(r'<img [^>]*src="([^"]+)"', prose)
    return [t for t in targets if not re.match(r"[a-z]+:", t)]


LINKS = [(page, target) for page in PAGES for target in relative_links(TEXT[page])]


def test_the_pages_link_each_other():
    assert len(LINKS) >= 15


@pytest.mark.parametrize("page,target", LINKS, ids=[f"{p.relative_to(ROOT)}->{t}" for p, t in LINKS])
def test_every_relative_link_leads_somewhere(page, target):
    path, _, anchor = target.partition("#")
    file = (page.parent / path).resolve() if path else page
    assert file.exists(), f"{page.relative_to(ROOT)} links {target}: no such file"
    assert file.is_relative_to(ROOT), f"{page.relative_to(ROOT)} links outside the repository: {target}"
    if anchor:
        assert file.suffix == ".md" and anchor in anchors(file.read_text()), \
            f"{page.relative_to(ROOT)} links {target}: no such heading"


def test_the_anchor_check_knows_github_slugs():
    assert anchors("# A: b (v2)\n## Feedback, snoozing and the store\n```sh\n# not a heading\n```\n") == {
        "a-b-v2", "feedback-snoozing-and-the-store"}


# --- commands --------------------------------------------------------------------------------------

def subcommands() -> dict[str, set[str]]:
    """Each subcommand of withdrawal-cds with its options, from the parser main() builds."""
    parsers: list[argparse.ArgumentParser] = []
    real = argparse.ArgumentParser.parse_args

    def capture(self, *args, **kwargs):
        parsers.append(self)
        raise SystemExit(0)

    argparse.ArgumentParser.parse_args = capture
    try:
        cli.main([])
    except SystemExit:
        pass
    finally:
        argparse.ArgumentParser.parse_args = real
    (parser,) = parsers
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {name: {o for a in sub._actions for o in a.option_strings} for name, sub in commands.choices.items()}


SUBCOMMANDS = subcommands()
SH = blocks("sh")
# Everything git tracks at the top of the repository: a path into one of these must exist.
TRACKED_TOPS = {p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".") and
                (p / "__init__.py").exists() or p.name in {"deploy", "docs", "examples", "requirements", "scripts",
                                                           "tests", "benchmarks", "population"}}


def command_lines(body: str) -> list[str]:
    joined = body.replace("\\\n", " ")
    return [line.split(" #", 1)[0] for line in joined.splitlines() if line.strip()]


def test_the_subcommands_are_read_from_the_cli():
    assert {"serve", "evaluate", "report", "purge"} <= set(SUBCOMMANDS)
    assert "--config" in SUBCOMMANDS["report"] and "--port" in SUBCOMMANDS["serve"]


@pytest.mark.parametrize("page,body", SH, ids=ids(SH))
def test_every_withdrawal_cds_command_names_a_real_subcommand_and_options(page, body):
    for line in command_lines(body):
        for match in re.finditer(r"withdrawal-cds (\S+)((?: [^|&;]*)?)", line):
            if "docker " in line[:match.start()] or match.group(1).startswith(("-", ".", ":")):
                continue  # an image name, not the CLI
            name, rest = match.group(1), match.group(2)
            assert name in SUBCOMMANDS, f"{page.name}: `withdrawal-cds {name}` is no subcommand: {line}"
            options = {o.split("=")[0] for o in re.findall(r"(?<![\w-])--[\w-]+(?:=\S+)?", rest)}
            assert options <= SUBCOMMANDS[name], f"{page.name}: {sorted(options - SUBCOMMANDS[name])} in {line}"


@pytest.mark.parametrize("page,body", SH, ids=ids(SH))
def test_every_repository_path_and_module_a_command_names_exists(page, body):
    made = set()  # what an earlier command of the block creates (cp's target)
    for line in command_lines(body):
        words = [w for w in shlex.split(line.replace("$(", " ").replace(")", " "), posix=True)]
        if words[:1] == ["cp"]:
            made.add(words[-1])
        for word in words:
            for path in re.findall(r"(?:^|[:=/]|\$PWD/)((?:%s)/[\w./-]*)" % "|".join(TRACKED_TOPS), word):
                path = path.split(":")[0].rstrip("/")
                assert path in made or (ROOT / path).exists(), f"{page.name}: {path} does not exist: {line}"
        for module in re.findall(r"-m ([\w.]+)", line):
            if module.split(".")[0] in TRACKED_TOPS:
                base = ROOT.joinpath(*module.split("."))
                assert base.with_suffix(".py").exists() or (base / "__main__.py").exists(), \
                    f"{page.name}: no module {module}: {line}"


def test_every_command_works_in_a_fresh_shell():
    """`withdrawal-cds` alone is `command not found` until the venv is activated: every invocation in a
    code span or block names .venv/bin/, except inside the image (after `docker run ... IMAGE`)."""
    code = [body for _, body in SH] + [span for text in TEXT.values() for span in re.findall(r"`([^`\n]+)`", text)]
    bare = [line for text in code for line in text.splitlines()
            if re.search(r"(?<![\w/.-])withdrawal-cds (%s)\b" % "|".join(SUBCOMMANDS), line)
            and not line.lstrip().startswith("docker ")]
    assert bare == []


# --- what the pages mirror -------------------------------------------------------------------------

TOML = blocks("toml")


def test_the_pages_have_config_examples():
    assert len(TOML) >= 3


@pytest.mark.parametrize("page,block", TOML, ids=ids(TOML))
def test_every_config_example_loads(tmp_path, page, block):
    for jwks in re.findall(r'jwks_file = "([^"]+)"', block):
        (tmp_path / jwks).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / jwks).write_text('{"keys": []}')
    path = tmp_path / "config.toml"
    path.write_text(block)
    load_settings(path, environ={})  # raises ConfigError on anything it would refuse at start


def test_the_clinical_rules_list_every_clinical_setting_with_its_default():
    import dataclasses
    import tomllib

    from cards import EngineSettings

    (block,) = [b for _, b in TOML if "[clinical]" in b and "use_window_days" in b]
    listed = tomllib.loads(block)["clinical"]
    defaults = EngineSettings()
    numeric = {f.name for f in dataclasses.fields(EngineSettings) if isinstance(f.default, int)}
    assert listed == {name: getattr(defaults, name) for name in numeric}


def test_the_card_table_names_every_topic_once():
    import cards

    section = (ROOT / "docs" / "clinical-rules.md").read_text().split("## Cards", 1)[1]
    table = section[section.index("| topic |"):].split("\n\n", 1)[0]
    rows = re.findall(r"^\| `([a-z-]+)` \|", table, flags=re.M)
    assert rows == list(cards.TOPICS)


def test_the_pictures_are_in_the_repository():
    # docs/cows-form.png is rewritten by tests/apps/test_cows_form.py with UPDATE_PICTURES=1,
    # docs/card.png by scripts/card-picture.py.
    pictures = {(page.parent / p).resolve().relative_to(ROOT).as_posix()
                for page, text in TEXT.items() for p in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)}
    assert {"docs/cows-form.png", "docs/card.png"} <= pictures
    assert all((ROOT / picture).is_file() for picture in pictures)


def test_every_extra_a_command_installs_is_defined():
    import tomllib

    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    named = {extra for _, body in SH for extra in re.findall(r"-e '\.\[([\w,-]+)\]'", body)}
    assert "sandbox" in named and named <= extras
