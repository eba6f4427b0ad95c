"""Ingestion on 1 and on 2 Celery workers: the same landing set, wall time, speed-up and CPU
seconds per component (workers, PostgreSQL, Redis, the orchestrating process).

    uv run python -m benchmarks.scale.run                      # 40 files, 2,000,000 events
    uv run python -m benchmarks.scale.run --files 8 --events 200000    # a quick look

Everything runs on private servers in a temporary folder (`LocalPostgres`, `LocalRedis`),
so their CPU time is the benchmark's own. Each worker count loads into a fresh database
cloned from one migrated template, with Dagster storage in a database of its own; the
workers are started (and their code loaded) before the clock starts. The events are
platform-usage events (`usage` source, CSV, 10 columns), written once with fixed dates.
Results: `benchmarks/scale/results.json`, and the table in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from benchmarks.databases import create_database, drop_database
from core.db import migrate
from core.services import LocalPostgres, LocalRedis

RESULTS = Path(__file__).with_name("results.json")


def write_landing(folder: Path, files: int, events: int) -> None:
    from tests.integration.test_celery_ingest import write_usage

    per_file = events // files
    for number in range(files):
        start = number * per_file
        write_usage(folder / "usage" / f"usage_{number:03d}.csv", range(start, start + per_file))


def _cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
        except psutil.Error:
            continue
    return total


def _postgres_pids(postgres: LocalPostgres) -> list[int]:
    root = str(postgres.root)
    return [
        p.pid
        for p in psutil.process_iter(["name", "cmdline"])
        if p.info["name"] and "postgres" in p.info["name"]
        and (root in " ".join(p.info["cmdline"] or []) or _is_child_of_cluster(p, root))
    ]  # fmt: skip


def _is_child_of_cluster(process: psutil.Process, root: str) -> bool:
    try:
        parent = process.parent()
        return parent is not None and root in " ".join(parent.cmdline())
    except psutil.Error:
        return False


def measure(
    workers: int, landing: Path, admin: str, template: str, redis_url: str, folder: Path,
    postgres: LocalPostgres, redis_pid: int,
) -> dict[str, Any]:  # fmt: skip
    import dagster as dg

    from core.settings import Settings
    from orchestration.local import pipeline_environment
    from orchestration.workers import LocalWorkers, worker_environment
    from tests.integration.test_loader import seed_reference

    name = f"bench_scale_{workers}"
    database = create_database(admin, name, template=template)
    storage = create_database(admin, f"{name}_dagster")
    seed_reference(database)
    os.environ.update(
        {
            "BCF_ENV_FILE": "",
            "BCF_DATA_DIR": str(folder / f"data-{workers}"),
            "BCF_LANDING_DIR": str(landing),
            "BCF_DATABASE_URL": database,
            "BCF_REDIS_URL": redis_url,
            "BCF_DAGSTER_DATABASE_URL": storage,
        }
    )
    settings = Settings()
    environment = pipeline_environment(settings, database, redis_url)
    os.environ.update(environment)
    local = LocalWorkers(settings.data_dir)
    local.start(workers, ("ingest", "dbt", "reports"), worker_environment(environment, redis_url))
    try:
        from orchestration.celery_definitions import celery_asset_job
        from tests.integration.test_celery_ingest import ingest_keys

        worker_pids = [s.pid for s in local.status() if s.pid is not None]
        postgres_pids = _postgres_pids(postgres)
        before = {
            "workers": _cpu(worker_pids),
            "postgresql": _cpu(postgres_pids),
            "redis": _cpu([redis_pid]),
            "orchestrator": _cpu([os.getpid()]),
        }
        load_before = os.getloadavg()
        started = time.perf_counter()
        with dg.DagsterInstance.get() as instance:
            result = dg.execute_job(
                celery_asset_job(), instance, asset_selection=ingest_keys("usage")
            )
        wall = time.perf_counter() - started
        # Backends that ended during the run are counted by their parent (children_*).
        after = {
            "workers": _cpu(worker_pids),
            "postgresql": _cpu(postgres_pids),
            "redis": _cpu([redis_pid]),
            "orchestrator": _cpu([os.getpid()]),
        }
        with __import__("psycopg").connect(database) as conn:
            rows = conn.execute("SELECT count(*) FROM public.platform_usage_tracking").fetchone()
    finally:
        local.stop()
        drop_database(admin, name)
        drop_database(admin, f"{name}_dagster")
    return {
        "workers": workers,
        "success": result.success,
        "rows": rows[0] if rows else 0,
        "wall_s": round(wall, 2),
        "rows_per_s": round((rows[0] if rows else 0) / wall),
        "cpu_s": {k: round(after[k] - before[k], 2) for k in before},
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bcf-bench-scale-"))
    postgres = LocalPostgres(folder, os_user=os.environ.get("BCF_SERVICES_OS_USER", "bcf"))
    redis = LocalRedis(folder)
    try:
        postgres.start()
        redis.start()
        admin = postgres.url("postgres")
        template = "bench_scale_template"
        migrate.upgrade(create_database(admin, template))
        landing = folder / "landing"
        write_landing(landing, arguments.files, arguments.events)
        redis_pid = int((redis.root / "redis.pid").read_text())
        runs = [
            measure(n, landing, admin, template, redis.url(), folder, postgres, redis_pid)
            for n in (1, 2)
        ]
        speed_up = runs[0]["wall_s"] / runs[1]["wall_s"]
        per_worker = runs[0]["rows_per_s"]
        report = {
            "files": arguments.files,
            "events": arguments.events,
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
            },
            "runs": runs,
            "speed_up_2_vs_1": round(speed_up, 2),
            "rows_per_s_one_worker": per_worker,
        }
        arguments.output.write_text(json.dumps(report, indent=2) + "\n")
        print(json.dumps(report, indent=2))
    finally:
        redis.stop()
        postgres.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
