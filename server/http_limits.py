"""Limits on what one HTTP request may cost before any of it reaches the MCP SDK: body size (by the
declared length first, then while reading), a deadline to send the body, a cap on header bytes and a
deadline to send the headers (so neither a 64 MB header nor 100 slow-header connections hold the
server), and the JSON-RPC error bodies every refusal carries so a client can show why.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import anyio
from pydantic_core import from_json
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import Message, Receive, Scope
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

#: JSON-RPC codes used by the HTTP layer (the SDK's own: -32700 parse error, -32600 invalid request).
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
#: Implementation-defined server errors (-32000 to -32099): refused for load, not for what was asked.
RATE_LIMITED = -32029
TOO_LARGE = -32013
TIMED_OUT = -32008


def jsonrpc_error(
    status: int,
    code: int,
    message: str,
    *,
    request_id: Any = None,
    headers: dict[str, str] | None = None,
    data: dict[str, Any] | None = None,
) -> JSONResponse:
    """An HTTP refusal whose body is a JSON-RPC error, so MCP clients show the message rather than a bare status."""
    error: dict[str, Any] = {"code": code, "message": message}
    if data:
        error["data"] = data
    return JSONResponse({"jsonrpc": "2.0", "id": request_id, "error": error}, status_code=status, headers=headers)


class BodyRefused(Exception):
    """The body was too large or too slow; ``response`` says so to the client."""

    def __init__(self, response: JSONResponse):
        super().__init__(response.status_code)
        self.response = response


def too_large(limit: int) -> JSONResponse:
    return jsonrpc_error(
        413, TOO_LARGE, f"Request body larger than {limit} bytes (ANIME_MCP_MAX_REQUEST_BYTES); send less."
    )


def declared_length(scope: Scope) -> int | None:
    """The Content-Length the client announced (None when absent or not a number)."""
    value = Headers(scope=scope).get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


async def read_body(receive: Receive, limit: int, timeout: float) -> tuple[bytes, list[Message]]:
    """The whole body and the messages to replay; raises BodyRefused past ``limit`` bytes or ``timeout`` seconds.

    The deadline covers the whole body, so a client dribbling one byte at a time cannot hold a worker.
    """
    messages: list[Message] = []
    size = 0
    try:
        with anyio.fail_after(timeout):
            while True:
                message = await receive()
                messages.append(message)
                if message["type"] != "http.request":
                    break
                size += len(message.get("body", b""))
                if size > limit:
                    raise BodyRefused(too_large(limit))
                if not message.get("more_body", False):
                    break
    except TimeoutError:
        raise BodyRefused(
            jsonrpc_error(
                408, TIMED_OUT, f"The request body did not arrive within {timeout:g} s (ANIME_MCP_BODY_TIMEOUT)."
            )
        ) from None
    return b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request"), messages


def replay(messages: list[Message], receive: Receive) -> Receive:
    """A receive that hands on the messages already read, then the client's next ones."""
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


def parse_messages(body: bytes) -> tuple[list[Any] | None, str | None]:
    """(the JSON-RPC messages of a body, a batch being a list; None and why when it is not JSON). Nesting
    deeper than pydantic's limit is "not JSON" here, as it is for the SDK: a parse error, not a crash."""
    try:
        parsed = from_json(body)
    except ValueError as exc:
        return None, str(exc)
    return (parsed if isinstance(parsed, list) else [parsed]), None


def parse_error(reason: str) -> JSONResponse:
    """The SDK's own answer to a body that is not JSON, given on every path (the legacy SSE transport
    would answer plain text)."""
    return jsonrpc_error(400, PARSE_ERROR, f"Parse error: {reason}")


def request_id(messages: list[Any] | None) -> Any:
    """The id to answer with: the single request's id when it is a plain JSON-RPC id, else null."""
    if messages and len(messages) == 1 and isinstance(messages[0], dict):
        found = messages[0].get("id")
        if isinstance(found, (str, int)) and not isinstance(found, bool):
            return found
    return None


def _raw_response(status: str, message: str) -> bytes:
    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": INVALID_REQUEST, "message": message}}).encode()
    return (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    ).encode() + body


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a cap on header bytes and a deadline for the headers.

    uvicorn's own limits cover h11 only (h11_max_incomplete_event_size) and idle keep-alive
    connections; with httptools a client could send headers without end, or one byte every few
    seconds, and hold the connection. The deadline starts when the connection opens (or the previous
    response ends) and is not extended by further bytes.
    """

    max_header_bytes = 64 * 1024
    header_timeout = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_bytes = 0
        self._awaiting_head = True
        self._head_timer: asyncio.TimerHandle | None = self.loop.call_later(self.header_timeout, self._head_expired)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._awaiting_head = True
        self._head_bytes = 0
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_timeout, self._head_expired)

    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # The next request's headers get their own deadline; an idle connection is uvicorn's keep-alive's.
        self._awaiting_head = False

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._awaiting_head and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > self.max_header_bytes:
                self._refuse(
                    "431 Request Header Fields Too Large",
                    f"Request headers larger than {self.max_header_bytes} bytes (ANIME_MCP_MAX_HEADER_BYTES).",
                )

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _head_expired(self) -> None:
        self._head_timer = None
        if self._awaiting_head and not self.transport.is_closing():
            self._refuse(
                "408 Request Timeout",
                f"Request headers did not arrive within {self.header_timeout:g} s (ANIME_MCP_HEADER_TIMEOUT).",
            )

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _refuse(self, status: str, message: str) -> None:
        self._cancel_head_timer()
        self._awaiting_head = False
        self.transport.write(_raw_response(status, message))
        self.transport.close()


def guarded_protocol(max_header_bytes: int, header_timeout: float) -> type[GuardedHttpToolsProtocol]:
    """The protocol class uvicorn instantiates per connection, with these limits."""
    return type(
        "GuardedHttpToolsProtocol",
        (GuardedHttpToolsProtocol,),
        {"max_header_bytes": max_header_bytes, "header_timeout": header_timeout},
    )
