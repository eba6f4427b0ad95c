"""The dbt project as Dagster sees it: where it is, where its artifacts go, and its environment.

The project lives in `dbt_project/` of the checkout; every artifact dbt writes (manifest,
partial-parse state, compiled SQL, run results, logs) goes under `<data dir>/dbt/target`,
never into the repository. The compiled SQL contains the pseudonymisation key (a literal in
the queries that hash), so that folder is created private (0700).

The manifest is prepared when the definitions load: `dbt parse` runs only when the project's
files, the dbt version or the dbt environment changed since the last parse (a fingerprint
is kept next to the manifest), so loading the code location, and every run worker that
loads it again, costs a hash of ~120 small files instead of a 10-20 s parse.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

from dagster._utils import run_with_concurrent_update_guard
from dagster_dbt import DbtCliResource, DbtProject
from sqlalchemy.engine import make_url

from core.db.engine import database_url
from core.services import ServiceError
from core.settings import Settings

PROJECT_DIR = Path(__file__).resolve().parents[3] / "dbt_project"
# Folders of the project that hold artifacts, not sources (never part of the fingerprint).
_ARTIFACT_DIRS = {"target", "logs", "dbt_packages"}
FINGERPRINT_FILE = "bcf_manifest_fingerprint"
PARTIAL_PARSE_FILE = "partial_parse.msgpack"
# Run folders (one per dbt invocation, named by dagster-dbt) kept for debugging.
KEEP_RUN_FOLDERS = 10

_ENVIRON_LOCK = threading.Lock()
# dbt's PostgreSQL sessions run without JIT (libpq reads PGOPTIONS; the profile has no
# setting for it). An incremental model's or a windowed test's predicate compares with a
# subquery, so the planner guesses far more rows than the window holds, passes
# jit_above_cost and compiles for 0.1-1.3 s a query that then runs in milliseconds
# (measured: int_sessions incremental at 1M events, 2.5 s with JIT, 1.3 s without).
DBT_PGOPTIONS = "-c jit=off"


def dbt_dir(settings: Settings) -> Path:
    """`<data dir>/dbt`: every dbt artifact and log of this deployment."""
    return settings.data_dir.resolve() / "dbt"


def target_dir(settings: Settings) -> Path:
    return dbt_dir(settings) / "target"


def dbt_project(settings: Settings) -> DbtProject:
    """The dbt project with its target folder (manifest, partial-parse state) in the data dir."""
    return DbtProject(project_dir=PROJECT_DIR, target_path=target_dir(settings))


def dbt_env(
    settings: Settings,
    database: str | None,
    *,
    as_of: str | None = None,
    threads: int | None = None,
    role: str | None = None,
    test_window_days: int | None = None,
) -> dict[str, str]:
    """The environment dbt reads (profiles.yml and dbt_project.yml vars), from the settings.

    `database` is the resolved database URL, or None where none is needed (parsing).
    `test_window_days`: the data tests of the event models read only their last N days
    (dbt_project/macros/test_window.sql); None, every row.
    """
    env = {
        "BCF_PSEUDONYMISATION_KEY": settings.pseudonymisation_key.get_secret_value(),
        "BCF_REPORTING_TZ": settings.reporting_tz,
        "BCF_REPORTING_CURRENCY": settings.reporting_currency,
        "BCF_RETENTION": json.dumps(settings.retention, sort_keys=True),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "PGOPTIONS": DBT_PGOPTIONS,
        # dagster-dbt makes a folder per invocation under this one (compiled SQL, run
        # results and, through DBT_LOG_PATH, dbt.log) and seeds it with the partial-parse
        # state found here.
        "DBT_TARGET_PATH": str(target_dir(settings)),
    }
    if database is not None:
        url = make_url(database)
        env.update(
            BCF_DBT_HOST=url.host or "127.0.0.1",
            BCF_DBT_PORT=str(url.port or 5432),
            BCF_DBT_USER=url.username or "postgres",
            BCF_DBT_PASSWORD=url.password or "",
            BCF_DBT_DBNAME=url.database or "",
        )
        if sslmode := url.query.get("sslmode"):
            env["BCF_DBT_SSLMODE"] = str(sslmode)
    if as_of is not None:
        env["BCF_DBT_AS_OF"] = as_of
    if threads is not None:
        env["BCF_DBT_THREADS"] = str(threads)
    if role is not None:
        env["BCF_DBT_ROLE"] = role
    if test_window_days is not None:
        env["BCF_DBT_TEST_WINDOW_DAYS"] = str(test_window_days)
    return env


def database_url_if_known(settings: Settings) -> str | None:
    """The database URL, or None when there is none yet (e.g. the local cluster is down)."""
    try:
        return database_url(settings)
    except ServiceError:
        return None


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block, then restore them.

    dagster-dbt starts dbt with a copy of `os.environ` and has no other way in; the block
    spans only the start of the dbt process (and its adapter), under a lock so that two
    threads of one process never see each other's values.
    """
    with _ENVIRON_LOCK:
        saved = {name: os.environ.get(name) for name in values}
        os.environ.update(values)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def project_fingerprint(project_dir: Path, env: Mapping[str, str]) -> str:
    """A digest of what the manifest depends on: the project's files, dbt, the environment."""
    from dbt.version import __version__ as dbt_version

    digest = hashlib.sha256(f"dbt {dbt_version}\n".encode())
    for path in sorted(project_dir.rglob("*")):
        relative = path.relative_to(project_dir)
        if not path.is_file() or relative.parts[0] in _ARTIFACT_DIRS:
            continue
        digest.update(f"{relative.as_posix()}\n".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    for name in sorted(env):
        if name != "DBT_TARGET_PATH":
            digest.update(f"{name}={env[name]}\n".encode())
    return digest.hexdigest()


def prepare_manifest(
    settings: Settings,
    *,
    as_of: str | None = None,
    threads: int | None = None,
    role: str | None = None,
) -> DbtProject:
    """The project with an up-to-date manifest.json in `<data dir>/dbt/target`.

    Parses only when the fingerprint changed. The parse uses the environment runs will use
    (the same settings; pass the dbt resource's fields when they are set), for two reasons:
    the manifest names each model's database, where dagster-dbt looks for the tables whose
    row counts and columns it reports; and the partial-parse state it leaves lets each run
    skip a full re-parse.
    """
    project = dbt_project(settings)
    target = target_dir(settings)
    target.mkdir(parents=True, exist_ok=True)
    with suppress(PermissionError):
        target.parent.chmod(0o700)
    env = dbt_env(
        settings, database_url_if_known(settings), as_of=as_of, threads=threads, role=role
    )
    fingerprint = project_fingerprint(PROJECT_DIR, env)
    stamp = target / FINGERPRINT_FILE
    if (
        project.manifest_path.exists()
        and stamp.exists()
        and stamp.read_text(encoding="utf-8") == fingerprint
    ):
        return project
    with environment(env):
        # One parse at a time per target folder; a process that waited for another's parse
        # finds the manifest fresh and skips its own.
        run_with_concurrent_update_guard(project.manifest_path, _parse, project=project)
    stamp.write_text(fingerprint, encoding="utf-8")
    return project


def _parse(project: DbtProject) -> None:
    cli = DbtCliResource(project_dir=project, dbt_executable=dbt_executable())
    cli.cli(["parse", "--quiet"], target_path=project.target_path).wait()


def dbt_executable() -> str:
    """The dbt installed beside this Python (the virtualenv's), through its warm server
    (`bcf-dbt`, orchestration/warm_dbt.py) unless BCF_DBT_WARM=0 or the system lacks what it
    needs; else `dbt` from PATH."""
    beside = Path(sys.executable).parent
    if not (beside / "dbt").exists():
        return "dbt"
    warm = beside / "bcf-dbt"
    if warm_dbt_enabled() and warm.exists():
        return str(warm)
    return str(beside / "dbt")


def warm_dbt_enabled() -> bool:
    # Descriptor passing and pidfd are Linux's (pidfd_open since 5.3).
    wanted = os.environ.get("BCF_DBT_WARM", "1").strip().lower() not in ("0", "false", "no")
    return wanted and sys.platform == "linux" and hasattr(os, "pidfd_open")


def prune_run_folders(settings: Settings, op_name: str, keep: int = KEEP_RUN_FOLDERS) -> None:
    """Delete all but the newest `keep` per-invocation folders dagster-dbt left for `op_name`."""
    target = target_dir(settings)
    if not target.is_dir():
        return
    runs = sorted(
        (p for p in target.iterdir() if p.is_dir() and p.name.startswith(f"{op_name}-")),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for stale in runs[keep:]:
        shutil.rmtree(stale, ignore_errors=True)


def keep_parse_state(settings: Settings, run_target: Path) -> None:
    """Make a run's partial-parse state the one the next run starts from.

    dagster-dbt seeds each invocation's folder with `<target>/partial_parse.msgpack`; when
    the run's environment differs from the one the definitions parsed with (another database
    or as-of, in tests), dbt re-parses fully once and this keeps the result for the runs after.
    """
    state = run_target / PARTIAL_PARSE_FILE
    if not state.exists():
        return
    base = target_dir(settings)
    base.mkdir(parents=True, exist_ok=True)
    temporary = base / f"{PARTIAL_PARSE_FILE}.{os.getpid()}.tmp"
    shutil.copyfile(state, temporary)
    os.replace(temporary, base / PARTIAL_PARSE_FILE)
