"""Where the database and Redis are, and engines to reach them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from core.services import LocalPostgres, LocalRedis, ServiceError
from core.settings import Settings


def database_url(settings: Settings) -> str:
    """`BCF_DATABASE_URL`, else the running private cluster of `bcf services`."""
    if settings.database_url:
        return settings.database_url
    local = LocalPostgres(settings.data_dir)
    if not local.is_running():
        raise ServiceError(
            "no database: set BCF_DATABASE_URL or start the local one with `bcf services up`"
        )
    return local.url()


def redis_url(settings: Settings) -> str | None:
    """`BCF_REDIS_URL`, else the running private redis-server, else None (Redis is optional)."""
    if settings.redis_url:
        return settings.redis_url
    local = LocalRedis(settings.data_dir)
    return local.url() if local.is_running() else None


def sqlalchemy_url(url: str) -> str:
    """The same URL with SQLAlchemy's psycopg 3 driver named."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"not a PostgreSQL URL: {parsed.render_as_string(hide_password=True)}")
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """The same URL as libpq/psycopg want it (no `+driver`)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    return create_engine(sqlalchemy_url(url), pool_pre_ping=True, **kwargs)
