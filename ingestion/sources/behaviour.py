"""Source `behaviour`: what users do in the platform, JSON Lines -> `public.user_behavior_tracking`.

Format: JSON Lines (UTF-8, optionally gzipped), one JSON object per line; files
`<landing>/behaviour/**/*.jsonl[.gz]`. Keys (others are ignored; null is the same as absent):

- `event_id` (required, string <= 255) -> source_record_id
- `occurred_at` (required, ISO-8601 date-time string with zone) -> created_at, the event time
- `tenant_id`, `user_id` (required, UUID strings of a known tenant and user)
- `action` (required, string <= 100, e.g. login, view_dashboard, start_bot)
- `resource` (string <= 100, e.g. bot, strategy, report), `resource_id` (UUID string)
- `ip_address` (IPv4 or IPv6 address string), `user_agent` (string)
- `location_data`, `session_data`, `metadata` (JSON objects, stored as jsonb)

Write disposition: `insert_new` on the hypertable's unique key (source_record_id,
created_at) = (event_id, occurred_at): a re-delivered event is a duplicate. Cursor: none.
"""

from __future__ import annotations

import polars as pl

from ingestion.load import validate as v
from ingestion.load.records import JsonKind, read_jsonl
from ingestion.sources.base import ParseContext, Parsed, Target

TABLE = "public.user_behavior_tracking"
FIELDS: dict[str, JsonKind] = {
    "event_id": "string",
    "occurred_at": "string",
    "tenant_id": "string",
    "user_id": "string",
    "action": "string",
    "resource": "string",
    "resource_id": "string",
    "ip_address": "string",
    "user_agent": "string",
    "location_data": "object",
    "session_data": "object",
    "metadata": "object",
}
REQUIRED = ("event_id", "occurred_at", "tenant_id", "user_id", "action")


class BehaviourSource:
    name = "behaviour"
    file_patterns = ("*.jsonl", "*.jsonl.gz", "*.ndjson", "*.ndjson.gz")
    primary = Target(TABLE, key=("source_record_id", "created_at"), disposition="insert_new")
    secondary: tuple[Target, ...] = ()
    derived_sql: tuple[str, ...] = ()
    derived_tables: tuple[str, ...] = ()

    def parse(self, data: bytes, file_name: str, context: ParseContext) -> Parsed:
        records = read_jsonl(data, FIELDS)
        checks = [
            *(v.required(name) for name in REQUIRED),
            v.text_fits(TABLE, "event_id", "source_record_id"),
            v.timestamp("occurred_at"),
            v.uuid("tenant_id"),
            v.known("tenant_id", context.known_tenant_ids, "tenant"),
            v.uuid("user_id"),
            v.known("user_id", context.known_user_ids, "user"),
            v.text_fits(TABLE, "action"),
            v.text_fits(TABLE, "resource"),
            v.uuid("resource_id"),
            v.ip_address("ip_address"),
        ]
        valid, rejects = v.split_valid(records.frame, checks, records.rejects)
        rows = valid.select(
            v.as_uuid("user_id").alias("user_id"),
            v.as_uuid("tenant_id").alias("tenant_id"),
            pl.col("action"),
            pl.col("resource"),
            v.as_uuid("resource_id").alias("resource_id"),
            pl.col("ip_address"),
            pl.col("user_agent"),
            pl.col("location_data"),
            pl.col("session_data"),
            pl.col("metadata").fill_null("{}"),
            v.as_timestamp("occurred_at").alias("created_at"),
            pl.col("event_id").alias("source_record_id"),
        )
        low, high = v.event_range(rows, "created_at")
        return Parsed(records.records_in, {TABLE: rows}, rejects, low, high)


SOURCE = BehaviourSource()
