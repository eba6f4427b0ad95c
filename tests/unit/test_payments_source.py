"""The payments source (Stripe events) without a database: parse, derive, reject.

The fixtures in tests/fixtures/landing/payments/ (built by build_fixtures.py there) reference
the tenants, users and plans below. Integration tests that load them must first insert:
- tenants TENANTS (A-E) and users USERS (A1, A2 in tenant A; B1, C1, D1, E1 in theirs);
- subscription_plans PLANS, with these ids, slugs, prices, currencies, billing cycles and
  stripe_price_ids.
events_2025q1.jsonl then gives 62 records (59 distinct events, 3 delivered twice), 19
financial_transactions (15 payments, 2 refunds, 2 chargebacks), 5 billing_subscriptions and
17 raw.subscription_events; bad_events.jsonl gives 26 records, 24 rejects and 2 events.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import UniqueConstraint

from core.db import schema
from ingestion.parsing.contract import ParseContext, Parsed
from ingestion.sources.payments import (
    BILLING_SUBSCRIPTIONS,
    FINANCIAL_TRANSACTIONS,
    SCHEMAS,
    SOURCE,
    STRIPE_EVENTS,
    SUBSCRIPTION_EVENTS,
    KnownCharge,
    PaymentsContext,
    referenced_charge_ids,
)
from ingestion.sources.stripe_objects import (
    DISPUTE_STATUS,
    SUBSCRIPTION_STATUS,
    RecordError,
    currency,
    to_major,
)
from tests.fixtures.landing.payments.build_fixtures import BASIL
from tests.fixtures.landing.payments.build_fixtures import event as fixture_event

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "landing" / "payments"
GOOD = FIXTURES / "events_2025q1.jsonl"
BAD = FIXTURES / "bad_events.jsonl"

TENANTS = {
    "A": "11111111-1111-4111-8111-111111111111",
    "B": "22222222-2222-4222-8222-222222222222",
    "C": "33333333-3333-4333-8333-333333333333",
    "D": "44444444-4444-4444-8444-444444444444",
    "E": "55555555-5555-4555-8555-555555555555",
}
USERS = {  # user -> its tenant
    "aaaaaaaa-aaaa-4aaa-8aaa-000000000001": "A",
    "aaaaaaaa-aaaa-4aaa-8aaa-000000000002": "A",
    "bbbbbbbb-bbbb-4bbb-8bbb-000000000001": "B",
    "cccccccc-cccc-4ccc-8ccc-000000000001": "C",
    "dddddddd-dddd-4ddd-8ddd-000000000001": "D",
    "eeeeeeee-eeee-4eee-8eee-000000000001": "E",
}
USER_A1, USER_A2, USER_B1, USER_C1, USER_D1, USER_E1 = USERS
PLANS: list[dict[str, Any]] = [
    {
        "id": "5a000000-0000-4000-8000-000000000001",
        "slug": "starter",
        "price": Decimal("99.90"),
        "currency": "BRL",
        "billing_cycle": "monthly",
        "stripe_price_id": "price_1QStarterBRLMonthly",
    },
    {
        "id": "5a000000-0000-4000-8000-000000000002",
        "slug": "pro",
        "price": Decimal("199.90"),
        "currency": "BRL",
        "billing_cycle": "monthly",
        "stripe_price_id": "price_1QProBRLMonthly",
    },
    {
        "id": "5a000000-0000-4000-8000-000000000003",
        "slug": "pro-quarterly",
        "price": Decimal("539.70"),
        "currency": "BRL",
        "billing_cycle": "quarterly",
        "stripe_price_id": "price_1QProBRLQuarterly",
    },
    {
        "id": "5a000000-0000-4000-8000-000000000004",
        "slug": "enterprise-yearly",
        "price": Decimal("1999.00"),
        "currency": "USD",
        "billing_cycle": "yearly",
        "stripe_price_id": "price_1QEntUSDYearly",
    },
    {
        "id": "5a000000-0000-4000-8000-000000000005",
        "slug": "pro-jpy",
        "price": Decimal("3000"),
        "currency": "JPY",
        "billing_cycle": "monthly",
        "stripe_price_id": "price_1QProJPYMonthly",
    },
    {
        "id": "5a000000-0000-4000-8000-000000000006",
        "slug": "basic",
        "price": Decimal("49.90"),
        "currency": "BRL",
        "billing_cycle": "monthly",
        "stripe_price_id": "plan_LegacyBasicBRL",
    },
]
PLAN_ID = {plan["slug"]: plan["id"] for plan in PLANS}


def plans_by_key() -> dict[str, Mapping[str, object]]:
    """As the loader builds ParseContext.plans: each plan by slug and by stripe_price_id."""
    keyed: dict[str, Mapping[str, object]] = {}
    for plan in PLANS:
        keyed[plan["slug"]] = plan
        keyed[plan["stripe_price_id"]] = plan
    return keyed


CONTEXT = ParseContext(
    known_tenant_ids=frozenset(TENANTS.values()),
    known_user_ids=frozenset(USERS),
    plans=plans_by_key(),
)
OWNER_B = {"tenant_id": TENANTS["B"], "user_id": USER_B1}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def unix(text: str) -> int:
    return int(at(text).timestamp())


# --- hand-built events -----------------------------------------------------------------------
def event(
    eid: str,
    kind: str,
    obj: dict[str, Any],
    created: str = "2025-03-01T00:00:00",
    previous: dict[str, Any] | None = None,
    api: str = BASIL,
) -> dict[str, Any]:
    """The fixtures' event, with the object before the time so that most tests omit it."""
    return fixture_event(eid, kind, created, obj, previous, api)


def charge(cid: str = "ch_1", **fields: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": cid,
        "object": "charge",
        "amount": 1000,
        "amount_refunded": 0,
        "captured": True,
        "created": unix("2025-03-01T00:00:00"),
        "currency": "usd",
        "customer": "cus_1",
        "metadata": dict(OWNER_B),
        "payment_intent": f"pi_{cid[3:]}",
        "payment_method_details": {"card": {"brand": "visa"}, "type": "card"},
        "status": "succeeded",
    }
    obj.update(fields)
    return obj


def refund(rid: str, amount: int, created: str, status: str = "succeeded") -> dict[str, Any]:
    return {
        "id": rid,
        "object": "refund",
        "amount": amount,
        "created": unix(created),
        "currency": "usd",
        "status": status,
        "reason": "requested_by_customer",
    }


def price(pid: str = "price_1QProBRLMonthly", **fields: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": pid,
        "object": "price",
        "currency": "brl",
        "lookup_key": None,
        "metadata": {},
        "recurring": {"interval": "month", "interval_count": 1},
        "unit_amount": 19990,
    }
    obj.update(fields)
    return obj


def subscription(
    sid: str = "sub_1",
    *,
    the_price: dict[str, Any] | None = None,
    period: tuple[str, str] | None = ("2025-03-01T00:00:00", "2025-04-01T00:00:00"),
    on_subscription: bool = False,
    quantity: int = 1,
    **fields: Any,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": "si_1",
        "object": "subscription_item",
        "price": the_price or price(),
        "quantity": quantity,
    }
    obj: dict[str, Any] = {
        "id": sid,
        "object": "subscription",
        "cancel_at_period_end": False,
        "canceled_at": None,
        "created": unix("2025-03-01T00:00:00"),
        "customer": "cus_1",
        "ended_at": None,
        "metadata": dict(OWNER_B),
        "status": "active",
        "trial_end": None,
        "trial_start": None,
    }
    if period is not None:
        target = obj if on_subscription else item
        target["current_period_start"] = unix(period[0])
        target["current_period_end"] = unix(period[1])
    obj["items"] = {"object": "list", "data": [item], "has_more": False}
    obj.update(fields)
    return obj


def jsonl(*records: dict[str, Any] | bytes) -> bytes:
    lines = [r if isinstance(r, bytes) else json.dumps(r).encode() for r in records]
    return b"\n".join(lines) + b"\n"


def parse(*records: dict[str, Any] | bytes, context: ParseContext = CONTEXT) -> Parsed:
    return SOURCE.parse(jsonl(*records), "test.jsonl", context)


def rows(parsed: Parsed, table: str) -> dict[str, dict[str, Any]]:
    """The rows of a derived table by their key."""
    key = {
        FINANCIAL_TRANSACTIONS.table: "source_record_id",
        BILLING_SUBSCRIPTIONS.table: "stripe_subscription_id",
        SUBSCRIPTION_EVENTS.table: "event_id",
        STRIPE_EVENTS.table: "id",
    }[table]
    return {row[key]: row for row in parsed.tables[table].iter_rows(named=True)}


def only_reason(parsed: Parsed) -> str:
    assert len(parsed.rejects) == 1, parsed.rejects
    return parsed.rejects[0].reason


@pytest.fixture(scope="module")
def good() -> Parsed:
    return SOURCE.parse(GOOD.read_bytes(), GOOD.name, CONTEXT)


# --- the contract ----------------------------------------------------------------------------
def test_source_declares_its_targets() -> None:
    assert SOURCE.name == "payments"
    assert SOURCE.file_patterns == ("*.jsonl", "*.jsonl.gz")
    assert SOURCE.primary == STRIPE_EVENTS
    assert (STRIPE_EVENTS.key, STRIPE_EVENTS.disposition) == (("id",), "insert_new")
    assert (FINANCIAL_TRANSACTIONS.key, FINANCIAL_TRANSACTIONS.disposition) == (
        ("source_record_id",),
        "upsert_newer",
    )
    assert FINANCIAL_TRANSACTIONS.version_column == "updated_at"
    assert BILLING_SUBSCRIPTIONS.key == ("stripe_subscription_id",)
    assert BILLING_SUBSCRIPTIONS.version_column == "updated_at"
    assert (SUBSCRIPTION_EVENTS.key, SUBSCRIPTION_EVENTS.disposition) == (
        ("event_id",),
        "insert_new",
    )
    assert SOURCE.secondary == (FINANCIAL_TRANSACTIONS, BILLING_SUBSCRIPTIONS, SUBSCRIPTION_EVENTS)


def test_the_registry_finds_the_source() -> None:
    from ingestion.sources.registry import get_source

    assert get_source("payments") is SOURCE


@pytest.mark.parametrize("target", [STRIPE_EVENTS, *SOURCE.secondary], ids=lambda t: t.table)
def test_frames_fit_their_tables(target: Any) -> None:
    """Every column exists in the table, NOT NULL columns without default are filled, and a
    unique index (or key) covers exactly the target key."""
    table = schema.metadata.tables[target.table.removeprefix("public.")]
    columns = SCHEMAS[target.table]
    assert set(columns) <= set(table.c.keys())
    required = {
        c.name for c in table.c if not c.nullable and c.server_default is None and not c.primary_key
    }
    required |= {c.name for c in table.primary_key.columns if c.server_default is None}
    assert required <= set(columns)
    unique_sets = [tuple(c.name for c in table.primary_key.columns)]
    unique_sets += [tuple(c.name for c in ix.columns) for ix in table.indexes if ix.unique]
    unique_sets += [
        tuple(c.name for c in uc.columns)
        for uc in table.constraints
        if isinstance(uc, UniqueConstraint)
    ]
    unique_sets += [(c.name,) for c in table.c if c.unique]
    assert target.key in unique_sets


# --- the example file --------------------------------------------------------------------------
def test_example_file_counts(good: Parsed) -> None:
    assert good.rejects == []
    assert good.records_in == 62
    heights = {name: frame.height for name, frame in good.tables.items()}
    assert heights == {
        "raw.stripe_events": 62,  # one row per accepted record, repeats included
        "public.financial_transactions": 20,  # a won dispute's reinstatement is one more
        "public.billing_subscriptions": 5,
        "raw.subscription_events": 17,
    }
    events = good.tables["raw.stripe_events"]
    assert events["id"].n_unique() == 59
    assert good.min_event_at == at("2025-01-06T10:00:00")
    assert good.max_event_at == at("2025-06-05T14:30:00")
    kinds = good.tables["public.financial_transactions"]["transaction_type"].value_counts()
    assert dict(kinds.iter_rows()) == {"payment": 15, "refund": 2, "chargeback": 3}
    for name, frame in good.tables.items():
        assert dict(frame.schema) == SCHEMAS[name]


def test_example_file_amounts_are_exact(good: Parsed) -> None:
    money = rows(good, "public.financial_transactions")
    expected = {
        "ch_3QA1": ("199.90", "BRL"),
        "ch_3QA3": ("539.70", "BRL"),
        "re_3QA3a": ("100.00", "BRL"),
        "ch_3QA4": ("42.00", "EUR"),
        "ch_3QB1": ("5997.00", "USD"),
        "ch_3QB2": ("123.45", "USD"),
        "re_3QB2": ("123.45", "USD"),
        "ch_3QC1": ("3000.00", "JPY"),  # zero-decimal: 3000 is ¥3000, not ¥30
        "dp_1QC1": ("3000.00", "JPY"),
        "ch_1QD1": ("49.90", "BRL"),
    }
    for record_id, (amount, code) in expected.items():
        row = money[record_id]
        assert row["amount"] == Decimal(amount), record_id
        assert row["amount"].as_tuple().exponent == -2
        assert row["currency"] == code
    completed = good.tables["public.financial_transactions"].filter(pl.col("status") == "completed")
    totals = completed.group_by("currency", "transaction_type").agg(pl.col("amount").sum())
    total = {(c, t): a for c, t, a in totals.iter_rows()}
    assert total[("BRL", "payment")] == Decimal("1364.10")
    assert total[("BRL", "refund")] == Decimal("100.00")
    assert total[("JPY", "payment")] == Decimal("6000.00")  # the failed retry not counted
    assert total[("JPY", "chargeback")] == Decimal("3000.00")
    assert total[("USD", "payment")] == Decimal("6170.45")


def test_example_file_payment_rows(good: Parsed) -> None:
    money = rows(good, "public.financial_transactions")
    upgraded = money["ch_3QA3"]
    assert upgraded["tenant_id"] == TENANTS["A"]  # metadata empty: owner from its invoice
    assert upgraded["user_id"] == USER_A1
    assert upgraded["status"] == "completed"
    assert upgraded["payment_method"] == "visa"
    assert upgraded["stripe_charge_id"] == "ch_3QA3"
    assert upgraded["stripe_payment_intent_id"] == "pi_3QA3"
    assert upgraded["processed_at"] == upgraded["created_at"] == at("2025-03-05T14:30:02")
    # The charge.refunded event describes the charge later than charge.succeeded.
    assert upgraded["updated_at"] == at("2025-03-12T09:15:00")
    meta = json.loads(upgraded["metadata"])
    assert meta["revenue_type"] == "subscription"
    assert meta["stripe_invoice_id"] == "in_1QA3"
    assert meta["stripe_subscription_id"] == "sub_1QA"
    assert meta["stripe_event_id"] == "evt_1QA16"
    assert meta["amount_minor"] == 53970

    failed = money["ch_3QC2"]
    assert failed["status"] == "failed"
    assert json.loads(failed["metadata"])["failure_code"] == "card_declined"
    assert money["ch_3QC3"]["status"] == "completed"

    legacy = json.loads(money["ch_1QD1"]["metadata"])  # API 2020-03-02: charge.invoice
    assert (legacy["stripe_invoice_id"], legacy["stripe_subscription_id"]) == ("in_1QD1", "sub_1QD")
    assert money["ch_1QD1"]["tenant_id"] == TENANTS["D"]

    revenue = {rid: json.loads(row["metadata"])["revenue_type"] for rid, row in money.items()}
    assert revenue["ch_3QA4"] == "commission"
    assert money["ch_3QA4"]["user_id"] == USER_A2
    assert revenue["ch_3QB2"] == revenue["re_3QB2"] == "usage"
    assert revenue["ch_3QE3"] == "other"
    assert money["ch_3QE3"]["payment_method"] == "pix"
    assert revenue["ch_3QC1"] == "subscription"  # tagged in its metadata


def test_example_file_refund_rows(good: Parsed) -> None:
    money = rows(good, "public.financial_transactions")
    partial = money["re_3QA3a"]
    assert partial["transaction_type"] == "refund"
    assert partial["status"] == "completed"
    assert partial["tenant_id"] == TENANTS["A"]
    assert partial["stripe_charge_id"] == "ch_3QA3"
    # Dated on the day it happened, not on the charge's day.
    assert partial["processed_at"] == partial["created_at"] == at("2025-03-12T09:14:58")
    meta = json.loads(partial["metadata"])
    assert meta["original_charge_id"] == "ch_3QA3"
    assert meta["revenue_type"] == "subscription"
    assert meta["stripe_event_id"] == "evt_1QA16"
    full = money["re_3QB2"]
    assert full["amount"] == money["ch_3QB2"]["amount"]
    assert full["processed_at"] == at("2025-02-03T16:19:58")
    assert money["ch_3QB2"]["status"] == "completed"  # the payment stays a payment


def test_example_file_dispute_rows(good: Parsed) -> None:
    money = rows(good, "public.financial_transactions")
    lost = money["dp_1QC1"]
    assert lost["transaction_type"] == "chargeback"
    assert lost["status"] == "completed"
    assert lost["tenant_id"] == TENANTS["C"]  # from the disputed charge, in the same file
    assert lost["stripe_charge_id"] == "ch_3QC1"
    assert lost["payment_method"] == "jcb"
    assert lost["processed_at"] == at("2025-02-25T21:59:58")  # the dispute's day
    assert lost["updated_at"] == at("2025-04-01T10:00:00")  # the closing event
    meta = json.loads(lost["metadata"])
    assert meta["stripe_status"] == "lost"
    assert meta["original_charge_id"] == "ch_3QC1"
    assert meta["closed_at"] == "2025-04-01T10:00:00+00:00"
    assert meta["dispute_funds"] == "withdrawn"
    # Won: the funds left when the dispute opened and came back the day it closed.
    won = money["dp_1QB3"]
    assert (won["status"], won["amount"]) == ("completed", Decimal("50.00"))
    assert won["processed_at"] == at("2025-02-20T12:59:58")
    assert json.loads(won["metadata"])["revenue_type"] == "commission"
    back = money["dp_1QB3:reinstated"]
    assert (back["transaction_type"], back["status"]) == ("chargeback", "completed")
    assert (back["amount"], back["currency"]) == (Decimal("50.00"), "USD")
    assert back["processed_at"] == at("2025-03-20T13:00:00")  # the closing event
    assert json.loads(back["metadata"])["dispute_funds"] == "reinstated"


def test_example_file_subscription_state(good: Parsed) -> None:
    subs = rows(good, "public.billing_subscriptions")
    a = subs["sub_1QA"]
    assert a["plan_id"] == PLAN_ID["pro-quarterly"]
    assert a["status"] == "cancelled"
    assert a["cancel_at_period_end"] is True
    assert a["cancelled_at"] == at("2025-06-05T14:30:00")  # when it ended
    assert (a["trial_start"], a["trial_end"]) == (at("2025-01-06T10:00"), at("2025-01-20T10:00"))
    assert (a["current_period_start"], a["current_period_end"]) == (
        at("2025-03-05T14:30:00"),
        at("2025-06-05T14:30:00"),
    )
    assert a["created_at"] == at("2025-01-06T10:00:00")
    assert a["updated_at"] == at("2025-06-05T14:30:00")
    assert a["source_record_id"] == "sub_1QA"
    meta = json.loads(a["metadata"])
    assert meta["stripe_status"] == "canceled"
    assert meta["canceled_at"] == "2025-04-10T18:00:00+00:00"  # when it was asked for
    assert (meta["unit_amount"], meta["currency"], meta["quantity"]) == ("539.70", "BRL", 1)

    b = subs["sub_1QB"]
    assert (b["status"], b["plan_id"]) == ("active", PLAN_ID["enterprise-yearly"])
    assert json.loads(b["metadata"])["quantity"] == 2
    assert b["cancelled_at"] is None
    c = subs["sub_1QC"]
    assert (c["status"], c["cancelled_at"]) == ("cancelled", at("2025-03-10T03:00:00"))
    assert c["plan_id"] == PLAN_ID["pro-jpy"]  # matched by price.metadata.plan
    d = subs["sub_1QD"]  # API 2020-03-02: legacy plan, periods on the subscription
    assert (d["plan_id"], d["status"]) == (PLAN_ID["basic"], "active")
    assert d["current_period_start"] == at("2025-02-08T15:00:00")
    e = subs["sub_1QE"]
    assert e["plan_id"] == PLAN_ID["starter"]  # downgraded; first matched by metadata.plan


def test_example_file_subscription_history(good: Parsed) -> None:
    history = good.tables["raw.subscription_events"].sort("event_created_at", "event_id")
    a = history.filter(pl.col("subscription_id") == "sub_1QA")
    assert a["status"].to_list() == ["trialing", "active", "active", "active", "active", "canceled"]
    assert a["plan_slug"].to_list() == ["pro"] * 3 + ["pro-quarterly"] * 3
    assert a["billing_cycle"].to_list() == ["monthly"] * 3 + ["quarterly"] * 3
    assert a["unit_amount"].to_list()[-1] == Decimal("539.70")
    assert a["cancel_at_period_end"].to_list() == [False] * 4 + [True, True]
    assert a["canceled_at"].to_list()[-1] == at("2025-04-10T18:00:00")
    assert a["ended_at"].to_list()[-1] == at("2025-06-05T14:30:00")
    assert a["trial_end"].to_list()[0] == at("2025-01-20T10:00:00")
    assert set(a["tenant_id"]) == {TENANTS["A"]}
    b = history.filter(pl.col("subscription_id") == "sub_1QB")
    assert b["quantity"].to_list() == [3, 2]
    assert (b["billing_cycle"][0], b["unit_amount"][0], b["currency"][0]) == (
        "yearly",
        Decimal("1999.00"),
        "USD",
    )
    c = history.filter(pl.col("subscription_id") == "sub_1QC")
    assert c["status"].to_list() == ["active", "active", "past_due", "active", "canceled"]
    assert c["unit_amount"][0] == Decimal("3000.00")
    d = history.filter(pl.col("subscription_id") == "sub_1QD")
    assert d["current_period_end"].to_list() == [at("2025-02-08T15:00"), at("2025-03-08T15:00")]
    assert d["stripe_price_id"][0] == "plan_LegacyBasicBRL"


def test_example_file_raw_events(good: Parsed) -> None:
    events = good.tables["raw.stripe_events"]
    repeated = events.group_by("id").len().filter(pl.col("len") > 1)
    assert sorted(repeated["id"]) == ["evt_1QA1c", "evt_1QB08", "evt_1QC13"]
    lines = [line for line in GOOD.read_text(encoding="utf-8").splitlines() if line]
    assert sorted(events["payload"]) == sorted(lines)  # each event exactly as sent
    by_id = rows(good, "raw.stripe_events")
    refunded = by_id["evt_1QA16"]
    assert (refunded["type"], refunded["object_type"], refunded["object_id"]) == (
        "charge.refunded",
        "charge",
        "ch_3QA3",
    )
    assert refunded["created_at"] == at("2025-03-12T09:15:00")
    assert refunded["api_version"] == "2025-03-31.basil"
    assert refunded["livemode"] is False
    assert refunded["tenant_id"] == TENANTS["A"]
    assert by_id["evt_1QD01"]["api_version"] == "2020-03-02"
    # Other types: kept, nothing derived; owner only when the metadata names a known one.
    assert by_id["evt_1QE00"]["tenant_id"] == TENANTS["E"]  # customer.created
    assert by_id["evt_1QA2p"]["tenant_id"] is None  # invoice_payment.paid
    assert by_id["evt_1QA03"]["type"] == "customer.subscription.trial_will_end"
    assert "evt_1QA03" not in rows(good, "raw.subscription_events")


def test_order_and_compression_do_not_change_the_result(good: Parsed) -> None:
    lines = GOOD.read_bytes().splitlines()
    for data in (b"\n".join(reversed(lines)), gzip.compress(GOOD.read_bytes())):
        again = SOURCE.parse(data, "again.jsonl.gz", CONTEXT)
        assert again.rejects == []
        for name, frame in good.tables.items():
            key = list(frame.columns)
            assert again.tables[name].sort(key).equals(frame.sort(key)), name


def test_referenced_charge_ids(good: Parsed) -> None:
    ids = referenced_charge_ids(GOOD.read_bytes())
    assert "ch_3QC1" in ids  # a charge, and the disputed charge
    payments = good.tables["public.financial_transactions"].filter(
        pl.col("transaction_type") == "payment"
    )
    assert ids == set(payments["source_record_id"])


def test_referenced_charge_ids_include_refunded_charges() -> None:
    obj = {**refund("re_1", 100, "2025-03-02T00:00"), "charge": "ch_9"}
    assert referenced_charge_ids(jsonl(event("evt_1", "refund.created", obj))) == {"ch_9"}


def test_refund_event_without_its_charge_is_rejected_with_the_field() -> None:
    lonely = event("evt_1", "charge.refund.updated", refund("re_1", 100, "2025-03-02T00:00"))
    assert only_reason(parse(lonely)).startswith(
        "data.object.charge is null: expected the refunded charge's id"
    )


def test_refund_event_of_a_charge_in_the_file_is_booked_once() -> None:
    paid = event("evt_1", "charge.succeeded", charge(), "2025-03-01T00:00:01")
    obj = {**refund("re_1", 400, "2025-03-05T00:00:00"), "charge": "ch_1"}
    created = event("evt_2", "refund.created", obj, "2025-03-05T00:00:00")
    # amount_refunded 400 - 400 already booked by re_1 = 0: no row keyed by evt_3.
    refunded = event("evt_3", "charge.refunded", charge(amount_refunded=400), "2025-03-05T00:00:00")
    money = rows(parse(refunded, created, paid), FINANCIAL_TRANSACTIONS.table)
    assert set(money) == {"ch_1", "re_1"}
    assert (money["re_1"]["amount"], money["re_1"]["tenant_id"]) == (Decimal("4.00"), TENANTS["B"])


# --- order and repeats -------------------------------------------------------------------------
def test_out_of_order_lines_end_in_the_latest_state() -> None:
    created = event("evt_c", "customer.subscription.created", subscription(), "2025-03-01T00:00:00")
    deleted = event(
        "evt_d",
        "customer.subscription.deleted",
        subscription(
            status="canceled",
            canceled_at=unix("2025-03-20T00:00"),
            ended_at=unix("2025-03-20T00:00"),
        ),
        "2025-03-20T00:00:00",
    )
    parsed = parse(deleted, created)
    sub = rows(parsed, "public.billing_subscriptions")["sub_1"]
    assert (sub["status"], sub["updated_at"]) == ("cancelled", at("2025-03-20T00:00:00"))
    assert sub["cancelled_at"] == at("2025-03-20T00:00")
    assert set(rows(parsed, "raw.subscription_events")) == {"evt_c", "evt_d"}


def test_same_second_events_follow_the_lifecycle() -> None:
    # Stripe stamps seconds; an update in the creation's second must still win.
    created = event("evt_z", "customer.subscription.created", subscription(status="incomplete"))
    updated = event("evt_a", "customer.subscription.updated", subscription(status="active"))
    sub = rows(parse(updated, created), "public.billing_subscriptions")["sub_1"]
    assert sub["status"] == "active"
    assert json.loads(sub["metadata"])["stripe_event_id"] == "evt_a"


def test_repeated_event_is_one_row_per_record_but_derived_once() -> None:
    paid = event("evt_1", "charge.succeeded", charge())
    parsed = parse(paid, paid, paid)
    assert parsed.rejects == []
    assert parsed.tables["raw.stripe_events"]["id"].to_list() == ["evt_1"] * 3
    assert parsed.tables["public.financial_transactions"].height == 1


def test_repeated_event_id_with_other_content_is_rejected() -> None:
    first = event("evt_1", "charge.succeeded", charge())
    other = event("evt_1", "charge.succeeded", charge(amount=2000))
    parsed = parse(first, other)
    assert only_reason(parsed) == (
        "event id 'evt_1' repeats line 1 with different content: an event id must identify "
        "one event"
    )
    assert parsed.rejects[0].record_number == 2
    assert parsed.tables["raw.stripe_events"].height == 1


def test_charge_then_refund_in_one_file_is_one_payment_row() -> None:
    paid = event("evt_1", "charge.succeeded", charge(), "2025-03-01T00:00:01")
    refunded = event(
        "evt_2",
        "charge.refunded",
        charge(
            amount_refunded=400,
            refunds={"object": "list", "data": [refund("re_1", 400, "2025-03-05T00:00:00")]},
        ),
        "2025-03-05T00:00:01",
    )
    money = rows(parse(refunded, paid), "public.financial_transactions")
    assert set(money) == {"ch_1", "re_1"}
    assert money["ch_1"]["updated_at"] == at("2025-03-05T00:00:01")
    assert money["re_1"]["amount"] == Decimal("4.00")


def test_later_partial_refund_lists_both_refunds() -> None:
    both = [refund("re_2", 300, "2025-03-06T00:00:00"), refund("re_1", 400, "2025-03-05T00:00:00")]
    second = event(
        "evt_3",
        "charge.refunded",
        charge(amount_refunded=700, refunds={"object": "list", "data": both}),
        "2025-03-06T00:00:01",
    )
    money = rows(parse(second), "public.financial_transactions")
    assert {k: v["amount"] for k, v in money.items() if k.startswith("re_")} == {
        "re_1": Decimal("4.00"),
        "re_2": Decimal("3.00"),
    }
    assert money["re_1"]["processed_at"] == at("2025-03-05T00:00:00")


def test_refund_from_amount_refunded_when_the_list_is_absent() -> None:
    # API versions from 2022-11-15 leave Charge.refunds out of the payload. Nothing is
    # booked for ch_1 yet, so the whole amount_refunded is new: 700 minor units = 7.00 (the
    # 400 previous_attributes mentions were never booked; they count now).
    refunded = event(
        "evt_9",
        "charge.refunded",
        charge(amount_refunded=700),
        "2025-03-06T00:00:01",
        previous={"amount_refunded": 400},
    )
    money = rows(parse(refunded), "public.financial_transactions")
    row = money["evt_9"]
    assert (row["transaction_type"], row["amount"], row["status"]) == (
        "refund",
        Decimal("7.00"),
        "completed",
    )
    assert row["processed_at"] == at("2025-03-06T00:00:01")
    assert json.loads(row["metadata"])["original_charge_id"] == "ch_1"


# --- API versions ------------------------------------------------------------------------------
def test_period_on_items_and_on_subscription() -> None:
    current = event("evt_1", "customer.subscription.created", subscription("sub_new"))
    older = event(
        "evt_2",
        "customer.subscription.created",
        subscription("sub_old", on_subscription=True),
        api="2024-06-20",
    )
    subs = rows(parse(current, older), "public.billing_subscriptions")
    for sid in ("sub_new", "sub_old"):
        assert subs[sid]["current_period_start"] == at("2025-03-01T00:00:00")
        assert subs[sid]["current_period_end"] == at("2025-04-01T00:00:00")


def test_item_period_wins_over_a_stale_subscription_period() -> None:
    obj = subscription(
        current_period_start=unix("2025-01-01T00:00"), current_period_end=unix("2025-02-01T00:00")
    )
    sub = rows(
        parse(event("evt_1", "customer.subscription.created", obj)), BILLING_SUBSCRIPTIONS.table
    )
    assert sub["sub_1"]["current_period_start"] == at("2025-03-01T00:00:00")


def test_legacy_plan_object_on_the_item() -> None:
    obj = subscription(on_subscription=True)
    item = obj["items"]["data"][0]
    del item["price"]
    item["plan"] = {
        "id": "plan_LegacyBasicBRL",
        "object": "plan",
        "amount": 4990,
        "currency": "brl",
        "interval": "month",
        "interval_count": 1,
    }
    history = rows(
        parse(event("evt_1", "customer.subscription.created", obj)), SUBSCRIPTION_EVENTS.table
    )
    assert history["evt_1"]["plan_slug"] == "basic"
    assert history["evt_1"]["unit_amount"] == Decimal("49.90")


# --- plans, cycles, statuses -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "sub_metadata", "slug"),
    [
        ({"lookup_key": "pro-quarterly"}, {}, "pro-quarterly"),
        ({"id": "price_other", "metadata": {"plan": "starter"}}, {}, "starter"),
        ({"id": "price_other"}, {"plan": "pro"}, "pro"),
        ({"id": "price_1QEntUSDYearly"}, {}, "enterprise-yearly"),
        ({"lookup_key": "not-ours", "id": "price_1QStarterBRLMonthly"}, {}, "starter"),
    ],
)
def test_plan_matching(fields: dict[str, Any], sub_metadata: dict[str, str], slug: str) -> None:
    obj = subscription(the_price=price(**fields), metadata={**OWNER_B, **sub_metadata})
    parsed = parse(event("evt_1", "customer.subscription.created", obj))
    assert rows(parsed, SUBSCRIPTION_EVENTS.table)["evt_1"]["plan_slug"] == slug
    assert rows(parsed, BILLING_SUBSCRIPTIONS.table)["sub_1"]["plan_id"] == PLAN_ID[slug]


@pytest.mark.parametrize(
    ("interval", "count", "cycle"),
    [
        ("month", 1, "monthly"),
        ("month", 3, "quarterly"),
        ("year", 1, "yearly"),
        ("month", 12, "yearly"),
    ],
)
def test_billing_cycles(interval: str, count: int, cycle: str) -> None:
    the_price = price(recurring={"interval": interval, "interval_count": count})
    parsed = parse(
        event("evt_1", "customer.subscription.created", subscription(the_price=the_price))
    )
    assert rows(parsed, SUBSCRIPTION_EVENTS.table)["evt_1"]["billing_cycle"] == cycle


@pytest.mark.parametrize(("stripe_status", "status"), sorted(SUBSCRIPTION_STATUS.items()))
def test_subscription_status_mapping(stripe_status: str, status: str) -> None:
    obj = subscription(status=stripe_status)
    parsed = parse(event("evt_1", "customer.subscription.updated", obj))
    sub = rows(parsed, BILLING_SUBSCRIPTIONS.table)["sub_1"]
    assert sub["status"] == status
    assert json.loads(sub["metadata"])["stripe_status"] == stripe_status
    assert rows(parsed, SUBSCRIPTION_EVENTS.table)["evt_1"]["status"] == stripe_status
    # Only a terminal subscription has a cancellation time.
    assert (sub["cancelled_at"] is not None) == (status == "cancelled")


def test_pending_cancellation_keeps_cancelled_at_empty() -> None:
    obj = subscription(cancel_at_period_end=True, canceled_at=unix("2025-03-10T00:00"))
    parsed = parse(event("evt_1", "customer.subscription.updated", obj))
    sub = rows(parsed, BILLING_SUBSCRIPTIONS.table)["sub_1"]
    assert (sub["status"], sub["cancel_at_period_end"], sub["cancelled_at"]) == (
        "active",
        True,
        None,
    )
    assert rows(parsed, SUBSCRIPTION_EVENTS.table)["evt_1"]["canceled_at"] == at("2025-03-10T00:00")


@pytest.mark.parametrize(("stripe_status", "status"), sorted(DISPUTE_STATUS.items()))
def test_dispute_status_mapping(stripe_status: str, status: str) -> None:
    dispute = {
        "id": "dp_1",
        "object": "dispute",
        "amount": 1000,
        "charge": "ch_1",
        "created": unix("2025-03-02T00:00"),
        "currency": "usd",
        "metadata": {},
        "reason": "fraudulent",
        "status": stripe_status,
    }
    kind = "charge.dispute.closed" if status != "pending" else "charge.dispute.created"
    parsed = parse(
        event("evt_0", "charge.succeeded", charge()),
        event("evt_1", kind, dispute, "2025-03-03T00:00:00"),
    )
    money = rows(parsed, FINANCIAL_TRANSACTIONS.table)
    row = money["dp_1"]
    assert (row["transaction_type"], row["status"]) == ("chargeback", status)
    assert row["tenant_id"] == TENANTS["B"]
    assert ("dp_1:reinstated" in money) == (stripe_status == "won")


@pytest.mark.parametrize(
    ("refund_status", "status"),
    [
        ("succeeded", "completed"),
        ("pending", "pending"),
        ("failed", "failed"),
        ("canceled", "cancelled"),
    ],
)
def test_refund_status_mapping(refund_status: str, status: str) -> None:
    refunds = {"object": "list", "data": [refund("re_1", 100, "2025-03-02T00:00", refund_status)]}
    parsed = parse(event("evt_1", "charge.refunded", charge(amount_refunded=100, refunds=refunds)))
    assert rows(parsed, FINANCIAL_TRANSACTIONS.table)["re_1"]["status"] == status


def test_uncaptured_charge_is_pending() -> None:
    parsed = parse(event("evt_1", "charge.succeeded", charge(captured=False)))
    assert rows(parsed, FINANCIAL_TRANSACTIONS.table)["ch_1"]["status"] == "pending"


# --- owners and revenue types ------------------------------------------------------------------
def test_revenue_type_defaults_and_tags() -> None:
    untagged = event("evt_1", "charge.succeeded", charge("ch_1"))
    tagged = event(
        "evt_2", "charge.succeeded", charge("ch_2", metadata={**OWNER_B, "revenue_type": "usage"})
    )
    invoiced = event(
        "evt_3",
        "charge.succeeded",
        charge("ch_3", invoice="in_3", metadata={**OWNER_B, "revenue_type": "usage"}),
        api="2024-06-20",
    )
    money = rows(parse(untagged, tagged, invoiced), FINANCIAL_TRANSACTIONS.table)
    revenue = {k: json.loads(v["metadata"])["revenue_type"] for k, v in money.items()}
    assert revenue == {"ch_1": "other", "ch_2": "usage", "ch_3": "subscription"}


def test_owner_from_subscription_in_the_file() -> None:
    # API 2024-06-20: the charge names its invoice, the invoice its subscription, and only
    # the subscription carries the metadata.
    sub = event("evt_1", "customer.subscription.created", subscription("sub_9"), api="2024-06-20")
    invoice = {
        "id": "in_9",
        "object": "invoice",
        "charge": "ch_9",
        "subscription": "sub_9",
        "metadata": {},
    }
    paid = event("evt_2", "invoice.paid", invoice, api="2024-06-20")
    charged = event("evt_3", "charge.succeeded", charge("ch_9", metadata={}), api="2024-06-20")
    parsed = parse(charged, paid, sub)
    assert parsed.rejects == []
    row = rows(parsed, FINANCIAL_TRANSACTIONS.table)["ch_9"]
    assert row["tenant_id"] == TENANTS["B"]
    assert json.loads(row["metadata"])["stripe_subscription_id"] == "sub_9"
    assert rows(parsed, STRIPE_EVENTS.table)["evt_2"]["tenant_id"] == TENANTS["B"]


def test_owner_not_found_names_where_it_looked() -> None:
    invoice = {"id": "in_9", "object": "invoice", "charge": "ch_9", "metadata": {}}
    parsed = parse(
        event("evt_1", "charge.succeeded", charge("ch_9", metadata={})),
        event("evt_2", "invoice.paid", invoice),
    )
    assert [r.record_number for r in parsed.rejects] == [1, 2]
    assert parsed.rejects[0].reason.startswith(
        "data.object.metadata.tenant_id is missing (nor in invoice in_9 (in this file).metadata"
    )


def test_known_charges_place_refunds_and_disputes_of_earlier_files() -> None:
    known = KnownCharge(
        tenant_id=TENANTS["A"],
        user_id=USER_A1,
        revenue_type="subscription",
        invoice_id="in_7",
        subscription_id="sub_7",
        payment_method="visa",
        payment_intent_id="pi_7",
    )
    context = PaymentsContext(
        known_tenant_ids=CONTEXT.known_tenant_ids,
        known_user_ids=CONTEXT.known_user_ids,
        plans=CONTEXT.plans,
        charges={"ch_7": known},
    )
    refunds = {"object": "list", "data": [refund("re_7", 500, "2025-03-09T00:00")]}
    refunded = event(
        "evt_1",
        "charge.refunded",
        charge("ch_7", metadata={}, amount_refunded=500, refunds=refunds),
    )
    dispute = {
        "id": "dp_7",
        "object": "dispute",
        "amount": 500,
        "charge": "ch_7",
        "created": unix("2025-03-10T00:00"),
        "currency": "usd",
        "metadata": {},
        "status": "needs_response",
    }
    disputed = event("evt_2", "charge.dispute.created", dispute, "2025-03-10T00:00:01")
    lonely = event("evt_3", "charge.dispute.created", {**dispute, "id": "dp_8", "charge": "ch_8"})
    parsed = parse(refunded, disputed, lonely, context=context)
    money = rows(parsed, FINANCIAL_TRANSACTIONS.table)
    for record_id in ("ch_7", "re_7", "dp_7"):
        assert money[record_id]["tenant_id"] == TENANTS["A"], record_id
        meta = json.loads(money[record_id]["metadata"])
        assert (meta["revenue_type"], meta["stripe_subscription_id"]) == ("subscription", "sub_7")
    assert (money["dp_7"]["payment_method"], money["dp_7"]["stripe_payment_intent_id"]) == (
        "visa",
        "pi_7",
    )
    assert only_reason(parsed).startswith(
        "data.object.metadata.tenant_id is missing and the disputed charge ch_8 is neither in "
        "this file nor already loaded"
    )


def test_other_event_types_never_reject() -> None:
    unknown_owner = {"id": "cus_1", "object": "customer", "metadata": {"tenant_id": "nope"}}
    parsed = parse(event("evt_1", "customer.updated", unknown_owner))
    assert parsed.rejects == []
    row = rows(parsed, STRIPE_EVENTS.table)["evt_1"]
    assert (row["tenant_id"], row["user_id"], row["object_type"]) == (None, None, "customer")
    assert all(parsed.tables[t.table].height == 0 for t in SOURCE.secondary)


# --- amounts -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("minor", "code", "major"),
    [
        (1999, "BRL", "19.99"),
        (1, "USD", "0.01"),
        (3000, "JPY", "3000.00"),
        (1500000, "KRW", "1500000.00"),
        (990, "CLP", "990.00"),
        (12340, "KWD", "12.34"),
        (50000, "ISK", "500.00"),  # Stripe keeps ISK two-decimal
        (500, "MGA", "500.00"),  # and treats MGA as zero-decimal
        (0, "BRL", "0.00"),
    ],
)
def test_minor_units_to_exact_major(minor: int, code: str, major: str) -> None:
    value = to_major(minor, code, "amount")
    assert value == Decimal(major)
    assert value.as_tuple().exponent == -2


def test_amounts_the_ledger_cannot_hold_are_rejected() -> None:
    with pytest.raises(RecordError, match=r"12\.345, a fraction of a cent"):
        to_major(12345, "KWD", "amount")
    with pytest.raises(RecordError, match="too large"):
        to_major(10**16, "USD", "amount")
    assert currency("brl", "currency") == "BRL"
    with pytest.raises(RecordError, match="'xyz' is not a known ISO 4217 currency"):
        currency("xyz", "currency")


# --- rejects -------------------------------------------------------------------------------------
STRANGER = "99999999-9999-4999-8999-999999999999"
BAD_REASONS = {
    1: "malformed JSON: Expecting ',' delimiter at column 74",
    2: "the line is not valid UTF-8 (byte e9 at position 73): save the file as UTF-8",
    3: "the line is an array, not a JSON object",
    4: "data.object.metadata.tenant_id is missing: expected the tenant's UUID",
    5: f"data.object.metadata.tenant_id '{STRANGER}' is not a known tenant",
    6: f"data.object.metadata.user_id '{STRANGER}' is not a known user",
    7: "data.object.metadata.tenant_id 'tenant-b' is not a UUID",
    8: "data.object.currency 'xyz' is not a known ISO 4217 currency",
    9: (
        "unknown plan: data.object.items.data[0].price.lookup_key 'mystery', "
        "data.object.items.data[0].price.id 'price_1QMystery' match no "
        "subscription_plans.slug or stripe_price_id"
    ),
    10: (
        "data.object.amount '12,50' is not an integer amount: Stripe sends minor units as an "
        "integer (1250 for 12.50)"
    ),
    11: "data.object.amount 12.5 is not an integer amount",
    12: (
        "data.object.items.data[0].price.recurring.interval 'week' with interval_count 1 is "
        "not a supported billing interval"
    ),
    13: "current_period_start/current_period_end are missing on both data.object.items.data[0]",
    14: "data.object.status 'suspended' is not one of active, trialing, past_due, unpaid, canceled",
    15: "data.object.object is 'invoice': expected 'charge' for a charge.succeeded event",
    16: "event.created is missing: expected Unix seconds",
    17: (
        "data.object.metadata.revenue_type 'donation' is not one of subscription, commission, "
        "usage, other"
    ),
    19: "event id 'evt_1QX18' repeats line 18 with different content",
    20: "data.object.amount_refunded 2000 is more than data.object.amount 1000",
    21: (
        "data.object.metadata.tenant_id is missing and the disputed charge ch_3QElsewhere is "
        "neither in this file nor already loaded"
    ),
    22: "data.object.amount 0 is out of range: expected an amount > 0",
    23: "data.object.description contains a NUL character (\\u0000)",
    24: "data.object.items.data[1].price.currency 'usd' differs from "
    "data.object.items.data[0].price.currency 'brl'",
    25: "data.object.amount 12345 KWD is 12.345, a fraction of a cent",
}


def test_bad_file_rejects_each_record_with_its_reason() -> None:
    data = BAD.read_bytes()
    parsed = SOURCE.parse(data, BAD.name, CONTEXT)
    assert parsed.records_in == 26
    found = {reject.record_number or 0: reject.reason for reject in parsed.rejects}
    assert sorted(found) == sorted(BAD_REASONS)
    for line, expected in BAD_REASONS.items():
        assert found[line].startswith(expected), (line, found[line])
    # The good records still load: counting holds.
    assert sorted(parsed.tables["raw.stripe_events"]["id"]) == ["evt_1QX18", "evt_1QX25"]
    assert parsed.records_in == len(parsed.rejects) + parsed.tables["raw.stripe_events"].height
    # Rejects keep the line as it arrived (invalid UTF-8 with replacement characters).
    raw_lines = data.split(b"\n")
    by_line = {reject.record_number: reject.raw_record for reject in parsed.rejects}
    assert by_line[2] == raw_lines[1].decode("utf-8", "replace")
    assert "\ufffd" in by_line[2]
    assert by_line[10] == raw_lines[9].decode()


@pytest.mark.parametrize(
    ("obj_change", "expected"),
    [
        ({"metadata": {"tenant_id": TENANTS["B"]}}, "data.object.metadata.user_id is missing"),
        ({"status": "weird"}, "data.object.status 'weird' is not one of succeeded, pending"),
        ({"amount": True}, "data.object.amount true is not an integer amount"),
        ({"amount": None}, "data.object.amount is missing"),
        ({"currency": None}, "data.object.currency is missing"),
        ({"created": "2025-03-01"}, "data.object.created '2025-03-01' is not a timestamp"),
        ({"refunds": {"data": ["re_1"]}}, "data.object.refunds.data[0] is 're_1': expected a"),
    ],
)
def test_charge_rejects(obj_change: dict[str, Any], expected: str) -> None:
    assert only_reason(parse(event("evt_1", "charge.succeeded", charge(**obj_change)))).startswith(
        expected
    )


def test_subscription_rejects() -> None:
    no_amount = subscription(the_price=price(unit_amount=None))
    zero = subscription(quantity=0)
    no_items = subscription()
    del no_items["items"]
    cases = {
        "data.object.items.data[0].price.unit_amount is missing": no_amount,
        "data.object.items.data[0].quantity 0 is not a positive integer": zero,
        "data.object.items.data is missing": no_items,
        "data.object.metadata.tenant_id is missing": subscription(metadata={}),
    }
    for expected, obj in cases.items():
        reason = only_reason(parse(event("evt_1", "customer.subscription.created", obj)))
        assert reason.startswith(expected), reason


def test_envelope_rejects() -> None:
    base = event("evt_1", "charge.succeeded", charge())
    cases = {
        "object 'charge' is not 'event'": {**base, "object": "charge"},
        "event.id is missing": {k: v for k, v in base.items() if k != "id"},
        "event.type 5 is not a non-empty string": {**base, "type": 5},
        "event.livemode 'no' is not a boolean": {**base, "livemode": "no"},
        "event.data.object is missing": {**base, "data": {}},
        "data.object.id is missing": {**base, "data": {"object": {"object": "charge"}}},
    }
    for expected, value in cases.items():
        assert only_reason(parse(value)).startswith(expected)
    assert only_reason(parse(b"NaN")).startswith("malformed JSON")
    assert only_reason(parse(b'{"amount": NaN}')).startswith("malformed JSON: NaN is not valid")


def test_blank_lines_bom_and_crlf() -> None:
    line = json.dumps(event("evt_1", "charge.succeeded", charge())).encode()
    data = b"\xef\xbb\xbf" + line + b"\r\n\r\n   \n" + line.replace(b"evt_1", b"evt_2") + b"\r\n"
    parsed = SOURCE.parse(data, "x.jsonl", CONTEXT)
    assert parsed.records_in == 2
    assert parsed.rejects == []
    assert parsed.tables["raw.stripe_events"]["payload"][0] == line.decode()


def test_unreadable_gzip_fails_the_file() -> None:
    with pytest.raises(ValueError, match="not a readable gzip file"):
        SOURCE.parse(gzip.compress(b'{"id": 1}\n')[:15], "x.jsonl.gz", CONTEXT)


def test_empty_file() -> None:
    parsed = SOURCE.parse(b"", "empty.jsonl", CONTEXT)
    assert parsed.records_in == 0
    assert all(frame.height == 0 for frame in parsed.tables.values())
    assert (parsed.min_event_at, parsed.max_event_at) == (None, None)


def add_on(price_id: str = "price_addon", unit_amount: int = 5000, **fields: Any) -> dict[str, Any]:
    return {
        "id": "si_2",
        "object": "subscription_item",
        "price": price(id=price_id, lookup_key=None, unit_amount=unit_amount, **fields),
        "quantity": 2,
    }


def test_an_add_on_item_is_accepted_beside_its_plan() -> None:
    obj = subscription()
    obj["items"]["data"].insert(0, add_on())  # listed first: the plan is still found
    parsed = parse(event("evt_1", "customer.subscription.created", obj))
    assert parsed.rejects == []
    history = rows(parsed, SUBSCRIPTION_EVENTS.table)["evt_1"]
    assert (history["plan_slug"], history["stripe_price_id"], history["quantity"]) == (
        "pro",
        "price_1QProBRLMonthly",
        1,
    )
    meta = json.loads(rows(parsed, BILLING_SUBSCRIPTIONS.table)["sub_1"]["metadata"])
    assert meta["add_on_price_ids"] == ["price_addon"]


def test_an_interval_count_outside_the_named_cycles_has_no_cycle_but_loads() -> None:
    obj = subscription(the_price=price(recurring={"interval": "month", "interval_count": 6}))
    parsed = parse(event("evt_1", "customer.subscription.created", obj))
    assert parsed.rejects == []
    assert rows(parsed, SUBSCRIPTION_EVENTS.table)["evt_1"]["billing_cycle"] is None


def discount_object(**coupon: Any) -> dict[str, Any]:
    return {
        "id": "di_1",
        "object": "discount",
        "coupon": {"id": "co_1", "object": "coupon", "duration": "forever", **coupon},
        "start": unix("2025-03-01T00:00:00"),
        "end": None,
        "subscription": "sub_1",
    }


@pytest.mark.parametrize(
    ("obj_change", "expected"),
    [
        ({"items": {"object": "list", "data": [add_on(currency="usd"), {
            "id": "si_1", "price": price(), "quantity": 1}]}},
         "data.object.items.data[1].price.currency 'brl' differs from "
         "data.object.items.data[0].price.currency 'usd'"),
        ({"items": {"object": "list", "data": [add_on()]}},
         "unknown plan: data.object.items.data[0].price.id 'price_addon'"),
        ({"items": {"object": "list", "data": []}}, "data.object.items.data is empty"),
        ({"discounts": "di_1"}, "data.object.discounts is 'di_1': expected an array"),
        ({"discounts": [discount_object(percent_off=120)]},
         "data.object.discounts[0].coupon.percent_off 120 is not a percentage"),
        ({"discounts": [discount_object(amount_off=500)]},
         "data.object.discounts[0].coupon.currency is missing"),
        ({"discounts": [discount_object(percent_off=10, duration="sometimes")]},
         "data.object.discounts[0].coupon.duration 'sometimes' is not one of once"),
        ({"discount": {**discount_object(), "coupon": None}},
         "data.object.discount.coupon and data.object.discount.source.coupon are missing"),
    ],
)  # fmt: skip
def test_subscription_item_and_discount_rejects(obj_change: dict[str, Any], expected: str) -> None:
    obj = subscription(**obj_change)
    reason = only_reason(parse(event("evt_1", "customer.subscription.created", obj)))
    assert reason.startswith(expected), reason


def test_discount_events_are_checked_and_both_coupon_places_read() -> None:
    basil = discount_object(percent_off=20)
    clover = {**discount_object(), "coupon": None, "source": {"coupon": basil["coupon"]}}
    broken = {**discount_object(), "start": "yesterday"}
    parsed = parse(
        event("evt_1", "customer.discount.created", basil),
        event("evt_2", "customer.discount.updated", clover),
        event("evt_3", "customer.discount.deleted", broken),
    )
    assert sorted(rows(parsed, STRIPE_EVENTS.table)) == ["evt_1", "evt_2"]
    assert only_reason(parsed).startswith("data.object.start 'yesterday' is not a timestamp")


def test_a_coupon_sent_as_its_id_is_kept_as_sent() -> None:
    by_id = {**discount_object(), "coupon": None, "source": {"coupon": "co_1", "type": "coupon"}}
    parsed = parse(event("evt_1", "customer.discount.created", by_id))
    assert parsed.rejects == []
