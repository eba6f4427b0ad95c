"""Report rows from mart rows: pure functions, no database (the SQL is in `queries.py`).

Every report covers one reporting month: `period_start` is the first instant of the month in
the reporting time zone and `period_end` the first instant of the next one (half-open), both
stored as UTC instants. Money is in the reporting currency; the `data` JSON keeps exact
numbers (see `json_number`). Rows in a month that could not be converted (no FX rate) are
left out of the sums and counted, with their original amounts, and make `complete` false.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from orchestration.markdown import markdown_table

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
Row = Mapping[str, Any]


@dataclass(frozen=True, order=True)
class Period:
    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        return f"{self.start.isoformat()}/{self.end.isoformat()}"


def month_period(month: date, time_zone: str) -> Period:
    """The reporting month starting on `month` as UTC instants [start, end)."""
    zone = ZoneInfo(time_zone)
    first = month.replace(day=1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    start = datetime(first.year, first.month, 1, tzinfo=zone).astimezone(UTC)
    end = datetime(following.year, following.month, 1, tzinfo=zone).astimezone(UTC)
    return Period(start, end)


def reporting_month(instant: datetime, time_zone: str) -> date:
    """The first day of the reporting month an instant falls in."""
    return instant.astimezone(ZoneInfo(time_zone)).date().replace(day=1)


def json_number(value: Decimal | int | None) -> float | int | str | None:
    """A number for the `data` JSON that PostgreSQL stores exactly.

    JSON numbers become `numeric` in jsonb: an int stays an int; a Decimal of at most 15
    significant digits (every numeric(15,2) and rate of the marts) goes out as a float whose
    shortest repr is exactly its decimal text; a longer one as a string.
    """
    if value is None or isinstance(value, int):
        return value
    _, digits, exponent = value.as_tuple()
    if isinstance(exponent, int) and exponent >= 0 and len(digits) + exponent <= 18:
        return int(value)
    if len(digits) <= 15:
        return float(value)
    return str(value)


def _money(value: Decimal | None) -> Decimal:
    return ZERO if value is None else value


# --- ceo_dashboard_metrics -----------------------------------------------------------------

CEO_SOURCE = "marts.ceo_kpis_monthly"


@dataclass(frozen=True)
class Metric:
    name: str
    metric_type: str  # revenue, users, performance, growth (the table's CHECK)
    unit: str  # currency, count, ratio (stored as a percentage)
    description: str


CEO_METRICS: tuple[Metric, ...] = (
    Metric("mrr", "revenue", "currency", "Monthly recurring revenue at the month's end"),
    Metric("arr", "revenue", "currency", "Annual run rate: MRR x 12"),
    Metric("arpa", "revenue", "currency", "Average MRR per paying customer"),
    Metric("ltv", "revenue", "currency", "ARPA / trailing 3-month customer churn rate"),
    Metric("gross_revenue", "revenue", "currency", "Completed payments"),
    Metric("refunds", "revenue", "currency", "Refunds, on the day they happened"),
    Metric(
        "chargebacks",
        "revenue",
        "currency",
        "Disputed funds withdrawn, less won disputes reinstated",
    ),
    Metric("net_revenue", "revenue", "currency", "Gross revenue - refunds - chargebacks"),
    Metric("commission_revenue", "revenue", "currency", "Net trading-commission revenue"),
    Metric("usage_revenue", "revenue", "currency", "Net usage-charge revenue"),
    Metric("active_customers", "users", "count", "Tenants with MRR > 0 at the month's end"),
    Metric("churned_customers", "users", "count", "Tenants whose MRR went to 0"),
    Metric("monthly_active_users", "users", "count", "Distinct users with a behaviour event"),
    Metric("new_customers", "growth", "count", "Tenants with their first MRR"),
    Metric("new_tenants", "growth", "count", "Tenants created in the month"),
    Metric("nrr_12m", "growth", "ratio", "Net revenue retention over 12 months"),
    Metric("customer_churn_rate", "performance", "ratio", "Churned / customers at start"),
    Metric("gross_mrr_churn_rate", "performance", "ratio", "(Churned + contraction) / start MRR"),
    Metric("net_mrr_churn_rate", "performance", "ratio", "Net MRR churn / start MRR"),
    Metric("grr_12m", "performance", "ratio", "Gross revenue retention over 12 months"),
)


def ceo_metric_rows(
    kpis: Iterable[Row], *, time_zone: str, currency: str, generated_by: UUID
) -> tuple[list[dict[str, Any]], int]:
    """(rows of ceo_dashboard_metrics, metrics left out because they are null).

    One row per metric and month. A rate whose denominator is 0 is null in the mart; the
    table's metric_value cannot be null and must not read 0, so that metric has no row.
    Rates are stored as percentages rounded to 0.01 (metric_value is numeric(15,2)); the
    exact ratio is in `metadata.value`.
    """
    rows: list[dict[str, Any]] = []
    skipped = 0
    for kpi in kpis:
        period = month_period(kpi["month"], time_zone)
        for metric in CEO_METRICS:
            value = kpi[metric.name]
            if value is None:
                skipped += 1
                continue
            exact = Decimal(value)
            shown = exact * 100 if metric.unit == "ratio" else exact
            rows.append(
                {
                    "metric_name": metric.name,
                    "metric_value": shown.quantize(CENT, ROUND_HALF_UP),
                    "metric_type": metric.metric_type,
                    "period_start": period.start,
                    "period_end": period.end,
                    "department_id": None,
                    "tenant_id": None,
                    "metadata": {
                        "source": CEO_SOURCE,
                        "column": metric.name,
                        "unit": {"currency": currency, "count": "count", "ratio": "percent"}[
                            metric.unit
                        ],
                        "value": json_number(exact),
                        "month": kpi["month"].isoformat(),
                        "description": metric.description,
                        "generated_by": str(generated_by),
                    },
                }
            )
    return rows, skipped


# --- financial_reports ---------------------------------------------------------------------

FINANCIAL_REPORT_TYPES = ("revenue", "expenses", "profit_loss", "cash_flow")
EXPENSES_BASIS = (
    "Direct costs of serving the tenant: the paid trading resources it used "
    "(marts.usage_trading_resources_daily). Company operating expenses "
    "(marts.finance_expenses_monthly) are not allocated to tenants; see "
    "marts.finance_pnl_monthly for the company P&L."
)


@dataclass
class _TenantMonth:
    lines: dict[str, dict[str, Any]]
    unconverted_transactions: int = 0
    unconverted_original: dict[str, Decimal] | None = None
    resources: dict[str, dict[str, Any]] | None = None
    mrr: Decimal | None = None
    movement: str | None = None

    def money(self, field: str) -> Decimal:
        return sum((line[field] for line in self.lines.values()), ZERO)


def financial_report_rows(
    revenue: Iterable[Row],
    mrr: Iterable[Row],
    costs: Iterable[Row],
    *,
    time_zone: str,
    currency: str,
    generated_by: UUID,
) -> list[dict[str, Any]]:
    """Rows of financial_reports: the four report types per tenant and month.

    `revenue`: per tenant, month, revenue_type and original currency: gross, refunds,
    chargebacks, net (null when unconverted), gross_original, transactions.
    `mrr`: per tenant and month: mrr, movement. `costs`: per tenant, month, resource_type:
    uses, units, usage_seconds, total_cost. A tenant has reports for every month with money,
    costs, or MRR (this month's or last month's).
    """
    months: dict[tuple[Any, date], _TenantMonth] = defaultdict(lambda: _TenantMonth(lines={}))
    for row in revenue:
        entry = months[(row["tenant_id"], row["month"])]
        if row["net"] is None:  # no FX rate for some day: flagged, not summed
            entry.unconverted_transactions += row["transactions"]
            original = entry.unconverted_original or {}
            code = row["currency_original"]
            original[code] = original.get(code, ZERO) + _money(row["gross_original"])
            entry.unconverted_original = original
            continue
        line = entry.lines.setdefault(
            row["revenue_type"],
            {"gross": ZERO, "refunds": ZERO, "chargebacks": ZERO, "net": ZERO, "transactions": 0},
        )
        line["gross"] += _money(row["gross"])
        line["refunds"] += _money(row["refunds"])
        line["chargebacks"] += _money(row["chargebacks"])
        line["net"] += _money(row["net"])
        line["transactions"] += row["transactions"]
    for row in mrr:
        if not (row["mrr"] or row["previous_mrr"]):
            continue
        entry = months[(row["tenant_id"], row["month"])]
        entry.mrr, entry.movement = row["mrr"], row["movement"]
    for row in costs:
        entry = months[(row["tenant_id"], row["month"])]
        entry.resources = entry.resources or {}
        entry.resources[row["resource_type"]] = {
            "uses": row["uses"],
            "units": int(row["units"]),
            "usage_seconds": int(row["usage_seconds"]),
            "cost": _money(row["total_cost"]),
        }

    rows: list[dict[str, Any]] = []
    cumulative: dict[Any, Decimal] = defaultdict(lambda: ZERO)
    for (tenant, month), entry in sorted(
        months.items(), key=lambda item: (str(item[0][0]), item[0][1])
    ):
        period = month_period(month, time_zone)
        complete = entry.unconverted_transactions == 0
        unconverted = {
            "transactions": entry.unconverted_transactions,
            "original": {
                code: json_number(amount)
                for code, amount in sorted((entry.unconverted_original or {}).items())
            },
        }
        gross, refunds = entry.money("gross"), entry.money("refunds")
        chargebacks, net = entry.money("chargebacks"), entry.money("net")
        resources = entry.resources or {}
        direct_costs = sum((r["cost"] for r in resources.values()), ZERO)
        contribution = net - direct_costs
        cash_out = refunds + chargebacks + direct_costs
        cumulative[tenant] += gross - cash_out
        head = {"month": month.isoformat(), "currency": currency, "complete": complete}
        data = {
            "revenue": {
                **head,
                "lines": {
                    kind: {k: json_number(v) for k, v in line.items()}
                    for kind, line in sorted(entry.lines.items())
                },
                "gross": json_number(gross),
                "refunds": json_number(refunds),
                "chargebacks": json_number(chargebacks),
                "net": json_number(net),
                "transactions": sum(line["transactions"] for line in entry.lines.values()),
                "mrr_end": json_number(entry.mrr if entry.mrr is not None else ZERO),
                "mrr_movement": entry.movement,
                "unconverted": unconverted,
            },
            "expenses": {
                **head,
                "basis": EXPENSES_BASIS,
                "trading_resources": {
                    kind: {k: json_number(v) for k, v in values.items()}
                    for kind, values in sorted(resources.items())
                },
                "total": json_number(direct_costs),
            },
            "profit_loss": {
                **head,
                "net_revenue": json_number(net),
                "direct_costs": json_number(direct_costs),
                "contribution": json_number(contribution),
                "contribution_margin": json_number(
                    (contribution / net).quantize(Decimal("0.000001"), ROUND_HALF_UP)
                    if net
                    else None
                ),
                "unconverted": unconverted,
            },
            "cash_flow": {
                **head,
                "basis": "payments and refunds/chargebacks on the day the money moved",
                "cash_in": json_number(gross),
                "refunds_paid": json_number(refunds),
                "chargebacks_paid": json_number(chargebacks),
                "direct_costs_paid": json_number(direct_costs),
                "cash_out": json_number(cash_out),
                "net_cash_flow": json_number(gross - cash_out),
                "cumulative_net_cash_flow": json_number(cumulative[tenant]),
                "unconverted": unconverted,
            },
        }
        for report_type in FINANCIAL_REPORT_TYPES:
            rows.append(
                {
                    "tenant_id": tenant,
                    "report_type": report_type,
                    "period_start": period.start,
                    "period_end": period.end,
                    "data": data[report_type],
                    "generated_by": generated_by,
                    "status": "completed",
                }
            )
    return rows


# --- compliance_reports --------------------------------------------------------------------

COMPLIANCE_REPORT_TYPES = ("lgpd", "gdpr")
# The law each report applies, and the days a controller has to answer a data-subject request.
FRAMEWORKS: dict[str, dict[str, Any]] = {
    "lgpd": {
        "law": "Lei 13.709/2018 (LGPD)",
        "authority": "ANPD",
        "request_deadline": "15 days (art. 19 II)",
        "request_deadline_days": 15,
    },
    "gdpr": {
        "law": "Regulation (EU) 2016/679 (GDPR)",
        "authority": "the lead supervisory authority",
        "request_deadline": "one month (art. 12(3))",
        "request_deadline_days": 30,
    },
}


def _by_month(rows: Iterable[Row]) -> dict[date, list[Row]]:
    grouped: dict[date, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[row["month"]].append(row)
    return grouped


def _counts(rows: Sequence[Row], key: str, value: str) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        counts[str(row[key])] += int(row[value])
    return dict(sorted(counts.items()))


def compliance_report_rows(
    audit: Iterable[Row],
    access: Iterable[Row],
    irregularities: Iterable[Row],
    requests: Iterable[Row],
    retention: Sequence[Row],
    *,
    as_of_month: date,
    time_zone: str,
    generated_by: UUID,
) -> list[dict[str, Any]]:
    """Rows of compliance_reports: an lgpd and a gdpr report per month.

    The facts are the same for both laws (the compliance marts do not depend on the law);
    each report adds its framework and judges the data-subject requests received in the month
    against its own deadline. The retention backlog is a snapshot of "now": it appears in the
    report of the month it was measured in.
    """
    audit_by, access_by = _by_month(audit), _by_month(access)
    irregular_by, requests_by = _by_month(irregularities), _by_month(requests)
    months = sorted(
        set(audit_by) | set(access_by) | set(irregular_by) | set(requests_by) | {as_of_month}
    )
    rows: list[dict[str, Any]] = []
    for month in months:
        period = month_period(month, time_zone)
        audit_rows, access_rows = audit_by.get(month, []), access_by.get(month, [])
        irregular_rows, request_rows = irregular_by.get(month, []), requests_by.get(month, [])
        resolved_hours = [
            (row["resolved"], row["avg_hours_to_resolve"])
            for row in irregular_rows
            if row["resolved"] and row["avg_hours_to_resolve"] is not None
        ]
        resolved_count = sum(n for n, _ in resolved_hours)
        facts: dict[str, Any] = {
            "month": month.isoformat(),
            "audit_activity": {
                "events": sum(int(r["events"]) for r in audit_rows),
                "personal_data_events": sum(int(r["personal_data_events"]) for r in audit_rows),
                "system_events": sum(int(r["system_events"]) for r in audit_rows),
                "by_action": _counts(audit_rows, "action", "events"),
            },
            "personal_data_access": {
                name: sum(int(r[name]) for r in access_rows)
                for name in (
                    "events",
                    "reads",
                    "changes",
                    "erasures",
                    "actors",
                    "records",
                    "system_actor_events",
                )
            },
            "irregularities": {
                "detected": sum(int(r["irregularities"]) for r in irregular_rows),
                "resolved": sum(int(r["resolved"]) for r in irregular_rows),
                "unresolved": sum(int(r["unresolved"]) for r in irregular_rows),
                "by_type": _counts(irregular_rows, "irregularity_type", "irregularities"),
                "by_severity": _counts(irregular_rows, "severity", "irregularities"),
                "avg_hours_to_resolve": json_number(
                    (
                        sum((Decimal(n) * hours for n, hours in resolved_hours), ZERO)
                        / resolved_count
                    ).quantize(CENT, ROUND_HALF_UP)
                    if resolved_count
                    else None
                ),
            },
        }
        if month == as_of_month:
            facts["retention_backlog"] = [
                {
                    "table": r["table_name"],
                    "retention": r["retention_period"],
                    "rows_past_retention": int(r["rows_past_retention"]),
                    "oldest_row_at": r["oldest_row_at"].isoformat() if r["oldest_row_at"] else None,
                    "measured_at": r["measured_at"].isoformat(),
                }
                for r in retention
            ]
        for report_type in COMPLIANCE_REPORT_TYPES:
            framework = FRAMEWORKS[report_type]
            deadline = Decimal(framework["request_deadline_days"])
            answered = [r for r in request_rows if r["days_to_answer"] is not None]
            open_rows = [r for r in request_rows if r["days_to_answer"] is None]
            data = {
                "framework": {k: v for k, v in framework.items()},
                **facts,
                "data_subject_requests": {
                    "received": len(request_rows),
                    "by_type": _counts(
                        [{**r, "one": 1} for r in request_rows], "request_type", "one"
                    ),
                    "answered": len(answered),
                    "answered_on_time": sum(1 for r in answered if r["days_to_answer"] <= deadline),
                    "answered_late": sum(1 for r in answered if r["days_to_answer"] > deadline),
                    "open": len(open_rows),
                    "open_past_deadline": sum(
                        1
                        for r in open_rows
                        if r["days_open"] is not None and r["days_open"] > deadline
                    ),
                    "erasures_carried_out": sum(
                        int(r["erasures_carried_out"]) for r in request_rows
                    ),
                },
            }
            rows.append(
                {
                    "report_type": report_type,
                    "period_start": period.start,
                    "period_end": period.end,
                    "status": "completed",
                    "data": data,
                    "generated_by": generated_by,
                }
            )
    return rows


# --- previews (asset metadata) -------------------------------------------------------------


def latest_period(rows: Sequence[Row]) -> Period | None:
    periods = {Period(r["period_start"], r["period_end"]) for r in rows}
    return max(periods) if periods else None


def ceo_preview(rows: Sequence[Row]) -> str:
    latest = latest_period(rows)
    if latest is None:
        return "no metrics: the marts are empty"
    lines = [
        (r["metric_name"], r["metric_type"], r["metric_value"], r["metadata"]["unit"])
        for r in rows
        if (r["period_start"], r["period_end"]) == (latest.start, latest.end)
    ]
    month = next(r["metadata"]["month"] for r in rows if r["period_start"] == latest.start)
    title = f"**{month}** (latest month)\n\n"
    return title + markdown_table(("metric", "type", "value", "unit"), lines)


def financial_preview(rows: Sequence[Row], limit: int = 20) -> str:
    latest = latest_period(rows)
    if latest is None:
        return "no reports: no tenant has money, costs or MRR in the marts"
    by_tenant: dict[str, dict[str, Any]] = defaultdict(dict)
    for r in rows:
        if r["period_start"] == latest.start:
            by_tenant[str(r["tenant_id"])][r["report_type"]] = r["data"]
    lines = [
        (
            tenant,
            data["revenue"]["net"],
            data["revenue"]["mrr_end"],
            data["expenses"]["total"],
            data["profit_loss"]["contribution"],
            data["cash_flow"]["net_cash_flow"],
            "yes" if data["revenue"]["complete"] else "no (unconverted)",
        )
        for tenant, data in sorted(by_tenant.items())[:limit]
    ]
    month = next(iter(by_tenant.values()))["revenue"]["month"]
    return f"**{month}** (latest month, first {limit} tenants)\n\n" + markdown_table(
        ("tenant", "net revenue", "MRR", "direct costs", "contribution", "net cash", "complete"),
        lines,
    )


def compliance_preview(rows: Sequence[Row]) -> str:
    latest = latest_period(rows)
    if latest is None:
        return "no reports"
    lines = []
    for r in rows:
        if r["period_start"] != latest.start:
            continue
        data = r["data"]
        requests = data["data_subject_requests"]
        lines.append(
            (
                r["report_type"],
                data["audit_activity"]["events"],
                data["personal_data_access"]["events"],
                data["irregularities"]["detected"],
                requests["received"],
                requests["answered_late"] + requests["open_past_deadline"],
            )
        )
    month = next(r["data"]["month"] for r in rows if r["period_start"] == latest.start)
    return f"**{month}** (latest month)\n\n" + markdown_table(
        ("report", "audit events", "personal-data access", "irregularities", "requests", "late"),
        lines,
    )
