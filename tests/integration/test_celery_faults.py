"""Faults on real Celery workers: a worker SIGKILLed in the middle of an ingest step (the step
goes to the other worker, nothing lost or loaded twice), a worker on other code (it hands
the steps back; they run only on a worker of the run's code), and the broker restarted
mid-run (the run completes, or fails and its retry from the failure loads the rest)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import redis

from core.services import LocalRedis
from orchestration.celery_definitions import celery_asset_job
from orchestration.executor import CODE_FOLDERS
from orchestration.workers import worker_environment
from tests.integration.test_celery_ingest import (
    Pipeline,
    celery_pipeline,
    ingest_keys,
    ledger,
    usage_ids,
    workers_by_step,
    write_usage,
)

ROOT = Path(__file__).resolve().parents[2]
RUN_SECONDS = 900
# A killed worker's step returns to the queue after this long (the Redis visibility timeout).
VISIBILITY_SECONDS = 20


class BackgroundRun:
    """The usage ingest on the workers, in a thread, so the test can act while it runs."""

    def __init__(self) -> None:
        ingest_keys("usage")  # the code loaded here first: the run starts at once
        self.result: dg.ExecuteJobResult | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        with dg.DagsterInstance.get() as instance:
            self.result = dg.execute_job(
                celery_asset_job(), instance, asset_selection=ingest_keys("usage")
            )

    def finish(self) -> dg.ExecuteJobResult:
        self.thread.join(RUN_SECONDS)
        assert self.result is not None, "the run did not end"
        return self.result


def events_of(run_id: str) -> list[dg.EventLogEntry]:
    with dg.DagsterInstance.get() as instance:
        return [r.event_log_entry for r in instance.get_records_for_run(run_id).records]


def wait_for_load_step(file_stem: str = "", seconds: float = 600) -> tuple[str, str]:
    """(step, worker) of the first load step of a file named like `file_stem` (any file by
    default) that a worker started, once it started it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with dg.DagsterInstance.get() as instance:
            runs = instance.get_run_ids(limit=1)
        if runs:
            for step, worker in workers_by_step(events_of(runs[0])).items():
                if "ingest_usage_load[" in step and file_stem in step:
                    return step, worker
        time.sleep(0.2)
    pytest.fail(f"no load step of {file_stem or 'a file'} started")


@pytest.fixture
def slow_failover(
    tmp_path: Path,
    migrated_database_url: str,
    postgres_admin_url: str,
    redis_server_url: str,
    redis_client: object,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Pipeline]:
    with celery_pipeline(
        tmp_path,
        migrated_database_url,
        postgres_admin_url,
        redis_server_url,
        monkeypatch,
        celery_visibility_timeout_seconds=str(VISIBILITY_SECONDS),
    ) as pipeline:
        yield pipeline


def test_a_worker_killed_mid_step_leaves_the_step_to_another_and_nothing_is_lost(
    slow_failover: Pipeline,
) -> None:
    usage = slow_failover.landing / "usage"
    write_usage(usage / "usage_big.csv", range(0, 300_000))  # a step of several seconds
    write_usage(usage / "usage_small.csv", range(300_000, 310_000))

    run = BackgroundRun()
    # The big file's step: the small one may be over before the kill lands.
    step, worker = wait_for_load_step("usage_big")
    time.sleep(1.0)  # inside the step: parsing and COPY
    name = worker.split("@")[0]
    (killed,) = [s for s in slow_failover.workers.status() if s.name == name]
    assert killed.pid is not None
    os.kill(killed.pid, signal.SIGKILL)
    result = run.finish()

    assert result.success
    executions = [
        e for e in events_of(result.run_id)
        if e.step_key == step and "in celery worker" in e.message
    ]  # fmt: skip
    assert len(executions) == 2  # the killed attempt, then the other worker's
    ids = usage_ids(slow_failover.database)
    assert len(ids) == len(set(ids)) == 310_000
    completed = [batch for batch in ledger(slow_failover.database) if batch[1] == "completed"]
    assert len(completed) == 2
    for _file, _status, rows_in, loaded, quarantined, duplicate in completed:
        assert rows_in == loaded + quarantined + duplicate


@pytest.fixture
def no_workers(
    tmp_path: Path,
    migrated_database_url: str,
    postgres_admin_url: str,
    redis_server_url: str,
    redis_client: object,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Pipeline]:
    with celery_pipeline(
        tmp_path,
        migrated_database_url,
        postgres_admin_url,
        redis_server_url,
        monkeypatch,
        workers=0,
    ) as pipeline:
        yield pipeline


def other_checkout(folder: Path) -> Path:
    """A copy of the code with one line changed: another code version."""
    for name in CODE_FOLDERS:
        shutil.copytree(
            ROOT / name,
            folder / name,
            ignore=shutil.ignore_patterns("target", "logs", "__pycache__"),
        )
    for name in ("uv.lock", "pyproject.toml", "workspace.yaml"):
        shutil.copy(ROOT / name, folder / name)
    with (folder / "ingestion" / "__init__.py").open("a") as changed:
        changed.write("# another release\n")
    return folder


def test_a_worker_on_other_code_is_refused_the_runs_steps(
    no_workers: Pipeline, tmp_path: Path
) -> None:
    checkout = other_checkout(tmp_path / "old-checkout")
    log = tmp_path / "stale-worker.log"
    environment = worker_environment(dict(os.environ), os.environ["BCF_REDIS_URL"])
    environment["PYTHONPATH"] = str(checkout)
    with log.open("wb") as output:
        stale = subprocess.Popen(
            [sys.executable, "-m", "orchestration.celery_worker", "--name", "bcf-worker-stale"],
            cwd=checkout, env=environment, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while "ready." not in log.read_text(errors="replace"):
            assert stale.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, "the stale worker did not start"
            time.sleep(0.5)
        write_usage(no_workers.landing / "usage" / "usage_a.csv", range(0, 1_000))
        run = BackgroundRun()
        deadline = time.monotonic() + 180  # the stale worker takes the first step, hands it back
        while "refused a step" not in log.read_text(errors="replace"):
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-2000:]
            time.sleep(1)
        assert usage_ids(no_workers.database) == []
        no_workers.workers.start(1, ("ingest", "dbt", "reports"), environment_of_checkout())
        result = run.finish()
    finally:
        stale.send_signal(signal.SIGTERM)
        stale.wait(60)

    assert result.success
    ran = workers_by_step(events_of(result.run_id))
    assert {worker.split("@")[0] for worker in ran.values()} == {"bcf-worker-1"}
    assert len(usage_ids(no_workers.database)) == 1_000


def environment_of_checkout() -> dict[str, str]:
    return worker_environment(dict(os.environ), os.environ["BCF_REDIS_URL"])


@pytest.fixture
def own_broker(
    tmp_path: Path,
    migrated_database_url: str,
    postgres_admin_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Pipeline, LocalRedis]]:
    """Workers on a Redis of the test's own, which the test restarts."""
    broker = LocalRedis(tmp_path / "broker")
    broker.start()
    try:
        with celery_pipeline(
            tmp_path, migrated_database_url, postgres_admin_url, broker.url(), monkeypatch,
            celery_visibility_timeout_seconds=str(VISIBILITY_SECONDS),
        ) as pipeline:  # fmt: skip
            yield pipeline, broker
    finally:
        broker.stop()


def restart_on_its_port(broker: LocalRedis) -> None:
    """Stop the broker and start it again on the same port with the same append-only file
    (`LocalRedis.start` would move to another port while the old one is in TIME_WAIT)."""
    port = broker.port
    binary = broker.binary()
    assert port is not None
    assert binary is not None
    broker.stop()
    time.sleep(3)
    subprocess.run(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--daemonize", "yes",
         "--pidfile", str(broker.pid_file), "--dir", str(broker.root), "--appendonly", "yes",
         "--save", "", "--logfile", str(broker.root / "redis.log")],
        check=True,
    )  # fmt: skip
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 30
    while True:
        try:
            client.ping()
            return
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "the broker did not come back"
            time.sleep(0.1)


def test_a_broker_restarted_mid_run_ends_the_run_cleanly_and_a_retry_loads_the_rest(
    own_broker: tuple[Pipeline, LocalRedis],
) -> None:
    pipeline, broker = own_broker
    usage = pipeline.landing / "usage"
    for number in range(6):
        write_usage(usage / f"usage_{number}.csv", range(number * 50_000, (number + 1) * 50_000))

    run = BackgroundRun()
    wait_for_load_step()
    restart_on_its_port(broker)
    first = run.finish()

    final = first
    if not first.success:  # a clean failure: retried from where it failed
        with dg.DagsterInstance.get() as instance:
            final = dg.execute_job(
                celery_asset_job(),
                instance,
                reexecution_options=dg.ReexecutionOptions.from_failure(first.run_id, instance),
            )
    assert final.success
    ids = usage_ids(pipeline.database)
    assert len(ids) == len(set(ids)) == 300_000
    completed = [batch for batch in ledger(pipeline.database) if batch[1] == "completed"]
    assert len(completed) == 6
    for _file, _status, rows_in, loaded, quarantined, duplicate in completed:
        assert rows_in == loaded + quarantined + duplicate
