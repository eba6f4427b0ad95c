"""dbt through its warm server (`bcf-dbt`, orchestration/warm_dbt.py), as `bcf dbt` and the
Dagster runs call it: the same output and exit codes as the plain `dbt`, the caller's
environment, Ctrl-C and kill reaching the command, and a server that goes away when idle.

Each test has a server of its own: the socket's folder follows TMPDIR."""

from __future__ import annotations

import array
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import psycopg
import pytest

from core.settings import Settings
from orchestration.defs.dbt.project import PROJECT_DIR, dbt_env, dbt_executable
from orchestration.local import TELEMETRY_OFF, data_dir_environment

BCF = str(Path(sys.executable).parent / "bcf")
BCF_DBT = str(Path(sys.executable).parent / "bcf-dbt")
SLOW_QUERY = "select pg_sleep(120) as slept"


@pytest.fixture
def temp_folder(tmp_path: Path) -> Iterator[Path]:
    """This test's TMPDIR, so its warm server is its own; stopped at teardown."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    yield folder
    servers = [
        process
        for process in psutil.process_iter(["cmdline"])
        if str(folder) in " ".join(process.info["cmdline"] or [])
    ]
    for server in servers:
        server.terminate()
    psutil.wait_procs(servers, timeout=30)


def _client_environment(database_url: str, tmp_path: Path, temp: Path) -> dict[str, str]:
    """What a Dagster run gives dbt: the settings' dbt environment."""
    settings = Settings(database_url=database_url, data_dir=tmp_path / "data")
    return {
        **os.environ,
        **TELEMETRY_OFF,
        **dbt_env(settings, database_url),
        "DBT_PROJECT_DIR": str(PROJECT_DIR),
        "DBT_PROFILES_DIR": str(PROJECT_DIR),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "target"),
        "DBT_USE_COLORS": "False",
        "TMPDIR": str(temp),
    }


def _client(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BCF_DBT, *args], env=environment, cwd=PROJECT_DIR, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip


def _bcf_dbt(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BCF, "dbt", *args], env=environment, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip


def _server_log(temp: Path) -> str:
    return "".join(log.read_text() for log in temp.glob("bcf-dbt-*/*.log"))


def _wait_for(condition: Callable[[], bool], what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _warm_server_ready(environment: dict[str, str], temp: Path) -> None:
    """The first command runs as plain dbt and starts the server; wait until it serves."""
    assert _client(environment, "debug", "--config-dir").returncode == 0
    _wait_for(lambda: "warm dbt server" in _server_log(temp), "the warm server to start")


def _dbt_lines(output: str) -> list[str]:
    """dbt's output without its timestamps."""
    return [re.sub(r"^\d\d:\d\d:\d\d\s+", "", line) for line in output.splitlines()]


def test_bcf_dbt_prints_and_exits_as_plain_dbt(
    migrated_database_url: str, tmp_path: Path, temp_folder: Path
) -> None:
    _warm_server_ready(
        _client_environment(migrated_database_url, tmp_path, temp_folder), temp_folder
    )
    warm = {
        **data_dir_environment(tmp_path / "data"),
        "BCF_DATABASE_URL": migrated_database_url,
        "DBT_USE_COLORS": "False",
        "TMPDIR": str(temp_folder),
    }
    plain = {**warm, "BCF_DBT_WARM": "0"}

    for args in (("ls", "-s", "revenue_daily", "--quiet"), ("ls", "--no-such-option")):
        through_server = _bcf_dbt(warm, *args)
        by_itself = _bcf_dbt(plain, *args)
        assert through_server.returncode == by_itself.returncode
        assert _dbt_lines(through_server.stdout) == _dbt_lines(by_itself.stdout)
        assert through_server.stderr == by_itself.stderr

    log = _server_log(temp_folder)
    assert re.search(
        r"command (\d+): dbt ls -s revenue_daily --quiet\n.*command \1: exit code 0", log
    )
    assert re.search(r"command (\d+): dbt ls --no-such-option\n.*command \1: exit code 2", log)


def test_each_command_has_its_callers_environment(
    migrated_database_url: str, tmp_path: Path, temp_folder: Path
) -> None:
    environment = _client_environment(migrated_database_url, tmp_path, temp_folder)
    _warm_server_ready(environment, temp_folder)
    elsewhere = _client_environment(migrated_database_url + "_absent", tmp_path, temp_folder)

    debug = _client(environment, "debug")
    other = _client(elsewhere, "debug")

    assert debug.returncode == 0, debug.stdout[-2000:]
    database = migrated_database_url.rsplit("/", 1)[1]
    assert f"database: {database}\n" in debug.stdout
    assert other.returncode == 1
    assert f"database: {database}_absent\n" in other.stdout
    assert len(re.findall(r"command \d+: dbt debug\n", _server_log(temp_folder))) == 2


def _sleeping_backends(database_url: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE %s AND pid <> pg_backend_pid()",
            ("%pg_sleep(120)%",),
        ).fetchone()
    return int(row[0]) if row else 0


@pytest.fixture
def slow_query(
    migrated_database_url: str, tmp_path: Path, temp_folder: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """`bcf-dbt show` of a two-minute query through a warm server, started as dagster-dbt
    starts dbt, once the query runs."""
    environment = _client_environment(migrated_database_url, tmp_path, temp_folder)
    _warm_server_ready(environment, temp_folder)
    client = subprocess.Popen(
        [BCF_DBT, "show", "--inline", SLOW_QUERY],
        env=environment,
        cwd=PROJECT_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    _wait_for(lambda: _sleeping_backends(migrated_database_url) == 1, "the query to run")
    yield client
    client.kill()
    client.wait(timeout=60)


def test_ctrl_c_reaches_the_command_and_its_exit_code_comes_back(
    slow_query: subprocess.Popen[bytes], migrated_database_url: str, temp_folder: Path
) -> None:
    slow_query.send_signal(signal.SIGINT)  # as dagster-dbt stops dbt when a run is terminated

    assert slow_query.wait(timeout=120) != 0
    # dbt cancels its query on Ctrl-C, as the plain dbt does.
    _wait_for(lambda: _sleeping_backends(migrated_database_url) == 0, "the query to be cancelled")
    ended = re.findall(r"command \d+: exit code (-?\d+)", _server_log(temp_folder))
    assert int(ended[-1]) == slow_query.returncode


def test_ctrl_c_to_bcf_dbt_lets_dbt_cancel_its_query(
    migrated_database_url: str, tmp_path: Path, temp_folder: Path
) -> None:
    """`bcf dbt` becomes dbt: a Ctrl-C sent to it alone (not its process group) reaches dbt,
    which cancels its query, instead of dbt being killed a quarter second later with the
    query left running."""
    environment = {
        **data_dir_environment(tmp_path / "data"),
        "BCF_DATABASE_URL": migrated_database_url,
        "TMPDIR": str(temp_folder),
    }
    _warm_server_ready(
        _client_environment(migrated_database_url, tmp_path, temp_folder), temp_folder
    )
    command = subprocess.Popen(
        [BCF, "dbt", "show", "--inline", SLOW_QUERY],
        env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        _wait_for(lambda: _sleeping_backends(migrated_database_url) == 1, "the query to run")
        command.send_signal(signal.SIGINT)

        assert command.wait(timeout=120) != 0
        _wait_for(
            lambda: _sleeping_backends(migrated_database_url) == 0, "the query to be cancelled", 30
        )
    finally:
        command.kill()
        command.wait(timeout=60)


def test_a_killed_client_takes_its_command_with_it(
    slow_query: subprocess.Popen[bytes], temp_folder: Path
) -> None:
    command_pid = int(re.findall(r"command (\d+): dbt show", _server_log(temp_folder))[-1])

    slow_query.kill()

    _wait_for(lambda: not psutil.pid_exists(command_pid), "the command to end")
    assert f"command {command_pid}: exit code -9" in _server_log(temp_folder)


def test_an_idle_server_goes_away_after_the_last_commands_idle_time(
    migrated_database_url: str, tmp_path: Path, temp_folder: Path
) -> None:
    started_with_the_default = _client_environment(migrated_database_url, tmp_path, temp_folder)
    started_with_the_default.pop("BCF_DBT_SERVER_IDLE_SECONDS", None)
    _warm_server_ready(started_with_the_default, temp_folder)
    socket_file = Path(re.findall(r"warm dbt server \d+ on (\S+)", _server_log(temp_folder))[0])
    environment = {**started_with_the_default, "BCF_DBT_SERVER_IDLE_SECONDS": "2"}
    assert _client(environment, "--version").returncode == 0

    _wait_for(lambda: "stopped" in _server_log(temp_folder), "the idle server to stop", 60)
    assert not socket_file.exists()
    assert _client(environment, "debug", "--config-dir").returncode == 0  # plain dbt again


def test_a_stalled_client_holds_up_no_other(
    migrated_database_url: str, tmp_path: Path, temp_folder: Path
) -> None:
    environment = _client_environment(migrated_database_url, tmp_path, temp_folder)
    _warm_server_ready(environment, temp_folder)
    socket_file = re.findall(r"warm dbt server \d+ on (\S+)", _server_log(temp_folder))[0]
    stalled = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stalled.connect(socket_file)
    output = tmp_path / "stalled-output.txt"
    with open(os.devnull) as stdin, output.open("w") as stdout:
        descriptors = array.array("i", [stdin.fileno(), stdout.fileno(), stdout.fileno()])
        stalled.sendmsg([b"R"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, descriptors)])

    other = _client(environment, "--version")  # while the first request is half sent

    assert other.returncode == 0, other.stderr
    request = json.dumps({"argv": ["--version"], "env": environment, "cwd": str(PROJECT_DIR)})
    stalled.sendall(struct.pack("!I", len(request)) + request.encode())
    answer = b""
    while chunk := stalled.recv(16):
        answer += chunk
    assert answer == b"X" + struct.pack("!I", 0)
    assert output.read_text() == other.stdout


def test_a_temp_folder_too_long_for_a_socket_runs_the_plain_dbt(
    migrated_database_url: str, tmp_path: Path
) -> None:
    deep = tmp_path.joinpath(*["long-temporary-folder"] * 6)
    deep.mkdir(parents=True)
    environment = _client_environment(migrated_database_url, tmp_path, deep)

    assert _client(environment, "--version").returncode == 0
    assert not list(deep.iterdir())  # no server was started: no socket, lock or log


def test_warm_dbt_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BCF_DBT_WARM", raising=False)
    assert dbt_executable().endswith("/bcf-dbt")
    monkeypatch.setenv("BCF_DBT_WARM", "0")
    assert dbt_executable().endswith("/dbt")
