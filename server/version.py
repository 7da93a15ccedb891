"""The installed package's version, kept off the heavy imports so `anime-mcp --version` answers at once."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def package_version() -> str:
    """The installed package's version (pyproject.toml is the one place it is written)."""
    try:
        return version("anime-mcp")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"
