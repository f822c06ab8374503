"""The README starts with the two commands, CI runs the same test command, and every setting is
documented (after datasette's test that every setting is in its docs)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# a row of the README's Settings table: | `TRIAGE_NAME` | default | what it does |
SETTING_ROW = re.compile(r"^\| `(TRIAGE_[A-Z0-9_]+)` \| ([^|]+) \|", re.M)


def _commands_in_first_block(text: str) -> list[str]:
    block = re.search(r"```(?:sh|bash|console)?\n(.*?)```", text, re.S)
    assert block, "README needs a code block with the commands"
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_serve_and_test():
    readme = (ROOT / "README.md").read_text()
    first_block_start = readme.index("```")
    assert readme[:first_block_start].count("\n") < 12, "the commands must come first"
    assert _commands_in_first_block(readme) == ["make serve", "make test"]


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_makefile_has_the_targets_the_readme_names():
    makefile = (ROOT / "Makefile").read_text()
    readme = (ROOT / "README.md").read_text()
    for target in set(re.findall(r"`make ([a-z-]+)`", readme)) | {"serve", "test"}:
        assert re.search(rf"^{target}:", makefile, re.M), target


def test_cli_help_for_every_command():
    from click.testing import CliRunner

    from triage.cli.main import main

    runner = CliRunner()
    for args in (
        ["--help"],
        ["serve", "--help"],
        ["score-file", "--help"],
        ["data", "--help"],
        ["data", "prepare", "--help"],
        ["train", "--help"],
        ["export", "--help"],
        ["evaluate", "--help"],
    ):
        result = runner.invoke(main, args)
        assert result.exit_code == 0 and "Usage" in result.output, args


def _settings_section() -> str:
    readme = (ROOT / "README.md").read_text()
    section = re.search(r"^## Settings\n(.*?)(?=^## |\Z)", readme, re.S | re.M)
    assert section, "README needs a '## Settings' section listing every TRIAGE_ variable"
    return section.group(1)


def _documented_default(value: object) -> str | None:
    """How the Settings table writes a default (without its backticks); None where it is
    described in words instead (role tables, a SQLite URL holding the checkout's absolute path)."""
    from triage.paths import PROJECT_ROOT

    if value is None or value == []:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else str(value)
    if isinstance(value, Path) and value.is_relative_to(PROJECT_ROOT):
        return value.relative_to(PROJECT_ROOT).as_posix()
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return ",".join(value)
    if isinstance(value, str) and str(PROJECT_ROOT) not in value:
        return value
    return None


def test_every_setting_is_documented_and_every_documented_one_exists():
    from triage.settings import Settings

    fields = {f"TRIAGE_{name.upper()}" for name in Settings.model_fields}
    section = _settings_section()
    rows = dict(SETTING_ROW.findall(section))
    assert fields - rows.keys() == set(), "settings missing from the README's Settings table"
    named = set(re.findall(r"TRIAGE_[A-Z0-9_]+", section))
    assert named - fields == set(), "the README's Settings section names settings that do not exist"


def test_documented_defaults_match_the_settings():
    from triage.settings import Settings

    rows = dict(SETTING_ROW.findall(_settings_section()))
    for name, field in Settings.model_fields.items():
        expected = _documented_default(field.get_default(call_default_factory=True))
        variable = f"TRIAGE_{name.upper()}"
        if expected is not None:
            assert rows[variable].strip().strip("`") == expected, (variable, expected)
