"""The README starts with the two commands, and CI runs the same test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


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
