"""One line of a payments file as a Stripe event: the file's non-blank lines (gzip or not)
and each event's envelope, checked (`read_event`), with the order events of the same second
are taken in (`Event.order`). Anything unreadable is a `RecordError` with its reason.
"""

from __future__ import annotations

import codecs
import gzip
import json
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ingestion.parsing.storable import unstorable
from ingestion.sources.stripe_objects import RecordError, flag, object_id, required_timestamp, show

# Order of events stamped in the same second: what creates an object before what updates
# it, before what closes it.
LIFECYCLE_RANK = {
    "customer.subscription.created": 0,
    "charge.succeeded": 0,
    "charge.failed": 0,
    "charge.dispute.created": 0,
    "refund.created": 0,
    "charge.refunded": 2,
    "charge.dispute.closed": 2,
    "charge.dispute.funds_reinstated": 2,
    "customer.subscription.deleted": 2,
}


@dataclass(frozen=True)
class Event:
    line: int
    raw: str  # the line as sent: the payload and, when rejected, the quarantined record
    body: dict[str, Any]
    id: str
    type: str
    created_unix: int
    created: datetime
    api_version: str | None
    livemode: bool
    object: Mapping[str, Any]
    object_type: str
    object_id: str

    def order(self) -> tuple[int, int, str, int]:
        return (self.created_unix, LIFECYCLE_RANK.get(self.type, 1), self.id, self.line)


def read_event(line: int, raw: str) -> Event:
    """The event's own fields, checked; anything unreadable is a RecordError."""
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise RecordError(
            f"malformed JSON: {exc.msg} at column {exc.colno}: expected one Stripe event "
            "object per line"
        ) from exc
    except ValueError as exc:
        raise RecordError(f"malformed JSON: {exc}: expected one Stripe event per line") from exc
    if not isinstance(body, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean"}.get(type(body), "a number")
        raise RecordError(
            f"the line is {'null' if body is None else kind}, not a JSON object: expected one "
            "Stripe event object per line"
        )
    if (found := unstorable(body)) is not None:
        raise RecordError(found[1])
    declared = body.get("object")
    if declared is not None and declared != "event":
        raise RecordError(
            f"object {show(declared)} is not 'event': expected a Stripe event (evt_...) as sent"
        )
    event_id = _text(body, "id", "event", 255)
    event_type = _text(body, "type", "event", 100)
    created = required_timestamp(body, "created", "event")
    api_version = body.get("api_version")
    if api_version is not None and (not isinstance(api_version, str) or len(api_version) > 50):
        raise RecordError(f"event.api_version {show(api_version)} is not a version string")
    livemode = flag(body, "livemode", "event")
    data = body.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        raise RecordError("event.data.object is missing: expected the Stripe object of the event")
    return Event(
        line=line,
        raw=raw,
        body=body,
        id=event_id,
        type=event_type,
        created_unix=body["created"],
        created=created,
        api_version=api_version,
        livemode=livemode,
        object=obj,
        object_type=_text(obj, "object", "data.object", 50),
        object_id=object_id(obj, "data.object"),
    )


def _text(obj: Mapping[str, Any], key: str, where: str, limit: int) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        missing = key not in obj or value is None
        state = "is missing" if missing else f"{show(value)} is not a non-empty string"
        raise RecordError(f"{where}.{key} {state}")
    if len(value) > limit:
        raise RecordError(f"{where}.{key} is {len(value)} characters: at most {limit}")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def read_lines(data: bytes, file_name: str) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, bytes) of each non-blank line; gzip is recognised by its magic."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{file_name}: not a readable gzip file ({exc})") from exc
    for number, line in enumerate(data.split(b"\n"), start=1):
        text = line.rstrip(b"\r")
        if number == 1 and text.startswith(codecs.BOM_UTF8):
            text = text[len(codecs.BOM_UTF8) :]
        if text.strip():
            yield number, text
