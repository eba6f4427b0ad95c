"""`POST /v1/track`: what the drain accepts, on the stream; with Redis gone, straight to the
database through the loader; nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis

from core.services import LocalRedis
from core.settings import Settings
from ingestion import stream
from tests.api.conftest import World, client, make_app, serving
from write_api.track import TRACKING_EVENT_SCHEMA, BatchValidator


def event(**overrides: Any) -> dict[str, Any]:
    at = datetime(2026, 11, 20, 12, tzinfo=UTC) + timedelta(seconds=uuid.uuid4().int % 86_400)
    return {
        "event_id": str(uuid.uuid4()),
        "occurred_at": at.isoformat().replace("+00:00", "Z"),
        "session_id": f"s-{uuid.uuid4().hex[:8]}",
        "ip": "177.72.0.1",
        "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0 Safari/537.36",
        "page_url": "https://botcriptofy.com.br/precos",
        "utm_source": "google",
        "visit_duration": 12,
        **overrides,
    }


def _stored(database_url: str, ids: list[str]) -> set[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT source_record_id FROM public.visitor_tracking WHERE source_record_id = ANY(%s)",
            (ids,),
        ).fetchall()
    return {row[0] for row in rows}


def test_a_batch_goes_on_the_stream_and_the_drain_loads_it(
    world: World, redis_client: redis.Redis
) -> None:
    events = [event() for _ in range(100)]
    response = world.a.client.post("/v1/track", json={"events": events})
    assert response.status_code == 202, response.text
    answer = response.json()
    assert (answer["accepted"], answer["delivery"]) == (100, "stream")

    drained = stream.drain(redis_client, world.database_url, Settings())
    assert drained.rows_loaded == 100
    assert drained.rows_quarantined == 0
    ids = [e["event_id"] for e in events]
    assert _stored(world.database_url, ids) == set(ids)


def test_a_batch_with_a_bad_event_is_refused_whole(world: World, redis_client: redis.Redis) -> None:
    events = [event(), event(ip="999.1.1.1"), event(occurred_at="yesterday")]
    response = world.a.client.post("/v1/track", json={"events": events})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == "events[1]"
    assert [d["field"] for d in error["details"]] == ["events[1]", "events[2]"]
    assert "ip '999.1.1.1'" in error["details"][0]["message"]
    assert redis_client.xlen(Settings().stream_key) == 0
    assert world.a.client.post("/v1/track", json={"events": []}).status_code == 422
    assert world.a.client.post("/v1/track", json={"events": "x"}).status_code == 422


def test_redis_stopped_mid_run_loses_no_event(
    world: World, api_database_url: str, tmp_path: Path
) -> None:
    private = LocalRedis(tmp_path)
    private.start()
    url = private.url()
    batches = [[event() for _ in range(20)] for _ in range(24)]
    stopped = threading.Event()
    answers: list[httpx.Response] = []

    with serving(make_app(api_database_url, url)) as base:
        sender = client(base, world.a.key)

        def send(batch: list[dict[str, Any]]) -> httpx.Response:
            if len(answers) >= 8 and not stopped.is_set():
                stopped.set()
                private.stop()  # mid-run: other senders are in flight
            response = sender.post("/v1/track", json={"events": batch})
            answers.append(response)
            return response

        with ThreadPoolExecutor(max_workers=4) as senders:
            list(senders.map(send, batches))
        sender.close()

    assert [r.status_code for r in answers] == [202] * len(batches)
    deliveries = {r.json()["delivery"] for r in answers}
    assert deliveries == {"stream", "database"}
    # Redis back (its append-only file kept the stream): drain what was queued before the stop.
    private.start()
    try:
        queued = redis.Redis.from_url(private.url())
        stream.drain(queued, api_database_url, Settings())
        queued.close()
    finally:
        private.stop()
    ids = [e["event_id"] for batch in batches for e in batch]
    assert _stored(api_database_url, ids) == set(ids)
    assert world.count(
        "SELECT count(*) FROM public.visitor_tracking WHERE source_record_id = ANY(%s)", ids
    ) == len(ids)


def test_requests_validated_together_get_only_their_own_refusals() -> None:
    shared_id = str(uuid.uuid4())
    first = [event(event_id=shared_id, occurred_at="2026-11-20T10:00:00Z"), event()]
    second = [event(ip="not-an-ip"), event(event_id=shared_id, occurred_at="2026-11-21T10:00:00Z")]
    third = [event(), event(), event(page_url="ftp://x")]

    async def together() -> list[list[dict[str, Any]]]:
        validator = BatchValidator()
        return await asyncio.gather(*(validator.refusals(ev) for ev in (first, second, third)))

    mine, theirs, others = asyncio.run(together())
    assert mine == []  # the same id at another time in another request is not this one's fault
    assert [r["field"] for r in theirs] == ["events[0]"]
    assert [r["field"] for r in others] == ["events[2]"]


def _json(value: Any) -> bytes:
    return httpx.Request("POST", "/", json=value).content


def _with_field(value: dict[str, Any], name: str, raw_json: bytes) -> bytes:
    """`value` as JSON with one more field whose JSON text is `raw_json`, as sent."""
    return _json(value)[:-1] + b', "%s": %s}' % (name.encode(), raw_json)


def test_the_documented_page_url_leaves_out_the_nul_the_api_refuses() -> None:
    """The document says what the API takes: a NUL in the host as in the path is refused
    (a client generating from the schema once sent one in the host, and got a 422)."""
    pattern = TRACKING_EVENT_SCHEMA["properties"]["page_url"]["pattern"]
    assert re.search(pattern, "https://example.com/a?b=c")
    for url in ("https://exa\x00mple.com/", "https://example.com/a\x00b", "https://\x00/"):
        assert not re.search(pattern, url), repr(url)


def test_bad_bodies_get_a_json_4xx_naming_the_problem(world: World) -> None:
    """Deep nesting, a NUL, a lone surrogate, malformed JSON: a JSON 4xx, never a 5xx."""
    http = world.a.client
    cases: list[tuple[bytes, str]] = []
    for depth in (200, 255, 300, 600, 1_020):
        deep = b'{"k":' * (depth // 2) + b"[" * (depth // 2) + b"]" * (depth // 2)
        deep += b"}" * (depth // 2)
        body = b'{"events": [%s, %s]}' % (_json(event()), _with_field(event(), "extra", deep))
        cases.append((body, "events[1].extra"))
    far = b'{"events": [' + b"[" * 5_000 + b"]" * 5_000 + b"]}"
    cases.append((far, "body"))
    for field, value in (("page_title", "a\\u0000b"), ("visitor_id", "\\ud800"), ("x", "\\u0000")):
        bad = _with_field(event(), field, b'"%s"' % value.encode())
        cases.append((b'{"events": [%s, %s]}' % (_json(event()), bad), f"events[1].{field}"))
    cases.append((b'{"events": [{"a": "\x00"}]}', "events[0].a"))  # a raw NUL byte
    for body, field in cases:
        response = http.post(
            "/v1/track", content=body, headers={"Content-Type": "application/json"}
        )
        assert 400 <= response.status_code < 500, (field, response.status_code, response.text)
        error = response.json()["error"]
        assert error["field"] == field, (field, error)
        assert error["message"]
