"""Alembic environment: the URL comes from the pipeline's settings; only `public`, `raw` and
`api` are Alembic's (dbt owns staging, intermediate and marts; TimescaleDB its internal schemas)."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import pool

from core.db.engine import create_db_engine, database_url
from core.db.schema import metadata
from core.settings import Settings

OWNED_SCHEMAS = {None, "public", "raw", "api"}


def include_name(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
    if type_ == "schema":
        return name in OWNED_SCHEMAS
    return True


def _url() -> str:
    # Set by `bcf db` and the tests; plain `alembic` resolves it like every bcf command.
    return context.config.attributes.get("database_url") or database_url(Settings())


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=metadata,
        include_schemas=True,
        include_name=include_name,
        compare_type=True,
        compare_server_default=True,
        transaction_per_migration=True,
        **kwargs,
    )


def run_migrations_online() -> None:
    engine = create_db_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    # Migrations look at the server (is TimescaleDB there?), so there is no --sql mode.
    raise SystemExit("offline (--sql) migrations are not supported: run against a database")
run_migrations_online()
