"""What a user of a Python MCP server expects to find: a version flag, `python -m`, a licence, type hints."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

from tests.paths import ROOT


def test_version_flag_prints_the_installed_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "server", "--version"], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == f"anime-mcp {version('anime-mcp')}"


def test_python_dash_m_runs_the_cli() -> None:
    out = subprocess.run([sys.executable, "-m", "server", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert "serve" in out.stdout and "index" in out.stdout


def test_licence_matches_the_metadata_and_packages_are_typed() -> None:
    assert "MIT License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    for package in ("index", "tools", "server", "enrichment"):
        assert (ROOT / package / "py.typed").is_file(), package
