"""Requests per API key and clock minute, counted in Redis a block of requests at a time.

A worker takes slots from the key's counter for the minute in blocks (one `INCRBY`) and
spends them itself, so Redis sees one round trip per block instead of one per request (the
round trip was a fifth of a create's CPU). Across workers the count never admits more than
the limit: a block that would pass it is cut to what is left. What that costs: slots one
worker took and has not spent are not the others', so near the end of a busy minute a key
may be refused up to (workers - 1) x (block - 1) requests early. A block is 1 % of the limit
(at most 64), so limits under 200 a minute are counted request by request.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, TypeVar

import redis.asyncio as aioredis

T = TypeVar("T")
# Runtime.with_redis: (True, result), or (False, None) while Redis is unset or failing.
WithRedis = Callable[[Callable[[aioredis.Redis], Awaitable[T]]], Awaitable[tuple[bool, T | None]]]

MAX_BLOCK: Final = 64
_COUNTER_TTL_SECONDS: Final = 120  # outlives its minute; never read after it


@dataclass
class _Lease:
    minute: int
    left: int


class RateLimiter:
    def __init__(self, limit_per_minute: int) -> None:
        self.limit = limit_per_minute
        self.block = max(1, min(MAX_BLOCK, limit_per_minute // 100))
        self._leases: dict[uuid.UUID, _Lease] = {}

    async def admit(self, with_redis: WithRedis[int], key_id: uuid.UUID, minute: int) -> bool:
        """Whether one more request of `key_id` fits in `minute`; without Redis, always."""
        lease = self._leases.get(key_id)
        if lease is not None and lease.minute == minute and lease.left > 0:
            lease.left -= 1
            return True
        counter = f"bcf:api:rate:{key_id}:{minute}"

        async def reserve(client: aioredis.Redis) -> int:
            taken = int(await client.incrby(counter, self.block))
            if taken == self.block:  # the minute's first block sets the expiry
                await client.expire(counter, _COUNTER_TTL_SECONDS)
            return taken

        answered, taken = await with_redis(reserve)
        if not answered or taken is None:
            return True
        granted = min(self.block, self.limit - (taken - self.block))
        if granted <= 0:
            return False
        # Read again: another request of this worker may have leased a block meanwhile.
        lease = self._leases.get(key_id)
        if lease is None or lease.minute != minute:
            lease = self._leases[key_id] = _Lease(minute, 0)
        lease.left += granted - 1  # one slot is this request's
        return True
