"""`completion/complete`: values for every prompt argument and resource-template variable.

An argument's name says what it holds (one table below): anime titles (fuzzy, any language the
index knows), anime ids, or the stored values of a payload field (genres, tags, studios, types,
seasons, years). Free-text arguments (a memory, a difference) get no values: nothing to pick from.
"""

from __future__ import annotations

import logging
import weakref

import anyio
from mcp.server.mcpserver import MCPServer
from mcp_types import Completion, CompletionArgument, CompletionContext, PromptReference, ResourceTemplateReference

from index.search.engine import SearchEngine
from index.search.suggest import COMPLETION_LIMIT, Suggester, Suggestions
from server.state import AppState, NotReadyError

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

#: Seconds a completion waits for an index that is still loading before answering with no values.
LOADING_WAIT_SECONDS = 3.0


def register(server: MCPServer, state: AppState) -> None:
    suggesters: weakref.WeakKeyDictionary[SearchEngine, Suggester] = weakref.WeakKeyDictionary()

    @server.completion()
    async def complete(ref: PromptReference | ResourceTemplateReference, argument: CompletionArgument,
                       context: CompletionContext | None) -> Completion:
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
        found = await suggest(suggester, source, argument.value)
        return Completion(values=found.values, total=found.total, has_more=found.has_more)


async def suggest(suggester: Suggester, source: str, text: str, limit: int = COMPLETION_LIMIT) -> Suggestions:
    """Values for one argument source (see ARGUMENT_SOURCES)."""
    text = text[:200]  # a picker sends what was typed; nothing longer is a prefix worth matching
    if source == "title":
        return await suggester.titles(text, limit)
    if source == "id":
        return await suggester.ids(text, limit)
    return await suggester.facet(source, text, limit)
