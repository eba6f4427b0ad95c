"""The CEO report asset: `<data dir>/reports/ceo/index.html` and its PNG charts, after the marts.

It reads the marts in one snapshot (`queries.py`), composes the page and charts
(`render.compose_report`, numbers from `build.py`, drawings from `charts.py`) and swaps them
into place (`render.publish`). In group "reports", so the dbt concern's job (daily schedule,
after-ingest sensor) rebuilds it with the marts.
"""

# No `from __future__ import annotations`: Dagster reads the config and resource types.
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
from pydantic import Field

from core.db.engine import libpq_url
from core.settings import Settings
from orchestration.defs.ceo_report.build import (
    add_months,
    month_label,
    number_format,
    parse_month,
    report_month,
)
from orchestration.defs.ceo_report.queries import MartReader, MartRows, mart_names, read_marts
from orchestration.defs.ceo_report.render import compose_report, publish
from orchestration.resources import PipelineSettings

GROUP = "reports"
OWNERS = ["team:data-platform"]
KEY = dg.AssetKey(["reports", "ceo"])
REPORT_DIR = ("reports", "ceo")
ARCHIVE_KEY = dg.AssetKey(["reports", "ceo_monthly"])
ARCHIVE_DIR = "archive"
# The archive's first month: earlier months have no data in any deployment of the platform.
ARCHIVE_START = "2024-01-01"
DEFAULT_HISTORY_MONTHS = 24


class CeoReportConfig(dg.Config):
    month: str | None = Field(
        default=None,
        description="Report this month (YYYY-MM) instead of the last full month with data.",
    )
    history_months: int = Field(
        default=DEFAULT_HISTORY_MONTHS, gt=1, description="Months shown in the charts."
    )


def report_dir(bcf: PipelineSettings) -> Path:
    return bcf.settings().data_dir.resolve().joinpath(*REPORT_DIR)


def write_report(
    context: dg.AssetExecutionContext,
    bcf: PipelineSettings,
    folder: Path,
    history_months: int,
    requested_month: str | None,
) -> dg.MaterializeResult:
    """Compose the report of `requested_month` (default: the last full month with data) from
    the marts and swap it into `folder`."""
    settings = bcf.settings()
    fmt = number_format(settings.reporting_currency)
    now = datetime.now(ZoneInfo(settings.reporting_tz))
    requested = parse_month(requested_month) if requested_month else None
    rows: MartRows | None = None
    with MartReader(libpq_url(bcf.database_url_resolved())) as reader:
        kpis = reader.fetch("kpis")
        month = report_month([r["month"] for r in kpis], now.date(), requested)
        if month is not None:
            first = add_months(month, -(history_months - 1))
            rows = read_marts(reader, kpis, first, month)
    if requested is not None and month is None:
        context.log.warning(f"no KPI row for {month_label(requested)}: 'no data yet' page")
    report = compose_report(
        rows,
        month,
        fmt,
        currency=settings.reporting_currency,
        time_zone=settings.reporting_tz,
        generated_at=now,
        history_months=history_months,
        requested_month=requested_month,
    )
    removed = publish(folder, report.files)
    index = folder / "index.html"
    drawn = [c.file_name for c in report.charts if c.png is not None]
    empty = [c.title for c in report.charts if c.png is None]
    context.log.info(
        f"CEO report for {month_label(month) if month else 'no month (no data yet)'}: "
        f"{index}, {len(drawn)} charts"
    )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(index)),
            "url": dg.MetadataValue.url(index.as_uri()),
            "has_data": report.has_data,
            "month": month_label(month) if month else "-",
            "charts": ", ".join(drawn) or "-",
            "charts_without_data": ", ".join(empty) or "-",
            "missing_marts": ", ".join(rows.missing_marts if rows else []) or "-",
            "removed_files": ", ".join(removed) or "-",
            "kpis": dg.MetadataValue.md(report.kpi_markdown()),
        }
    )


def monthly_partitions(settings: Settings) -> dg.MonthlyPartitionsDefinition:
    """Months from ARCHIVE_START to the last complete one, in the reporting time zone."""
    return dg.MonthlyPartitionsDefinition(start_date=ARCHIVE_START, timezone=settings.reporting_tz)


def build_ceo_report_archive_asset(settings: Settings) -> dg.AssetsDefinition:
    @dg.asset(
        key=ARCHIVE_KEY,
        deps=[dg.AssetKey(["marts", name]) for name in mart_names()],
        partitions_def=monthly_partitions(settings),
        group_name=GROUP,
        owners=OWNERS,
        kinds={"postgres", "python", "html"},
        description=(
            "The CEO report of each month, kept: `reports/ceo/archive/<YYYY-MM>/index.html` "
            "with its charts, the same page as `reports/ceo` as of that month. One partition "
            "per month; backfill a range to rebuild the history (months without data say "
            "'no data yet'); the `ceo_report_archive_monthly` schedule adds each month once "
            "it is complete."
        ),
    )
    def ceo_report_archive(
        context: dg.AssetExecutionContext, bcf: PipelineSettings
    ) -> dg.MaterializeResult:
        month = parse_month(context.partition_key)
        folder = report_dir(bcf) / ARCHIVE_DIR / month_label(month)
        return write_report(context, bcf, folder, DEFAULT_HISTORY_MONTHS, month_label(month))

    return ceo_report_archive


def build_ceo_report_asset() -> dg.AssetsDefinition:
    @dg.asset(
        key=KEY,
        deps=[dg.AssetKey(["marts", name]) for name in mart_names()],
        group_name=GROUP,
        owners=OWNERS,
        kinds={"postgres", "python", "html"},
        description=(
            "The CEO report: `reports/ceo/index.html` (self-contained: the charts are embedded) "
            "and its PNG charts beside it: a KPI header for the last full month with "
            "month-over-month changes (MRR, ARR, active customers, ARPA, churn, NRR, net "
            "revenue), the MRR movements waterfall, MRR and ARR, churn and NRR, revenue by "
            "type, traffic by channel, usage by plan. Says 'no data yet' on empty marts."
        ),
    )
    def ceo_report(
        context: dg.AssetExecutionContext, config: CeoReportConfig, bcf: PipelineSettings
    ) -> dg.MaterializeResult:
        return write_report(context, bcf, report_dir(bcf), config.history_months, config.month)

    return ceo_report
