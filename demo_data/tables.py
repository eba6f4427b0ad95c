"""The operational tables the generator fills, and their idempotent write.

Rows are plain dicts keyed by column name, in foreign-key order (`TABLE_ORDER`), with jsonb
values as compact JSON text (`jsonb`). `write` loads them in one transaction: per table,
COPY into a temporary table, then `INSERT ... SELECT ... ON CONFLICT DO NOTHING`; re-running
with the same arguments inserts nothing. A row skipped because *another* row holds one of
its unique values (an email, a slug, a ticket number: data of another seed in the same
database) would leave dangling references, so `write` checks every skipped id is present
and otherwise rolls back with `GenerationConflictError`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql

from core.db.engine import libpq_url
from demo_data.world import (
    Person,
)

TABLE_ORDER = (
    "subscription_plans",
    "users",
    "tenants",
    "tenant_members",
    "departments",
    "department_agents",
    "referral_campaigns",
    "referral_links",
    "gamification_achievements",
    "user_achievements",
    "leads",
    "support_tickets",
    "support_messages",
    "irregularity_detection",
    "documents",
    "document_versions",
)


class GenerationConflictError(RuntimeError):
    """Rows of another generated data set hold unique values this one needs."""


def jsonb(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def iso_utc(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds")


@dataclass
class Rows:
    tables: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {t: [] for t in TABLE_ORDER}
    )
    tickets: list[dict[str, Any]] = field(default_factory=list)
    # Funnel moves of the leads, for the audit trail: (at, lead id, from, to, sales rep).
    lead_changes: list[tuple[datetime, str, str, str, Person]] = field(default_factory=list)

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.tables[table].append(row)

    def counts(self) -> dict[str, int]:
        return {table: len(rows) for table, rows in self.tables.items()}


def write(database_url: str, rows: Rows) -> dict[str, int]:
    """Insert what is missing, in one transaction; rows already there are left alone."""
    inserted: dict[str, int] = {}
    with psycopg.connect(libpq_url(database_url)) as conn:
        conn.execute("SET client_encoding TO 'UTF8'")
        with conn.transaction():
            for table in TABLE_ORDER:
                inserted[table] = _insert(conn, table, rows.tables[table])
    return inserted


def all_present(database_url: str, ids: Mapping[str, Sequence[str]]) -> bool:
    """Whether the database holds a row of every id (`ids` by table), so that `write` would
    insert nothing and refuse nothing."""
    with psycopg.connect(libpq_url(database_url)) as conn:
        for table, table_ids in ids.items():
            found = conn.execute(
                sql.SQL("SELECT count(*) FROM {} WHERE id = ANY(%s::uuid[])").format(
                    sql.Identifier("public", table)
                ),
                (list(table_ids),),
            ).fetchone()
            if found is None or found[0] != len(table_ids):
                return False
    return True


def _insert(conn: psycopg.Connection, table: str, rows: Sequence[Mapping[str, Any]]) -> int:
    if not rows:
        return 0
    columns = list(rows[0])
    stage = sql.Identifier(f"generate_{table}")
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    conn.execute(
        sql.SQL("CREATE TEMP TABLE {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP").format(
            stage, sql.Identifier("public", table)
        )
    )
    with (
        conn.cursor() as cursor,
        cursor.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(stage, names)) as copy,
    ):
        for row in rows:
            copy.write_row([row[c] for c in columns])
    with conn.cursor() as cursor:
        cursor.execute(
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT DO NOTHING").format(
                sql.Identifier("public", table), names, names, stage
            )
        )
        inserted = cursor.rowcount
    if inserted < len(rows):
        missing = conn.execute(
            sql.SQL(
                "SELECT s.id FROM {} AS s WHERE NOT EXISTS "
                "(SELECT 1 FROM {} AS t WHERE t.id = s.id) LIMIT 3"
            ).format(stage, sql.Identifier("public", table))
        ).fetchall()
        if missing:
            raise GenerationConflictError(
                f"public.{table}: {len(rows) - inserted} generated rows were skipped and "
                f"e.g. id {missing[0][0]} is not there: another row holds one of their unique "
                "values (data generated with another seed or by hand). Generate into a fresh "
                "database, or with the seed used before."
            )
    conn.execute(sql.SQL("DROP TABLE {}").format(stage))
    return inserted


def iter_ids(rows: Rows, table: str) -> Iterable[str]:
    return (str(row["id"]) for row in rows.tables[table])
