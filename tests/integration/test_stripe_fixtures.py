"""Stripe's own example objects (stripe/openapi `fixtures3.json`, see tests/fixtures/
stripe_openapi/README.md) in events of every type the payments source accepts, loaded into a
real database: each loads, or its refusal names the field.

Two things are set as the platform sets them on its own objects: the owner in `metadata`
(tenant_id, user_id) and, on subscription prices, a `lookup_key` naming a plan. Nothing else
is changed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ingestion.load.loader import load_file
from ingestion.sources.payments_rows import EXPECTED_OBJECT
from tests.support.payments_reference import insert_payments_reference
from tests.unit.test_payments_source import OWNER_B

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "stripe_openapi" / "fixtures3.json"

# What each accepted event type does with Stripe's example object. Stripe's example discount
# has `source.coupon` null: it cannot be valued, and the reason says where the coupon is
# looked for.
REFUSED = {
    kind: "data.object.coupon and data.object.source.coupon are missing"
    for kind in (
        "customer.discount.created",
        "customer.discount.updated",
        "customer.discount.deleted",
    )
}


@pytest.fixture
def database(migrated_database_url: str) -> str:
    insert_payments_reference(migrated_database_url, tenant_letters=("B",))
    return migrated_database_url


def stripe_example(kind: str) -> dict[str, Any]:
    resources = json.loads(FIXTURES.read_text())["resources"]
    obj: dict[str, Any] = resources[kind]
    obj["metadata"] = {**(obj.get("metadata") or {}), **OWNER_B}
    for item in (obj.get("items") or {}).get("data", []):
        item["price"]["lookup_key"] = "pro"
    return obj


def test_every_accepted_event_type_loads_stripes_example_or_names_the_field(
    database: str, tmp_path: Path
) -> None:
    kinds = sorted(EXPECTED_OBJECT)
    events = [
        {
            "id": f"evt_fixture_{number}",
            "object": "event",
            "api_version": "2025-03-31.basil",
            "created": 1_234_567_890 + number,
            "livemode": False,
            "type": kind,
            "data": {"object": stripe_example(EXPECTED_OBJECT[kind])},
        }
        for number, kind in enumerate(kinds)
    ]
    path = tmp_path / "stripe_examples.jsonl"
    path.write_text("".join(json.dumps(event) + "\n" for event in events))
    result = load_file(database, "payments", path)
    assert result.rows_in == len(kinds) == result.rows_loaded + result.rows_quarantined

    with psycopg.connect(database) as conn:
        loaded = {row[0] for row in conn.execute("SELECT type FROM raw.stripe_events")}
        refused = dict(
            conn.execute(
                "SELECT raw_record::jsonb ->> 'type', reason FROM raw.quarantine"
            ).fetchall()
        )
    assert loaded == set(kinds) - set(REFUSED)
    assert set(refused) == set(REFUSED)
    for kind, reason in refused.items():
        assert reason.startswith(REFUSED[kind]), (kind, reason)
