"""Reading landing files into frames of strings, refusing what cannot be read.

`read_csv` and `read_jsonl` turn the bytes of a file (or of a chunk of one, see
`ingestion.load.files`) into one String column per field plus `_record` (the line number)
and `_raw` (the line as it arrived), and a `Reject` for every line that cannot be read:
invalid UTF-8, a NUL character, a malformed CSV row, a line that is not a JSON object. The
sources then check the strings (`ingestion.parsing.validate`) and convert them.

Conventions shared by every line-oriented source (and documented in docs/landing.md):
- UTF-8 (a leading byte-order mark is ignored); lines end with LF or CRLF.
- One record per line; blank lines are skipped and are not records.
- Values are trimmed; an empty value is a missing one.
- `_record` is the line number in the file (in a CSV file the header is line 1).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from ingestion.parsing import storable
from ingestion.parsing.contract import Reject
from ingestion.parsing.validate import PROBLEMS, RAW, RECORD

# What a JSON value must be: text (a JSON string; numbers are refused), an integer, a JSON
# object (kept as JSON text for a jsonb column), or any scalar (kept as its text).
JsonKind = Literal["string", "integer", "object", "scalar"]

NUL_REASON = f"the record {storable.NUL_PROBLEM}"


@dataclass
class Records:
    """What could be read from a file: string columns, and the lines that could not be."""

    records_in: int
    frame: pl.DataFrame
    rejects: list[Reject] = field(default_factory=list)


def _lines(data: bytes) -> list[tuple[int, str | None, bytes]]:
    """(line number, text, raw bytes) of every non-blank line; text is None when the line
    is not UTF-8 (raw bytes are kept only then)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines: list[tuple[int, str | None, bytes]] = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        for number, raw in enumerate(data.split(b"\n"), start=1):
            try:
                line = raw.decode("utf-8").removesuffix("\r")
            except UnicodeDecodeError:
                lines.append((number, None, raw))
                continue
            if line.strip():
                lines.append((number, line, b""))
        return lines
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if line.strip():
            lines.append((number, line, b""))
    return lines


def _utf8_reason(raw: bytes) -> str:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as error:
        bad = raw[error.start : error.end].hex(" ")
        return (
            f"the line is not valid UTF-8 (byte {bad} at position {error.start + 1}): "
            "save the file as UTF-8"
        )
    return "the line is not valid UTF-8: save the file as UTF-8"


def _as_shown(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").removesuffix("\r")


def _frame(
    columns: dict[str, list[str | None]], numbers: list[int], raws: list[str]
) -> pl.DataFrame:
    data: dict[str, pl.Series] = {
        name: pl.Series(name, values, dtype=pl.String) for name, values in columns.items()
    }
    frame = pl.DataFrame(data, height=len(numbers))
    trimmed = frame.with_columns(
        pl.col(name).str.strip_chars().replace("", None) for name in columns
    )
    return trimmed.with_columns(
        pl.Series(RECORD, numbers, dtype=pl.Int64), pl.Series(RAW, raws, dtype=pl.String)
    )


def read_csv(data: bytes, fields: Sequence[str], required: Collection[str] = ()) -> Records:
    """A comma-separated file with a header row naming its columns.

    Header names are matched case-insensitively and in any order; columns not in `fields`
    are ignored. A field missing from the header is null in every row, and when it is in
    `required` every row is refused with a reason naming the missing column.
    """
    lines = _lines(data)
    if not lines:
        return Records(0, _frame({name: [] for name in fields}, [], []))
    _, header_text, header_raw = lines[0]
    header_line = header_text if header_text is not None else _as_shown(header_raw)
    header = [name.strip().lower() for name in next(csv.reader([header_line]))]
    position = {name: index for index, name in enumerate(header)}
    file_problem: str | None = None
    missing = [name for name in required if name not in position]
    if len(header) == 1 and ";" in header_line:
        file_problem = (
            "the header is separated by ';': separate fields with ',' "
            "(and write decimals with a dot)"
        )
    elif missing:
        file_problem = (
            f"the header has no column {', '.join(missing)} (expected columns: {', '.join(fields)})"
        )

    numbers: list[int] = []
    raws: list[str] = []
    rows: list[list[str]] = []
    rejects: list[Reject] = []
    width = len(header)
    for number, text, raw in lines[1:]:
        if text is None:
            rejects.append(Reject(number, _as_shown(raw), _utf8_reason(raw)))
            continue
        if file_problem is not None:
            rejects.append(Reject(number, text, file_problem))
            continue
        if "\x00" in text:
            rejects.append(Reject(number, text, _csv_nul_reason(text, header)))
            continue
        if '"' in text:
            try:
                row = next(csv.reader([text], strict=True))
            except csv.Error as error:
                rejects.append(
                    Reject(
                        number,
                        text,
                        f"the line is not valid CSV ({error}): a record must fit on one "
                        'line, and a quote inside a quoted field is written twice ("")',
                    )
                )
                continue
        else:
            row = text.split(",")
        if len(row) != width:
            rejects.append(
                Reject(
                    number,
                    text,
                    f"the line has {len(row)} fields but the header has {width}: quote "
                    'values that contain a comma ("like, this")',
                )
            )
            continue
        numbers.append(number)
        raws.append(text)
        rows.append(row)

    columns: dict[str, list[str | None]] = {}
    for name in fields:
        index = position.get(name)
        columns[name] = [row[index] for row in rows] if index is not None else [None] * len(rows)
    return Records(len(lines) - 1, _frame(columns, numbers, raws), rejects)


def _csv_nul_reason(text: str, header: Sequence[str]) -> str:
    """The reason for a CSV line with a NUL, naming its column when the line can be split."""
    try:
        row = next(csv.reader([text.replace("\x00", "\ufffd")]))
    except csv.Error:
        return NUL_REASON
    for index, value in enumerate(row):
        if "\ufffd" in value and index < len(header):
            return f"{header[index]} {storable.NUL_PROBLEM}"
    return NUL_REASON


def _json_value(name: str, value: object, kind: JsonKind) -> tuple[str | None, str | None]:
    """(the value as text, a problem) for one field of a JSON object.

    A value of the wrong JSON type keeps its JSON text (so it is not also "missing") and
    comes with a problem that refuses the record.
    """
    if value is None:
        return None, None
    if kind == "object":
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        if isinstance(value, dict):
            return text, None
        return text, f"{name} must be a JSON object, got {text[:60]}"
    if isinstance(value, str):
        return value, None
    text = json.dumps(value, ensure_ascii=False)
    if kind == "integer" and isinstance(value, int) and not isinstance(value, bool):
        return text, None
    if kind == "scalar" and not isinstance(value, dict | list):
        return text, None
    expected = {"string": "a JSON string", "integer": "a whole number", "scalar": "one value"}
    return text, f"{name} must be {expected[kind]}, got {text[:60]}"


def read_jsonl(
    data: bytes, fields: Mapping[str, JsonKind], present: Collection[str] = ()
) -> Records:
    """One JSON object per line. Keys not in `fields` are ignored.

    A key in `present` must appear in every object, even if its value is null (e.g. audit's
    tenant_id: null means platform-wide, an absent key is a mistake).
    """
    numbers: list[int] = []
    raws: list[str] = []
    columns: dict[str, list[str | None]] = {name: [] for name in fields}
    problems: list[str | None] = []
    rejects: list[Reject] = []
    lines = _lines(data)
    for number, text, raw in lines:
        if text is None:
            rejects.append(Reject(number, _as_shown(raw), _utf8_reason(raw)))
            continue
        if (unstorable := storable.in_json_line(text)) is not None:
            rejects.append(Reject(number, text, unstorable))
            continue
        try:
            record = json.loads(text)
        except ValueError as error:
            message = getattr(error, "msg", str(error))
            column = getattr(error, "colno", None)
            where = f" at character {column}" if column else ""
            rejects.append(Reject(number, text, f"the line is not valid JSON: {message}{where}"))
            continue
        if not isinstance(record, dict):
            kind = type(record).__name__.replace("dict", "object").replace("list", "array")
            rejects.append(
                Reject(number, text, f"the line must hold one JSON object, got a JSON {kind}")
            )
            continue
        found: list[str] = [
            f"{name} is missing: give it (null is allowed)"
            for name in present
            if name not in record
        ]
        for name, kind in fields.items():
            value, problem = _json_value(name, record.get(name), kind)
            columns[name].append(value)
            if problem:
                found.append(problem)
        numbers.append(number)
        raws.append(text)
        problems.append("; ".join(found) if found else None)
    frame = _frame(columns, numbers, raws).with_columns(
        pl.Series(PROBLEMS, problems, dtype=pl.String)
    )
    return Records(len(lines), frame, rejects)
