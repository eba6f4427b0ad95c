"""The generator against a real, migrated PostgreSQL: operational rows written once, and every
generated landing file loaded by the loader without a quarantined row."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import psycopg
import pytest

from core.settings import Settings
from demo_data import GenerationConflictError, GenerationSummary, generate
from demo_data.tables import TABLE_ORDER
from ingestion.load import landing_files, load_file
from ingestion.sources.registry import available_sources

END = date(2026, 11, 24)


def small(database_url: str, landing: Path, seed: int) -> GenerationSummary:
    return generate(
        database_url, landing, seed=seed, tenants=3, days=60, events_per_day=150, end_date=END
    )


def _counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM public.{table}").fetchone()[0]  # type: ignore[index]
            for table in TABLE_ORDER
        }


def test_generate_writes_operational_rows_once(migrated_database_url: str, tmp_path: Path) -> None:
    before = _counts(migrated_database_url)
    first = small(migrated_database_url, tmp_path, 3)
    assert first.inserted is not None
    assert first.inserted == first.rows  # a fresh database: every generated row is new
    after = _counts(migrated_database_url)
    for table in TABLE_ORDER:
        assert after[table] - before[table] == first.rows[table], table
    assert after["tenants"] == 4
    assert after["subscription_plans"] == 29

    again = small(migrated_database_url, tmp_path, 3)
    assert again.inserted == dict.fromkeys(TABLE_ORDER, 0)
    assert again.files_changed == 0
    assert _counts(migrated_database_url) == after

    with psycopg.connect(migrated_database_url) as conn:
        kinds = {row[0] for row in conn.execute("SELECT type FROM public.tenants")}
        assert kinds <= {"empresa", "trader", "influencer"}
        house = conn.execute(
            "SELECT count(*) FROM public.tenants WHERE metadata ->> 'internal' = 'true'"
        ).fetchone()
        assert house == (1,)
        orphans = conn.execute(
            "SELECT count(*) FROM public.tenant_members AS m "
            "LEFT JOIN public.users AS u ON u.id = m.user_id WHERE u.id IS NULL"
        ).fetchone()
        assert orphans == (0,)
        answered = conn.execute(
            "SELECT count(*) FROM public.support_tickets AS t WHERE EXISTS (SELECT 1 FROM "
            "public.support_messages AS m WHERE m.ticket_id = t.id AND m.message_type = 'agent')"
        ).fetchone()
        assert answered is not None
        assert answered[0] > 0


def test_the_same_arguments_again_generate_only_when_rows_are_missing(
    migrated_database_url: str, tmp_path: Path
) -> None:
    files_only = generate(
        None, tmp_path, seed=3, tenants=3, days=60, events_per_day=150, end_date=END
    )
    first = small(migrated_database_url, tmp_path, 3)  # the files are there, the rows not yet
    assert first.regenerated
    assert first.inserted == first.rows == files_only.rows

    again = small(migrated_database_url, tmp_path, 3)
    assert not again.regenerated
    assert again.inserted == dict.fromkeys(TABLE_ORDER, 0)
    assert again.rows == first.rows

    with psycopg.connect(migrated_database_url) as conn:
        conn.execute(
            "DELETE FROM public.support_messages WHERE id = "
            "(SELECT id FROM public.support_messages ORDER BY id LIMIT 1)"
        )
    repaired = small(migrated_database_url, tmp_path, 3)
    assert repaired.regenerated
    assert repaired.inserted == {**dict.fromkeys(TABLE_ORDER, 0), "support_messages": 1}
    assert repaired.files_changed == 0


def test_another_seed_in_the_same_database_is_refused_whole(
    migrated_database_url: str, tmp_path: Path
) -> None:
    small(migrated_database_url, tmp_path / "a", 3)
    before = _counts(migrated_database_url)
    with pytest.raises(GenerationConflictError, match="another seed"):
        small(migrated_database_url, tmp_path / "b", 4)
    assert _counts(migrated_database_url) == before


def test_every_generated_file_loads_without_quarantine(
    migrated_database_url: str, tmp_path: Path
) -> None:
    summary = small(migrated_database_url, tmp_path, 5)
    settings = Settings(database_url=migrated_database_url, landing_dir=tmp_path)
    files = landing_files(tmp_path, available_sources().values())
    assert {source.name for source, _ in files} == set(summary.files)
    loaded: dict[str, int] = {}
    for source, path in sorted(files, key=lambda item: (item[0].name != "payments", str(item[1]))):
        result = load_file(migrated_database_url, source, path, settings)
        assert result.rows_quarantined == 0, (path.name, result)
        loaded[source.name] = (
            loaded.get(source.name, 0) + result.rows_loaded + result.rows_duplicate
        )
    assert loaded == summary.records
    with psycopg.connect(migrated_database_url) as conn:
        quarantined = conn.execute("SELECT count(*) FROM raw.quarantine").fetchone()
        assert quarantined == (0,)
        sessions = conn.execute("SELECT count(*) FROM public.visitor_sessions").fetchone()
        assert sessions is not None
        assert sessions[0] > 0
        money = conn.execute(
            "SELECT count(*) FILTER (WHERE transaction_type = 'payment'), "
            "count(DISTINCT tenant_id) FROM public.financial_transactions"
        ).fetchone()
        assert money is not None
        assert money[0] > 0
        assert money[1] >= 1
    for source, path in files:  # loading again changes nothing
        assert load_file(migrated_database_url, source, path, settings).already_loaded
