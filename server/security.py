"""HTTP hardening around the MCP app: authentication (static bearer tokens and/or OAuth JWTs),
per-tool scopes, per-client rate limits, the protected-resource metadata and /health.

Authentication answers here, before the SDK sees the request, so a refusal can say why
(expired, wrong audience, unknown key...). A verified caller is put on the request the way the
SDK's own ``AuthenticationMiddleware`` would (``scope["user"]``/``scope["auth"]``), so the SDK's
session-ownership check and the tools (server.auth.caller) see the same identity.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict, deque
from typing import Any

from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from starlette.applications import Starlette
from starlette.authentication import AuthCredentials
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from server.auth import READ_METHODS, READ_SCOPE, StaticTokens, TokenRejected, bearer_token, required_scope
from server.http_limits import (
    RATE_LIMITED,
    BodyRefused,
    declared_length,
    jsonrpc_error,
    parse_error,
    parse_messages,
    read_body,
    replay,
    request_id,
    too_large,
)
from server.oauth import JwtVerifier, KeysUnavailable, metadata_routes, metadata_url
from server.sessions import SessionCap
from server.settings import ServerSettings
from server.state import AppState

log = logging.getLogger(__name__)
OPEN_PATHS = ("/health", "/.well-known/oauth-protected-resource")
#: What ANIME_MCP_RATE_LIMIT_PER_MINUTE counts (its description says so).
COUNTED_METHODS = frozenset({"tools/call", *READ_METHODS})


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

    def retry_after(self, key: str, cost: int = 1, *, record: bool = True) -> int | None:
        """Seconds until ``cost`` more fit in ``key``'s window, or None when they fit now (and are counted)."""
        if self.per_minute <= 0 or cost <= 0:
            return None
        now = time.monotonic()
        window = self.hits[key]
        while window and now - window[0] > 60:
            window.popleft()
        if len(window) + cost > self.per_minute:
            if cost > self.per_minute or not window:
                return 60
            return max(1, math.ceil(60 - (now - window[len(window) + cost - self.per_minute - 1])))
        if record:
            window.extend([now] * cost)
        if len(self.hits) > 10_000:  # forget idle clients so random keys cannot grow memory without bound
            for stale in [k for k, w in self.hits.items() if not w or now - w[-1] > 60]:
                del self.hits[stale]
        return None

    def limited(self, key: str) -> bool:
        return self.retry_after(key) is not None


def client_key(scope: Scope, caller: AccessToken | None) -> str:
    """Verified callers by issuer + subject (static tokens: a digest of the whole token); anyone
    else by address, so an unverified Authorization header never buys a fresh allowance."""
    if caller is not None:
        issuer = (caller.claims or {}).get("iss", "")
        return f"id:{issuer}|{caller.subject or caller.client_id}"
    client = scope.get("client")
    return "ip:" + (client[0] if client else "?")


def counted_messages(messages: list[Any] | None) -> int:
    """How many messages the rate limit counts: tool calls and the reads of resources, prompts, completions."""
    return sum(1 for m in messages or [] if isinstance(m, dict) and m.get("method") in COUNTED_METHODS)


def needed_scopes(messages: list[Any] | None) -> list[str]:
    """Scopes JSON-RPC messages need; a body that is not JSON needs anime:read (the SDK refuses it anyway)."""
    if messages is None:
        return [READ_SCOPE]
    return sorted({s for s in map(required_scope, messages) if s})


class SecurityMiddleware:
    """Every HTTP request except /health and the metadata: body limits, authentication (refusals
    rate limited per address), scopes, the rate limit and the per-client session cap."""

    def __init__(self, app: ASGIApp, settings: ServerSettings, sessions: SessionCap | None = None):
        self.app = app
        self.auth = Authenticator(settings)
        self.limiter = RateLimiter(settings.rate_limit_per_minute)
        self.failures = RateLimiter(settings.auth_failures_per_minute)
        self.settings = settings
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(OPEN_PATHS):
            await self.app(scope, receive, send)
            return
        limit = self.settings.max_request_bytes
        if (declared_length(scope) or 0) > limit:  # before reading a byte of it
            await too_large(limit)(scope, receive, send)
            return
        refusal, caller = await self._authenticate(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        key = client_key(scope, caller)
        if scope.get("method") == "POST":
            try:
                body, read = await read_body(receive, limit, self.settings.body_timeout)
            except BodyRefused as refused:
                await refused.response(scope, receive, send)
                return
            receive = replay(read, receive)
            messages, not_json = parse_messages(body)
            if not_json is not None:
                await parse_error(not_json)(scope, receive, send)
                return
            refusal = self._over_rate(key, messages) or self._missing_scope(caller, messages)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        if self.sessions is not None and self.sessions.opens_session(scope):
            if self.sessions.full(key):
                await self._too_many_sessions()(scope, receive, send)
                return
            send = self.sessions.recording(key, send)
        if caller is not None:
            scope["user"] = AuthenticatedUser(caller)
            scope["auth"] = AuthCredentials(caller.scopes)
        reset = auth_context_var.set(scope["user"]) if caller is not None else None
        try:
            await self.app(scope, receive, send)
        finally:
            if reset is not None:
                auth_context_var.reset(reset)

    async def _authenticate(self, scope: Scope) -> tuple[Response | None, AccessToken | None]:
        """(a refusal, None) or (None, the verified caller or None when anonymous callers are let in).
        An address with too many refusals this minute gets 429 before its token is even tried."""
        token = bearer_token(Headers(scope=scope))
        if token is None and not self.auth.required:
            return None, None
        address = client_key(scope, None)
        wait = self.failures.retry_after(address, record=False)
        if wait is not None:
            return self._rate_limited(wait, "refused credentials", self.failures.per_minute, None), None
        if token is not None:
            try:
                return None, await self.auth.verify(token)
            except TokenRejected as exc:
                if self.auth.required:
                    self.failures.retry_after(address)
                    return self.auth.challenge(401, "invalid_token", str(exc)), None
                return None, None
            except KeysUnavailable as exc:
                body = {"error": "temporarily_unavailable", "error_description": str(exc)}  # OAuth's form, like 401s
                return JSONResponse(body, status_code=503, headers={"Retry-After": "10"}), None
        self.failures.retry_after(address)
        return self.auth.challenge(401, None, "Send 'Authorization: Bearer <token>'."), None

    def _over_rate(self, key: str, messages: list[Any] | None) -> Response | None:
        wait = self.limiter.retry_after(key, counted_messages(messages))
        if wait is None:
            return None
        return self._rate_limited(wait, "tool calls and reads", self.limiter.per_minute, request_id(messages))

    def _rate_limited(self, wait: int, what: str, per_minute: int, rid: Any) -> Response:
        failures = what == "refused credentials"
        setting = "ANIME_MCP_AUTH_FAILURES_PER_MINUTE" if failures else "ANIME_MCP_RATE_LIMIT_PER_MINUTE"
        return jsonrpc_error(
            429,
            RATE_LIMITED,
            f"Rate limited: more than {per_minute} {what} a minute from this client ({setting}); retry in {wait} s.",
            request_id=rid,
            headers={"Retry-After": str(wait)},
            data={"retry_after_seconds": wait},
        )

    def _missing_scope(self, caller: AccessToken | None, messages: list[Any] | None) -> Response | None:
        if caller is None or not self.auth.required:
            return None
        missing = [s for s in needed_scopes(messages) if s not in caller.scopes]
        if not missing:
            return None
        return self.auth.challenge(
            403,
            "insufficient_scope",
            f"this request needs the {missing[0]} scope",
            scope=" ".join(dict.fromkeys([READ_SCOPE, *missing])),
        )

    def _too_many_sessions(self) -> Response:
        cap, idle = self.settings.max_sessions_per_client, self.settings.session_idle_timeout
        return jsonrpc_error(
            429,
            RATE_LIMITED,
            f"This client already has {cap} open sessions (ANIME_MCP_MAX_SESSIONS_PER_CLIENT); reuse one, end one "
            f"with DELETE and its mcp-session-id, or wait: idle sessions close after {idle:g} s.",
            headers={"Retry-After": "60"},
        )


def secure_app(
    app: Starlette, state: AppState, settings: ServerSettings, sessions: SessionCap | None = None
) -> ASGIApp:
    async def health(_: Request) -> JSONResponse:
        body: dict = {"status": state.status}
        if state.waiting_for:
            body["detail"] = state.waiting_for
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
    return SecurityMiddleware(app, settings, sessions)
