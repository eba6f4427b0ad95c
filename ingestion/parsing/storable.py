"""Text PostgreSQL can store: the one rule every input path applies, per record and field.

PostgreSQL text and jsonb refuse the NUL character (U+0000, in jsonb also its escape
`\\u0000`), and UTF-8 cannot hold a lone surrogate (U+D800..U+DFFF, which only a `\\u` escape
in JSON can produce). One such character in a COPY fails the whole statement, so every path
(the landing files, the stream, the write API) refuses the *record* that holds one, with a
reason naming its field, before anything reaches the database. A value nested more than
`MAX_DEPTH` levels deep is refused the same way (no JSON writer or jsonb keeps it reliably):

- `problem(value)` says what is wrong with one string, or None;
- `unstorable(record)` walks a decoded record (its keys too, and nested objects and arrays)
  and gives `(field, reason)` for the first offender, e.g. `("metadata.note", "metadata.note
  contains a NUL character ...")`;
- `in_json(text)` / `in_json_line(text)` apply `unstorable` to a JSON text strict
  readers refuse;
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


# Deepest nesting of objects and arrays kept: orjson (which writes the JSON the loader
# stores) stops at 255 levels, and a deeper value is no data anyone meant to send.
MAX_DEPTH: Final = 128


def problem(value: str) -> str | None:
    """What makes `value` unstorable, or None when PostgreSQL can store it."""
    if NUL in value:
        return NUL_PROBLEM
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE_PROBLEM
    return None


def _walk(value: object, path: str, depth: int = 0, top: str = "") -> tuple[str, str] | None:
    """The first offender below `path`; too deep a value is named by its top field, `top`."""
    if depth > MAX_DEPTH:
        return top, f"is nested more than {MAX_DEPTH} levels deep"
    if isinstance(value, str):
        found = problem(value)
        return (path, found) if found else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = key if isinstance(key, str) else str(key)
            where = f"{path}.{name}" if path else name
            if (found := problem(name)) is not None:
                return where, f"the field name {found}"
            if (nested := _walk(item, where, depth + 1, top or where)) is not None:
                return nested
        return None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            where = f"{path}[{index}]"
            if (nested := _walk(item, where, depth + 1, top or where)) is not None:
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


def may_be_unstorable(json_text: bytes) -> bool:
    """Whether a JSON document can hold what `unstorable` refuses: only one with a `\\u`
    escape (a NUL, a surrogate), or more brackets than `MAX_DEPTH`. A cheap test, so that
    the walk is skipped for the usual document."""
    return b"\\u" in json_text or json_text.count(b"{") + json_text.count(b"[") > MAX_DEPTH


def in_json(text: str) -> tuple[str, str] | None:
    """`unstorable` for a JSON document that strict readers may refuse: a raw NUL (a control
    character strict JSON refuses), a lone surrogate escape (which orjson refuses). It is read
    leniently so that the reason can name the field; None when it holds nothing unstorable
    (or is not JSON at all: the reader's own reason applies then)."""
    if NUL not in text and "\\u" not in text:
        return None
    try:
        record = json.loads(text, strict=False)
    except (ValueError, RecursionError):
        return ("the record", f"the record {NUL_PROBLEM}") if NUL in text else None
    return unstorable(record)


def in_json_line(text: str) -> str | None:
    """The reason of `in_json` for one line of JSON Lines."""
    found = in_json(text)
    return found[1] if found else None


def check(field: str) -> pl.Expr:
    """The reason a String column's value cannot be stored (a NUL), or null.

    Polars strings are valid UTF-8, so a lone surrogate never reaches a frame: `unstorable`
    catches those on the decoded records.
    """
    return pl.when(pl.col(field).str.contains(NUL, literal=True)).then(
        pl.lit(f"{field} {NUL_PROBLEM}")
    )
