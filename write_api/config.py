"""The write API's own settings, `BCF_API_*` (the shared ones come from core.settings)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from core.settings import EnvFileSettings


class ApiSettings(EnvFileSettings):
    model_config = SettingsConfigDict(
        env_prefix="BCF_API_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    rate_limit_per_minute: int = Field(
        default=6000, gt=0, description="Requests per API key per clock minute (Redis)."
    )
    max_body_bytes: int = Field(
        default=1_048_576, gt=0, description="Largest request body; larger ones are a 413."
    )
    max_track_events: int = Field(default=1000, gt=0, description="Events per /v1/track call.")
    page_max: int = Field(default=100, gt=0, description="Most rows one list call returns.")
    key_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long a verified key is trusted without a database read; a revoked "
        "key stops working within this time.",
    )
    idempotency_ttl_seconds: int = Field(default=86_400, gt=0)
    idempotency_wait_seconds: float = Field(
        default=30.0, gt=0, description="How long a retry waits for the first request's answer."
    )
    pool_size: int = Field(default=10, gt=0, description="Database connections per worker.")
    write_lanes: int = Field(
        default=2,
        gt=0,
        description="One-statement writes in flight at once per worker; writes arriving while "
        "all are busy are committed together by the next free one (docs/api.md).",
    )
    write_batch_max: int = Field(
        default=32, gt=0, description="Most one-statement writes committed together."
    )
    redis_retry_seconds: float = Field(
        default=1.0, ge=0, description="After Redis fails, how long requests skip it."
    )
