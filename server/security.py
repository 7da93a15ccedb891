"""HTTP hardening around the MCP app: authentication (static bearer tokens and/or OAuth JWTs),
per-tool scopes, per-client rate limits, the protected-resource metadata and /health.

Authentication answers here, before the SDK sees the request, so a refusal can say why
(expired, wrong audience, unknown key...). A verified caller is put on the request the way the
SDK's own ``AuthenticationMiddleware`` would (``scope["user"]``/``scope["auth"]``), so the SDK's
session-ownership check and the tools (server.auth.caller) see the same identity.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict, deque
from typing import Any

from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE
from starlette.applications import Starlette
from starlette.authentication import AuthCredentials
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.auth import READ_SCOPE, StaticTokens, TokenRejected, bearer_token, required_scope
from server.oauth import JwtVerifier, KeysUnavailable, metadata_routes, metadata_url
from server.settings import ServerSettings
from server.state import AppState

log = logging.getLogger(__name__)
OPEN_PATHS = ("/health", "/.well-known/oauth-protected-resource")


class Authenticator:
    """Static tokens first (constant time), then the OAuth issuer's JWTs when one is configured."""

    def __init__(self, settings: ServerSettings):
        self.static = StaticTokens(settings.tokens(), settings.admin_token_values())
        self.jwt = None
        self.metadata_url: str | None = None
        if settings.oauth_enabled:
            self.jwt = JwtVerifier(settings)
            self.metadata_url = metadata_url(settings)
        #: Without tokens or OAuth every caller is let in (loopback use); admin tokens still mark admins.
        self.required = bool(self.static.tokens) or self.jwt is not None

    async def verify(self, token: str) -> AccessToken:
        """Raises TokenRejected or server.oauth.KeysUnavailable."""
        found = self.static.verify(token)
        if found is not None:
            return found
        if self.jwt is not None:
            return await self.jwt.verify(token)
        raise TokenRejected("the bearer token is not one of this server's tokens")

    def challenge(self, status: int, error: str | None, description: str, scope: str | None = None) -> JSONResponse:
        """A 401/403 with the RFC 6750 / RFC 9728 ``WWW-Authenticate`` header that MCP clients follow."""
        parts = []
        description = "".join(c for c in description if c.isprintable()).replace('"', "'").replace("\\", "/")
        if error:
            parts += [f'error="{error}"', f'error_description="{description}"']
        if self.metadata_url:
            parts.append(f'resource_metadata="{self.metadata_url}"')
        if scope or self.metadata_url:
            parts.append(f'scope="{scope or READ_SCOPE}"')
        header = "Bearer" + (" " + ", ".join(parts) if parts else "")
        return JSONResponse(
            {"error": error or "unauthorized", "error_description": description},
            status_code=status,
            headers={"WWW-Authenticate": header},
        )


class RateLimiter:
    """A sliding one-minute window per client key."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self.hits: dict[str, deque[float]] = defaultdict(deque)

    def limited(self, key: str) -> bool:
        if self.per_minute <= 0:
            return False
        now = time.monotonic()
        window = self.hits[key]
        while window and now - window[0] > 60:
            window.popleft()
        if len(window) >= self.per_minute:
            return True
        window.append(now)
        if len(self.hits) > 10_000:  # forget idle clients so random keys cannot grow memory without bound
            for stale in [k for k, w in self.hits.items() if not w or now - w[-1] > 60]:
                del self.hits[stale]
        return False


def client_key(scope: Scope, caller: AccessToken | None) -> str:
    """Verified callers by issuer + subject (static tokens: a digest of the whole token); anyone
    else by address, so an unverified Authorization header never buys a fresh allowance."""
    if caller is not None:
        issuer = (caller.claims or {}).get("iss", "")
        return f"id:{issuer}|{caller.subject or caller.client_id}"
    client = scope.get("client")
    return "ip:" + (client[0] if client else "?")


async def _buffer_body(receive: Receive, limit: int) -> tuple[bytes | None, list[Message]]:
    """Read the request body (None past ``limit``) and keep the messages to hand on unchanged."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return None, messages
        size += len(message.get("body", b""))
        if size > limit:
            return None, messages
        if not message.get("more_body", False):
            return b"".join(m.get("body", b"") for m in messages), messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


def needed_scopes(body: bytes | None) -> list[str]:
    """Scopes a JSON-RPC body needs; a body too large or not JSON needs anime:read (the SDK refuses it anyway)."""
    try:
        parsed: Any = json.loads(body) if body is not None else None
    except ValueError:
        parsed = None
    if parsed is None:
        return [READ_SCOPE]
    messages = parsed if isinstance(parsed, list) else [parsed]
    return sorted({s for s in map(required_scope, messages) if s})


class SecurityMiddleware:
    """Authentication, scopes and rate limiting for every HTTP request except /health and the metadata."""

    def __init__(self, app: ASGIApp, settings: ServerSettings):
        self.app = app
        self.auth = Authenticator(settings)
        self.limiter = RateLimiter(settings.rate_limit_per_minute)
        self.per_minute = settings.rate_limit_per_minute

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(OPEN_PATHS):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        token = bearer_token(request.headers)
        caller: AccessToken | None = None
        if token is not None:
            try:
                caller = await self.auth.verify(token)
            except TokenRejected as exc:
                if self.auth.required:
                    await self.auth.challenge(401, "invalid_token", str(exc))(scope, receive, send)
                    return
            except KeysUnavailable as exc:
                await JSONResponse(
                    {"error": "temporarily_unavailable", "error_description": str(exc)},
                    status_code=503,
                    headers={"Retry-After": "10"},
                )(scope, receive, send)
                return
        if caller is None and self.auth.required:
            await self.auth.challenge(401, None, "Send 'Authorization: Bearer <token>'.")(scope, receive, send)
            return
        if request.method == "POST" and self.limiter.limited(client_key(scope, caller)):
            response = JSONResponse(
                {"error": "rate_limited", "detail": f"More than {self.per_minute} requests a minute; slow down."},
                status_code=429,
                headers={"Retry-After": "10"},
            )
            await response(scope, receive, send)
            return
        if caller is not None:
            scope["user"] = AuthenticatedUser(caller)
            scope["auth"] = AuthCredentials(caller.scopes)
            if request.method == "POST" and self.auth.required:
                body, messages = await _buffer_body(receive, DEFAULT_MAX_REQUEST_BODY_SIZE)
                receive = _replay(messages, receive)
                missing = [s for s in needed_scopes(body) if s not in caller.scopes]
                if missing:
                    await self.auth.challenge(
                        403,
                        "insufficient_scope",
                        f"this request needs the {missing[0]} scope",
                        scope=" ".join(dict.fromkeys([READ_SCOPE, *missing])),
                    )(scope, receive, send)
                    return
        reset = auth_context_var.set(scope["user"]) if caller is not None else None
        try:
            await self.app(scope, receive, send)
        finally:
            if reset is not None:
                auth_context_var.reset(reset)


def secure_app(app: Starlette, state: AppState, settings: ServerSettings) -> ASGIApp:
    async def health(_: Request) -> JSONResponse:
        body: dict = {"status": "ok" if state.is_ready else ("error" if state.error else "loading")}
        if state.runtime is not None:
            try:
                body["entries"] = await state.runtime.store.count()
                body["models_loaded"] = True
                body["image_search"] = state.runtime.embedder.image_status
            except Exception:
                body["status"] = "error"
                body["store"] = "unreachable"
        if state.index_on_start:
            body["index_on_start"] = state.index_report
        return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)

    app.add_route("/health", health, methods=["GET"])
    if settings.oauth_enabled:
        app.router.routes.extend(metadata_routes(settings))
    return SecurityMiddleware(app, settings)
