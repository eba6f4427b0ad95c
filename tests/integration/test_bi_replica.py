"""`bcf services up --replica` and `bcf bi-credentials --replica`, as a person runs them: a
streaming replica of the private cluster that serves the marts to BI, refuses writes, and
whose lag the monitor reports."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from core.db.monitor import Thresholds, collect
from tests.integration.test_timescaledb_rollups import EVENTS

BCF = str(Path(sys.executable).parent / "bcf")


def bcf(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BCF_", "DBT_"))}
    env.update(BCF_DATA_DIR=str(data_dir), BCF_DBT_ROLE="bcf_pipeline", BCF_DBT_THREADS="2")
    done = subprocess.run(
        [BCF, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"bcf {' '.join(args)}: {done.stdout[-3000:]} {done.stderr}"
    return done


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "bcf-data"
    yield folder
    subprocess.run(
        [BCF, "services", "down", "--delete"],
        env={**os.environ, "BCF_DATA_DIR": str(folder)},
        capture_output=True,
        check=False,
        timeout=120,
    )


def _url(status_output: str, service: str) -> str:
    line = next(line for line in status_output.splitlines() if line.startswith(service))
    return next(word for word in line.split() if word.startswith("postgresql://"))


def _rows(url: str, query: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def _caught_up(primary: str, replica: str, timeout_s: float = 30) -> None:
    (target,) = _rows(primary, "SELECT pg_current_wal_lsn()::text")[0]
    deadline = time.monotonic() + timeout_s
    while True:
        (replayed,) = _rows(replica, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")[0]
        if replayed:
            return
        assert time.monotonic() < deadline, "the replica did not catch up"
        time.sleep(0.2)


@pytest.mark.timeout(600)
def test_bi_reads_the_marts_on_the_replica_which_refuses_writes_and_reports_lag(
    data_dir: Path,
) -> None:
    up = bcf(data_dir, "services", "up", "--replica")
    assert "PostgreSQL replica running on 127.0.0.1:" in up.stdout
    status = bcf(data_dir, "services", "status").stdout
    primary, replica = _url(status, "postgresql"), _url(status, "replica")
    bcf(data_dir, "db", "upgrade")
    with psycopg.connect(primary) as conn:
        conn.execute(EVENTS)
    bcf(data_dir, "dbt", "build", "--select", "stg_usage__usage_events", "usage_platform_daily")

    credentials = bcf(data_dir, "bi-credentials", "--replica").stdout
    bi_url = next(
        line.split("'")[1] for line in credentials.splitlines() if line.startswith("psql:")
    )
    assert bi_url.endswith(f":{replica.rsplit(':', 1)[1].split('/')[0]}/bcf")
    _caught_up(primary, replica)

    mart = "SELECT * FROM marts.usage_platform_daily AS t ORDER BY t::text"
    on_replica = _rows(bi_url, mart)
    assert on_replica == _rows(primary, mart)
    assert len(on_replica) == 3  # api_calls on 14 Apr, storage on 15 Apr, bots on 10 Apr
    for url in (bi_url, replica):  # the BI login, and even a superuser: read-only for all
        with psycopg.connect(url) as conn, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("CREATE TABLE marts.scribble (x int)")

    on_primary = collect(primary, Thresholds())
    (standby,) = on_primary.replicas
    assert standby["application_name"] == "bcf_bi_replica"
    assert standby["state"] == "streaming"
    assert on_primary.replica_lag_seconds is not None
    on_standby = collect(replica, Thresholds())
    assert on_standby.in_recovery
    assert on_standby.standby_lag_seconds is not None
    monitor = bcf(data_dir, "db", "monitor").stdout
    assert "(1 replicas)" in monitor
    assert "replica lag" in monitor


def test_replica_credentials_need_the_private_replica(
    migrated_database_url: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BCF_")}
    env.update(BCF_DATA_DIR=str(tmp_path), BCF_DATABASE_URL=migrated_database_url)

    done = subprocess.run(
        [BCF, "bi-credentials", "--replica"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: --replica is the replica of the private cluster")
    with psycopg.connect(migrated_database_url) as conn:
        assert conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'bcf_bi'").fetchone() is None
