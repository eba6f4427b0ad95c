"""Webhook deliveries of the billing simulation's Stripe events, and the payments files.

`deliveries` turns the events into webhook deliveries: most arrive within seconds, a few are
delivered twice (a retry minutes to days later, sometimes in the next month's file) or late.
`payment_files` writes one `.jsonl.gz` per month of delivery, lines in arrival order, which
is not `created` order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from demo_data.seeding import stream
from demo_data.world import BRT

DUPLICATE_SHARE = 0.012
LATE_SHARE = 0.004
DAY = 86400


def _dt(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def deliveries(events: list[dict[str, Any]], seed: int, window_end: int) -> list[tuple[int, bytes]]:
    """(delivered_at, line) for every delivery: most events once within seconds, some twice,
    some late; never after the window's end."""
    rng = stream(seed, "webhooks")
    n = len(events)
    lag = rng.exponential(2.0, size=n) + 0.5
    late = rng.random(n) < LATE_SHARE
    lag[late] += rng.uniform(3600, 3 * DAY, size=int(late.sum()))
    again = rng.random(n) < DUPLICATE_SHARE
    retry_lag = rng.choice([300.0, 3600.0, 6 * 3600.0, 26 * 3600.0, 3 * DAY], size=n)
    out: list[tuple[int, bytes]] = []
    for index, body in enumerate(events):
        line = orjson.dumps(body)
        first = min(int(body["created"] + lag[index]), window_end - 1)
        out.append((first, line))
        if again[index]:
            second = int(first + retry_lag[index])
            if second < window_end:
                out.append((second, line))
    # Concurrent deliveries: arrival order is only roughly time order.
    jitter = rng.uniform(0, 90, size=len(out))
    order = sorted(range(len(out)), key=lambda i: (out[i][0] + jitter[i], i))
    return [out[i] for i in order]


def payment_files(delivered: list[tuple[int, bytes]]) -> dict[str, bytes]:
    """One JSON Lines body per local month of delivery: {"2025-06": b"...\\n..."}."""
    months: dict[str, list[bytes]] = {}
    for at, line in delivered:
        key = _dt(at).astimezone(BRT).strftime("%Y-%m")
        months.setdefault(key, []).append(line)
    return {key: b"\n".join(lines) + b"\n" for key, lines in sorted(months.items())}
