"""Property tests: any mix of good and bad records, on every path, costs only the bad ones.

Hypothesis draws batches of tracking events (and behaviour events) where some are valid and
some carry one defect in one field: text PostgreSQL cannot store (a NUL, a lone surrogate),
nesting too deep to keep, a wrong JSON type, a malformed value. Whatever the mix, parsing
never raises; every good record is kept; every bad one is refused with a reason naming its
field; and the write API's door refuses exactly the batches the loader would partly refuse.
Bounded (few examples, no deadline) so that the suite stays fast.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.parsing.contract import ParseContext
from ingestion.sources import behaviour
from ingestion.sources.tracking import parse_events, parse_file, refusals
from write_api.errors import ApiError
from write_api.track import _events_of

BOUNDED = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TENANT = "11111111-1111-4111-8111-111111111111"
USER = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
CONTEXT = ParseContext(frozenset({TENANT}), frozenset({USER}), {}, reporting_currency="BRL")

# Text PostgreSQL stores: no NUL, no surrogate.
_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)
_NUL_TEXT = st.tuples(_TEXT, _TEXT).map(lambda pair: f"{pair[0]}\x00{pair[1]}")
_SURROGATE_TEXT = st.tuples(_TEXT, st.integers(0xD800, 0xDFFF)).map(
    lambda pair: pair[0] + chr(pair[1])
)


def _nested(depth: int) -> Any:
    value: Any = "x"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


_TRACKING_TEXT_FIELDS = (
    "page_title", "session_id", "user_agent", "utm_source", "utm_campaign", "visitor_id",
    "referrer", "event_name", "an_unknown_field",
)  # fmt: skip
# (field, a strategy of values that make the event bad)
_TRACKING_DEFECTS: list[tuple[str, st.SearchStrategy[Any]]] = [
    *((name, _NUL_TEXT) for name in _TRACKING_TEXT_FIELDS),
    *((name, _SURROGATE_TEXT) for name in _TRACKING_TEXT_FIELDS),
    ("another_unknown", st.integers(129, 900).map(_nested)),
    ("page_title", st.sampled_from([{"a": 1}, [1, 2], True])),
    ("ip", st.sampled_from(["999.1.1.1", "not an ip", "1.2.3"])),
    ("page_url", st.sampled_from(["ftp://x", "/relative", "nope"])),
    ("visit_duration", st.sampled_from([-1, "abc", 1.5, 2**40])),
    ("occurred_at", st.sampled_from(["yesterday", "2026-11-25T14:03:12", "2026-13-01T00:00Z"])),
    ("event_type", st.sampled_from(["bogus", "PAGEVIEWS"])),
]


@st.composite
def _tracking_event(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "event_id": str(draw(st.uuids(version=4))),
        "occurred_at": "2026-11-25T14:03:12Z",
        "session_id": "s-" + draw(st.text("abcdef0123456789", min_size=1, max_size=8)),
        "ip": draw(st.sampled_from(["177.72.0.1", "2804:14c::1", "8.8.8.8"])),
        "page_url": "https://botcriptofy.com.br/" + draw(st.text("abc/-", max_size=20)),
        "page_title": draw(_TEXT),
        "user_agent": draw(_TEXT),
        "visit_duration": draw(st.integers(0, 10_000)),
        "campaign_note": draw(_TEXT),  # unknown: kept in metadata
    }


@st.composite
def _tracking_batch(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """Events, and the field of each bad one by its position."""
    size = draw(st.integers(1, 12))
    events: list[dict[str, Any]] = []
    bad: dict[int, str] = {}
    for position in range(size):
        event = draw(_tracking_event())
        if draw(st.booleans()):
            field, values = draw(st.sampled_from(_TRACKING_DEFECTS))
            event[field] = draw(values)
            bad[position] = field
        events.append(event)
    return events, bad


def _check_outcome(
    events: list[dict[str, Any]], bad: dict[int, str], kept_ids: set[str], reasons: dict[int, str]
) -> None:
    for position, event in enumerate(events):
        if position in bad:
            assert position + 1 in reasons, (bad[position], event[bad[position]])
            assert bad[position] in reasons[position + 1], (bad[position], reasons[position + 1])
        else:
            assert event["event_id"] in kept_ids, reasons.get(position + 1)


@BOUNDED
@given(_tracking_batch())
def test_decoded_tracking_events_are_kept_or_refused_naming_the_field(
    batch: tuple[list[dict[str, Any]], dict[int, str]],
) -> None:
    events, bad = batch
    parsed = parse_events(events, enrich=False)
    [rows] = parsed.tables.values()
    assert parsed.records_in == rows.height + len(parsed.rejects) == len(events)
    reasons = {reject.record_number or 0: reject.reason for reject in parsed.rejects}
    _check_outcome(events, bad, set(rows.get_column("source_record_id").to_list()), reasons)


@BOUNDED
@given(_tracking_batch())
def test_tracking_files_are_kept_or_refused_naming_the_field(
    batch: tuple[list[dict[str, Any]], dict[int, str]],
) -> None:
    events, bad = batch
    # json.dumps writes a NUL as \u0000 and a lone surrogate as its escape, as a client would.
    data = "\n".join(json.dumps(event) for event in events).encode()
    parsed = parse_file(data, "events.jsonl", enrich=False)
    [rows] = parsed.tables.values()
    assert parsed.records_in == rows.height + len(parsed.rejects) == len(events)
    reasons = {reject.record_number or 0: reject.reason for reject in parsed.rejects}
    _check_outcome(events, bad, set(rows.get_column("source_record_id").to_list()), reasons)


@BOUNDED
@given(_tracking_batch())
def test_the_api_door_refuses_what_the_loader_would(
    batch: tuple[list[dict[str, Any]], dict[int, str]],
) -> None:
    """`/v1/track` answers a 4xx naming a bad event's field, or lets through a batch the
    loader takes whole: never an exception of another kind."""
    events, bad = batch
    body = json.dumps({"events": events}).encode()
    door: ApiError | None = None
    try:
        decoded = _events_of(body, 1_000)
    except ApiError as error:
        door = error
    if door is not None:
        assert 400 <= door.status < 500
        assert door.field in {f"events[{at}].{field}" for at, field in bad.items()}, door.field
        return
    refused = refusals(decoded)
    assert {(reject.record_number or 0) - 1 for reject in refused} == set(bad)


_BEHAVIOUR_DEFECTS: list[tuple[str, st.SearchStrategy[Any]]] = [
    *((name, _NUL_TEXT) for name in ("action", "user_agent", "resource", "an_ignored_key")),
    *((name, _SURROGATE_TEXT) for name in ("action", "user_agent", "an_ignored_key")),
    ("metadata", _NUL_TEXT.map(lambda text: {"note": [text]})),
    ("tenant_id", st.sampled_from(["not-a-uuid", str(uuid.UUID(int=1))])),
    ("occurred_at", st.sampled_from(["yesterday", "2026-01-05T12:00:00"])),
    ("ip_address", st.sampled_from(["999.0.0.1", "x"])),
    ("metadata", st.sampled_from([[1], "text", 3])),
]


@BOUNDED
@given(st.data())
@pytest.mark.parametrize("source", [behaviour.SOURCE])
def test_behaviour_files_are_kept_or_refused_naming_the_field(source: Any, data: st.DataObject):
    size = data.draw(st.integers(1, 10))
    events: list[dict[str, Any]] = []
    bad: dict[int, str] = {}
    for position in range(size):
        event: dict[str, Any] = {
            "event_id": f"e-{position}-{uuid.uuid4().hex[:6]}",
            "occurred_at": "2026-01-05T12:00:00Z",
            "tenant_id": TENANT,
            "user_id": USER,
            "action": "login",
            "user_agent": data.draw(_TEXT),
            "metadata": {"text": data.draw(_TEXT)},
        }
        if data.draw(st.booleans()):
            field, values = data.draw(st.sampled_from(_BEHAVIOUR_DEFECTS))
            event[field] = data.draw(values)
            bad[position] = field
        events.append(event)
    parsed = source.parse(
        "\n".join(json.dumps(event) for event in events).encode(), "e.jsonl", CONTEXT
    )
    [rows] = parsed.tables.values()
    assert parsed.records_in == rows.height + len(parsed.rejects) == len(events)
    reasons = {reject.record_number or 0: reject.reason for reject in parsed.rejects}
    kept = set(rows.get_column("source_record_id").to_list())
    for position, event in enumerate(events):
        if position in bad:
            assert bad[position] in reasons[position + 1], (bad[position], reasons)
        else:
            assert event["event_id"] in kept, reasons.get(position + 1)


def test_a_nul_in_a_parquet_tracking_file_is_refused_naming_the_column() -> None:
    import io

    import polars as pl

    rows = [
        {
            "event_id": str(uuid.uuid4()),
            "occurred_at": "2026-11-25T14:03:12Z",
            "session_id": "s",
            "ip": "177.72.0.1",
            "page_url": "https://botcriptofy.com.br/",
            "page_title": title,
            "campaign_note": note,
        }
        for title, note in (("ok", "ok"), ("a\x00b", "ok"), ("ok", "x\x00"))
    ]
    buffer = io.BytesIO()
    pl.DataFrame(rows).write_parquet(buffer)
    parsed = parse_file(buffer.getvalue(), "events.parquet", enrich=False)
    assert [table.height for table in parsed.tables.values()] == [1]
    assert [(r.record_number, r.reason.split(" ")[0]) for r in parsed.rejects] == [
        (2, "page_title"),
        (3, "campaign_note"),
    ]
