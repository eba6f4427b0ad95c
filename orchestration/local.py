"""Dagster on one machine: the instance folder and the environment `bcf ui` and `bcf demo` share.

Both use `<data dir>/dagster` as `DAGSTER_HOME`, and keep runs, event logs and schedules in
PostgreSQL (the database `dagster` on the pipeline's server, or `BCF_DAGSTER_DATABASE_URL`),
so the runs `bcf demo` and the Celery workers make are the ones the UI shows. SQLite files in
that folder only when `BCF_DAGSTER_STORAGE=sqlite`. `data_dir_environment` starts from
nothing but a data folder, as a new user does: the demo's end-to-end test and its
benchmark run `bcf` with it.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from sqlalchemy.engine import make_url

from core.db.engine import libpq_url
from core.settings import ENV_FILE_VARIABLE, Settings

if TYPE_CHECKING:
    from dagster import DagsterInstance

TELEMETRY_OFF = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "GX_ANALYTICS_ENABLED": "False",
    "DAGSTER_DISABLE_TELEMETRY": "1",
}


# Telemetry off; freshness policies (docs/quality.md) are evaluated only when enabled.
BASE_INSTANCE_CONFIG = "telemetry:\n  enabled: false\nfreshness:\n  enabled: true\n"
# Runs, event logs and schedules in PostgreSQL; the URL stays in the environment, not the file.
DAGSTER_DATABASE_VARIABLE = "BCF_DAGSTER_DATABASE_URL"
POSTGRES_STORAGE = (
    f"storage:\n  postgres:\n    postgres_url:\n      env: {DAGSTER_DATABASE_VARIABLE}\n"
)
DEFAULT_DAGSTER_DATABASE = "dagster"


def instance_config(settings: Settings) -> str:
    """dagster.yaml: PostgreSQL storage unless the user asked for SQLite."""
    storage = POSTGRES_STORAGE if settings.dagster_storage == "postgres" else ""
    return BASE_INSTANCE_CONFIG + storage


def dagster_home(settings: Settings) -> Path:
    """`<data dir>/dagster`, with the instance settings the pipeline relies on."""
    home = settings.data_dir.resolve() / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    instance_file = home / "dagster.yaml"
    wanted = instance_config(settings)
    if not instance_file.exists() or instance_file.read_text() != wanted:
        instance_file.write_text(wanted)
    return home


def dagster_database_url(settings: Settings, database_url: str) -> str:
    """`BCF_DAGSTER_DATABASE_URL`, else the database `dagster` on the pipeline's server, created
    when missing. dagster-postgres speaks psycopg2 (SQLAlchemy's default is psycopg 3 now),
    so the URL names that driver."""
    if settings.dagster_database_url:
        return _psycopg2_url(settings.dagster_database_url)
    server = make_url(libpq_url(database_url))
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (DEFAULT_DAGSTER_DATABASE,)
        ).fetchone()
        if exists is None:
            # Two commands starting at once both find it missing: the second one's is a no-op.
            with contextlib.suppress(
                psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation
            ):
                conn.execute(f'CREATE DATABASE "{DEFAULT_DAGSTER_DATABASE}"')
    return _psycopg2_url(
        server.set(database=DEFAULT_DAGSTER_DATABASE).render_as_string(hide_password=False)
    )


def create_dagster_tables(url: str) -> None:
    """Dagster's tables, created once before processes that start together on a new database
    (the UI's webserver and daemon, the workers) race to create them and fail."""
    from dagster_postgres import (
        PostgresEventLogStorage,
        PostgresRunStorage,
        PostgresScheduleStorage,
    )

    for storage in (PostgresRunStorage, PostgresEventLogStorage, PostgresScheduleStorage):
        storage(url).dispose()


def _psycopg2_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)


def pipeline_environment(
    settings: Settings, database_url: str, redis_url: str | None
) -> dict[str, str]:
    """The process environment for Dagster code on these services (the current one, plus)."""
    environment = {
        **os.environ,
        **TELEMETRY_OFF,
        "DAGSTER_HOME": str(dagster_home(settings)),
        "BCF_DATABASE_URL": database_url,
    }
    if settings.dagster_storage == "postgres":
        environment[DAGSTER_DATABASE_VARIABLE] = dagster_database_url(settings, database_url)
    if redis_url:
        environment["BCF_REDIS_URL"] = redis_url
    return environment


# As root, the folder's PostgreSQL can only be stopped by the system user that started it,
# and its cluster only runs under the PostgreSQL version that created it: every command on
# the folder must use the same user and the same server binaries. Where the client binaries
# for backups live is the machine's too.
MACHINE_SETTINGS = frozenset(
    {
        "BCF_SERVICES_OS_USER",
        "BCF_SERVICES_POSTGRES_BIN",
        "BCF_PG_CLIENT_BIN",
        "BCF_DBT_WARM",
        "BCF_DBT_SERVER_IDLE_SECONDS",
    }
)


def data_dir_environment(data_dir: Path) -> dict[str, str]:
    """The current environment for a `bcf` command confined to `data_dir`, as a new user's.

    The caller's settings (`BCF_*`: URLs, ports, the landing folder) and `DAGSTER_HOME` are
    left out, so the command starts the folder's own services and records its runs in
    `<data dir>/dagster`; the rest (PATH, locale, proxies) is the caller's, and so are the
    settings that describe the machine rather than the caller's data (`MACHINE_SETTINGS`).
    No `.env` is read either: the one in the working folder holds the caller's settings too.
    """
    environment = {
        name: value
        for name, value in os.environ.items()
        if name in MACHINE_SETTINGS or not (name.startswith("BCF_") or name == "DAGSTER_HOME")
    }
    environment[ENV_FILE_VARIABLE] = ""
    environment["BCF_DATA_DIR"] = str(data_dir)
    return environment


def cancel_running_runs(instance: DagsterInstance, wait_seconds: float = 120) -> list[str]:
    """Cancels the runs in progress as the UI's Terminate button does (their steps stop, the
    run ends CANCELED), then waits for them to end; returns the ids of those still running."""
    import dagster as dg

    # The runs that a stopping UI would otherwise interrupt, leaving them failed.
    in_progress = [
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED,
        dg.DagsterRunStatus.CANCELING,
    ]
    running = [run.run_id for run in instance.get_runs(dg.RunsFilter(statuses=in_progress))]
    for run_id in running:
        instance.run_coordinator.cancel_run(run_id)
    deadline = time.monotonic() + wait_seconds
    while running and time.monotonic() < deadline:
        time.sleep(1)
        running = [run_id for run_id in running if not _ended(instance, run_id)]
    return running


def mark_canceled(instance: DagsterInstance, run_ids: list[str], why: str) -> None:
    """Records runs whose processes stopped with the UI as canceled, not left in progress."""
    for run_id in run_ids:
        if (run := instance.get_run_by_id(run_id)) is not None and not run.is_finished:
            instance.report_run_canceled(run, message=why)


def _ended(instance: DagsterInstance, run_id: str) -> bool:
    run = instance.get_run_by_id(run_id)
    return run is None or run.is_finished
