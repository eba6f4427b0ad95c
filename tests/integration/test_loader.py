"""The loader against a real PostgreSQL: fixtures, idempotence, overlaps, quarantine, ledger.

The reference rows the fixtures point at (two tenants, two users) are defined here and
seeded by `seed_reference`; the CLI and crash tests import them from this module.
"""

from __future__ import annotations

import gzip
import json
import shutil
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import psycopg
import pytest
from psycopg import sql

from core.settings import Settings
from ingestion.load import (
    BatchResult,
    LoadProgress,
    SourceContractError,
    find_new_files,
    load_file,
    loader,
)
from ingestion.parsing.contract import ParseContext, Parsed, Target
from ingestion.sources.registry import get_source

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "landing"
TENANT_A = "11111111-1111-4111-8111-111111111111"
TENANT_B = "22222222-2222-4222-8222-222222222222"
USER_1 = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
USER_2 = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
MY_SOURCES = ("usage", "trading", "fx_rates", "expenses", "behaviour", "audit")


def seed_reference(url: str) -> None:
    """The tenants and users the landing fixtures reference."""
    with psycopg.connect(url) as conn:
        for tenant, slug, kind in ((TENANT_A, "acme", "empresa"), (TENANT_B, "satoshi", "trader")):
            conn.execute(
                "INSERT INTO public.tenants (id, name, slug, type) VALUES (%s, %s, %s, %s)",
                (tenant, slug.title(), slug, kind),
            )
        for user, email in ((USER_1, "ana@example.com"), (USER_2, "bruno@example.com")):
            conn.execute("INSERT INTO public.users (id, email) VALUES (%s, %s)", (user, email))


@dataclass(frozen=True)
class Expected:
    path: str  # under FIXTURES
    rows_in: int
    loaded: int
    quarantined: int
    duplicate: int


# Every fixture file of these sources, in load order, with the counts it must produce.
EXPECTED: dict[str, tuple[Expected, ...]] = {
    "usage": (
        Expected("usage/usage_2026-01-05.csv", 6, 6, 0, 0),
        Expected("usage/usage_2026-01-05_resent.csv", 4, 2, 0, 2),  # 2 resent, 2 new
        Expected("usage/rejected/usage_bad.csv", 13, 2, 10, 1),  # 1 repeated within the file
    ),
    "trading": (
        Expected("trading/fills_2026-01.csv", 5, 5, 0, 0),
        Expected("trading/rejected/fills_bad.csv", 12, 2, 10, 0),
    ),
    "fx_rates": (
        Expected("fx_rates/rates_2026-01.csv", 7, 7, 0, 0),
        Expected("fx_rates/rates_2026-01_corrected.csv", 3, 2, 0, 1),  # 1 corrected, 1 new
        Expected("fx_rates/rejected/rates_bad.csv", 10, 1, 8, 1),
    ),
    "expenses": (
        Expected("expenses/expenses_2026-01.csv", 5, 5, 0, 0),
        Expected("expenses/rejected/expenses_bad.csv", 11, 2, 8, 1),
    ),
    "behaviour": (
        Expected("behaviour/behaviour_2026-01-05.jsonl", 6, 6, 0, 0),
        Expected("behaviour/rejected/behaviour_bad.jsonl", 14, 2, 11, 1),
    ),
    "audit": (
        Expected("audit/audit_2026-01-05.jsonl", 5, 5, 0, 0),
        Expected("audit/rejected/audit_bad.jsonl", 11, 2, 9, 0),
    ),
}

# Line number -> a fragment of its reason, for every line of the bad fixtures.
REASONS: dict[str, dict[int, str]] = {
    "usage/rejected/usage_bad.csv": {
        3: "usage_value '12,50' is not a number: use a dot as the decimal separator",
        4: "resource_type 'robots' is not allowed: expected one of bots, api_calls",
        5: "tenant_id is missing",
        6: f"user_id '{'c' * 8}-cccc-4ccc-8ccc-cccccccccccc' is not a known user",
        7: "resource_id 'xxx",
        8: "not valid UTF-8 (byte ff",
        9: "not valid CSV",
        10: "the line has 9 fields but the header has 10",
        11: "recorded_at '2026-01-06 00:05:00' has no time zone",
        12: "tenant_id '99999999-9999-4999-8999-999999999999' is not a known tenant",
    },
    "trading/rejected/fills_bad.csv": {
        3: "trade_amount '1000,50' is not a number: use a dot",
        4: "asset_type 'bonds' is not allowed: expected one of crypto, forex, stocks, commodities",
        5: "tenant_id is missing",
        6: "is not a known user",
        7: "trade_id 'xxx",
        8: "not valid UTF-8",
        9: "not valid CSV",
        10: "commission_rate '1.5000' must be at most 1",
        11: "resource_seconds is missing: it is required with resource_type",
        12: "side 'hold' is not allowed",
    },
    "fx_rates/rejected/rates_bad.csv": {
        3: "rate '6,10' is not a number: use a dot",
        4: "currency 'usd' is not an ISO 4217 currency code",
        5: "date '2026-02-30' is not a date",
        6: "rate '0' must be greater than 0",
        7: "rate '1.1' must be 1 for the reporting currency BRL",
        8: "not valid UTF-8",
        9: "not valid CSV",
        10: "rate '0.123456789' has more than 8 decimal places",
    },
    "expenses/rejected/expenses_bad.csv": {
        3: "amount '12,50' is not a number: use a dot",
        4: "vendor is missing",
        5: "is 51 characters long: at most 50 allowed",
        6: "amount '-10.00' must be greater than 0",
        7: "currency 'US$' is not an ISO 4217 currency code",
        8: "not valid UTF-8",
        9: "not valid CSV",
        10: "date '11/01/2026' is not a date",
    },
    "behaviour/rejected/behaviour_bad.jsonl": {
        2: "the line is not valid JSON",
        3: "not valid UTF-8",
        4: "is not a known tenant",
        5: "tenant_id is missing",
        6: "is not a known user",
        7: "is 101 characters long: at most 100 allowed",
        8: "ip_address '300.1.2.3' is not an IPv4 or IPv6 address",
        9: "occurred_at '2026-01-05T12:00:00' has no time zone",
        10: "must hold one JSON object, got a JSON array",
        11: "action must be a JSON string, got 42",
        13: 'session_data must be a JSON object, got "s-9"',
    },
    "audit/rejected/audit_bad.jsonl": {
        2: "tenant_id is missing: give it (null is allowed)",
        3: "is not a known tenant",
        4: "is not a known user",
        5: "the line is not valid JSON",
        6: "not valid UTF-8 (byte c3",
        7: "resource 'rrr",
        8: "old_values must be a JSON object",
        9: "occurred_at 'yesterday' is not an ISO-8601 date-time",
        10: "resource_id '1234' is not a UUID",
    },
}

# What each source's tables hold once every fixture is loaded: row count and a sum.
TOTALS_SQL = {
    "usage": "SELECT count(*), sum(usage_value), sum(usage_count) "
    "FROM public.platform_usage_tracking",
    "trading": "SELECT count(*), sum(commission_amount), sum(profit_amount) "
    "FROM public.trading_commissions",
    "trading_resources": "SELECT count(*), sum(total_cost), sum(usage_duration) "
    "FROM public.trading_resource_usage",
    "fx_rates": "SELECT count(*), sum(rate), NULL FROM raw.fx_rates",
    "expenses": "SELECT count(*), sum(amount), NULL FROM raw.expenses",
    "behaviour": "SELECT count(*), NULL, NULL FROM public.user_behavior_tracking",
    "audit": "SELECT count(*), NULL, NULL FROM public.audit_logs",
    "quarantine": "SELECT count(*), NULL, NULL FROM raw.quarantine",
}


@pytest.fixture
def db(migrated_database_url: str) -> str:
    seed_reference(migrated_database_url)
    return migrated_database_url


@pytest.fixture
def settings() -> Settings:
    return Settings(reporting_currency="BRL")


def load_all(db: str, settings: Settings, sources: tuple[str, ...] = MY_SOURCES) -> list:
    results = []
    for name in sources:
        for expected in EXPECTED[name]:
            results.append(load_file(db, name, FIXTURES / expected.path, settings))
    return results


def totals(db: str) -> dict[str, tuple[Any, ...]]:
    with psycopg.connect(db) as conn:
        return {
            name: tuple(conn.execute(query).fetchone() or ()) for name, query in TOTALS_SQL.items()
        }


def ledger(db: str) -> list[tuple]:
    with psycopg.connect(db) as conn:
        return conn.execute(
            "SELECT source, status, rows_in, rows_loaded, rows_quarantined, rows_duplicate "
            "FROM raw.ingest_batches ORDER BY started_at, source_file"
        ).fetchall()


@pytest.mark.parametrize("source", MY_SOURCES)
def test_every_fixture_loads_with_its_expected_counts(db: str, settings: Settings, source: str):
    for expected in EXPECTED[source]:
        result = load_file(db, source, FIXTURES / expected.path, settings)
        assert not result.already_loaded
        assert (
            result.rows_in,
            result.rows_loaded,
            result.rows_quarantined,
            result.rows_duplicate,
        ) == (expected.rows_in, expected.loaded, expected.quarantined, expected.duplicate), (
            expected.path
        )
    with psycopg.connect(db) as conn:
        stamped = conn.execute(
            "SELECT count(*) FROM raw.ingest_batches WHERE status = 'completed'"
        ).fetchone()
    assert stamped == (len(EXPECTED[source]),)


def test_loaded_rows_hold_the_files_values(db: str, settings: Settings):
    load_all(db, settings)
    with psycopg.connect(db) as conn:
        usage = conn.execute(
            "SELECT tenant_id::text, user_id::text, resource_type, resource_id, usage_count, "
            "usage_value, period_start, created_at, ingest_batch_id IS NOT NULL "
            "FROM public.platform_usage_tracking WHERE source_record_id = 'use-0003'"
        ).fetchone()
        assert usage is not None
        assert usage[:6] == (TENANT_A, USER_2, "storage", "bucket, main", 1, Decimal("2.75"))
        assert usage[7].isoformat() == "2026-01-06T00:05:01+00:00"
        assert usage[8]
        defaulted = conn.execute(
            "SELECT usage_count, usage_value, period_start FROM public.platform_usage_tracking "
            "WHERE source_record_id = 'use-0004'"
        ).fetchone()
        assert defaulted is not None
        assert defaulted[:2] == (1, Decimal("0.40"))
        assert defaulted[2].isoformat() == "2026-01-05T03:00:00+00:00"  # -03:00 to UTC
        resources = conn.execute(
            "SELECT source_record_id, resource_type, usage_duration, usage_count, cost_per_unit, "
            "total_cost, billing_period_start::date::text, billing_period_end::date::text "
            "FROM public.trading_resource_usage ORDER BY source_record_id"
        ).fetchall()
        assert resources[:3] == [
            # 1 x 0.1235 = 0.1235 -> 0.12; 3 x 0.1235 = 0.3705 -> 0.37; 10 x 0.0050 = 0.05
            ("fill-0001", "bot_execution", 3600, 1, Decimal("0.1235"), Decimal("0.12"),
             "2026-01-01", "2026-02-01"),
            ("fill-0002", "bot_execution", 600, 3, Decimal("0.1235"), Decimal("0.37"),
             "2026-01-01", "2026-02-01"),
            ("fill-0004", "signal_analysis", 45, 10, Decimal("0.0050"), Decimal("0.05"),
             "2026-01-01", "2026-02-01"),
        ]  # fmt: skip
        metadata = conn.execute(
            "SELECT metadata FROM public.trading_commissions WHERE source_record_id = 'fill-0001'"
        ).fetchone()
        assert metadata == ({"symbol": "BTC/USDT", "side": "buy", "bot_id": "bot-7"},)
        behaviour = conn.execute(
            "SELECT ip_address::text, location_data, metadata FROM public.user_behavior_tracking "
            "WHERE source_record_id = 'bhv-0001'"
        ).fetchone()
        assert behaviour == (
            "203.0.113.7/32",
            {"country": "BR", "city": "São Paulo"},
            {},
        )
        platform_wide = conn.execute(
            "SELECT tenant_id, user_id FROM public.audit_logs WHERE source_record_id = 'aud-0004'"
        ).fetchone()
        assert platform_wide == (None, None)
        hashed = conn.execute(
            "SELECT source_record_id FROM raw.expenses WHERE vendor = 'GitHub'"
        ).fetchone()
        assert hashed is not None
        assert hashed[0].startswith("sha256:")
        category = conn.execute(
            "SELECT category FROM raw.expenses WHERE source_record_id = 'exp-0001'"
        ).fetchone()
        assert category == ("infrastructure",)


def test_reingesting_the_same_files_changes_nothing(db: str, settings: Settings):
    first = load_all(db, settings)
    before = totals(db)
    batches = ledger(db)
    again = load_all(db, settings)
    assert all(result.already_loaded for result in again)
    assert [r.batch_id for r in again] == [r.batch_id for r in first]
    assert [(r.rows_in, r.rows_loaded, r.rows_quarantined, r.rows_duplicate) for r in again] == [
        (r.rows_in, r.rows_loaded, r.rows_quarantined, r.rows_duplicate) for r in first
    ]
    assert totals(db) == before
    assert ledger(db) == batches
    # The sums, to the cent.
    # usage_value: 12.50 + 2.75 + 0.40 + 1530.00, then 8.00, then 1.00 + 3.50
    assert before["usage"] == (10, Decimal("1558.15"), 1531)
    assert before["trading"][1] == Decimal("22.50") + Decimal("22.98") + 5 + 5 + 2 + 1 + Decimal(
        "1.50"
    )
    assert before["expenses"][1] == Decimal("1834.22") + 2500 + 45000 + 84 + Decimal(
        "37.50"
    ) + 120 + Decimal("15.90")


def test_the_same_records_in_another_file_are_duplicates(
    db: str, settings: Settings, tmp_path: Path
):
    original = FIXTURES / "usage/usage_2026-01-05.csv"
    load_file(db, "usage", original, settings)
    before = totals(db)
    zipped = tmp_path / "usage_2026-01-05.csv.gz"
    zipped.write_bytes(gzip.compress(original.read_bytes()))
    result = load_file(db, "usage", zipped, settings)
    assert not result.already_loaded  # another content hash...
    assert (result.rows_in, result.rows_loaded, result.rows_duplicate) == (6, 0, 6)  # ...no rows
    assert totals(db) == before


def test_a_gzipped_file_reads_like_the_plain_one(db: str, settings: Settings, tmp_path: Path):
    zipped = tmp_path / "behaviour.jsonl.gz"
    zipped.write_bytes(gzip.compress((FIXTURES / EXPECTED["behaviour"][1].path).read_bytes()))
    result = load_file(db, "behaviour", zipped, settings)
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (14, 2, 11)


def test_an_overlapping_file_loads_only_the_new_rows(db: str, settings: Settings):
    first = load_file(db, "usage", FIXTURES / "usage/usage_2026-01-05.csv", settings)
    second = load_file(db, "usage", FIXTURES / "usage/usage_2026-01-05_resent.csv", settings)
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            "SELECT source_record_id, ingest_batch_id FROM public.platform_usage_tracking "
            "ORDER BY source_record_id"
        ).fetchall()
    by_batch = {record: batch for record, batch in rows}
    assert len(rows) == 8
    assert by_batch["use-0001"] == by_batch["use-0006"] == first.batch_id  # kept, not rewritten
    assert by_batch["use-0007"] == by_batch["use-0008"] == second.batch_id


def _count_calls(monkeypatch: pytest.MonkeyPatch, name: str) -> list[str]:
    """The target tables `_Merger.<name>` is called for, in order (the method still runs)."""
    tables: list[str] = []
    method = getattr(loader._Merger, name)

    def counted(self: loader._Merger, target: Target, *args: Any) -> Any:
        tables.append(target.table)
        return method(self, target, *args)

    monkeypatch.setattr(loader._Merger, name, counted)
    return tables


def test_new_keys_are_copied_straight_into_the_target(
    db: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    """insert_new without row-level security: no stage, the stored keys probed and skipped."""
    staged = _count_calls(monkeypatch, "_stage")
    first = load_file(db, "usage", FIXTURES / "usage/usage_2026-01-05.csv", settings)
    second = load_file(db, "usage", FIXTURES / "usage/usage_2026-01-05_resent.csv", settings)
    assert (first.rows_loaded, first.rows_duplicate) == (6, 0)
    assert (second.rows_loaded, second.rows_duplicate) == (2, 2)
    assert staged == []
    assert _rows_by_batch(db, "platform_usage_tracking", "id") == sorted(
        [(first.batch_id, 6, 6), (second.batch_id, 2, 2)]
    )


def _rows_by_batch(db: str, table: str, key: str) -> list[tuple[Any, ...]]:
    """(batch id, rows, distinct `key`s) of each batch's rows in public.`table`, sorted."""
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            sql.SQL(
                "SELECT ingest_batch_id, count(*), count(DISTINCT {}) FROM {} GROUP BY 1"
            ).format(sql.Identifier(key), sql.Identifier("public", table))
        ).fetchall()
    return sorted(rows)


def test_tables_under_row_level_security_go_through_the_stage(
    db: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    staged = _count_calls(monkeypatch, "_stage")
    result = load_file(db, "trading", FIXTURES / "trading/fills_2026-01.csv", settings)
    assert result.rows_loaded == 5
    assert staged == ["public.trading_commissions", "public.trading_resource_usage"]


def test_a_key_stored_between_the_probe_and_the_copy_falls_back_to_the_stage(
    db: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    """Another loader commits an overlapping file, on its own connection, right after this
    load probed its keys: the COPY meets the unique index, rolls back to its savepoint, and
    the chunk merges through the stage, counting the other loader's rows as duplicates."""
    staged = _count_calls(monkeypatch, "_stage")
    probe = loader._Merger._stored_rows
    overlapping: list[BatchResult] = []
    concurrent_started = False

    def probe_then_concurrent_load(self: loader._Merger, target: Target, frame: Any) -> Any:
        nonlocal concurrent_started
        stored = probe(self, target, frame)
        if not concurrent_started:  # the other loader probes through here too
            concurrent_started = True
            with psycopg.connect(db) as other:
                overlapping.append(
                    load_file(
                        other, "usage", FIXTURES / "usage/usage_2026-01-05_resent.csv", settings
                    )
                )
        return stored

    monkeypatch.setattr(loader._Merger, "_stored_rows", probe_then_concurrent_load)
    result = load_file(db, "usage", FIXTURES / "usage/usage_2026-01-05.csv", settings)
    (other,) = overlapping
    assert (other.rows_loaded, other.rows_duplicate) == (4, 0)
    assert (result.rows_in, result.rows_loaded, result.rows_duplicate) == (6, 4, 2)
    assert staged == ["public.platform_usage_tracking"]  # this load's fallback only
    with psycopg.connect(db) as conn:
        rows = dict(
            conn.execute(
                "SELECT source_record_id, ingest_batch_id FROM public.platform_usage_tracking"
            ).fetchall()
        )
    assert len(rows) == 8
    assert rows["use-0001"] == rows["use-0006"] == other.batch_id  # the first to commit
    assert rows["use-0002"] == result.batch_id
    assert [row[1:] for row in ledger(db)] == [
        ("completed", 6, 4, 0, 2),
        ("completed", 4, 4, 0, 0),
    ]


def _behaviour_events(path: Path, numbers: range) -> Path:
    path.write_text(
        "".join(
            f'{{"event_id": "e{i}", "occurred_at": "2026-01-05T12:{i // 60 % 60:02d}:'
            f'{i % 60:02d}Z", "tenant_id": "{TENANT_A}", "user_id": "{USER_1}", '
            '"action": "click"}\n'
            for i in numbers
        )
    )
    return path


def test_a_bulk_load_of_new_keys_probes_its_first_chunk_only(
    db: str, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    probed = _count_calls(monkeypatch, "_stored_rows")
    staged = _count_calls(monkeypatch, "_stage")
    path = _behaviour_events(tmp_path / "new.jsonl", range(2500))
    result = load_file(db, "behaviour", path, settings, chunk_records=1000)
    assert (result.rows_in, result.rows_loaded, result.rows_duplicate) == (2500, 2500, 0)
    assert probed == ["public.user_behavior_tracking"]
    assert staged == []


def test_an_unprobed_copy_meeting_a_stored_key_mid_file_stores_every_row_once(
    db: str, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The first chunk's probe finds nothing, so the second chunk is COPYed unprobed; it
    meets the stored keys halfway, rolls back to its savepoint, and is probed: its stored
    rows are counted as duplicates and left as they were, the others written once."""
    stored = load_file(
        db, "behaviour", _behaviour_events(tmp_path / "stored.jsonl", range(1500, 1600)), settings
    )
    probed = _count_calls(monkeypatch, "_stored_rows")
    staged = _count_calls(monkeypatch, "_stage")
    path = _behaviour_events(tmp_path / "all.jsonl", range(2500))
    result = load_file(db, "behaviour", path, settings, chunk_records=1000)
    assert (result.rows_in, result.rows_loaded, result.rows_duplicate) == (2500, 2400, 100)
    assert probed == ["public.user_behavior_tracking"] * 3  # chunks 1, 2 (after its COPY), 3
    assert staged == []
    assert _rows_by_batch(db, "user_behavior_tracking", "source_record_id") == sorted(
        [(stored.batch_id, 100, 100), (result.batch_id, 2400, 2400)]
    )


def test_a_redelivered_tracking_file_enriches_only_its_new_rows(
    db: str, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Tracking rows are parsed unenriched and enriched after the stored keys are dropped:
    the chunks of the re-delivery's stored rows are probed first, so those rows are neither
    enriched nor written again; its new ones are stored enriched, as the first delivery's."""
    day = Path(__file__).resolve().parents[1] / "fixtures" / "landing" / "tracking"
    lines = (day / "events_2026-11-24.jsonl").read_bytes().splitlines(keepends=True)
    first_part = tmp_path / "first.jsonl"
    first_part.write_bytes(b"".join(lines[:20]))
    everything = tmp_path / "everything.jsonl"
    everything.write_bytes(b"".join(lines))
    source = get_source("tracking")
    finished: list[int] = []
    finish = source.finish

    def counted(table: str, frame: pl.DataFrame) -> pl.DataFrame:
        finished.append(frame.height)
        return finish(table, frame)

    monkeypatch.setattr(source, "finish", counted)
    first = load_file(db, source, first_part, settings, chunk_records=4)
    assert (first.rows_loaded, first.rows_duplicate) == (20, 0)
    assert sum(finished) == 20
    finished.clear()
    again = load_file(db, source, everything, settings, chunk_records=4)
    assert (again.rows_in, again.rows_loaded, again.rows_duplicate) == (len(lines), 10, 20)
    assert sum(finished) == 10
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            "SELECT ingest_batch_id, count(*), count(DISTINCT source_record_id), "
            "count(*) FILTER (WHERE metadata ? 'is_bot'), count(device_type) "
            "FROM public.visitor_tracking GROUP BY 1"
        ).fetchall()
    assert sorted(rows) == sorted(
        [(first.batch_id, 20, 20, 20, 20), (again.batch_id, 10, 10, 10, 10)]
    )


def test_a_corrected_fx_rate_replaces_the_stored_one(db: str, settings: Settings):
    load_file(db, "fx_rates", FIXTURES / "fx_rates/rates_2026-01.csv", settings)
    correction = load_file(
        db, "fx_rates", FIXTURES / "fx_rates/rates_2026-01_corrected.csv", settings
    )
    with psycopg.connect(db) as conn:
        rates: dict[str, Decimal] = dict(
            conn.execute(
                "SELECT rate_date::text || ' ' || currency, rate FROM raw.fx_rates"
            ).fetchall()
        )
        corrected_by = conn.execute(
            "SELECT ingest_batch_id FROM raw.fx_rates "
            "WHERE rate_date = '2026-01-06' AND currency = 'USD'"
        ).fetchone()
    assert rates["2026-01-06 USD"] == Decimal("5.45")
    assert rates["2026-01-05 USD"] == Decimal("5.4321")
    assert rates["2026-01-07 USD"] == Decimal("5.46")
    assert rates["2026-01-05 EUR"] == Decimal("6.01234567")
    assert corrected_by == (correction.batch_id,)


@pytest.mark.parametrize("path", sorted(REASONS))
def test_bad_records_are_quarantined_with_their_reasons(db: str, settings: Settings, path: str):
    source = path.split("/")[0]
    for expected in EXPECTED[source]:  # the good files first (overlaps count as duplicates)
        result = load_file(db, source, FIXTURES / expected.path, settings)
        if expected.path == path:
            break
    with psycopg.connect(db) as conn:
        quarantined = conn.execute(
            "SELECT q.record_number, q.reason, q.raw_record, q.source, q.source_file "
            "FROM raw.quarantine AS q WHERE q.batch_id = %s ORDER BY q.record_number",
            (result.batch_id,),
        ).fetchall()
    reasons = {number: reason for number, reason, *_ in quarantined}
    assert sorted(reasons) == sorted(REASONS[path])
    for number, fragment in REASONS[path].items():
        assert fragment in reasons[number], (number, reasons[number])
    lines = (FIXTURES / path).read_bytes().split(b"\n")
    for number, _, raw, quarantined_source, source_file in quarantined:
        assert quarantined_source == source
        assert source_file == str((FIXTURES / path).resolve())
        assert raw == lines[number - 1].decode("utf-8", errors="replace")
    assert result.rows_loaded == EXPECTED[source][-1].loaded


def test_the_ledger_identity_holds_for_every_batch(db: str, settings: Settings):
    load_all(db, settings)
    rows = ledger(db)
    assert len(rows) == sum(len(files) for files in EXPECTED.values())
    for _, status, rows_in, loaded, quarantined, duplicate in rows:
        assert status == "completed"
        assert rows_in == loaded + quarantined + duplicate
    with psycopg.connect(db) as conn:
        quarantine_matches = conn.execute(
            "SELECT bool_and(b.rows_quarantined = (SELECT count(*) FROM raw.quarantine AS q "
            "WHERE q.batch_id = b.id)) FROM raw.ingest_batches AS b"
        ).fetchone()
        times = conn.execute(
            "SELECT min_event_at::text, max_event_at::text, started_at <= finished_at "
            "FROM raw.ingest_batches WHERE source = 'trading' ORDER BY started_at LIMIT 1"
        ).fetchone()
    assert quarantine_matches == (True,)
    assert times == ("2026-01-05 14:00:00+00", "2026-01-31 23:59:59+00", True)


def test_small_chunks_give_the_same_result_and_line_numbers(db: str, settings: Settings):
    path = FIXTURES / "usage/rejected/usage_bad.csv"
    steps: list[LoadProgress] = []
    result = load_file(db, "usage", path, settings, chunk_records=3, progress=steps.append)
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined, result.rows_duplicate) == (
        13,
        2,
        10,
        1,  # the repeat of line 2 sits in another chunk: the database finds it
    )
    with psycopg.connect(db) as conn:
        numbers = [
            row[0]
            for row in conn.execute(
                "SELECT record_number FROM raw.quarantine ORDER BY record_number"
            ).fetchall()
        ]
    assert numbers == sorted(REASONS["usage/rejected/usage_bad.csv"])
    assert [s.records_done for s in steps] == [0, 3, 6, 9, 12, 13, 13]
    assert steps[-1].finished
    assert steps[-1].bytes_done == path.stat().st_size


def test_a_large_jsonl_file_loads_in_chunks(db: str, settings: Settings, tmp_path: Path):
    lines = [
        f'{{"event_id": "e{i}", "occurred_at": "2026-01-05T12:{i // 60 % 60:02d}:{i % 60:02d}Z", '
        f'"tenant_id": "{TENANT_A}", "user_id": "{USER_1}", "action": "click"}}'
        for i in range(2500)
    ]
    lines[1234] = "{broken"
    path = tmp_path / "many.jsonl.gz"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    result = load_file(db, "behaviour", path, settings, chunk_records=1000)
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (2500, 2499, 1)
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT record_number FROM raw.quarantine").fetchall() == [(1235,)]


def test_chunks_are_parsed_in_a_worker_thread_and_merged_in_the_callers(
    db: str, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    source = get_source("behaviour")
    threads: dict[str, set[int]] = {"parse": set(), "merge": set(), "progress": set()}
    parse, merge = source.parse, loader._Merger.merge

    def parse_in(data: bytes, file_name: str, context: ParseContext) -> Parsed:
        threads["parse"].add(threading.get_ident())
        return parse(data, file_name, context)

    def merge_in(self: loader._Merger, *args: Any) -> Any:
        threads["merge"].add(threading.get_ident())
        return merge(self, *args)

    monkeypatch.setattr(source, "parse", parse_in)
    monkeypatch.setattr(loader._Merger, "merge", merge_in)
    path = _behaviour_events(tmp_path / "chunks.jsonl", range(2500))
    result = load_file(
        db,
        source,
        path,
        settings,
        chunk_records=1000,
        progress=lambda _: threads["progress"].add(threading.get_ident()),
    )
    assert (result.rows_in, result.rows_loaded) == (2500, 2500)
    caller = {threading.get_ident()}
    assert threads["merge"] == threads["progress"] == caller
    assert len(threads["parse"]) == 1
    assert threads["parse"] != caller


class _Exploding:
    """The usage source, failing on its second chunk."""

    def __init__(self) -> None:
        self.inner = get_source("usage")
        self.name = "usage"
        self.file_patterns = self.inner.file_patterns
        self.primary = self.inner.primary
        self.secondary = self.inner.secondary
        self.derived_sql: tuple[str, ...] = ()
        self.calls = 0

    def parse(self, data: bytes, file_name: str, context: ParseContext) -> Parsed:
        self.calls += 1
        if self.calls == 2:
            raise ValueError("exploded on purpose")
        return self.inner.parse(data, file_name, context)


def test_a_failure_leaves_nothing_but_a_failed_ledger_row(db: str, settings: Settings):
    path = FIXTURES / "usage/usage_2026-01-05.csv"
    with pytest.raises(ValueError, match="exploded on purpose"):
        load_file(db, _Exploding(), path, settings, chunk_records=2)
    assert totals(db)["usage"][0] == 0
    with psycopg.connect(db) as conn:
        failed = conn.execute(
            "SELECT status, error, rows_in, source_file FROM raw.ingest_batches"
        ).fetchall()
    assert failed == [("failed", "ValueError: exploded on purpose", 0, str(path.resolve()))]
    retried = load_file(db, "usage", path, settings, chunk_records=2)  # a failure does not block
    assert (retried.already_loaded, retried.rows_loaded) == (False, 6)


class _Miscounting(_Exploding):
    def parse(self, data: bytes, file_name: str, context: ParseContext) -> Parsed:
        parsed = self.inner.parse(data, file_name, context)
        parsed.records_in += 1
        return parsed


def test_a_source_breaking_the_contract_is_refused(db: str, settings: Settings):
    with pytest.raises(SourceContractError, match="records in"):
        load_file(db, _Miscounting(), FIXTURES / "usage/usage_2026-01-05.csv", settings)
    assert ledger(db)[0][:2] == ("usage", "failed")
    assert totals(db)["usage"][0] == 0


class _Derived(_Exploding):
    """Usage with derived SQL naming the batch, and a literal % that must survive."""

    derived = (
        "UPDATE public.platform_usage_tracking SET metadata = jsonb_build_object("
        "'derived', '100%', 'batch', CAST(:batch_id AS text)) WHERE ingest_batch_id = :batch_id",
        "UPDATE public.platform_usage_tracking SET resource_id = 'seen' "
        "WHERE ingest_batch_id = %(batch_id)s AND resource_id IS NULL",
    )

    def __init__(self) -> None:
        super().__init__()
        self.derived_sql = self.derived

    def parse(self, data: bytes, file_name: str, context: ParseContext) -> Parsed:
        return self.inner.parse(data, file_name, context)


def test_derived_sql_runs_in_the_batch_with_its_id(db: str, settings: Settings):
    result = load_file(db, _Derived(), FIXTURES / "usage/usage_2026-01-05.csv", settings)
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            "SELECT DISTINCT metadata, resource_id = 'seen' FROM public.platform_usage_tracking "
            "WHERE resource_id = 'seen'"
        ).fetchall()
    assert rows == [({"derived": "100%", "batch": str(result.batch_id)}, True)]


class _SettingsSeen(_Derived):
    """Usage whose derived SQL writes down the JIT setting it runs under."""

    derived = (
        "UPDATE public.platform_usage_tracking SET resource_id = current_setting('jit') "
        "WHERE ingest_batch_id = :batch_id",
    )


@pytest.mark.parametrize("jit", ["on", "off"])
def test_the_probes_planner_setting_does_not_outlast_it(db: str, settings: Settings, jit: str):
    """The probe turns JIT off for itself; the derived SQL after it (the load's other
    statements) runs under the connection's own setting."""
    path = FIXTURES / "usage/usage_2026-01-05.csv"
    with psycopg.connect(db) as conn:
        conn.execute(f"SET jit = {jit}")
        conn.commit()
        result = load_file(conn, _SettingsSeen(), path, settings)
        seen = conn.execute(
            "SELECT DISTINCT resource_id FROM public.platform_usage_tracking"
        ).fetchall()
    assert result.rows_loaded == 6
    assert seen == [(jit,)]


def test_upsert_newer_keeps_the_newest_version_whatever_the_order(
    db: str, settings: Settings, tmp_path: Path
):
    """A generic upsert_newer target: a stale row never overwrites a newer one."""

    class Versioned:
        name = "expenses"
        file_patterns: tuple[str, ...] = ("*.csv",)
        primary = Target("raw.expenses", ("source_record_id",), "upsert_newer", "expense_date")
        secondary: tuple[Target, ...] = ()
        derived_sql: tuple[str, ...] = ()

        def parse(self, data: bytes, file_name: str, context: ParseContext) -> Parsed:
            frame = pl.read_csv(data, schema_overrides={"amount": pl.Decimal(15, 2)})
            frame = frame.with_columns(pl.col("expense_date").str.to_date())
            return Parsed(frame.height, {"raw.expenses": frame})

    header = "source_record_id,expense_date,category,vendor,amount,currency\n"
    results: list[BatchResult] = []
    for index, body in enumerate(
        (
            "x,2026-01-02,a,v,2.00,BRL\n",  # newer first
            "x,2026-01-01,a,v,1.00,BRL\n",  # older: ignored (duplicate)
            "x,2026-01-02,a,v,2.0,BRL\n",  # the same again (another file): duplicate
            "x,2026-01-03,a,v,3.00,BRL\n",  # newer: replaces
        )
    ):
        path = tmp_path / f"{index}.csv"
        path.write_text(header + body)
        results.append(load_file(db, Versioned(), path, settings))
    assert [(r.rows_loaded, r.rows_duplicate) for r in results] == [(1, 0), (0, 1), (0, 1), (1, 0)]
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT amount FROM raw.expenses").fetchall() == [(Decimal("3.00"),)]


def _landing_copy(tmp_path: Path) -> Path:
    landing = tmp_path / "landing"
    for name in MY_SOURCES:
        shutil.copytree(FIXTURES / name, landing / name)
    return landing


def test_find_new_files_lists_what_the_ledger_has_not_completed(
    db: str, settings: Settings, tmp_path: Path
):
    landing = _landing_copy(tmp_path)
    sources = [get_source(name) for name in MY_SOURCES]
    waiting = find_new_files(db, landing, sources)
    assert len(waiting) == sum(len(files) for files in EXPECTED.values())
    assert {f.source for f in waiting} == set(MY_SOURCES)
    usage = [f for f in waiting if f.source == "usage"]
    for item in usage:
        load_file(db, "usage", item.path, settings)
    still = find_new_files(db, landing, sources)
    assert {f.path for f in still} == {f.path for f in waiting} - {f.path for f in usage}
    # A renamed copy of loaded content is not new; changed content is.
    copied = landing / "usage" / "copy.csv"
    copied.write_bytes(usage[0].path.read_bytes())
    usage[1].path.write_bytes(usage[1].path.read_bytes() + b"\n")
    (landing / "usage" / ".hidden.csv").write_text("partial upload")
    again = {f.path: f for f in find_new_files(db, landing, sources) if f.source == "usage"}
    assert set(again) == {usage[1].path}
    assert again[usage[1].path].run_key.startswith("usage:")


def test_a_connection_inside_a_transaction_is_refused(db: str, settings: Settings):
    with psycopg.connect(db) as conn:
        conn.execute("SELECT 1")
        with pytest.raises(ValueError, match="inside a transaction"):
            load_file(conn, "usage", FIXTURES / "usage/usage_2026-01-05.csv", settings)


@pytest.mark.parametrize("autocommit", [True, False])
def test_a_psycopg_connection_can_be_passed(db: str, settings: Settings, autocommit: bool):
    with psycopg.connect(db, autocommit=autocommit) as conn:
        result = load_file(conn, "usage", FIXTURES / "usage/usage_2026-01-05.csv", settings)
        assert conn.autocommit is autocommit
    assert result.rows_loaded == 6
    assert totals(db)["usage"][0] == 6  # committed, whatever the connection's mode


def test_awkward_text_survives_the_copy(db: str, settings: Settings, tmp_path: Path):
    """Quotes, commas, backslashes, newlines, tabs and non-ASCII reach the table unchanged."""
    awkward = 'a "quoted", back\\slash\nnew line\ttab \\N é 😀'
    event = {
        "event_id": "odd-1",
        "occurred_at": "2026-01-05T12:00:00Z",
        "tenant_id": TENANT_A,
        "user_id": USER_1,
        "action": "type",
        "user_agent": awkward,
        "metadata": {"text": awkward, "empty": ""},
    }
    path = tmp_path / "odd.jsonl"
    path.write_text(json.dumps(event) + "\n", encoding="utf-8")
    load_file(db, "behaviour", path, settings)
    with psycopg.connect(db) as conn:
        row = conn.execute(
            "SELECT user_agent, metadata FROM public.user_behavior_tracking"
        ).fetchone()
    assert row == (awkward, {"text": awkward, "empty": ""})


@pytest.mark.timescaledb
def test_the_fixtures_load_into_timescaledb_hypertables(settings: Settings):
    """The same loader on TimescaleDB 2.x: ON CONFLICT merges into hypertables."""
    from core.db import migrate
    from tests.support.timescaledb import running_timescaledb

    with running_timescaledb() as url:
        migrate.upgrade(url)
        seed_reference(url)
        with psycopg.connect(url) as conn:
            hypertables = {
                row[0]
                for row in conn.execute(
                    "SELECT hypertable_name FROM timescaledb_information.hypertables"
                )
            }
        assert {"platform_usage_tracking", "user_behavior_tracking", "audit_logs"} <= hypertables
        for name in ("usage", "behaviour", "audit"):
            for expected in EXPECTED[name]:
                result = load_file(url, name, FIXTURES / expected.path, settings)
                assert (
                    result.rows_in,
                    result.rows_loaded,
                    result.rows_quarantined,
                    result.rows_duplicate,
                ) == (expected.rows_in, expected.loaded, expected.quarantined, expected.duplicate)
                assert load_file(url, name, FIXTURES / expected.path, settings).already_loaded
