"""Who is calling: bearer-token parsing, static tokens, scopes, and the per-tool scope rule.

Static tokens and OAuth access tokens both end up as the MCP SDK's ``AccessToken`` on the request
(``scope["user"]``, an ``AuthenticatedUser``), so the tools and the rate limit ask one question:
which scopes does this caller hold. Static tokens get ``anime:read``, plus ``anime:admin`` when
``ANIME_MCP_ADMIN_TOKENS`` is empty or lists them (the rule from before OAuth).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken

READ_SCOPE = "anime:read"
ADMIN_SCOPE = "anime:admin"
SCOPES = [READ_SCOPE, ADMIN_SCOPE]
#: Tools that act on the server (network calls, writes to the index); every other tool reads.
ADMIN_TOOLS = frozenset({"enrich_anime", "enrichment_status"})
#: Requests other than tools/call that read the catalogue (initialize, tools/list, ping need no scope).
READ_METHODS = frozenset({"resources/read", "prompts/get", "completion/complete"})


class TokenRejected(Exception):
    """The bearer token is not valid here; the message says why (never the token itself)."""


def bearer_token(headers: Mapping[str, str] | Any) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (any case), else None."""
    if not headers or not hasattr(headers, "get"):
        return None
    auth = headers.get("authorization") or headers.get("Authorization") or ""
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def token_matches(candidate: str, tokens: list[str]) -> bool:
    """Compare against every token in constant time (no early exit that leaks which one matched)."""
    ok = False
    for token in tokens:
        ok |= hmac.compare_digest(candidate.encode(), token.encode())
    return ok


def token_digest(token: str) -> str:
    """A stable, non-reversible name for a token (rate-limit keys, session owners); never the token."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]


class StaticTokens:
    """The configured tokens (``ANIME_MCP_AUTH_TOKENS[_FILE]``) and admin tokens as access tokens."""

    def __init__(self, tokens: list[str], admin_tokens: list[str]):
        self.tokens = tokens
        self.admin_tokens = admin_tokens

    def verify(self, token: str) -> AccessToken | None:
        """The caller's access token, or None when this is not one of the static tokens."""
        is_admin_token = bool(self.admin_tokens) and token_matches(token, self.admin_tokens)
        if not is_admin_token and not token_matches(token, self.tokens):
            return None
        scopes = [READ_SCOPE, ADMIN_SCOPE] if is_admin_token or not self.admin_tokens else [READ_SCOPE]
        name = "static:" + token_digest(token)
        return AccessToken(token=token, client_id=name, subject=name, scopes=scopes)


def required_scope(message: Any) -> str | None:
    """The scope one JSON-RPC message needs: a tool's own scope for tools/call, anime:read to read
    resources and prompts, none to connect and list (so a client can always learn what exists)."""
    if not isinstance(message, dict):
        return None
    method = message.get("method")
    if method == "tools/call":
        params = message.get("params")
        if not isinstance(params, dict):
            params = {}
        name = params.get("name")  # any JSON value: a list here must not raise (unhashable)
        return ADMIN_SCOPE if isinstance(name, str) and name in ADMIN_TOOLS else READ_SCOPE
    return READ_SCOPE if method in READ_METHODS else None


def caller(request: Any) -> AccessToken | None:
    """The verified access token of an HTTP request (set by server.security), None when anonymous
    (stdio, in-process clients, or HTTP without authentication)."""
    scope = getattr(request, "scope", None)
    user = scope.get("user") if isinstance(scope, dict) else None
    return user.access_token if isinstance(user, AuthenticatedUser) else None


def is_admin(ctx: Any, admin_tokens: list[str]) -> bool:
    """May this caller run admin actions (enrichment)? A verified caller (static token or OAuth
    JWT, see server.security) needs the anime:admin scope; an anonymous one (stdio, or HTTP
    without authentication) only when no admin tokens are configured: with them set, a caller
    must show one."""
    try:
        request = ctx.request_context.request
    except (AttributeError, ValueError):  # no request (a Context outside a call)
        request = None
    found = caller(request)
    if found is not None:
        return ADMIN_SCOPE in found.scopes
    return not admin_tokens
