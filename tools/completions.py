"""`completion/complete`: values for every prompt argument and resource-template variable.

An argument's name says what it holds (one table below): anime titles (fuzzy, any language the
index knows), anime ids, or the stored values of a payload field (genres, tags, studios, types,
seasons, years); a facet argument offers only values that occur with the ones already picked
(the genres of FALL 1998). Free-text arguments (a memory, a difference) get no values.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable

import anyio
from mcp.server.mcpserver import MCPServer
from mcp_types import Completion, CompletionArgument, CompletionContext, PromptReference, ResourceTemplateReference

from index.payload import normalise_name
from index.runtime import NotReadyError
from index.search.engine import SearchEngine
from index.search.suggest import COMPLETION_LIMIT, Suggester, Suggestions
from tools.runtime_access import ServerContext

log = logging.getLogger(__name__)

#: Argument or template-variable name -> what completes it: "title", "id", or a payload facet key.
ARGUMENT_SOURCES: dict[str, str] = {
    "anime": "title",
    "anime_id": "id",
    "genre": "genres",
    "tag": "tags",
    "studio": "studios",
    "type": "type",
    "season": "season",
    "year": "year",
}

#: Facet keys a picked argument narrows the others by, with the form the payload stores values in.
STORED_FORM: dict[str, Callable[[str], str | int | None]] = {
    "genres": normalise_name,
    "tags": normalise_name,
    "studios": normalise_name,
    "type": lambda v: v.strip().upper() or None,
    "season": lambda v: v.strip().upper() or None,
    "year": lambda v: int(v) if v.strip().isdigit() else None,
}

#: Seconds a completion waits for an index that is still loading before answering with no values.
LOADING_WAIT_SECONDS = 3.0


def register(server: MCPServer, state: ServerContext) -> None:
    suggesters: weakref.WeakKeyDictionary[SearchEngine, Suggester] = weakref.WeakKeyDictionary()

    @server.completion()
    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion:
        source = ARGUMENT_SOURCES.get(argument.name)
        if source is None:  # free text, or a prompt/template this server does not have
            return Completion(values=[], total=0, has_more=False)
        runtime = state.runtime
        if runtime is None:
            with anyio.move_on_after(LOADING_WAIT_SECONDS):  # a picker waits briefly, never for a model load
                try:
                    runtime = await state.ready()
                except NotReadyError as exc:
                    log.info("no completion for %r: %s", argument.name, exc)
        if runtime is None:
            return Completion(values=[], total=0, has_more=False)
        suggester = suggesters.get(runtime.engine)
        if suggester is None:
            suggester = suggesters[runtime.engine] = Suggester(runtime.engine)
        found = await suggest(suggester, source, argument.value, chosen=picked(context, argument.name))
        return Completion(values=found.values, total=found.total, has_more=found.has_more)


def picked(context: CompletionContext | None, completing: str) -> dict[str, str | int]:
    """The facet arguments already filled in (payload key -> stored value), besides the one being completed."""
    chosen: dict[str, str | int] = {}
    for name, value in ((context.arguments if context else None) or {}).items():
        key = ARGUMENT_SOURCES.get(name)
        if name != completing and key in STORED_FORM and value:
            stored = STORED_FORM[key](value)
            if stored is not None:
                chosen[key] = stored
    return chosen


async def suggest(
    suggester: Suggester,
    source: str,
    text: str,
    limit: int = COMPLETION_LIMIT,
    chosen: dict[str, str | int] | None = None,
) -> Suggestions:
    """Values for one argument source (see ARGUMENT_SOURCES); facet values narrowed by ``chosen``."""
    text = text[:200]  # a picker sends what was typed; nothing longer is a prefix worth matching
    if source == "title":
        return await suggester.titles(text, limit)
    if source == "id":
        return await suggester.ids(text, limit)
    return await suggester.facet(source, text, limit, chosen=chosen)
