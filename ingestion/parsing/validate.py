"""Validation shared by the sources: Polars checks that give a reason a person can act on.

A *check* is a Polars expression over the string columns of a freshly read file (see
`ingestion.parsing.records`) that evaluates, per row, to a reason or to null when the value
passes. Every reason names the field, shows the bad value, and says what is expected. Checks
on a field pass its nulls (an empty CSV cell, an absent or null JSON key); `required` is the
check for presence. `split_valid` runs a list of checks, turns the failing rows into
`Reject`s and keeps the rest.

The allowed values of enumerations and the maximum lengths of strings are read from the
table definitions in `core.db.schema` (the seed's CHECKs and column types), never
retyped, so a schema change carries over to validation.

Conversions (`as_timestamp`, `as_decimal`, ...) turn the checked strings into typed columns.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from functools import cache

import polars as pl
from sqlalchemy import CheckConstraint, Numeric, String, Table

from core.db import schema
from ingestion.parsing.contract import ParseContext, Reject

RECORD = "_record"  # the record's line (or row) number in the file
RAW = "_raw"  # the record as it arrived
PROBLEMS = "_problems"  # reasons found while reading (e.g. a JSON number where text belongs)
SHOWN_CHARS = 60  # longest value quoted in a reason; longer ones are cut with "..."

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
UUID_EXAMPLE = "0b5f4c1e-8d4a-4c3e-9f59-2f7a3b1c9d10"
_DATE = r"\d{4}-\d{2}-\d{2}"
# ISO-8601 date-times with a zone: 2026-01-31T14:05:00Z, ...T14:05:00.123-03:00, ...T14:05+0530.
# A space may stand for the T (RFC 3339 allows it).
_DATETIME = rf"^{_DATE}[T ]\d{{2}}:\d{{2}}(:\d{{2}}(\.\d{{1,9}})?)?"
_ZONE = r"(Z|z|[+-]\d{2}(:?\d{2})?)$"
_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%z"
TIMESTAMP_EXAMPLE = "2026-01-31T14:05:00Z"


# --- what the schema says -------------------------------------------------------------


def table(name: str) -> Table:
    """The schema's Table for `public.x`, `x` or `raw.x`."""
    key = name.removeprefix("public.")
    try:
        return schema.metadata.tables[key]
    except KeyError:
        raise LookupError(f"no table {name} in core.db.schema") from None


@cache
def allowed_values(table_name: str, column: str) -> tuple[str, ...]:
    """The values a `column IN (...)` CHECK of the table allows, in the schema's order."""
    pattern = re.compile(rf"^\s*\(?\s*{re.escape(column)}\s+IN\s*\((.*)\)\s*\)?\s*$", re.I | re.S)
    for constraint in table(table_name).constraints:
        if isinstance(constraint, CheckConstraint):
            match = pattern.match(str(constraint.sqltext))
            if match:
                return tuple(v.strip().strip("'") for v in match.group(1).split(","))
    raise LookupError(f"{table_name}.{column} has no CHECK listing its allowed values")


def max_length(table_name: str, column: str) -> int:
    """The declared length of a varchar/char column."""
    column_type = table(table_name).c[column].type
    if not isinstance(column_type, String) or column_type.length is None:
        raise LookupError(f"{table_name}.{column} has no declared length")
    return int(column_type.length)


def numeric_shape(table_name: str, column: str) -> tuple[int, int]:
    """(precision, scale) of a numeric column."""
    column_type = table(table_name).c[column].type
    if not isinstance(column_type, Numeric) or column_type.precision is None:
        raise LookupError(f"{table_name}.{column} is not a numeric(p, s) column")
    return int(column_type.precision), int(column_type.scale or 0)


# --- checks: each gives a reason or null ------------------------------------------------


def shown(field: str) -> pl.Expr:
    """The value as quoted in a reason: cut after SHOWN_CHARS characters."""
    value = pl.col(field)
    return (
        pl.when(value.str.len_chars() > SHOWN_CHARS)
        .then(value.str.slice(0, SHOWN_CHARS - 3) + "...")
        .otherwise(value)
    )


def says(field: str, rest: str) -> pl.Expr:
    """The reason "<field> '<value>' <rest>" for the current row."""
    return pl.format(f"{field} '{{}}' " + rest.replace("{", "{{").replace("}", "}}"), shown(field))


def required(field: str) -> pl.Expr:
    return pl.when(pl.col(field).is_null()).then(pl.lit(f"{field} is missing: it is required"))


def uuid(field: str) -> pl.Expr:
    bad = ~pl.col(field).str.contains(UUID_PATTERN)
    return pl.when(bad).then(says(field, f"is not a UUID: expected one like {UUID_EXAMPLE}"))


def known(field: str, ids: Collection[str], what: str) -> pl.Expr:
    """The (lower-cased) id is one of `ids`; only judged when it looks like a UUID."""
    value = pl.col(field)
    known_ids = pl.Series(f"known_{what}", list(ids), dtype=pl.String).implode()
    bad = value.str.contains(UUID_PATTERN) & ~value.str.to_lowercase().is_in(known_ids)
    return pl.when(bad).then(says(field, f"is not a known {what}"))


def tenant_and_user(context: ParseContext) -> list[pl.Expr]:
    """`tenant_id` and `user_id` are UUIDs of a tenant and a user the database knows."""
    return [
        uuid("tenant_id"),
        known("tenant_id", context.known_tenant_ids, "tenant"),
        uuid("user_id"),
        known("user_id", context.known_user_ids, "user"),
    ]


def one_of(field: str, values: Sequence[str]) -> pl.Expr:
    bad = ~pl.col(field).is_in(pl.Series(values, dtype=pl.String).implode())
    listed = ", ".join(values)
    return pl.when(bad).then(says(field, f"is not allowed: expected one of {listed}"))


def longest(field: str, limit: int) -> pl.Expr:
    length = pl.col(field).str.len_chars()
    message = pl.format(
        f"{field} '{{}}' is {{}} characters long: at most {limit} allowed", shown(field), length
    )
    return pl.when(length > limit).then(message)


def text_fits(table_name: str, field: str, column: str | None = None) -> pl.Expr:
    """The value fits the varchar length of `column` (default: the field's name)."""
    return longest(field, max_length(table_name, column or field))


def decimal(
    field: str,
    precision: int,
    scale: int,
    *,
    minimum: float | None = None,
    above: float | None = None,
    maximum: float | None = None,
) -> pl.Expr:
    """A decimal number written with a dot, at most `scale` decimals, `precision` digits.

    `minimum` (inclusive), `above` (exclusive) and `maximum` (inclusive) bound the value.
    """
    value = pl.col(field)
    number = value.str.contains(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
    comma = value.str.contains(r"^[+-]?\d{1,3}(\.\d{3})*,\d+$|^[+-]?\d+,\d+$")
    integer_digits = value.str.replace(r"^[+-]?0*", "").str.replace(r"\..*$", "").str.len_chars()
    decimals = value.str.replace(r"^[^.]*\.?", "").str.len_chars()
    as_float = value.cast(pl.Float64, strict=False)
    whole = precision - scale
    reason = (
        pl.when(comma)
        .then(
            says(
                field,
                "is not a number: use a dot as the decimal separator and no thousands "
                "separator (like 1234.50)",
            )
        )
        .when(~number)
        .then(says(field, "is not a number: expected digits with an optional dot, like 1234.50"))
        .when(decimals > scale)
        .then(says(field, f"has more than {scale} decimal places"))
        .when(integer_digits > whole)
        .then(says(field, f"is too large: at most {whole} digits before the decimal point"))
    )
    if minimum is not None:
        reason = reason.when(as_float < minimum).then(says(field, f"must be at least {minimum:g}"))
    if above is not None:
        reason = reason.when(as_float <= above).then(says(field, f"must be greater than {above:g}"))
    if maximum is not None:
        reason = reason.when(as_float > maximum).then(says(field, f"must be at most {maximum:g}"))
    return pl.when(value.is_not_null()).then(reason)


def numeric(
    table_name: str,
    field: str,
    column: str | None = None,
    *,
    minimum: float | None = None,
    above: float | None = None,
    maximum: float | None = None,
) -> pl.Expr:
    """`decimal` with the precision and scale of a numeric column."""
    precision, scale = numeric_shape(table_name, column or field)
    return decimal(field, precision, scale, minimum=minimum, above=above, maximum=maximum)


def integer(field: str, *, minimum: int | None = None, maximum: int = 2**31 - 1) -> pl.Expr:
    """A whole number (an int4 column unless `maximum` says otherwise)."""
    value = pl.col(field)
    as_int = value.cast(pl.Int64, strict=False)
    reason = (
        pl.when(~value.str.contains(r"^[+-]?\d{1,18}$"))
        .then(says(field, "is not a whole number"))
        .when(as_int > maximum)
        .then(says(field, f"is too large: at most {maximum}"))
    )
    if minimum is not None:
        reason = reason.when(as_int < minimum).then(says(field, f"must be at least {minimum}"))
    return pl.when(value.is_not_null()).then(reason)


def _normalized_timestamp(field: str) -> pl.Expr:
    return (
        pl.col(field)
        .str.replace(r"^(\d{4}-\d{2}-\d{2}) ", "${1}T")
        .str.replace(r"(T\d{2}:\d{2})([Zz+-])", "${1}:00${2}")
        .str.replace(r"[Zz]$", "+00:00")
        .str.replace(r"([+-]\d{2})$", "${1}:00")
    )


def as_timestamp(field: str) -> pl.Expr:
    """The field as a UTC timestamp (null where `timestamp` would give a reason)."""
    return _normalized_timestamp(field).str.to_datetime(
        _TIMESTAMP_FORMAT, time_zone="UTC", time_unit="us", strict=False
    )


def timestamp(field: str) -> pl.Expr:
    """An ISO-8601 date-time with a time zone (Z or an offset)."""
    value = pl.col(field)
    shaped = value.str.contains(_DATETIME + _ZONE)
    zoneless = value.str.contains(_DATETIME + "$")
    reason = (
        pl.when(zoneless)
        .then(says(field, "has no time zone: add Z (UTC) or an offset like -03:00"))
        .when(~shaped | as_timestamp(field).is_null())
        .then(
            says(
                field,
                "is not an ISO-8601 date-time with a time zone: expected one like "
                + TIMESTAMP_EXAMPLE,
            )
        )
    )
    return pl.when(value.is_not_null()).then(reason)


def as_date(field: str) -> pl.Expr:
    return pl.col(field).str.to_date("%Y-%m-%d", strict=False)


def date(field: str) -> pl.Expr:
    value = pl.col(field)
    bad = ~value.str.contains(rf"^{_DATE}$") | as_date(field).is_null()
    return pl.when(bad).then(says(field, "is not a date: expected YYYY-MM-DD like 2026-01-31"))


def currency(field: str) -> pl.Expr:
    bad = ~pl.col(field).str.contains(r"^[A-Z]{3}$")
    return pl.when(bad).then(says(field, "is not an ISO 4217 currency code: expected one like BRL"))


def _ip_problem(value: str) -> str | None:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return "bad"
    return None


def ip_address(field: str) -> pl.Expr:
    bad = pl.col(field).map_elements(_ip_problem, return_dtype=pl.String).is_not_null()
    return pl.when(bad).then(says(field, "is not an IPv4 or IPv6 address"))


def not_before(field: str, earlier: str) -> pl.Expr:
    """Timestamp `field` is not before timestamp `earlier` (both checked separately)."""
    bad = as_timestamp(field) < as_timestamp(earlier)
    message = pl.format(f"{field} '{{}}' is before {earlier} '{{}}'", shown(field), shown(earlier))
    return pl.when(bad).then(message)


# --- conversions ------------------------------------------------------------------------


def as_uuid(field: str) -> pl.Expr:
    """The canonical (lower-case) text of a checked UUID."""
    return pl.col(field).str.to_lowercase()


def as_decimal(field: str, precision: int, scale: int) -> pl.Expr:
    """A checked decimal (never more than `scale` decimals) as an exact Decimal."""
    return pl.col(field).str.replace(r"^\+", "").cast(pl.Decimal(precision, scale))


def as_numeric(table_name: str, field: str, column: str | None = None) -> pl.Expr:
    precision, scale = numeric_shape(table_name, column or field)
    return as_decimal(field, precision, scale)


def as_int(field: str) -> pl.Expr:
    return pl.col(field).str.replace(r"^\+", "").cast(pl.Int64)


# --- applying checks --------------------------------------------------------------------


def split_valid(
    frame: pl.DataFrame, checks: Iterable[pl.Expr], unreadable: Iterable[Reject] = ()
) -> tuple[pl.DataFrame, list[Reject]]:
    """Rows passing every check, and a Reject per failing row with all its reasons.

    `frame` carries `_record` and `_raw` (and optionally `_problems`, reasons found while
    reading); they are dropped from the rows returned. `unreadable` (the reader's rejects)
    join the result, which is ordered by record number.
    """
    reasons = list(checks)
    if PROBLEMS in frame.columns:
        reasons.insert(0, pl.col(PROBLEMS))
    meta = [c for c in (RECORD, RAW, PROBLEMS) if c in frame.columns]
    rejects = list(unreadable)
    if not reasons:
        return frame.drop(meta), rejects
    judged = frame.with_columns(
        pl.concat_str(reasons, separator="; ", ignore_nulls=True).alias("_reason")
    )
    failing = judged.filter(pl.col("_reason") != "")
    rejects += [
        Reject(record_number=number, raw_record=raw, reason=reason)
        for number, raw, reason in failing.select(RECORD, RAW, "_reason").iter_rows()
    ]
    rejects.sort(key=lambda reject: reject.record_number or 0)
    passing = judged.filter(pl.col("_reason") == "").drop([*meta, "_reason"])
    return passing, rejects


def event_range(frame: pl.DataFrame, column: str) -> tuple[datetime | None, datetime | None]:
    """(earliest, latest) of a timestamp column, for the ledger; (None, None) when empty."""
    if frame.height == 0:
        return None, None
    low, high = frame.select(
        pl.col(column).min().alias("low"), pl.col(column).max().alias("high")
    ).row(0)
    return low, high
