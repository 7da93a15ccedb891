"""Every setting of every concern as a Markdown table (`anime-mcp settings`; the README embeds it)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic_settings import BaseSettings

from enrichment.settings import EnrichmentSettings
from index.catalogue import CatalogueSettings
from index.search.cache import CacheSettings
from index.search.tuning import SearchSettings
from index.settings import EmbeddingSettings, ImageFetchSettings, StorageSettings
from server.settings import ServerSettings


def settings_classes() -> list[tuple[str, type[BaseSettings]]]:
    return [
        ("Models", EmbeddingSettings),
        ("Images", ImageFetchSettings),
        ("Storage", StorageSettings),
        ("Catalogue", CatalogueSettings),
        ("Search tuning", SearchSettings),
        ("Caches", CacheSettings),
        ("Server", ServerSettings),
        ("Enrichment", EnrichmentSettings),
    ]


def _default(field) -> str:
    value = field.default if field.default_factory is None else field.default_factory()
    if hasattr(value, "get_secret_value"):
        return "(secret)"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    if value is None:
        return "unset"
    text = str(value)
    home = str(Path.home())
    return "~" + text[len(home) :] if text.startswith(home) else text


def settings_markdown() -> str:
    out = []
    for title, cls in settings_classes():
        prefix = cls.model_config.get("env_prefix", "")
        out += [f"**{title}**", "", "| variable | default | meaning |", "| --- | --- | --- |"]
        for name, field in cls.model_fields.items():
            meaning = (field.description or "").replace("|", "/")
            out.append(f"| `{prefix}{name.upper()}` | `{_default(field)}` | {meaning} |")
        out.append("")
    return "\n".join(out)
