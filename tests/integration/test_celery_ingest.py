"""Ingestion on real Celery workers: the ingest assets fan out one step per landing file over
two worker processes (Redis broker, Dagster storage in PostgreSQL), with overlapping files and
the same content in two files loaded at the same moment: no row twice, none lost, the ledger
identity for every batch, and each step's log naming the worker that ran it."""

from __future__ import annotations

import csv
import itertools
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from dagster._core.events import DagsterEventType

from core.settings import Settings
from orchestration.celery_definitions import celery_asset_job
from orchestration.executor import QUEUES
from orchestration.local import pipeline_environment
from orchestration.workers import LocalWorkers, worker_environment
from tests.conftest import temporary_database
from tests.integration.test_loader import TENANT_A, TENANT_B, USER_1, seed_reference

USAGE_COLUMNS = [
    "usage_event_id", "tenant_id", "user_id", "resource_type", "resource_id", "usage_count",
    "usage_value", "period_start", "period_end", "recorded_at",
]  # fmt: skip
DAY = datetime(2026, 1, 5, tzinfo=UTC)


def write_usage(path: Path, ids: range) -> None:
    """Usage events `use-<n>` for n in `ids`, on fixed dates."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as output:
        writer = csv.writer(output)
        writer.writerow(USAGE_COLUMNS)
        for n in ids:
            at = DAY + timedelta(seconds=n)
            writer.writerow(
                [f"use-{n:07d}", TENANT_A if n % 2 else TENANT_B, USER_1, "api_calls", "",
                 n % 100 + 1, "", DAY.isoformat(), (DAY + timedelta(days=1)).isoformat(),
                 at.isoformat()]
            )  # fmt: skip


@dataclass(frozen=True)
class Pipeline:
    database: str
    landing: Path
    workers: LocalWorkers


@contextmanager
def celery_pipeline(
    folder: Path,
    database: str,
    postgres_admin_url: str,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
    workers: int = 2,
    **settings_values: str,
) -> Iterator[Pipeline]:
    """`workers` workers on every queue, a data folder, and this process set to orchestrate
    (Dagster storage in a database of its own)."""
    seed_reference(database)
    landing = folder / "landing"
    with temporary_database(postgres_admin_url, "bcf_test_dagster") as storage:
        for name, value in {
            "BCF_ENV_FILE": "",
            "BCF_DATA_DIR": str(folder / "data"),
            "BCF_LANDING_DIR": str(landing),
            "BCF_DATABASE_URL": database,
            "BCF_REDIS_URL": redis_url,
            "BCF_DAGSTER_DATABASE_URL": storage,
            **{f"BCF_{name.upper()}": value for name, value in settings_values.items()},
        }.items():
            monkeypatch.setenv(name, value)
        settings = Settings()
        environment = pipeline_environment(settings, database, redis_url)
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        local = LocalWorkers(settings.data_dir)
        if workers:
            local.start(workers, QUEUES, worker_environment(environment, redis_url))
        try:
            yield Pipeline(database, landing, local)
        finally:
            local.stop()


@pytest.fixture
def pipeline(
    tmp_path: Path,
    migrated_database_url: str,
    postgres_admin_url: str,
    redis_server_url: str,
    redis_client: object,  # an emptied Redis database: the broker's queues start empty
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Pipeline]:
    with celery_pipeline(
        tmp_path, migrated_database_url, postgres_admin_url, redis_server_url, monkeypatch
    ) as pipeline:
        yield pipeline


def ingest_keys(*sources: str) -> list[dg.AssetKey]:
    job = celery_asset_job().get_definition()
    graph = job.asset_layer.asset_graph
    return [
        key
        for key in job.asset_layer.executable_asset_keys
        if graph.get(key).group_name == "ingestion" and graph.get(key).tags.get("source") in sources
    ]


def run_on_workers(keys: list[dg.AssetKey]) -> tuple[dg.DagsterRun, list[dg.EventLogEntry]]:
    with dg.DagsterInstance.get() as instance:
        result = dg.execute_job(celery_asset_job(), instance, asset_selection=keys)
        run = instance.get_run_by_id(result.run_id)
        events = [r.event_log_entry for r in instance.get_records_for_run(result.run_id).records]
    assert run is not None
    return run, events


def workers_by_step(events: list[dg.EventLogEntry]) -> dict[str, str]:
    """The worker each step ran on, as the step's own log says (dagster-celery's event)."""
    ran = {}
    for entry in events:
        event = entry.dagster_event
        if event is None or event.event_type != DagsterEventType.ENGINE_EVENT:
            continue
        worker = event.engine_event_data.metadata.get("Celery worker")
        if worker is not None and entry.step_key:
            ran[entry.step_key] = str(worker.value)
    return ran


def step_windows(events: list[dg.EventLogEntry]) -> dict[str, tuple[float, float]]:
    starts: dict[str, float] = {}
    windows = {}
    for entry in events:
        kind = entry.dagster_event_type
        if kind == DagsterEventType.STEP_START and entry.step_key:
            starts[entry.step_key] = entry.timestamp
        elif kind == DagsterEventType.STEP_SUCCESS and entry.step_key in starts:
            windows[entry.step_key] = (starts[entry.step_key], entry.timestamp)
    return windows


def ledger(database: str) -> list[tuple[str, str, int, int, int, int]]:
    with psycopg.connect(database) as conn:
        return conn.execute(
            "SELECT source_file, status, rows_in, rows_loaded, rows_quarantined, rows_duplicate "
            "FROM raw.ingest_batches WHERE source = 'usage' ORDER BY source_file"
        ).fetchall()


def usage_ids(database: str) -> list[str]:
    with psycopg.connect(database) as conn:
        rows = conn.execute("SELECT source_record_id FROM public.platform_usage_tracking")
        return [row[0] for row in rows]


def test_two_workers_load_overlapping_files_and_one_content_twice_exactly_once(
    pipeline: Pipeline,
) -> None:
    usage = pipeline.landing / "usage"
    write_usage(usage / "usage_a.csv", range(0, 100_000))
    shutil.copy(usage / "usage_a.csv", usage / "usage_a_again.csv")  # the same content
    write_usage(usage / "usage_b.csv", range(50_000, 150_000))  # half of it overlaps usage_a
    write_usage(usage / "usage_c.csv", range(150_000, 160_000))

    run, events = run_on_workers(ingest_keys("usage"))

    assert run.status == dg.DagsterRunStatus.SUCCESS
    ran = workers_by_step(events)
    loads = {step: worker for step, worker in ran.items() if "ingest_usage_load[" in step}
    assert len(loads) == 4
    assert {worker.split("@")[0] for worker in loads.values()} == {"bcf-worker-1", "bcf-worker-2"}
    # The load steps really overlapped in time: the two workers loaded concurrently.
    windows = sorted(w for step, w in step_windows(events).items() if step in loads)
    assert any(later[0] < earlier[1] for earlier, later in itertools.pairwise(windows))

    ids = usage_ids(pipeline.database)
    assert len(ids) == len(set(ids)) == 160_000  # none twice, none lost
    batches = ledger(pipeline.database)
    completed = [batch for batch in batches if batch[1] == "completed"]
    assert len(completed) == 3  # usage_a's content once, whichever file of it came first
    for _file, _status, rows_in, loaded, quarantined, duplicate in completed:
        assert rows_in == loaded + quarantined + duplicate
    assert sum(batch[3] for batch in completed) == 160_000
    assert sum(batch[5] for batch in completed) == 50_000  # usage_b's overlap with usage_a
