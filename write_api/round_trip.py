"""Statements under local settings, in one transaction and one round trip.

The write API runs every request as `bcf_api` for one tenant: a statement that sets the role
and `app.tenant_id` locally, then the request's statement. Sent as one libpq pipeline ended
by one Sync, they run in one implicit transaction (an error rolls it all back; the settings
end with it), go out in one send, come back in one read, and run as statements prepared
once per connection. Several requests' statements can share the round trip, each after its
own setting (`group_commit`).

psycopg's own pipeline flushes and polls at every statement it queues: ~0.4 ms of CPU per
write against ~0.15 ms here, a third of what the API spent on a create. This module uses
psycopg's public low-level layer instead (libpq through `psycopg.pq`, adaptation through
`psycopg.adapt.Transformer`) on a connection borrowed from the pool, and hands it back as
psycopg expects it: idle and out of pipeline mode, or closed (the pool then replaces it)
when a round trip was cut short. Parameters travel as text, so PostgreSQL gives each the type
of where it goes, as it would a literal's.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import weakref
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final

import psycopg
from psycopg import abc, errors, pq
from psycopg.adapt import PyFormat, Transformer

PREPARED_PER_CONNECTION: Final = 128  # beyond this, the least recently used are deallocated
_SUCCEEDED: Final = frozenset({pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK})
_PLACEHOLDER: Final = re.compile(r"%\((\w+)\)s|%%")
_ALREADY_PREPARED: Final = b"42P05"  # duplicate_prepared_statement
_NOT_PREPARED: Final = b"26000"  # invalid_sql_statement_name


@lru_cache(maxsize=1024)
def positional(statement: str) -> tuple[bytes, tuple[str, ...], bytes]:
    """`%(name)s` placeholders as `$1`, `$2`... (one number per name), the names in order, and
    the name the statement is prepared under (a digest of its text)."""
    numbers: dict[str, int] = {}

    def number(match: re.Match[str]) -> str:
        if match.group(1) is None:  # `%%`: a percent sign
            return "%"
        return f"${numbers.setdefault(match.group(1), len(numbers) + 1)}"

    text = _PLACEHOLDER.sub(number, statement).encode()
    return (
        text,
        tuple(numbers),
        b"bcf_" + hashlib.blake2b(text, digest_size=10).hexdigest().encode(),
    )


@dataclass
class _Prepared:
    """The statements prepared on one connection, least recently used first."""

    names: OrderedDict[bytes, None] = field(default_factory=OrderedDict)
    to_deallocate: list[bytes] = field(default_factory=list)

    def needs_preparing(self, name: bytes) -> bool:
        """Whether the statement `name` must be prepared first; it counts as used."""
        if name in self.names:
            self.names.move_to_end(name)
            return False
        self.names[name] = None
        # Evicted earlier in this round trip, it is still on the server until the
        # deallocations after the Sync: keep it rather than prepare it a second time.
        known = name in self.to_deallocate
        if known:
            self.to_deallocate.remove(name)
        if len(self.names) > PREPARED_PER_CONNECTION:
            self.to_deallocate.append(self.names.popitem(last=False)[0])
        return not known


_prepared_on: weakref.WeakKeyDictionary[psycopg.AsyncConnection[Any], _Prepared] = (
    weakref.WeakKeyDictionary()
)


@dataclass(frozen=True)
class Work:
    """One statement and the parameters of the setting it runs under; `leading`, statements
    run before it under the same setting (an idempotency key's claim), whose rows are not
    the outcome but whose failure is the work's."""

    setting_params: Mapping[str, Any]
    statement: str
    params: Mapping[str, Any]
    leading: tuple[tuple[str, Mapping[str, Any]], ...] = ()


class NotRun:
    """The outcome of a statement rolled back with another's failure: it can run again."""


NOT_RUN: Final = NotRun()
Outcome = dict[str, Any] | None | psycopg.Error | NotRun


async def run_together(
    conn: psycopg.AsyncConnection[Any], setting: str, works: Sequence[Work]
) -> list[Outcome]:
    """Each work's statement after `setting` (a statement that sets, `set_config(..., true)`,
    what the statement runs under, with the work's `setting_params`), all in one transaction.

    The outcomes, in order: the statement's first row (None when it returns none); when one
    failed, its error as psycopg raises it (`psycopg.errors.UniqueViolation`...) and NOT_RUN
    for every other, since the failure rolled them back too. `conn` is idle, in autocommit
    mode and prepares no statements of its own (psycopg's `prepare_threshold=None`); it is
    idle again after, or closed when the round trip was cut short (cancelled, connection
    lost), since answers still on their way could not be told apart from the next ones.
    """
    prepared = _prepared_on.setdefault(conn, _Prepared())
    transformer = Transformer(conn)
    pgconn = conn.pgconn
    pgconn.enter_pipeline_mode()
    try:
        # Per command: (its work, whether its result is the work's outcome, name, prepares).
        sent: list[tuple[int, bool, bytes, bool]] = []
        in_force: Mapping[str, Any] | None = None  # what the last setting sent set
        for index, work in enumerate(works):
            # Settings last until the transaction ends: a work under the same ones as the
            # work before it (one tenant's writes, mostly) needs no setting of its own.
            if work.setting_params != in_force:
                for name, prepares in _send(
                    pgconn, prepared, transformer, setting, work.setting_params
                ):
                    sent.append((index, False, name, prepares))
                in_force = work.setting_params
            for statement, params in work.leading:
                for name, prepares in _send(pgconn, prepared, transformer, statement, params):
                    sent.append((index, False, name, prepares))
            for name, prepares in _send(pgconn, prepared, transformer, work.statement, work.params):
                sent.append((index, not prepares, name, prepares))
        pgconn.pipeline_sync()
        syncs = 1
        if prepared.to_deallocate:  # after the Sync: a failure here cannot touch the works
            for name in prepared.to_deallocate:
                pgconn.send_query_params(b"DEALLOCATE " + name, None)
            prepared.to_deallocate = []
            pgconn.pipeline_sync()
            syncs = 2
        results = await _exchange(pgconn, syncs)
        pgconn.exit_pipeline_mode()
    except BaseException:
        await conn.close()  # the pool replaces a closed connection
        raise
    outcomes: list[Outcome] = [None] * len(works)
    failure: tuple[int, pq.abc.PGresult] | None = None
    for (index, is_outcome, name, prepares), result in zip(sent, results, strict=False):
        if result.status in _SUCCEEDED:
            if is_outcome:
                outcomes[index] = _first_row(transformer, result, name)
            continue
        state = result.error_field(pq.DiagnosticField.SQLSTATE)
        if prepares and state != _ALREADY_PREPARED:
            prepared.names.pop(name, None)  # not prepared after all: prepare it next time
        if failure is None and result.status == pq.ExecStatus.FATAL_ERROR:
            failure = index, result
    if failure is None:
        return outcomes
    failed, result = failure
    if result.error_field(pq.DiagnosticField.SQLSTATE) == _NOT_PREPARED:
        # Deallocated behind our back (DISCARD ALL, DEALLOCATE ALL): nothing ran; all will
        # be prepared again on the next round trip.
        _prepared_on.pop(conn, None)
        return [NOT_RUN] * len(works)
    error = errors.error_from_result(result, encoding=conn.info.encoding)
    return [error if index == failed else NOT_RUN for index in range(len(works))]


async def in_transaction(
    conn: psycopg.AsyncConnection[Any],
    statements: Sequence[tuple[str, Mapping[str, Any]]],
    *,
    begin: bool = False,
    commit: bool = False,
) -> list[dict[str, Any] | None]:
    """Each statement's first row (None when it returns none), the statements prepared and
    sent in one round trip inside an explicit transaction: opened first when `begin`, else
    already open on `conn`; committed last when `commit`. A failure raises its error as
    psycopg raises it and leaves the transaction failed (the caller rolls it back); a round
    trip cut short closes `conn`, as `run_together` does."""
    prepared = _prepared_on.setdefault(conn, _Prepared())
    transformer = Transformer(conn)
    pgconn = conn.pgconn
    pgconn.enter_pipeline_mode()
    try:
        syncs = leading = 0  # leading: commands before the statements (their results too)
        if begin and prepared.to_deallocate:  # outside any transaction, before anything new
            for name in prepared.to_deallocate:
                pgconn.send_query_params(b"DEALLOCATE " + name, None)
            leading = len(prepared.to_deallocate)
            prepared.to_deallocate = []
            pgconn.pipeline_sync()
            syncs += 1
        if begin:
            pgconn.send_query_params(b"BEGIN", None)
            leading += 1
        sent: list[tuple[bytes, bool]] = []  # per command: name, whether it prepares
        for statement, params in statements:
            sent += _send(pgconn, prepared, transformer, statement, params)
        if commit:
            pgconn.send_query_params(b"COMMIT", None)
        pgconn.pipeline_sync()
        syncs += 1
        results = await _exchange(pgconn, syncs)
        pgconn.exit_pipeline_mode()
    except BaseException:
        await conn.close()  # the pool replaces a closed connection
        raise
    rows: list[dict[str, Any] | None] = []
    failure: pq.abc.PGresult | None = None
    for index, result in enumerate(results):
        command = index - leading  # the statements' own commands: 0 to len(sent) - 1
        if result.status in _SUCCEEDED:
            if 0 <= command < len(sent) and not sent[command][1]:
                rows.append(_first_row(transformer, result, sent[command][0]))
            continue
        if 0 <= command < len(sent):
            name, prepares = sent[command]
            if prepares and result.error_field(pq.DiagnosticField.SQLSTATE) != _ALREADY_PREPARED:
                prepared.names.pop(name, None)
        if failure is None and result.status == pq.ExecStatus.FATAL_ERROR:
            failure = result
    if failure is None:
        return rows
    if failure.error_field(pq.DiagnosticField.SQLSTATE) == _NOT_PREPARED:
        _prepared_on.pop(conn, None)  # deallocated behind our back: all prepared again next time
    raise errors.error_from_result(failure, encoding=conn.info.encoding)


def _first_row(
    transformer: abc.Transformer, result: pq.abc.PGresult, statement: bytes
) -> dict[str, Any] | None:
    if result.ntuples == 0:
        return None
    columns = _columns.get(statement)
    if columns is None:  # a statement's columns are always the same
        if len(_columns) >= _COLUMNS_KEPT:
            _columns.clear()
        columns = [(result.fname(i) or b"").decode() for i in range(result.nfields)]
        _columns[statement] = columns
    transformer.set_pgresult(result)
    return transformer.load_row(0, lambda values: dict(zip(columns, values, strict=True)))


_COLUMNS_KEPT: Final = 4096
_columns: dict[bytes, list[str]] = {}  # by statement name


def _send(
    pgconn: pq.abc.PGconn,
    prepared: _Prepared,
    transformer: abc.Transformer,
    statement: str,
    params: Mapping[str, Any],
) -> list[tuple[bytes, bool]]:
    """Queue `statement`, prepared first if new: (name, whether it prepares) per command."""
    text, names, name = positional(statement)
    queued = []
    if prepared.needs_preparing(name):
        pgconn.send_prepare(name, text)
        queued.append((name, True))
    values = transformer.dump_sequence([params[n] for n in names], [PyFormat.TEXT] * len(names))
    pgconn.send_query_prepared(name, values)
    queued.append((name, False))
    return queued


async def _exchange(pgconn: pq.abc.PGconn, syncs: int) -> list[pq.abc.PGresult]:
    """Send what is queued, then read the results up to the `syncs`-th Sync, one per command."""
    loop = asyncio.get_running_loop()
    while pgconn.flush():  # the socket's buffer is full: wait until it drains
        await _ready(loop, pgconn.socket, writing=True)
    results: list[pq.abc.PGresult] = []
    while syncs:
        while pgconn.is_busy():
            await _ready(loop, pgconn.socket, writing=False)
            pgconn.consume_input()
        result = pgconn.get_result()
        if result is None:  # the end of one command's results
            continue
        if result.status == pq.ExecStatus.PIPELINE_SYNC:
            syncs -= 1
        else:
            results.append(result)
    return results


async def _ready(loop: asyncio.AbstractEventLoop, fd: int, *, writing: bool) -> None:
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    watch, unwatch = (
        (loop.add_writer, loop.remove_writer) if writing else (loop.add_reader, loop.remove_reader)
    )
    watch(fd, wake)
    try:
        await ready
    finally:
        unwatch(fd)
