"""One-statement writes that arrive together are committed together (group commit).

A worker sends its one-statement writes down a few lanes, one round trip at a time per lane.
Writes that arrive while every lane is busy wait for the next free lane, which takes all of
them (up to `max_batch`) in one round trip and one transaction: each still runs after its
own role-and-tenant setting, with its own audit row, and each request is answered only once
its transaction has committed. A lone write waits for nothing; under load, a transaction's
fixed costs (its start and commit, the WAL flush, the round trip, the API's share of the
network and the event loop) are paid once per batch instead of once per write.

When one write of a batch fails, the database rolls the whole transaction back: that write
gets its error and the others, which were rolled back with it, go again without it. So
every write commits or fails on its own, as if it had run alone; what a batch changes is
only when its writes commit and that they share the batch's `now()`. A write that waits on
a lock holds up its batch and its lane while it waits.

A write may bring statements to run before it in its place (an idempotency key's claim,
`idempotency`), and a name no other write of its batch may share (the key): two claims of one
key in one transaction would fail one another's neighbours, so the second waits for the next
batch, where it finds the first's claim committed.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from psycopg_pool import AsyncConnectionPool

from write_api.round_trip import NotRun, Outcome, Work, run_together

MAX_TRIES = 8  # a write rolled back this often with others' failures is failed itself


@dataclass
class _Pending:
    work: Work
    answer: asyncio.Future[dict[str, Any] | None]
    exclusive: Hashable | None  # at most one write of a batch under each such name
    tries: int = 0


class WriteInterrupted(RuntimeError):
    """The write's round trip was cut short: whether it committed is unknown."""


class GroupCommit:
    def __init__(
        self, pool: AsyncConnectionPool[Any], setting: str, *, lanes: int, max_batch: int
    ) -> None:
        self.pool = pool
        self.setting = setting
        self.lanes = lanes
        self.max_batch = max_batch
        self._waiting: deque[_Pending] = deque()
        self._busy = 0  # lanes at work
        self._tasks: set[asyncio.Task[None]] = set()  # theirs, referenced until done

    async def run(
        self,
        setting_params: Mapping[str, Any],
        statement: str,
        params: Mapping[str, Any],
        *,
        leading: tuple[tuple[str, Mapping[str, Any]], ...] = (),
        exclusive: Hashable | None = None,
    ) -> dict[str, Any] | None:
        """`statement`'s first row (None when it returns none), committed with the `leading`
        statements run before it; or the error of the first of them that failed. No other
        write named `exclusive` shares its batch."""
        answer: asyncio.Future[dict[str, Any] | None] = asyncio.get_running_loop().create_future()
        work = Work(setting_params, statement, params, leading)
        self._waiting.append(_Pending(work, answer, exclusive))
        if self._busy < self.lanes:
            self._busy += 1
            lane = asyncio.create_task(self._drain())
            self._tasks.add(lane)
            lane.add_done_callback(self._tasks.discard)
        # A request that goes away cancels only its wait: a batch already sent runs to its end.
        return await answer

    async def _drain(self) -> None:
        try:
            while batch := self._next_batch():
                try:
                    # One connection while the lane has work: checking one out for every
                    # batch was 3 % of a create's CPU.
                    async with self.pool.connection() as conn:
                        while batch:
                            outcomes = await run_together(
                                conn, self.setting, [p.work for p in batch]
                            )
                            self._settle_batch(batch, outcomes)
                            batch = self._next_batch()
                except Exception as error:  # no connection, or lost: the batch's fate is unknown
                    for pending in batch:
                        _settle(pending.answer, error)
                except BaseException:  # the worker is stopping
                    for pending in batch:
                        _settle(
                            pending.answer, WriteInterrupted("the API stopped during the write")
                        )
                    raise
        finally:
            # Counted here, with no wait since the last look at the queue, not when the task
            # is done: a write queued in between would find no lane free and none coming.
            self._busy -= 1

    def _next_batch(self) -> list[_Pending]:
        batch: list[_Pending] = []
        names: set[Hashable] = set()
        later: list[_Pending] = []  # a name's second write: first in line for the next batch
        while self._waiting and len(batch) < self.max_batch:
            pending = self._waiting.popleft()
            if pending.answer.done():  # cancelled meanwhile
                continue
            if pending.exclusive is not None:
                if pending.exclusive in names:
                    later.append(pending)
                    continue
                names.add(pending.exclusive)
            batch.append(pending)
        self._waiting.extendleft(reversed(later))
        return batch

    def _settle_batch(self, batch: list[_Pending], outcomes: list[Outcome]) -> None:
        again = []
        for pending, outcome in zip(batch, outcomes, strict=True):
            if not isinstance(outcome, NotRun):
                _settle(pending.answer, outcome)
                continue
            pending.tries += 1
            if pending.tries < MAX_TRIES:
                again.append(pending)
            else:
                _settle(pending.answer, WriteInterrupted("rolled back with other writes, again"))
        self._waiting.extendleft(reversed(again))  # first in line, in their order


def _settle(
    answer: asyncio.Future[dict[str, Any] | None], outcome: dict[str, Any] | Exception | None
) -> None:
    if answer.done():  # its request went away
        return
    if isinstance(outcome, Exception):
        answer.set_exception(outcome)
    else:
        answer.set_result(outcome)
