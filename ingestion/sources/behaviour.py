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

from ingestion.parsing.contract import ParseContext, Parsed, Target
from ingestion.parsing.records import JsonKind
from ingestion.sources.platform_events import parse_events

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
        return parse_events(
            data,
            context,
            table=TABLE,
            fields=FIELDS,
            required=REQUIRED,
            columns=("location_data", "session_data"),
        )


SOURCE = BehaviourSource()
