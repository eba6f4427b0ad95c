"""The tracking stream on real Redis and PostgreSQL: drained exactly once, whatever happens."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import redis

from core.settings import Settings
from ingestion import stream

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures/landing/tracking/events_2026-11-24.jsonl"
EVENTS = [json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip()]
# Taken-over entries must have been idle at least this long; Redis counts whole milliseconds.
CLAIM_IDLE_MS = 1


@pytest.fixture
def settings(
    migrated_database_url: str, redis_server_url: str, redis_client: redis.Redis
) -> Settings:
    return Settings(
        database_url=migrated_database_url,
        redis_url=redis_server_url,
        stream_key=f"test:tracking:{uuid.uuid4().hex[:8]}",
        stream_dead_letter_key=f"test:dead:{uuid.uuid4().hex[:8]}",
        stream_batch_entries=2,
    )


def _rows(settings: Settings, sql: str) -> list[tuple[object, ...]]:
    assert settings.database_url
    with psycopg.connect(settings.database_url) as conn:
        return conn.execute(sql).fetchall()


def _wait_past_claim_idle() -> None:
    """Let pending entries age past CLAIM_IDLE_MS, or a fast retry finds nothing to take over."""
    time.sleep(10 * CLAIM_IDLE_MS / 1000)


def _publish_in_batches(client: redis.Redis, settings: Settings, size: int = 10) -> None:
    for start in range(0, len(EVENTS), size):
        stream.publish(client, EVENTS[start : start + size], settings)


def test_drain_loads_every_event_once_and_empties_the_stream(
    redis_client: redis.Redis, settings: Settings
) -> None:
    _publish_in_batches(redis_client, settings)
    assert settings.database_url
    result = stream.drain(redis_client, settings.database_url, settings)

    assert (result.entries, result.rows_loaded, result.rows_quarantined) == (3, 30, 0)
    assert len(result.batches) == 2  # batches of 2 entries: 2 + 1
    assert _rows(settings, "SELECT count(*) FROM visitor_tracking") == [(30,)]
    assert _rows(settings, "SELECT count(*) FROM visitor_sessions") == [(10,)]
    assert redis_client.xlen(settings.stream_key) == 0
    assert redis_client.xpending(settings.stream_key, settings.stream_group)["pending"] == 0

    # The same events again (a collector retry) are duplicates, not rows.
    _publish_in_batches(redis_client, settings)
    again = stream.drain(redis_client, settings.database_url, settings)
    assert (again.rows_loaded, again.rows_duplicate) == (0, 30)
    assert _rows(settings, "SELECT count(*) FROM visitor_tracking") == [(30,)]


def test_malformed_entries_are_quarantined_not_lost(
    redis_client: redis.Redis, settings: Settings
) -> None:
    redis_client.xadd(settings.stream_key, {"events": b"[{not json"})
    redis_client.xadd(settings.stream_key, {"something": b"else"})
    stream.publish(redis_client, EVENTS[:1], settings)
    assert settings.database_url
    result = stream.drain(redis_client, settings.database_url, settings)

    assert (result.rows_loaded, result.rows_quarantined) == (1, 2)
    raw = [row[0] for row in _rows(settings, "SELECT raw_record FROM raw.quarantine")]
    assert any("[{not json" in record for record in raw)
    assert any("without an 'events' field" in record for record in raw)


def test_crash_between_commit_and_ack_duplicates_nothing(
    redis_client: redis.Redis, settings: Settings
) -> None:
    _publish_in_batches(redis_client, settings)
    env = {
        **os.environ,
        "BCF_DATABASE_URL": str(settings.database_url),
        "BCF_REDIS_URL": str(settings.redis_url),
        "BCF_STREAM_KEY": settings.stream_key,
        "BCF_STREAM_BATCH_ENTRIES": str(settings.stream_batch_entries),
    }
    crashed = subprocess.run(
        [sys.executable, "-m", "tests.support.stream_crash"],
        env=env, cwd=Path(__file__).resolve().parents[2], capture_output=True, check=False,
    )  # fmt: skip
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr.decode()
    # The first batch committed, then the process died: its entries are still pending.
    assert _rows(settings, "SELECT count(*) FROM visitor_tracking") == [(20,)]
    assert redis_client.xpending(settings.stream_key, settings.stream_group)["pending"] == 2

    recovering = settings.model_copy(update={"stream_claim_idle_ms": CLAIM_IDLE_MS})
    _wait_past_claim_idle()
    result = stream.drain(redis_client, str(settings.database_url), recovering)

    assert result.batches[0].already_loaded  # the taken-over entries: the same ledger content
    assert _rows(settings, "SELECT count(*), count(DISTINCT id) FROM visitor_tracking") == [
        (30, 30)
    ]
    assert _rows(
        settings,
        "SELECT count(*), sum(rows_in) FROM raw.ingest_batches WHERE status = 'completed'",
    ) == [(2, 30)]
    assert redis_client.xlen(settings.stream_key) == 0


def test_entries_that_keep_failing_move_to_the_dead_letters(
    redis_client: redis.Redis, settings: Settings
) -> None:
    stream.publish(redis_client, EVENTS[:3], settings)
    failing = settings.model_copy(
        update={"stream_claim_idle_ms": CLAIM_IDLE_MS, "stream_max_deliveries": 2}
    )
    unreachable = "postgresql://postgres@127.0.0.1:1/nowhere"
    for _ in range(2):
        with pytest.raises(psycopg.OperationalError):
            stream.drain(redis_client, unreachable, failing)
        _wait_past_claim_idle()

    result = stream.drain(redis_client, unreachable, failing)

    assert result.dead_lettered == 1
    [(_, fields)] = redis_client.xrange(settings.stream_dead_letter_key)
    assert json.loads(fields[b"events"]) == EVENTS[:3]
    assert b"not loaded after 3 deliveries" in fields[b"reason"]
    assert redis_client.xlen(settings.stream_key) == 0


def test_the_stream_is_capped(redis_client: redis.Redis, settings: Settings) -> None:
    capped = settings.model_copy(update={"stream_maxlen": 100})
    for _ in range(1000):
        stream.publish(redis_client, EVENTS[:1], capped)
    # MAXLEN ~ trims whole radix-tree nodes (100 entries by default): near the cap, not exact.
    assert 100 <= redis_client.xlen(settings.stream_key) < 300


def test_one_poison_entry_is_dead_lettered_and_the_rest_loads(
    redis_client: redis.Redis, settings: Settings
) -> None:
    """A batch that fails to load is bisected: only the entry failing on its own is
    dead-lettered, with its reason; the 50 others load and the stream moves on."""
    assert settings.database_url
    with psycopg.connect(settings.database_url) as conn:  # a refusal the checks cannot foresee
        conn.execute(
            "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.page_title = 'poison' THEN RAISE EXCEPTION 'poison event refused'; END IF; "
            "RETURN NEW; END $$"
        )
        conn.execute(
            "CREATE TRIGGER refuse_poison BEFORE INSERT ON public.visitor_tracking "
            "FOR EACH ROW EXECUTE FUNCTION refuse_poison()"
        )
    wide = settings.model_copy(update={"stream_batch_entries": 64})
    good = [
        {**EVENTS[n % len(EVENTS)], "event_id": str(uuid.uuid4()), "page_title": f"page {n}"}
        for n in range(50)
    ]
    poison = {**EVENTS[0], "event_id": str(uuid.uuid4()), "page_title": "poison"}
    for n, event in enumerate(good):
        if n == 17:
            poison_id = stream.publish(redis_client, [poison], wide)
        stream.publish(redis_client, [event], wide)

    result = stream.drain(redis_client, settings.database_url, wide)

    assert (result.entries, result.rows_loaded, result.dead_lettered) == (51, 50, 1)
    assert _rows(settings, "SELECT count(*) FROM visitor_tracking") == [(50,)]
    [(_, fields)] = redis_client.xrange(settings.stream_dead_letter_key)
    assert fields[b"original_id"].decode() == poison_id
    assert json.loads(fields[b"events"]) == [poison]
    assert b"poison event refused" in fields[b"reason"]
    assert redis_client.xlen(settings.stream_key) == 0
    assert redis_client.xpending(settings.stream_key, settings.stream_group)["pending"] == 0

    # No stall: what comes next is read and loaded.
    stream.publish(redis_client, [{**EVENTS[1], "event_id": str(uuid.uuid4())}], wide)
    assert stream.drain(redis_client, settings.database_url, wide).rows_loaded == 1
