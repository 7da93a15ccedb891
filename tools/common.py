"""What every tool shares: reaching the index runtime, turning failures into actionable
tool errors, and rendering results as a short text beside the structured output."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ValidationError

from index.errors import UserFacingError, without_paths
from index.payload import synopsis_short
from index.runtime import IndexRuntime
from index.search.inputs import check_text
from index.search.results import AnimeHit
from tools.runtime_access import server_context

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False, destructive_hint=False)
READ_ONLY_OPEN = ToolAnnotations(
    read_only_hint=True, idempotent_hint=True, open_world_hint=True, destructive_hint=False
)


def _expected_errors() -> tuple[type[BaseException], ...]:
    """Exception types whose message is written for the user (safe to show, says what to change):
    every ``UserFacingError`` (index, server and enrichment errors derive from it) and ToolError."""
    return (UserFacingError, ToolError)


def tool_errors(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Expected failures become tool errors with their message; anything else a generic error
    (the details go to the server log, never a stack trace or a path to the client)."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            for name, value in kwargs.items():  # NUL, lone surrogates: one clear line, before any work
                if not isinstance(value, Context):
                    check_text(value, name)
            return await fn(*args, **kwargs)
        except _expected_errors() as exc:
            raise ToolError(without_paths(str(exc))) from exc  # no server paths to remote callers
        except ValidationError as exc:
            raise ToolError(invalid_arguments(exc)) from exc
        except Exception as exc:
            log.exception("tool %s failed", fn.__name__)
            raise ToolError(
                f"{fn.__name__} failed unexpectedly ({type(exc).__name__}); "
                "the server log has details. Try again or simplify the request."
            ) from exc

    return wrapper


_SUBJECT = re.compile(r"^(?:Input|String|List|Value|Dictionary|Number) should")  # the argument is named already


def _where(loc: tuple[int | str, ...]) -> str:
    """('filters', 'types', 0) -> filters.types[0]"""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "arguments"


def _shown(value: Any) -> str:
    """The rejected value, short (never a whole picture or a long text back to the caller)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def invalid_arguments(exc: ValidationError, tool: str | None = None) -> str:
    """One readable line naming each rejected argument and what it accepts, e.g. `limit: should be less than or
    equal to 50 (got 500)`: pydantic's own text spans lines and links to its documentation."""
    problems = []
    for err in exc.errors(include_url=False):
        where = _where(tuple(err["loc"]))
        if err["type"] == "missing":
            problems.append(f"{where}: required")
        elif err["type"] == "extra_forbidden":
            problems.append(f"{where}: not a known field")
        else:
            msg = _SUBJECT.sub("should", err["msg"].removeprefix("Value error, "))
            got = f" (got {_shown(err['input'])})" if "input" in err and not isinstance(err["input"], dict) else ""
            problems.append(f"{where}: {msg}{got}")
    head = f"Invalid arguments for {tool}" if tool else "Invalid arguments"
    return f"{head}: {'; '.join(problems)}. The tool's input schema lists what each argument accepts."


async def runtime(ctx: Context) -> IndexRuntime:
    """The loaded index runtime; waits while it loads, raises NotReadyError when it cannot."""
    return await server_context(ctx).ready()


# The text line of a hit: enough for an assistant to describe a pick without calling get_anime (issue 20: ten
# hits in about 1,500 characters). The structured content carries every field in full.
SYNOPSIS_LINE_CHARS = 64
_TYPE_NAMES = {"MOVIE": "Movie", "SPECIAL": "Special", "MUSIC": "Music", "UNKNOWN": ""}
_SINGLE_PART = {"MOVIE", "MUSIC"}


def render_hit(rank: int, hit: AnimeHit) -> str:
    """`1. Spirited Away (Sen to Chihiro no Kamikakushi) · Movie, 2001 · 8.78 [id mal-199]`, then one
    short line of synopsis: the display title (English where known) with the original, type, year and season,
    episodes, score, id."""
    english = hit.title_english if hit.title_english and hit.title_english.casefold() != hit.title.casefold() else None
    head = f"{rank}. {english} ({hit.title})" if english else f"{rank}. {hit.title}"
    kind = _TYPE_NAMES.get(hit.type or "", hit.type) if hit.type else None
    when = " ".join(str(b) for b in ((hit.season or "").title() or None, hit.year) if b)
    single = hit.episodes == 1 and hit.type in _SINGLE_PART  # "1 ep" says nothing about a film
    episodes = f"{hit.episodes} ep{'s' if hit.episodes != 1 else ''}" if hit.episodes and not single else None
    facts = ", ".join(b for b in (kind, when, episodes) if b)
    if facts:
        head += f" · {facts}"
    if hit.score is not None:
        head += f" · {hit.score:.2f}"
    head += f" [id {hit.id}]"
    if hit.vector_scores:
        head += " {" + ", ".join(f"{k}: {v:.3f}" for k, v in hit.vector_scores.items()) + "}"
    line = synopsis_short(hit.synopsis, SYNOPSIS_LINE_CHARS)
    return f"{head}\n  {line}" if line else head


def render_hits(hits: list[AnimeHit], offset: int = 0, hint: str | None = None, header: str | None = None) -> str:
    lines = [header] if header else []
    lines += [render_hit(offset + i + 1, h) for i, h in enumerate(hits)]
    if hint:
        lines.append(hint)
    return "\n".join(lines) if lines else "No results."


def structured(model: BaseModel, text: str) -> CallToolResult:
    """A result with both forms: structuredContent for programs, a short text for the model to read."""
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=model.model_dump(mode="json")
    )
