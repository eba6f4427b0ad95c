"""Disputes as Stripe's balance sees them, through the loader into a real database.

Stripe withdraws a chargeback's amount when the dispute opens and reinstates it when the
dispute is won. The ledger books the withdrawal under the dispute id, dated when the funds
left (`charge.dispute.created` or `charge.dispute.funds_withdrawn`, once), and a won dispute's
reinstatement under `<dispute id>:reinstated`, dated the day it closed (or on
`charge.dispute.funds_reinstated`, once). Booked dates never move: closed months stay
closed. Every expected row is written by hand: charge ch_R is BRL 100.00 paid on 2025-03-01
12:00 UTC by tenant B; dispute dp_R is for all of it, opened 2025-03-20 10:00 UTC.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.fixtures.landing.payments.build_fixtures import event
from tests.integration.test_payments_refunds import PAID, PAYMENT, land, ledger, load, unix
from tests.support.payments_reference import insert_payments_reference


@pytest.fixture
def database(migrated_database_url: str) -> str:
    insert_payments_reference(migrated_database_url)
    return migrated_database_url


def dispute(status: str, **fields: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": "dp_R",
        "object": "dispute",
        "amount": 10000,
        "charge": "ch_R",
        "created": unix("2025-03-20T10:00:00"),
        "currency": "brl",
        "metadata": {},
        "payment_intent": "pi_R",
        "reason": "fraudulent",
        "status": status,
    }
    obj.update(fields)
    return obj


OPENED = event(
    "evt_open", "charge.dispute.created", "2025-03-20T10:00:01", dispute("needs_response")
)
WITHDRAWN = event(
    "evt_out", "charge.dispute.funds_withdrawn", "2025-03-20T10:00:02", dispute("needs_response")
)
WITHDRAWAL = ("chargeback", Decimal("100.00"), "completed", "2025-03-20T10:00:00")


def net_by_month(database: str) -> dict[str, Decimal]:
    """Completed money per UTC month as the marts sign it: payments and reinstatements in,
    refunds and withdrawn chargebacks out."""
    with psycopg.connect(database) as conn:
        found = conn.execute(
            "SELECT to_char(processed_at AT TIME ZONE 'UTC', 'YYYY-MM'), sum(CASE WHEN "
            "transaction_type = 'payment' OR metadata ->> 'dispute_funds' = 'reinstated' "
            "THEN amount ELSE -amount END) FROM public.financial_transactions "
            "WHERE status = 'completed' GROUP BY 1 ORDER BY 1"
        ).fetchall()
    return {month: total for month, total in found}


def test_created_and_funds_withdrawn_count_once_and_a_loss_changes_nothing(
    database: str, tmp_path: Path
) -> None:
    load(database, land(tmp_path, "march.jsonl", PAID, WITHDRAWN, OPENED))
    assert ledger(database) == {"ch_R": PAYMENT, "dp_R": WITHDRAWAL}
    lost = event("evt_lost", "charge.dispute.closed", "2025-04-02T09:00:00", dispute("lost"))
    assert load(database, land(tmp_path, "april.jsonl", lost)).rows_quarantined == 0
    # The loss changes no money and no date: March keeps 100.00 - 100.00, April nothing.
    assert ledger(database) == {"ch_R": PAYMENT, "dp_R": WITHDRAWAL}
    assert net_by_month(database) == {"2025-03": Decimal("0.00")}


def test_a_won_dispute_gives_the_money_back_on_the_day_it_closed(
    database: str, tmp_path: Path
) -> None:
    load(database, land(tmp_path, "march.jsonl", PAID, OPENED))
    won = event("evt_won", "charge.dispute.closed", "2025-04-02T09:00:00", dispute("won"))
    reinstated = event(
        "evt_back", "charge.dispute.funds_reinstated", "2025-04-03T08:00:00", dispute("won")
    )
    load(database, land(tmp_path, "april.jsonl", won))
    expected = {
        "ch_R": PAYMENT,
        "dp_R": WITHDRAWAL,  # March stays as it was closed
        "dp_R:reinstated": ("chargeback", Decimal("100.00"), "completed", "2025-04-02T09:00:00"),
    }
    assert ledger(database) == expected
    # funds_reinstated after the closing, in a later file: once, on the closing day.
    assert load(database, land(tmp_path, "later.jsonl", reinstated)).rows_quarantined == 0
    assert ledger(database) == expected
    # March: +100.00 - 100.00 = 0.00; April: the 100.00 given back.
    assert net_by_month(database) == {"2025-03": Decimal("0.00"), "2025-04": Decimal("100.00")}


def test_only_the_closing_event_still_dates_the_withdrawal_on_the_opening(
    database: str, tmp_path: Path
) -> None:
    won = event("evt_won", "charge.dispute.closed", "2025-04-02T09:00:00", dispute("won"))
    load(database, land(tmp_path, "one.jsonl", won, PAID))  # lines out of order too
    assert ledger(database) == {
        "ch_R": PAYMENT,
        "dp_R": WITHDRAWAL,
        "dp_R:reinstated": ("chargeback", Decimal("100.00"), "completed", "2025-04-02T09:00:00"),
    }
    # The opening, delivered late and again, changes nothing.
    late = load(database, land(tmp_path, "late.jsonl", OPENED, OPENED))
    assert (late.rows_loaded, late.rows_duplicate, late.rows_quarantined) == (1, 1, 0)
    assert net_by_month(database) == {"2025-03": Decimal("0.00"), "2025-04": Decimal("100.00")}


def test_balance_transactions_date_the_money_when_listed(database: str, tmp_path: Path) -> None:
    listed = dispute(
        "won",
        balance_transactions=[
            {"id": "txn_out", "object": "balance_transaction", "amount": -10000,
             "created": unix("2025-03-21T00:00:00"), "reporting_category": "dispute"},
            {"id": "txn_in", "object": "balance_transaction", "amount": 10000,
             "created": unix("2025-04-05T00:00:00"), "reporting_category": "dispute_reversal"},
        ],
    )  # fmt: skip
    won = event("evt_won", "charge.dispute.closed", "2025-04-02T09:00:00", listed)
    load(database, land(tmp_path, "listed.jsonl", PAID, won))
    assert ledger(database) == {
        "ch_R": PAYMENT,
        "dp_R": ("chargeback", Decimal("100.00"), "completed", "2025-03-21T00:00:00"),
        "dp_R:reinstated": ("chargeback", Decimal("100.00"), "completed", "2025-04-05T00:00:00"),
    }


def test_an_inquiry_moves_no_money_until_it_escalates(database: str, tmp_path: Path) -> None:
    inquiry = event(
        "evt_inq",
        "charge.dispute.created",
        "2025-03-20T10:00:01",
        dispute("warning_needs_response"),
    )
    load(database, land(tmp_path, "inquiry.jsonl", PAID, inquiry))
    assert ledger(database)["dp_R"] == (
        "chargeback",
        Decimal("100.00"),
        "pending",
        "2025-03-20T10:00:00",
    )
    # Escalated on 1 April: the funds leave then, not on the inquiry's day.
    escalated = event(
        "evt_esc",
        "charge.dispute.funds_withdrawn",
        "2025-04-01T11:00:00",
        dispute("needs_response"),
    )
    load(database, land(tmp_path, "escalated.jsonl", escalated))
    assert ledger(database)["dp_R"] == (
        "chargeback",
        Decimal("100.00"),
        "completed",
        "2025-04-01T11:00:00",
    )
    assert net_by_month(database) == {"2025-03": Decimal("100.00"), "2025-04": Decimal("-100.00")}


def test_an_inquiry_closed_without_a_chargeback_gives_nothing(
    database: str, tmp_path: Path
) -> None:
    path = land(
        tmp_path,
        "closed.jsonl",
        PAID,
        event("evt_inq", "charge.dispute.created", "2025-03-20T10:00:01",
              dispute("warning_needs_response")),
        event("evt_end", "charge.dispute.closed", "2025-03-25T10:00:00",
              dispute("warning_closed")),
    )  # fmt: skip
    load(database, path)
    assert ledger(database)["dp_R"] == (
        "chargeback", Decimal("100.00"), "cancelled", "2025-03-20T10:00:00",
    )  # fmt: skip
    assert net_by_month(database) == {"2025-03": Decimal("100.00")}
