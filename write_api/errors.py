"""Errors as JSON: `{"error": {"type", "message", "field", "details"}}`, never a bare 500.

Database errors caused by the input (a unique value taken, a reference to nothing, a CHECK)
become 4xx with the offending column named; anything else is a 500 with no internals shown.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg import errors as pg
from pydantic import BaseModel
from sqlalchemy import ForeignKeyConstraint, UniqueConstraint
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.db import schema
from write_api.group_commit import WriteInterrupted

log = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    type: str
    message: str
    field: str | None = None
    details: list[dict[str, Any]] | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.field = field
        self.headers = headers
        self.details = details

    def response(self) -> JSONResponse:
        """The answer for this error; `details` only where there are some."""
        body: dict[str, Any] = {"type": self.type, "message": self.message, "field": self.field}
        if self.details is not None:
            body["details"] = self.details
        return JSONResponse({"error": body}, status_code=self.status, headers=self.headers)


def not_found(resource: str) -> ApiError:
    return ApiError(404, "not_found", f"no such {resource}")


def missing_reference(field: str | None, message: str) -> ApiError:
    """A body names an object that does not exist or that the key cannot see: a 404, as a
    path to it would be (JSON:API and Stripe answer so too), naming the field."""
    return ApiError(404, "invalid_reference", message, field=field)


# Responses every route may give, for the OpenAPI document.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in {
        400: "Malformed request",
        401: "Missing or unknown API key",
        403: "The key lacks the scope or kind this route needs",
        404: "No such object (or another tenant's), at the path or named in the body",
        409: "Conflicts with stored data",
        413: "Body too large",
        422: "Invalid input; `field` names the offender",
        429: "Rate limit reached; see Retry-After",
        503: "The database failed for a reason not caused by the request",
    }.items()
}


def _field_of(location: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(location[-1] if location else "")


def database_error(error: psycopg.Error) -> ApiError | None:
    """The 4xx an input-caused database error stands for; None for a server fault."""
    diag = error.diag
    column = diag.column_name
    constraint = diag.constraint_name or ""
    if isinstance(error, pg.UniqueViolation):
        field = column or _constrained_columns(constraint, diag.message_detail)
        return ApiError(409, "conflict", f"{field or 'a value'} is already taken", field=field)
    if isinstance(error, pg.ForeignKeyViolation):
        field = _constrained_columns(constraint, diag.message_detail)
        if "still referenced" in (diag.message_detail or ""):
            return ApiError(
                409, "conflict", "other rows still refer to this object: delete them first"
            )
        return missing_reference(field, f"{field}: no such object")
    if isinstance(error, pg.CheckViolation):
        return ApiError(
            422, "invalid_value", f"value refused by the check {constraint}", field=column
        )
    if isinstance(error, pg.NotNullViolation):
        return ApiError(422, "missing_value", f"{column} is required", field=column)
    if isinstance(error, pg.InsufficientPrivilege):
        return ApiError(404, "not_found", "no such object")
    if isinstance(error, pg.DataError | pg.ProgramLimitExceeded):
        return ApiError(422, "invalid_value", diag.message_primary or "invalid value")
    return None


def _constrained_columns(constraint: str, detail: str | None) -> str | None:
    """The columns of a unique or foreign key constraint, by its name in the schema, else from
    the message's detail ("Key (email)=(x@y.z) already exists." -> "email"). PostgreSQL leaves
    the detail out where row-level security applies, which is every tenant's table."""
    if columns := _columns_by_constraint().get(constraint):
        return columns
    if detail and detail.startswith("Key (") and ")=" in detail:
        return detail[5 : detail.index(")=")]
    return None


@functools.cache
def _columns_by_constraint() -> dict[str, str]:
    return {
        str(constraint.name): ", ".join(column.name for column in constraint.columns)
        for table in schema.metadata.tables.values()
        for constraint in table.constraints
        if isinstance(constraint, UniqueConstraint | ForeignKeyConstraint) and constraint.name
    }


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, error: ApiError) -> JSONResponse:
        return error.response()

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": _field_of(e.get("loc", ())), "message": e.get("msg", ""), "type": e["type"]}
            for e in error.errors()
        ]
        first = problems[0] if problems else {"field": None, "message": "invalid request"}
        return ApiError(
            422,
            "invalid_request",
            f"{first['field']}: {first['message']}" if first["field"] else first["message"],
            field=first["field"],
            details=problems,
        ).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        kinds = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}
        return ApiError(
            error.status_code,
            kinds.get(error.status_code, "http_error"),
            str(error.detail),
            headers=dict(error.headers or {}),
        ).response()

    @app.exception_handler(WriteInterrupted)
    async def _interrupted(request: Request, error: WriteInterrupted) -> JSONResponse:
        log.warning("write interrupted on %s %s: %s", request.method, request.url.path, error)
        return ApiError(503, "unavailable", f"the write may not have happened: {error}").response()

    @app.exception_handler(psycopg.Error)
    async def _database(request: Request, error: psycopg.Error) -> JSONResponse:
        mapped = database_error(error)
        if mapped is None:
            log.exception("database error on %s %s", request.method, request.url.path)
            return ApiError(
                503, "unavailable", "the database could not take the request"
            ).response()
        return mapped.response()
