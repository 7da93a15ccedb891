"""What every tool shares: reaching the index runtime, turning failures into actionable
tool errors, and rendering results as a short text beside the structured output."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ValidationError

from index.errors import UserFacingError, without_paths
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
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ToolError(f"Invalid input: {problems}") from exc
        except Exception as exc:
            log.exception("tool %s failed", fn.__name__)
            raise ToolError(
                f"{fn.__name__} failed unexpectedly ({type(exc).__name__}); "
                "the server log has details. Try again or simplify the request."
            ) from exc

    return wrapper


async def runtime(ctx: Context) -> IndexRuntime:
    """The loaded index runtime; waits while it loads, raises NotReadyError when it cannot."""
    return await server_context(ctx).ready()


def render_hit(rank: int, hit: AnimeHit) -> str:
    bits = [b for b in (hit.type, str(hit.year) if hit.year else None) if b]
    head = f"{rank}. {hit.title}" + (f" ({', '.join(bits)})" if bits else "")
    if hit.score is not None:
        head += f" - score {hit.score:.2f}"
    if hit.genres:
        head += f" - {', '.join(hit.genres[:5])}"
    head += f" [id {hit.id}]"
    if hit.vector_scores:
        head += " {" + ", ".join(f"{k}: {v:.3f}" for k, v in hit.vector_scores.items()) + "}"
    return head


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
