"""The application factory: routes under `/v1`, `/healthz`, `/readyz`, the body size cap."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.db.engine import database_url as configured_database_url
from core.db.engine import redis_url as configured_redis_url
from core.settings import Settings
from write_api import dispatch, errors, routes, track
from write_api.config import ApiSettings
from write_api.errors import ApiError
from write_api.idempotency import purge_expired_records_forever
from write_api.models import COMPONENT_SCHEMAS
from write_api.runtime import Runtime

_YOUNG_COLLECTION_EVERY = 10_000  # allocations; Python's default is 700


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """413 for a body over `limit` bytes, by Content-Length or while it streams in."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise BodyTooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except BodyTooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = ApiError(
            413, "payload_too_large", f"the body is over {self.limit} bytes", field="body"
        ).response()
        await response(scope, receive, send)


def create_app(
    settings: Settings | None = None,
    api_settings: ApiSettings | None = None,
    *,
    database_url: str | None = None,
    redis_url: str | None = None,
) -> FastAPI:
    """The API on the configured database and Redis (or those given)."""
    settings = settings or Settings()
    api_settings = api_settings or ApiSettings()
    runtime = Runtime(
        settings,
        api_settings,
        database_url or configured_database_url(settings),
        redis_url if redis_url is not None else configured_redis_url(settings),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.open()
        # What start-up built (routes, models, the schema) lives as long as the worker: out
        # of the collector's way, a full collection need not walk it again and again.
        gc.freeze()
        # A request allocates a few thousand objects, nearly all freed by reference counting:
        # at Python's default (a young collection every 700 allocations) the collector took
        # about 6 % of a create's CPU. Cycles are still collected, if less often.
        gc.set_threshold(_YOUNG_COLLECTION_EVERY, *gc.get_threshold()[1:])
        purging = asyncio.create_task(purge_expired_records_forever(runtime))
        try:
            yield
        finally:
            purging.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await purging
            await runtime.close()

    app = FastAPI(
        title="BotCriptoFy2 write API",
        version="1",
        description="Writes to the operational tables and the tracking collector's events. "
        "See docs/api.md.",
        openapi_url="/v1/openapi.json",
        docs_url="/v1/docs",
        redoc_url=None,
        lifespan=lifespan,
        # No OpenTelemetry instrumentation (telemetry is off everywhere); asking on every
        # request whether a provider was configured cost 4 % of a create.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.runtime = runtime
    errors.install(app)
    # Added to the app's own router, not included: an included router is matched twice.
    track.add_routes(app.router, "/v1", api_settings.max_track_events)
    routes.add_routes(app.router, "/v1", api_settings.page_max)
    app.add_middleware(BodySizeLimit, limit=api_settings.max_body_bytes)

    @app.get("/healthz", tags=["health"], summary="The process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], summary="The database and Redis answer")
    async def readyz() -> JSONResponse:
        checks: dict[str, Any] = {}
        try:
            async with runtime.pool.connection(timeout=5) as conn:
                await conn.execute("SELECT 1")
            checks["database"] = "ok"
        except Exception as error:  # any failure means not ready; the reason is shown
            checks["database"] = f"unavailable: {type(error).__name__}"
        if runtime.redis is None:
            checks["redis"] = "not configured"
        else:
            try:
                await runtime.redis.ping()
                checks["redis"] = "ok"
            except Exception as error:
                checks["redis"] = f"unavailable: {type(error).__name__}"
        ready = checks["database"] == "ok" and checks["redis"] in ("ok", "not configured")
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    _add_component_schemas(app)
    dispatch.install(app)
    return app


def _add_component_schemas(app: FastAPI) -> None:
    """The document's `components.schemas` also hold the schemas the bodies refer to."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        document = app.openapi_schema
        if document is None:
            document = build()  # which FastAPI keeps as app.openapi_schema
            document.setdefault("components", {}).setdefault("schemas", {}).update(
                COMPONENT_SCHEMAS
            )
        return document

    app.openapi = openapi  # type: ignore[method-assign]
