"""Parsing of the CSV sources: usage, trading, fx_rates, expenses."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl

from ingestion.parsing.contract import ParseContext
from ingestion.sources.expenses import SOURCE as EXPENSES
from ingestion.sources.fx_rates import SOURCE as FX_RATES
from ingestion.sources.trading import SOURCE as TRADING
from ingestion.sources.usage import SOURCE as USAGE

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "landing"
TENANT = "11111111-1111-4111-8111-111111111111"
USER = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
OTHER_TENANT = "22222222-2222-4222-8222-222222222222"
OTHER_USER = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
CONTEXT = ParseContext(
    known_tenant_ids=frozenset({TENANT, OTHER_TENANT}),
    known_user_ids=frozenset({USER, OTHER_USER}),
    plans={},
)


def test_usage_fixture_maps_to_platform_usage_tracking():
    parsed = USAGE.parse(
        (FIXTURES / "usage/usage_2026-01-05.csv").read_bytes(), "usage.csv", CONTEXT
    )
    rows = parsed.tables["public.platform_usage_tracking"]
    assert (parsed.records_in, rows.height, parsed.rejects) == (6, 6, [])
    assert rows.schema["usage_value"] == pl.Decimal(15, 2)
    assert rows.schema["created_at"] == pl.Datetime("us", "UTC")
    first = rows.row(3, named=True)
    assert first["source_record_id"] == "use-0004"
    assert first["usage_count"] == 1  # empty: the default
    assert first["period_start"] == datetime(2026, 1, 5, 3, tzinfo=UTC)
    assert parsed.min_event_at == datetime(2026, 1, 6, 0, 5, tzinfo=UTC)
    assert parsed.max_event_at == datetime(2026, 1, 6, 3, 5, tzinfo=UTC)


def test_usage_refuses_a_period_that_ends_before_it_starts():
    data = (
        "usage_event_id,tenant_id,user_id,resource_type,period_start,period_end,recorded_at\n"
        f"e,{TENANT.upper()},{USER},bots,2026-01-02T00:00:00Z,2026-01-01T00:00:00Z,"
        "2026-01-02T00:00:00Z\n"
    ).encode()
    parsed = USAGE.parse(data, "u.csv", CONTEXT)
    assert [r.reason for r in parsed.rejects] == [
        "period_end '2026-01-01T00:00:00Z' is before period_start '2026-01-02T00:00:00Z'"
    ]


def test_trading_fills_give_commissions_and_resource_usage():
    parsed = TRADING.parse(
        (FIXTURES / "trading/fills_2026-01.csv").read_bytes(), "fills.csv", CONTEXT
    )
    commissions = parsed.tables["public.trading_commissions"]
    resources = parsed.tables["public.trading_resource_usage"]
    assert (commissions.height, resources.height) == (5, 3)
    # Ordered by fill time (09:15-03:00 is 12:15 UTC), so the first of a repeated fill wins.
    assert commissions["source_record_id"].to_list() == [
        "fill-0001",
        "fill-0002",
        "fill-0003",
        "fill-0004",
        "fill-0005",
    ]
    assert commissions["trade_date"].is_sorted()
    costs = dict(zip(resources["source_record_id"], resources["total_cost"], strict=True))
    assert costs == {
        "fill-0001": Decimal("0.12"),
        "fill-0002": Decimal("0.37"),
        "fill-0004": Decimal("0.05"),
    }
    assert set(resources["billing_period_start"].to_list()) == {datetime(2026, 1, 1, tzinfo=UTC)}
    assert set(resources["billing_period_end"].to_list()) == {datetime(2026, 2, 1, tzinfo=UTC)}


def test_trading_total_cost_rounds_half_up():
    header = (
        "fill_id,tenant_id,user_id,trade_id,asset_type,trade_amount,profit_amount,"
        "commission_rate,commission_amount,filled_at,resource_type,resource_seconds,"
        "resource_units,resource_unit_cost\n"
    )
    line = f"f,{TENANT},{USER},t,crypto,1.00,0,0,0,2026-01-05T00:00:00Z,backtesting,1,1,0.0050\n"
    parsed = TRADING.parse((header + line).encode(), "f.csv", CONTEXT)
    assert parsed.tables["public.trading_resource_usage"]["total_cost"].to_list() == [
        Decimal("0.01")
    ]


def test_fx_rates_rows_are_typed():
    data = b"date,currency,rate\n2026-01-05,USD,5.4321\n2026-01-05,BRL,1\n"
    parsed = FX_RATES.parse(data, "r.csv", CONTEXT)
    assert parsed.tables["raw.fx_rates"].to_dicts() == [
        {"rate_date": date(2026, 1, 5), "currency": "USD", "rate": Decimal("5.43210000")},
        {"rate_date": date(2026, 1, 5), "currency": "BRL", "rate": Decimal("1.00000000")},
    ]
    assert parsed.min_event_at == parsed.max_event_at == datetime(2026, 1, 5, tzinfo=UTC)


def test_fx_rates_reporting_currency_row_must_be_one():
    parsed = FX_RATES.parse(b"date,currency,rate\n2026-01-05,USD,2\n", "r.csv", CONTEXT)
    assert parsed.rejects == []
    usd = ParseContext(frozenset(), frozenset(), {}, reporting_currency="USD")
    parsed = FX_RATES.parse(b"date,currency,rate\n2026-01-05,USD,2\n", "r.csv", usd)
    assert parsed.rejects[0].reason == "rate '2' must be 1 for the reporting currency USD"


def test_expenses_without_an_id_get_a_stable_hash_of_the_normalised_row():
    header = "date,category,vendor,amount,currency,description\n"
    one = EXPENSES.parse(
        (header + "2026-01-10,Office,Papelaria,15.9,BRL,Pens\n").encode(), "e.csv", CONTEXT
    )
    two = EXPENSES.parse(
        (header + "2026-01-10,office, Papelaria ,15.90,BRL,Pens\n").encode(), "e.csv", CONTEXT
    )
    ids = [p.tables["raw.expenses"]["source_record_id"][0] for p in (one, two)]
    assert ids[0] == ids[1]
    assert ids[0].startswith("sha256:")
    assert len(ids[0]) == len("sha256:") + 64
    other = EXPENSES.parse(
        (header + "2026-01-10,office,Papelaria,15.91,BRL,Pens\n").encode(), "e.csv", CONTEXT
    )
    assert other.tables["raw.expenses"]["source_record_id"][0] != ids[0]


def test_expenses_keep_their_own_id():
    parsed = EXPENSES.parse(
        (FIXTURES / "expenses/expenses_2026-01.csv").read_bytes(), "e.csv", CONTEXT
    )
    rows = parsed.tables["raw.expenses"]
    assert rows["source_record_id"].to_list()[:3] == ["exp-0001", "exp-0002", "exp-0003"]
    assert rows["category"].to_list()[0] == "infrastructure"
    assert rows["description"].to_list()[0] == "EC2, RDS and S3"
