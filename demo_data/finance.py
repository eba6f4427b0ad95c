"""FX rates to BRL and the company's operating expenses.

FX: USD/BRL and EUR/BRL for every Brazilian business day (no weekends, no national holidays),
from a week before the window to its end. USD/BRL is a mean-reverting log random walk
around 5.3 (daily volatility ~0.7 %), EUR/USD one around 1.09; EUR/BRL is their product.
Four decimals, one CSV per month: `fx_rates/rates_YYYY-MM.csv` (date, currency, rate).

Expenses: per month, `expenses/expenses_YYYY-MM.csv` (date, category, vendor, amount,
currency, description, expense_id), dated on the day each is paid and never after the
window: payroll (a headcount growing from 6 to 15, paid on the 5th business day), payroll
taxes and benefits, the recurring vendors of `catalog.RECURRING_EXPENSES` (cloud in USD,
software, office, accounting, the outsourced DPO, content production), growing with the
business; paid media (Google, Meta, Microsoft, TikTok Ads) from the paid clicks the web
traffic actually received times a cost per click; affiliate payouts for last month's
referral conversions; payment fees from the month's successful Stripe charges in their own
currency (percent + fixed per charge, plus a fee per dispute); and the Simples Nacional
tax (DAS) on last month's gross revenue (every successful charge, commissions included).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import polars as pl

from core import reporting_calendar
from demo_data import catalog
from demo_data.billing import BillingResult
from demo_data.seeding import stream
from demo_data.world import BRT, World, add_months

CENT = Decimal("0.01")
RATE = Decimal("0.0001")


def _money(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


def business_days(first: date, last: date) -> list[date]:
    holidays = reporting_calendar.holidays("BR", first, last)
    days, day = [], first
    while day <= last:
        if day.weekday() < 5 and day not in holidays:
            days.append(day)
        day += timedelta(days=1)
    return days


@dataclass
class FxRates:
    """Rates to BRL by business day; `rate(currency, day)` uses the last rate on or before."""

    days: list[date]
    usd: list[Decimal]
    eur: list[Decimal]
    _index: dict[date, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._index = {day: n for n, day in enumerate(self.days)}

    def rate(self, currency: str, day: date) -> Decimal:
        if currency.upper() == "BRL":
            return Decimal(1)
        probe = day
        while probe not in self._index and probe > self.days[0]:
            probe -= timedelta(days=1)
        n = self._index.get(probe, 0)
        return self.usd[n] if currency.upper() == "USD" else self.eur[n]

    def files(self) -> dict[str, pl.DataFrame]:
        frame = pl.DataFrame(
            {
                "date": [d for d in self.days for _ in range(2)],
                "currency": ["USD", "EUR"] * len(self.days),
                "rate": [str(r) for pair in zip(self.usd, self.eur, strict=True) for r in pair],
            }
        ).with_columns(pl.col("date").cast(pl.String))
        months = frame.with_columns(pl.col("date").str.slice(0, 7).alias("_month"))
        return {
            month: part.drop("_month")
            for (month,), part in months.group_by("_month", maintain_order=True)
        }


def fx_rates(world: World) -> FxRates:
    rng = stream(world.seed, "fx")
    days = business_days(world.window.first - timedelta(days=7), world.window.last)
    n = len(days)
    usd_log = np.empty(n)
    eur_usd_log = np.empty(n)
    usd_log[0] = math.log(float(rng.uniform(4.95, 5.6)))
    eur_usd_log[0] = math.log(float(rng.uniform(1.05, 1.12)))
    for i in range(1, n):
        usd_log[i] = (
            usd_log[i - 1] + 0.02 * (math.log(5.3) - usd_log[i - 1]) + rng.normal(0, 0.0072)
        )
        eur_usd_log[i] = (
            eur_usd_log[i - 1]
            + 0.02 * (math.log(1.09) - eur_usd_log[i - 1])
            + rng.normal(0, 0.0042)
        )
    usd = [Decimal(f"{math.exp(x):.4f}") for x in usd_log]
    eur = [Decimal(f"{math.exp(x + y):.4f}") for x, y in zip(usd_log, eur_usd_log, strict=True)]
    return FxRates(days, usd, eur)


def _nth_business_day(month: date, n: int) -> date:
    days = business_days(month, add_months(month, 1) - timedelta(days=1))
    return days[min(n, len(days)) - 1]


def _day(month: date, day: int) -> date:
    last = (add_months(month, 1) - timedelta(days=1)).day
    return month.replace(day=min(day, last))


def expenses(
    world: World,
    billing: BillingResult,
    fx: FxRates,
    paid_clicks: Mapping[tuple[str, str], int],
    referral_conversions: Mapping[str, Mapping[str, int]],
    reward_per_conversion: Mapping[str, Decimal],
) -> dict[str, pl.DataFrame]:
    """Expense rows per month ("YYYY-MM" -> frame)."""
    rng = stream(world.seed, "expenses")
    window = world.window
    months = window.months()
    revenue = _revenue_by_month(billing, fx)
    fees = _fees_by_month(billing)
    # The company's size follows its customer base: 100 tenants -> the catalogue's amounts.
    size = min(max(len(world.tenants) / 100, 0.15), 10.0)
    out: dict[str, pl.DataFrame] = {}
    for number, month in enumerate(months):
        key = month.strftime("%Y-%m")
        progress = number / max(len(months) - 1, 1)
        rows: list[tuple[date, str, str, Decimal, str, str | None]] = []
        staff_start, staff_end = (max(2, round(n * size)) for n in catalog.HEADCOUNT)
        headcount = round(staff_start + (staff_end - staff_start) * progress)
        payroll = _money(
            headcount * catalog.AVERAGE_SALARY_BRL * (1 + 0.03 * progress) * rng.uniform(0.98, 1.02)
        )
        payday = _nth_business_day(month, 5)
        rows.append(
            (
                payday,
                "payroll",
                "Folha de pagamento",
                payroll,
                "BRL",
                f"Salários ({headcount} pessoas)",
            )
        )
        rows.append(
            (
                _day(month, 20),
                "payroll",
                "INSS e FGTS",
                _money(payroll * Decimal("0.358")),
                "BRL",
                "Encargos sobre a folha",
            )
        )
        rows.append(
            (
                _day(month, 1),
                "benefits",
                "Flash Benefícios",
                _money(headcount * 1450 * rng.uniform(0.97, 1.03)),
                "BRL",
                "Vale-refeição e vale-alimentação",
            )
        )
        rows.append(
            (
                _day(month, 10),
                "benefits",
                "SulAmérica Saúde",
                _money(headcount * 890.0),
                "BRL",
                "Plano de saúde empresarial",
            )
        )
        for category, vendor, currency, description, day, low, high in catalog.RECURRING_EXPENSES:
            amount = (low + (high - low) * progress) * rng.uniform(0.94, 1.06) * size
            rows.append((_day(month, day), category, vendor, _money(amount), currency, description))
        # Paid media billed at the month's end from the clicks received.
        spend: dict[str, float] = {}
        for (clicks_month, network), clicks in sorted(paid_clicks.items()):
            if clicks_month != key:
                continue
            cpc = {**catalog.SEARCH_ENGINE_CPC_BRL, **catalog.SOCIAL_CPC_BRL}.get(network, 1.2)
            vendor = {
                "google": "Google Ads",
                "youtube": "Google Ads",
                "bing": "Microsoft Advertising",
                "facebook": "Meta Ads",
                "instagram": "Meta Ads",
                "tiktok": "TikTok Ads",
            }.get(network, "Google Ads")
            spend[vendor] = spend.get(vendor, 0.0) + clicks * cpc * float(rng.uniform(0.9, 1.1))
        month_end = min(add_months(month, 1) - timedelta(days=1), window.last)
        for vendor, amount in sorted(spend.items()):
            if amount >= 1:
                rows.append(
                    (month_end, "marketing", vendor, _money(amount), "BRL", "Mídia paga do mês")
                )
        # Affiliate payouts for last month's referral conversions (cash and credit rewards).
        previous = add_months(month, -1).strftime("%Y-%m")
        payout = sum(
            (
                reward_per_conversion.get(code, Decimal(0)) * count
                for code, count in referral_conversions.get(previous, {}).items()
            ),
            Decimal(0),
        )
        if payout > 0:
            rows.append(
                (
                    _day(month, 10),
                    "marketing",
                    "Programa de afiliados",
                    _money(payout),
                    "BRL",
                    "Recompensas de indicações do mês anterior",
                )
            )
        for currency, fee in sorted(fees.get(key, {}).items()):
            rows.append(
                (
                    month_end,
                    "payment_fees",
                    "Stripe",
                    _money(fee),
                    currency,
                    "Tarifas de processamento e disputas",
                )
            )
        if revenue.get(previous, Decimal(0)) > 0:
            rows.append(
                (
                    _day(month, 20),
                    "taxes",
                    "Receita Federal (DAS)",
                    _money(revenue[previous] * Decimal("0.112")),
                    "BRL",
                    f"Simples Nacional sobre a receita de {previous}",
                )
            )
        rows = sorted(
            (r for r in rows if window.first <= r[0] <= window.last),
            key=lambda r: (r[0], r[1], r[2]),
        )
        if not rows:
            continue
        out[key] = pl.DataFrame(
            {
                "date": [r[0].isoformat() for r in rows],
                "category": [r[1] for r in rows],
                "vendor": [r[2] for r in rows],
                "amount": [f"{r[3]:.2f}" for r in rows],
                "currency": [r[4] for r in rows],
                "description": [r[5] for r in rows],
                "expense_id": [f"exp-{key.replace('-', '')}-{n + 1:03d}" for n in range(len(rows))],
            }
        )
    return out


def _revenue_by_month(billing: BillingResult, fx: FxRates) -> dict[str, Decimal]:
    """Gross revenue in BRL per month: every successful charge (subscriptions, commissions,
    metered usage, one-offs), converted at its day's rate."""
    revenue: dict[str, Decimal] = {}
    for charge in billing.charges:
        at = _local_date(charge.created)
        key = at.strftime("%Y-%m")
        amount = Decimal(charge.amount) / 100 * fx.rate(charge.currency, at)
        revenue[key] = revenue.get(key, Decimal(0)) + amount
    return revenue


def _fees_by_month(billing: BillingResult) -> dict[str, dict[str, Decimal]]:
    fees: dict[str, dict[str, Decimal]] = {}
    for charge in billing.charges:
        key = _local_date(charge.created).strftime("%Y-%m")
        currency = charge.currency.upper()
        percent, fixed = catalog.PAYMENT_FEES[currency]
        month = fees.setdefault(key, {})
        month[currency] = (
            month.get(currency, Decimal(0)) + Decimal(charge.amount) / 100 * percent + fixed
        )
    for _, opened, _, _ in billing.disputes:
        key = _local_date(opened).strftime("%Y-%m")
        month = fees.setdefault(key, {})
        month["BRL"] = month.get("BRL", Decimal(0)) + catalog.DISPUTE_FEE_BRL
    return fees


def _local_date(ts: int) -> date:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).astimezone(BRT).date()
