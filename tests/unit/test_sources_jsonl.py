"""Parsing of the JSON Lines sources: behaviour and audit."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from ingestion.parsing.contract import ParseContext
from ingestion.sources.audit import SOURCE as AUDIT
from ingestion.sources.behaviour import SOURCE as BEHAVIOUR

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "landing"
TENANT = "11111111-1111-4111-8111-111111111111"
USER = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
OTHER_TENANT = "22222222-2222-4222-8222-222222222222"
OTHER_USER = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
CONTEXT = ParseContext(frozenset({TENANT, OTHER_TENANT}), frozenset({USER, OTHER_USER}), {})


def event(**fields: object) -> bytes:
    base: dict[str, object] = {
        "event_id": "e-1",
        "occurred_at": "2026-01-05T12:00:00-03:00",
        "tenant_id": TENANT.upper(),
        "user_id": USER,
        "action": "login",
        "resource": "user",
    }
    base.update(fields)
    return (json.dumps({k: v for k, v in base.items() if v is not ...}) + "\n").encode()


def test_behaviour_fixture_maps_to_user_behavior_tracking():
    parsed = BEHAVIOUR.parse(
        (FIXTURES / "behaviour/behaviour_2026-01-05.jsonl").read_bytes(), "b.jsonl", CONTEXT
    )
    rows = parsed.tables["public.user_behavior_tracking"]
    assert parsed.records_in == 6  # the blank line is not a record
    assert rows.height == 6
    assert parsed.rejects == []
    first = rows.row(0, named=True)
    assert json.loads(first["location_data"]) == {"country": "BR", "city": "São Paulo"}
    assert first["metadata"] == "{}"
    assert rows["source_record_id"].to_list()[-1] == "bhv-0006"
    assert parsed.min_event_at == datetime(2026, 1, 5, 12, tzinfo=UTC)


def test_behaviour_rows_are_canonical():
    parsed = BEHAVIOUR.parse(
        event(resource_id="0B5F4C1E-8D4A-4C3E-9F59-2F7A3B1C9D10"), "b.jsonl", CONTEXT
    )
    row = parsed.tables["public.user_behavior_tracking"].row(0, named=True)
    assert row["tenant_id"] == TENANT
    assert row["resource_id"] == "0b5f4c1e-8d4a-4c3e-9f59-2f7a3b1c9d10"
    assert row["created_at"] == datetime(2026, 1, 5, 15, tzinfo=UTC)


def test_audit_allows_a_null_tenant_but_not_a_missing_one():
    parsed = AUDIT.parse(
        event(tenant_id=None, user_id=None) + event(event_id="e-2", tenant_id=...),
        "a.jsonl",
        CONTEXT,
    )
    rows = parsed.tables["public.audit_logs"]
    assert rows.select("tenant_id", "user_id", "source_record_id").rows() == [(None, None, "e-1")]
    assert [(r.record_number, r.reason) for r in parsed.rejects] == [
        (2, "tenant_id is missing: give it (null is allowed)")
    ]


def test_audit_requires_a_resource_and_known_ids():
    parsed = AUDIT.parse(
        event(resource=None) + event(user_id="cccccccc-cccc-4ccc-8ccc-cccccccccccc"),
        "a.jsonl",
        CONTEXT,
    )
    assert [r.reason for r in parsed.rejects] == [
        "resource is missing: it is required",
        "user_id 'cccccccc-cccc-4ccc-8ccc-cccccccccccc' is not a known user",
    ]
    assert parsed.tables["public.audit_logs"].height == 0
