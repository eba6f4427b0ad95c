"""The CEO report's numbers from mart rows: pure functions, no database, no drawing.

Conventions of the whole report (page, charts, Dagster metadata):
- months are ISO `YYYY-MM`;
- money is in the reporting currency, written the way that currency's home market writes it
  (BRL: `R$ 1.234,56`; USD: `US$ 1,234.56`; EUR: `€ 1.234,56`; others: `<code> 1,234.56`);
- rates are percentages with one decimal (`4,2%` in BRL's convention); a change of a rate is
  in percentage points (`p.p.`); a value the marts leave null (a zero denominator) is `—`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

Row = Mapping[str, Any]
Kind = Literal["money", "count", "rate"]
MISSING = "—"


# --- formatting ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NumberFormat:
    symbol: str
    thousands: str
    decimal: str

    def number(self, value: Decimal | float | int, places: int = 2) -> str:
        quantum = Decimal(1).scaleb(-places)
        rounded = Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP)
        sign = "-" if rounded < 0 else ""
        whole, _, fraction = f"{abs(rounded):.{places}f}".partition(".")
        groups: list[str] = []
        while len(whole) > 3:
            groups.insert(0, whole[-3:])
            whole = whole[:-3]
        groups.insert(0, whole)
        text = self.thousands.join(groups)
        return f"{sign}{text}{self.decimal}{fraction}" if places else f"{sign}{text}"

    def money(self, value: Decimal | float | int | None, *, signed: bool = False) -> str:
        if value is None:
            return MISSING
        text = self.number(abs(Decimal(str(value))))
        sign = "-" if value < 0 else ("+" if signed and value > 0 else "")
        return f"{sign}{self.symbol} {text}"

    def money_compact(self, value: float) -> str:
        """Axis ticks: `R$ 12,5k`, `R$ 1,2M`."""
        size = abs(value)
        for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
            if size >= threshold:
                scaled = self.number(value / threshold, 1 if size < threshold * 100 else 0)
                return f"{self.symbol} {scaled}{suffix}"
        return f"{self.symbol} {self.number(value, 0)}"

    def count(self, value: int | float | None, *, signed: bool = False) -> str:
        if value is None:
            return MISSING
        text = self.number(value, 0)
        return f"+{text}" if signed and value > 0 else text

    def percent(
        self, value: Decimal | float | None, places: int = 1, *, signed: bool = False
    ) -> str:
        """A ratio (0.042) as a percentage (`4,2%`)."""
        if value is None:
            return MISSING
        text = self.number(Decimal(str(value)) * 100, places)
        return f"+{text}%" if signed and value > 0 else f"{text}%"

    def points(self, value: Decimal | float | None) -> str:
        """A change of a ratio in percentage points (`+0,5 p.p.`)."""
        if value is None:
            return MISSING
        text = self.number(Decimal(str(value)) * 100, 1)
        return f"+{text} p.p." if value > 0 else f"{text} p.p."

    def value(self, kind: Kind, value: Any, *, signed: bool = False) -> str:
        if kind == "money":
            return self.money(value, signed=signed)
        if kind == "count":
            return self.count(value, signed=signed)
        return self.percent(value) if not signed else self.points(value)


FORMATS = {
    "BRL": NumberFormat("R$", ".", ","),
    "USD": NumberFormat("US$", ",", "."),
    "EUR": NumberFormat("€", ".", ","),
    "GBP": NumberFormat("£", ",", "."),
}


def number_format(currency: str) -> NumberFormat:
    return FORMATS.get(currency, NumberFormat(currency, ",", "."))


def month_label(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def parse_month(text: str) -> date:
    """`2026-10` (or a full date in that month) -> 2026-10-01."""
    parts = text.strip().split("-")
    if len(parts) < 2:
        raise ValueError(f"{text!r} is not a month like 2026-10")
    return date(int(parts[0]), int(parts[1]), 1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


# --- the report month and the KPI header -------------------------------------------------


def report_month(months: Sequence[date], today: date, requested: date | None = None) -> date | None:
    """The month the report is about: the one asked for, else the last full month with data
    (before today's month), else the latest month with data; None without data."""
    if requested is not None:
        return requested if requested in months else None
    if not months:
        return None
    current = today.replace(day=1)
    full = [m for m in months if m < current]
    return max(full) if full else max(months)


@dataclass(frozen=True)
class Kpi:
    column: str
    label: str
    kind: Kind
    higher_is_better: bool = True


KPIS = (
    Kpi("mrr", "MRR", "money"),
    Kpi("arr", "ARR", "money"),
    Kpi("active_customers", "Active customers", "count"),
    Kpi("arpa", "ARPA", "money"),
    Kpi("customer_churn_rate", "Customer churn", "rate", higher_is_better=False),
    Kpi("nrr_12m", "NRR (12 months)", "rate"),
    Kpi("net_revenue", "Net revenue", "money"),
)


@dataclass(frozen=True)
class KpiValue:
    label: str
    value: str
    previous: str
    delta: str  # absolute change (p.p. for rates)
    delta_relative: str  # % change for money and counts, empty for rates
    tone: Literal["good", "bad", "flat", "none"]


def _delta(current: Any, previous: Any) -> Decimal | None:
    if current is None or previous is None:
        return None
    return Decimal(str(current)) - Decimal(str(previous))


def kpi_values(current: Row, previous: Row | None, fmt: NumberFormat) -> list[KpiValue]:
    """The header: each KPI of the report month and its change since the month before."""
    values = []
    for kpi in KPIS:
        now = current.get(kpi.column)
        before = previous.get(kpi.column) if previous else None
        delta = _delta(now, before)
        relative = ""
        if kpi.kind != "rate" and delta is not None and before:
            relative = fmt.percent(delta / Decimal(str(before)), signed=True)
        if delta is None:
            tone: Literal["good", "bad", "flat", "none"] = "none"
        elif delta == 0:
            tone = "flat"
        else:
            tone = "good" if (delta > 0) == kpi.higher_is_better else "bad"
        values.append(
            KpiValue(
                label=kpi.label,
                value=fmt.value(kpi.kind, now),
                previous=fmt.value(kpi.kind, before),
                delta=fmt.value(kpi.kind, delta, signed=True),
                delta_relative=relative,
                tone=tone,
            )
        )
    return values


def kpi_markdown(values: Sequence[KpiValue], month: date, previous_month: date) -> str:
    lines = [
        f"| KPI | {month_label(month)} | {month_label(previous_month)} | change | % |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {v.label} | {v.value} | {v.previous} | {v.delta} | {v.delta_relative or '-'} |"
        for v in values
    ]
    return "\n".join(lines)


# --- series for the charts -----------------------------------------------------------------


@dataclass(frozen=True)
class WaterfallStep:
    label: str
    amount: Decimal  # signed: what the step adds to the running total
    total: bool = False  # the starting and ending bars stand on zero


MOVEMENT_STEPS = (
    ("new_mrr", "New", 1),
    ("expansion_mrr", "Expansion", 1),
    ("reactivation_mrr", "Reactivation", 1),
    ("contraction_mrr", "Contraction", -1),
    ("churned_mrr", "Churn", -1),
)


def waterfall_steps(movement: Row) -> list[WaterfallStep]:
    """Starting MRR, the five movements (contraction and churn are positive in the mart and
    subtract), ending MRR."""
    steps = [WaterfallStep("Starting", Decimal(movement["starting_mrr"]), total=True)]
    steps += [
        WaterfallStep(label, sign * Decimal(movement[column] or 0))
        for column, label, sign in MOVEMENT_STEPS
    ]
    steps.append(WaterfallStep("Ending", Decimal(movement["ending_mrr"]), total=True))
    return steps


@dataclass(frozen=True)
class Series:
    """Values by month for several named lines or stacks, in a fixed order."""

    months: list[date]
    values: dict[str, list[float]]

    @property
    def empty(self) -> bool:
        return not self.months or not any(
            v and not math.isnan(v) for values in self.values.values() for v in values
        )


def pivot(
    rows: Sequence[Row], months: Sequence[date], key: str, value: str, order: Sequence[str] = ()
) -> Series:
    """`rows` of (month, key, value) as one list per key over `months` (0 where absent);
    keys in `order` first, then the others by their total, largest first."""
    sums: dict[str, dict[date, float]] = defaultdict(dict)
    for row in rows:
        if row["month"] in months and row[value] is not None:
            sums[str(row[key])][row["month"]] = float(row[value])
    totals = {k: sum(v.values()) for k, v in sums.items()}
    keys = [k for k in order if k in sums]
    keys += sorted((k for k in sums if k not in keys), key=lambda k: -abs(totals[k]))
    return Series(list(months), {k: [sums[k].get(m, 0.0) for m in months] for k in keys})


def column_series(rows: Sequence[Row], months: Sequence[date], columns: Sequence[str]) -> Series:
    """Columns of month rows as lines; a null stays a gap (NaN)."""
    by_month = {row["month"]: row for row in rows}
    values = {
        column: [
            float(by_month[m][column])
            if m in by_month and by_month[m].get(column) is not None
            else float("nan")
            for m in months
        ]
        for column in columns
    }
    return Series(list(months), values)


def months_between(first: date, last: date) -> list[date]:
    months = []
    month = first
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    return months


def kind_of(metric: str) -> Kind:
    """How a column of ceo_kpis_monthly is shown: a rate, a count or money."""
    if metric.endswith("_rate") or metric in ("nrr_12m", "grr_12m"):
        return "rate"
    if metric.endswith(("_customers", "_tenants", "_users")):
        return "count"
    return "money"


def restatement_notes(rows: Sequence[Row], fmt: NumberFormat) -> list[dict[str, str]]:
    """Closed-month figures that changed after they were first reported, newest month first."""
    labels = {kpi.column: kpi.label for kpi in KPIS}
    return [
        {
            "month": month_label(row["month"]),
            "metric": labels.get(row["metric"], row["metric"].replace("_", " ")),
            "first": fmt.value(kind_of(row["metric"]), row["first_reported_value"]),
            "now": fmt.value(kind_of(row["metric"]), row["new_value"]),
            "cause": row["cause"],
            "when": row["restated_at"].strftime("%Y-%m-%d %H:%M UTC"),
        }
        for row in rows
    ]


def movements_table(rows: Sequence[Row], fmt: NumberFormat, last: int = 6) -> list[dict[str, str]]:
    """The MRR roll-forward of the last months, formatted, newest first."""
    table = []
    for row in sorted(rows, key=lambda r: r["month"], reverse=True)[:last]:
        table.append(
            {
                "month": month_label(row["month"]),
                "starting": fmt.money(row["starting_mrr"]),
                "new": fmt.money(row["new_mrr"]),
                "expansion": fmt.money(row["expansion_mrr"]),
                "reactivation": fmt.money(row["reactivation_mrr"]),
                "contraction": fmt.money(-Decimal(row["contraction_mrr"] or 0)),
                "churn": fmt.money(-Decimal(row["churned_mrr"] or 0)),
                "ending": fmt.money(row["ending_mrr"]),
                "customers": f"{row['customers_start']} → {row['customers_end']}",
            }
        )
    return table
