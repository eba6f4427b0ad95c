"""Refunds as Stripe sends them today, through the loader into a real database.

Since API version 2022-11-15 a charge's `refunds` list is not expanded and `charge.refunded`
carries no `previous_attributes`: a refund is the growth of the charge's cumulative
`amount_refunded` over what is already booked for it. Refund objects (`refund.created`,
`refund.updated`, `charge.refund.updated`) are booked by their `re_` id, and the same money
never counts twice. Every expected row below is written by hand: charge ch_R is BRL 100.00
(10000 minor units) paid on 2025-03-01 12:00 UTC by tenant B.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ingestion.load.loader import BatchResult, load_file
from tests.fixtures.landing.payments.build_fixtures import event
from tests.support.payments_reference import insert_payments_reference
from tests.unit.test_payments_source import TENANTS, USER_B1

OWNER = {"tenant_id": TENANTS["B"], "user_id": USER_B1}


@pytest.fixture
def database(migrated_database_url: str) -> str:
    insert_payments_reference(migrated_database_url)
    return migrated_database_url


def unix(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def charge(amount_refunded: int = 0, **fields: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": "ch_R",
        "object": "charge",
        "amount": 10000,
        "amount_captured": 10000,
        "amount_refunded": amount_refunded,
        "captured": True,
        "created": unix("2025-03-01T12:00:00"),
        "currency": "brl",
        "customer": "cus_R",
        "metadata": dict(OWNER),
        "payment_intent": "pi_R",
        "payment_method_details": {"type": "card", "card": {"brand": "visa"}},
        "refunded": amount_refunded == 10000,
        "status": "succeeded",
    }
    obj.update(fields)
    return obj


def refund(rid: str, amount: int, created: str, status: str = "succeeded") -> dict[str, Any]:
    return {
        "id": rid,
        "object": "refund",
        "amount": amount,
        "charge": "ch_R",
        "created": unix(created),
        "currency": "brl",
        "metadata": {},
        "payment_intent": "pi_R",
        "reason": "requested_by_customer",
        "status": status,
    }


PAID = event("evt_paid", "charge.succeeded", "2025-03-01T12:00:01", charge())


def refunded(eid: str, created: str, amount_refunded: int) -> dict[str, Any]:
    """charge.refunded in the current shape: no refunds list, no previous_attributes."""
    return event(eid, "charge.refunded", created, charge(amount_refunded))


def land(tmp_path: Path, name: str, *events: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def load(database: str, path: Path) -> BatchResult:
    result = load_file(database, "payments", path)
    # The ledger identity holds for every file.
    assert result.rows_in == result.rows_loaded + result.rows_quarantined + result.rows_duplicate
    return result


def ledger(database: str) -> dict[str, tuple[str, Decimal, str, str]]:
    """source_record_id -> (transaction_type, amount, status, processed_at in UTC)."""
    with psycopg.connect(database) as conn:
        found = conn.execute(
            "SELECT source_record_id, transaction_type, amount, status, "
            "to_char(processed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') "
            "FROM public.financial_transactions ORDER BY source_record_id"
        ).fetchall()
    return {row[0]: (row[1], row[2], row[3], row[4]) for row in found}


def refunded_total(database: str) -> Decimal:
    """What the marts count as given back: completed refund rows."""
    with psycopg.connect(database) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(amount), 0) FROM public.financial_transactions "
            "WHERE transaction_type = 'refund' AND status = 'completed'"
        ).fetchone()
    assert row is not None
    return Decimal(row[0])


PAYMENT = ("payment", Decimal("100.00"), "completed", "2025-03-01T12:00:00")


def test_two_partial_refunds_in_two_files(database: str, tmp_path: Path) -> None:
    load(
        database,
        land(tmp_path, "march.jsonl", PAID, refunded("evt_r1", "2025-03-10T15:00:00", 2500)),
    )
    second = land(tmp_path, "april.jsonl", refunded("evt_r2", "2025-04-05T09:00:00", 4000))
    result = load(database, second)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 0)
    expected = {
        "ch_R": PAYMENT,
        # 2500 - 0 booked = 2500 minor = 25.00, on the event's day (no refund object).
        "evt_r1": ("refund", Decimal("25.00"), "completed", "2025-03-10T15:00:00"),
        # 4000 - 2500 booked = 1500 minor = 15.00, in April: March is untouched.
        "evt_r2": ("refund", Decimal("15.00"), "completed", "2025-04-05T09:00:00"),
    }
    assert ledger(database) == expected

    # Re-delivery: the same file, and the same event inside another file, change nothing.
    assert load(database, second).already_loaded
    again = load(
        database,
        land(tmp_path, "redelivered.jsonl", refunded("evt_r2", "2025-04-05T09:00:00", 4000), PAID),
    )
    assert (again.rows_loaded, again.rows_duplicate) == (0, 2)
    assert ledger(database) == expected


def test_two_partial_refunds_in_one_file_in_any_line_order(database: str, tmp_path: Path) -> None:
    path = land(
        tmp_path,
        "both.jsonl",
        refunded("evt_r2", "2025-04-05T09:00:00", 4000),  # lines out of event order
        refunded("evt_r1", "2025-03-10T15:00:00", 2500),
        PAID,
    )
    assert load(database, path).rows_loaded == 3
    assert ledger(database) == {
        "ch_R": PAYMENT,
        "evt_r1": ("refund", Decimal("25.00"), "completed", "2025-03-10T15:00:00"),  # 2500 - 0
        "evt_r2": ("refund", Decimal("15.00"), "completed", "2025-04-05T09:00:00"),  # 4000 - 2500
    }


def test_embedded_refunds_list_still_counts_each_refund_on_its_own_day(
    database: str, tmp_path: Path
) -> None:
    # Before 2022-11-15: charge.refunded lists the refunds; each is booked by its re_ id and
    # dated on its own created, and amount_refunded (2500 + 1500 = 4000) adds nothing more.
    listed = charge(
        4000,
        refunds={
            "object": "list",
            "data": [
                refund("re_2", 1500, "2025-04-05T08:59:59"),
                refund("re_1", 2500, "2025-03-10T14:59:59"),
            ],
        },
    )
    path = land(
        tmp_path,
        "old.jsonl",
        PAID,
        event("evt_r2", "charge.refunded", "2025-04-05T09:00:00", listed, None, "2020-08-27"),
    )
    load(database, path)
    assert ledger(database) == {
        "ch_R": PAYMENT,
        "re_1": ("refund", Decimal("25.00"), "completed", "2025-03-10T14:59:59"),
        "re_2": ("refund", Decimal("15.00"), "completed", "2025-04-05T08:59:59"),
    }


def test_refund_created_and_charge_refunded_count_once_in_one_file(
    database: str, tmp_path: Path
) -> None:
    path = land(
        tmp_path,
        "same.jsonl",
        PAID,
        refunded("evt_r1", "2025-03-10T15:00:00", 2500),  # same second, listed first
        event(
            "evt_re1",
            "refund.created",
            "2025-03-10T15:00:00",
            refund("re_1", 2500, "2025-03-10T15:00:00"),
        ),
    )
    assert load(database, path).rows_loaded == 3
    # The refund object books 2500 under re_1; amount_refunded 2500 - 2500 booked adds nothing.
    assert ledger(database) == {
        "ch_R": PAYMENT,
        "re_1": ("refund", Decimal("25.00"), "completed", "2025-03-10T15:00:00"),
    }
    assert refunded_total(database) == Decimal("25.00")


def test_refund_object_arriving_after_its_charge_refunded_takes_it_over(
    database: str, tmp_path: Path
) -> None:
    load(
        database,
        land(tmp_path, "first.jsonl", PAID, refunded("evt_r1", "2025-03-10T15:00:01", 2500)),
    )
    assert refunded_total(database) == Decimal("25.00")  # evt_r1: 2500 - 0
    # A day later the refund object itself arrives (refund.updated, then a repeat of it
    # in charge.refund.updated): the growth row evt_r1 it explains is cancelled, re_1 counts.
    late = land(
        tmp_path,
        "second.jsonl",
        event(
            "evt_re1",
            "refund.updated",
            "2025-03-10T15:00:00",
            refund("re_1", 2500, "2025-03-10T15:00:00"),
        ),
        event(
            "evt_re1b",
            "charge.refund.updated",
            "2025-03-10T15:00:00",
            refund("re_1", 2500, "2025-03-10T15:00:00"),
        ),
    )
    assert load(database, late).rows_quarantined == 0
    found = ledger(database)
    assert found["re_1"] == ("refund", Decimal("25.00"), "completed", "2025-03-10T15:00:00")
    assert found["evt_r1"] == ("refund", Decimal("25.00"), "cancelled", "2025-03-10T15:00:01")
    assert refunded_total(database) == Decimal("25.00")  # 2500 once, not 5000


def test_partial_refund_object_reduces_the_growth_it_explains(
    database: str, tmp_path: Path
) -> None:
    # One charge.refunded covered two refunds (amount_refunded 0 -> 4000); only re_1 (2500)
    # is ever seen as an object: evt_r1 keeps 4000 - 2500 = 1500 = 15.00.
    load(
        database,
        land(tmp_path, "first.jsonl", PAID, refunded("evt_r1", "2025-03-10T15:00:01", 4000)),
    )
    load(
        database,
        land(
            tmp_path,
            "second.jsonl",
            event(
                "evt_re1",
                "refund.created",
                "2025-03-10T15:00:00",
                refund("re_1", 2500, "2025-03-10T15:00:00"),
            ),
        ),
    )
    found = ledger(database)
    assert found["re_1"] == ("refund", Decimal("25.00"), "completed", "2025-03-10T15:00:00")
    assert found["evt_r1"] == ("refund", Decimal("15.00"), "completed", "2025-03-10T15:00:01")
    assert refunded_total(database) == Decimal("40.00")


def test_failed_refund_gives_nothing_back(database: str, tmp_path: Path) -> None:
    path = land(
        tmp_path,
        "failed.jsonl",
        PAID,
        # Created pending (Stripe counts it in amount_refunded: 3000), then it fails.
        event(
            "evt_re1",
            "refund.created",
            "2025-03-10T15:00:00",
            refund("re_1", 3000, "2025-03-10T15:00:00", "pending"),
        ),
        refunded("evt_r1", "2025-03-10T15:00:00", 3000),
        event(
            "evt_re1f",
            "charge.refund.updated",
            "2025-03-12T10:00:00",
            refund("re_1", 3000, "2025-03-10T15:00:00", "failed"),
        ),
        # A refund canceled before it was paid out.
        event(
            "evt_re2",
            "refund.created",
            "2025-03-13T10:00:00",
            refund("re_2", 1000, "2025-03-13T10:00:00", "canceled"),
        ),
    )
    assert load(database, path).rows_loaded == 5
    assert ledger(database) == {
        "ch_R": PAYMENT,
        "re_1": ("refund", Decimal("30.00"), "failed", "2025-03-10T15:00:00"),
        "re_2": ("refund", Decimal("10.00"), "cancelled", "2025-03-13T10:00:00"),
    }
    assert refunded_total(database) == Decimal("0")


def test_refund_event_listed_before_its_charge_in_the_file(database: str, tmp_path: Path) -> None:
    path = land(
        tmp_path,
        "reversed.jsonl",
        event(
            "evt_re1",
            "refund.created",
            "2025-03-10T15:00:00",
            refund("re_1", 2500, "2025-03-10T15:00:00"),
        ),
        PAID,
    )
    assert load(database, path).rows_loaded == 2
    assert ledger(database) == {
        "ch_R": PAYMENT,
        "re_1": ("refund", Decimal("25.00"), "completed", "2025-03-10T15:00:00"),
    }


def test_charge_refunded_in_a_file_before_the_charge_succeeded(
    database: str, tmp_path: Path
) -> None:
    # charge.refunded carries the whole charge: it books the payment and 2500 - 0 = 25.00.
    load(database, land(tmp_path, "early.jsonl", refunded("evt_r1", "2025-03-10T15:00:00", 2500)))
    # The older charge.succeeded, delivered late, changes nothing (its version is older and
    # it says nothing about refunds).
    late = load(database, land(tmp_path, "late.jsonl", PAID))
    assert (late.rows_loaded, late.rows_quarantined) == (1, 0)
    assert ledger(database) == {
        "ch_R": PAYMENT,
        "evt_r1": ("refund", Decimal("25.00"), "completed", "2025-03-10T15:00:00"),
    }


def test_refund_object_of_an_unknown_charge_is_quarantined(database: str, tmp_path: Path) -> None:
    path = land(
        tmp_path,
        "lonely.jsonl",
        event(
            "evt_re1",
            "refund.created",
            "2025-03-10T15:00:00",
            refund("re_1", 2500, "2025-03-10T15:00:00"),
        ),
    )
    assert load(database, path).rows_quarantined == 1
    with psycopg.connect(database) as conn:
        row = conn.execute("SELECT reason FROM raw.quarantine").fetchone()
    assert row is not None
    assert row[0].startswith("data.object.charge ch_R is neither in this file nor already loaded")
    assert ledger(database) == {}
