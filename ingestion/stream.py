"""The tracking stream: web events the write API puts on Redis, drained into visitor_tracking.

Each stream entry is one batch from the collector: the field `events` holds a JSON array of
tracking events in the format of `ingestion.sources.tracking` (a malformed entry is
quarantined, never dropped). A consumer group drains it: read a batch of entries (plus
entries another consumer left pending for longer than `stream_claim_idle_ms`, taken over
with XAUTOCLAIM), load them as one ledger batch in one transaction, commit, then XACK and
XDEL. A crash between commit and ack leaves the entries pending; whoever takes them over
loads them again, which changes nothing (the same entries are the same ledger content,
and every event is keyed by its id). A batch that fails to load because of what it holds is
bisected: only the entries that fail on their own move to the dead-letter stream, each with
the error as its reason; the others load and the drain reads on. An outage (the database or
Redis unreachable) is raised instead, and the batch retried as it is. An entry delivered
more than `stream_max_deliveries` times moves to the dead-letter stream with the reason.
XADD trims the stream to about `stream_maxlen` undrained entries.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import psycopg
import redis

from core.settings import Settings
from ingestion.load.loader import BatchResult, Database, load_parsed
from ingestion.sources.tracking import SOURCE as tracking_source

Entry = tuple[str, dict[bytes, bytes]]


@dataclass
class DrainResult:
    entries: int = 0
    dead_lettered: int = 0
    batches: list[BatchResult] = field(default_factory=list)

    @property
    def rows_loaded(self) -> int:
        return sum(b.rows_loaded for b in self.batches if not b.already_loaded)

    @property
    def rows_quarantined(self) -> int:
        return sum(b.rows_quarantined for b in self.batches if not b.already_loaded)

    @property
    def rows_duplicate(self) -> int:
        return sum(b.rows_duplicate for b in self.batches if not b.already_loaded)


def entry_fields(events: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The fields of the stream entry for one batch (the write API XADDs the same)."""
    try:
        encoded = orjson.dumps(list(events), default=str).decode()
    except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits: the slower encoder
        encoded = json.dumps(list(events), separators=(",", ":"), default=str)
    return {"events": encoded}


def publish(client: redis.Redis, events: Sequence[Mapping[str, Any]], settings: Settings) -> str:
    """Put one batch of tracking events on the stream; returns the entry id."""
    entry_id = client.xadd(
        settings.stream_key,
        entry_fields(events),  # type: ignore[arg-type]
        maxlen=settings.stream_maxlen,
        approximate=True,
    )
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def ensure_group(client: redis.Redis, settings: Settings) -> None:
    try:
        client.xgroup_create(settings.stream_key, settings.stream_group, id="0", mkstream=True)
    except redis.ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise


def drain(
    client: redis.Redis,
    db: Database,
    settings: Settings,
    *,
    consumer: str | None = None,
    max_batches: int | None = None,
) -> DrainResult:
    """Load everything on the stream (up to `max_batches` batches) and acknowledge it."""
    consumer = consumer or consumer_name()
    ensure_group(client, settings)
    result = DrainResult()
    while max_batches is None or len(result.batches) < max_batches:
        # Only taken-over entries can have been delivered before: new ones skip the count.
        if stale := _take_over_stale(client, settings, consumer):
            entries = _dead_letter_exhausted(client, settings, stale, result)
        elif not (entries := _read_new(client, settings, consumer)):
            break
        if entries:
            _load_isolating(client, db, settings, entries, result)
            result.entries += len(entries)
            _acknowledge(client, settings, [entry_id for entry_id, _ in entries])
    return result


# Failures that say nothing about the entries (the database or Redis is unreachable, a
# deadlock, a serialization failure): the batch is retried later as it is, never bisected.
_OUTAGES = (psycopg.OperationalError, psycopg.InterfaceError, redis.RedisError)


def _load_isolating(
    client: redis.Redis, db: Database, settings: Settings, entries: list[Entry], result: DrainResult
) -> None:
    """Load `entries`; when that fails because of what they hold, bisect them so that only
    the entries that fail on their own are dead-lettered (with the error as the reason) and
    every other one loads. The stream keeps moving: nothing is left pending for a retry that
    would fail the same way."""
    try:
        result.batches.append(_load(db, settings, entries))
    except _OUTAGES:
        raise
    except Exception as error:
        if len(entries) > 1:
            middle = len(entries) // 2
            _load_isolating(client, db, settings, entries[:middle], result)
            _load_isolating(client, db, settings, entries[middle:], result)
            return
        [(entry_id, fields)] = entries
        reason = f"loading it failed: {type(error).__name__}: {error}"
        _dead_letter(client, settings, entry_id, fields, reason[:2000], deliveries=1)
        result.dead_lettered += 1


def _read_new(client: redis.Redis, settings: Settings, consumer: str) -> list[Entry]:
    # RESP2 replies ([[stream, entries]]); redis-py's types also cover RESP3's shape.
    response: Any = client.xreadgroup(
        settings.stream_group,
        consumer,
        {settings.stream_key: ">"},
        count=settings.stream_batch_entries,
    )
    if not response:
        return []
    _, entries = response[0]
    return [(_text(entry_id), fields) for entry_id, fields in entries]


def _take_over_stale(client: redis.Redis, settings: Settings, consumer: str) -> list[Entry]:
    """Entries pending with a consumer (maybe this one, before a crash) for too long."""
    response: Any = client.xautoclaim(
        settings.stream_key,
        settings.stream_group,
        consumer,
        min_idle_time=settings.stream_claim_idle_ms,
        start_id="0-0",
        count=settings.stream_batch_entries,
    )
    claimed = response[1]
    # Entries deleted from the stream while pending come back as None.
    return [(_text(entry_id), fields) for entry_id, fields in claimed if fields is not None]


def _dead_letter_exhausted(
    client: redis.Redis, settings: Settings, entries: list[Entry], result: DrainResult
) -> list[Entry]:
    """Move entries delivered too often to the dead-letter stream; return the rest."""
    ids = [entry_id for entry_id, _ in entries]
    pending: Any = client.xpending_range(
        settings.stream_key, settings.stream_group, min=ids[0], max=ids[-1], count=len(ids) * 2
    )
    deliveries = {_text(p["message_id"]): int(p["times_delivered"]) for p in pending}
    live = []
    for entry_id, fields in entries:
        times = deliveries.get(entry_id, 1)
        if times <= settings.stream_max_deliveries:
            live.append((entry_id, fields))
            continue
        reason = (
            f"not loaded after {times} deliveries (limit BCF_STREAM_MAX_DELIVERIES="
            f"{settings.stream_max_deliveries}); see the ingest logs and raw.ingest_batches "
            "for failed stream batches"
        )
        _dead_letter(client, settings, entry_id, fields, reason, deliveries=times)
        result.dead_lettered += 1
    return live


def _dead_letter(
    client: redis.Redis,
    settings: Settings,
    entry_id: str,
    fields: dict[bytes, bytes],
    reason: str,
    *,
    deliveries: int,
) -> None:
    """Move one entry to the dead-letter stream with why, and take it off the stream."""
    dead_letter: dict[Any, Any] = dict(fields)
    dead_letter[b"original_id"] = entry_id
    dead_letter[b"deliveries"] = deliveries
    dead_letter[b"reason"] = reason
    client.xadd(settings.stream_dead_letter_key, dead_letter)
    _acknowledge(client, settings, [entry_id])


def _load(db: Database, settings: Settings, entries: list[Entry]) -> BatchResult:
    events = [event for _, fields in entries for event in _events_of(fields)]
    ids = [entry_id for entry_id, _ in entries]
    content_key = hashlib.sha256(" ".join(sorted(ids)).encode()).hexdigest()
    return load_parsed(
        db,
        tracking_source,
        lambda context: tracking_source.parse_events(events, context),
        origin=f"redis stream {settings.stream_key} entries {ids[0]}..{ids[-1]} ({len(ids)})",
        content_key=content_key,
        settings=settings,
    )


def _events_of(fields: dict[bytes, bytes]) -> list[Any]:
    """The events of one entry; what cannot be decoded stays as text, to be quarantined."""
    raw = fields.get(b"events")
    if raw is None:
        return [f"stream entry without an 'events' field: {fields!r}"]
    try:
        decoded = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        return [f"stream entry 'events' is not JSON ({error}): {raw[:500]!r}"]
    return decoded if isinstance(decoded, list) else [decoded]


def _acknowledge(client: redis.Redis, settings: Settings, ids: list[str]) -> None:
    pipe = client.pipeline(transaction=True)
    pipe.xack(settings.stream_key, settings.stream_group, *ids)
    pipe.xdel(settings.stream_key, *ids)
    pipe.execute()


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
