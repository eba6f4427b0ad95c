"""Source `usage`: platform usage events, CSV -> `public.platform_usage_tracking`.

Format: CSV (UTF-8, optionally gzipped), comma-separated, a header row, one record per
line; files `<landing>/usage/**/*.csv[.gz]`. Columns (header names in any order and case;
other columns are ignored):

- `usage_event_id` (required, text <= 255) -> source_record_id
- `tenant_id`, `user_id` (required, UUIDs of a known tenant and user)
- `resource_type` (required: bots, api_calls, storage, bandwidth, users, transactions)
- `resource_id` (optional, text <= 255)
- `usage_count` (optional, whole number >= 0; default 1)
- `usage_value` (optional, decimal >= 0 with a dot, 2 places)
- `period_start`, `period_end` (required, ISO-8601 date-times with zone; end >= start)
- `recorded_at` (required, ISO-8601 date-time with zone) -> created_at, the event time

Write disposition: `insert_new` (append-only facts) on the hypertable's unique key
(source_record_id, created_at) = (usage_event_id, recorded_at): a re-delivered event is a
duplicate. Cursor: none; the ledger's content hash makes a file load once.
"""

from __future__ import annotations

import polars as pl

from ingestion.parsing import validate as v
from ingestion.parsing.contract import ParseContext, Parsed, Target
from ingestion.parsing.records import read_csv

TABLE = "public.platform_usage_tracking"
FIELDS = (
    "usage_event_id",
    "tenant_id",
    "user_id",
    "resource_type",
    "resource_id",
    "usage_count",
    "usage_value",
    "period_start",
    "period_end",
    "recorded_at",
)
REQUIRED = (
    "usage_event_id",
    "tenant_id",
    "user_id",
    "resource_type",
    "period_start",
    "period_end",
    "recorded_at",
)


class UsageSource:
    name = "usage"
    file_patterns = ("*.csv", "*.csv.gz")
    primary = Target(TABLE, key=("source_record_id", "created_at"), disposition="insert_new")
    secondary: tuple[Target, ...] = ()
    derived_sql: tuple[str, ...] = ()
    derived_tables: tuple[str, ...] = ()

    def parse(self, data: bytes, file_name: str, context: ParseContext) -> Parsed:
        records = read_csv(data, FIELDS, REQUIRED)
        checks = [
            *(v.required(name) for name in REQUIRED),
            v.text_fits(TABLE, "usage_event_id", "source_record_id"),
            *v.tenant_and_user(context),
            v.one_of("resource_type", v.allowed_values(TABLE, "resource_type")),
            v.text_fits(TABLE, "resource_id"),
            v.integer("usage_count", minimum=0),
            v.numeric(TABLE, "usage_value", minimum=0),
            v.timestamp("period_start"),
            v.timestamp("period_end"),
            v.not_before("period_end", "period_start"),
            v.timestamp("recorded_at"),
        ]
        valid, rejects = v.split_valid(records.frame, checks, records.rejects)
        rows = valid.select(
            v.as_uuid("tenant_id").alias("tenant_id"),
            v.as_uuid("user_id").alias("user_id"),
            pl.col("resource_type"),
            pl.col("resource_id"),
            v.as_int("usage_count").fill_null(1).cast(pl.Int32).alias("usage_count"),
            v.as_numeric(TABLE, "usage_value").alias("usage_value"),
            v.as_timestamp("period_start").alias("period_start"),
            v.as_timestamp("period_end").alias("period_end"),
            v.as_timestamp("recorded_at").alias("created_at"),
            pl.col("usage_event_id").alias("source_record_id"),
        )
        low, high = v.event_range(rows, "created_at")
        return Parsed(records.records_in, {TABLE: rows}, rejects, low, high)


SOURCE = UsageSource()
