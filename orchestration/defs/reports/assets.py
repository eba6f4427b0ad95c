"""Report assets: the marts written back into the platform's report tables.

Each asset reads its marts (`queries.py`), shapes rows (`build.py`) and replaces the
pipeline's rows of every period it covers (`write.py`), then checks that no key has two rows.
Keys mirror where the data lives: `["public", "<table>"]`.
"""

# No `from __future__ import annotations`: Dagster reads the resource types from signatures.
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import dagster as dg
from sqlalchemy import Engine, Table, and_, text

from core.db import schema
from core.db.schema import SYSTEM_USER_ID
from orchestration.defs.reports import build, queries
from orchestration.defs.reports.write import Written, duplicate_keys, replace_periods
from orchestration.resources import PipelineSettings

GROUP = "reports"
OWNERS = ["team:data-platform"]
KINDS = {"postgres", "python"}
CHECK_NAME = "one_row_per_key"


def _marts(*names: str) -> list[dg.AssetKey]:
    return [dg.AssetKey(["marts", name]) for name in names]


def _fetch(engine: Engine, sql: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(text(sql)).mappings()]


def _metadata(written: Written, preview: str, **extra: Any) -> dict[str, Any]:
    first = written.periods[0][0].isoformat() if written.periods else "-"
    last = written.periods[-1][1].isoformat() if written.periods else "-"
    return {
        "rows_written": written.inserted,
        "rows_replaced": written.deleted,
        "periods": len(written.periods),
        "periods_from": first,
        "periods_to": last,
        "preview": dg.MetadataValue.md(preview),
        **extra,
    }


def _report_asset(
    *,
    table: Table,
    description: str,
    deps: Sequence[dg.AssetKey],
    key_columns: Sequence[str],
    scope: Callable[[Table], Any],
    produce: Callable[[Engine, PipelineSettings], tuple[list[dict[str, Any]], str, dict[str, Any]]],
) -> dg.AssetsDefinition:
    key = dg.AssetKey(["public", table.name])

    @dg.asset(
        key=key,
        deps=deps,
        group_name=GROUP,
        owners=OWNERS,
        kinds=KINDS,
        description=description,
        check_specs=[
            dg.AssetCheckSpec(
                CHECK_NAME,
                asset=key,
                description=f"No ({', '.join(key_columns)}) has two pipeline rows.",
            )
        ],
    )
    def report(
        context: dg.AssetExecutionContext, bcf: PipelineSettings
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        engine = bcf.engine()
        try:
            rows, preview, extra = produce(engine, bcf)
            written = replace_periods(engine, table, rows, scope=scope(table))
            context.log.info(
                f"{table.name}: {written.inserted} rows for {len(written.periods)} periods "
                f"({written.deleted} replaced)"
            )
            dupes = duplicate_keys(engine, table, key_columns, scope(table))
        finally:
            engine.dispose()
        yield dg.MaterializeResult(metadata=_metadata(written, preview, **extra))
        yield dg.AssetCheckResult(
            check_name=CHECK_NAME,
            passed=dupes == 0,
            metadata={"duplicate_keys": dupes},
        )

    return report


def _ceo(engine: Engine, bcf: PipelineSettings) -> tuple[list[dict[str, Any]], str, dict[str, Any]]:
    settings = bcf.settings()
    rows, skipped = build.ceo_metric_rows(
        _fetch(engine, queries.CEO_KPIS),
        time_zone=settings.reporting_tz,
        currency=settings.reporting_currency,
        generated_by=SYSTEM_USER_ID,
    )
    return rows, build.ceo_preview(rows), {"null_metrics_left_out": skipped}


def _financial(
    engine: Engine, bcf: PipelineSettings
) -> tuple[list[dict[str, Any]], str, dict[str, Any]]:
    settings = bcf.settings()
    rows = build.financial_report_rows(
        _fetch(engine, queries.TENANT_REVENUE),
        _fetch(engine, queries.TENANT_MRR),
        _fetch(engine, queries.TENANT_COSTS),
        time_zone=settings.reporting_tz,
        currency=settings.reporting_currency,
        generated_by=SYSTEM_USER_ID,
    )
    tenants = len({row["tenant_id"] for row in rows})
    incomplete = sum(
        1 for row in rows if row["report_type"] == "revenue" and not row["data"]["complete"]
    )
    extra = {"tenants": tenants, "tenant_months_with_unconverted_money": incomplete}
    return rows, build.financial_preview(rows), extra


def _compliance(
    engine: Engine, bcf: PipelineSettings
) -> tuple[list[dict[str, Any]], str, dict[str, Any]]:
    settings = bcf.settings()
    [as_of] = _fetch(engine, queries.AS_OF)
    rows = build.compliance_report_rows(
        _fetch(engine, queries.AUDIT_ACTIVITY),
        _fetch(engine, queries.PERSONAL_DATA_ACCESS),
        _fetch(engine, queries.IRREGULARITIES),
        _fetch(engine, queries.DATA_SUBJECT_REQUESTS),
        _fetch(engine, queries.RETENTION),
        as_of_month=build.reporting_month(as_of["as_of"], settings.reporting_tz),
        time_zone=settings.reporting_tz,
        generated_by=SYSTEM_USER_ID,
    )
    return rows, build.compliance_preview(rows), {"as_of": as_of["as_of"].isoformat()}


def report_assets() -> list[dg.AssetsDefinition]:
    pipeline_rows = lambda t: t.c.generated_by == SYSTEM_USER_ID  # noqa: E731
    return [
        _report_asset(
            table=schema.ceo_dashboard_metrics,
            description="`public.ceo_dashboard_metrics`: one row per CEO metric and month "
            "from marts.ceo_kpis_monthly (money in the reporting currency, rates as "
            "percentages; a rate with a zero denominator has no row). Each run replaces "
            "the months it covers.",
            deps=_marts("ceo_kpis_monthly"),
            key_columns=("metric_name", "period_start", "period_end"),
            scope=lambda t: and_(
                t.c.tenant_id.is_(None),
                t.c.department_id.is_(None),
                t.c.metadata["source"].astext == build.CEO_SOURCE,
            ),
            produce=_ceo,
        ),
        _report_asset(
            table=schema.financial_reports,
            description="`public.financial_reports`: per tenant and month, the revenue, "
            "expenses (direct costs), profit_loss and cash_flow reports, numbers in `data`. "
            "Each run replaces the pipeline's reports of the months it covers.",
            deps=_marts("revenue_daily", "mrr_by_tenant_monthly", "usage_trading_resources_daily"),
            key_columns=("tenant_id", "report_type", "period_start", "period_end"),
            scope=lambda t: and_(
                pipeline_rows(t), t.c.report_type.in_(build.FINANCIAL_REPORT_TYPES)
            ),
            produce=_financial,
        ),
        _report_asset(
            table=schema.compliance_reports,
            description="`public.compliance_reports`: an LGPD and a GDPR report per month "
            "(audit activity, personal-data access, irregularities, data-subject requests "
            "against each law's deadline, the retention backlog). Each run replaces the "
            "pipeline's reports of the months it covers.",
            deps=_marts(
                "compliance_audit_activity_daily",
                "compliance_personal_data_access",
                "compliance_irregularities_monthly",
                "compliance_data_subject_requests",
                "compliance_retention_backlog",
            ),
            key_columns=("report_type", "period_start", "period_end"),
            scope=lambda t: and_(
                pipeline_rows(t), t.c.report_type.in_(build.COMPLIANCE_REPORT_TYPES)
            ),
            produce=_compliance,
        ),
    ]
