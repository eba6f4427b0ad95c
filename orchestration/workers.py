"""Local Celery workers for Dagster steps, started and stopped as `bcf services` does servers.

Each worker is one process (`python -m orchestration.celery_worker`) under
`<data dir>/workers/`: `<name>.pid`, `<name>.log` and `<name>.json` (its queues and the code
version it started with). A worker whose code version is not the checkout's is shown as stale:
it refuses the steps of runs started on other code.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from core.services import ServiceError
from orchestration.executor import QUEUES, code_version
from orchestration.local import DAGSTER_DATABASE_VARIABLE, create_dagster_tables

WORKER_PREFIX = "bcf-worker-"
READY = re.compile(r"\bready\.")
# A worker loads the code before it says it is ready; on a new data folder that includes
# parsing the dbt project.
STARTUP_SECONDS = 300.0
STOP_SECONDS = 60.0
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class WorkerStatus:
    name: str
    state: str  # running, stopped
    pid: int | None
    queues: tuple[str, ...]
    code_version: str | None
    log: Path

    @property
    def stale(self) -> bool:
        return self.state == "running" and self.code_version != code_version()


def parse_queues(text: str) -> tuple[str, ...]:
    """`ingest,dbt` as queue names; one line saying which are unknown otherwise."""
    queues = tuple(dict.fromkeys(q.strip() for q in text.split(",") if q.strip()))
    unknown = [q for q in queues if q not in QUEUES]
    if not queues or unknown:
        raise ValueError(
            f"unknown queue(s) {', '.join(unknown) or '(none given)'}: use {', '.join(QUEUES)}"
        )
    return queues


class LocalWorkers:
    """The worker processes of one data folder."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir.resolve() / "workers"

    def _names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        names = {path.stem for path in self.root.glob(f"{WORKER_PREFIX}*.json")}
        return sorted(names, key=lambda name: int(name.removeprefix(WORKER_PREFIX)))

    def status(self) -> list[WorkerStatus]:
        return [self._status(name) for name in self._names()]

    def running(self) -> set[str]:
        return {status.name for status in self.status() if status.pid is not None}

    def _status(self, name: str) -> WorkerStatus:
        record = json.loads((self.root / f"{name}.json").read_text(encoding="utf-8"))
        pid = record["pid"]
        running = _alive(pid)
        return WorkerStatus(
            name,
            "running" if running else "stopped",
            pid if running else None,
            tuple(record["queues"]),
            record["code_version"],
            self.root / f"{name}.log",
        )

    def start(self, count: int, queues: tuple[str, ...], environment: dict[str, str]) -> list[str]:
        """Workers 1..count running on `queues`: the missing ones are started, and waited for
        until they take steps. Says what it did, one line per worker."""
        if count < 1:
            raise ValueError(f"--count must be at least 1, not {count}")
        self.root.mkdir(parents=True, exist_ok=True)
        if storage := environment.get(DAGSTER_DATABASE_VARIABLE):
            create_dagster_tables(storage)
        lines = []
        started: list[tuple[str, subprocess.Popen[bytes], Path]] = []
        for number in range(1, count + 1):
            name = f"{WORKER_PREFIX}{number}"
            if (self.root / f"{name}.json").exists() and (status := self._status(name)).pid:
                lines.append(
                    f"{name} already running (pid {status.pid}, queues {','.join(status.queues)})"
                )
                continue
            log = self.root / f"{name}.log"
            with log.open("ab") as output:
                process = subprocess.Popen(
                    [sys.executable, "-m", "orchestration.celery_worker", "--name", name,
                     "--queues", ",".join(queues)],
                    cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT,
                    start_new_session=True,  # `bcf workers up` returns; the workers stay
                )  # fmt: skip
            record = {"pid": process.pid, "queues": list(queues), "code_version": code_version()}
            (self.root / f"{name}.json").write_text(json.dumps(record), encoding="utf-8")
            started.append((name, process, log))
        try:
            for name, process, log in started:
                self._wait_ready(name, process, log)
                lines.append(f"{name} running (pid {process.pid}, queues {','.join(queues)})")
        except ServiceError:
            for _name, process, _log in started:  # none of this call's workers left behind
                process.kill()
            raise
        return lines

    @staticmethod
    def _wait_ready(name: str, process: subprocess.Popen[bytes], log: Path) -> None:
        offset = log.stat().st_size if log.exists() else 0
        deadline = time.monotonic() + STARTUP_SECONDS
        seen = b""
        while True:
            with log.open("rb") as text:
                text.seek(max(0, offset - 4096))
                seen = text.read()
            if READY.search(seen.decode(errors="replace")):
                return
            if process.poll() is not None or time.monotonic() > deadline:
                last = [line for line in seen.decode(errors="replace").splitlines() if line]
                reason = last[-1].strip() if last else f"not ready in {STARTUP_SECONDS:.0f} s"
                process.kill()
                raise ServiceError(f"worker {name} did not start: {reason} (log: {log})")
            time.sleep(0.5)

    def stop(self, names: set[str] | None = None) -> list[str]:
        """Every running worker (or those `names`) asked to finish its step and exit; killed
        after a minute."""
        lines = []
        for status in self.status():
            if names is not None and status.name not in names:
                continue
            if status.pid is None:
                lines.append(f"{status.name} not running")
                continue
            process = psutil.Process(status.pid)
            process.send_signal(signal.SIGTERM)  # Celery's warm shutdown
            try:
                process.wait(timeout=STOP_SECONDS)
                lines.append(f"{status.name} stopped")
            except psutil.TimeoutExpired:
                process.kill()
                lines.append(f"{status.name} killed: its step did not end in {STOP_SECONDS:.0f} s")
        return lines


def _alive(pid: int | None) -> bool:
    if pid is None or not psutil.pid_exists(pid):
        return False
    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and "celery_worker" in " ".join(
            process.cmdline()
        )
    except psutil.Error:
        return False


def worker_environment(base: dict[str, str], broker: str) -> dict[str, str]:
    """The pipeline's environment for a worker process, on this broker."""
    # The checkout first on the path: the worker imports this code, wherever it starts.
    path = os.pathsep.join(filter(None, [str(ROOT), base.get("PYTHONPATH")]))
    return {**base, "BCF_CELERY_BROKER_URL": broker, "PYTHONUNBUFFERED": "1", "PYTHONPATH": path}
