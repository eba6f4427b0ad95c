"""The migrated database is the seed's design plus exactly the deviations docs/schema.md lists."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.db.engine import create_db_engine
from tests.support.seed_ddl import (
    SCHEMA_DOC,
    SeedTable,
    describe_database,
    diff,
    documented_deviations,
    foreign_key_mismatches,
    parse_seed,
)


@pytest.fixture
def seed(seed_path: Path) -> dict[str, SeedTable]:
    return parse_seed(seed_path)


@pytest.fixture
def catalog(migrated_database_url: str) -> Iterator[dict[str, dict[str, SeedTable]]]:
    """The migrated database's tables, by schema."""
    engine = create_db_engine(migrated_database_url)
    try:
        with engine.connect() as connection:
            yield {schema: describe_database(connection, schema) for schema in ("public", "raw")}
    finally:
        engine.dispose()


def test_differences_from_the_seed_are_exactly_the_documented_ones(
    seed: dict[str, SeedTable], catalog: dict[str, dict[str, SeedTable]]
) -> None:
    found = diff(seed, catalog["public"])
    documented = documented_deviations(SCHEMA_DOC)
    assert sorted(found - documented) == [], "in the database, not in docs/schema.md"
    assert sorted(documented - found) == [], "in docs/schema.md, not in the database"


def test_every_seed_index_and_check_exists_under_its_name(
    seed: dict[str, SeedTable], catalog: dict[str, dict[str, SeedTable]]
) -> None:
    live = catalog["public"]
    for name, table in seed.items():
        live_indexes = {index.name: index.columns for index in live[name].indexes}
        for index in table.indexes:
            assert live_indexes.get(index.name) == index.columns, f"{name}: {index.name}"
        live_checks = {check.name for check in live[name].checks}
        for check in table.checks:
            assert check.name in live_checks, f"{name}: {check.name}"
        live_fk_names = {fk.name for fk in live[name].foreign_keys}
        for fk in table.foreign_keys:
            assert fk.name is None or fk.name in live_fk_names, f"{name}: {fk.name}"


def test_every_foreign_key_has_the_seeds_on_delete(
    seed: dict[str, SeedTable], catalog: dict[str, dict[str, SeedTable]]
) -> None:
    assert foreign_key_mismatches(seed, catalog["public"]) == []


def test_raw_schema_holds_the_ledger_and_the_quarantine(
    catalog: dict[str, dict[str, SeedTable]],
) -> None:
    raw = catalog["raw"]
    assert set(raw) == {
        "ingest_batches",
        "quarantine",
        "stripe_events",
        "subscription_events",
        "fx_rates",
        "expenses",
    }
    batches = raw["ingest_batches"]
    assert {check.name for check in batches.checks} >= {
        "ck_ingest_batches_status",
        "ck_ingest_batches_rows_balance",
    }
    assert [(index.columns, index.unique) for index in batches.indexes] == [
        (("source", "content_sha256"), True)
    ]
    (batch_fk,) = raw["quarantine"].foreign_keys
    assert (batch_fk.referred_table, batch_fk.on_delete) == ("ingest_batches", "CASCADE")
