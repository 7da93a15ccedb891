"""Run the server on stdio, SSE or streamable HTTP.

HTTP transports get DNS-rebinding protection (Host/Origin checks) from the SDK, authentication
(static bearer tokens and/or OAuth JWTs), scopes and per-client limits from server.security, and
a /health endpoint.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import logging
from typing import Any

import anyio
import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp

from server.settings import ServerSettings
from server.state import AppState

log = logging.getLogger(__name__)


class UnsafeBindError(RuntimeError):
    """Refusing to start: an unauthenticated server beyond this machine, or an authentication
    configuration that cannot work (the CLI prints the message as one line)."""


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def transport_security(settings: ServerSettings) -> TransportSecuritySettings:
    hosts = ["127.0.0.1", "localhost", "[::1]", "127.0.0.1:*", "localhost:*", "[::1]:*", *settings.allowed_hosts]
    if not is_loopback(settings.host) and settings.host not in ("0.0.0.0", "::"):
        hosts += [settings.host, f"{settings.host}:*"]
    origins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*", *settings.allowed_origins]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


def http_app(server: MCPServer, state: AppState, settings: ServerSettings) -> ASGIApp:
    """The Starlette app for sse or http, wrapped with authentication, limits and /health."""
    # HTTP only: server.security brings server.oauth (PyJWT, cryptography: ~30 ms) that stdio never needs
    from server.security import secure_app
    from server.sessions import SessionCap

    check_auth(settings)
    security = transport_security(settings)
    if settings.transport == "sse":
        return secure_app(server.sse_app(transport_security=security, host=settings.host), state, settings)
    app = server.streamable_http_app(
        transport_security=security,
        host=settings.host,
        max_request_body_size=settings.max_request_bytes,
        session_idle_timeout=settings.session_idle_timeout,
        max_sessions=settings.max_sessions,
    )
    # The SDK's manager keeps the live sessions (ended ones leave its table: DELETE, idle timeout, crash).
    table: dict[str, Any] = getattr(server.session_manager, "_server_instances", {})
    sessions = SessionCap(settings.max_sessions_per_client, table.__contains__)
    return secure_app(app, state, settings, sessions)


def check_bind(settings: ServerSettings) -> None:
    if (
        is_loopback(settings.host)
        or settings.tokens()
        or settings.oauth_enabled
        or settings.allow_unauthenticated_remote
    ):
        return
    raise UnsafeBindError(
        f"Refusing to listen on {settings.host} without authentication. Set ANIME_MCP_AUTH_TOKENS, "
        "ANIME_MCP_AUTH_TOKENS_FILE or ANIME_MCP_OAUTH_ISSUER, bind to 127.0.0.1, or (at your own risk) set "
        "ANIME_MCP_ALLOW_UNAUTHENTICATED_REMOTE=true."
    )


def check_auth(settings: ServerSettings) -> None:
    """OAuth settings that cannot work stop the start, naming the variable to fix."""
    if not settings.oauth_enabled:
        return
    from server.oauth import OAuthConfigError, auth_settings  # PyJWT, cryptography: ~30 ms; HTTP with OAuth only

    try:
        auth_settings(settings)
    except OAuthConfigError as exc:
        raise UnsafeBindError(str(exc)) from exc


def serve(server: MCPServer, state: AppState, settings: ServerSettings) -> None:
    """Blocking: run until the client disconnects (stdio) or the process is stopped (HTTP)."""
    if settings.transport == "stdio":
        anyio.run(server.run_stdio_async)  # uvloop measured ~2 ms slower per call here (stdin/stdout run in threads)
        return
    check_bind(settings)
    app = http_app(server, state, settings)
    config = uvicorn_config(app, settings)
    log.info(
        "serving %s on http://%s:%s%s",
        settings.transport,
        settings.host,
        settings.port,
        "/sse" if settings.transport == "sse" else "/mcp",
    )
    anyio.run(uvicorn.Server(config).serve, backend_options=_loop_options())


def uvicorn_config(app: ASGIApp, settings: ServerSettings) -> uvicorn.Config:
    """uvicorn with the server's limits: header bytes and deadline (server.http_limits), keep-alive."""
    from server.http_limits import guarded_protocol  # HTTP only: uvicorn's httptools protocol

    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=5,
        timeout_keep_alive=settings.keep_alive_timeout,
        http=guarded_protocol(settings.max_header_bytes, settings.header_timeout),
        h11_max_incomplete_event_size=settings.max_header_bytes,  # used only if h11 is chosen instead
    )


def _loop_options() -> dict[str, bool]:
    """uvloop where it is installed (not on Windows): 32 HTTP clients got ~13% more requests/s with it."""
    return {"use_uvloop": True} if importlib.util.find_spec("uvloop") is not None else {}
