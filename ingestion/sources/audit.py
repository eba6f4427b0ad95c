"""Source `audit`: the platform's audit trail, JSON Lines -> `public.audit_logs`.

Format: JSON Lines (UTF-8, optionally gzipped), one JSON object per line; files
`<landing>/audit/**/*.jsonl[.gz]`. Keys (others are ignored):

- `event_id` (required, string <= 255) -> source_record_id
- `occurred_at` (required, ISO-8601 date-time string with zone) -> created_at, the event time
- `tenant_id` (the key is required; a UUID string of a known tenant, or null for a
  platform-wide event)
- `user_id` (UUID string of a known user; null or absent for the system itself)
- `action` (required, string <= 100, e.g. create, update, delete, login, export)
- `resource` (required, string <= 100, e.g. bot, subscription, user)
- `resource_id` (UUID string)
- `old_values`, `new_values`, `metadata` (JSON objects, stored as jsonb)
- `ip_address` (IPv4 or IPv6 address string), `user_agent` (string),
  `session_id` (string <= 255)

Write disposition: `insert_new` on the hypertable's unique key (source_record_id,
created_at) = (event_id, occurred_at): audit rows are never changed, a re-delivered event
is a duplicate. Cursor: none.
"""

from __future__ import annotations

import polars as pl

from ingestion.load import validate as v
from ingestion.load.records import JsonKind, read_jsonl
from ingestion.sources.base import ParseContext, Parsed, Target

TABLE = "public.audit_logs"
FIELDS: dict[str, JsonKind] = {
    "event_id": "string",
    "occurred_at": "string",
    "tenant_id": "string",
    "user_id": "string",
    "action": "string",
    "resource": "string",
    "resource_id": "string",
    "old_values": "object",
    "new_values": "object",
    "ip_address": "string",
    "user_agent": "string",
    "session_id": "string",
    "metadata": "object",
}
REQUIRED = ("event_id", "occurred_at", "action", "resource")


class AuditSource:
    name = "audit"
    file_patterns = ("*.jsonl", "*.jsonl.gz", "*.ndjson", "*.ndjson.gz")
    primary = Target(TABLE, key=("source_record_id", "created_at"), disposition="insert_new")
    secondary: tuple[Target, ...] = ()
    derived_sql: tuple[str, ...] = ()
    derived_tables: tuple[str, ...] = ()

    def parse(self, data: bytes, file_name: str, context: ParseContext) -> Parsed:
        records = read_jsonl(data, FIELDS, present=("tenant_id",))
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
            v.text_fits(TABLE, "session_id"),
        ]
        valid, rejects = v.split_valid(records.frame, checks, records.rejects)
        rows = valid.select(
            v.as_uuid("user_id").alias("user_id"),
            v.as_uuid("tenant_id").alias("tenant_id"),
            pl.col("action"),
            pl.col("resource"),
            v.as_uuid("resource_id").alias("resource_id"),
            pl.col("old_values"),
            pl.col("new_values"),
            pl.col("ip_address"),
            pl.col("user_agent"),
            pl.col("session_id"),
            pl.col("metadata").fill_null("{}"),
            v.as_timestamp("occurred_at").alias("created_at"),
            pl.col("event_id").alias("source_record_id"),
        )
        low, high = v.event_range(rows, "created_at")
        return Parsed(records.records_in, {TABLE: rows}, rejects, low, high)


SOURCE = AuditSource()
