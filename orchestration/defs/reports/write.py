"""Writing report rows idempotently: a period's rows are replaced, never added to.

One transaction per table: take the table's advisory lock, DELETE the pipeline's rows of
every period being written, INSERT the new ones. A re-run leaves exactly one row per key;
two writers of the same table (a scheduled and a sensor run) queue on the lock instead of
both deleting before either inserts. Rows that people or other programs wrote are outside
`scope` and never touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, Table, delete, func, insert, select, tuple_


@dataclass(frozen=True)
class Written:
    deleted: int
    inserted: int
    periods: list[tuple[datetime, datetime]]


def replace_periods(
    engine: Engine,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    scope: ColumnElement[bool],
    completed_at: bool = True,
) -> Written:
    """Replace, in one transaction, the rows in `scope` of every period that `rows` cover."""
    periods = sorted({(row["period_start"], row["period_end"]) for row in rows})
    with engine.begin() as conn:
        conn.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"bcf.reports.{table.name}"))))
        if not periods:
            return Written(0, 0, [])
        deleted = conn.execute(
            delete(table).where(
                scope, tuple_(table.c.period_start, table.c.period_end).in_(periods)
            )
        ).rowcount
        if completed_at:
            now = conn.execute(select(func.now())).scalar_one()
            rows = [{**row, "completed_at": now} for row in rows]
        conn.execute(insert(table), list(rows))
    return Written(deleted, len(rows), periods)


def duplicate_keys(
    engine: Engine, table: Table, key: Sequence[str], scope: ColumnElement[bool]
) -> int:
    """How many keys have more than one row in `scope` (0 when the writes were idempotent)."""
    columns = [table.c[name] for name in key]
    dupes = select(*columns).where(scope).group_by(*columns).having(func.count() > 1).subquery()
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(dupes)).scalar_one())
