"""From decoded tracking events to `public.visitor_tracking` rows: the fields an event has,
the checks each must pass (vectorised over the batch, each refusal with its reason), and the
row an accepted event becomes, enriched (see the `tracking` module docstring for the format).

`validate` keeps the rows that pass and turns the others into `Reject`s; `build` validates,
enriches and shapes the accepted rows into the `Parsed` the loader takes; `finish` enriches
rows `build` shaped without enrichment, as the loader does for the rows it will write.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Final

import polars as pl

from ingestion.enrich import enrich_events, ip_table
from ingestion.enrich.geo import GEO_SCHEMA, GeoIp
from ingestion.enrich.user_agent import USER_AGENT_SCHEMA
from ingestion.parsing import storable
from ingestion.parsing.contract import ParseContext, Parsed, Reject

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
INT_FIELDS: Final = ("visit_duration",)
NUMBER_FIELDS: Final = ("conversion_value",)
_OTHER_TEXT: Final = ("event_id", "occurred_at", "ip", "event_type", "currency")
FIELDS: Final[tuple[str, ...]] = (*_OTHER_TEXT, *TEXT_LIMITS, *INT_FIELDS, *NUMBER_FIELDS)

MAX_CONVERSION_VALUE: Final = 99_999_999.99  # visitor_sessions.conversion_value numeric(10,2)
INT4_MAX: Final = 2_147_483_647

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

_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%z"
_TS_NAIVE = "%Y-%m-%dT%H:%M:%S%.f"
_DECIMAL = r"^\d+(\.\d+)?([eE][+-]?\d+)?$"
_SHOWN = 80  # characters of an offending value quoted in a reason


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
    checks += [storable.check(name) for name in FIELDS]  # a NUL: PostgreSQL cannot store it
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
            c("_duration").is_not_null() & ~c("_duration").is_between(0, INT4_MAX),
            "visit_duration '{}' must be between 0 and {} seconds",
            _shown("visit_duration"),
            pl.lit(INT4_MAX),
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


def validate(
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


def finish(table: pl.DataFrame, *, geoip: GeoIp | None) -> pl.DataFrame:
    """Rows `build` made with enrichment off, as it makes them with enrichment on: the
    enriched columns filled and `is_bot` last in `metadata` (which always ends with "}")."""
    c = pl.col
    enriched = enrich_events(table, enabled=True, geoip=geoip)
    return enriched.with_columns(
        pl.concat_str(
            c("metadata").str.strip_suffix("}"),
            pl.when(c("is_bot"))
            .then(pl.lit(',"is_bot":true}'))
            .otherwise(pl.lit(',"is_bot":false}')),
        ).alias("metadata")
    ).select(list(VISITOR_TRACKING_SCHEMA))


def build(
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
    accepted = validate(frame, type_errors, record_numbers, raw_of, rejects)
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
