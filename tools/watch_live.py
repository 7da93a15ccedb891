"""What the watch tools share: the server's live API client, and turning site ids into our entries.

The client is made on first use, one per server (its rate limits and circuit breakers hold across
calls), from the settings the server was built with, else from the environment; the enrichment
package is imported only then, so a server whose users never ask a live question never loads it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from weakref import WeakKeyDictionary

from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from index.errors import UserFacingError
from index.identity import point_id
from index.payload_fields import ENTRY_KEY
from index.storage.base import VectorStore

if TYPE_CHECKING:
    from enrichment.live import LiveApis
    from enrichment.settings import EnrichmentSettings

_SETTINGS: WeakKeyDictionary[Any, EnrichmentSettings | None] = WeakKeyDictionary()
_CLIENTS: WeakKeyDictionary[Any, LiveApis] = WeakKeyDictionary()


def configure(server: Any, settings: EnrichmentSettings | None) -> None:
    """Remember the settings a server was built with (None: read the environment on first use)."""
    _SETTINGS[server] = settings
    _CLIENTS.pop(server, None)


def live_apis(ctx: Context) -> LiveApis:
    """This server's live API client."""
    server = ctx.mcp_server
    client = _CLIENTS.get(server)
    if client is None:
        # httpx clients, throttles and the cache: only once a live tool is called, never on the serve path
        from enrichment.live import LiveApis
        from enrichment.settings import EnrichmentSettings

        client = _CLIENTS[server] = LiveApis(_SETTINGS.get(server) or EnrichmentSettings())
    return client


def site_ids(mal_id: int | None = None, anilist_id: int | None = None, kitsu_id: str | None = None) -> list[str]:
    """Our entry ids an anime on another site may have, most likely first (ids derive from page URLs)."""
    out = []
    if mal_id:
        out.append(f"mal-{mal_id}")
    if anilist_id:
        out.append(f"anilist-{anilist_id}")
    if kitsu_id:
        out.append(f"kitsu-{kitsu_id}")
    return out


async def entries_by_site_ids(store: VectorStore, candidates: Iterable[list[str]]) -> list[dict[str, Any] | None]:
    """For each list of candidate ids, the stored entry of the first one the index holds (None if none)."""
    groups = [list(c) for c in candidates]
    wanted = sorted({point_id(i) for group in groups for i in group})
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), 500):
        for record in await store.retrieve(wanted[start : start + 500], with_payload=[ENTRY_KEY]):
            found[str(record.id)] = (record.payload or {}).get(ENTRY_KEY) or {}
    out: list[dict[str, Any] | None] = []
    for group in groups:
        out.append(next((found[point_id(i)] for i in group if point_id(i) in found), None))
    return out


def display_title(entry: dict[str, Any]) -> str:
    return str(entry.get("title_english") or entry.get("title") or "?")


# ----- a user's public list as likes and dislikes -----------------------------------------------
LIKED_SCORE = 7.0  # 0-10: at or above, a like
DISLIKED_SCORE = 5.0  # at or below (or dropped), a dislike
MAX_NAMED = 10  # recommend_anime's limit per side


class FromList(BaseModel):
    """A public list on AniList or Kitsu (no login): its scores become likes and dislikes."""

    site: Literal["anilist", "kitsu"]
    user: str = Field(min_length=1, max_length=100, description="The user name on that site.")


@dataclass
class Taste:
    """Likes and dislikes for recommend_anime, the ids to leave out of its results, and a line on where they
    came from."""

    liked: list[str]
    disliked: list[str]
    listed: set[str] = field(default_factory=set)
    note: str | None = None

    def ask(self, limit: int, most: int) -> int:
        """How many results to ask for so that ``limit`` remain once listed anime are left out."""
        return min(most, limit + len(self.listed)) if self.listed else limit

    def trim(self, results: list[Any], limit: int) -> list[Any]:
        return [h for h in results if h.id not in self.listed][:limit]


async def taste(
    ctx: Context, store: VectorStore, source: FromList | None, liked: list[str], disliked: list[str]
) -> Taste:
    """The named likes and dislikes, plus those of ``source``: scored >= 7 (best first) or completed unscored are
    likes, scored <= 5 or dropped are dislikes, each matched to our entries by its site ids."""
    if source is None:
        return Taste(liked, disliked)
    live = live_apis(ctx)
    live.require("Reading a user's list")
    items = await live.user_list(source.site, source.user)
    ours = await entries_by_site_ids(store, (site_ids(i.mal_id, i.anilist_id, i.kitsu_id) for i in items))
    likes: list[tuple[float, str]] = []
    dislikes: list[tuple[float, str]] = []
    listed: set[str] = set()
    for item, entry in zip(items, ours, strict=True):
        if entry is None:
            continue
        anime_id = str(entry.get("id"))
        listed.add(anime_id)
        if item.status == "dropped" or (item.score is not None and item.score <= DISLIKED_SCORE):
            dislikes.append((item.score if item.score is not None else 0.0, anime_id))
        elif (item.score or 0) >= LIKED_SCORE or (item.score is None and item.status == "completed"):
            likes.append((item.score if item.score is not None else LIKED_SCORE - 0.5, anime_id))
    likes.sort(key=lambda s: -s[0])
    dislikes.sort(key=lambda s: s[0])
    all_liked = list(dict.fromkeys([*liked, *(i for _, i in likes)]))[:MAX_NAMED]
    all_disliked = list(dict.fromkeys([*disliked, *(i for _, i in dislikes)]))[:MAX_NAMED]
    site = "AniList" if source.site == "anilist" else "Kitsu"
    if not all_liked:
        raise UserFacingError(
            f"{source.user}'s {site} list has {len(items)} entries, {len(listed)} of them in this index, and none "
            f"completed or scored {LIKED_SCORE:g}+ there: name liked anime instead."
        )
    note = (
        f"From {source.user}'s {site} list ({len(items)} entries, {len(listed)} in the index): "
        f"{len(likes)} liked, {len(dislikes)} disliked or dropped; the anime on the list are left out."
    )
    return Taste(all_liked, all_disliked, listed, note)
