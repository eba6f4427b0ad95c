"""`bcf demo` end to end, as a new user runs it: no URLs set, so it starts its own PostgreSQL
and Redis in a fresh data folder, migrates, generates a small data set, materializes every
asset and check through Dagster, prints and writes the summary. Then it runs again.

What is checked is what the user relies on: every asset materialized and every check passed
(read from the Dagster instance the UI shows), the summary, the CEO report and its charts,
the DuckDB export agreeing with PostgreSQL, the BI role reading the marts and nothing else,
a second run changing nothing, and the restore drill on the demo's data.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import psycopg
import pytest
from dagster._core.events import DagsterEventType

from core.services import LocalPostgres
from core.settings import Settings
from orchestration.definitions import defs
from orchestration.defs.ceo_report.build import number_format
from orchestration.defs.dbt.resources import DbtResource
from orchestration.defs.operations.checks import (
    DRILL_CHECK,
    backups_spec,
    restore_drill,
    restore_drill_job,
)
from orchestration.local import (
    DAGSTER_DATABASE_VARIABLE,
    dagster_database_url,
    data_dir_environment,
)
from orchestration.resources import PipelineSettings

# The first test's setup runs the whole demo (its command may take up to 1200 s).
pytestmark = pytest.mark.timeout(1500)

# Every tenant, so each source sees activity in its last days (freshness), over a short
# history of 13 months (12-month NRR, every chart of the report has data), little traffic.
# Not less: at 40 tracking events a day, the last day's count swings by a third either way,
# and the data's window moves with the date. The volume check on these arguments' data over
# 28 consecutive end dates: tests/quality/test_volume_over_dates.py.
SMALL = ["--tenants", "20", "--days", "400", "--scale", "400"]
REPORT_TABLES = ("ceo_dashboard_metrics", "financial_reports", "compliance_reports")
CHARTS = (
    "mrr_waterfall", "mrr_arr", "churn_nrr",
    "revenue_by_type", "traffic_by_channel", "usage_by_plan",
)  # fmt: skip


@dataclass(frozen=True)
class DemoRun:
    returncode: int
    stdout: str
    stderr: str


def run_demo(data_dir: Path) -> DemoRun:
    bcf = Path(sys.executable).parent / "bcf"
    done = subprocess.run(
        [str(bcf), "demo", *SMALL],
        env={**data_dir_environment(data_dir), "COLUMNS": "160"},
        capture_output=True,
        text=True,
        timeout=1200,
    )
    return DemoRun(done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    """Outside pytest's basetemp (a concurrent pytest run may prune it); the demo's private
    servers live in it and are stopped at the end."""
    folder = Path(tempfile.mkdtemp(prefix="bcf-test-demo-"))
    try:
        yield folder
    finally:
        bcf = Path(sys.executable).parent / "bcf"
        down = subprocess.run(
            [str(bcf), "services", "down"],
            env=data_dir_environment(folder),
            capture_output=True,
            text=True,
            check=False,
        )
        shutil.rmtree(folder, ignore_errors=True)
        # Said, or a server that would not stop outlives its deleted folder unnoticed.
        assert down.returncode == 0, down.stdout + down.stderr


@pytest.fixture(scope="module")
def first(data_dir: Path) -> DemoRun:
    return run_demo(data_dir)


@pytest.fixture(scope="module")
def database_url(data_dir: Path, first: DemoRun) -> str:
    return LocalPostgres(data_dir).url()


def report_table_rows(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM public.{table}").fetchone()[0]  # type: ignore[index]
            for table in REPORT_TABLES
        }


@pytest.fixture(scope="module")
def instance(data_dir: Path, database_url: str) -> Iterator[dg.DagsterInstance]:
    """The demo's instance: its dagster.yaml, and its runs in the database `dagster` of the
    demo's own server."""
    runs = dagster_database_url(Settings(dagster_database_url=None), database_url)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DAGSTER_DATABASE_VARIABLE, runs)
        with dg.DagsterInstance.from_config(str(data_dir / "dagster")) as opened:
            yield opened


def test_the_demo_succeeds_and_prints_the_summary(first: DemoRun) -> None:
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    for headline in ("MRR", "ARR", "customer churn", "NRR (12 months)", "net revenue"):
        assert headline in first.stdout
    assert "MRR movements" in first.stdout
    assert "Top channels" in first.stdout
    assert "0 failed" in first.stdout
    assert "bcf ui" in first.stdout
    assert "Traceback" not in first.stderr, first.stderr[-3000:]


def test_every_asset_is_materialized_and_every_check_passed(
    instance: dg.DagsterInstance, first: DemoRun
) -> None:
    """Two runs, as the UI shows them: the ingest assets, then everything built from them."""
    runs = instance.get_run_records()
    assert len(runs) == 2
    assert {run.dagster_run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}
    materialized, evaluations = set(), []
    for run in runs:
        records = instance.get_records_for_run(run.dagster_run.run_id, limit=100_000).records
        for record in records:
            event = record.event_log_entry.dagster_event
            if event is None:
                continue
            if event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
                materialized.add(event.asset_key)
            elif event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
                evaluations.append(event.event_specific_data)
    job = defs.resolve_implicit_global_asset_job_def()
    executable = set(job.asset_layer.executable_asset_keys)
    assert materialized == executable
    # Every check of those assets; the operations checks (of the database itself, external
    # assets) run on their own schedules.
    checks = job.asset_layer.asset_graph.asset_check_keys
    assert {(e.asset_key, e.check_name) for e in evaluations} == {  # type: ignore[union-attr]
        (key.asset_key, key.name) for key in checks if key.asset_key in executable
    }
    assert [e.check_name for e in evaluations if not e.passed] == []  # type: ignore[union-attr]


def test_the_summary_file_has_the_numbers_the_terminal_showed(
    data_dir: Path, database_url: str, first: DemoRun
) -> None:
    summary = (data_dir / "demo" / "summary.md").read_text(encoding="utf-8")
    with psycopg.connect(database_url) as conn:
        mrr = conn.execute(
            "SELECT mrr FROM marts.ceo_kpis_monthly ORDER BY month DESC LIMIT 1"
        ).fetchone()[0]  # type: ignore[index]
    assert mrr > 0
    shown = number_format("BRL").money(mrr)  # as the CEO report writes it: R$ 1.234,56
    assert shown in summary
    assert shown in first.stdout
    assert " (so far)" in summary  # the current month is marked as partial
    assert "0 failed" in summary


def test_the_ceo_report_and_its_charts_are_written(data_dir: Path, first: DemoRun) -> None:
    report = data_dir / "reports" / "ceo" / "index.html"
    assert str(report) in first.stdout
    html = report.read_text(encoding="utf-8")
    assert len(html) > 50_000  # the charts are embedded
    assert "MRR" in html
    assert "no data yet" not in html
    for chart in CHARTS:
        png = report.parent / f"{chart}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.stat().st_size > 10_000, chart


def test_the_duckdb_export_answers_with_the_same_mrr_as_postgresql(
    data_dir: Path, database_url: str
) -> None:
    query = "SELECT month, mrr, arr FROM {}ceo_kpis_monthly ORDER BY month"
    with psycopg.connect(database_url) as conn:
        in_postgres = conn.execute(query.format("marts.")).fetchall()
    with duckdb.connect(str(data_dir / "exports" / "bcf_marts.duckdb"), read_only=True) as con:
        in_duckdb = con.execute(query.format("")).fetchall()
    assert in_postgres
    assert in_duckdb == in_postgres


def test_the_bi_role_reads_every_mart_and_nothing_else(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        marts = [
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'"
            ).fetchall()
        ]
        assert len(marts) > 20
        conn.execute("SET ROLE bcf_bi_reader")
        for mart in marts:
            conn.execute(f'SELECT * FROM marts."{mart}" LIMIT 1')
        for forbidden in (
            "public.tenants",
            "public.financial_transactions",
            "raw.ingest_batches",
            "staging.stg_platform__tenants",
            "intermediate.int_sessions",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT 1 FROM {forbidden} LIMIT 1")


def test_a_second_run_changes_nothing(data_dir: Path, database_url: str, first: DemoRun) -> None:
    before = report_table_rows(database_url)
    with psycopg.connect(database_url) as conn:
        loaded = conn.execute("SELECT count(*) FROM raw.ingest_batches").fetchone()[0]  # type: ignore[index]
    again = run_demo(data_dir)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert report_table_rows(database_url) == before
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM raw.ingest_batches").fetchone()[0] == loaded  # type: ignore[index]
    assert "nothing generated" in again.stdout
    assert "nothing new" in again.stdout
    # The log still holds the build the second run reports, and says so.
    log = (data_dir / "demo" / "run.log").read_text(encoding="utf-8")
    assert log.count("=== bcf demo, ") == 2
    assert "Running with dbt=" in log.split("=== bcf demo, ")[1]
    assert "nothing new: the marts, reports and exports of run" in log
    assert again.stdout.split("Dagster run")[1].split("\n")[0].endswith("0 failed")


def test_the_restore_drill_restores_the_demo_and_rebuilds_its_marts(
    data_dir: Path, database_url: str, first: DemoRun
) -> None:
    """The drill of docs/operations.md on the demo's data, through its Dagster check: backed
    up, restored into a new database, every table's count and checksum equal, `dbt build`
    there with every model and test passing, the drill database dropped."""
    definitions = dg.Definitions(
        assets=[backups_spec],
        asset_checks=[restore_drill],
        jobs=[restore_drill_job],
        resources={
            "bcf": PipelineSettings(database_url=database_url, data_dir=str(data_dir)),
            "dbt": DbtResource(threads=2),
        },
    )

    result = definitions.resolve_job_def("restore_drill_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral()
    )

    assert result.success
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == DRILL_CHECK
    metadata = {name: value.value for name, value in evaluation.metadata.items()}
    assert evaluation.passed, metadata
    assert metadata["tables_differing"] == 0
    with psycopg.connect(database_url) as conn:
        demo_rows = conn.execute("SELECT count(*) FROM public.visitor_tracking").fetchone()[0]  # type: ignore[index]
        left = conn.execute(
            "SELECT count(*) FROM pg_database WHERE datname = %s", (metadata["restored_into"],)
        ).fetchone()
    assert demo_rows > 10_000
    assert metadata["dagster/row_count"] > demo_rows
    assert metadata["dbt_failures"] == "none"
    statuses = metadata["dbt_results"]
    assert statuses.get("model success", 0) > 50
    assert statuses.get("test pass", 0) > 100
    assert not {status for status in statuses if status.endswith(("error", "fail"))}
    assert left == (0,), "the drill drops its database"
