"""The exports asset against a real PostgreSQL: marts -> Parquet files and a DuckDB database.

The marts are created by hand in schema `marts` with the columns and types of the dbt models
(read from their YAML, so they cannot drift) and filled with a small, consistent sample: six
tenants over 14 months (2025-09 .. 2026-10), their MRR, the roll-forward and KPIs derived
from it exactly as METRICS.md says, daily revenue, web traffic, usage and a compliance mart
with a `text[]`, a `timestamptz` and a boolean. `tests/integration/test_ceo_report.py`
renders its report from the same sample.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import polars as pl
import psycopg
import pytest
import yaml  # type: ignore[import-untyped]

from orchestration.defs import exports
from orchestration.defs.ceo_report.assets import build_ceo_report_asset
from orchestration.defs.exports import catalog
from orchestration.defs.exports.assets import CHECK_NAME, build_exports_asset, mart_keys
from orchestration.defs.exports.assets import KEY as EXPORTS_KEY
from orchestration.resources import PipelineSettings

MARTS_DIR = catalog.MARTS_MODELS_DIR
MONTHS = [date(2025 + (8 + i) // 12, (8 + i) % 12 + 1, 1) for i in range(14)]  # 2025-09..2026-10
LAST = MONTHS[-1]
CENT = Decimal("0.01")
RATE = Decimal("0.000001")
TENANTS = {f"T{i}": uuid.UUID(int=0xB0C0_0000 + i) for i in range(1, 7)}

# MRR (BRL) of each tenant from a month on: the sample's whole subscription history.
MRR_CHANGES: dict[str, list[tuple[date, str]]] = {
    "T1": [(date(2025, 9, 1), "500.00"), (date(2026, 3, 1), "800.00")],
    "T2": [(date(2025, 9, 1), "300.00"), (date(2026, 1, 1), "0"), (date(2026, 6, 1), "300.00")],
    "T3": [(date(2025, 9, 1), "1200.00"), (date(2026, 8, 1), "1000.00")],
    "T4": [(date(2025, 12, 1), "450.00"), (date(2026, 10, 1), "0")],
    "T5": [(date(2026, 5, 1), "199.90")],
    "T6": [(date(2026, 10, 1), "1000.00")],
}
NOTE = 'two\nlines, "quoted"; ção'
CHANNELS = ("organic search", "paid", "direct", "email", "organic social", "referral")


def model_columns(model: str) -> list[tuple[str, str]]:
    """(name, data_type) of a dbt mart model, from its YAML."""
    (path,) = MARTS_DIR.rglob(f"{model}.yml")
    spec = next(m for m in yaml.safe_load(path.read_text())["models"] if m["name"] == model)
    return [(c["name"], c["data_type"]) for c in spec["columns"]]


def create_mart(url: str, model: str) -> None:
    columns = ", ".join(f'"{name}" {data_type}' for name, data_type in model_columns(model))
    with psycopg.connect(url) as conn:
        conn.execute(f"CREATE TABLE marts.{model} ({columns})")
        conn.execute(f"COMMENT ON TABLE marts.{model} IS 'The {model} mart (test copy).'")


def insert(url: str, model: str, rows: Sequence[Mapping[str, Any]]) -> None:
    if not rows:
        return
    names = list(rows[0])
    sql = (
        f"INSERT INTO marts.{model} ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})"
    )
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        cursor.executemany(sql, [tuple(row[n] for n in names) for row in rows])


def _mrr(tenant: str, month: date) -> Decimal:
    value = Decimal(0)
    for start, amount in MRR_CHANGES[tenant]:
        if start <= month:
            value = Decimal(amount)
    return value


def _ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    return None if not denominator else (numerator / denominator).quantize(RATE, ROUND_HALF_UP)


def _add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def sample_marts() -> dict[str, list[dict[str, Any]]]:
    """Rows of each sample mart, derived from MRR_CHANGES the way the dbt models derive them."""
    by_tenant, movements, kpis, revenue, traffic = [], [], [], [], []
    seen: set[str] = set()
    for index, month in enumerate(MONTHS):
        previous_month = _add_months(month, -1)
        totals = dict.fromkeys(("new", "expansion", "reactivation", "contraction", "churn"), 0)
        amounts = {k: Decimal(0) for k in totals}
        start_mrr = end_mrr = Decimal(0)
        start_customers = end_customers = 0
        for tenant in TENANTS:
            prev, cur = _mrr(tenant, previous_month), _mrr(tenant, month)
            if tenant not in seen and cur == 0:
                continue
            if prev == 0 and cur > 0:
                movement = "reactivation" if tenant in seen else "new"
                amounts[movement] += cur
            elif prev > 0 and cur == 0:
                movement = "churn"
                amounts["churn"] += prev
            elif cur > prev:
                movement = "expansion"
                amounts["expansion"] += cur - prev
            elif cur < prev:
                movement = "contraction"
                amounts["contraction"] += prev - cur
            else:
                movement = "unchanged"
            if movement != "unchanged":
                totals[movement] += 1
            seen.add(tenant)
            start_mrr += prev
            end_mrr += cur
            start_customers += prev > 0
            end_customers += cur > 0
            by_tenant.append(
                {
                    "month": month,
                    "tenant_id": TENANTS[tenant],
                    "mrr": cur,
                    "previous_mrr": prev,
                    "mrr_change": cur - prev,
                    "movement": movement,
                }
            )
            if cur > 0:
                revenue.append(_revenue(month, tenant, "subscription", cur))
            if cur > 0 and tenant in ("T1", "T3"):
                revenue.append(_revenue(month, tenant, "commission", cur * Decimal("0.08")))
            if cur > 0 and tenant == "T3":
                revenue.append(_revenue(month, tenant, "usage", Decimal("55.25")))
        if month == LAST:  # a refund and a payment without an FX rate in the last month
            revenue.append(_revenue(month, "T2", "subscription", Decimal(0), refund="50.00"))
            revenue.append(
                {
                    **_revenue(month, "T5", "other", Decimal(0)),
                    "currency_original": "USD",
                    "gross_amount_original": Decimal("20.00"),
                    "gross_amount": None,
                    "net_amount": None,
                }
            )
        movements.append(
            {
                "month": month,
                "starting_mrr": start_mrr,
                "new_mrr": amounts["new"],
                "expansion_mrr": amounts["expansion"],
                "reactivation_mrr": amounts["reactivation"],
                "contraction_mrr": amounts["contraction"],
                "churned_mrr": amounts["churn"],
                "ending_mrr": end_mrr,
                "customers_start": start_customers,
                "new_customers": totals["new"],
                "reactivated_customers": totals["reactivation"],
                "churned_customers": totals["churn"],
                "customers_end": end_customers,
            }
        )
        month_revenue = [r for r in revenue if r["day"].replace(day=1) == month]
        gross = sum((r["gross_amount"] or 0 for r in month_revenue), Decimal(0))
        refunds = sum((r["refunded_amount"] for r in month_revenue), Decimal(0))
        year_ago = _add_months(month, -12)
        then = {t: _mrr(t, year_ago) for t in TENANTS if _mrr(t, year_ago) > 0}
        now_of_then = sum((_mrr(t, month) for t in then), Decimal(0))
        capped = sum((min(_mrr(t, month), v) for t, v in then.items()), Decimal(0))
        then_total = sum(then.values(), Decimal(0))
        arpa = (end_mrr / end_customers).quantize(CENT, ROUND_HALF_UP) if end_customers else None
        kpis.append(
            {
                "month": month,
                "mrr": end_mrr,
                "arr": end_mrr * 12,
                "active_customers": end_customers,
                "arpa": arpa,
                "new_customers": totals["new"],
                "churned_customers": totals["churn"],
                "customer_churn_rate": _ratio(Decimal(totals["churn"]), Decimal(start_customers)),
                "gross_mrr_churn_rate": _ratio(
                    amounts["churn"] + amounts["contraction"], start_mrr
                ),
                "net_mrr_churn_rate": _ratio(
                    amounts["churn"]
                    + amounts["contraction"]
                    - amounts["expansion"]
                    - amounts["reactivation"],
                    start_mrr,
                ),
                "nrr_12m": _ratio(now_of_then, then_total),
                "grr_12m": _ratio(capped, then_total),
                "ltv": None,
                "gross_revenue": gross,
                "refunds": refunds,
                "chargebacks": Decimal(0),
                "net_revenue": gross - refunds,
                "commission_revenue": sum(
                    (r["net_amount"] for r in month_revenue if r["revenue_type"] == "commission"),
                    Decimal(0),
                ),
                "usage_revenue": Decimal("55.25"),
                "new_tenants": totals["new"],
                "monthly_active_users": 40 + 3 * index,
            }
        )
        for position, channel in enumerate(CHANNELS):
            sessions = (600 - 80 * position) + 25 * index
            bounces = sessions * 2 // 5
            traffic.append(
                {
                    "day": month.replace(day=10),
                    "channel": channel,
                    "utm_source": "google" if channel == "paid" else None,
                    "utm_medium": "cpc" if channel == "paid" else None,
                    "utm_campaign": None,
                    "country": "BR",
                    "device_type": "desktop",
                    "visitors": sessions * 4 // 5,
                    "sessions": sessions,
                    "pageviews": sessions * 3,
                    "bounces": bounces,
                    "bounce_rate": (Decimal(bounces) / sessions).quantize(Decimal("0.0001")),
                    "avg_session_duration_s": Decimal("95.50"),
                    "leads": sessions // 50,
                }
            )
    return {
        "mrr_by_tenant_monthly": by_tenant,
        "mrr_movements_monthly": movements,
        "ceo_kpis_monthly": kpis,
        "revenue_daily": revenue,
        "web_traffic_daily": traffic,
        "usage_plan_limits_monthly": _plan_limits(),
        "usage_platform_daily": _platform_usage(),
        "compliance_personal_data_access": _personal_data_access(),
    }


def _revenue(
    month: date, tenant: str, revenue_type: str, gross: Decimal, refund: str = "0"
) -> dict[str, Any]:
    gross = gross.quantize(CENT, ROUND_HALF_UP)
    refunded = Decimal(refund)
    return {
        "day": month.replace(day=5 if revenue_type == "subscription" else 20),
        "tenant_id": TENANTS[tenant],
        "revenue_type": revenue_type,
        "currency_original": "BRL",
        "gross_amount_original": gross,
        "gross_amount": gross,
        "refunded_amount": refunded,
        "chargeback_amount": Decimal(0),
        "net_amount": gross - refunded,
        "transactions": 1 if gross else 0,
    }


def _plan_limits() -> list[dict[str, Any]]:
    # tenant: (plan, how much of the base use it makes)
    plans = {"T1": ("pro", "1.0"), "T3": ("enterprise", "2.5"), "T5": ("starter", "0.5"),
             "T6": ("pro", "1.2")}  # fmt: skip
    limits: dict[str, dict[str, int | None]] = {
        "starter": {"bots": 2, "api_calls": 10_000, "users": 2},
        "pro": {"bots": 10, "api_calls": 100_000, "users": 10},
        "enterprise": {"bots": None, "api_calls": 1_000_000, "users": 50},
    }
    used = {"bots": (3, "peak"), "api_calls": (15_000, "total"), "users": (4, "peak")}
    rows = []
    for month in MONTHS[-2:]:
        for tenant, (plan, factor) in plans.items():
            for resource, (base, aggregation) in used.items():
                amount = (base * Decimal(factor)).quantize(CENT)
                limit = limits[plan][resource]
                rows.append(
                    {
                        "month": month,
                        "tenant_id": TENANTS[tenant],
                        "plan_slug": plan,
                        "resource_type": resource,
                        "aggregation": aggregation,
                        "used": amount,
                        "usage_limit": None if limit is None else Decimal(limit),
                        "is_unlimited": limit is None,
                        "utilisation": None
                        if limit is None
                        else (amount / limit).quantize(Decimal("0.0001")),
                        "is_over_limit": limit is not None and amount > limit,
                    }
                )
    return rows


def _platform_usage() -> list[dict[str, Any]]:
    return [
        {
            "day": LAST.replace(day=day),
            "tenant_id": TENANTS[tenant],
            "resource_type": resource,
            "records": 3,
            "usage_count": count * day,
            "usage_value": Decimal("1.50") * day,
            "users": 2,
            "resources": 1,
        }
        for day in (3, 17)
        for tenant in ("T1", "T3")
        for resource, count in (("api_calls", 1200), ("bots", 4), ("storage", 2))
    ]


def _personal_data_access() -> list[dict[str, Any]]:
    return [
        {
            "audit_event_id": uuid.UUID(int=0xA0D1 + i),
            "occurred_at": datetime(2026, 10, 5 + i, 14, 3, 7, 123456, tzinfo=UTC),
            "day": date(2026, 10, 5 + i),
            "tenant_id": TENANTS["T1"],
            "actor_pseudonym": f"{i:064x}",
            "is_system_actor": i == 1,
            "action": "user.update",
            "access_kind": "change",
            "resource": "users",
            "record_pseudonym": f"{i + 7:064x}",
            "changed_fields": ["email", "phone, mobile", 'quote "x"'] if i == 0 else [],
            "ip_pseudonym": None,
        }
        for i in range(2)
    ]


def load_sample(url: str) -> dict[str, list[dict[str, Any]]]:
    """Create the sample marts (empty ones too) and fill them; the rows inserted."""
    sample = sample_marts()
    for model, rows in sample.items():
        create_mart(url, model)
        insert(url, model, rows)
    return sample


def resources(url: str, data_dir: Path) -> dict[str, Any]:
    return {"bcf": PipelineSettings(database_url=url, data_dir=str(data_dir))}


def materialize_exports(url: str, data_dir: Path) -> dg.ExecuteInProcessResult:
    result = dg.materialize([build_exports_asset()], resources=resources(url, data_dir))
    assert result.success
    return result


def pg_scalar(url: str, sql: str) -> Any:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql).fetchone()
    assert row is not None
    return row[0]


@pytest.fixture
def sample_url(migrated_database_url: str) -> str:
    load_sample(migrated_database_url)
    return migrated_database_url


# --- definitions ---------------------------------------------------------------------------


def test_assets_load_without_the_dbt_assets() -> None:
    defs = dg.Definitions(
        assets=[build_exports_asset(), build_ceo_report_asset()],
        resources={"bcf": PipelineSettings()},
    )
    graph = defs.get_repository_def().asset_graph
    exports = graph.get(dg.AssetKey(["exports", "marts"]))
    assert exports.group_name == "exports"
    assert set(exports.parent_keys) == set(mart_keys())
    assert dg.AssetKey(["marts", "ceo_kpis_monthly"]) in exports.parent_keys
    assert len(mart_keys()) == len(list(MARTS_DIR.rglob("*.sql")))
    report = graph.get(dg.AssetKey(["reports", "ceo"]))
    assert report.group_name == "reports"
    assert dg.AssetKey(["marts", "mrr_movements_monthly"]) in report.parent_keys


@pytest.mark.filterwarnings("ignore::dagster.BetaWarning")  # dagster's own tester
def test_exports_refresh_once_every_mart_was_rebuilt() -> None:
    """The automation condition (evaluated by the `exports_after_marts` sensor): nothing until
    every mart exists, one request after they were all rebuilt, then nothing again."""
    defs = dg.Definitions.merge(
        exports.definitions(),
        dg.Definitions(
            assets=[dg.AssetSpec(key) for key in mart_keys()],
            resources={"bcf": PipelineSettings()},
        ),
    )
    sensor = defs.resolve_sensor_def(exports.SENSOR_NAME)
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED  # not in production
    with dg.instance_for_test() as instance:
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        assert result.total_requested == 0
        for key in mart_keys()[:-1]:
            instance.report_runless_asset_event(dg.AssetMaterialization(key))
        result = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=result.cursor
        )
        assert result.total_requested == 0  # one mart never built
        instance.report_runless_asset_event(dg.AssetMaterialization(mart_keys()[-1]))
        result = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=result.cursor
        )
        assert result.total_requested == 1
        assert result.get_requested_partitions(EXPORTS_KEY) == {None}


# --- exports -------------------------------------------------------------------------------


def test_exports_match_postgres(sample_url: str, tmp_path: Path) -> None:
    result = materialize_exports(sample_url, tmp_path)
    out = tmp_path / "exports"
    sample = sample_marts()

    # DuckDB answers with PostgreSQL's MRR, to the cent, with the same types.
    pg_mrr = pg_scalar(sample_url, f"SELECT mrr FROM marts.ceo_kpis_monthly WHERE month = '{LAST}'")
    with duckdb.connect(str(out / "bcf_marts.duckdb"), read_only=True) as con:
        (duck_mrr,) = con.execute(
            "SELECT mrr FROM ceo_kpis_monthly WHERE month = ?", [LAST]
        ).fetchone() or (None,)
        types = dict(
            con.execute(
                "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns"
            ).fetchall()
        )
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        counts = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}  # type: ignore[index]
        fields, occurred = con.execute(
            "SELECT changed_fields, occurred_at FROM compliance_personal_data_access "
            "ORDER BY occurred_at LIMIT 1"
        ).fetchone() or (None, None)
        comment = con.execute(
            "SELECT comment FROM duckdb_tables() WHERE table_name = 'revenue_daily'"
        ).fetchone()
    assert duck_mrr == pg_mrr == Decimal("3299.90")
    assert tables == set(sample)
    assert counts == {model: len(rows) for model, rows in sample.items()}
    assert types["ceo_kpis_monthly.mrr"] == "DECIMAL(15,2)"
    assert types["ceo_kpis_monthly.customer_churn_rate"] == "DECIMAL(12,6)"
    assert types["ceo_kpis_monthly.month"] == "DATE"
    assert types["ceo_kpis_monthly.active_customers"] == "INTEGER"
    assert types["usage_platform_daily.usage_count"] == "BIGINT"
    assert types["revenue_daily.tenant_id"] == "UUID"
    assert types["revenue_daily.revenue_type"] == "VARCHAR"
    assert types["compliance_personal_data_access.occurred_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["compliance_personal_data_access.is_system_actor"] == "BOOLEAN"
    assert types["compliance_personal_data_access.changed_fields"] == "VARCHAR[]"
    assert fields == ["email", "phone, mobile", 'quote "x"']
    assert occurred == datetime(2026, 10, 5, 14, 3, 7, 123456, tzinfo=UTC)
    assert comment == ("The revenue_daily mart (test copy).",)

    # Parquet files equal the tables: row counts, decimals to the cent, nulls, types.
    parquet = {p.stem: p for p in (out / "parquet").glob("*.parquet")}
    assert set(parquet) == set(sample)
    for model, rows in sample.items():
        assert pl.scan_parquet(parquet[model]).select(pl.len()).collect().item() == len(rows)
    revenue = pl.read_parquet(parquet["revenue_daily"])
    assert revenue.schema["net_amount"] == pl.Decimal(15, 2)
    assert revenue.schema["day"] == pl.Date
    pg_net = pg_scalar(sample_url, "SELECT sum(net_amount) FROM marts.revenue_daily")
    assert revenue["net_amount"].sum() == pg_net
    assert revenue["net_amount"].null_count() == 1  # the payment without an FX rate
    kpis = pl.read_parquet(parquet["ceo_kpis_monthly"]).sort("month")
    assert kpis["mrr"][-1] == Decimal("3299.90")
    assert kpis["arr"][-1] == Decimal("39598.80")
    access = pl.read_parquet(parquet["compliance_personal_data_access"])
    assert access.schema["occurred_at"] == pl.Datetime("us", "UTC")
    assert access.schema["changed_fields"] == pl.List(pl.String)
    traffic = pl.read_parquet(parquet["web_traffic_daily"])
    assert traffic.filter(pl.col("channel") == "direct")["utm_source"].null_count() > 0

    # Metadata an analyst wants, and the check.
    materialization = result.asset_materializations_for_node("exports__marts")[0]
    metadata: dict[str, Any] = dict(materialization.metadata)
    assert metadata["marts"].value == len(sample)
    assert metadata["dagster/row_count"].value == sum(len(r) for r in sample.values())
    assert metadata["duckdb_path"].value == str(out / "bcf_marts.duckdb")
    assert metadata["rows_by_mart"].value["revenue_daily"] == len(sample["revenue_daily"])
    assert "| revenue_daily |" in metadata["files"].value
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == CHECK_NAME
    assert check.passed


def test_rerun_replaces_files_and_follows_the_schema(sample_url: str, tmp_path: Path) -> None:
    materialize_exports(sample_url, tmp_path)
    out = tmp_path / "exports"
    # A mart gains a row, one disappears, a new one appears (no code change).
    insert(sample_url, "usage_platform_daily", _platform_usage()[:1])
    with psycopg.connect(sample_url) as conn:
        conn.execute("DROP TABLE marts.mrr_by_tenant_monthly")
        conn.execute(
            "CREATE TABLE marts.brand_new_mart (id integer, amount numeric(10,2), note text)"
        )
        conn.execute(
            "INSERT INTO marts.brand_new_mart VALUES (1, 9.99, %s), (2, NULL, ''), (3, 0, NULL)",
            (NOTE,),
        )
        conn.execute("CREATE TABLE marts.revenue_daily__dbt_tmp (x integer)")  # dbt's, mid-swap
    before = (out / "bcf_marts.duckdb").stat().st_ino
    materialize_exports(sample_url, tmp_path)

    assert sorted(p.name for p in out.iterdir()) == ["bcf_marts.duckdb", "parquet"]
    names = sorted(p.name for p in (out / "parquet").iterdir())
    assert "mrr_by_tenant_monthly.parquet" not in names
    assert "brand_new_mart.parquet" in names
    assert not any("tmp" in n or n.startswith(".") for n in names)
    assert (out / "bcf_marts.duckdb").stat().st_ino != before  # a new file, renamed in
    usage_rows = len(_platform_usage()) + 1
    with duckdb.connect(str(out / "bcf_marts.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM usage_platform_daily").fetchone() == (usage_rows,)
        assert con.execute("SELECT sum(amount) FROM brand_new_mart").fetchone() == (
            Decimal("9.99"),
        )
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert "mrr_by_tenant_monthly" not in tables
    assert "revenue_daily__dbt_tmp" not in tables
    assert pl.read_parquet(out / "parquet" / "usage_platform_daily.parquet").height == usage_rows
    new_mart = pl.read_parquet(out / "parquet" / "brand_new_mart.parquet").sort("id")
    assert new_mart["note"].to_list() == [NOTE, "", None]  # CSV quoting, '' is not NULL
    assert new_mart["amount"].to_list() == [Decimal("9.99"), None, Decimal("0.00")]


def test_no_marts_yet(migrated_database_url: str, tmp_path: Path) -> None:
    result = materialize_exports(migrated_database_url, tmp_path)
    out = tmp_path / "exports"
    assert list((out / "parquet").iterdir()) == []
    with duckdb.connect(str(out / "bcf_marts.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM duckdb_tables()").fetchone() == (0,)
    metadata = result.asset_materializations_for_node("exports__marts")[0].metadata
    assert metadata["marts"].value == 0


def test_a_failed_export_leaves_the_previous_files(sample_url: str, tmp_path: Path) -> None:
    materialize_exports(sample_url, tmp_path)
    out = tmp_path / "exports"
    files = {p: p.read_bytes() for p in sorted((out / "parquet").iterdir())}
    with psycopg.connect(sample_url) as conn:  # a value no CSV-to-decimal parse accepts
        conn.execute("CREATE TABLE marts.zz_broken (v numeric(5,2))")
        conn.execute("INSERT INTO marts.zz_broken VALUES ('NaN')")
    result = dg.materialize(
        [build_exports_asset()], resources=resources(sample_url, tmp_path), raise_on_error=False
    )
    assert not result.success
    assert {p: p.read_bytes() for p in sorted((out / "parquet").iterdir())} == files
    assert sorted(p.name for p in out.iterdir()) == ["bcf_marts.duckdb", "parquet"]


# --- type mapping (pure) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_name", "sql_type", "element", "duck", "dtype"),
    [
        ("numeric", "numeric(15,2)", None, "DECIMAL(15,2)", pl.Decimal(15, 2)),
        ("numeric", "numeric", None, "DOUBLE", pl.Float64()),
        ("numeric", "numeric(50,2)", None, "DOUBLE", pl.Float64()),
        ("int8", "bigint", None, "BIGINT", pl.Int64()),
        ("timestamptz", "timestamp with time zone", None, "TIMESTAMPTZ", pl.Datetime("us", "UTC")),
        ("timestamp", "timestamp without time zone", None, "TIMESTAMP", pl.Datetime("us")),
        ("_text", "text[]", "text", "VARCHAR[]", pl.List(pl.String())),
        ("_int4", "integer[]", "int4", "INTEGER[]", pl.List(pl.Int32())),
        ("jsonb", "jsonb", None, "VARCHAR", pl.String()),
        ("uuid", "uuid", None, "UUID", pl.String()),
    ],
)
def test_column_plan(
    type_name: str, sql_type: str, element: str | None, duck: str, dtype: pl.DataType
) -> None:
    plan = catalog.column_plan(catalog.Column("c", type_name, sql_type, element))
    assert plan.duckdb_type == duck
    assert plan.parquet_dtype == dtype


def test_models_dir_is_the_dbt_projects() -> None:
    assert os.path.isdir(MARTS_DIR)
    assert "ceo_kpis_monthly" in catalog.mart_models()
