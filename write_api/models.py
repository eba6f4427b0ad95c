"""Pydantic models of the operational tables, derived from `core.db.schema`.

A resource names its writable columns explicitly; their types, lengths, enumerations
(the tables' `col IN (...)` checks), nullability and whether a create needs them come
from the table, so a request the models accept fits the column it goes to.
"""

# No `from __future__ import annotations`: the models are built at runtime from these types.

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    Strict,
    StringConstraints,
    WithJsonSchema,
    create_model,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema
from sqlalchemy import (
    TIMESTAMP,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    Time,
)
from sqlalchemy.dialects import postgresql

_ONE_OF = re.compile(r"^(\w+) IN \((.+)\)$")
_AT_LEAST = re.compile(r"^(\w+) >= (\d+)$")
_MATCHES = re.compile(r"^(\w+) ~\*? '(.+)'$")
# PostgreSQL keeps a time zone offset up to 15:59:59 either way.
_MOST_OFFSET = dt.timedelta(hours=16)
_OFFSET_POSTGRESQL_KEEPS = r"(?:[Zz]|[+-](?:0\d|1[0-5]):[0-5]\d(?::[0-5]\d)?)$"
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)

# Text PostgreSQL can store (`ingestion.parsing.storable`): the API refuses a NUL itself,
# naming the field; the document states it so that clients and fuzzers know.
STORABLE_TEXT_PATTERN = "^[^\\x00]*$"
_STORABLE_KEY = {"propertyNames": {"pattern": STORABLE_TEXT_PATTERN}}
STORABLE_JSON = {"$ref": "#/components/schemas/StorableJson"}
# Pydantic resolves every `$ref` of a schema it builds, so models mark the places and
# `with_component_refs` puts the reference there afterwards.
_MARK = "x-storable-json"
STORABLE_JSON_MARK = {_MARK: True}
_JSON_OBJECT = {"type": "object", **_STORABLE_KEY, "additionalProperties": STORABLE_JSON}
_MARKED_JSON_OBJECT = {
    "type": "object",
    **_STORABLE_KEY,
    "additionalProperties": STORABLE_JSON_MARK,
}
# Components of the OpenAPI document the bodies refer to (`write_api.app` adds them).
COMPONENT_SCHEMAS: dict[str, JsonSchemaValue] = {
    "StorableJson": {
        "description": "Any JSON value without a NUL character in its strings or keys, "
        "nested at most 128 levels deep.",
        "anyOf": [
            {"type": "null"},
            {"type": "boolean"},
            {"type": "number"},
            {"type": "string", "pattern": STORABLE_TEXT_PATTERN},
            {"type": "array", "items": STORABLE_JSON},
            _JSON_OBJECT,
        ],
    }
}
JSON_OBJECT = WithJsonSchema(_MARKED_JSON_OBJECT)
JSON_ARRAY = WithJsonSchema({"type": "array", "items": STORABLE_JSON_MARK})
JSON_DOCUMENT = WithJsonSchema(
    {"anyOf": [_MARKED_JSON_OBJECT, {"type": "array", "items": STORABLE_JSON_MARK}]}
)


def with_component_refs(schema: Any) -> Any:
    """`schema` with each marked place referring to the `StorableJson` component."""
    if isinstance(schema, dict):
        if _MARK in schema:  # beside its title, say
            return {**{k: v for k, v in schema.items() if k != _MARK}, **STORABLE_JSON}
        return {key: with_component_refs(value) for key, value in schema.items()}
    if isinstance(schema, list):
        return [with_component_refs(value) for value in schema]
    return schema


@dataclass(frozen=True)
class DocumentedPattern:
    """Annotates a `str` (or a date-time) whose documented schema carries `pattern`, which
    the API enforces by other means (a NUL: `routes`; an offset: a validator)."""

    pattern: str

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # A column's own pattern (users.email) already leaves NUL out.
        return {"pattern": self.pattern, **handler(schema)}


def _text(max_length: int | None, pattern: str | None = None) -> Any:
    constraints = StringConstraints(max_length=max_length, pattern=pattern)
    return Annotated[str, constraints, DocumentedPattern(STORABLE_TEXT_PATTERN)]


def _offset_postgresql_keeps(value: dt.datetime) -> dt.datetime:
    offset = value.utcoffset()
    if offset is not None and abs(offset) >= _MOST_OFFSET:
        raise ValueError("the time zone offset must be less than 16 hours either way")
    return value


# A date-time with its zone, as a string (strict: a JSON number is not taken for one).
Timestamp = Annotated[
    AwareDatetime,
    Strict(),
    AfterValidator(_offset_postgresql_keeps),
    DocumentedPattern(_OFFSET_POSTGRESQL_KEEPS),
]


@dataclass(frozen=True)
class ColumnChecks:
    """What a table's CHECK constraints ask of its columns, for the models and the document."""

    choices: dict[str, tuple[str, ...]]
    minimums: dict[str, int]
    patterns: dict[str, str]

    def type_of(self, column: Column[Any]) -> Any:
        return column_type(
            column,
            self.choices.get(column.name),
            self.minimums.get(column.name),
            self.patterns.get(column.name),
        )


def column_checks(table: Table) -> ColumnChecks:
    """`column IN ('a', 'b')`, `column >= N` and `column ~* 'regex'` checks of `table`."""
    checks = ColumnChecks({}, {}, {})
    for constraint in table.constraints:
        if not isinstance(constraint, CheckConstraint):
            continue
        text = str(constraint.sqltext)
        if (match := _ONE_OF.match(text)) and "'" in match.group(2):
            values = tuple(v.strip().strip("'") for v in match.group(2).split(","))
            checks.choices[match.group(1)] = values
        elif match := _AT_LEAST.match(text):
            checks.minimums[match.group(1)] = int(match.group(2))
        elif match := _MATCHES.match(text):
            # Taken as it is: the schema's regexes spell out both cases where `~*` ignores
            # case, and JSON Schema's regexes have no flag for it.
            checks.patterns[match.group(1)] = match.group(2)
    return checks


def _decimal_schema(precision: int, scale: int, signed: bool) -> JsonSchemaValue:
    """Money and other exact numbers are documented as decimal strings: a JSON number is
    accepted too, but a client's float (0.1 + 0.2) may carry more places than fit."""
    fraction = rf"(\.\d{{1,{scale}}})?" if scale else ""
    return {
        "type": "string",
        "pattern": rf"^{'-?' if signed else ''}\d{{1,{precision - scale}}}{fraction}$",
        "description": f"A decimal of at most {precision} digits, {scale} after the point "
        "(a JSON number of that form is accepted too).",
    }


def column_type(
    column: Column[Any],
    choices: tuple[str, ...] | None = None,
    minimum: int | None = None,
    pattern: str | None = None,
) -> Any:
    """The Python type a value of `column` must have to be stored as it is."""
    kind = column.type
    if choices:
        return Literal[choices]
    if isinstance(kind, postgresql.UUID):
        return uuid.UUID
    if isinstance(kind, String | Text):
        return _text(getattr(kind, "length", None), pattern)
    if isinstance(kind, Boolean):
        return bool
    if isinstance(kind, BigInteger):
        return Annotated[int, Field(ge=max(_INT64[0], minimum or _INT64[0]), le=_INT64[1])]
    if isinstance(kind, Integer):
        return Annotated[int, Field(ge=max(_INT32[0], minimum or _INT32[0]), le=_INT32[1])]
    if isinstance(kind, Numeric):
        precision, scale = kind.precision or 38, kind.scale or 0
        return Annotated[
            Decimal,
            Field(ge=minimum, max_digits=precision, decimal_places=scale, allow_inf_nan=False),
            WithJsonSchema(_decimal_schema(precision, scale, signed=minimum is None)),
        ]
    if isinstance(kind, TIMESTAMP):
        return Timestamp
    if isinstance(kind, Time):
        return dt.time
    if isinstance(kind, postgresql.JSONB):
        text = str(getattr(getattr(column.server_default, "arg", None), "text", ""))
        if text.startswith("'[]'"):
            return Annotated[list[Any], JSON_ARRAY]
        if text.startswith("'{}'"):
            return Annotated[dict[str, Any], JSON_OBJECT]
        return Annotated[dict[str, Any] | list[Any], JSON_DOCUMENT]
    if isinstance(kind, postgresql.ARRAY):
        return list[_text(1000)]  # type: ignore[misc]
    raise TypeError(f"no API type for {column.table.name}.{column.name} ({kind})")


def _read_type(column: Column[Any]) -> Any:
    """Responses carry what is stored; only CHECK-less precision limits are left out."""
    kind = column.type
    if isinstance(kind, String | Text):
        return str
    if isinstance(kind, Integer | BigInteger):
        return int
    if isinstance(kind, Numeric):
        return Decimal
    if isinstance(kind, postgresql.ARRAY):
        return list[str]
    if isinstance(kind, postgresql.JSONB):
        return Any
    return column_type(column, None)


def _required(column: Column[Any]) -> bool:
    return not column.nullable and column.server_default is None


class WriteModel(BaseModel):
    # Fields not listed are refused, not ignored: `tenant_id` in a body is a 422, loudly.
    model_config = ConfigDict(extra="forbid")


class UpdateModel(WriteModel):
    # An update that sets nothing is refused (`routes`): the document says so.
    model_config = ConfigDict(json_schema_extra={"minProperties": 1})


def _without_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


class ReadModel(BaseModel):
    """A row as responses show it."""


def create_model_for(name: str, table: Table, fields: tuple[str, ...]) -> type[WriteModel]:
    definitions: dict[str, Any] = {}
    for field, column, annotation in _writable(table, fields):
        if column.nullable:
            annotation = annotation | None
        definitions[field] = (annotation, ... if _required(column) else None)
    return create_model(name, __base__=WriteModel, **definitions)


def update_model_for(name: str, table: Table, fields: tuple[str, ...]) -> type[WriteModel]:
    # Omitted: unchanged (pydantic does not validate the default, and the update reads only
    # the fields set). null: only where the column takes NULL.
    definitions: dict[str, Any] = {}
    for field, column, annotation in _writable(table, fields):
        if column.nullable:
            definitions[field] = (annotation | None, None)
        else:
            definitions[field] = (annotation, Field(None, json_schema_extra=_without_default))
    return create_model(name, __base__=UpdateModel, **definitions)


def _writable(table: Table, fields: tuple[str, ...]) -> Iterator[tuple[str, Column[Any], Any]]:
    """Each field with its column and the type a value written to it must have."""
    checks = column_checks(table)
    for field in fields:
        column = table.c[field]
        yield field, column, checks.type_of(column)


def read_model_for(name: str, table: Table, hidden: tuple[str, ...] = ()) -> type[ReadModel]:
    definitions: dict[str, Any] = {}
    for column in table.columns:
        if column.name in hidden:
            continue
        annotation = _read_type(column)
        if column.nullable or isinstance(column.type, postgresql.JSONB):
            annotation = annotation | None
        definitions[column.name] = (annotation, ...)
    return create_model(name, __base__=ReadModel, **definitions)


def page_model_for(name: str, item: type[ReadModel]) -> type[BaseModel]:
    return create_model(
        name,
        data=(list[item], ...),  # type: ignore[valid-type]
        next_after=(uuid.UUID | None, Field(description="Pass as `after` for the next page.")),
    )
