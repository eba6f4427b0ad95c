"""The tracking source: JSONL/Parquet/decoded events -> visitor_tracking rows and rejects."""

from __future__ import annotations

import gzip
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest
from sqlalchemy import String

from core.db import schema
from ingestion.parsing.contract import FinishingSource, ParseContext, Parsed, Source
from ingestion.sources import tracking
from ingestion.sources.tracking import (
    TABLE,
    TrackingSource,
    parse_events,
    parse_file,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "landing" / "tracking"
DAY_1 = FIXTURES / "events_2026-11-24.jsonl"
DAY_2 = FIXTURES / "events_2026-11-25.jsonl"
BAD = FIXTURES / "bad_events.jsonl"
CONTEXT = ParseContext(frozenset(), frozenset(), {}, reporting_currency="BRL")
LOADER_COLUMNS = {"ingest_batch_id"}  # stamped by the loader, not the source


def _table(parsed: Parsed) -> pl.DataFrame:
    assert list(parsed.tables) == [TABLE]
    return parsed.tables[TABLE]


def _event(**fields: Any) -> dict[str, Any]:
    event = {
        "event_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
        "occurred_at": "2026-11-25T14:03:12Z",
        "session_id": "s1",
        "ip": "177.72.0.1",
        "page_url": "https://botcriptofy.com.br/",
    }
    event.update(fields)
    return {key: value for key, value in event.items() if value is not ...}


def _jsonl(*events: dict[str, Any]) -> bytes:
    return b"\n".join(orjson.dumps(event) for event in events) + b"\n"


def test_source_follows_the_contract() -> None:
    source: Source = tracking.SOURCE
    assert source.name == "tracking"
    assert source.file_patterns == ("*.jsonl", "*.jsonl.gz", "*.parquet")
    assert source.primary.table == "public.visitor_tracking"
    assert source.primary.key == ("source_record_id", "created_at")
    assert source.primary.disposition == "insert_new"
    assert source.secondary == ()
    assert len(source.derived_sql) == 1
    assert ":batch_id" in source.derived_sql[0]
    assert "public.visitor_sessions" in source.derived_sql[0]
    assert tracking.SOURCE.derived_tables == ("public.visitor_sessions",)


def test_columns_match_visitor_tracking() -> None:
    table = _table(parse_file(DAY_1.read_bytes(), DAY_1.name, CONTEXT))
    expected = [c.name for c in schema.visitor_tracking.columns if c.name not in LOADER_COLUMNS]
    assert table.columns == expected
    assert table.schema["created_at"] == pl.Datetime("us", "UTC")
    assert table.schema["latitude"] == pl.Decimal(10, 8)
    assert table.schema["longitude"] == pl.Decimal(11, 8)
    assert table.schema["ip_version"] == pl.Int32
    assert table.schema["visit_duration"] == pl.Int32
    for column in schema.visitor_tracking.columns:
        if column.name in table.columns and not column.nullable and not column.server_default:
            assert table.get_column(column.name).null_count() == 0, column.name
        if isinstance(column.type, String) and column.type.length:
            longest = table.get_column(column.name).str.len_chars().max()
            assert longest is None or int(longest) <= column.type.length, column.name  # type: ignore[arg-type]


def test_realistic_file() -> None:
    parsed = parse_file(DAY_1.read_bytes(), DAY_1.name, CONTEXT)
    table = _table(parsed)
    assert parsed.records_in == 30
    assert table.height == 30
    assert parsed.rejects == []
    assert parsed.min_event_at == datetime(2026, 11, 24, 12, 5, 3, tzinfo=UTC)
    assert parsed.max_event_at == datetime(2026, 11, 24, 21, 10, 57, tzinfo=UTC)
    assert table.get_column("session_id").n_unique() == 10
    assert table.get_column("id").to_list() == table.get_column("source_record_id").to_list()
    assert table.get_column("id").is_unique().all()
    assert set(table.get_column("ip_version")) == {4, 6}
    assert table.filter(pl.col("gclid").is_not_null()).height == 1
    assert set(table.get_column("device_type")) == {"desktop", "mobile", "tablet", "bot"}

    metadata = [json.loads(text) for text in table.get_column("metadata")]
    assert all(isinstance(item["is_bot"], bool) for item in metadata)
    bots = table.filter(pl.col("device_type") == "bot")
    assert set(bots.get_column("session_id")) == {"s-googlebot", "s-curl"}
    by_session = dict(zip(table.get_column("session_id"), metadata, strict=True))
    assert by_session["s-googlebot"]["is_bot"] is True
    assert by_session["s-iphone-instagram"]["is_bot"] is False

    first = table.row(0, named=True)
    assert first["session_id"] == "s-desktop-ads"
    assert first["created_at"] == datetime(2026, 11, 24, 12, 5, 3, tzinfo=UTC)  # -03:00 in
    assert (first["country"], first["city"], first["browser"], first["os"]) == (
        "BR",
        "Recife",
        "Chrome",
        "Windows",
    )
    extras = json.loads(first["metadata"])
    assert extras["lang"] == "pt-BR"
    assert extras["consent"] == {"ads": True, "analytics": True}
    assert extras["visitor_id"] == "v-1001"
    assert extras["event_type"] == "pageview"

    purchase = table.filter(pl.col("metadata").str.contains('"purchase"')).row(0, named=True)
    meta = json.loads(purchase["metadata"])
    assert meta["event_type"] == "conversion"
    assert meta["conversion_value"] == 49.9
    assert meta["currency"] == "BRL"
    assert purchase["visit_duration"] == 0


def test_bad_file_rejects_with_reasons() -> None:
    parsed = parse_file(BAD.read_bytes(), BAD.name, CONTEXT)
    table = _table(parsed)
    assert parsed.records_in == 16  # the blank line 9 is not a record
    assert table.height == 2
    assert parsed.records_in == table.height + len(parsed.rejects)
    reasons = {reject.record_number: reject.reason for reject in parsed.rejects}
    expected = {
        2: "not valid JSON",
        3: "not valid UTF-8 (byte 0xe7",
        4: "session_id is missing",
        5: "occurred_at '2026-11-24 25:61:00' is not an ISO-8601 date-time",
        6: "occurred_at '2026-11-24T20:06:00' has no time zone",
        7: "ip '999.1.1.1' is not an IPv4 or IPv6 address",
        8: "utm_source has 150 characters, at most 100 fit",
        10: "event_id 'not-a-uuid' is not a UUID",
        11: "visit_duration '-3' must be between 0 and 2147483647",
        12: "event_type 'purchase' is not one of pageview, event, conversion",
        13: "page_url '/precos' is not an absolute http(s) URL",
        14: "conversion_value '12,50' is not a non-negative number (use a dot",
        15: "line is an array, expected one event object",
        16: "session_id must be a string, got an object",
    }
    assert list(reasons) == sorted(expected)
    for number, fragment in expected.items():
        assert fragment in reasons[number], (number, reasons[number])
    raw = {reject.record_number: reject.raw_record for reject in parsed.rejects}
    assert "Pre\ufffdos" in raw[3]  # kept, with a replacement character
    assert raw[15] == '["not", "an", "object"]'
    kept = table.sort("created_at")
    assert kept.get_column("ip_version").to_list() == [4, 6]
    assert kept.get_column("visit_duration").to_list() == [5, 42]


def test_one_reason_lists_every_problem_of_a_record() -> None:
    line = _event(event_id="x", ip="1.2.3", page_url="ftp://x", utm_medium="m" * 101)
    parsed = parse_file(_jsonl(line), "e.jsonl", CONTEXT)
    (reject,) = parsed.rejects
    for fragment in ("event_id 'x'", "ip '1.2.3'", "page_url 'ftp://x'", "utm_medium has 101"):
        assert fragment in reject.reason


def test_timestamps() -> None:
    cases = {
        "2026-11-25T14:03:12Z": datetime(2026, 11, 25, 14, 3, 12, tzinfo=UTC),
        "2026-11-25T11:03:12.250-03:00": datetime(2026, 11, 25, 14, 3, 12, 250000, tzinfo=UTC),
        "2026-11-25 11:03:12-0300": datetime(2026, 11, 25, 14, 3, 12, tzinfo=UTC),
        "2026-11-25T14:03:12.123456789+00:00": datetime(
            2026, 11, 25, 14, 3, 12, 123456, tzinfo=UTC
        ),
    }
    events = [
        _event(event_id=f"0f8fad5b-d9cb-469f-a165-7086772895{n:02d}", occurred_at=text)
        for n, text in enumerate(cases)
    ]
    table = _table(parse_file(_jsonl(*events), "t.jsonl", CONTEXT))
    assert table.get_column("created_at").to_list() == list(cases.values())
    refused = parse_file(
        _jsonl(_event(occurred_at="1999-12-31T23:59:59Z"), _event(occurred_at=1732543392)),
        "t.jsonl",
        CONTEXT,
    )
    assert [r.reason.split(" is ")[0] for r in refused.rejects] == [
        "occurred_at '1999-12-31T23:59:59Z'",
        "occurred_at '1732543392'",
    ]


def test_same_event_id_at_another_time_is_refused_but_a_resend_is_kept() -> None:
    first = _event()
    resend = _event()
    moved = _event(occurred_at="2026-11-25T15:00:00Z")
    parsed = parse_file(_jsonl(first, resend, moved), "d.jsonl", CONTEXT)
    assert _table(parsed).height == 2  # the loader counts the resend as a duplicate
    (reject,) = parsed.rejects
    assert reject.record_number == 3
    assert "already came with occurred_at '2026-11-25T14:03:12Z' (record 1)" in reject.reason


def test_gzip_gives_the_same_rows() -> None:
    data = DAY_1.read_bytes()
    plain = _table(parse_file(data, "a.jsonl", CONTEXT))
    zipped = _table(parse_file(gzip.compress(data), "a.jsonl.gz", CONTEXT))
    assert zipped.equals(plain)
    # The loader reads gzip itself and hands the lines over under the file's name.
    assert _table(parse_file(data, "a.jsonl.gz", CONTEXT)).equals(plain)
    with pytest.raises(ValueError, match="not a complete gzip file"):
        parse_file(gzip.compress(data)[:100], "a.jsonl.gz", CONTEXT)


def test_parquet_gives_the_same_rows() -> None:
    data = DAY_1.read_bytes()
    plain = _table(parse_file(data, "a.jsonl", CONTEXT))
    events = [json.loads(line) for line in data.splitlines()]
    frame = pl.DataFrame(
        [{k: v for k, v in e.items() if k != "consent"} for e in events],
        infer_schema_length=None,
    ).with_columns(
        pl.col("occurred_at")
        .str.replace("Z", "+00:00", literal=True)
        .str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%z", time_zone="UTC")
    )
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    parsed = parse_file(buffer.getvalue(), "a.parquet", CONTEXT)
    assert parsed.rejects == []
    table = _table(parsed)
    assert table.drop("metadata").equals(plain.drop("metadata"))
    assert json.loads(table.get_column("metadata")[0])["lang"] == "pt-BR"


def test_parquet_refuses_naive_timestamps_and_wrong_types() -> None:
    frame = pl.DataFrame(
        {
            "event_id": ["0f8fad5b-d9cb-469f-a165-70867728950e"] * 2,
            "occurred_at": [datetime(2026, 11, 25, 14, 3, 12), datetime(2026, 11, 25, 14, 4)],
            "session_id": ["s1", "s1"],
            "ip": ["177.72.0.1", "177.72.0.1"],
            "page_url": ["https://a.b/", "https://a.b/"],
            "visit_duration": [True, None],
        }
    )
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    parsed = parse_file(buffer.getvalue(), "n.parquet", CONTEXT)
    assert parsed.records_in == 2
    assert [r.record_number for r in parsed.rejects] == [1, 2]
    assert "visit_duration must be a whole number" in parsed.rejects[0].reason
    assert all("has no time zone" in r.reason for r in parsed.rejects)
    assert json.loads(parsed.rejects[1].raw_record)["session_id"] == "s1"


def test_decoded_events_parse_like_lines() -> None:
    data = DAY_1.read_bytes()
    events = [json.loads(line) for line in data.splitlines()]
    from_dicts = _table(parse_events(events, CONTEXT))
    assert from_dicts.equals(_table(parse_file(data, "a.jsonl", CONTEXT)))
    assert TrackingSource().parse_events(events, CONTEXT).records_in == 30


def test_decoded_events_from_a_stream_may_be_bytes() -> None:
    event = {k.encode(): str(v).encode() for k, v in _event(visit_duration=7).items()}
    parsed = parse_events([event, "not a mapping", {b"event_id": b"\xff"}], CONTEXT)  # type: ignore[list-item]
    table = _table(parsed)
    assert table.height == 1
    assert table.get_column("visit_duration").to_list() == [7]
    assert parsed.records_in == 3
    reasons = {r.record_number: r.reason for r in parsed.rejects}
    assert "expected an object" in reasons[2]
    assert "event_id is not valid UTF-8" in reasons[3]


def test_refusals_are_the_rejects_of_parsing_the_same_events() -> None:
    events: list[Any] = []
    for line in BAD.read_bytes().splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:  # the broken lines of the file (bad JSON, bad UTF-8) are no events
            continue
    clash = {**events[0], "occurred_at": "2001-01-01T00:00:00Z"}  # its id at another time
    events += ["not an object", clash]
    expected = parse_events(events, CONTEXT).rejects
    assert len(expected) > 3
    assert tracking.refusals(events) == expected


def test_numbers_where_text_is_expected_and_text_where_numbers_are() -> None:
    event = _event(session_id=123456, visit_duration="42", conversion_value="19.999")
    table = _table(parse_file(_jsonl(event), "n.jsonl", CONTEXT))
    row = table.row(0, named=True)
    assert row["session_id"] == "123456"
    assert row["visit_duration"] == 42
    assert json.loads(row["metadata"])["conversion_value"] == 20.0


def test_enrichment_off() -> None:
    parsed = parse_file(DAY_1.read_bytes(), DAY_1.name, CONTEXT, enrich=False)
    table = _table(parsed)
    assert table.height == 30
    for column in ("country", "city", "browser", "device_type", "isp", "latitude"):
        assert table.get_column(column).null_count() == 30, column
    assert all("is_bot" not in json.loads(m) for m in table.get_column("metadata"))
    assert (
        TrackingSource(enrich=False)
        .parse(DAY_1.read_bytes(), DAY_1.name, CONTEXT)
        .tables[TABLE]
        .equals(table)
    )


@pytest.mark.parametrize("path", [DAY_1, DAY_2, BAD], ids=lambda path: path.name)
def test_finishing_unenriched_rows_gives_the_enriched_rows(path: Path) -> None:
    """The loader parses unenriched and finishes the rows it writes: the same rows result."""
    source = TrackingSource()
    assert isinstance(source, FinishingSource)
    unfinished = source.parse_unfinished(path.read_bytes(), path.name, CONTEXT)
    enriched = source.parse(path.read_bytes(), path.name, CONTEXT)
    assert unfinished.rejects == enriched.rejects
    assert source.finish(TABLE, _table(unfinished)).equals(_table(enriched))
    reversed_rows = _table(unfinished).reverse()
    assert source.finish(TABLE, reversed_rows).equals(_table(enriched).reverse())
    assert TrackingSource(enrich=False).finish(TABLE, _table(unfinished)) is _table(unfinished)


def test_client_cannot_set_is_bot() -> None:
    table = _table(
        parse_file(_jsonl(_event(is_bot=False, user_agent="curl/8")), "b.jsonl", CONTEXT)
    )
    metadata = json.loads(table.get_column("metadata")[0])
    assert metadata["is_bot"] is True
    assert metadata["client_is_bot"] is False


TRICKY = [
    _event(event_id="0f8fad5b-d9cb-469f-a165-000000000001", page_title="[Promo] Bots", x=1),
    _event(event_id="0f8fad5b-d9cb-469f-a165-000000000002", utm_content="true"),
    _event(event_id="0f8fad5b-d9cb-469f-a165-000000000003", utm_content=True),
    _event(event_id="0f8fad5b-d9cb-469f-a165-000000000004", referrer={"a": 1}),
    _event(event_id="0f8fad5b-d9cb-469f-a165-000000000005", visit_duration=12.0),
    _event(event_id="0f8fad5b-d9cb-469f-a165-000000000006", conversion_value=19.9),
    _event(event_id="0f8fad5b-d9cb-469f-a165-000000000007", nested={"k": [1, None]}),
    _event(event_id="0f8fad5b-d9cb-469f-a165-000000000008", session_id=77),
]


def test_fast_and_exact_readers_agree() -> None:
    data = _jsonl(*TRICKY)[:-1]
    fast = tracking._fast_part(data, 1)
    exact = tracking._slow_part(data, 1)
    assert fast is not None
    assert fast.frame.equals(exact.frame)
    assert fast.type_errors == exact.type_errors
    assert fast.numbers == exact.numbers


def test_chunks_fall_back_to_the_exact_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracking, "_CHUNK_BYTES", 300)
    good = [_event(event_id=f"0f8fad5b-d9cb-469f-a165-{n:012d}") for n in range(40)]
    lines = [orjson.dumps(event) for event in good]
    lines.insert(17, b"{broken")
    lines.insert(30, b"")
    parsed = parse_file(b"\n".join(lines) + b"\n", "c.jsonl", CONTEXT)
    assert _table(parsed).height == 40
    assert [(r.record_number, r.raw_record) for r in parsed.rejects] == [(18, "{broken")]
    assert parsed.records_in == 41
