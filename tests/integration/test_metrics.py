"""One definition per metric: MetricFlow, marts.ceo_kpis_monthly (which the CEO report and the
demo summary read) and `bcf metrics query` give the same figures.

On test_dbt_build's dataset with "now" a year later (2026-04-15): sixteen months, the last four
with a 12-month retention cohort. Tenant A (empresa) had 100 in January 2025 and churned in
April 2025; tenant B (trader) had 490.00 then and 550.00 (100 USD at 5.5) since April 2025.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from metricflow.engine.metricflow_engine import MetricFlowEngine, MetricFlowQueryRequest
from metricflow_semantics.model.dbt_manifest_parser import (
    parse_manifest_from_dbt_generated_manifest,
)
from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup
from psycopg.rows import dict_row

from bcf.metric_engine import PsycopgSqlClient
from orchestration.defs.ceo_report.queries import MartReader
from orchestration.demo import read_summary
from orchestration.local import data_dir_environment
from tests.conftest import temporary_database
from tests.integration.test_dbt_build import DATASET, _dbt, _dbt_env

AS_OF = "2026-04-15T12:00:00Z"
MONTHS = 16  # January 2025 to April 2026
LAST_DAY = datetime(2026, 4, 30)


@pytest.fixture(scope="module")
def built(
    postgres_admin_url: str, migrated_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    """The dataset built up to ceo_kpis_monthly and the other marts the demo summary reads,
    and MetricFlow on the same project."""
    folder = tmp_path_factory.mktemp("metrics")
    with temporary_database(postgres_admin_url, "metrics", migrated_template) as url:
        with psycopg.connect(url) as conn:
            conn.execute(DATASET)
        env = {**_dbt_env(url), "BCF_DBT_AS_OF": AS_OF}
        _dbt(
            folder, env, "build", "--exclude", "test_type:data", "--select", "+ceo_kpis_monthly",
            "int_time_spine_daily", "mrr_movements_monthly", "+web_traffic_daily",  # the summary
        )  # fmt: skip
        manifest = (folder / "target" / "semantic_manifest.json").read_text(encoding="utf-8")
        engine = MetricFlowEngine(
            semantic_manifest_lookup=SemanticManifestLookup(
                parse_manifest_from_dbt_generated_manifest(manifest)
            ),
            sql_client=PsycopgSqlClient(url),
        )
        yield url, engine, folder


def _query(engine: MetricFlowEngine, metrics: list[str], group_by: list[str]) -> list[dict]:
    result = engine.query(
        MetricFlowQueryRequest.create(
            metric_names=metrics, group_by_names=group_by, time_constraint_end=LAST_DAY
        )
    )
    assert result.result_df is not None
    names = result.result_df.column_names
    return [dict(zip(names, row, strict=True)) for row in result.result_df.rows]


def _agrees(stored: Any, computed: Any) -> bool:
    """`stored` (a contract column: rounded to its scale, or an integer) is `computed` rounded."""
    if stored is None or computed is None:
        return stored is None and computed is None
    if isinstance(stored, int):
        return Decimal(str(computed)) == stored
    half_unit = Decimal(1).scaleb(stored.as_tuple().exponent) / 2
    return abs(Decimal(str(computed)) - stored) <= half_unit + Decimal("1e-9")


@pytest.mark.timeout(900)
def test_ceo_kpis_monthly_is_what_metricflow_computes_for_every_metric_and_month(
    built: Any,
) -> None:
    url, engine, _ = built
    with MartReader(url) as reader:
        kpis = reader.fetch("kpis")  # what the CEO report reads
    assert len(kpis) == MONTHS
    metrics = [column for column in kpis[0] if column != "month"]
    computed = {
        row["metric_time__month"].date(): row
        for row in _query(engine, metrics, ["metric_time__month"])
    }
    assert sorted(computed) == [row["month"] for row in kpis]
    disagreements = [
        (row["month"], metric, row[metric], computed[row["month"]][metric])
        for row in kpis
        for metric in metrics
        if not _agrees(row[metric], computed[row["month"]][metric])
    ]
    assert disagreements == []

    # Hand-computed: January 2026's cohort is A (100) and B (490): A is gone, B pays 550.
    january = next(row for row in kpis if row["month"] == date(2026, 1, 1))
    assert (january["nrr_12m"], january["grr_12m"]) == (Decimal("0.932203"), Decimal("0.830508"))
    april = next(row for row in kpis if row["month"] == date(2025, 4, 1))
    assert april["ltv"] == Decimal("1950.00")  # 325 / avg(0, 0, 0.5)

    # The demo summary's two months are the same rows.
    summary = read_summary(url)
    assert summary.current is not None
    assert summary.last_full is not None
    for shown in (summary.current, summary.last_full):
        row = next(row for row in kpis if row["month"] == shown.month)
        assert (shown.mrr, shown.nrr_12m, shown.net_revenue) == (
            row["mrr"], row["nrr_12m"], row["net_revenue"],
        )  # fmt: skip


@pytest.mark.timeout(900)
def test_metrics_by_tenant_type_add_up_to_the_months(built: Any) -> None:
    url, engine, _ = built
    with psycopg.connect(url, row_factory=dict_row) as conn:
        kpis = {
            row["month"]: row
            for row in conn.execute(
                "SELECT month, mrr, active_customers FROM marts.ceo_kpis_monthly"
            )
        }
    by_type = _query(
        engine,
        ["mrr", "active_customers", "nrr_12m"],
        ["metric_time__month", "tenant__tenant_type"],
    )
    totals: dict[date, list[Decimal]] = {}
    for row in by_type:
        total = totals.setdefault(row["metric_time__month"].date(), [Decimal(0), Decimal(0)])
        total[0] += Decimal(str(row["mrr"]))
        total[1] += Decimal(str(row["active_customers"]))
    assert totals == {
        month: [row["mrr"], Decimal(row["active_customers"])] for month, row in kpis.items()
    }
    nrr = {
        (row["metric_time__month"].date(), row["tenant__tenant_type"]): row["nrr_12m"]
        for row in by_type
        if row["nrr_12m"] is not None
    }
    assert nrr[date(2026, 1, 1), "empresa"] == 0  # A: 100 then, 0 now
    assert round(Decimal(str(nrr[date(2026, 1, 1), "trader"])), 6) == Decimal("1.122449")  # 550/490


def _bcf_metrics(data_dir: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    bcf = Path(sys.executable).parent / "bcf"
    return subprocess.run(
        [str(bcf), "metrics", *args],
        env={
            **data_dir_environment(data_dir),
            "BCF_DATABASE_URL": database_url,
            "BCF_DBT_AS_OF": AS_OF,
            "BCF_REPORTING_CURRENCY": "BRL",
            "COLUMNS": "80",
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.timeout(900)
def test_bcf_metrics_query_prints_the_figures_and_refuses_unknown_names_in_one_line(
    built: Any, tmp_path: Path
) -> None:
    url, _, _ = built
    done = _bcf_metrics(
        tmp_path, url, "query", "--metrics", "mrr,nrr_12m", "--group-by", "month,tenant_type"
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    header = next(line for line in lines if "tenant_type" in line)
    assert [word for word in header.split() if word.isidentifier()] == [
        "month", "tenant_type", "mrr", "nrr_12m",
    ]  # fmt: skip
    rows = {
        tuple(cell.strip() for cell in line.strip("│ ").split("│")) for line in lines if "│" in line
    }
    assert ("2026-01", "trader", "R$ 550,00", "112,24%") in rows
    assert ("2026-01", "empresa", "R$ 0,00", "0,00%") in rows
    assert ("2025-01", "empresa", "R$ 100,00", "—") in rows

    unknown = _bcf_metrics(tmp_path, url, "query", "--metrics", "mrr,profit")
    assert unknown.returncode == 1
    message = (unknown.stdout + unknown.stderr).strip().splitlines()
    assert len(message) == 1, message
    assert "unknown metric profit" in message[0]
