"""What the platform's two JSON Lines event sources, `behaviour` and `audit`, share.

An event says who did what, when and from where: `event_id` and `occurred_at` identify it
(-> source_record_id, created_at), `tenant_id` and `user_id` say who, `action`, `resource`
and `resource_id` what, `ip_address` and `user_agent` from where, and `metadata` (a JSON
object, `{}` when absent) anything else. Each source module lists its fields, says which
are required, and adds its own checks and columns (see their docstrings).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

import polars as pl

from ingestion.parsing import validate as v
from ingestion.parsing.contract import ParseContext, Parsed
from ingestion.parsing.records import JsonKind, read_jsonl


def parse_events(
    data: bytes,
    context: ParseContext,
    *,
    table: str,
    fields: Mapping[str, JsonKind],
    required: Sequence[str],
    present: Collection[str] = (),
    checks: Iterable[pl.Expr] = (),
    columns: Iterable[str] = (),
) -> Parsed:
    """One file of events as rows of `table`: the events' checks and then the source's own
    `checks`; the events' columns, with the source's own `columns` stored as they came.

    `present` names keys every line must have, even when null (see `read_jsonl`).
    """
    records = read_jsonl(data, fields, present)
    event_checks = [
        *(v.required(name) for name in required),
        v.text_fits(table, "event_id", "source_record_id"),
        v.timestamp("occurred_at"),
        *v.tenant_and_user(context),
        v.text_fits(table, "action"),
        v.text_fits(table, "resource"),
        v.uuid("resource_id"),
        v.ip_address("ip_address"),
        *checks,
    ]
    valid, rejects = v.split_valid(records.frame, event_checks, records.rejects)
    rows = valid.select(
        v.as_uuid("user_id").alias("user_id"),
        v.as_uuid("tenant_id").alias("tenant_id"),
        pl.col("action"),
        pl.col("resource"),
        v.as_uuid("resource_id").alias("resource_id"),
        pl.col("ip_address"),
        pl.col("user_agent"),
        *(pl.col(name) for name in columns),
        pl.col("metadata").fill_null("{}"),
        v.as_timestamp("occurred_at").alias("created_at"),
        pl.col("event_id").alias("source_record_id"),
    )
    low, high = v.event_range(rows, "created_at")
    return Parsed(records.records_in, {table: rows}, rejects, low, high)
