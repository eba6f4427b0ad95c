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

from ingestion.parsing import validate as v
from ingestion.parsing.contract import ParseContext, Parsed, Target
from ingestion.parsing.records import JsonKind
from ingestion.sources.platform_events import parse_events

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
        return parse_events(
            data,
            context,
            table=TABLE,
            fields=FIELDS,
            required=REQUIRED,
            present=("tenant_id",),  # null: a platform-wide event; absent: a mistake
            checks=[v.text_fits(TABLE, "session_id")],
            columns=("old_values", "new_values", "session_id"),
        )


SOURCE = AuditSource()
