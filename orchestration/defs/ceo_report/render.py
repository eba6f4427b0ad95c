"""The CEO report as files: the charts (PNG), the page (HTML, charts embedded as data URIs so
the page stands alone, e.g. as an e-mail attachment) and their atomic publication.

`compose_report` decides what the page says from mart rows (no database); `publish` swaps the
files into the report folder: PNGs first, `index.html` last, then removes what the new report
no longer has (a chart without data, the old page's charts after an empty build).
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from orchestration.defs.ceo_report import charts
from orchestration.defs.ceo_report.build import (
    KpiValue,
    NumberFormat,
    add_months,
    column_series,
    kpi_markdown,
    kpi_values,
    month_label,
    months_between,
    movements_table,
    pivot,
    restatement_notes,
    waterfall_steps,
)
from orchestration.defs.ceo_report.queries import MartRows, mart_names

INDEX = "index.html"
TEMPLATES = Path(__file__).resolve().parent / "templates"
REVENUE_TYPES = ("subscription", "commission", "usage", "other")
STAGING_PREFIX = ".staging-"
STALE_STAGING_SECONDS = 3600
PUBLISHED_SUFFIXES = (".png", ".html")


@dataclass(frozen=True)
class Chart:
    file_name: str
    anchor: str
    title: str
    caption: str = ""
    png: bytes | None = None
    empty_reason: str = ""

    @property
    def data_uri(self) -> str:
        assert self.png is not None
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass
class Report:
    has_data: bool
    html: str
    month: date | None = None
    previous_month: date | None = None
    kpis: list[KpiValue] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)

    @property
    def files(self) -> dict[str, bytes]:
        files = {c.file_name: c.png for c in self.charts if c.png is not None}
        return {**files, INDEX: self.html.encode("utf-8")}

    def kpi_markdown(self) -> str:
        if not self.has_data or self.month is None or self.previous_month is None:
            return "No data yet: `marts.ceo_kpis_monthly` has no month to report."
        return kpi_markdown(self.kpis, self.month, self.previous_month)


def _template_environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_page(**context: Any) -> str:
    return _template_environment().get_template("index.html.j2").render(**context)


def _chart(
    file_name: str,
    anchor: str,
    title: str,
    empty: bool,
    draw: Callable[[], bytes],
    caption: str = "",
    empty_reason: str = "",
) -> Chart:
    if empty:
        return Chart(file_name, anchor, title, empty_reason=empty_reason)
    return Chart(file_name, anchor, title, caption, draw())


def _share(part: float, whole: float, fmt: NumberFormat) -> str:
    return fmt.percent(part / whole, 0) if whole else "-"


def _charts(rows: MartRows, month: date, months: list[date], fmt: NumberFormat) -> list[Chart]:
    by_month = {r["month"]: r for r in rows.movements}
    movement = by_month.get(month)
    mrr_series = column_series(rows.kpis, months, ["mrr"])
    revenue = pivot(rows.revenue, months, "revenue_type", "net_amount", REVENUE_TYPES)
    traffic = pivot(rows.traffic, months, "channel", "sessions")
    label = month_label(month)
    result = []

    caption = ""
    if movement is not None:
        caption = (
            f"{label}: MRR went from {fmt.money(movement['starting_mrr'])} to "
            f"{fmt.money(movement['ending_mrr'])}; customers from "
            f"{movement['customers_start']} to {movement['customers_end']} "
            f"(+{movement['new_customers']} new, +{movement['reactivated_customers']} "
            f"reactivated, -{movement['churned_customers']} churned)."
        )
    result.append(
        _chart(
            "mrr_waterfall.png",
            "mrr-movements",
            f"MRR movements, {label}",
            movement is None,
            lambda: charts.waterfall(waterfall_steps(movement or {}), fmt, month),
            caption,
            f"marts.mrr_movements_monthly has no row for {label}",
        )
    )
    result.append(
        _chart(
            "mrr_arr.png",
            "mrr-arr",
            "MRR and ARR over time",
            mrr_series.empty,
            lambda: charts.mrr_arr(mrr_series, fmt),
            f"{month_label(months[0])} to {label}; ARR is 12 × MRR (right axis).",  # noqa: RUF001 (typography)
        )
    )
    churn_series = column_series(rows.kpis, months, ["customer_churn_rate", "nrr_12m", "grr_12m"])
    result.append(
        _chart(
            "churn_nrr.png",
            "churn-nrr",
            "Customer churn and net revenue retention",
            churn_series.empty,
            lambda: charts.churn_nrr(churn_series, fmt),
            "Customer churn rate = churned customers / customers at the start of the month. "
            "NRR (12 months) = today's MRR of the tenants paying 12 months ago / their MRR then.",
            "no churn or retention rate yet (they need customers at the start of a month)",
        )
    )

    month_revenue = {k: v[-1] for k, v in revenue.values.items()}
    total = sum(month_revenue.values())
    this_month = [r for r in rows.revenue if r["month"] == month]
    exact = sum(
        (Decimal(r["net_amount"]) for r in this_month if r["net_amount"] is not None), Decimal(0)
    )
    unconverted = sum(int(r["unconverted_rows"] or 0) for r in this_month)
    caption = f"Net revenue of {label}: {fmt.money(exact)}" + "".join(
        f"; {name} {_share(value, total, fmt)}" for name, value in month_revenue.items()
    )
    caption += "." + (
        f" {unconverted} revenue row{'s' if unconverted > 1 else ''} of {label} had no FX rate"
        f" and {'are' if unconverted > 1 else 'is'} left out."
        if unconverted
        else ""
    )
    result.append(
        _chart(
            "revenue_by_type.png",
            "revenue-by-type",
            "Net revenue by type",
            revenue.empty,
            lambda: charts.stacked_bars(
                revenue,
                fmt,
                "Net revenue by type",
                money=True,
                subtitle="gross − refunds − chargebacks",  # noqa: RUF001 (typography)
            ),
            caption,
            "marts.revenue_daily has no revenue in these months",
        )
    )

    month_sessions = {k: v[-1] for k, v in traffic.values.items()}
    sessions = sum(month_sessions.values())
    leads = sum(int(r["leads"] or 0) for r in rows.traffic if r["month"] == month)
    top = max(month_sessions, key=lambda k: month_sessions[k]) if month_sessions else None
    caption = f"{label}: {fmt.count(sessions)} sessions, {fmt.count(leads)} leads" + (
        f"; top channel {top} ({_share(month_sessions[top], sessions, fmt)} of sessions)."
        if top and sessions
        else "."
    )
    result.append(
        _chart(
            "traffic_by_channel.png",
            "traffic-by-channel",
            "Web traffic by channel",
            traffic.empty,
            lambda: charts.stacked_bars(traffic, fmt, "Sessions by channel", money=False),
            caption,
            "marts.web_traffic_daily has no sessions in these months",
        )
    )

    if rows.usage_by_plan:
        plans = sorted({str(r["plan_slug"]) for r in rows.usage_by_plan})
        over = sum(int(r["over_limit"] or 0) for r in rows.usage_by_plan)
        result.append(
            Chart(
                "usage_by_plan.png",
                "usage",
                f"Usage by plan, {label}",
                f"Plans {', '.join(plans)}; {over} tenant-resource pairs over their plan's limit.",
                charts.usage_by_plan(rows.usage_by_plan, fmt, month),
            )
        )
    else:
        result.append(
            _chart(
                "usage_by_resource.png",
                "usage",
                f"Usage by resource, {label}",
                not rows.usage_by_resource,
                lambda: charts.usage_by_resource(rows.usage_by_resource, fmt, month),
                "No plan-limit data for this month: usage of all tenants by resource type.",
                f"no platform usage recorded in {label}",
            )
        )
    return result


def compose_report(
    rows: MartRows | None,
    month: date | None,
    fmt: NumberFormat,
    *,
    currency: str,
    time_zone: str,
    generated_at: datetime,
    history_months: int = 24,
    requested_month: str | None = None,
) -> Report:
    """The page and charts for `month` from the marts' rows; without a month (no KPI rows,
    or the month asked for has none) the page says there is no data yet."""
    context: dict[str, Any] = {
        "generated_at": generated_at.strftime("%Y-%m-%d %H:%M"),
        "time_zone": time_zone,
        "currency": currency,
        "sources": mart_names(),
        "missing_marts": rows.missing_marts if rows else [],
        "requested_month": requested_month,
        "month": None,
        "previous_month": None,
    }
    kpis_by_month = {r["month"]: r for r in rows.kpis} if rows else {}
    if rows is None or month is None or month not in kpis_by_month:
        html = render_page(
            has_data=False, kpis=[], charts=[], movements=[], restatements=[], **context
        )
        return Report(has_data=False, html=html)

    previous_month = add_months(month, -1)
    first = max(add_months(month, -(history_months - 1)), min(kpis_by_month))
    months = months_between(first, month)
    kpis = kpi_values(kpis_by_month[month], kpis_by_month.get(previous_month), fmt)
    report_charts = _charts(rows, month, months, fmt)
    context.update(month=month_label(month), previous_month=month_label(previous_month))
    html = render_page(
        has_data=True,
        kpis=kpis,
        charts=report_charts,
        movements=movements_table(rows.movements, fmt),
        restatements=restatement_notes(rows.restatements, fmt),
        **context,
    )
    return Report(True, html, month, previous_month, kpis, report_charts)


def _sweep_stale_staging(parent: Path) -> None:
    cutoff = time.time() - STALE_STAGING_SECONDS
    for folder in parent.glob(f".*{STAGING_PREFIX}*"):
        if folder.is_dir() and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)


def publish(folder: Path, files: Mapping[str, bytes]) -> list[str]:
    """Replace the report in `folder` by `files` atomically file by file (charts, then the
    page); remove the report files the new one does not have. The removed names."""
    folder.mkdir(parents=True, exist_ok=True)
    _sweep_stale_staging(folder.parent)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}{STAGING_PREFIX}", dir=folder.parent))
    try:
        for name, content in files.items():
            (staging / name).write_bytes(content)
        for name in sorted(files, key=lambda n: n == INDEX):
            os.replace(staging / name, folder / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    removed = []
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix in PUBLISHED_SUFFIXES and path.name not in files:
            path.unlink()
            removed.append(path.name)
    return removed
