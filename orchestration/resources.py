"""Dagster resources: the pipeline's settings, with per-deployment overrides.

Values come from the `BCF_*` environment (and `.env`) as everywhere else in the pipeline; the
resource's own fields override them where a deployment or a test needs to.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from sqlalchemy import Engine

from core.db.engine import create_db_engine, database_url, redis_url
from core.settings import Settings


class PipelineSettings(dg.ConfigurableResource):
    """Where the database, Redis and landing folder are (defaults: the `BCF_*` settings)."""

    database_url: str | None = None
    redis_url: str | None = None
    data_dir: str | None = None
    landing_dir: str | None = None

    def settings(self) -> Settings:
        overrides = {
            name: value
            for name, value in {
                "database_url": self.database_url,
                "redis_url": self.redis_url,
                "data_dir": self.data_dir,
                "landing_dir": self.landing_dir,
            }.items()
            if value is not None
        }
        return Settings(**overrides)  # type: ignore[arg-type]

    def database_url_resolved(self) -> str:
        return database_url(self.settings())

    def redis_url_resolved(self) -> str | None:
        return redis_url(self.settings())

    def engine(self) -> Engine:
        return create_db_engine(self.database_url_resolved())

    def landing_path(self) -> Path:
        return self.settings().landing_path
