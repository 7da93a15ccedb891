"""Settings of the MCP server: transport, network exposure, authentication, limits."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    rate_limit_per_minute: int = Field(120, description="Tool calls per client per minute on HTTP transports (0: off).")
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
        """Every accepted static token: from the setting and the tokens file (admin tokens aside)."""
        tokens = [t.get_secret_value() for t in self.auth_tokens if t.get_secret_value()]
        if self.auth_tokens_file:
            text = Path(self.auth_tokens_file).read_text(encoding="utf-8")
            tokens += [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
        return tokens

    def admin_token_values(self) -> list[str]:
        return [t.get_secret_value() for t in self.admin_tokens if t.get_secret_value()]
