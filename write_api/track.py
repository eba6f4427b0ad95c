"""`POST /v1/track`: a batch of web tracking events from the collector.

The events are checked by the tracking source itself (`ingestion.sources.tracking`), so
what this route accepts is exactly what the stream's drain loads; a batch with a refused
event is a 422 naming each one (`events[3]: ip '999.1.1.1' ...`) and nothing of it is kept.
An accepted batch is one entry on the Redis stream (`ingestion.stream.entry_fields`). When
Redis is down or refuses the entry, the batch is loaded straight into the database through
the loader (`ingestion.load.load_parsed`, as role `bcf_pipeline`), the same path as the
drain, so the event id still deduplicates and nothing is lost or loaded twice.
"""

# No `from __future__ import annotations`: FastAPI reads the route's annotations.

import asyncio
import hashlib
import json
import uuid
from typing import Annotated, Any, Literal

import orjson
import psycopg
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field, WithJsonSchema, create_model
from starlette.concurrency import run_in_threadpool

from core.db.access import PIPELINE_ROLE
from core.db.engine import libpq_url
from ingestion import stream
from ingestion.load.loader import load_parsed
from ingestion.parsing import storable
from ingestion.sources.tracking import SOURCE as tracking_source
from ingestion.sources.tracking import refusals as tracking_refusals
from ingestion.sources.tracking_rows import (
    EVENT_TYPES,
    INT4_MAX,
    MAX_CONVERSION_VALUE,
    REQUIRED,
    TEXT_LIMITS,
)
from write_api.auth import authenticate, runtime_of
from write_api.dispatch import RequestOnlyRoute, body_schema
from write_api.errors import ERROR_RESPONSES, ApiError
from write_api.idempotency import Outcome, RecordTransaction, run_write
from write_api.models import STORABLE_JSON_MARK, STORABLE_TEXT_PATTERN
from write_api.runtime import Runtime

EXAMPLE_EVENT = {
    "event_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "occurred_at": "2026-11-25T14:03:12Z",
    "session_id": "s_8c1f",
    "visitor_id": "v_21aa",
    "ip": "177.72.0.1",
    "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1",
    "page_url": "https://botcriptofy.com.br/precos",
    "utm_source": "google",
    "visit_duration": 42,
}


# A date-time the tracking source takes: ISO-8601 with an offset or Z, years 2000-2099. A
# pattern rather than `format: date-time`, which says nothing of the years; it leaves out
# 29 February, which the source also takes.
_OCCURRED_AT = (
    r"^20\d\d-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"
    r"|(?:0[13578]|1[02])-31)[T ](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?"
    r"(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$"
)


def _text_schema(name: str) -> dict[str, Any]:
    # An empty string or null counts as absent, so a required field needs one character.
    limits = {"minLength": 1} if name in REQUIRED else {}
    if (most := TEXT_LIMITS[name]) is not None:
        limits["maxLength"] = most
    text = {"type": "string", "pattern": STORABLE_TEXT_PATTERN, **limits}
    return text if name in REQUIRED else {"anyOf": [text, {"type": "null"}]}


# What the tracking source (`ingestion.sources.tracking`) accepts, stated as JSON Schema.
TRACKING_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A web tracking event (docs/landing.md, tracking). Unknown fields are "
    "kept in `metadata`. Also taken, as in landing files: a number where text is expected "
    "(its text), a digit string for visit_duration and a decimal string for "
    "conversion_value.",
    "required": list(REQUIRED),
    "properties": {
        **{name: _text_schema(name) for name in TEXT_LIMITS},
        "event_id": {"type": "string", "format": "uuid"},
        "occurred_at": {
            "type": "string",
            "pattern": _OCCURRED_AT,
            "description": "ISO-8601 date-time with an offset or Z, years 2000-2099.",
        },
        "ip": {
            "anyOf": [{"type": "string", "format": "ipv4"}, {"type": "string", "format": "ipv6"}]
        },
        "page_url": {
            **_text_schema("page_url"),
            "pattern": r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/\x00]+[^\x00]*$",
        },
        "visit_duration": {"type": "integer", "minimum": 0, "maximum": INT4_MAX},
        "event_type": {"enum": list(EVENT_TYPES)},
        "conversion_value": {"type": "number", "minimum": 0, "maximum": MAX_CONVERSION_VALUE},
        "currency": {"type": "string", "pattern": "^[A-Za-z]{3}$"},
    },
    "propertyNames": {"pattern": STORABLE_TEXT_PATTERN},
    "additionalProperties": STORABLE_JSON_MARK,
}


def track_batch_model(most: int) -> type[BaseModel]:
    """The documented body of `POST /v1/track`, 1 to `most` events (the route reads the
    body itself, with the tracking source's checks)."""
    events = {
        "type": "array",
        "items": TRACKING_EVENT_SCHEMA,
        "minItems": 1,
        "maxItems": most,
        "examples": [[EXAMPLE_EVENT]],
    }
    return create_model(
        "TrackBatch", events=(Annotated[list[dict[str, Any]], WithJsonSchema(events)], ...)
    )


class TrackAccepted(BaseModel):
    accepted: int = Field(description="Events taken; none is dropped.")
    delivery: Literal["stream", "database"] = Field(
        description="`stream`: queued on Redis for ingestion; `database`: Redis was down, "
        "loaded directly."
    )
    stream_entry_id: str | None = None
    batch_id: uuid.UUID | None = Field(None, description="raw.ingest_batches id (database).")


def _events_of(body: bytes, most: int) -> list[dict[str, Any]]:
    """The body's events: `{"events": [object, ...]}` with 1 to `most` of them, else a 422."""
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        _refuse_unstorable(_leniently(body))  # a lone surrogate, a raw NUL, deep nesting
        raise ApiError(
            422, "invalid_request", f"the body is not JSON: {error}", field="body"
        ) from None
    events = decoded.get("events") if isinstance(decoded, dict) else None
    if not isinstance(events, list) or not events:
        raise ApiError(
            422, "invalid_request", 'the body must be {"events": [event, ...]}', field="events"
        )
    if len(events) > most:
        raise ApiError(422, "too_many_events", f"at most {most} events per call", field="events")
    for position, event in enumerate(events):
        if not isinstance(event, dict):
            field = f"events[{position}]"
            raise ApiError(422, "invalid_event", f"{field} is not an object", field=field)
    # The loader's rule for text PostgreSQL cannot store (and nesting too deep to keep),
    # applied at the door so that `field` names the offending field of the event.
    if storable.may_be_unstorable(body):
        _refuse_unstorable(decoded)
    return events


def _leniently(body: bytes) -> object:
    """The body as the standard library reads it (lone surrogates and raw control characters
    pass), so that a refusal can name the field orjson stopped at; None if it cannot."""
    try:
        return json.loads(body.decode("utf-8", "replace"), strict=False)
    except (ValueError, RecursionError):
        return None


def _refuse_unstorable(decoded: object) -> None:
    """A 422 naming the first field of an event the loader would quarantine as unstorable."""
    events = decoded.get("events") if isinstance(decoded, dict) else None
    for position, event in enumerate(events if isinstance(events, list) else []):
        if found := storable.unstorable(event, f"events[{position}]"):
            raise ApiError(422, "invalid_event", found[1], field=found[0])


def _refusals(events: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """(0-based position, reason) of every event the tracking source refuses."""
    return [
        ((reject.record_number or 1) - 1, reject.reason) for reject in tracking_refusals(events)
    ]


_CLASH = "already came with occurred_at"  # one event id at two times: a batch-wide check


class BatchValidator:
    """Validates the events of concurrent requests together, in one `parse_events` call.

    Polars costs ~10 ms per call whatever the size, so 100 events alone are mostly overhead;
    requests that arrive while a validation runs wait for the next one and share it. Each
    request gets back only its own refusals. An event id sent at two times is refused only
    within one request: such a refusal across requests sends the request to be checked alone.
    """

    def __init__(self, max_events: int = 20_000) -> None:
        self.max_events = max_events
        self.waiting: list[tuple[list[dict[str, Any]], asyncio.Future[list[dict[str, Any]]]]] = []
        self.running: asyncio.Task[None] | None = None

    async def refusals(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        future: asyncio.Future[list[dict[str, Any]]] = asyncio.get_running_loop().create_future()
        self.waiting.append((events, future))
        if self.running is None or self.running.done():
            self.running = asyncio.create_task(self._validate_waiting())
        return await future

    async def _validate_waiting(self) -> None:
        while self.waiting:
            taken, count = 0, 0
            while taken < len(self.waiting) and (
                taken == 0 or count + len(self.waiting[taken][0]) <= self.max_events
            ):
                count += len(self.waiting[taken][0])
                taken += 1
            batch, self.waiting = self.waiting[:taken], self.waiting[taken:]
            try:
                found = await asyncio.to_thread(_refusals, [e for ev, _ in batch for e in ev])
            except Exception as error:  # every waiting request learns of it, none hangs
                for _, future in batch:
                    if not future.done():  # a caller that went away no longer waits
                        future.set_exception(error)
                continue
            start = 0
            for events, future in batch:
                end = start + len(events)
                own = [(at - start, why) for at, why in found if start <= at < end]
                if len(batch) > 1 and any(_CLASH in why for _, why in own):
                    own = await asyncio.to_thread(_refusals, events)
                if not future.done():
                    future.set_result(
                        [
                            {"field": f"events[{at}]", "message": why, "type": "invalid_event"}
                            for at, why in own
                        ]
                    )
                start = end


def _load_directly(runtime: Runtime, events: list[dict[str, Any]]) -> uuid.UUID:
    content = hashlib.sha256(orjson.dumps(events, option=orjson.OPT_SORT_KEYS)).hexdigest()
    with psycopg.connect(libpq_url(runtime.database_url), connect_timeout=10) as conn:
        conn.execute(f"SET ROLE {PIPELINE_ROLE}")
        conn.commit()
        result = load_parsed(
            conn,
            tracking_source,
            lambda context: tracking_source.parse_events(events, context),
            origin=f"write API /v1/track, Redis unavailable ({len(events)} events)",
            content_key=content,
            settings=runtime.settings,
        )
    return result.batch_id


async def _deliver(runtime: Runtime, events: list[dict[str, Any]]) -> Outcome:
    fields = stream.entry_fields(events)
    delivered, entry_id = await runtime.with_redis(
        lambda client: client.xadd(
            runtime.settings.stream_key,
            fields,  # type: ignore[arg-type]
            maxlen=runtime.settings.stream_maxlen,
            approximate=True,
        )
    )
    if delivered and entry_id is not None:
        text = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
        answer = TrackAccepted(
            accepted=len(events), delivery="stream", stream_entry_id=text, batch_id=None
        )
    else:
        batch_id = await run_in_threadpool(_load_directly, runtime, events)
        answer = TrackAccepted(accepted=len(events), delivery="database", batch_id=batch_id)
    return Outcome(202, answer.model_dump_json().encode())


def add_routes(router: APIRouter, prefix: str, most_events: int) -> None:
    validator = BatchValidator()

    async def track(request: Request) -> Response:
        # The key first, not as a FastAPI dependency: see routes._guard.
        principal = await authenticate(request, "track")
        runtime = runtime_of(request)
        events = _events_of(await request.body(), runtime.api.max_track_events)
        refusals = await validator.refusals(events)
        if refusals:
            raise ApiError(
                422,
                "invalid_event",
                f"{len(refusals)} of {len(events)} events refused; "
                f"first: {refusals[0]['field']}: {refusals[0]['message']}",
                field=refusals[0]["field"],
                details=refusals,
            )

        async def work(conn: RecordTransaction) -> Outcome:
            return await _deliver(runtime, events)

        return await run_write(request, runtime, principal, work)

    router.add_api_route(
        f"{prefix}/track",
        track,
        methods=["POST"],
        status_code=202,
        response_model=TrackAccepted,
        responses=ERROR_RESPONSES,
        tags=["tracking"],
        summary="Queue a batch of web tracking events",
        route_class_override=RequestOnlyRoute,
        # The body is read here (orjson), not by FastAPI: a third of the route's time was
        # JSON decoding and a generic validation the tracking source repeats anyway.
        openapi_extra=body_schema(track_batch_model(most_events)),
    )
