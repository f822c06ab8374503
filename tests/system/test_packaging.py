"""pyproject.toml uses the metadata forms current setuptools accepts without a warning."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_license_is_an_spdx_string_with_a_setuptools_that_reads_it():
    project = tomllib.loads(PYPROJECT.read_text())
    assert project["project"]["license"] == "Apache-2.0"  # a table is deprecated
    requires = " ".join(project["build-system"]["requires"])
    minimum = re.search(r"setuptools>=(\d+)", requires)
    assert minimum and int(minimum.group(1)) >= 77, "SPDX strings need setuptools 77"


def test_every_declared_package_data_file_exists():
    """A package-data pattern that matches nothing is silently skipped by setuptools: the wheel
    would lack it (py.typed was declared but absent until issue 16)."""
    project = tomllib.loads(PYPROJECT.read_text())
    for package, patterns in project["tool"]["setuptools"]["package-data"].items():
        root = PYPROJECT.parent / package.replace(".", "/")
        for pattern in patterns:
            assert any(root.glob(pattern)), f"{package}: {pattern} matches no file"
