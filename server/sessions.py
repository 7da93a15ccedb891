"""A cap on open streamable HTTP sessions per client (2025-era protocol versions).

The SDK's session manager caps sessions for the whole server (``max_sessions``), so one client that
opens sessions without closing them fills the server for everyone (9,999 in a minute, then 503 for
all). This wraps it rather than forking it: a request that would open a session is refused with 429
when its client already holds ``per_client`` live ones; the session id the SDK answers with is
recorded under the client, and a session counts while the manager still holds it.
"""

from __future__ import annotations

from collections.abc import Callable

from mcp.server.streamable_http import MCP_SESSION_ID_HEADER
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.types import Message, Scope, Send

_SESSION = MCP_SESSION_ID_HEADER.lower().encode("latin-1")
_VERSION = MCP_PROTOCOL_VERSION_HEADER.lower().encode("latin-1")


class SessionCap:
    """Live sessions per client key; ``live(session_id)`` asks the SDK's manager whether one still exists."""

    def __init__(self, per_client: int, live: Callable[[str], bool], path: str = "/mcp"):
        self.per_client = per_client
        self.live = live
        self.path = path
        self.owned: dict[str, set[str]] = {}
        self._recorded = 0

    def opens_session(self, scope: Scope) -> bool:
        """A POST without a session id on the session-keeping (2025-era) path: it may open a session."""
        if scope.get("method") != "POST" or str(scope.get("path", "")).rstrip("/") != self.path:
            return False
        headers = dict(scope.get("headers") or [])
        if _SESSION in headers:
            return False
        version = headers.get(_VERSION)
        return version is None or version.decode("latin-1") in HANDSHAKE_PROTOCOL_VERSIONS

    def open_count(self, key: str) -> int:
        ids = self.owned.get(key)
        if not ids:
            return 0
        ids.intersection_update({sid for sid in ids if self.live(sid)})
        if not ids:
            del self.owned[key]
        return len(ids)

    def full(self, key: str) -> bool:
        return self.open_count(key) >= self.per_client

    def recording(self, key: str, send: Send) -> Send:
        """``send`` that notes the session id of a successful answer under ``key``."""

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start" and message.get("status", 500) < 400:
                for name, value in message.get("headers") or []:
                    if name.lower() == _SESSION:
                        self._record(key, value.decode("latin-1"))
            await send(message)

        return watched

    def _record(self, key: str, session_id: str) -> None:
        self.owned.setdefault(key, set()).add(session_id)
        self._recorded += 1
        if self._recorded % 1000 == 0:  # forget clients whose sessions all ended
            for stale in list(self.owned):
                self.open_count(stale)
