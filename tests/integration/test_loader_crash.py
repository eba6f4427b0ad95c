"""Kill the loader mid-batch (SIGKILL, in a subprocess), run it again: no row lost or doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from core.settings import Settings
from ingestion.load import load_file
from tests.integration.test_loader import TENANT_A, TENANT_B, USER_1, USER_2, seed_reference

ROWS = 60_000
CHUNK = 5_000
HEADER = (
    "usage_event_id,tenant_id,user_id,resource_type,resource_id,usage_count,usage_value,"
    "period_start,period_end,recorded_at\n"
)
LOADER = """
import sys
from ingestion.load import load_file
from core.settings import Settings

def report(step):
    print("progress", step.records_done, flush=True)

load_file(sys.argv[1], "usage", sys.argv[2], Settings(), chunk_records=int(sys.argv[3]),
          progress=report)
print("done", flush=True)
"""


def _usage_file(path: Path, rows: int) -> Path:
    kinds = ("bots", "api_calls", "storage", "bandwidth")
    with path.open("w") as out:
        out.write(HEADER)
        for i in range(rows):
            tenant, user = ((TENANT_A, USER_1), (TENANT_B, USER_2))[i % 2]
            second = i % 86_400
            at = f"2026-01-05T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}Z"
            value = f"{i % 1000}.{i % 100:02d}"
            out.write(
                f"u-{i:07d},{tenant},{user},{kinds[i % 4]},r-{i % 97},{i % 50},{value},"
                f"2026-01-05T00:00:00Z,2026-01-06T00:00:00Z,{at}\n"
            )
    return path


def _state(url: str) -> tuple[int, int, int, list[tuple[str, int]]]:
    with psycopg.connect(url) as conn:
        rows, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT source_record_id) FROM public.platform_usage_tracking"
        ).fetchone() or (0, 0)
        quarantined = conn.execute("SELECT count(*) FROM raw.quarantine").fetchone() or (0,)
        batches = conn.execute(
            "SELECT status, rows_loaded FROM raw.ingest_batches ORDER BY started_at"
        ).fetchall()
    return rows, distinct, quarantined[0], batches


@pytest.mark.parametrize("kill_after_chunks", [1, 6])
def test_a_killed_load_leaves_nothing_and_the_rerun_loads_everything_once(
    migrated_database_url: str, tmp_path: Path, kill_after_chunks: int
):
    seed_reference(migrated_database_url)
    path = _usage_file(tmp_path / "usage_big.csv", ROWS)
    child = subprocess.Popen(
        [sys.executable, "-c", LOADER, migrated_database_url, str(path), str(CHUNK)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert child.stdout is not None
    seen = 0
    deadline = time.monotonic() + 120
    for line in child.stdout:
        if line.startswith("progress") and int(line.split()[1]) > 0:
            seen += 1
            if seen == kill_after_chunks:
                child.send_signal(signal.SIGKILL)
                break
        assert not line.startswith("done"), "the load finished before it could be killed"
        assert time.monotonic() < deadline
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL

    # The server rolls the killed transaction back: not a row, not even the ledger's.
    assert _state(migrated_database_url) == (0, 0, 0, [])

    result = load_file(migrated_database_url, "usage", path, Settings(), chunk_records=CHUNK)
    assert (result.rows_in, result.rows_loaded, result.rows_duplicate) == (ROWS, ROWS, 0)
    assert _state(migrated_database_url) == (ROWS, ROWS, 0, [("completed", ROWS)])

    again = load_file(migrated_database_url, "usage", path, Settings(), chunk_records=CHUNK)
    assert again.already_loaded
    assert _state(migrated_database_url) == (ROWS, ROWS, 0, [("completed", ROWS)])
