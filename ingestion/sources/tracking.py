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
false)`. With enrichment off those columns are NULL and `is_bot` is absent. The loader
enriches only the rows whose key is not stored yet (`parse_unfinished`, then `finish`), so
a re-delivered file costs no enrichment.

Rejects (to `raw.quarantine` by the loader), each with a reason naming the field, the value
and what was expected: a line that is not valid UTF-8 or not a JSON object; a required
field missing; a value of the wrong JSON type; a malformed UUID, timestamp (or one without
zone), IP or URL; text longer than its column; a negative or fractional duration; an
unknown event_type; a NUL or a lone surrogate in any field, unknown ones included
(`ingestion.parsing.storable`); an event_id repeated in the batch with a different
occurred_at (the key includes the time, so it would land twice). Blank lines are not
records. The same event_id and occurred_at twice is not refused: the loader counts the
second as a duplicate.

Sessions (`derived_sql`, in `tracking_sessions`, run by the loader after the merge with
`:batch_id`): for each session_id that got rows in the batch, recomputed from all its events
in visitor_tracking: first/last_visit_at = first/last event; total_visits = page views;
pages_visited = distinct page_url among them; total_duration = sum of visit_duration;
conversion_events = events of type `conversion`, is_converted when there is one,
conversion_value = the sum of their values (NULL when none has one); visitor_id = the first
one sent; metadata = landing_page, exit_page, events (all types) and is_bot (any event from
a bot). `INSERT ... ON CONFLICT (session_id) DO UPDATE` only where something changed, so a
session spanning two files ends right in either load order and a re-run changes nothing. It
relies on every visitor_tracking row arriving through a batch (the stream and the API go
through the loader too).

Output: one frame for `public.visitor_tracking` with its column names and these dtypes:
`id`, `source_record_id` String (UUID text); `created_at` Datetime(us, UTC); `ip_version`,
`visit_duration` Int32; `latitude` Decimal(10, 8); `longitude` Decimal(11, 8); `metadata`
String holding a JSON object; everything else String. `ingest_batch_id` is left to the
loader, which stamps it.

This module decodes (file bytes or already-decoded events into one String column per field)
and is the source; the checks and the row shape are in `tracking_rows`.
"""

from __future__ import annotations

import bisect
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

from ingestion.enrich.geo import GeoIp
from ingestion.parsing import storable
from ingestion.parsing.contract import ParseContext, Parsed, Reject, Target
from ingestion.sources.tracking_rows import (
    FIELDS,
    INT_FIELDS,
    NUMBER_FIELDS,
    TABLE,
    build,
    finish,
    validate,
)
from ingestion.sources.tracking_sessions import SESSIONS_SQL

NAME: Final = "tracking"
_KNOWN: Final = frozenset(FIELDS)
_RESERVED_METADATA: Final = {"is_bot": "client_is_bot"}
_TEXT_TYPES: Final = frozenset({str, type(None)})
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
    if name in INT_FIELDS:
        return "a whole number"
    if name in NUMBER_FIELDS:
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
            extras[row] = _extras_json(extra, row, type_errors, default=_raw_default)
    schema = {**dict.fromkeys(FIELDS, pl.String()), "_extras": pl.String()}
    try:
        frame = pl.DataFrame({**columns, "_extras": extras}, schema=schema)
    except UnicodeEncodeError:  # a lone surrogate (from a JSON \u escape): refuse its record
        for name in FIELDS:
            column = columns[name]
            for row, value in enumerate(column):
                if value is not None and (problem := storable.problem(value)) is not None:
                    column[row] = None
                    type_errors.setdefault(row, []).append(f"{name} {problem}")
        frame = pl.DataFrame({**columns, "_extras": extras}, schema=schema)
    return frame, type_errors


def _extras_json(
    extra: Mapping[str, Any],
    row: int,
    type_errors: dict[int, list[str]],
    *,
    default: Callable[[Any], Any],
) -> str | None:
    """The unknown fields of a record as the JSON text kept in `metadata`; None, with a
    refusal naming the field, when PostgreSQL could not store them (jsonb refuses \\u0000)."""
    try:
        text = orjson.dumps(
            extra, default=default, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
        ).decode()
    except orjson.JSONEncodeError as error:  # a lone surrogate, nesting orjson refuses, ...
        found = storable.unstorable(extra)
        reason = found[1] if found else f"{', '.join(map(str, extra))} cannot be kept: {error}"
        type_errors.setdefault(row, []).append(reason)
        return None
    if "\\u0000" in text or text.count("[") + text.count("{") > storable.MAX_DEPTH:
        found = storable.unstorable(extra)
        if found is not None:
            type_errors.setdefault(row, []).append(found[1])
            return None
    return text


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
                text = line.decode("utf-8", "replace")
                reason = storable.in_json_line(text) or _json_error(line, error)
                rejects.append(Reject(number, text, reason))
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
            extras[row] = _extras_json(kept, row, type_errors, default=str)
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
        return build(
            frame, type_errors, None, raw, [], frame.height, context, enrich=enrich, geoip=geoip
        )
    if not (lower.endswith(".jsonl") or lower.endswith(".json") or lower.endswith(".ndjson")):
        raise ValueError(f"{file_name}: tracking files are .jsonl, .jsonl.gz or .parquet")
    frame, type_errors, numbers, raw, rejects = _read_jsonl(data)
    return build(
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
    return build(
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
    validate(frame, type_errors, positions, _raw_of(records), rejects)
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

    def parse_unfinished(self, data: bytes, file_name: str, context: ParseContext) -> Parsed:
        return parse_file(data, file_name, context, enrich=False, geoip=self.geoip)

    def finish(self, table: str, frame: pl.DataFrame) -> pl.DataFrame:
        return finish(frame, geoip=self.geoip) if self.enrich else frame


SOURCE = TrackingSource()
