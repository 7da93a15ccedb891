"""OAuth 2.1 resource server: JWT access tokens from one configured authorization server.

The issuer's signing keys come from its JWKS (``jwks_uri`` of its OpenID/OAuth metadata, or
``ANIME_MCP_OAUTH_JWKS_URL``), fetched with PyJWT's ``PyJWKClient``: cached for
``oauth_jwks_cache_seconds``, no redirects, a timeout, and one refetch for an unknown key id
(rotation) at most every ``oauth_jwks_refetch_seconds``, so tokens with made-up key ids cannot
make this server hammer the issuer. Signatures, expiry, issuer and audience are PyJWT's checks;
nothing here does cryptography. Network is only ever to the configured issuer.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
import jwt
from jwt import PyJWK, PyJWKClient
from jwt.exceptions import PyJWKClientConnectionError, PyJWKClientError, PyJWKSetError
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.routes import build_resource_metadata_url, create_protected_resource_routes
from mcp.server.auth.settings import AuthSettings
from pydantic import AnyHttpUrl
from starlette.routing import Route

from server.auth import SCOPES, TokenRejected
from server.settings import ServerSettings

log = logging.getLogger(__name__)
USER_AGENT = "anime-mcp/0.1 (OAuth resource server)"


class KeysUnavailable(Exception):
    """The issuer's metadata or keys could not be fetched: the server's problem, not the token's (503)."""


class OAuthConfigError(ValueError):
    """The OAuth settings cannot work; the message names the variable to fix."""


def _secure_url(url: str, variable: str) -> str:
    """https, or http to this machine only (a local test issuer): keys fetched in clear text could be forged."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return url
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parts.scheme == "http" and loopback:
        return url
    raise OAuthConfigError(f"{variable} must be an https:// URL (http only for localhost), got {url!r}")


def auth_settings(settings: ServerSettings) -> AuthSettings:
    """The SDK's AuthSettings for this server (issuer, resource URL, scopes); raises OAuthConfigError."""
    if not settings.oauth_issuer:
        raise OAuthConfigError("ANIME_MCP_OAUTH_ISSUER is not set")
    if not settings.oauth_resource_url:
        raise OAuthConfigError(
            "ANIME_MCP_OAUTH_RESOURCE_URL must be set with ANIME_MCP_OAUTH_ISSUER: this server's "
            "public MCP URL (e.g. https://anime.example.org/mcp), the audience of its tokens"
        )
    _secure_url(settings.oauth_issuer, "ANIME_MCP_OAUTH_ISSUER")
    if settings.oauth_jwks_url:
        _secure_url(settings.oauth_jwks_url, "ANIME_MCP_OAUTH_JWKS_URL")
    try:
        return AuthSettings(
            issuer_url=settings.oauth_issuer,
            resource_server_url=settings.oauth_resource_url,
            required_scopes=SCOPES,
            validate_token_resource=False,
        )  # the audience is checked here
    except ValueError as exc:
        raise OAuthConfigError(f"ANIME_MCP_OAUTH_ISSUER / ANIME_MCP_OAUTH_RESOURCE_URL are not URLs: {exc}") from exc


def _resource_url(auth: AuthSettings) -> AnyHttpUrl:
    """The resource URL, which the SDK's AuthSettings keeps optional and auth_settings() always sets."""
    if auth.resource_server_url is None:
        raise OAuthConfigError("ANIME_MCP_OAUTH_RESOURCE_URL is not set")
    return auth.resource_server_url


def metadata_url(settings: ServerSettings) -> str:
    """Where the protected-resource metadata of this server lives (RFC 9728 §3.1, path form)."""
    return str(build_resource_metadata_url(_resource_url(auth_settings(settings))))


def metadata_routes(settings: ServerSettings) -> list[Route]:
    """RFC 9728 metadata at /.well-known/oauth-protected-resource plus its path form
    (/.well-known/oauth-protected-resource/mcp), which MCP clients try first."""
    auth = auth_settings(settings)
    routes = create_protected_resource_routes(
        resource_url=_resource_url(auth),
        authorization_servers=[auth.issuer_url],
        scopes_supported=SCOPES,
        resource_name="anime-search",
    )
    root = "/.well-known/oauth-protected-resource"
    if all(r.path != root for r in routes):
        routes.append(Route(root, endpoint=routes[0].endpoint, methods=["GET", "OPTIONS"]))
    return routes


def token_scopes(claims: dict[str, Any]) -> list[str]:
    """Scopes from ``scope`` (RFC 9068, Keycloak, Auth0), ``scp`` (Okta, Entra) and ``permissions`` (Auth0 RBAC)."""
    out: list[str] = []
    for name in ("scope", "scp", "permissions"):
        raw = claims.get(name)
        if isinstance(raw, str):
            out += raw.split()
        elif isinstance(raw, list):
            out += [str(s) for s in raw]
    return list(dict.fromkeys(out))


class JwtVerifier:
    """The SDK's ``TokenVerifier`` for the configured issuer; ``verify`` says why a token is refused."""

    def __init__(self, settings: ServerSettings):
        auth = auth_settings(settings)
        self.issuer = settings.oauth_issuer or ""
        self.resource = str(auth.resource_server_url)
        self.audience = settings.oauth_audience or settings.oauth_resource_url or ""
        self.algorithms = list(settings.oauth_algorithms)
        self.leeway = settings.oauth_leeway_seconds
        self.timeout = settings.oauth_http_timeout
        self.cache_seconds = settings.oauth_jwks_cache_seconds
        self.refetch_seconds = settings.oauth_jwks_refetch_seconds
        self.jwks_url = settings.oauth_jwks_url
        self._client: PyJWKClient | None = None
        self._lock: anyio.Lock | None = None
        self._discovery_failed_at: float | None = None

    async def verify_token(self, token: str) -> AccessToken | None:
        """The SDK's TokenVerifier protocol: the access token, or None for any refusal."""
        try:
            return await self.verify(token)
        except (TokenRejected, KeysUnavailable):
            return None

    async def verify(self, token: str) -> AccessToken:
        """Raises TokenRejected (the client's problem: 401) or KeysUnavailable (the issuer's: 503)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise TokenRejected("the bearer token is neither a configured token nor a JWT") from None
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise TokenRejected(f"token algorithm {alg!r} is not accepted (ANIME_MCP_OAUTH_ALGORITHMS)")
        key = await self._signing_key(header.get("kid"))
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected("token expired") from None
        except jwt.InvalidAudienceError:
            raise TokenRejected(f"token audience is not this server (expected aud {self.audience!r})") from None
        except jwt.InvalidIssuerError:
            raise TokenRejected(f"token issuer is not {self.issuer!r}") from None
        except jwt.InvalidSignatureError:
            raise TokenRejected("token signature does not verify with the issuer's key") from None
        except jwt.ImmatureSignatureError:
            raise TokenRejected("token is not valid yet (nbf/iat in the future)") from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenRejected(f"token lacks the {exc.claim!r} claim") from None
        except jwt.InvalidAlgorithmError:
            raise TokenRejected(f"token algorithm {alg!r} does not match its key") from None
        except jwt.InvalidTokenError as exc:
            raise TokenRejected(f"token is invalid ({type(exc).__name__})") from None
        subject = claims.get("sub")
        client = claims.get("client_id") or claims.get("azp") or subject or "unknown"
        return AccessToken(
            token=token,
            client_id=str(client),
            scopes=token_scopes(claims),
            expires_at=int(claims["exp"]),
            resource=self.resource,
            subject=str(subject) if subject is not None else None,
            claims={"iss": claims["iss"]},
        )

    # ----- keys ---------------------------------------------------------------------------------
    async def _signing_key(self, kid: Any) -> PyJWK:
        if not isinstance(kid, str) or not kid:
            raise TokenRejected("token has no key id (kid header)")
        if len(kid) > 200:
            raise TokenRejected("token key id (kid) is too long")
        client = await self._jwks()
        cached = client.jwk_set_cache.get() if client.jwk_set_cache is not None else None
        if cached is not None:  # the common case: no thread, no network
            for key in cached.keys:
                if key.key_id == kid and key.public_key_use in ("sig", None):
                    return key
        try:
            return await anyio.to_thread.run_sync(client.get_signing_key, kid)
        except PyJWKClientConnectionError as exc:
            log.warning("fetching the JWKS %s failed: %s", client.uri, exc)
            raise KeysUnavailable("the authorization server's keys could not be fetched; try again shortly") from None
        except (PyJWKClientError, PyJWKSetError) as exc:
            if client.jwk_set_cache is not None and client.jwk_set_cache.get() is not None:
                raise TokenRejected(f"token signed with unknown key id {kid!r} (not in the issuer's JWKS)") from None
            log.warning("the JWKS at %s is unusable: %s", client.uri, exc)
            raise KeysUnavailable("the authorization server's keys are unusable; see the server log") from None

    async def _jwks(self) -> PyJWKClient:
        if self._client is not None:
            return self._client
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            if self._client is None:
                url = self.jwks_url or await self._discover()
                self._client = PyJWKClient(
                    url,
                    cache_jwk_set=True,
                    lifespan=self.cache_seconds,
                    timeout=self.timeout,
                    cooldown_duration=self.refetch_seconds,
                    headers={"User-Agent": USER_AGENT},
                )
        return self._client

    def _metadata_urls(self) -> list[str]:
        """OpenID discovery (issuer + /.well-known/openid-configuration), then RFC 8414's path-inserted form."""
        parts = urlsplit(self.issuer)
        base = f"{parts.scheme}://{parts.netloc}"
        path = parts.path.rstrip("/")
        return [
            self.issuer.rstrip("/") + "/.well-known/openid-configuration",
            f"{base}/.well-known/oauth-authorization-server{path}",
        ]

    async def _discover(self) -> str:
        """``jwks_uri`` of the issuer's metadata, whose ``issuer`` must equal the configured one."""
        now = anyio.current_time()
        if self._discovery_failed_at is not None and now - self._discovery_failed_at < max(self.refetch_seconds, 1.0):
            raise KeysUnavailable("the authorization server's metadata could not be fetched; try again shortly")
        problems = []
        async with httpx.AsyncClient(
            timeout=self.timeout, follow_redirects=False, headers={"User-Agent": USER_AGENT}
        ) as http:
            for url in self._metadata_urls():
                try:
                    response = await http.get(url)
                    meta = response.json() if response.status_code == 200 else None
                except (httpx.HTTPError, ValueError) as exc:
                    problems.append(f"{url}: {type(exc).__name__}")
                    continue
                if not isinstance(meta, dict):
                    problems.append(f"{url}: HTTP {response.status_code}")
                    continue
                if meta.get("issuer") != self.issuer:
                    problems.append(f"{url}: names issuer {meta.get('issuer')!r}, not ANIME_MCP_OAUTH_ISSUER")
                    continue
                jwks_uri = meta.get("jwks_uri")
                try:
                    return _secure_url(str(jwks_uri or ""), f"jwks_uri of {url}")
                except OAuthConfigError as exc:
                    problems.append(str(exc))
        self._discovery_failed_at = anyio.current_time()
        log.warning("OAuth metadata of %s not usable: %s", self.issuer, "; ".join(problems))
        raise KeysUnavailable("the authorization server's metadata could not be fetched; try again shortly")
