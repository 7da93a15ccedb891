"""The README documents every setting (with its default) and the two set-up commands CI relies on."""

from __future__ import annotations

from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _settings_classes():
    from enrichment.settings import EnrichmentSettings
    from index.search.tuning import SearchSettings
    from index.settings import EmbeddingSettings, ImageFetchSettings, StorageSettings
    from server.settings import ServerSettings

    return [EmbeddingSettings, ImageFetchSettings, StorageSettings, SearchSettings, ServerSettings,
            EnrichmentSettings]


@pytest.mark.parametrize("cls", _settings_classes(), ids=lambda c: c.__name__)
def test_every_setting_is_in_the_readme(cls):
    prefix = cls.model_config.get("env_prefix", "")
    missing = [f"{prefix}{name.upper()}" for name in cls.model_fields if f"`{prefix}{name.upper()}`" not in README]
    assert not missing, f"document these in README.md: {missing}"


def test_ci_runs_the_readme_test_command():
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "make test" in README and "make run" in README
    assert ci.strip().splitlines()[-1] == "make test"
