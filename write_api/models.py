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
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, create_model
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
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)


def enumerations(table: Table) -> dict[str, tuple[str, ...]]:
    """`{column: allowed values}` from the table's `column IN ('a', 'b')` checks."""
    found: dict[str, tuple[str, ...]] = {}
    for constraint in table.constraints:
        if isinstance(constraint, CheckConstraint):
            match = _ONE_OF.match(str(constraint.sqltext))
            if match and "'" in match.group(2):
                values = tuple(v.strip().strip("'") for v in match.group(2).split(","))
                found[match.group(1)] = values
    return found


def column_type(column: Column[Any], choices: tuple[str, ...] | None) -> Any:
    """The Python type a value of `column` must have to be stored as it is."""
    kind = column.type
    if choices:
        return Literal[choices]
    if isinstance(kind, postgresql.UUID):
        return uuid.UUID
    if isinstance(kind, String | Text):
        return Annotated[str, StringConstraints(max_length=getattr(kind, "length", None))]
    if isinstance(kind, Boolean):
        return bool
    if isinstance(kind, BigInteger):
        return Annotated[int, Field(ge=_INT64[0], le=_INT64[1])]
    if isinstance(kind, Integer):
        return Annotated[int, Field(ge=_INT32[0], le=_INT32[1])]
    if isinstance(kind, Numeric):
        precision, scale = kind.precision or 38, kind.scale or 0
        return Annotated[
            Decimal,
            Field(max_digits=precision, decimal_places=scale, allow_inf_nan=False),
        ]
    if isinstance(kind, TIMESTAMP):
        return AwareDatetime
    if isinstance(kind, Time):
        return dt.time
    if isinstance(kind, postgresql.JSONB):
        text = str(getattr(getattr(column.server_default, "arg", None), "text", ""))
        if text.startswith("'[]'"):
            return list[Any]
        if text.startswith("'{}'"):
            return dict[str, Any]
        return dict[str, Any] | list[Any]
    if isinstance(kind, postgresql.ARRAY):
        return list[Annotated[str, StringConstraints(max_length=1000)]]
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
    # Omitted: unchanged. null: only where the column takes NULL.
    definitions: dict[str, Any] = {
        field: (annotation | None, None) for field, _, annotation in _writable(table, fields)
    }
    return create_model(name, __base__=WriteModel, **definitions)


def _writable(table: Table, fields: tuple[str, ...]) -> Iterator[tuple[str, Column[Any], Any]]:
    """Each field with its column and the type a value written to it must have."""
    choices = enumerations(table)
    for field in fields:
        column = table.c[field]
        yield field, column, column_type(column, choices.get(field))


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
