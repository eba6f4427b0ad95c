"""Text PostgreSQL cannot store (NUL, lone surrogates) costs only the record that holds it.

Each file mixes good records with bad ones: the good ones load, each bad one is in
raw.quarantine with a reason naming its field, and the ledger balances.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings

from core.settings import Settings
from ingestion.load import load_file
from tests.integration.test_loader import TENANT_A, USER_1, seed_reference
from tests.unit.test_bad_input_properties import _tracking_batch


@pytest.fixture
def db(migrated_database_url: str) -> str:
    seed_reference(migrated_database_url)
    return migrated_database_url


def _tracking_event(**fields: object) -> dict[str, object]:
    return {
        "event_id": str(uuid.uuid4()),
        "occurred_at": "2026-11-25T14:03:12Z",
        "session_id": "s_1",
        "ip": "177.72.0.1",
        "page_url": "https://botcriptofy.com.br/precos",
        **fields,
    }


def _behaviour_event(**fields: object) -> dict[str, object]:
    return {
        "event_id": str(uuid.uuid4()),
        "occurred_at": "2026-01-05T12:00:00Z",
        "tenant_id": TENANT_A,
        "user_id": USER_1,
        "action": "login",
        **fields,
    }


def _nested(depth: int) -> object:
    value: object = "x"
    for _ in range(depth):
        value = {"k": value}
    return value


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _quarantine(db: str) -> list[tuple[int, str]]:
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            "SELECT record_number, reason FROM raw.quarantine ORDER BY record_number"
        ).fetchall()
    return [(int(number), str(reason)) for number, reason in rows]


def _count(db: str, table: str) -> int:
    with psycopg.connect(db) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def test_a_nul_in_a_tracking_event_quarantines_only_that_event(db: str, tmp_path: Path):
    good = [json.dumps(_tracking_event(page_title=f"page {n}")) for n in range(5)]
    bad = [
        json.dumps(_tracking_event(page_title="a\u0000b")),  # escaped, as JSON sends it
        json.dumps(_tracking_event(campaign_note="x\u0000y")),  # an unknown field -> metadata
        json.dumps(_tracking_event(utm_source="\udc00")),  # a lone surrogate escape
        json.dumps(_tracking_event(extra=_nested(300))),  # deeper than orjson writes
    ]
    lines = [*good[:2], bad[0], good[2], bad[1], *good[3:], bad[2], bad[3]]
    path = _write(tmp_path / "events.jsonl", lines)
    result = load_file(db, "tracking", path, Settings())
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (9, 5, 4)
    assert result.rows_in == result.rows_loaded + result.rows_quarantined + result.rows_duplicate
    assert _count(db, "public.visitor_tracking") == 5
    quarantined = _quarantine(db)
    assert [number for number, _ in quarantined] == [3, 5, 8, 9]
    assert quarantined[0][1].startswith("page_title contains a NUL character")
    assert quarantined[1][1].startswith("campaign_note contains a NUL character")
    assert "utm_source" in quarantined[2][1]
    assert quarantined[3][1] == "extra is nested more than 128 levels deep"


def test_a_nul_in_a_stream_of_api_events_is_refused_per_event(db: str):
    """The already-decoded path (stream, API fallback) applies the same rule."""
    from ingestion.load.loader import load_parsed
    from ingestion.sources.tracking import SOURCE

    events = [_tracking_event(), _tracking_event(visitor_id="v\x00"), _tracking_event()]
    result = load_parsed(
        db,
        SOURCE,
        lambda context: SOURCE.parse_events(events, context),
        origin="test",
        content_key="nul-events",
        settings=Settings(),
    )
    assert (result.rows_loaded, result.rows_quarantined) == (2, 1)
    assert _quarantine(db)[0][1].startswith("visitor_id contains a NUL character")


@pytest.mark.parametrize("source", ["behaviour", "audit"])
def test_a_nul_in_a_platform_event_names_its_field(db: str, tmp_path: Path, source: str):
    def event(**fields: object) -> str:
        return json.dumps(_behaviour_event(resource="bot", **fields))

    lines = [
        event(),
        event(user_agent="Mozilla\u0000"),
        event(metadata={"note": {"deep": ["ok", "n\u0000"]}}),
        event(ignored_key="\u0000"),
        '{"event_id": "raw-nul", "action": "login\x00"}',  # a raw NUL byte
        event(),
    ]
    path = _write(tmp_path / "events.jsonl", lines)
    result = load_file(db, source, path, Settings())
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (6, 2, 4)
    reasons = [reason for _, reason in _quarantine(db)]
    assert reasons[0].startswith("user_agent contains a NUL character")
    assert reasons[1].startswith("metadata.note.deep[1] contains a NUL character")
    assert reasons[2].startswith("ignored_key contains a NUL character")
    assert reasons[3].startswith("action contains a NUL character")


def test_a_nul_in_a_csv_row_names_its_column(db: str, tmp_path: Path):
    source = Path(__file__).resolve().parents[1] / "fixtures" / "landing" / "usage"
    original = sorted(source.glob("*.csv"))[0].read_text(encoding="utf-8").splitlines()
    header, first, *rest = original
    column = header.split(",")[1].strip().lower()
    cells = first.split(",")
    cells[1] = cells[1] + "\x00"
    path = _write(tmp_path / "usage.csv", [header, ",".join(cells), *rest])
    result = load_file(db, "usage", path, Settings())
    assert result.rows_quarantined >= 1
    assert result.rows_in == result.rows_loaded + result.rows_quarantined + result.rows_duplicate
    number, reason = _quarantine(db)[0]
    assert number == 2
    assert reason.startswith(f"{column} contains a NUL character")


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=_tracking_batch())
def test_any_mix_of_tracking_events_loads_or_is_quarantined(
    db: str, batch: tuple[list[dict[str, Any]], dict[int, str]]
) -> None:
    """Through the loader into PostgreSQL: COPY never fails, the good events are stored, the
    bad ones quarantined naming their field, and the ledger balances."""
    from ingestion.load.loader import load_parsed
    from ingestion.sources.tracking import SOURCE

    events, bad = batch
    key = uuid.uuid4().hex
    result = load_parsed(
        db,
        SOURCE,
        lambda context: SOURCE.parse_events(events, context),
        origin=f"property {key}",
        content_key=key,
        settings=Settings(),
    )
    assert result.rows_in == len(events)
    assert result.rows_in == result.rows_loaded + result.rows_quarantined + result.rows_duplicate
    assert result.rows_quarantined == len(bad)
    with psycopg.connect(db) as conn:
        ids = [str(e["event_id"]) for position, e in enumerate(events) if position not in bad]
        stored = conn.execute(
            "SELECT count(*) FROM public.visitor_tracking WHERE source_record_id = ANY(%s)", (ids,)
        ).fetchone()
        reasons = conn.execute(
            "SELECT record_number, reason FROM raw.quarantine WHERE batch_id = %s",
            (result.batch_id,),
        ).fetchall()
    assert stored == (len(ids),)
    for number, reason in reasons:
        assert bad[number - 1] in reason
