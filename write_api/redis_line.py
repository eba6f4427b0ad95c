"""One pipelined Redis connection per worker, for the idempotency keys' commands.

A keyed write sends Redis two commands (the claim before, the answer after). Through
redis-py each cost about 130 microseconds of the worker's CPU (its pool, retries and
reply parser; 25 % of a keyed create's samples), against about 25 for the command itself.
Here the commands of every request share one connection, and Redis answers a connection's
commands in the order they were sent, so each waiting request takes the next answer. The
commands queued in one turn of the event loop (the answers of a group commit's batch, the
claims of requests that arrived together) are written together, one system call. Only what
the idempotency layer sends is spoken (`SET`, `GET`, `DEL`; RESP2 replies without arrays).

A command unanswered within `command_timeout` closes the connection, and every command
waiting on it fails with `TimeoutError`; a lost connection fails them with
`ConnectionError` (both `OSError`, as the runtime expects of an unreachable Redis). The
next command connects again.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from typing import cast

from redis.asyncio.connection import (
    ConnectKwargs,
    SSLConnection,
    UnixDomainSocketConnection,
    parse_url,
)
from redis.exceptions import ResponseError

Reply = bytes | int | None


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiting: deque[asyncio.Future[Reply]] = deque()
        self.buffer = bytearray()
        self.outgoing: list[bytes] = []  # commands of this turn of the event loop, unsent
        self.closed = False
        self.failure: OSError = ConnectionError("the connection to Redis was lost")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream socket's transport (uvloop's is not a subclass of asyncio's classes).
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.waiting:
            try:
                parsed = _reply(self.buffer)
            except (ValueError, ConnectionError):
                self.fail(ConnectionError("Redis sent what is not a reply to these commands"))
                return
            if parsed is None:  # not all of it yet
                return
            reply, used = parsed
            del self.buffer[:used]
            answer = self.waiting.popleft()
            if answer.done():  # its request went away: the reply was still its own
                continue
            if isinstance(reply, ResponseError):
                answer.set_exception(reply)
            else:
                answer.set_result(reply)
        if self.buffer:  # a reply nothing waits for: the order is lost
            self.fail(ConnectionError("Redis answered a command that was not sent"))

    def send(self, command: bytes) -> asyncio.Future[Reply]:
        """`command` queued, to be written with the others of this turn of the loop."""
        answer: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        # Queued in the order written: the answers' order is the commands'.
        self.waiting.append(answer)
        if not self.outgoing:
            asyncio.get_running_loop().call_soon(self._flush)
        self.outgoing.append(command)
        return answer

    def _flush(self) -> None:
        # One write (one system call) for the commands of every request that ran this turn.
        if not self.closed:
            assert self.transport is not None
            self.transport.write(b"".join(self.outgoing))
        self.outgoing.clear()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        while self.waiting:
            answer = self.waiting.popleft()
            if not answer.done():
                answer.set_exception(self.failure)

    def fail(self, failure: OSError) -> None:
        """Close the connection; every command waiting on it fails with `failure`."""
        if not self.closed:
            self.failure = failure
            self.closed = True
            assert self.transport is not None
            self.transport.abort()  # calls connection_lost soon


def _reply(buffer: bytearray) -> tuple[Reply | ResponseError, int] | None:
    """The first reply in `buffer` and the bytes it takes; None while incomplete."""
    end = buffer.find(b"\r\n")
    if end < 0:
        return None
    kind, line = buffer[0:1], bytes(buffer[1:end])
    if kind == b"+":
        return line, end + 2
    if kind == b":":
        return int(line), end + 2
    if kind == b"-":
        return ResponseError(line.decode(errors="replace")), end + 2
    if kind == b"$":
        size = int(line)
        if size < 0:
            return None, end + 2
        stop = end + 2 + size
        if len(buffer) < stop + 2:
            return None
        return bytes(buffer[end + 2 : stop]), stop + 2
    raise ConnectionError(f"unexpected Redis reply type {kind!r}")


def _command(*parts: bytes | str | int) -> bytes:
    encoded = [p if isinstance(p, bytes) else str(p).encode() for p in parts]
    out = [b"*%d\r\n" % len(encoded)]
    for part in encoded:
        out += (b"$%d\r\n" % len(part), part, b"\r\n")
    return b"".join(out)


class RedisLine:
    def __init__(self, url: str, *, connect_timeout: float, command_timeout: float) -> None:
        self.options: ConnectKwargs = parse_url(url)
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Task[_Protocol] | None = None

    async def set(
        self, name: str, value: bytes, *, nx: bool = False, ex: int | None = None
    ) -> bool | None:
        """As redis-py's: True when set, None when `nx` and `name` exists."""
        parts: list[bytes | str | int] = ["SET", name, value]
        if nx:
            parts.append("NX")
        if ex is not None:
            parts += ["EX", ex]
        return True if await self._run(_command(*parts)) is not None else None

    async def get(self, name: str) -> bytes | None:
        reply = await self._run(_command("GET", name))
        assert reply is None or isinstance(reply, bytes)
        return reply

    async def delete(self, name: str) -> int:
        reply = await self._run(_command("DEL", name))
        assert isinstance(reply, int)
        return reply

    async def close(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
        if self._protocol is not None:
            self._protocol.fail(ConnectionError("closed"))

    async def _run(self, command: bytes) -> Reply:
        protocol = self._protocol
        if protocol is None or protocol.closed:
            protocol = await self._connected()
        return await self._send(protocol, command)

    async def _send(self, protocol: _Protocol, command: bytes) -> Reply:
        answer = protocol.send(command)
        late = asyncio.get_running_loop().call_later(
            self.command_timeout, protocol.fail, TimeoutError("Redis did not answer in time")
        )
        try:
            return await answer
        finally:
            late.cancel()

    async def _connected(self) -> _Protocol:
        """The connection, opened by the first command that needs it (the others wait)."""
        if self._connecting is None or self._connecting.done():
            self._connecting = asyncio.create_task(self._connect())
        protocol = await asyncio.shield(self._connecting)
        self._protocol = protocol
        return protocol

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        options = self.options
        kind = options.get("connection_class")
        if kind is UnixDomainSocketConnection:
            opening = loop.create_unix_connection(_Protocol, options["path"])
        else:
            secure = ssl.create_default_context() if kind is SSLConnection else None
            opening = loop.create_connection(
                _Protocol, options.get("host", "localhost"), options.get("port", 6379), ssl=secure
            )
        _, protocol = await asyncio.wait_for(opening, self.connect_timeout)
        try:
            if password := options.get("password"):
                user = options.get("username")
                login = ("AUTH", user, password) if user else ("AUTH", password)
                await self._send(protocol, _command(*login))
            if database := options.get("db"):
                await self._send(protocol, _command("SELECT", database))
        except BaseException:
            protocol.fail(ConnectionError("could not start the Redis connection"))
            raise
        return protocol
