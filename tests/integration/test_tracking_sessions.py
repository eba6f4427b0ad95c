"""visitor_sessions from visitor_tracking: the tracking source's derived SQL on a real database.

Rows go into visitor_tracking the way the loader merges them (insert_new on the natural key,
stamped with the batch id), then the source's derived_sql runs with that batch id.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

from ingestion.parsing.contract import ParseContext
from ingestion.sources.tracking import TABLE, TrackingSource

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "landing" / "tracking"
DAY_1 = FIXTURES / "events_2026-11-24.jsonl"
DAY_2 = FIXTURES / "events_2026-11-25.jsonl"
CONTEXT = ParseContext(frozenset(), frozenset(), {})
SOURCE = TrackingSource()
SESSION_COLUMNS = (
    "session_id",
    "visitor_id",
    "first_visit_at",
    "last_visit_at",
    "total_visits",
    "total_duration",
    "pages_visited",
    "conversion_events",
    "is_converted",
    "conversion_value",
)


@pytest.fixture
def connection(migrated_database_url: str) -> Iterator[Connection]:
    url = make_url(migrated_database_url).set(drivername="postgresql+psycopg")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def _frame(path: Path) -> pl.DataFrame:
    parsed = SOURCE.parse(path.read_bytes(), path.name, CONTEXT)
    assert parsed.rejects == []
    return parsed.tables[TABLE]


def _load(conn: Connection, frame: pl.DataFrame, *, ledger: bool = False) -> uuid.UUID:
    """Merge like the loader: COPY to a temp table, insert what is new, stamped; then derive."""
    batch = uuid.uuid4()
    if ledger:
        conn.execute(
            text(
                "INSERT INTO raw.ingest_batches (id, source, min_event_at, max_event_at) "
                "VALUES (:id, 'tracking', :lo, :hi)"
            ),
            {"id": batch, "lo": frame["created_at"].min(), "hi": frame["created_at"].max()},
        )
    columns = ", ".join(frame.columns)
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE batch_rows (LIKE public.visitor_tracking INCLUDING DEFAULTS) "
            "ON COMMIT DROP"
        )
        with cursor.copy(f"COPY batch_rows ({columns}) FROM STDIN") as copy:
            for row in frame.iter_rows():
                copy.write_row(row)
    conn.execute(
        text(
            f"INSERT INTO public.visitor_tracking ({columns}, ingest_batch_id) "
            f"SELECT {columns}, :batch FROM batch_rows "
            "ON CONFLICT (source_record_id, created_at) DO NOTHING"
        ),
        {"batch": batch},
    )
    for statement in SOURCE.derived_sql:
        conn.execute(text(statement), {"batch_id": str(batch)})
    conn.commit()
    return batch


def _sessions(conn: Connection) -> dict[str, dict[str, Any]]:
    rows = conn.execute(
        text("SELECT *, metadata AS meta FROM public.visitor_sessions ORDER BY session_id")
    )
    return {row.session_id: dict(row._mapping) for row in rows}


def _expected(frame: pl.DataFrame) -> dict[str, dict[str, Any]]:
    """The same aggregates computed independently, in Polars, from the parsed rows."""
    events = frame.unique("id").with_columns(
        pl.col("metadata").str.json_path_match("$.event_type").alias("event_type"),
        pl.col("metadata").str.json_path_match("$.visitor_id").alias("visitor_id"),
        pl.col("metadata").str.json_path_match("$.conversion_value").alias("value"),
    )
    pageview = pl.col("event_type") == "pageview"
    conversion = pl.col("event_type") == "conversion"
    summary = (
        events.sort("created_at", "id")
        .group_by("session_id")
        .agg(
            pl.col("visitor_id").drop_nulls().first(),
            pl.col("created_at").min().alias("first_visit_at"),
            pl.col("created_at").max().alias("last_visit_at"),
            pageview.sum().alias("total_visits"),
            pl.col("visit_duration").sum().alias("total_duration"),
            pl.col("page_url").filter(pageview).n_unique().alias("pages_visited"),
            conversion.sum().alias("conversion_events"),
            pl.col("value").filter(conversion).cast(pl.Decimal(12, 2)).sum().alias("value"),
            pl.col("value").filter(conversion).is_not_null().any().alias("has_value"),
        )
    )
    out = {}
    for row in summary.iter_rows(named=True):
        row["is_converted"] = row["conversion_events"] > 0
        row["conversion_value"] = row.pop("value") if row.pop("has_value") else None
        out[row["session_id"]] = {name: row[name] for name in SESSION_COLUMNS}
    return out


def _assert_sessions(sessions: dict[str, dict[str, Any]], frame: pl.DataFrame) -> None:
    expected = _expected(frame)
    assert sorted(sessions) == sorted(expected)
    for key, row in sessions.items():
        assert {name: row[name] for name in SESSION_COLUMNS} == expected[key], key


def test_sessions_of_one_file(connection: Connection) -> None:
    day_1 = _frame(DAY_1)
    batch = _load(connection, day_1)
    sessions = _sessions(connection)
    assert len(sessions) == 10
    _assert_sessions(sessions, day_1)

    ads = sessions["s-desktop-ads"]
    assert ads["visitor_id"] == "v-1001"
    assert ads["first_visit_at"] == datetime(2026, 11, 24, 12, 5, 3, tzinfo=UTC)
    assert (ads["total_visits"], ads["pages_visited"], ads["total_duration"]) == (3, 3, 190)
    assert (ads["conversion_events"], ads["is_converted"]) == (2, True)
    assert ads["conversion_value"] == Decimal("49.90")
    assert ads["meta"]["landing_page"] == "https://botcriptofy.com.br/"
    assert ads["meta"]["exit_page"] == "https://botcriptofy.com.br/cadastro"
    assert ads["source_record_id"] == "s-desktop-ads"
    assert ads["ingest_batch_id"] == batch

    bounce = sessions["s-email-bounce"]
    assert (bounce["total_visits"], bounce["is_converted"], bounce["conversion_value"]) == (
        1,
        False,
        None,
    )
    bot = sessions["s-googlebot"]
    assert bot["meta"]["is_bot"] is True
    assert bot["visitor_id"] is None
    assert sessions["s-iphone-instagram"]["meta"]["is_bot"] is False
    ipad = sessions["s-ipad-direct"]  # an interaction event is not a conversion
    assert (ipad["total_visits"], ipad["conversion_events"]) == (2, 0)
    lead = sessions["s-tablet-facebook-ads"]  # a conversion without a value
    assert (lead["conversion_events"], lead["conversion_value"]) == (1, None)


def test_rerunning_changes_nothing(connection: Connection) -> None:
    batch = _load(connection, _frame(DAY_1))
    before = _sessions(connection)
    for statement in SOURCE.derived_sql:
        connection.execute(text(statement), {"batch_id": str(batch)})
    connection.commit()
    assert _sessions(connection) == before  # updated_at included: no row was rewritten


def test_a_session_spanning_two_files_ends_right(connection: Connection) -> None:
    day_1, day_2 = _frame(DAY_1), _frame(DAY_2)
    first = _load(connection, day_1)
    before = _sessions(connection)
    second = _load(connection, day_2, ledger=True)
    after = _sessions(connection)

    _assert_sessions(after, pl.concat([day_1, day_2]))
    pixel = after["s-pixel-referral"]
    assert pixel["last_visit_at"] == datetime(2026, 11, 24, 21, 13, 7, tzinfo=UTC)
    assert (pixel["total_visits"], pixel["pages_visited"], pixel["total_duration"]) == (4, 4, 425)
    assert (pixel["conversion_events"], pixel["conversion_value"]) == (1, Decimal("129.90"))
    assert pixel["ingest_batch_id"] == second
    assert after["s-next-day"]["ingest_batch_id"] == second
    untouched = {key for key, row in after.items() if row["ingest_batch_id"] == first}
    assert len(untouched) == 9
    for key in untouched:
        assert after[key] == before[key]

    for statement in SOURCE.derived_sql:  # a retried derive changes nothing either
        connection.execute(text(statement), {"batch_id": str(second)})
    connection.commit()
    assert _sessions(connection) == after


def test_file_order_does_not_matter(connection: Connection) -> None:
    day_1, day_2 = _frame(DAY_1), _frame(DAY_2)
    _load(connection, day_2)
    _load(connection, day_1, ledger=True)
    _assert_sessions(_sessions(connection), pl.concat([day_1, day_2]))
