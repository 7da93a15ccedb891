"""Settings of the MCP server: transport, network exposure, authentication, limits."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ANIME_MCP_", env_file=".env", extra="ignore")

    transport: Literal["stdio", "sse", "http"] = Field("stdio", description="stdio, sse or http (streamable HTTP at /mcp).")
    host: str = Field("127.0.0.1", description="Address the HTTP transports bind to.")
    port: int = Field(8000, description="Port of the HTTP transports.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level (logs go to stderr).")
    auth_tokens: list[SecretStr] = Field(default_factory=list,
                                         description="Bearer tokens accepted on HTTP transports (JSON list).")
    auth_tokens_file: Path | None = Field(None, description="File with one bearer token per line.")
    admin_tokens: list[SecretStr] = Field(
        default_factory=list, description="Tokens allowed to run admin actions (enrichment); empty: every valid token.")
    allow_unauthenticated_remote: bool = Field(
        False, description="Allow binding a non-loopback address without tokens (not recommended).")
    allowed_origins: list[str] = Field(default_factory=list,
                                       description="Origins allowed to call the HTTP server (CORS and DNS-rebinding check).")
    allowed_hosts: list[str] = Field(default_factory=list,
                                     description="Extra Host header values accepted (besides localhost forms).")
    rate_limit_per_minute: int = Field(120, description="Tool calls per client per minute on HTTP transports (0: off).")
    max_concurrent_expensive: int = Field(4, description="Concurrent image searches and enrichment jobs.")
    model_load_timeout: float = Field(600.0, description="Seconds a tool waits for the models to finish loading.")
    enrichment_enabled: bool = Field(False, description="Enable enrich_anime/enrichment_status (network calls).")
    index_on_start: list[Path] = Field(default_factory=list, description="Files to index before serving (JSON list).")

    def tokens(self) -> list[str]:
        """Every accepted token: from the setting and the tokens file."""
        tokens = [t.get_secret_value() for t in self.auth_tokens if t.get_secret_value()]
        if self.auth_tokens_file:
            text = Path(self.auth_tokens_file).read_text(encoding="utf-8")
            tokens += [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
        return tokens
