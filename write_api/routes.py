"""The routes of every resource: a page, one row, create, update and, where allowed, delete
and counters, each checking the key's scope and kind first (see `resources`).

Writes go through the idempotency layer (`run_write`) and, when they are one statement,
through the runtime's group commit.
"""

# No `from __future__ import annotations`: FastAPI reads the route functions' annotations,
# which name models built at runtime.

import functools
import ipaddress
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from psycopg import sql
from psycopg.types.json import Jsonb
from pydantic import ValidationError

from ingestion.parsing import storable
from write_api.auth import authenticate, runtime_of
from write_api.dispatch import RequestOnlyRoute, body_schema
from write_api.errors import ERROR_RESPONSES, ApiError, missing_reference, not_found
from write_api.idempotency import HEADER, KeyedCreate, Outcome, RecordTransaction, run_write
from write_api.models import ReadModel, WriteModel, page_model_for
from write_api.resources import RESOURCES, Connection, Resource, WriteContext, model_name
from write_api.round_trip import in_transaction
from write_api.runtime import Principal, Runtime, fetch_all, fetch_one
from write_api.statements import (
    BY_ID,
    BY_ID_FOR_UPDATE,
    PAGE,
    delete_statement,
    increment_statement,
    insert_statement,
    keyed_insert_statement,
    replay_statement,
    select_statement,
    update_statement,
)


def _client_ip(request: Request) -> str | None:
    return _ip_address(request.client.host) if request.client else None


@functools.lru_cache(maxsize=4096)  # clients come back: parsing was 5 % of a create
def _ip_address(host: str) -> str | None:
    """The host as an IP address for `audit_logs.ip_address`; None when it is no address."""
    try:
        return str(ipaddress.ip_address(host)) if host else None
    except ValueError:
        return None


def _audit_params(request: Request, principal: Principal) -> dict[str, Any]:
    meta = {
        "api_key_id": str(principal.key_id),
        "api_key_prefix": principal.prefix,
        "api_key_name": principal.name,
    }
    if key := request.headers.get("idempotency-key"):
        meta["idempotency_key"] = key
    return {
        "_tenant": principal.tenant_id,
        "_ip": _client_ip(request),
        "_ua": request.headers.get("user-agent"),
        "_meta": Jsonb(meta, dumps=orjson.dumps),  # strings only: orjson's JSON is the same
    }


def _require_kind(resource: Resource, principal: Principal, action: str) -> None:
    if resource.kind in ("tenant", "child") and principal.is_platform:
        raise ApiError(403, "forbidden", f"{resource.path} belong to a tenant: use a tenant's key")
    if resource.kind == "platform" and not principal.is_platform:
        raise ApiError(403, "forbidden", f"{resource.path} are global: use a platform key")
    if resource.kind == "tenants":
        if action == "create" and not principal.is_platform:
            raise ApiError(403, "forbidden", "only a platform key creates tenants")
        if action != "create" and principal.is_platform:
            raise ApiError(403, "forbidden", "a tenant is read and updated with its own key")


def _guard(resource: Resource, action: str) -> Callable[[Request], Awaitable[Principal]]:
    """The key's check for `action` on `resource`, awaited first thing in each endpoint (so a
    stranger gets 401, not 422 for the body). Not a FastAPI dependency: solving one cost a
    create 7 % of its CPU."""
    scope = "read" if action == "read" else "write"

    async def principal_for(request: Request) -> Principal:
        principal = await authenticate(request, scope)
        _require_kind(resource, principal, action)
        return principal

    return principal_for


def _parameters(resource: Resource, values: dict[str, Any]) -> dict[str, Any]:
    return {
        name: Jsonb(value) if name in resource.json_columns and value is not None else value
        for name, value in values.items()
    }


async def _read_body(request: Request, model: type[WriteModel]) -> WriteModel:
    """The JSON body as `model`; refused as FastAPI refuses a body parameter, a 422 whose
    errors are located under `body`. Parsed and validated in one step by pydantic: FastAPI's
    body parameter (json.loads, then validation) cost a create 4 % of its CPU."""
    raw = await request.body()
    if not raw:
        raise RequestValidationError(
            [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
        )
    if not _is_json(request.headers.get("content-type", "")):
        raise RequestValidationError(
            [
                {
                    "type": "content_type",
                    "loc": ("body",),
                    "msg": "the body must be JSON, sent as Content-Type: application/json",
                    "input": None,
                }
            ]
        )
    try:
        body = model.model_validate_json(raw)
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
        ) from None
    # What PostgreSQL cannot store (a NUL, a lone surrogate) is refused here, naming the field,
    # by the rule the loader applies: not as a DataError from the database with no field.
    if storable.may_be_unstorable(raw) and (found := storable.unstorable(body.model_dump())):
        field, reason = found
        raise ApiError(422, "invalid_value", reason, field=field)
    return body


def _is_json(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def _check_references(conn: Connection, resource: Resource, values: dict[str, Any]) -> None:
    for column, target in resource.references.items():
        value = values.get(column)
        if value is None:
            continue
        found = await fetch_one(
            conn,
            sql.SQL("SELECT 1 AS found FROM public.{} WHERE id = %s").format(
                sql.Identifier(target)
            ),
            (value,),
        )
        if found is None:
            raise missing_reference(column, f"{column}: no such {target} row for this key")


async def _in_transaction(
    runtime: Runtime,
    principal: Principal,
    conn: Connection | None,
    steps: Callable[[Connection], Awaitable[Outcome]],
) -> Outcome:
    """`steps` in the transaction already open for the idempotency record, else in a new one."""
    if conn is not None:
        return await steps(conn)
    async with runtime.transaction(principal) as own:
        return await steps(own)


async def _one_statement(
    runtime: Runtime,
    principal: Principal,
    conn: Connection | None,
    statement: str,
    params: dict[str, Any],
) -> dict[str, Any] | None:
    """A write that is one statement (row and audit row): one round trip when on its own,
    prepared in the key's transaction."""
    if conn is not None:
        (row,) = await in_transaction(conn, [(statement, params)])
        return row
    return await runtime.one_statement(principal, statement, params)


def _is_one_statement_create(resource: Resource, values: dict[str, Any]) -> bool:
    """Whether creating `values` is the insert alone: no reference to check, no hook."""
    checked = [column for column in resource.references if values.get(column) is not None]
    return not checked and resource.prepare is None and resource.kind != "tenants"


def _keyed_create(
    resource: Resource, values: dict[str, Any], params: dict[str, Any]
) -> KeyedCreate | None:
    """The create as one statement that records its row in the key's record, when it is one
    statement (`idempotency.KeyedCreate`)."""
    if not _is_one_statement_create(resource, values):
        return None
    return KeyedCreate(
        keyed_insert_statement(resource, values),
        {**_parameters(resource, values), **params},
        replay_statement(resource),
        resource.present,
    )


async def _create(
    runtime: Runtime,
    conn: Connection | None,
    resource: Resource,
    principal: Principal,
    values: dict[str, Any],
    params: dict[str, Any],
) -> Outcome:
    """Create `values` (the body's, the tenant stamped), audited with `params`."""
    if _is_one_statement_create(resource, values):
        statement = insert_statement(resource, values)
        row = await _one_statement(
            runtime, principal, conn, statement, {**_parameters(resource, values), **params}
        )
        assert row is not None
        return Outcome(201, resource.present(row))

    async def steps(conn: Connection) -> Outcome:
        context = WriteContext(conn, principal, runtime.settings.secret_key.get_secret_value())
        await _check_references(conn, resource, values)
        if resource.kind == "tenants":
            # The new tenant's row must pass its own policy: the transaction acts as it.
            values["id"] = params["_tenant"] = uuid.uuid4()
            await conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(values["id"]),))
        if resource.prepare is not None:
            await resource.prepare(context, resource, values, None)
        row = await fetch_one(
            conn, insert_statement(resource, values), {**_parameters(resource, values), **params}
        )
        assert row is not None
        if resource.after_create is not None:
            await resource.after_create(context, resource, row, None)
        return Outcome(201, resource.present(row))

    return await _in_transaction(runtime, principal, conn, steps)


async def _update(
    runtime: Runtime,
    conn: Connection | None,
    request: Request,
    resource: Resource,
    principal: Principal,
    object_id: uuid.UUID,
    body: WriteModel,
) -> Outcome:
    values = body.model_dump(exclude_unset=True)
    if not values:
        raise ApiError(422, "invalid_request", "nothing to update: the body sets no field")
    params = {
        **_parameters(resource, values),
        **_audit_params(request, principal),
        "_id": object_id,
    }
    checked = [column for column in resource.references if values.get(column) is not None]
    if not checked and resource.prepare is None:
        row = await _one_statement(
            runtime, principal, conn, update_statement(resource, values), params
        )
        if row is None:
            raise not_found(resource.label)
        return Outcome(200, resource.present(row))

    async def steps(conn: Connection) -> Outcome:
        old = await fetch_one(conn, select_statement(resource, BY_ID_FOR_UPDATE), (object_id,))
        if old is None:
            raise not_found(resource.label)
        await _check_references(conn, resource, values)
        if resource.prepare is not None:
            context = WriteContext(conn, principal, runtime.settings.secret_key.get_secret_value())
            await resource.prepare(context, resource, values, old)
            params.update(_parameters(resource, values))
        row = await fetch_one(conn, update_statement(resource, values), params)
        if row is None:
            raise not_found(resource.label)
        return Outcome(200, resource.present(row))

    return await _in_transaction(runtime, principal, conn, steps)


def _routes(router: APIRouter, prefix: str, resource: Resource, page_max: int) -> None:
    Create, Update, Read = resource.create_model, resource.update_model, resource.read_model
    Page = page_model_for(model_name(resource.path, "Page"), Read)
    base = f"{prefix}/{resource.path}"
    tags = [resource.path]

    select_page, select_one = select_statement(resource, PAGE), select_statement(resource, BY_ID)
    reader, creator = _guard(resource, "read"), _guard(resource, "create")
    updater = _guard(resource, "update")

    async def list_objects(
        request: Request,
        limit: Annotated[int, Query(ge=1, le=page_max, description="Rows per page.")] = 50,
        after: Annotated[
            uuid.UUID | None, Query(description="Rows with an id after this one.")
        ] = None,
    ) -> Response:
        principal = await reader(request)
        async with runtime_of(request).transaction(principal) as conn:
            rows = await fetch_all(conn, select_page, {"after": after, "limit": limit})
        items = b",".join(resource.present(row) for row in rows)
        next_after = orjson.dumps(str(rows[-1]["id"]) if len(rows) == limit else None)
        return Response(
            b'{"data":[' + items + b'],"next_after":' + next_after + b"}",
            media_type="application/json",
        )

    async def get_object(request: Request, object_id: uuid.UUID) -> Response:
        principal = await reader(request)
        async with runtime_of(request).transaction(principal) as conn:
            row = await fetch_one(conn, select_one, (object_id,))
        if row is None:
            raise not_found(resource.label)
        return Response(resource.present(row), media_type="application/json")

    async def create_object(request: Request) -> Response:
        principal = await creator(request)
        body = await _read_body(request, Create)
        values = body.model_dump(exclude_unset=True)
        if resource.kind == "tenant":
            values["tenant_id"] = principal.tenant_id
        params = _audit_params(request, principal)

        async def work(conn: RecordTransaction) -> Outcome:
            return await _create(runtime, conn, resource, principal, values, params)

        runtime = runtime_of(request)
        keyed = _keyed_create(resource, values, params) if HEADER in request.headers else None
        return await run_write(request, runtime, principal, work, keyed)

    async def update_object(request: Request, object_id: uuid.UUID) -> Response:
        principal = await updater(request)
        body = await _read_body(request, Update)

        async def work(conn: RecordTransaction) -> Outcome:
            return await _update(runtime, conn, request, resource, principal, object_id, body)

        runtime = runtime_of(request)
        return await run_write(request, runtime, principal, work)

    common: dict[str, Any] = {"tags": tags, "responses": ERROR_RESPONSES}
    router.add_api_route(
        base,
        list_objects,
        methods=["GET"],
        response_model=Page,
        summary=f"List {resource.path}",
        **common,
    )
    if resource.can_create:
        router.add_api_route(
            base,
            create_object,
            methods=["POST"],
            response_model=Read,
            status_code=201,
            summary=f"Create a {resource.label}",
            openapi_extra=body_schema(Create),
            route_class_override=RequestOnlyRoute,
            **common,
        )
    router.add_api_route(
        base + "/{object_id}",
        get_object,
        methods=["GET"],
        response_model=Read,
        summary=f"Get a {resource.label}",
        **common,
    )
    if resource.update_fields:
        router.add_api_route(
            base + "/{object_id}",
            update_object,
            methods=["PATCH"],
            response_model=Read,
            summary=f"Update a {resource.label}",
            openapi_extra=body_schema(Update),
            **common,
        )
    if resource.can_delete:
        router.add_api_route(
            base + "/{object_id}",
            _object_statement(resource, "delete", delete_statement(resource), _deleted),
            name="delete_object",
            methods=["DELETE"],
            response_model=DeletedModel,
            summary=f"Delete a {resource.label}",
            **common,
        )
    for sub_path, column in resource.counters.items():
        increment = increment_statement(resource, column)
        router.add_api_route(
            f"{base}/{{object_id}}/{sub_path}",
            _object_statement(resource, "update", increment, resource.present),
            name="increment",
            methods=["POST"],
            response_model=Read,
            summary=f"Count one more {column.removesuffix('_count')}",
            **common,
        )


def _object_statement(
    resource: Resource, action: str, statement: str, answer: Callable[[dict[str, Any]], bytes]
) -> Callable[[Request, uuid.UUID], Awaitable[Response]]:
    """The endpoint of a write that is `statement` alone on the object `object_id` (a delete, a
    counter), answered with `answer(row)`. Its route is given a `name`: FastAPI makes the
    published operation id of it, not of this function's name."""
    guard = _guard(resource, action)

    async def endpoint(request: Request, object_id: uuid.UUID) -> Response:
        principal = await guard(request)

        async def work(conn: RecordTransaction) -> Outcome:
            params = {**_audit_params(request, principal), "_id": object_id}
            row = await _one_statement(runtime, principal, conn, statement, params)
            if row is None:
                raise not_found(resource.label)
            return Outcome(200, answer(row))

        runtime = runtime_of(request)
        return await run_write(request, runtime, principal, work)

    return endpoint


def _deleted(row: dict[str, Any]) -> bytes:
    return orjson.dumps({"id": str(row["id"]), "deleted": True})


class DeletedModel(ReadModel):
    id: uuid.UUID
    deleted: bool


def add_routes(router: APIRouter, prefix: str, page_max: int) -> None:
    for resource in RESOURCES:
        _routes(router, prefix, resource, page_max)
