"""The same migrations on a real TimescaleDB (2.23 in PGlite, served over the wire protocol)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import text

from core.db import migrate
from core.db.engine import create_db_engine
from core.db.schema import HYPERTABLES
from tests.support.timescaledb import running_timescaledb

pytestmark = pytest.mark.timescaledb


@pytest.fixture
def timescaledb_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("BCF_TIMESCALE_CHUNK_INTERVAL", "1 day")
    monkeypatch.setenv("BCF_TIMESCALE_COMPRESS_AFTER", "14 days")
    monkeypatch.setenv("BCF_RETENTION", '{"audit_logs": "7 years"}')
    with running_timescaledb() as url:
        yield url


def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return [tuple(row) for row in conn.execute(sql).fetchall()]


def test_hypertables_with_policies_from_settings(timescaledb_url: str) -> None:
    migrate.upgrade(timescaledb_url)

    assert _rows(timescaledb_url, "SELECT extname FROM pg_extension WHERE extname = 'timescaledb'")
    hypertables = _rows(
        timescaledb_url,
        "SELECT hypertable_name, compression_enabled FROM timescaledb_information.hypertables",
    )
    assert sorted(hypertables) == sorted((table, True) for table in HYPERTABLES)
    intervals = _rows(
        timescaledb_url,
        # The continuous aggregates' own hypertables (migration 0009) are not in public.
        "SELECT DISTINCT column_name, time_interval::text FROM timescaledb_information.dimensions "
        "WHERE hypertable_schema = 'public'",
    )
    assert intervals == [("created_at", "1 day")]

    policies = {
        (table, proc): config
        for table, proc, config in _rows(
            timescaledb_url,
            "SELECT hypertable_name, proc_name, config FROM timescaledb_information.jobs "
            "WHERE hypertable_name IS NOT NULL",
        )
    }
    for table in HYPERTABLES:
        assert policies[(table, "policy_compression")]["compress_after"] == "14 days"  # type: ignore[index]
    assert policies[("audit_logs", "policy_retention")]["drop_after"] == "7 years"  # type: ignore[index]
    assert policies[("visitor_tracking", "policy_retention")]["drop_after"] == "2 years"  # type: ignore[index]


def test_round_trip_and_no_drift_on_timescaledb(timescaledb_url: str) -> None:
    migrate.upgrade(timescaledb_url)
    migrate.check(timescaledb_url)
    migrate.downgrade(timescaledb_url, "base")
    assert not _rows(timescaledb_url, "SELECT 1 FROM timescaledb_information.hypertables")
    migrate.upgrade(timescaledb_url)
    migrate.check(timescaledb_url)
    assert len(_rows(timescaledb_url, "SELECT 1 FROM timescaledb_information.hypertables")) == 4


def test_rows_land_in_chunks_and_tenants_stay_isolated(timescaledb_url: str) -> None:
    migrate.upgrade(timescaledb_url)
    engine = create_db_engine(timescaledb_url)
    with engine.connect() as conn:
        tenants = [
            conn.execute(
                text(
                    "INSERT INTO tenants (name, slug, type) VALUES (:s, :s, 'trader') RETURNING id"
                ),
                {"s": slug},
            ).scalar_one()
            for slug in ("a", "b")
        ]
        user = conn.execute(
            text("INSERT INTO users (email) VALUES ('x@example.com') RETURNING id")
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO user_behavior_tracking (user_id, tenant_id, action, created_at) "
                "SELECT :u, :t, 'login', now() - g * interval '1 day' FROM generate_series(0, 9) g"
            ),
            {"u": user, "t": tenants[0]},
        )
        for tenant in tenants:
            conn.execute(
                text(
                    "INSERT INTO financial_transactions (tenant_id, user_id, transaction_type, "
                    "amount, status) VALUES (:t, :u, 'payment', 5, 'completed')"
                ),
                {"t": tenant, "u": user},
            )
        conn.commit()
        chunks = conn.execute(
            text("SELECT count(*) FROM show_chunks('public.user_behavior_tracking')")
        ).scalar_one()
        assert chunks >= 10  # one chunk a day, from BCF_TIMESCALE_CHUNK_INTERVAL

        conn.execute(text("SET ROLE bcf_api"))
        conn.execute(text("SELECT set_config('app.tenant_id', :t, false)"), {"t": str(tenants[0])})
        seen = conn.execute(text("SELECT tenant_id FROM financial_transactions")).scalars().all()
        conn.execute(text("RESET ROLE"))
    engine.dispose()
    assert seen == [tenants[0]]
