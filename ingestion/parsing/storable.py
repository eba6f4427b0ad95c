"""Text PostgreSQL can store: the one rule every input path applies, per record and field.

PostgreSQL text and jsonb refuse the NUL character (U+0000, in jsonb also its escape
`\\u0000`), and UTF-8 cannot hold a lone surrogate (U+D800..U+DFFF, which only a `\\u` escape
in JSON can produce). One such character in a COPY fails the whole statement, so every path
(the landing files, the stream, the write API) refuses the *record* that holds one, with a
reason naming its field, before anything reaches the database:

- `problem(value)` says what is wrong with one string, or None;
- `unstorable(record)` walks a decoded record (its keys too, and nested objects and arrays)
  and gives `(field, reason)` for the first offender, e.g. `("metadata.note", "metadata.note
  contains a NUL character ...")`;
- `in_json_line(text)` applies `unstorable` to one line of JSON Lines;
- `check(field)` is the Polars check (`ingestion.parsing.validate` style) on a String column.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Final

import polars as pl

NUL: Final = "\x00"
NUL_PROBLEM: Final = "contains a NUL character (\\u0000), which PostgreSQL cannot store: remove it"
SURROGATE_PROBLEM: Final = (
    "contains a lone surrogate (an unpaired \\ud800-\\udfff escape), which is not "
    "valid Unicode: send the character itself or a correct pair"
)


def problem(value: str) -> str | None:
    """What makes `value` unstorable, or None when PostgreSQL can store it."""
    if NUL in value:
        return NUL_PROBLEM
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE_PROBLEM
    return None


def _walk(value: object, path: str) -> tuple[str, str] | None:
    if isinstance(value, str):
        found = problem(value)
        return (path, found) if found else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = key if isinstance(key, str) else str(key)
            where = f"{path}.{name}" if path else name
            if (found := problem(name)) is not None:
                return where, f"the field name {found}"
            if (nested := _walk(item, where)) is not None:
                return nested
        return None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if (nested := _walk(item, f"{path}[{index}]")) is not None:
                return nested
    return None


def unstorable(record: object, prefix: str = "") -> tuple[str, str] | None:
    """(field, reason) of the first string in `record` PostgreSQL cannot store, or None.

    The field is a dotted path (`metadata.note`, `tags[2]`) below `prefix`; the reason
    names it: "page_title contains a NUL character ...".
    """
    found = _walk(record, prefix)
    if found is None:
        return None
    field, what = found
    field = field or "the record"
    return field, f"{field} {what}"


def in_json_line(text: str) -> str | None:
    """The reason a line of JSON holds text PostgreSQL cannot store, naming the field; None
    when it holds none (or is not JSON at all: the reader's own reason applies then).

    Only lines with a raw NUL or a `\\u` escape can; they are read leniently (a raw NUL is a
    control character strict JSON refuses, a lone surrogate one orjson refuses) so that the
    reason can name the field.
    """
    if NUL not in text and "\\u" not in text:
        return None
    try:
        record = json.loads(text, strict=False)
    except ValueError:
        return f"the record {NUL_PROBLEM}" if NUL in text else None
    found = unstorable(record)
    return found[1] if found else None


def check(field: str) -> pl.Expr:
    """The reason a String column's value cannot be stored (a NUL), or null.

    Polars strings are valid UTF-8, so a lone surrogate never reaches a frame: `unstorable`
    catches those on the decoded records.
    """
    return pl.when(pl.col(field).str.contains(NUL, literal=True)).then(
        pl.lit(f"{field} {NUL_PROBLEM}")
    )
