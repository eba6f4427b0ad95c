"""The idempotency keys' Redis connection (`write_api.redis_line`): answers matched to their
commands when many share the connection, and failures as the runtime expects them (an
`OSError` for every command waiting, a new connection for the next one)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import pytest
import redis
import uvloop
from redis.exceptions import ResponseError

from core.services import free_port
from write_api.redis_line import RedisLine

# The API runs on uvloop (uvicorn's loop), the tests' clients on asyncio's: both, each test.
RUNNERS = pytest.mark.parametrize("run", [asyncio.run, uvloop.run], ids=["asyncio", "uvloop"])
Run = Callable[[Awaitable[None]], None]


def _line(url: str, timeout: float = 2.0) -> RedisLine:
    return RedisLine(url, connect_timeout=0.5, command_timeout=timeout)


@RUNNERS
def test_commands_sharing_the_connection_get_their_own_answers(
    redis_server_url: str, run: Run
) -> None:
    prefix = f"line-{uuid.uuid4().hex}"

    async def steps() -> None:
        line = _line(redis_server_url)
        names = [f"{prefix}:{n}" for n in range(50)]
        # Every name claimed twice at once: one claim each wins.
        claims = await asyncio.gather(
            *(line.set(name, name.encode() * 100, nx=True, ex=60) for name in names * 2)
        )
        assert claims[:50] == [True] * 50
        assert claims[50:] == [None] * 50
        values = await asyncio.gather(*(line.get(name) for name in [*names, f"{prefix}:none"]))
        assert values == [name.encode() * 100 for name in names] + [None]
        assert await line.set(names[0], b"", ex=120) is True
        assert await line.get(names[0]) == b""
        with pytest.raises(ResponseError):  # refused by Redis: this command only
            await line.set(names[1], b"x", ex=0)
        assert await line.delete(names[1]) == 1
        assert await line.delete(names[1]) == 0
        await line.close()

    run(steps())
    store = redis.Redis.from_url(redis_server_url)
    try:
        assert 60 < store.ttl(f"{prefix}:0") <= 120
        assert 0 < store.ttl(f"{prefix}:2") <= 60
    finally:
        store.close()


async def _serving(
    handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> tuple[asyncio.Server, str]:
    port = free_port()
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    return server, f"redis://127.0.0.1:{port}/0"


@RUNNERS
def test_a_silent_or_lost_connection_fails_its_commands_and_the_next_connects_again(
    run: Run,
) -> None:
    connections = 0

    async def answer_then_fall_silent(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        nonlocal connections
        connections += 1
        if connections == 2:  # the second connection is dropped at its first command
            await reader.read(1)
            writer.close()
            return
        await reader.read(1)
        writer.write(b"$3\r\nyes\r\n")  # the first command's answer; then nothing
        await reader.read(1 << 16)
        await asyncio.sleep(60)

    async def steps() -> None:
        server, url = await _serving(answer_then_fall_silent)
        line = _line(url, timeout=0.3)
        assert await line.get("a") == b"yes"
        waiting = [line.get("b"), line.get("c")]
        for failure in await asyncio.gather(*waiting, return_exceptions=True):
            assert isinstance(failure, TimeoutError)
        with pytest.raises(ConnectionError):  # a new connection, lost
            await line.get("d")
        assert await line.get("e") == b"yes"  # and a third
        assert connections == 3
        await line.close()
        server.close()

    run(steps())


@RUNNERS
def test_a_redis_that_does_not_listen_is_an_os_error(run: Run) -> None:
    async def steps() -> None:
        with pytest.raises(ConnectionRefusedError):  # an OSError
            await _line(f"redis://127.0.0.1:{free_port()}/0").get("a")

    run(steps())


@RUNNERS
def test_the_urls_database_is_the_one_written(redis_server_url: str, run: Run) -> None:
    """A URL naming database 7 (`redis://host:port/7`): the keys land there, not in 0."""
    where = redis.Redis.from_url(redis_server_url).connection_pool.connection_kwargs
    server = f"redis://{where['host']}:{where['port']}"
    name = f"line-{uuid.uuid4().hex}"

    async def steps() -> None:
        line = _line(f"{server}/7")
        assert await line.set(name, b"in seven", ex=60) is True
        await line.close()

    run(steps())
    seven = redis.Redis.from_url(f"{server}/7")
    zero = redis.Redis.from_url(f"{server}/0")
    try:
        assert seven.get(name) == b"in seven"
        assert zero.get(name) is None
    finally:
        seven.delete(name)
        seven.close()
        zero.close()
