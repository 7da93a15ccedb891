"""Settings of the MCP server: transport, network exposure, authentication, limits."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class TokensFileError(ValueError):
    """ANIME_MCP_AUTH_TOKENS_FILE cannot be used; the message names the variable and what to do."""


class ServerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ANIME_MCP_", env_file=".env", extra="ignore")

    transport: Literal["stdio", "sse", "http"] = Field(
        "stdio", description="stdio, sse or http (streamable HTTP at /mcp)."
    )
    host: str = Field("127.0.0.1", description="Address the HTTP transports bind to.")
    port: int = Field(8000, description="Port of the HTTP transports.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level (logs go to stderr)."
    )
    auth_tokens: list[SecretStr] = Field(
        default_factory=list, description="Bearer tokens accepted on HTTP transports (JSON list)."
    )
    auth_tokens_file: Path | None = Field(None, description="File with one bearer token per line.")
    admin_tokens: list[SecretStr] = Field(
        default_factory=list,
        description="Static tokens allowed to run admin actions (enrichment); empty: every "
        "valid static token. OAuth tokens need the anime:admin scope instead.",
    )
    allow_unauthenticated_remote: bool = Field(
        False, description="Allow binding a non-loopback address without tokens (not recommended)."
    )
    allowed_origins: list[str] = Field(
        default_factory=list, description="Origins allowed to call the HTTP server (CORS and DNS-rebinding check)."
    )
    allowed_hosts: list[str] = Field(
        default_factory=list, description="Extra Host header values accepted (besides localhost forms)."
    )
    rate_limit_per_minute: int = Field(
        120,
        ge=0,
        description="Tool calls (and resource, prompt and completion reads) per client per minute on HTTP "
        "transports; each message of a batch counts (0: off).",
    )
    auth_failures_per_minute: int = Field(
        20, ge=0, description="Refused bearer tokens per client address per minute before it gets 429 (0: off)."
    )
    max_request_bytes: int = Field(
        4 * 1024 * 1024, gt=0, description="Largest HTTP request body in bytes (413 beyond, by Content-Length first)."
    )
    max_header_bytes: int = Field(64 * 1024, gt=0, description="Largest HTTP request head (request line and headers).")
    header_timeout: float = Field(
        10.0, gt=0, description="Seconds a client has to send a request's headers before the connection is closed."
    )
    body_timeout: float = Field(30.0, gt=0, description="Seconds a client has to send a request's whole body (408).")
    keep_alive_timeout: int = Field(5, gt=0, description="Seconds an idle HTTP keep-alive connection stays open.")
    session_idle_timeout: float = Field(
        600.0, gt=0, description="Seconds without a request after which a streamable HTTP session is closed."
    )
    max_sessions: int = Field(10_000, gt=0, description="Open streamable HTTP sessions, all clients together.")
    max_sessions_per_client: int = Field(
        100,
        gt=0,
        description="Open streamable HTTP sessions per client (token subject, else address); beyond, 429 until "
        "one is closed or idles out.",
    )
    index_retry_max_seconds: float = Field(
        30.0,
        gt=0,
        description="Longest wait between two tries to open an index another process holds (the server "
        "reports 'starting' meanwhile).",
    )
    max_concurrent_expensive: int = Field(4, description="Concurrent image searches and enrichment jobs.")
    model_load_timeout: float = Field(600.0, description="Seconds a tool waits for the models to finish loading.")
    enrichment_enabled: bool = Field(
        False, description="Offer enrich_anime/enrichment_status (they call public anime sites)."
    )
    index_on_start: list[Path] = Field(
        default_factory=list,
        description="Files to index (unchanged entries are skipped) before the tools answer "
        "(JSON list); a failure is logged and shown by /health.",
    )

    # --- OAuth 2.1 resource server (HTTP transports) ---------------------------------------
    oauth_issuer: str | None = Field(
        None,
        description="Authorization server (issuer URL, exactly as in its tokens' iss) whose JWT access tokens "
        "are accepted; turns OAuth on.",
    )
    oauth_resource_url: str | None = Field(
        None,
        description="This server's public MCP URL, e.g. https://anime.example.org/mcp: the audience tokens must "
        "carry and the resource of the protected-resource metadata.",
    )
    oauth_audience: str | None = Field(None, description="Expected aud claim when it is not the resource URL.")
    oauth_jwks_url: str | None = Field(
        None, description="The issuer's JWKS URL; unset: read jwks_uri from its OpenID/OAuth metadata."
    )
    oauth_algorithms: list[str] = Field(
        default_factory=lambda: [
            "RS256",
            "RS384",
            "RS512",
            "PS256",
            "PS384",
            "PS512",
            "ES256",
            "ES384",
            "ES512",
            "EdDSA",
        ],
        description="Signature algorithms accepted (asymmetric only).",
    )
    oauth_jwks_cache_seconds: float = Field(3600.0, gt=0, description="How long fetched signing keys are reused.")
    oauth_jwks_refetch_seconds: float = Field(
        30.0, ge=0, description="Shortest time between two key fetches caused by an unknown key id (rotation)."
    )
    oauth_http_timeout: float = Field(10.0, gt=0, description="Seconds per request to the authorization server.")
    oauth_leeway_seconds: float = Field(30.0, ge=0, description="Clock skew tolerated on exp and nbf.")

    @field_validator("oauth_algorithms")
    @classmethod
    def _asymmetric_only(cls, value: list[str]) -> list[str]:
        """A shared-secret (HS*) or unsigned algorithm would let anyone holding the public keys mint tokens."""
        bad = [a for a in value if a.upper().startswith("HS") or a.lower() == "none"]
        if bad:
            raise ValueError(f"ANIME_MCP_OAUTH_ALGORITHMS must list asymmetric algorithms (RS256, ES256...), not {bad}")
        return value

    @property
    def oauth_enabled(self) -> bool:
        return bool(self.oauth_issuer)

    def tokens(self) -> list[str]:
        """Every accepted static token: from the setting and the tokens file (admin tokens aside).
        Raises TokensFileError: a tokens file that cannot be read, or holds no token, must stop the
        start rather than leave the server open."""
        tokens = [t.get_secret_value() for t in self.auth_tokens if t.get_secret_value()]
        if self.auth_tokens_file:
            path = Path(self.auth_tokens_file)
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
                raise TokensFileError(
                    f"ANIME_MCP_AUTH_TOKENS_FILE={path}: cannot read it ({reason}); write one token per line there "
                    "or unset the variable"
                ) from None
            found = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
            if not found:
                raise TokensFileError(f"ANIME_MCP_AUTH_TOKENS_FILE={path} holds no token; write one token per line")
            tokens += found
        return tokens

    def admin_token_values(self) -> list[str]:
        return [t.get_secret_value() for t in self.admin_tokens if t.get_secret_value()]


def settings_error(exc: ValidationError) -> str:
    """A settings validation error as one line naming the variables: ``ANIME_MCP_PORT: Input should be ...``."""
    parts = []
    for error in exc.errors():
        where = "_".join(str(p) for p in error.get("loc", ()) if isinstance(p, str))
        name = f"ANIME_MCP_{where.upper()}" if where else exc.title
        parts.append(f"{name}: {error.get('msg', 'invalid value')}")
    return "; ".join(parts)
