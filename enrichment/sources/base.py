"""What every source module provides, and the per-call context they fetch through.

A source is two functions: ``fetch(ctx) -> raw`` (network, through the shared
HttpClient) and ``parse(raw) -> partial`` (pure, testable on recorded fixtures).
The raw shape of each source is the shape of its recorded fixture, so a parser
never knows whether its input came from the network or from a file.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from enrichment.http import CircuitOpenError, Fetched, HttpClient, SourceError, Validator, require_json
from enrichment.settings import EnrichmentSettings
from index.schema import AnimeEntry

log = logging.getLogger(__name__)


@dataclass
class FetchContext:
    """One source's fetch for one entry: remembers what came from where, and soft failures."""

    source: str
    http: HttpClient
    settings: EnrichmentSettings
    ids: dict[str, str]
    entry: AnimeEntry
    fetched: list[Fetched] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    attempts: int = 0  # requests sent over the network, failed ones included

    def _attempted(self) -> None:
        self.attempts += 1

    async def get(
        self,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        validate: Validator | None = require_json,
    ) -> Fetched:
        result = await self.http.request(
            self.source, "GET", url, params=params, headers=headers, validate=validate, on_attempt=self._attempted
        )
        self.fetched.append(result)
        return result

    async def get_json(self, url: str, **kwargs: Any) -> Any:
        return (await self.get(url, **kwargs)).json()

    async def post_json(
        self, url: str, body: Any, *, headers: dict[str, str] | None = None, validate: Validator | None = require_json
    ) -> Any:
        result = await self.http.request(
            self.source, "POST", url, json_body=body, headers=headers, validate=validate, on_attempt=self._attempted
        )
        self.fetched.append(result)
        return result.json()

    async def optional(self, what: str, call: Callable[[], Awaitable[Any]], default: Any = None) -> Any:
        """A secondary request (characters, episodes...): its failure keeps the main answer."""
        try:
            return await call()
        except CircuitOpenError:
            raise
        except SourceError as exc:
            self.warnings.append(f"{what}: {exc.reason}")
            log.warning("%s: %s failed, keeping the rest: %s", self.source, what, exc.reason)
            return default

    # ----- summary for the outcome ------------------------------------------------------------
    @property
    def requests(self) -> int:
        return self.attempts

    @property
    def from_cache(self) -> bool:
        return bool(self.fetched) and all(f.from_cache for f in self.fetched)

    @property
    def stale(self) -> bool:
        return any(f.stale for f in self.fetched)


@dataclass(frozen=True)
class SourceSpec:
    """A live source: which ids let it run, how to fetch, how to parse."""

    name: str
    needs: tuple[str, ...]  # any one of these platform ids is enough
    fetch: Callable[[FetchContext], Awaitable[dict[str, Any]]]
    parse: Callable[[dict[str, Any]], dict[str, Any]]
    title_search: bool = False  # can also find the anime by its title

    def ready(self, ids: dict[str, str]) -> bool:
        return self.title_search or any(k in ids for k in self.needs)


def same_site(next_url: str, base_url: str, aliases: tuple[str, ...] = ()) -> bool:
    """Follow pagination links only to the API we were asked to call (never to a third host)."""
    host = (urlsplit(next_url).hostname or "").lower()
    return host == (urlsplit(base_url).hostname or "").lower() or host in aliases
