"""HTTP hardening around the MCP app: bearer tokens (constant-time), per-client rate limits,
and a /health endpoint for hosted use."""

from __future__ import annotations

import hmac
import time
from collections import defaultdict, deque

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from server.settings import ServerSettings
from server.state import AppState


def token_matches(candidate: str, tokens: list[str]) -> bool:
    """Compare against every token in constant time (no early exit that leaks which one matched)."""
    ok = False
    for token in tokens:
        ok |= hmac.compare_digest(candidate.encode(), token.encode())
    return ok


class SecurityMiddleware:
    """Authentication and rate limiting for every HTTP request except /health."""

    def __init__(self, app: ASGIApp, settings: ServerSettings):
        self.app = app
        self.tokens = settings.tokens()
        self.per_minute = settings.rate_limit_per_minute
        self.hits: dict[str, deque[float]] = defaultdict(deque)

    def _client(self, scope: Scope, token: str | None) -> str:
        if token:
            return "token:" + token[:6]
        client = scope.get("client")
        return "ip:" + (client[0] if client else "?")

    def _limited(self, key: str) -> bool:
        if self.per_minute <= 0:
            return False
        now = time.monotonic()
        window = self.hits[key]
        while window and now - window[0] > 60:
            window.popleft()
        if len(window) >= self.per_minute:
            return True
        window.append(now)
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") == "/health":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        token = None
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip()
        if self.tokens and (not token or not token_matches(token, self.tokens)):
            response = JSONResponse({"error": "unauthorized", "detail": "Send 'Authorization: Bearer <token>'."},
                                    status_code=401, headers={"WWW-Authenticate": "Bearer"})
            await response(scope, receive, send)
            return
        if request.method == "POST" and self._limited(self._client(scope, token)):
            response = JSONResponse({"error": "rate_limited", "detail": f"More than {self.per_minute} requests "
                                     "a minute; slow down."}, status_code=429, headers={"Retry-After": "10"})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


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
        return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)

    app.add_route("/health", health, methods=["GET"])
    return SecurityMiddleware(app, settings)
