"""Ingestion + dbt + reports in-process against a real PostgreSQL, and the report builders.

The module materializes once (the ingest assets on the landing fixtures, the dbt models, the
report assets) into a database of its own and the tests read it; the test that runs the
pipeline a second time (ingestion, the models downstream of the ledger, the reports) only
writes what the first run wrote again, which is what it checks.

The landing fixtures, as far as the reports see them (reporting time zone
America/Sao_Paulo, currency BRL, "now" fixed at 2026-11-26 12:00 UTC):
- payments (tests/fixtures/landing/payments/build_fixtures.py): five tenants in 2025 Q1;
  tenant D pays its legacy `basic` plan, 49.90 BRL, on 2025-01-08 and on 2025-02-08: net
  revenue 49.90 in each month. The FX fixtures only cover January 2026, so the USD, EUR and
  JPY payments of 2025 cannot be converted: they are flagged, never summed.
- trading fills and paid trading resources in January 2026 (tenants A and B), audit events
  of 5 Jan 2026, expenses and FX rates of January 2026, usage, behaviour and tracking events.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
import pytest

from core.db.schema import SYSTEM_USER_ID
from orchestration.defs.dbt.assets import DBT_OP_NAME, build_dbt_assets
from orchestration.defs.dbt.project import prepare_manifest, target_dir
from orchestration.defs.dbt.resources import DbtResource
from orchestration.defs.dbt.sensors import TEST_WINDOW_DAYS, TEST_WINDOW_TAG
from orchestration.defs.ingest.assets import ingest_assets
from orchestration.defs.reports import build
from orchestration.defs.reports.assets import report_assets
from orchestration.resources import PipelineSettings
from tests.conftest import temporary_database
from tests.integration.test_loader import FIXTURES, seed_reference
from tests.support.payments_reference import insert_payments_reference
from tests.unit.test_payments_source import TENANTS, USERS

USERS_BY_LETTER = {"A1": next(iter(USERS))}

KEY = "test-reports-pseudonymisation-key"
AS_OF = "2026-11-26T12:00:00Z"
TZ = "America/Sao_Paulo"
REPORT_TABLES = ("ceo_dashboard_metrics", "financial_reports", "compliance_reports")


def _latest_dbt_nodes(resources: dict[str, Any]) -> set[str]:
    """The nodes of the newest dbt build, from its run_results.json."""
    folders = target_dir(resources["bcf"].settings()).glob(f"{DBT_OP_NAME}-*/run_results.json")
    latest = max(folders, key=lambda path: path.stat().st_mtime)
    return {node["unique_id"] for node in json.loads(latest.read_text())["results"]}


def _seed(url: str) -> None:
    """The reference rows every landing fixture points at (tenants, users, plans)."""
    seed_reference(url)  # tenants A and B, the non-payment fixtures' users
    insert_payments_reference(url, tenant_letters=("C", "D", "E"))


def _landing(folder: Path) -> Path:
    """The good landing fixtures of every source (the rejected ones are the loader's tests)."""
    shutil.copytree(
        FIXTURES,
        folder,
        ignore=shutil.ignore_patterns(
            "rejected", "bad_events.jsonl", "*.py", "README.md", "__pycache__"
        ),
    )
    return folder


@pytest.fixture(scope="module")
def database(postgres_admin_url: str, migrated_template: str) -> Iterator[str]:
    """A database of this module's own, cloned from the migrated template."""
    with temporary_database(
        postgres_admin_url, "bcf_test_reports", template=migrated_template
    ) as url:
        yield url


@pytest.fixture(scope="module")
def monkeymodule() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BCF_PSEUDONYMISATION_KEY", KEY)
        patch.setenv("BCF_REPORTING_TZ", TZ)
        patch.setenv("BCF_REPORTING_CURRENCY", "BRL")
        yield patch


@pytest.fixture(scope="module")
def resources(
    database: str, tmp_path_factory: pytest.TempPathFactory, monkeymodule: pytest.MonkeyPatch
) -> dict[str, Any]:
    _seed(database)
    data = tmp_path_factory.mktemp("data")
    bcf = PipelineSettings(
        database_url=database, data_dir=str(data), landing_dir=str(_landing(data / "landing"))
    )
    return {"bcf": bcf, "dbt": DbtResource(as_of=AS_OF, role="bcf_pipeline")}


@pytest.fixture(scope="module")
def assets(resources: dict[str, Any]) -> list[dg.AssetsDefinition]:
    """The definitions as a deployment with these settings loads them (manifest included)."""
    dbt: DbtResource = resources["dbt"]
    project = prepare_manifest(resources["bcf"].settings(), as_of=dbt.as_of, role=dbt.role)
    return [*ingest_assets(), build_dbt_assets(project), *report_assets()]


@pytest.fixture(scope="module")
def first_run(
    assets: list[dg.AssetsDefinition], resources: dict[str, Any]
) -> dg.ExecuteInProcessResult:
    """Ingestion, every dbt model (tests as checks) and the reports, in one in-process run."""
    return dg.materialize(assets, resources=resources, raise_on_error=False)


def _rows(url: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def _one(url: str, sql: str, *params: object) -> Any:
    [(value,)] = _rows(url, sql, *params)
    return value


def _pipeline_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the pipeline wrote into the report tables, by natural key, without ids."""
    return {
        "ceo_dashboard_metrics": _rows(
            url,
            "SELECT metric_name, period_start, period_end, metric_value, metric_type, metadata "
            "FROM ceo_dashboard_metrics WHERE metadata->>'source' = 'marts.ceo_kpis_monthly' "
            "ORDER BY 1, 2",
        ),
        "financial_reports": _rows(
            url,
            "SELECT tenant_id, report_type, period_start, period_end, data, status, "
            "generated_by FROM financial_reports WHERE generated_by = %s ORDER BY 1, 2, 3",
            SYSTEM_USER_ID,
        ),
        "compliance_reports": _rows(
            url,
            "SELECT report_type, period_start, period_end, data, status, generated_by "
            "FROM compliance_reports WHERE generated_by = %s ORDER BY 1, 2",
            SYSTEM_USER_ID,
        ),
    }


def _sao_paulo_month(year: int, month: int) -> tuple[datetime, datetime]:
    period = build.month_period(date(year, month, 1), TZ)
    return period.start, period.end


def test_one_run_materializes_ingestion_dbt_and_reports(
    first_run: dg.ExecuteInProcessResult, database: str
) -> None:
    assert first_run.success
    materialized = {
        e.asset_key.to_user_string()
        for e in first_run.get_asset_materialization_events()
        if e.asset_key is not None
    }
    expected = {"public/financial_transactions", "raw/fx_rates", "marts/revenue_daily"}
    assert expected | {f"public/{t}" for t in REPORT_TABLES} <= materialized

    # dbt tests came back as asset checks; none of error severity failed (the unconverted
    # 2025 USD/EUR/JPY money fails warn-severity checks, by design).
    checks = first_run.get_asset_check_evaluations()
    assert len(checks) > 400
    assert not [c for c in checks if not c.passed and c.severity == dg.AssetCheckSeverity.ERROR]
    reconciled = next(
        c for c in checks if c.check_name == "assert_revenue_daily_reconciles_to_ledger"
    )
    assert reconciled.passed

    # Row counts and column schemas, as built.
    [revenue] = [
        e.materialization
        for e in first_run.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey(["marts", "revenue_daily"])
    ]
    assert revenue.metadata["dagster/row_count"].value == _one(
        database, "SELECT count(*) FROM marts.revenue_daily"
    )
    schema = revenue.metadata["dagster/column_schema"]
    assert isinstance(schema, dg.TableSchemaMetadataValue)
    columns = [c.name for c in schema.value.columns]
    assert columns[:3] == ["day", "tenant_id", "revenue_type"]
    # ... and the latest rows as a preview, newest day first.
    preview = str(revenue.metadata["preview"].value)
    assert "| day | tenant_id | revenue_type |" in preview
    latest_day = _one(database, "SELECT max(day) FROM marts.revenue_daily")
    assert preview.split("|---|")[-1].split("\n")[1].startswith(f"| {latest_day} |")

    [ceo] = first_run.asset_materializations_for_node("public__ceo_dashboard_metrics")
    assert ceo.metadata["rows_written"].value == _one(
        database, "SELECT count(*) FROM ceo_dashboard_metrics"
    )
    assert ceo.metadata["rows_replaced"].value == 0
    assert "| metric | type | value | unit |" in str(ceo.metadata["preview"].value)
    report_checks = [c for c in checks if c.check_name == "one_row_per_key"]
    assert len(report_checks) == 3
    assert all(c.passed for c in report_checks)


def test_net_revenue_of_march_2025_to_the_cent_from_the_ledger(
    first_run: dg.ExecuteInProcessResult, database: str
) -> None:
    """The fixture's BRL ledger in March 2025 (São Paulo): tenant E's one-off PIX 25.00 on
    2 Mar, tenant A's pro-quarterly 539.70 on 5 Mar and its partial refund of 100.00 on
    12 Mar: 25.00 + 539.70 - 100.00 = 464.70. The other currencies have no FX rate in 2025."""
    start, end = _sao_paulo_month(2025, 3)
    assert _one(
        database,
        "SELECT sum(CASE transaction_type WHEN 'payment' THEN amount ELSE -amount END) "
        "FROM financial_transactions WHERE status = 'completed' AND currency = 'BRL' "
        "AND processed_at >= %s AND processed_at < %s",
        start, end,
    ) == Decimal("464.70")  # fmt: skip
    assert _one(
        database, "SELECT net_revenue FROM marts.ceo_kpis_monthly WHERE month = '2025-03-01'"
    ) == Decimal("464.70")
    assert _one(
        database,
        "SELECT metric_value FROM ceo_dashboard_metrics WHERE metric_name = 'net_revenue' "
        "AND period_start = %s AND period_end = %s",
        start, end,
    ) == Decimal("464.70")  # fmt: skip
    revenue = dict(
        _rows(
            database,
            "SELECT tenant_id::text, data FROM financial_reports "
            "WHERE report_type = 'revenue' AND period_start = %s",
            start,
        )
    )
    assert sum(Decimal(str(r["net"])) for r in revenue.values()) == Decimal("464.70")
    acme = revenue[TENANTS["A"]]
    assert acme["lines"] == {
        "subscription": {"gross": 539.7, "refunds": 100.0, "chargebacks": 0.0, "net": 439.7,
                         "transactions": 2},
    }  # fmt: skip
    assert (acme["net"], acme["mrr_movement"], acme["complete"]) == (439.7, "contraction", True)
    assert revenue[TENANTS["E"]]["lines"]["other"]["net"] == 25.0
    # Exact numbers in the JSON: PostgreSQL reads them back as numeric to the cent.
    assert _one(
        database,
        "SELECT (data->>'net_revenue')::numeric FROM financial_reports WHERE tenant_id = %s "
        "AND report_type = 'profit_loss' AND period_start = %s",
        TENANTS["A"], start,
    ) == Decimal("439.70")  # fmt: skip


def test_financial_reports_per_tenant_and_month(
    first_run: dg.ExecuteInProcessResult, database: str
) -> None:
    # Tenant D: its legacy plan, 49.90 BRL on 8 Jan and 8 Feb 2025.
    for month in (1, 2):
        start, end = _sao_paulo_month(2025, month)
        reports = dict(
            _rows(
                database,
                "SELECT report_type, data FROM financial_reports WHERE tenant_id = %s "
                "AND period_start = %s AND period_end = %s AND status = 'completed' "
                "AND completed_at IS NOT NULL AND generated_by = %s",
                TENANTS["D"], start, end, SYSTEM_USER_ID,
            )
        )  # fmt: skip
        assert set(reports) == {"revenue", "expenses", "profit_loss", "cash_flow"}
        assert reports["revenue"]["net"] == 49.9
        assert reports["cash_flow"]["cumulative_net_cash_flow"] == 49.9 * month
    # Tenant B pays in USD in 2025: flagged, with the original amount, never summed.
    start, _ = _sao_paulo_month(2025, 1)
    bravo = _one(
        database,
        "SELECT data FROM financial_reports WHERE tenant_id = %s AND report_type = 'revenue' "
        "AND period_start = %s",
        TENANTS["B"], start,
    )  # fmt: skip
    assert (bravo["complete"], bravo["net"]) == (False, 0.0)
    assert bravo["unconverted"] == {"transactions": 1, "original": {"USD": 5997.0}}
    # Tenant A's paid trading resources in January 2026 (fills 1 and 2): 1 x 0.1235 -> 0.12
    # and 3 x 0.1235 -> 0.37, 3600 + 600 seconds.
    start, _ = _sao_paulo_month(2026, 1)
    expenses = _one(
        database,
        "SELECT data FROM financial_reports WHERE tenant_id = %s AND report_type = 'expenses' "
        "AND period_start = %s",
        TENANTS["A"], start,
    )  # fmt: skip
    assert expenses["trading_resources"] == {
        "bot_execution": {"uses": 2, "units": 4, "usage_seconds": 4200, "cost": 0.49}
    }
    assert expenses["total"] == 0.49


def test_ceo_dashboard_metrics_one_row_per_metric_and_month(
    first_run: dg.ExecuteInProcessResult, database: str
) -> None:
    kpis = _rows(database, "SELECT * FROM marts.ceo_kpis_monthly")
    non_null = sum(
        1 for row in kpis for value in row[1:] if value is not None
    )  # every column but month is a metric
    assert len(build.CEO_METRICS) == len(kpis[0]) - 1
    assert _one(database, "SELECT count(*) FROM ceo_dashboard_metrics") == non_null
    types = _rows(database, "SELECT DISTINCT metric_type FROM ceo_dashboard_metrics")
    assert {t for (t,) in types} == {"revenue", "users", "performance", "growth"}
    # June 2025: tenant C's cancellation takes 1 of 3 customers -> churn rate 33.33 %.
    start, end = _sao_paulo_month(2025, 6)
    assert _rows(
        database,
        "SELECT metric_value, metadata->>'unit', (metadata->>'value')::numeric, tenant_id "
        "FROM ceo_dashboard_metrics WHERE metric_name = 'customer_churn_rate' "
        "AND period_start = %s AND period_end = %s",
        start, end,
    ) == [(Decimal("33.33"), "percent", Decimal("0.333333"), None)]  # fmt: skip
    # January 2025 has no customers at the start: the rate is null, so no row (never 0).
    start, _ = _sao_paulo_month(2025, 1)
    assert not _rows(
        database,
        "SELECT 1 FROM ceo_dashboard_metrics WHERE metric_name = 'customer_churn_rate' "
        "AND period_start = %s",
        start,
    )
    assert _one(
        database,
        "SELECT metric_value FROM ceo_dashboard_metrics WHERE metric_name = 'mrr' "
        "AND period_start = %s",
        start,
    ) == Decimal("449.70")  # A 199.90 + D 49.90 + E 199.90 (B and C not convertible)


def test_compliance_reports_lgpd_and_gdpr_per_month(
    first_run: dg.ExecuteInProcessResult, database: str
) -> None:
    reports = {
        (kind, start): data
        for kind, start, data in _rows(
            database,
            "SELECT report_type, period_start, data FROM compliance_reports "
            "WHERE status = 'completed' AND generated_by = %s",
            SYSTEM_USER_ID,
        )
    }
    january, _ = _sao_paulo_month(2026, 1)
    november, _ = _sao_paulo_month(2026, 11)  # the as-of month
    assert set(reports) == {(k, m) for k in ("lgpd", "gdpr") for m in (january, november)}
    lgpd, gdpr = reports[("lgpd", january)], reports[("gdpr", january)]
    # audit_2026-01-05.jsonl: five events, one of them on a user record (personal data).
    assert lgpd["audit_activity"]["events"] == 5
    assert lgpd["audit_activity"]["personal_data_events"] == 1
    assert lgpd["framework"]["request_deadline_days"] == 15
    assert gdpr["framework"]["request_deadline_days"] == 30
    assert {k: v for k, v in lgpd.items() if k != "framework"} == {
        k: v for k, v in gdpr.items() if k != "framework"
    }
    assert "retention_backlog" not in lgpd
    backlog = reports[("lgpd", november)]["retention_backlog"]
    assert {b["table"] for b in backlog} == {
        "audit_logs", "platform_usage_tracking", "user_behavior_tracking", "visitor_tracking"
    }  # fmt: skip


def test_running_again_replaces_each_period_and_the_tables_do_not_grow(
    first_run: dg.ExecuteInProcessResult,
    assets: list[dg.AssetsDefinition],
    resources: dict[str, Any],
    database: str,
) -> None:
    before = _pipeline_rows(database)
    ids_before = set(_rows(database, "SELECT id FROM financial_reports"))
    # A report a person wrote for a month the pipeline also writes: not the pipeline's to replace.
    start, end = _sao_paulo_month(2025, 3)
    _rows(
        database,
        "INSERT INTO financial_reports (tenant_id, report_type, period_start, period_end, "
        "data, generated_by, status) VALUES (%s, 'revenue', %s, %s, '{\"by\": \"hand\"}', %s, "
        "'completed') RETURNING id",
        TENANTS["A"], start, end, USERS_BY_LETTER["A1"],
    )  # fmt: skip
    try:
        # Ingestion again (nothing new), the models downstream of the ledger (what the
        # dbt_after_ingest sensor requests when payments loaded rows) and every report.
        dbt_models = next(a for a in assets if a.node_def.name == DBT_OP_NAME)
        ledger = dg.AssetSelection.assets(dg.AssetKey(["public", "financial_transactions"]))
        again = dg.materialize(
            assets,
            resources=resources,
            selection=dg.AssetSelection.groups("ingestion", "reports")
            | (ledger.downstream() & dg.AssetSelection.assets(dbt_models)),
            tags={TEST_WINDOW_TAG: str(TEST_WINDOW_DAYS)},  # as the sensor's runs
        )
        assert again.success
        # As the sensor's runs: without the unit tests (revenue_daily has some).
        built = _latest_dbt_nodes(resources)
        assert "model.bcf_analytics.revenue_daily" in built
        assert not {node for node in built if node.startswith("unit_test.")}
        rebuilt = {
            e.asset_key.to_user_string()
            for e in again.get_asset_materialization_events()
            if e.asset_key is not None and e.asset_key in dbt_models.keys
        }
        assert rebuilt == {
            "staging/stg_payments__financial_transactions", "intermediate/int_ledger_movements",
            "marts/revenue_daily", "marts/finance_pnl_monthly", "marts/finance_cash_flow_monthly",
            "marts/ceo_kpis_monthly", "marts/kpi_as_reported", "marts/kpi_restatements",
        }  # fmt: skip
        assert _pipeline_rows(database) == before
        for table, rows in before.items():
            assert _one(database, f"SELECT count(*) FROM {table}") == len(rows) + (
                table == "financial_reports"
            )
        # Replaced, not kept: the pipeline's rows are new ones.
        assert not ids_before & set(_rows(database, "SELECT id FROM financial_reports"))
        [financial] = again.asset_materializations_for_node("public__financial_reports")
        assert financial.metadata["rows_replaced"].value == len(before["financial_reports"])
        assert (
            _one(
                database,
                "SELECT count(*) FROM financial_reports WHERE data->>'by' = 'hand'",
            )
            == 1
        )
    finally:
        _rows(database, "DELETE FROM financial_reports WHERE data->>'by' = 'hand' RETURNING id")


# --- the report builders, without a database ------------------------------------------------


def test_month_periods_are_local_midnights_in_utc() -> None:
    assert build.month_period(date(2025, 3, 1), TZ) == build.Period(
        datetime(2025, 3, 1, 3, tzinfo=UTC), datetime(2025, 4, 1, 3, tzinfo=UTC)
    )
    # Across a daylight-saving change (Berlin, 30 March 2025) and a year end.
    assert build.month_period(date(2025, 3, 1), "Europe/Berlin") == build.Period(
        datetime(2025, 2, 28, 23, tzinfo=UTC), datetime(2025, 3, 31, 22, tzinfo=UTC)
    )
    assert build.month_period(date(2025, 12, 1), TZ).end == datetime(2026, 1, 1, 3, tzinfo=UTC)
    assert build.reporting_month(datetime(2025, 4, 1, 2, 30, tzinfo=UTC), TZ) == date(2025, 3, 1)


def test_json_numbers_are_exact() -> None:
    for text in ("0.00", "439.70", "9999999999999.99", "0.333333", "-53.00"):
        number = build.json_number(Decimal(text))
        assert Decimal(repr(number)) == Decimal(text)
    assert build.json_number(Decimal("12345678901234567.891")) == "12345678901234567.891"
    assert build.json_number(7) == 7
    assert build.json_number(None) is None


def test_ceo_rows_skip_null_rates_and_show_rates_as_percentages() -> None:
    kpi: dict[str, Any] = {m.name: None for m in build.CEO_METRICS}
    kpi.update(
        month=date(2025, 6, 1), mrr=Decimal("149.80"), customer_churn_rate=Decimal("0.333333")
    )
    rows, skipped = build.ceo_metric_rows(
        [kpi], time_zone=TZ, currency="BRL", generated_by=SYSTEM_USER_ID
    )
    assert skipped == len(build.CEO_METRICS) - 2
    by_name = {r["metric_name"]: r for r in rows}
    assert by_name["mrr"]["metric_value"] == Decimal("149.80")
    assert by_name["mrr"]["metadata"]["unit"] == "BRL"
    assert by_name["customer_churn_rate"]["metric_value"] == Decimal("33.33")
    assert by_name["customer_churn_rate"]["metric_type"] == "performance"


def test_financial_rows_flag_unconverted_money_and_accumulate_cash() -> None:
    tenant = uuid.UUID(TENANTS["A"])
    line = {"tenant_id": tenant, "revenue_type": "subscription", "currency_original": "BRL",
            "refunds": Decimal("0"), "chargebacks": Decimal("0"), "transactions": 1}  # fmt: skip
    revenue = [
        {**line, "month": date(2025, 1, 1), "gross_original": Decimal("100"),
         "gross": Decimal("100"), "net": Decimal("100")},
        {**line, "month": date(2025, 2, 1), "gross_original": Decimal("100"),
         "gross": Decimal("100"), "net": Decimal("100")},
        {**line, "month": date(2025, 2, 1), "currency_original": "USD",
         "gross_original": Decimal("10"), "gross": None, "refunds": None, "chargebacks": None,
         "net": None},
    ]  # fmt: skip
    costs = [
        {"tenant_id": tenant, "month": date(2025, 2, 1), "resource_type": "backtesting",
         "uses": 1, "units": 2, "usage_seconds": 60, "total_cost": Decimal("1.50")},
    ]  # fmt: skip
    rows = build.financial_report_rows(
        revenue, [], costs, time_zone=TZ, currency="BRL", generated_by=SYSTEM_USER_ID
    )
    assert len(rows) == 8
    february = {r["report_type"]: r["data"] for r in rows if r["data"]["month"] == "2025-02-01"}
    assert february["revenue"]["complete"] is False
    assert february["revenue"]["unconverted"] == {"transactions": 1, "original": {"USD": 10}}
    assert february["profit_loss"]["contribution"] == 98.5
    assert february["cash_flow"]["cumulative_net_cash_flow"] == 198.5


def test_compliance_rows_judge_requests_by_each_laws_deadline() -> None:
    month = date(2026, 1, 1)
    requests = [
        {"month": month, "request_type": "access", "days_to_answer": Decimal("20.00"),
         "days_open": None, "erasures_carried_out": 0},
        {"month": month, "request_type": "erasure", "days_to_answer": None,
         "days_open": Decimal("20.00"), "erasures_carried_out": 1},
        {"month": month, "request_type": "erasure", "days_to_answer": Decimal("3.00"),
         "days_open": None, "erasures_carried_out": 2},
    ]  # fmt: skip
    irregularities = [
        {"month": month, "irregularity_type": "data_breach", "severity": "high",
         "irregularities": 2, "resolved": 1, "unresolved": 1,
         "avg_hours_to_resolve": Decimal("10")},
        {"month": month, "irregularity_type": "policy_violation", "severity": "low",
         "irregularities": 3, "resolved": 3, "unresolved": 0,
         "avg_hours_to_resolve": Decimal("2")},
    ]  # fmt: skip
    rows = build.compliance_report_rows(
        [], [], irregularities, requests, [], as_of_month=date(2026, 2, 1), time_zone=TZ,
        generated_by=SYSTEM_USER_ID,
    )  # fmt: skip
    assert [(r["report_type"], r["data"]["month"]) for r in rows] == [
        ("lgpd", "2026-01-01"), ("gdpr", "2026-01-01"), ("lgpd", "2026-02-01"),
        ("gdpr", "2026-02-01"),
    ]  # fmt: skip
    lgpd, gdpr = rows[0]["data"]["data_subject_requests"], rows[1]["data"]["data_subject_requests"]
    assert (lgpd["answered_on_time"], lgpd["answered_late"], lgpd["open_past_deadline"]) == (
        1,
        1,
        1,
    )
    assert (gdpr["answered_on_time"], gdpr["answered_late"], gdpr["open_past_deadline"]) == (
        2,
        0,
        0,
    )
    assert lgpd["by_type"] == {"access": 1, "erasure": 2}
    assert lgpd["erasures_carried_out"] == 3
    irregular = rows[0]["data"]["irregularities"]
    assert irregular["by_type"] == {"data_breach": 2, "policy_violation": 3}
    assert irregular["avg_hours_to_resolve"] == 4.0  # (1 x 10 + 3 x 2) / 4
