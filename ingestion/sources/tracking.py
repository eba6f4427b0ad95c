"""Web tracking events -> `public.visitor_tracking`, and `public.visitor_sessions` from them.

Source `tracking`; landing files `*.jsonl`, `*.jsonl.gz` (one event object per line, UTF-8;
gzip is recognised by its magic bytes) or `*.parquet` (one event per row, the same fields as
columns, `occurred_at` a string or a zoned timestamp). The Redis stream consumer
and the write API's `POST /v1/track` accept the same event objects and hand them over
already decoded (`parse_events`).

Write disposition: `insert_new` into `public.visitor_tracking` on the natural key
`(source_record_id, created_at)` = (event_id, occurred_at); an event seen before is a
duplicate, never an update. No cursor: every file or stream batch is parsed whole. After the
merge, `derived_sql` recomputes the `public.visitor_sessions` of every session the batch
touched (upsert on `session_id`).

Event format (a JSON object; unknown fields are kept in `metadata`)
-------------------------------------------------------------------
Required:

- `event_id`: UUID text, 8-4-4-4-12 hex digits in any case. The natural key: stored lower
  case as `source_record_id` and also as the row's `id`.
- `occurred_at`: ISO-8601 date-time *with* an offset or `Z` (`2026-11-25T14:03:12.345Z`,
  `2026-11-25T11:03:12-03:00`; a space for the `T` is accepted), years 2000-2099. Stored as
  `created_at` in UTC, microseconds.
- `session_id`: string (or integer), ≤ 255 characters: the collector's session.
- `ip`: one IPv4 or IPv6 address -> `ip_address` (canonical text; `::ffff:a.b.c.d` becomes
  a.b.c.d) and `ip_version` (4 or 6).
- `page_url`: absolute `http://` or `https://` URL, ≤ 500.

Optional, into columns of the same name (text limits are the column sizes):

- `user_agent` (the browser's User-Agent, any length) -> also the parsed columns below.
- `page_title` ≤ 255; `referrer` ≤ 500 (`document.referrer`).
- `utm_source`, `utm_medium`, `utm_campaign`, `utm_term`, `utm_content` ≤ 100 each;
  `gclid`, `fbclid` ≤ 100 each.
- `screen_resolution` ≤ 20, e.g. `1920x1080`.
- `visit_duration`: whole seconds on the page, 0 to 2147483647, a number or a digit
  string; absent means 0.

Optional, into `metadata` (visitor_tracking has no columns for them):

- `visitor_id` ≤ 255: the collector's first-party visitor id (-> visitor_sessions).
- `event_type`: `pageview` (the default), `event` (an interaction) or `conversion`.
- `event_name` ≤ 100: what happened, e.g. `signup`, `lead`, `purchase`, `click_cta`.
- `conversion_value`: a number ≥ 0 (or a decimal string with a dot), rounded to cents,
  ≤ 99999999.99; `currency`: its ISO-4217 code, by default the reporting currency.
- anything else, as sent (a field named `is_bot` is kept as `client_is_bot`: `is_bot` is
  the pipeline's).

Empty strings count as absent. A JSON number is taken as its text where text is expected
(`"session_id": 123`) and digit strings as numbers (`"visit_duration": "42"`); true/false,
objects and arrays where a field's value belongs are refused. Example line:

    {"event_id": "0f8fad5b-d9cb-469f-a165-70867728950e", "occurred_at": "2026-11-25T14:03:12Z",
     "session_id": "s_8c1f", "visitor_id": "v_21aa", "ip": "177.72.0.1",
     "user_agent": "Mozilla/5.0 (iPhone; ...) Mobile/15E148 Safari/604.1",
     "page_url": "https://botcriptofy.com.br/precos", "referrer": "https://www.google.com/",
     "utm_source": "google", "utm_medium": "cpc", "gclid": "Cj0KCQiA...", "visit_duration": 42}

Enrichment (`ingestion.enrich`, switchable with `TrackingSource(enrich=False)`): browser,
browser_version, os, os_version, device_type (desktop, mobile, tablet, bot, other),
device_brand, device_model from the user agent; country, region, city, latitude, longitude,
asn, isp from the IP. Bots (crawler user agents, HTTP tools, empty user agent) get
device_type `bot` and `metadata.is_bot = true`; every enriched event carries `is_bot`, so
marts keep bots out of visitor counts with `NOT coalesce((metadata->>'is_bot')::boolean,
false)`. With enrichment off those columns are NULL and `is_bot` is absent.

Rejects (to `raw.quarantine` by the loader), each with a reason naming the field, the value
and what was expected: a line that is not valid UTF-8 or not a JSON object; a required
field missing; a value of the wrong JSON type; a malformed UUID, timestamp (or one without
zone), IP or URL; text longer than its column; a negative or fractional duration; an
unknown event_type; an event_id repeated in the batch with a different occurred_at (the key
includes the time, so it would land twice). Blank lines are not records. The same event_id
and occurred_at twice is not refused: the loader counts the second as a duplicate.

Sessions (`derived_sql`, run by the loader after the merge with `:batch_id`): for each
session_id that got rows in the batch, recomputed from all its events in visitor_tracking:
first/last_visit_at = first/last event; total_visits = page views; pages_visited = distinct
page_url among them; total_duration = sum of visit_duration; conversion_events = events of
type `conversion`, is_converted when there is one, conversion_value = the sum of their
values (NULL when none has one); visitor_id = the first one sent; metadata = landing_page,
exit_page, events (all types) and is_bot (any event from a bot). `INSERT ... ON CONFLICT
(session_id) DO UPDATE` only where something changed, so a session spanning two files ends
right in either load order and a re-run changes nothing. It relies on every visitor_tracking
row arriving through a batch (the stream and the API go through the loader too).

Output: one frame for `public.visitor_tracking` with its column names and these dtypes:
`id`, `source_record_id` String (UUID text); `created_at` Datetime(us, UTC); `ip_version`,
`visit_duration` Int32; `latitude` Decimal(10, 8); `longitude` Decimal(11, 8); `metadata`
String holding a JSON object; everything else String. `ingest_batch_id` is left to the
loader, which stamps it.
"""

from __future__ import annotations

import bisect
import functools
import gc
import gzip
import io
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

import orjson
import polars as pl

from ingestion.enrich import enrich_events, ip_table
from ingestion.enrich.geo import GEO_SCHEMA, GeoIp
from ingestion.enrich.user_agent import USER_AGENT_SCHEMA
from ingestion.parsing.contract import ParseContext, Parsed, Reject, Target

NAME: Final = "tracking"
TABLE: Final = "public.visitor_tracking"
EVENT_TYPES: Final = ("pageview", "event", "conversion")

REQUIRED: Final = ("event_id", "occurred_at", "session_id", "ip", "page_url")
# Text fields and their column sizes (visitor_tracking, or visitor_sessions for visitor_id).
TEXT_LIMITS: Final[dict[str, int | None]] = {
    "session_id": 255,
    "visitor_id": 255,
    "user_agent": None,
    "page_url": 500,
    "page_title": 255,
    "referrer": 500,
    "utm_source": 100,
    "utm_medium": 100,
    "utm_campaign": 100,
    "utm_term": 100,
    "utm_content": 100,
    "gclid": 100,
    "fbclid": 100,
    "screen_resolution": 20,
    "event_name": 100,
}
_INT_FIELDS: Final = ("visit_duration",)
_NUMBER_FIELDS: Final = ("conversion_value",)
_OTHER_TEXT: Final = ("event_id", "occurred_at", "ip", "event_type", "currency")
FIELDS: Final[tuple[str, ...]] = (*_OTHER_TEXT, *TEXT_LIMITS, *_INT_FIELDS, *_NUMBER_FIELDS)
_KNOWN: Final = frozenset(FIELDS)
_RESERVED_METADATA: Final = {"is_bot": "client_is_bot"}
_TEXT_TYPES: Final = frozenset({str, type(None)})

MAX_CONVERSION_VALUE: Final = 99_999_999.99  # visitor_sessions.conversion_value numeric(10,2)
_INT4_MAX: Final = 2_147_483_647

VISITOR_TRACKING_SCHEMA: Final[dict[str, pl.DataType]] = {
    "id": pl.String(),
    "session_id": pl.String(),
    "ip_address": pl.String(),
    "ip_version": pl.Int32(),
    **GEO_SCHEMA,
    "user_agent": pl.String(),
    # The parsed user agent's columns; its is_bot goes into metadata.
    **{name: dtype for name, dtype in USER_AGENT_SCHEMA.items() if name != "is_bot"},
    "screen_resolution": pl.String(),
    "referrer": pl.String(),
    "utm_source": pl.String(),
    "utm_medium": pl.String(),
    "utm_campaign": pl.String(),
    "utm_term": pl.String(),
    "utm_content": pl.String(),
    "gclid": pl.String(),
    "fbclid": pl.String(),
    "page_url": pl.String(),
    "page_title": pl.String(),
    "visit_duration": pl.Int32(),
    "metadata": pl.String(),
    "created_at": pl.Datetime("us", "UTC"),
    "source_record_id": pl.String(),
}

# Sessions touched by the batch, recomputed from all their events in visitor_tracking.
#
# Where a session's events can be: visitor_sessions already spans every event loaded before
# (each batch ran this statement), so a touched session's events lie between the earlier of
# its stored first_visit_at and the batch's first event and the later of last_visit_at and
# the batch's last event. Scanning only that time range lets TimescaleDB skip old chunks. The
# batch's own rows are found by ingest_batch_id, within the ledger's min/max_event_at when the
# loader has written them (any superset of the batch's event times is right), else anywhere.
# Re-running it changes nothing: the update is skipped when the recomputed row is the same.
SESSIONS_SQL: Final = """
WITH ledger AS (
    SELECT
        coalesce(
            (SELECT b.min_event_at FROM raw.ingest_batches AS b
             WHERE b.id = CAST(:batch_id AS uuid)),
            '-infinity'::timestamptz
        ) AS lo,
        coalesce(
            (SELECT b.max_event_at FROM raw.ingest_batches AS b
             WHERE b.id = CAST(:batch_id AS uuid)),
            'infinity'::timestamptz
        ) AS hi
),
touched AS (
    SELECT v.session_id, min(v.created_at) AS lo, max(v.created_at) AS hi
    FROM public.visitor_tracking AS v
    CROSS JOIN ledger
    WHERE v.ingest_batch_id = CAST(:batch_id AS uuid)
        AND v.created_at >= ledger.lo
        AND v.created_at <= ledger.hi
    GROUP BY v.session_id
),
bounds AS (
    SELECT
        t.session_id,
        least(t.lo, s.first_visit_at) AS lo,
        greatest(t.hi, s.last_visit_at) AS hi
    FROM touched AS t
    LEFT JOIN public.visitor_sessions AS s ON s.session_id = t.session_id
),
span AS (
    SELECT min(bounds.lo) AS lo, max(bounds.hi) AS hi FROM bounds
),
events AS (
    SELECT
        v.session_id,
        v.id,
        v.created_at,
        v.page_url,
        coalesce(v.visit_duration, 0) AS visit_duration,
        coalesce(v.metadata ->> 'event_type', 'pageview') AS event_type,
        v.metadata ->> 'visitor_id' AS visitor_id,
        CASE WHEN jsonb_typeof(v.metadata -> 'conversion_value') = 'number'
            THEN (v.metadata ->> 'conversion_value')::numeric
        END AS conversion_value,
        CASE WHEN jsonb_typeof(v.metadata -> 'is_bot') = 'boolean'
            THEN (v.metadata ->> 'is_bot')::boolean
        END AS is_bot
    FROM public.visitor_tracking AS v
    INNER JOIN bounds AS b ON v.session_id = b.session_id
    CROSS JOIN span
    WHERE v.created_at >= span.lo AND v.created_at <= span.hi
),
agg AS (
    SELECT
        e.session_id,
        min(e.created_at) AS first_visit_at,
        max(e.created_at) AS last_visit_at,
        count(*) FILTER (WHERE e.event_type = 'pageview') AS total_visits,
        sum(e.visit_duration) AS total_duration,
        count(DISTINCT e.page_url) FILTER (WHERE e.event_type = 'pageview') AS pages_visited,
        count(*) FILTER (WHERE e.event_type = 'conversion') AS conversion_events,
        sum(e.conversion_value) FILTER (WHERE e.event_type = 'conversion') AS conversion_value,
        (array_agg(e.visitor_id ORDER BY e.created_at, e.id)
            FILTER (WHERE e.visitor_id IS NOT NULL))[1] AS visitor_id,
        (array_agg(e.page_url ORDER BY e.created_at, e.id)
            FILTER (WHERE e.event_type = 'pageview'))[1] AS landing_page,
        (array_agg(e.page_url ORDER BY e.created_at DESC, e.id DESC)
            FILTER (WHERE e.event_type = 'pageview'))[1] AS exit_page,
        bool_or(e.is_bot) AS is_bot,
        count(*) AS events
    FROM events AS e
    GROUP BY e.session_id
)
INSERT INTO public.visitor_sessions AS s (
    session_id, visitor_id, first_visit_at, last_visit_at, total_visits, total_duration,
    pages_visited, conversion_events, is_converted, conversion_value, metadata,
    source_record_id, ingest_batch_id
)
SELECT
    a.session_id,
    a.visitor_id,
    a.first_visit_at,
    a.last_visit_at,
    a.total_visits::integer,
    least(a.total_duration, 2147483647)::integer,
    a.pages_visited::integer,
    a.conversion_events::integer,
    a.conversion_events > 0,
    -- least() skips NULLs: a session without a valued conversion keeps NULL
    CASE WHEN a.conversion_value IS NOT NULL
        THEN least(round(a.conversion_value, 2), 99999999.99)
    END,
    jsonb_strip_nulls(jsonb_build_object(
        'landing_page', a.landing_page,
        'exit_page', a.exit_page,
        'events', a.events,
        'is_bot', a.is_bot,
        'conversion_value_capped', CASE WHEN a.conversion_value > 99999999.99 THEN true END
    )),
    a.session_id,
    CAST(:batch_id AS uuid)
FROM agg AS a
ON CONFLICT (session_id) DO UPDATE SET
    visitor_id = excluded.visitor_id,
    first_visit_at = excluded.first_visit_at,
    last_visit_at = excluded.last_visit_at,
    total_visits = excluded.total_visits,
    total_duration = excluded.total_duration,
    pages_visited = excluded.pages_visited,
    conversion_events = excluded.conversion_events,
    is_converted = excluded.is_converted,
    conversion_value = excluded.conversion_value,
    metadata = excluded.metadata,
    source_record_id = excluded.source_record_id,
    ingest_batch_id = excluded.ingest_batch_id,
    updated_at = now()
WHERE (
    s.visitor_id, s.first_visit_at, s.last_visit_at, s.total_visits, s.total_duration,
    s.pages_visited, s.conversion_events, s.is_converted, s.conversion_value, s.metadata
) IS DISTINCT FROM (
    excluded.visitor_id, excluded.first_visit_at, excluded.last_visit_at,
    excluded.total_visits, excluded.total_duration, excluded.pages_visited,
    excluded.conversion_events, excluded.is_converted, excluded.conversion_value,
    excluded.metadata
)
"""

_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%z"
_TS_NAIVE = "%Y-%m-%dT%H:%M:%S%.f"
_DECIMAL = r"^\d+(\.\d+)?([eE][+-]?\d+)?$"
_SHOWN = 80  # characters of an offending value quoted in a reason
_GZIP_MAGIC: Final = b"\x1f\x8b"
_CHUNK_BYTES: Final = 16 * 2**20  # JSONL is read in chunks of whole lines of about this size
# Text that may have been a JSON object, array or boolean before Polars made it text.
_SUSPICIOUS_TEXT: Final = r"^[\[{]|^(?:true|false)$"


# ---------------------------------------------------------------------------------------
# Decoding: bytes or mappings -> one String column per field, plus refusals so far
# ---------------------------------------------------------------------------------------


def _json_kind(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    return f"a {type(value).__name__}"


def _expected(name: str) -> str:
    if name in _INT_FIELDS:
        return "a whole number"
    if name in _NUMBER_FIELDS:
        return "a number"
    return "a string"


def _coerce(name: str, value: object) -> tuple[str | None, str | None]:
    """(text, None) for a usable scalar, (None, reason) otherwise; strings pass untouched."""
    kind = type(value)
    if kind is int:  # a JSON number is taken as its text wherever text is expected
        return str(value), None
    if kind is float:
        return repr(value), None
    if kind is bytes:  # stream entries may carry raw bytes
        try:
            return value.decode("utf-8"), None  # type: ignore[attr-defined]
        except UnicodeDecodeError:
            return None, f"{name} is not valid UTF-8"
    return None, f"{name} must be {_expected(name)}, got {_json_kind(value)}"


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building millions of small containers (none are cyclic)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _frame_from_records(
    records: Sequence[Mapping[str, Any]],
) -> tuple[pl.DataFrame, dict[int, list[str]]]:
    """String columns for FIELDS, `_extras` (JSON object or null) and type refusals by row."""
    type_errors: dict[int, list[str]] = {}
    columns: dict[str, list[str | None]] = {}
    with _gc_paused():
        for name in FIELDS:
            values = [record.get(name) for record in records]
            if set(map(type, values)) <= _TEXT_TYPES:
                columns[name] = values
                continue
            fixed: list[str | None] = []
            for row, value in enumerate(values):
                if value is None or type(value) is str:
                    fixed.append(value)
                    continue
                text, error = _coerce(name, value)
                fixed.append(text)
                if error is not None:
                    type_errors.setdefault(row, []).append(error)
            columns[name] = fixed
        extras: list[str | None] = [None] * len(records)
        for row, record in enumerate(records):
            if record.keys() <= _KNOWN:
                continue
            extra = {
                _RESERVED_METADATA.get(key, key): value
                for key, value in record.items()
                if key not in _KNOWN
            }
            extras[row] = orjson.dumps(
                extra,
                default=_raw_default,
                option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS,
            ).decode()
    frame = pl.DataFrame(
        {**columns, "_extras": extras},
        schema={**dict.fromkeys(FIELDS, pl.String()), "_extras": pl.String()},
    )
    return frame, type_errors


def _decode_lines(
    lines: Sequence[bytes], first_number: int
) -> tuple[list[dict[str, Any]], list[int], list[Reject]]:
    """Event objects with their line numbers, and refusals for lines that are not one.

    Blank lines are not records: records_in = len(objects) + len(rejects).
    """
    objects: list[dict[str, Any]] = []
    numbers: list[int] = []
    rejects: list[Reject] = []
    loads, decode_error = orjson.loads, orjson.JSONDecodeError
    with _gc_paused():
        for number, line in enumerate(lines, start=first_number):
            try:
                value = loads(line)
            except decode_error as error:
                if line.isspace() or not line:
                    continue
                rejects.append(
                    Reject(number, line.decode("utf-8", "replace"), _json_error(line, error))
                )
                continue
            if type(value) is dict:
                objects.append(value)
                numbers.append(number)
                continue
            rejects.append(
                Reject(
                    number,
                    line.decode("utf-8", "replace"),
                    f"line is {_json_kind(value)}, expected one event object {{...}} per line",
                )
            )
    return objects, numbers, rejects


@dataclass
class _Part:
    """The records of one chunk of a JSONL file, as String columns (FIELDS + `_extras`)."""

    frame: pl.DataFrame
    type_errors: dict[int, list[str]]  # by row of `frame`
    numbers: list[int]  # line number of each row
    rejects: list[Reject]
    chunk: bytes
    first_number: int
    _lines: list[bytes] | None = None

    def raw(self, row: int) -> str:
        if self._lines is None:
            self._lines = self.chunk.split(b"\n")
        return self._lines[self.numbers[row] - self.first_number].decode("utf-8", "replace")


def _chunks(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(first line number, bytes) of consecutive whole-line chunks of about _CHUNK_BYTES."""
    position, number, size = 0, 1, len(data)
    if data.endswith(b"\n"):
        size -= 1  # the usual final newline ends the last line, it does not start another
    while position < size:
        end = data.find(b"\n", position + _CHUNK_BYTES, size)
        end = size if end < 0 else end
        chunk = data[position:end]
        yield number, chunk
        number += chunk.count(b"\n") + 1
        position = end + 1


def _slow_part(chunk: bytes, first_number: int) -> _Part:
    objects, numbers, rejects = _decode_lines(chunk.split(b"\n"), first_number)
    frame, type_errors = _frame_from_records(objects)
    return _Part(frame, type_errors, numbers, rejects, chunk, first_number)


def _fast_part(chunk: bytes, first_number: int) -> _Part | None:
    """Polars' native reader for a chunk of clean lines; None sends it to `_slow_part`.

    Polars turns any JSON value into text where a String is asked for, and types keys it
    was not told about by inference, so rows whose values need a closer look (an object,
    array or true/false where text belongs, a non-text column, any unknown key) are decoded
    again with orjson and go through the same code as the slow path: both paths agree.
    """
    if not chunk:
        return None
    try:
        table = pl.read_ndjson(io.BytesIO(chunk), infer_schema_length=None)
    except Exception:  # malformed JSON, invalid UTF-8, a line that is not an object, ...
        return None
    lines_in_chunk = chunk.count(b"\n") + 1
    if table.height != lines_in_chunk:
        return None  # blank lines, which Polars skips, would shift rows against line numbers
    recheck: list[pl.Expr] = []
    columns: list[pl.Expr] = []
    for name in FIELDS:
        dtype = table.schema.get(name)
        if dtype is None or dtype == pl.Null:
            columns.append(pl.lit(None, dtype=pl.String).alias(name))
        elif dtype == pl.String:
            columns.append(pl.col(name))
            recheck.append(pl.col(name).str.contains(_SUSPICIOUS_TEXT))
        elif dtype.is_numeric():
            columns.append(pl.col(name).cast(pl.String))
        else:
            columns.append(pl.lit(None, dtype=pl.String).alias(name))
            recheck.append(pl.col(name).is_not_null())
    recheck += [pl.col(name).is_not_null() for name in table.columns if name not in _KNOWN]
    frame = table.select(*columns, pl.lit(None, dtype=pl.String).alias("_extras"))
    type_errors: dict[int, list[str]] = {}
    if recheck:
        flagged = table.select(pl.any_horizontal(recheck).fill_null(False)).to_series()
        rows = flagged.arg_true().to_list()
        if rows:
            lines = chunk.split(b"\n")
            try:
                records = [orjson.loads(lines[row]) for row in rows]
            except orjson.JSONDecodeError:
                return None
            if not all(type(record) is dict for record in records):
                return None
            exact, exact_errors = _frame_from_records(records)
            index = pl.Series("_i", rows, dtype=pl.UInt32)
            frame = (
                pl.concat(
                    [
                        frame.with_row_index("_i").filter(~pl.col("_i").is_in(index.implode())),
                        exact.insert_column(0, index),
                    ]
                )
                .sort("_i")
                .drop("_i")
            )
            type_errors = {rows[row]: errors for row, errors in exact_errors.items()}
    numbers = list(range(first_number, first_number + lines_in_chunk))
    return _Part(frame, type_errors, numbers, [], chunk, first_number)


def _read_jsonl(
    data: bytes,
) -> tuple[pl.DataFrame, dict[int, list[str]], list[int], Callable[[int], str], list[Reject]]:
    """All event objects of a JSONL file as String columns, in line order, with refusals."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    parts = [_fast_part(chunk, first) or _slow_part(chunk, first) for first, chunk in _chunks(data)]
    starts: list[int] = []
    type_errors: dict[int, list[str]] = {}
    numbers: list[int] = []
    rejects: list[Reject] = []
    for part in parts:
        offset = len(numbers)
        starts.append(offset)
        type_errors.update({offset + row: errors for row, errors in part.type_errors.items()})
        numbers.extend(part.numbers)
        rejects.extend(part.rejects)

    def raw(row: int) -> str:
        index = bisect.bisect_right(starts, row) - 1
        return parts[index].raw(row - starts[index])

    frames = [part.frame for part in parts]
    frame = pl.concat(frames) if frames else _frame_from_records([])[0]
    return frame, type_errors, numbers, raw, rejects


def _json_error(line: bytes, error: orjson.JSONDecodeError) -> str:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as bad:
        return (
            f"line is not valid UTF-8 (byte 0x{line[bad.start]:02x} at position {bad.start}): "
            "send events as UTF-8 JSON"
        )
    return (
        f"line is not valid JSON ({error.msg} at character {error.pos}): "
        "expected one event object per line"
    )


def _frame_from_parquet(
    data: bytes,
) -> tuple[pl.DataFrame, dict[int, list[str]], Callable[[int], str]]:
    try:
        table = pl.read_parquet(io.BytesIO(data))
    except Exception as error:
        raise ValueError(f"not a readable Parquet file: {error}") from error
    type_errors: dict[int, list[str]] = {}
    columns: list[pl.Series] = []
    for name in FIELDS:
        if name not in table.columns:
            columns.append(pl.Series(name, [None] * table.height, dtype=pl.String))
            continue
        column = table.get_column(name)
        text = _parquet_text(column, name, type_errors)
        columns.append(text.alias(name))
    extra_names = [name for name in table.columns if name not in _KNOWN]
    extras: list[str | None] = [None] * table.height
    if extra_names:
        present = table.select(pl.any_horizontal(pl.col(extra_names).is_not_null()))
        rows = present.to_series().arg_true().to_list()
        chosen = table[rows].select(extra_names).iter_rows(named=True)
        for row, values in zip(rows, chosen, strict=True):
            kept = {
                _RESERVED_METADATA.get(key, key): value
                for key, value in values.items()
                if value is not None
            }
            extras[row] = orjson.dumps(kept, default=str, option=orjson.OPT_SORT_KEYS).decode()
    columns.append(pl.Series("_extras", extras, dtype=pl.String))

    def raw(row: int) -> str:
        return orjson.dumps(table.row(row, named=True), default=str).decode()

    return pl.DataFrame(columns), type_errors, raw


def _parquet_text(column: pl.Series, name: str, errors: dict[int, list[str]]) -> pl.Series:
    """A Parquet column as text the way the JSON path would see it; refusals into `errors`."""
    dtype = column.dtype
    if isinstance(dtype, pl.Datetime):
        zone = "%:z" if dtype.time_zone is not None else ""  # naive: refused as zone-less
        return column.dt.to_string(f"%Y-%m-%dT%H:%M:%S%.f{zone}")
    if dtype == pl.String:
        return column
    if isinstance(dtype, pl.Categorical | pl.Enum) or dtype.is_integer() or dtype.is_decimal():
        return column.cast(pl.String)
    if dtype.is_float():  # as in JSON: a number is taken as its text; "12.0" is whole
        return column.cast(pl.String)
    _column_type_errors(column, name, errors)
    return pl.Series(name, [None] * column.len(), dtype=pl.String)


def _column_type_errors(column: pl.Series, name: str, errors: dict[int, list[str]]) -> None:
    for row in column.is_not_null().arg_true().to_list():
        errors.setdefault(row, []).append(
            f"{name} must be {_expected(name)}, got a Parquet {column.dtype} value"
        )


# ---------------------------------------------------------------------------------------
# Validation and shaping: vectorized over the batch
# ---------------------------------------------------------------------------------------


def _shown(column: str) -> pl.Expr:
    value = pl.col(column)
    return (
        pl.when(value.str.len_chars() > _SHOWN)
        .then(value.str.slice(0, _SHOWN) + "…")
        .otherwise(value)
    )


def _problem(condition: pl.Expr, template: str, *values: pl.Expr) -> pl.Expr:
    return pl.when(condition).then(pl.format(template, *values) if values else pl.lit(template))


# Built once: expressions are immutable, and building them cost more than running them on
# the write API's batches of a hundred events.
@functools.cache
def _reason() -> pl.Expr:
    """Every refusal of a row, `; `-separated; empty when it passes."""
    return pl.concat_str(
        [pl.col("_type_error"), *_checks()], separator="; ", ignore_nulls=True
    ).alias("_reason")


def _checks() -> list[pl.Expr]:
    c = pl.col
    checks: list[pl.Expr] = [
        _problem(
            c(name).is_null()
            & ~c("_type_error").fill_null("").str.contains(f"(?:^|; ){name} ", literal=False),
            f"{name} is missing (required)",
        )
        for name in REQUIRED
    ]
    checks += [
        _problem(
            c("event_id").is_not_null() & ~c("_id").str.contains(_UUID),
            "event_id '{}' is not a UUID (expected 8-4-4-4-12 hex digits)",
            _shown("event_id"),
        ),
        _problem(
            c("occurred_at").is_not_null() & c("created_at").is_null() & c("_naive_ts"),
            "occurred_at '{}' has no time zone: expected ISO-8601 with an offset or Z, "
            "e.g. 2026-11-25T14:03:12Z",
            _shown("occurred_at"),
        ),
        _problem(
            c("occurred_at").is_not_null() & c("created_at").is_null() & ~c("_naive_ts"),
            "occurred_at '{}' is not an ISO-8601 date-time with zone, "
            "e.g. 2026-11-25T14:03:12.345-03:00",
            _shown("occurred_at"),
        ),
        _problem(
            c("created_at").is_not_null() & ~c("created_at").dt.year().is_between(2000, 2099),
            "occurred_at '{}' is outside 2000-2099",
            _shown("occurred_at"),
        ),
        _problem(
            c("ip").is_not_null() & c("ip_error").is_not_null(),
            "ip '{}' {}",
            _shown("ip"),
            c("ip_error"),
        ),
        _problem(
            c("page_url").is_not_null() & ~c("page_url").str.contains(r"(?i)^https?://[^\s/]+"),
            "page_url '{}' is not an absolute http(s) URL",
            _shown("page_url"),
        ),
        _problem(
            c("visit_duration").is_not_null()
            & ~c("visit_duration").str.contains(r"^-?\d+(?:\.0*)?$"),
            "visit_duration '{}' is not a whole number of seconds",
            _shown("visit_duration"),
        ),
        _problem(
            c("_duration").is_not_null() & ~c("_duration").is_between(0, _INT4_MAX),
            "visit_duration '{}' must be between 0 and {} seconds",
            _shown("visit_duration"),
            pl.lit(_INT4_MAX),
        ),
        _problem(
            c("event_type").is_not_null() & ~c("event_type").is_in(EVENT_TYPES),
            f"event_type '{{}}' is not one of {', '.join(EVENT_TYPES)}",
            _shown("event_type"),
        ),
        _problem(
            c("conversion_value").is_not_null() & ~c("conversion_value").str.contains(_DECIMAL),
            "conversion_value '{}' is not a non-negative number (use a dot for decimals)",
            _shown("conversion_value"),
        ),
        _problem(
            c("_value_f") > MAX_CONVERSION_VALUE,
            "conversion_value '{}' exceeds {}",
            _shown("conversion_value"),
            pl.lit(MAX_CONVERSION_VALUE),
        ),
        _problem(
            c("currency").is_not_null() & ~c("currency").str.contains(r"^[A-Za-z]{3}$"),
            "currency '{}' is not an ISO-4217 code such as BRL",
            _shown("currency"),
        ),
    ]
    for name, limit in TEXT_LIMITS.items():
        if limit is not None:
            checks.append(
                _problem(
                    c(name).str.len_chars() > limit,
                    f"{name} has {{}} characters, at most {limit} fit: '{{}}'",
                    c(name).str.len_chars(),
                    _shown(name),
                )
            )
    return checks


@functools.cache
def _metadata(enriched: bool) -> pl.Expr:
    c = pl.col
    fixed = (
        pl.struct(c("event_type"), c("visitor_id"), c("event_name"), c("currency"))
        .struct.json_encode()
        .str.replace_all(r',"(?:visitor_id|event_name|currency)":null', "")
    )
    parts = [
        fixed.str.strip_suffix("}"),
        pl.when(c("_value").is_not_null()).then(
            pl.lit(',"conversion_value":') + c("_value").cast(pl.String)
        ),
    ]
    if enriched:
        parts.append(
            pl.when(c("is_bot")).then(pl.lit(',"is_bot":true')).otherwise(pl.lit(',"is_bot":false'))
        )
    body = pl.concat_str([*parts, pl.lit("}")], ignore_nulls=True)
    return (
        pl.when(c("_extras").is_not_null())
        .then(
            pl.concat_str(
                [c("_extras").str.strip_suffix("}"), pl.lit(","), body.str.strip_prefix("{")]
            )
        )
        .otherwise(body)
    )


def _validate(
    frame: pl.DataFrame,
    type_errors: dict[int, list[str]],
    record_numbers: Sequence[int] | None,
    raw_of: Callable[[int], str],
    rejects: list[Reject],
) -> pl.DataFrame:
    """The rows that pass every check; each other row goes to `rejects` with its reasons."""
    c = pl.col
    frame = frame.with_columns(
        pl.when(c(name).str.strip_chars().str.len_bytes() > 0).then(c(name).str.strip_chars())
        for name in FIELDS
    ).with_row_index("_row")
    if type_errors:
        frame = frame.with_columns(
            pl.Series(
                "_type_error",
                ["; ".join(type_errors.get(row, [])) or None for row in range(frame.height)],
                dtype=pl.String,
            )
        )
    else:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("_type_error"))

    with_offset = c("occurred_at").str.replace(r"[zZ]$", "+00:00")
    spelled_out = with_offset.str.replace(r"^(\d{4}-\d{2}-\d{2})[ t]", "${1}T")
    frame = frame.join(
        ip_table(frame.get_column("ip")),
        on="ip",
        how="left",
        nulls_equal=True,
        maintain_order="left",
    )
    frame = frame.with_columns(
        c("event_id").str.to_lowercase().alias("_id"),
        with_offset.str.to_datetime(_TS_FORMAT, strict=False, time_zone="UTC").alias("created_at"),
        c("visit_duration").cast(pl.Float64, strict=False).alias("_duration"),
        c("conversion_value").cast(pl.Decimal(12, 2), strict=False).alias("_value"),
        c("conversion_value").cast(pl.Float64, strict=False).alias("_value_f"),
        c("event_type").str.to_lowercase().fill_null("pageview"),
        c("currency").str.to_uppercase(),
    )
    unparsed = c("occurred_at").is_not_null() & c("created_at").is_null()
    naive: pl.Expr = pl.lit(False)
    if frame.select(unparsed.any()).item():  # rare: a space for the T, or no zone at all
        frame = frame.with_columns(
            c("created_at").fill_null(
                spelled_out.str.to_datetime(_TS_FORMAT, strict=False, time_zone="UTC")
            )
        )
        naive = unparsed & spelled_out.str.to_datetime(_TS_NAIVE, strict=False).is_not_null()
    frame = (
        frame.lazy()
        .with_columns(naive.alias("_naive_ts"))
        .with_columns(_reason())
        .with_columns(pl.col("_reason").replace("", None))
        .collect()
    )

    refused = frame.filter(c("_reason").is_not_null()).select("_row", "_reason")
    accepted = frame.filter(c("_reason").is_null())

    # One event id, one time: the same id at another time would be a second row.
    if accepted.get_column("_id").n_unique() < accepted.height:
        first = accepted.with_columns(
            c("created_at").first().over("_id").alias("_first_at"),
            c("_row").first().over("_id").alias("_first_row"),
            c("occurred_at").first().over("_id").alias("_first_text"),
        )
        clash = first.filter(c("created_at") != c("_first_at"))
        if clash.height:
            numbers = clash.get_column("_first_row").to_list()
            shown = [
                record_numbers[row] if record_numbers is not None else row + 1 for row in numbers
            ]
            clash = clash.with_columns(
                pl.format(
                    "event_id '{}' already came with occurred_at '{}' (record {}): "
                    "an event has one time",
                    c("_id"),
                    c("_first_text"),
                    pl.Series(shown, dtype=pl.Int64),
                ).alias("_reason")
            )
            refused = pl.concat([refused, clash.select("_row", "_reason")])
            accepted = first.filter(c("created_at") == c("_first_at")).drop(
                "_first_at", "_first_row", "_first_text"
            )

    for row, reason in refused.sort("_row").iter_rows():
        number = record_numbers[row] if record_numbers is not None else row + 1
        rejects.append(Reject(number, raw_of(row), reason))
    rejects.sort(key=lambda reject: reject.record_number or 0)
    return accepted


def _build(
    frame: pl.DataFrame,
    type_errors: dict[int, list[str]],
    record_numbers: Sequence[int] | None,
    raw_of: Callable[[int], str],
    rejects: list[Reject],
    records_in: int,
    context: ParseContext | None,
    *,
    enrich: bool,
    geoip: GeoIp | None,
) -> Parsed:
    c = pl.col
    reporting_currency = context.reporting_currency if context else "BRL"
    accepted = _validate(frame, type_errors, record_numbers, raw_of, rejects)
    accepted = accepted.with_columns(
        pl.when(c("_value").is_not_null())
        .then(c("currency").fill_null(reporting_currency))
        .otherwise(c("currency"))
    )
    enriched = enrich_events(accepted, enabled=enrich, geoip=geoip)
    table = enriched.select(
        c("_id").alias("id"),
        c("session_id"),
        c("ip_address"),
        c("ip_version"),
        c("country"),
        c("region"),
        c("city"),
        c("latitude"),
        c("longitude"),
        c("asn"),
        c("isp"),
        c("user_agent"),
        c("browser"),
        c("browser_version"),
        c("os"),
        c("os_version"),
        c("device_type"),
        c("device_brand"),
        c("device_model"),
        c("screen_resolution"),
        c("referrer"),
        c("utm_source"),
        c("utm_medium"),
        c("utm_campaign"),
        c("utm_term"),
        c("utm_content"),
        c("gclid"),
        c("fbclid"),
        c("page_url"),
        c("page_title"),
        c("_duration").fill_null(0).cast(pl.Int32).alias("visit_duration"),
        _metadata(enrich).alias("metadata"),
        c("created_at"),
        c("_id").alias("source_record_id"),
    ).cast(VISITOR_TRACKING_SCHEMA)  # type: ignore[arg-type]
    created = table.get_column("created_at")
    return Parsed(
        records_in=records_in,
        tables={TABLE: table},
        rejects=rejects,
        min_event_at=created.min() if table.height else None,  # type: ignore[arg-type]
        max_event_at=created.max() if table.height else None,  # type: ignore[arg-type]
    )


# ---------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------


def parse_file(
    data: bytes,
    file_name: str,
    context: ParseContext | None = None,
    *,
    enrich: bool = True,
    geoip: GeoIp | None = None,
) -> Parsed:
    """Parse one landing file: JSONL or Parquet by its name, gzip by its magic bytes.

    The loader may hand over a `.jsonl.gz` file already decompressed, under its own name.
    """
    lower = file_name.lower().removesuffix(".gz")
    if data.startswith(_GZIP_MAGIC):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise ValueError(f"{file_name} is not a complete gzip file: {error}") from error
    if lower.endswith(".parquet"):
        frame, type_errors, raw = _frame_from_parquet(data)
        return _build(
            frame, type_errors, None, raw, [], frame.height, context, enrich=enrich, geoip=geoip
        )
    if not (lower.endswith(".jsonl") or lower.endswith(".json") or lower.endswith(".ndjson")):
        raise ValueError(f"{file_name}: tracking files are .jsonl, .jsonl.gz or .parquet")
    frame, type_errors, numbers, raw, rejects = _read_jsonl(data)
    return _build(
        frame,
        type_errors,
        numbers,
        raw,
        rejects,
        len(numbers) + len(rejects),
        context,
        enrich=enrich,
        geoip=geoip,
    )


def _records_of(
    events: Sequence[Mapping[Any, Any]],
) -> tuple[list[Mapping[str, Any]], list[int], list[Reject]]:
    """(the events that are objects, their 1-based positions, refusals of the others)."""
    records: list[Mapping[str, Any]] = []
    rejects: list[Reject] = []
    positions: list[int] = []
    for position, event in enumerate(events, start=1):
        if not isinstance(event, Mapping):
            rejects.append(
                Reject(position, repr(event), f"record is {_json_kind(event)}, expected an object")
            )
            continue
        if any(type(key) is not str for key in event):
            try:
                event = {
                    (key.decode("utf-8") if isinstance(key, bytes) else str(key)): value
                    for key, value in event.items()
                }
            except UnicodeDecodeError:
                rejects.append(Reject(position, repr(event), "a field name is not valid UTF-8"))
                continue
        records.append(event)
        positions.append(position)
    return records, positions, rejects


def _raw_of(records: Sequence[Mapping[str, Any]]) -> Callable[[int], str]:
    def raw(row: int) -> str:
        try:
            return orjson.dumps(
                records[row], default=_raw_default, option=orjson.OPT_NON_STR_KEYS
            ).decode()
        except TypeError:
            return repr(records[row])

    return raw


def parse_events(
    events: Sequence[Mapping[Any, Any]],
    context: ParseContext | None = None,
    *,
    enrich: bool = True,
    geoip: GeoIp | None = None,
) -> Parsed:
    """Parse already-decoded events (stream entries, API bodies) like the lines of a file.

    Record numbers are 1-based positions in `events`; keys and values may be `bytes` (as a
    Redis client returns them) and are read as UTF-8.
    """
    records, positions, rejects = _records_of(events)
    frame, type_errors = _frame_from_records(records)
    return _build(
        frame,
        type_errors,
        positions,
        _raw_of(records),
        rejects,
        len(events),
        context,
        enrich=enrich,
        geoip=geoip,
    )


def refusals(events: Sequence[Mapping[Any, Any]]) -> list[Reject]:
    """What `parse_events` would refuse of `events`, by the same checks, without building the
    rows it would load (the write API's check before it queues a batch)."""
    records, positions, rejects = _records_of(events)
    frame, type_errors = _frame_from_records(records)
    _validate(frame, type_errors, positions, _raw_of(records), rejects)
    return rejects


def _raw_default(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


class TrackingSource:
    """The `tracking` landing source (see the module docstring for the format)."""

    name: str = NAME
    file_patterns: tuple[str, ...] = ("*.jsonl", "*.jsonl.gz", "*.parquet")
    primary: Target = Target(TABLE, ("source_record_id", "created_at"), "insert_new")
    secondary: tuple[Target, ...] = ()
    derived_sql: tuple[str, ...] = (SESSIONS_SQL,)
    derived_tables: tuple[str, ...] = ("public.visitor_sessions",)  # what derived_sql writes

    def __init__(self, *, enrich: bool = True, geoip: GeoIp | None = None) -> None:
        self.enrich = enrich
        self.geoip = geoip  # None: the shared bundled databases, loaded on first use

    def parse(self, data: bytes, file_name: str, context: ParseContext) -> Parsed:
        return parse_file(data, file_name, context, enrich=self.enrich, geoip=self.geoip)

    def parse_events(
        self, events: Sequence[Mapping[Any, Any]], context: ParseContext | None = None
    ) -> Parsed:
        return parse_events(events, context, enrich=self.enrich, geoip=self.geoip)


SOURCE = TrackingSource()
