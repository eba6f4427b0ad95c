"""The monitor's TimescaleDB part on the TimescaleDB test server: chunks, compressed chunks,
sizes before and after compression, the compression ratio."""

from __future__ import annotations

import psycopg
import pytest

from core.db import migrate
from core.db.monitor import Thresholds, collect
from tests.support.timescaledb import running_timescaledb

pytestmark = pytest.mark.timescaledb


def test_monitor_reports_chunks_and_compression(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BCF_TIMESCALE_CHUNK_INTERVAL", "1 day")
    with running_timescaledb() as url:
        migrate.upgrade(url)
        with psycopg.connect(url, autocommit=True) as conn:
            tenant = conn.execute(
                "INSERT INTO tenants (name, slug, type) VALUES ('a', 'a', 'trader') RETURNING id"
            ).fetchone()
            assert tenant is not None
            conn.execute(
                "INSERT INTO audit_logs (tenant_id, action, resource, created_at) "
                "SELECT %s, 'update', 'bots', timestamptz '2025-01-01 00:00+00' + g * interval "
                "'1 hour' FROM generate_series(0, 71) AS g",
                (tenant[0],),
            )
            conn.execute("SELECT compress_chunk(c) FROM show_chunks('public.audit_logs') AS c")

        report = collect(url, Thresholds())

    assert report.timescaledb
    audit = next(h for h in report.hypertables if h["table"] == "audit_logs")
    assert audit["chunks"] == 3
    assert audit["compressed_chunks"] == 3
    assert audit["before_bytes"] > 0
    assert audit["after_bytes"] > 0
    assert report.compression_ratio is not None
    assert {h["table"] for h in report.hypertables} >= {"visitor_tracking", "audit_logs"}
