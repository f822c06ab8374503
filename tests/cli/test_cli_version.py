"""`triage --version` names the package version."""

from __future__ import annotations

from tests.conftest import run_cli
from triage import __version__


def test_version_option_prints_the_package_version():
    result = run_cli("--version")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"triage {__version__}"
