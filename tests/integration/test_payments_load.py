"""Stripe events through the loader into a real database: counts, idempotency, later refunds."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from ingestion.load.loader import load_file
from tests.fixtures.landing.payments.build_fixtures import charge, event, refund
from tests.support.payments_reference import insert_payments_reference
from tests.unit.test_payments_source import GOOD


@pytest.fixture
def database(migrated_database_url: str) -> str:
    """The tenants, users and plans the payments fixtures reference."""
    insert_payments_reference(migrated_database_url)
    return migrated_database_url


def _counts(url: str) -> dict[str, object]:
    with psycopg.connect(url) as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
            for table in (
                "raw.stripe_events",
                "public.financial_transactions",
                "public.billing_subscriptions",
                "raw.subscription_events",
                "raw.quarantine",
            )
        } | {
            "money": conn.execute(
                "SELECT transaction_type, sum(amount) FROM public.financial_transactions "
                "GROUP BY 1 ORDER BY 1"
            ).fetchall()
        }


def test_fixture_loads_once_and_again_changes_nothing(database: str) -> None:
    first = load_file(database, "payments", GOOD)
    assert (first.rows_in, first.rows_loaded, first.rows_duplicate, first.rows_quarantined) == (
        62, 59, 3, 0,
    )  # fmt: skip
    after_first = _counts(database)
    assert after_first["raw.stripe_events"] == 59
    assert after_first["public.financial_transactions"] == 20  # with a won dispute's reinstatement
    assert after_first["public.billing_subscriptions"] == 5
    assert after_first["raw.subscription_events"] == 17

    again = load_file(database, "payments", GOOD)
    assert again.already_loaded
    assert _counts(database) == after_first


def test_refund_in_a_later_file_takes_its_owner_from_the_loaded_charge(
    database: str, tmp_path: Path
) -> None:
    load_file(database, "payments", GOOD)
    # A refund of ch_3QA1 (a subscription charge without metadata) weeks later, alone in
    # its file, as current API versions send it: nothing in it names the tenant.
    later = event(
        "evt_later_refund",
        "charge.refunded",
        "2025-04-02T10:00:00",
        charge(
            "ch_3QA1", 19990, "brl", "2025-01-20T10:00:02", customer="cus_QA",
            intent="pi_3QA1", metadata={}, method={"type": "pix", "pix": {}},
            refunds=[
                refund("re_later", "ch_3QA1", "pi_3QA1", 5000, "brl", "2025-04-02T10:00:00",
                       "requested_by_customer"),
            ],
        ),
    )  # fmt: skip
    path = tmp_path / "later.jsonl"
    path.write_text(json.dumps(later) + "\n")

    result = load_file(database, "payments", path)

    assert (result.rows_loaded, result.rows_quarantined) == (1, 0)
    with psycopg.connect(database) as conn:
        row = conn.execute(
            "SELECT r.tenant_id = c.tenant_id, r.amount, r.metadata ->> 'revenue_type', "
            "r.processed_at::date::text "
            "FROM financial_transactions r JOIN financial_transactions c "
            "ON c.source_record_id = r.metadata ->> 'original_charge_id' "
            "WHERE r.source_record_id = 're_later'"
        ).fetchone()
    assert row == (True, Decimal("50.00"), "subscription", "2025-04-02")
