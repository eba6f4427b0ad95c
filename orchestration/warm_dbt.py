"""A warm dbt: a server that imports dbt once and forks a ready copy of itself for each dbt
command, so a command skips importing dbt (3 to 6 s of CPU here, half the start-up of an
after-ingest build; benchmarks/README.md).

`bcf-dbt` (`main`) stands in for the `dbt` executable. It hands the server its arguments,
environment, working folder and its own stdin, stdout and stderr (the descriptors themselves,
over a Unix socket), so the command writes straight to whoever reads the client, as `dbt`
would. It forwards SIGINT, SIGTERM and SIGHUP to the command and exits with its exit code.
When no server answers, it starts one in the background and runs this command as the plain
`dbt` executable, so a miss costs nothing.

A server belongs to one user and one installation: its socket's name hashes the Python
executable, the installed packages' folder and this file, so upgrading dbt starts a new one.
It exits after BCF_DBT_SERVER_IDLE_SECONDS (600; as the last command's environment has it)
without a command; sent SIGTERM, it passes Ctrl-C (SIGINT) to the commands still running and
exits once they end. BCF_DBT_WARM=0 turns it off (orchestration/defs/dbt/project.dbt_executable),
and so does a TMPDIR too long for a socket's path.

This module imports only the standard library at the top: the client must start in
milliseconds.
"""

from __future__ import annotations

import array
import atexit
import contextlib
import hashlib
import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import sysconfig
import tempfile
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, NoReturn

DBT = str(Path(sys.executable).parent / "dbt")
IDLE_SECONDS_VARIABLE = "BCF_DBT_SERVER_IDLE_SECONDS"
DEFAULT_IDLE_SECONDS = 600.0
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
REQUEST_SECONDS = 60.0  # a client sends its request at once; one that stalls this long is dropped
LOG_LIMIT_BYTES = 1 << 20  # a server starting finds its log longer: it starts it anew
SOCKET_PATH_LIMIT = 107  # bytes of a Unix socket's path, on Linux
_LENGTH = struct.Struct("!I")
_EXIT = b"X"


def socket_path() -> Path:
    """The socket of this user's server for this installation."""
    installation = hashlib.sha256()
    for part in (sys.executable, sysconfig.get_paths()["purelib"], __file__):
        installation.update(f"{Path(part).resolve()}:{Path(part).stat().st_mtime_ns}\n".encode())
    folder = Path(tempfile.gettempdir()) / f"bcf-dbt-{os.getuid()}"
    return folder / f"{installation.hexdigest()[:16]}.sock"


# -- the client ---------------------------------------------------------------------------------


def main() -> NoReturn:
    """`bcf-dbt ARGS...`: `dbt ARGS...` through the warm server."""
    path = socket_path()
    arguments = sys.argv[1:]
    if len(os.fsencode(path)) > SOCKET_PATH_LIMIT:  # no server could listen there
        os.execv(DBT, [DBT, *arguments])  # noqa: S606 - become dbt itself, no shell
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(str(path))
    except OSError:
        start_server(path)
        os.execv(DBT, [DBT, *arguments])  # noqa: S606 - become dbt itself, no shell
    try:
        _send_request(connection, arguments)
    except OSError:  # e.g. a closed stdin cannot be handed over: run dbt here
        connection.close()
        os.execv(DBT, [DBT, *arguments])  # noqa: S606 - become dbt itself, no shell
    sys.exit(_wait_for_exit_code(connection))


def _send_request(connection: socket.socket, arguments: list[str]) -> None:
    request = {"argv": arguments, "env": dict(os.environ), "cwd": os.getcwd()}
    payload = json.dumps(request).encode()
    connection.sendmsg(
        [b"R"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [0, 1, 2]))]
    )
    connection.sendall(_LENGTH.pack(len(payload)) + payload)


def _wait_for_exit_code(connection: socket.socket) -> int:
    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(OSError):  # the server is gone; the wait below says so
            connection.send(bytes([signum]))

    for signum in FORWARDED_SIGNALS:
        signal.signal(signum, forward)
    answer = b""
    while chunk := connection.recv(16):
        answer += chunk
    if answer[:1] != _EXIT or len(answer) < 1 + _LENGTH.size:
        print("error: the warm dbt server stopped during the command", file=sys.stderr)
        return 1
    exit_code: int = _LENGTH.unpack(answer[1 : 1 + _LENGTH.size])[0]
    return exit_code


def start_server(path: Path) -> None:
    """Start the server for `path` in the background, detached, its output in a log beside it."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(path.with_suffix(".log"), "ab") as log:
        # -P and cwd /: the server's imports never come from the folder it was started in.
        subprocess.Popen(
            [sys.executable, "-P", "-m", "orchestration.warm_dbt", str(path)],
            cwd="/",
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            close_fds=True,
        )


# -- the server ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """What the client hands over: its arguments, environment and working folder."""

    argv: list[str]
    env: dict[str, str]
    cwd: str

    @classmethod
    def from_json(cls, payload: bytes) -> Request:
        raw = json.loads(payload)
        argv, env, cwd = raw.get("argv"), raw.get("env"), raw.get("cwd")
        if not (
            isinstance(argv, list)
            and all(isinstance(item, str) for item in argv)
            and isinstance(env, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())
            and isinstance(cwd, str)
        ):
            raise ValueError("a request needs argv (strings), env (strings) and cwd")
        return cls(argv, env, cwd)


@dataclass
class Command:
    connection: socket.socket
    pid: int
    pidfd: int
    client_gone: bool = False


class Server:
    def __init__(self, path: Path, lock: IO[str], idle_seconds: float) -> None:
        self.path = path
        self.lock = lock
        self.idle_seconds = idle_seconds
        self.selector = selectors.DefaultSelector()
        self.commands: dict[int, Command] = {}  # by pid
        self.arriving: list[ArrivingRequest] = []
        self.last_activity = time.monotonic()
        self.stopping = False

    def serve(self, listener: socket.socket) -> None:
        self.listener = listener
        self.selector.register(listener, selectors.EVENT_READ, self._accept)
        signal.signal(signal.SIGTERM, self._stop)
        print(f"{_now()} warm dbt server {os.getpid()} on {self.path}", flush=True)
        try:
            while self.commands or not self._idle():
                for key, _ in self.selector.select(timeout=1.0):
                    key.data(key.fileobj)
                self._drop_stalled()
        finally:
            self.selector.unregister(listener)
            listener.close()
            self.path.unlink(missing_ok=True)
            print(f"{_now()} warm dbt server {os.getpid()} stopped", flush=True)

    def _idle(self) -> bool:
        return self.stopping or time.monotonic() - self.last_activity > self.idle_seconds

    def _stop(self, _signum: int, _frame: object) -> None:
        self.stopping = True
        for command in self.commands.values():
            _signal_group(command.pid, signal.SIGINT)

    def _accept(self, listener: socket.socket) -> None:
        connection, _ = listener.accept()
        self.last_activity = time.monotonic()
        try:
            _check_peer(connection)
        except (OSError, ValueError) as error:
            print(f"{_now()} refused a request: {error}", flush=True)
            connection.close()
            return
        # Read as it arrives, between the other events: a client that connects and stalls
        # holds up nobody else.
        connection.setblocking(False)
        arriving = ArrivingRequest(connection, time.monotonic() + REQUEST_SECONDS)
        self.arriving.append(arriving)
        self.selector.register(connection, selectors.EVENT_READ, lambda _: self._read(arriving))

    def _read(self, arriving: ArrivingRequest) -> None:
        try:
            request = arriving.read()
        except BlockingIOError:
            return
        except (OSError, ValueError) as error:
            self._drop(arriving, f"refused a request: {error}")
            return
        if request is None:
            return
        self.selector.unregister(arriving.connection)
        self.arriving.remove(arriving)
        arriving.connection.setblocking(True)
        self._start(arriving.connection, arriving.descriptors, request)

    def _drop(self, arriving: ArrivingRequest, why: str) -> None:
        print(f"{_now()} {why}", flush=True)
        self.selector.unregister(arriving.connection)
        self.arriving.remove(arriving)
        arriving.close()

    def _drop_stalled(self) -> None:
        now = time.monotonic()
        for arriving in [item for item in self.arriving if item.deadline < now]:
            self._drop(arriving, f"refused a request: incomplete after {REQUEST_SECONDS:.0f} s")

    def _start(self, connection: socket.socket, descriptors: list[int], request: Request) -> None:
        self.idle_seconds = idle_seconds(request.env)
        pid = os.fork()
        if pid == 0:
            self._become_command(connection, descriptors, request)
        with contextlib.suppress(OSError):  # also set by the child: whichever runs first
            os.setpgid(pid, pid)
        for descriptor in descriptors:
            os.close(descriptor)
        print(f"{_now()} command {pid}: dbt {' '.join(request.argv)}", flush=True)
        command = Command(connection, pid, os.pidfd_open(pid))
        self.commands[pid] = command
        self.selector.register(connection, selectors.EVENT_READ, lambda _: self._client(command))
        self.selector.register(command.pidfd, selectors.EVENT_READ, lambda _: self._ended(command))

    def _become_command(
        self, connection: socket.socket, descriptors: list[int], request: Request
    ) -> NoReturn:
        code = 1
        try:
            os.setpgid(0, 0)
            for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
                signal.signal(signum, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            self.selector.close()
            self.listener.close()
            self.lock.close()  # a new server can start while this command runs on
            connection.close()
            for other in self.commands.values():
                other.connection.close()
                os.close(other.pidfd)
            for arriving in self.arriving:
                arriving.close()
            for target, descriptor in enumerate(descriptors):
                os.dup2(descriptor, target)
                os.close(descriptor)
            code = _run_dbt(request)
            atexit._run_exitfuncs()  # as a dbt process's normal exit would (log handlers)
        except BaseException:  # the child must never return into the server's loop
            traceback.print_exc()
        finally:
            os._exit(code)

    def _client(self, command: Command) -> None:
        """A signal byte from the client, or its end before the command's: it was killed (it
        waits otherwise), and the command dies with it, as the plain `dbt` would have."""
        data = command.connection.recv(64)
        if data:
            for signum in data:
                _signal_group(command.pid, signum)
            return
        self.selector.unregister(command.connection)
        command.client_gone = True
        _signal_group(command.pid, signal.SIGKILL)

    def _ended(self, command: Command) -> None:
        _, status, usage = os.wait4(command.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        cpu = usage.ru_utime + usage.ru_stime
        print(f"{_now()} command {command.pid}: exit code {code}, cpu {cpu:.2f} s", flush=True)
        self.selector.unregister(command.pidfd)
        os.close(command.pidfd)
        del self.commands[command.pid]
        self.last_activity = time.monotonic()
        if not command.client_gone:
            self.selector.unregister(command.connection)
            with contextlib.suppress(OSError):  # the client is gone; nobody waits for the code
                command.connection.sendall(_EXIT + _LENGTH.pack(128 - code if code < 0 else code))
        command.connection.close()


def _check_peer(connection: socket.socket) -> None:
    uid = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]
    if uid != os.getuid():
        raise ValueError(f"a client of user {uid}, not this server's")


@dataclass
class ArrivingRequest:
    """A request read as its bytes arrive: the marker with the client's three descriptors,
    then the length of its JSON and the JSON."""

    connection: socket.socket
    deadline: float
    descriptors: list[int] = field(default_factory=list)
    received: bytes = b""

    def read(self) -> Request | None:
        """Reads what has arrived; the request once it is whole."""
        if not self.descriptors:
            self._read_marker()
            return None
        chunk = self.connection.recv(1 << 16)
        if not chunk:
            raise ValueError("the client left mid-request")
        self.received += chunk
        if len(self.received) < _LENGTH.size:
            return None
        (length,) = _LENGTH.unpack_from(self.received)
        if len(self.received) < _LENGTH.size + length:
            return None
        return Request.from_json(self.received[_LENGTH.size : _LENGTH.size + length])

    def _read_marker(self) -> None:
        room = socket.CMSG_SPACE(3 * array.array("i").itemsize)
        marker, ancillary, _, _ = self.connection.recvmsg(1, room)
        descriptors = array.array("i")
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                descriptors.frombytes(data[: len(data) - len(data) % descriptors.itemsize])
        if marker != b"R" or len(descriptors) != 3:
            for descriptor in descriptors:
                os.close(descriptor)
            raise ValueError("not a bcf-dbt request")
        self.descriptors = list(descriptors)

    def close(self) -> None:
        for descriptor in self.descriptors:
            os.close(descriptor)
        self.connection.close()


def _run_dbt(request: Request) -> int:
    """In the forked command: become the client's `dbt` process and run its arguments."""
    from dbt.cli.main import cli

    os.chdir(request.cwd)
    os.environ.clear()
    os.environ.update(request.env)
    time.tzset()
    # The process's own descriptors, now the client's; line-buffered as dbt's events are read
    # line by line as they come (dagster-dbt).
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", encoding="utf-8", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", buffering=1, closefd=False)  # noqa: SIM115
    sys.argv = [DBT, *request.argv]
    try:
        cli.main(args=request.argv, prog_name="dbt")
    except SystemExit as exit_:
        return _exit_code(exit_.code)
    except KeyboardInterrupt:
        return 128 + signal.SIGINT
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    return 0


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already ended
        os.killpg(pid, signum)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


def serve(path: Path) -> None:
    """Run the server on `path` until it is idle, unless another one already serves it."""
    import fcntl
    import gc

    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock = open(path.with_suffix(".lock"), "w")  # noqa: SIM115 - held for the server's life
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return  # a server for this installation is already running
    log = path.with_suffix(".log")
    if log.exists() and log.stat().st_size > LOG_LIMIT_BYTES:
        os.truncate(log, 0)  # its lines are appended: the server writes from the start again
    # Listening before the import: a client arriving meanwhile waits for it, no longer than
    # its own import would take.
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path.unlink(missing_ok=True)
    listener.bind(str(path))
    os.chmod(path, 0o600)
    listener.listen(64)
    # Imported once here, for every command: dbt, its adapter, and what a build imports late.
    import dbt.adapters.postgres
    import dbt.cli.main
    import dbt.task.build  # noqa: F401
    import dbt_common.clients.agate_helper  # noqa: F401

    gc.freeze()  # the imported objects stay shared with the forked commands, not copied
    Server(path, lock, idle_seconds(os.environ)).serve(listener)


def idle_seconds(environment: Mapping[str, str]) -> float:
    """How long the server waits for a command: each command's environment sets it anew, so
    the server keeps to the setting of whoever used it last, not of whoever started it."""
    return float(environment.get(IDLE_SECONDS_VARIABLE) or DEFAULT_IDLE_SECONDS)


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
