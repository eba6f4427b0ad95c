"""The database monitor on a real PostgreSQL (the tests' private cluster preloads
pg_stat_statements, as `bcf services` does): `collect`, its thresholds, the Dagster checks,
the HTML page and `bcf db monitor`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from core.db.monitor import MonitorReport, Thresholds, collect, evaluate
from orchestration.defs.operations.monitor import (
    DATABASE_KEY,
    database_monitor,
    database_monitor_job,
    database_spec,
)
from orchestration.resources import PipelineSettings
from tests.integration.test_dbt_build import DATASET, T_A, U_A, U_C

BCF = str(Path(sys.executable).parent / "bcf")
MEMBERS = f"""
INSERT INTO tenant_members (tenant_id, user_id, role) VALUES
    ('{T_A}', '{U_A}', 'owner'), ('{T_A}', '{U_C}', 'member');
"""


def _with_dead_rows(url: str) -> None:
    """A 2,000-row table with 1,000 rows deleted: half of it dead until vacuumed."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE public.churny (id int) WITH (autovacuum_enabled = false);"
            "INSERT INTO public.churny SELECT generate_series(1, 2000);"
            "DELETE FROM public.churny WHERE id <= 1000;"
        )


def _report_seeing_dead_rows(url: str, thresholds: Thresholds) -> MonitorReport:
    """Statistics reach the cumulative views asynchronously: wait (at most 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        report = collect(url, thresholds, limit=200)  # every statement, not only the top 15
        if any(t["table"] == "churny" for t in report.dead_tuples) or time.monotonic() > deadline:
            return report
        time.sleep(0.5)


@pytest.fixture
def busy_database(migrated_database_url: str) -> str:
    with psycopg.connect(migrated_database_url) as conn:
        conn.execute(DATASET)
        conn.execute(MEMBERS)
        conn.execute("ANALYZE")
        conn.execute("SELECT count(*) FROM public.visitor_tracking WHERE country = 'BR'")
    _with_dead_rows(migrated_database_url)
    return migrated_database_url


def test_collect_reports_the_design_queries_statements_sizes_and_dead_tuples(
    busy_database: str,
) -> None:
    report = _report_seeing_dead_rows(
        busy_database, Thresholds(dead_tuple_ratio=0.2, large_table_rows=1000)
    )

    usage = {row["tenant_name"]: row for row in report.tenant_usage}
    # Two members and five transactions: joined in one pass they would count ten.
    assert usage["Acme"] == {
        "tenant_name": "Acme", "user_count": 2, "transaction_count": 5,
        "total_revenue": "BRL 500.00",
    }  # fmt: skip
    # Every transaction's amount, as the design sums them: 1200 + 10 + the dispute's 10
    # withdrawn and 10 reinstated.
    assert usage["Bravo"]["total_revenue"] == "USD 1230.00"
    assert report.column_stats, "the design's pg_stats query returns rows after ANALYZE"
    assert {row["schemaname"] for row in report.column_stats} == {"public"}
    assert report.statements_note == ""
    assert any("visitor_tracking" in str(s["query"]) for s in report.top_statements)
    assert any(t["table"] == "tenants" for t in report.table_sizes)
    assert report.cache["ratio"] is not None
    assert report.connections["connections"] >= 1
    assert report.replicas == []
    assert report.replica_lag_seconds is None
    assert report.timescaledb is None
    assert report.hypertables == []
    (dead,) = report.findings_of("dead_tuples")
    assert dead.message.startswith("public.churny: 50% of 2,000 rows are dead")
    # The same table under the default "large" (10,000 rows) is not worth a warning.
    assert not [f for f in evaluate(report, Thresholds()) if f.check == "dead_tuples"]


def test_thresholds_warn_on_cache_connections_and_replica_lag() -> None:
    report = MonitorReport(
        collected_at="2026-12-07T00:00:00+00:00", database="bcf", server_version="15",
        in_recovery=False, timescaledb=None, statements_note="",
        cache={"ratio": 0.9}, connections={"connections": 90, "max_connections": 100},
        replicas=[{"replay_lag_seconds": 75.0}],
    )  # fmt: skip

    findings = evaluate(report, Thresholds())

    assert [f.check for f in findings] == ["cache_hit_ratio", "connections", "replica_lag"]
    assert findings[0].message.startswith("cache hit ratio 90.0% is under 95%")
    assert findings[1].message.startswith("90 of 100 connections in use")
    assert findings[2].message == "replica lag 75 s is over 60 s"
    relaxed = Thresholds(cache_hit_min=0.8, connections_max_ratio=0.95, replica_lag_max_seconds=90)
    assert evaluate(report, relaxed) == []


def test_monitor_checks_warn_observe_and_write_the_page(
    busy_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BCF_MONITOR_LARGE_TABLE_ROWS", "1000")
    _report_seeing_dead_rows(busy_database, Thresholds())
    definitions = dg.Definitions(
        assets=[database_spec],
        asset_checks=[database_monitor],
        jobs=[database_monitor_job],
        resources={"bcf": PipelineSettings(database_url=busy_database, data_dir=str(tmp_path))},
    )

    result = definitions.resolve_job_def("database_monitor_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral()
    )

    assert result.success  # WARN checks fail without failing the run
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(evaluations) == {"dead_tuples", "cache_hit_ratio", "connections", "replica_lag"}
    assert not evaluations["dead_tuples"].passed
    assert evaluations["dead_tuples"].severity == dg.AssetCheckSeverity.WARN
    assert evaluations["connections"].passed
    assert evaluations["replica_lag"].passed
    (observation,) = [
        event.asset_observation_data.asset_observation
        for event in result.all_events
        if event.event_type_value == "ASSET_OBSERVATION"
    ]
    assert observation.asset_key == DATABASE_KEY
    # Which statements make the top 15 depends on the monitor's own queries; the table is there.
    assert observation.metadata["top_statements"].value.startswith("| query | calls |")
    page = tmp_path / "reports" / "monitor" / "index.html"
    assert observation.metadata["page"].value == str(page)
    text = page.read_text()
    assert "<svg" in text
    assert "public.churny: 50% of 2,000 rows are dead" in text


def test_bcf_db_monitor_prints_and_writes_the_page(busy_database: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BCF_")}
    env.update(BCF_DATA_DIR=str(tmp_path), BCF_DATABASE_URL=busy_database)

    done = subprocess.run(
        [BCF, "db", "monitor"], env=env, capture_output=True, text=True, timeout=120, check=False
    )

    assert done.returncode == 0, done.stderr
    assert "cache hit ratio" in done.stdout
    assert "Top statements" in done.stdout
    assert (tmp_path / "reports" / "monitor" / "index.html").exists()
