"""dbt build time: full, incremental with one new day, and full refresh, at several scales.

    uv run python -m benchmarks.dbt.run [--scales 300000,1000000] [--tenants 20] [--days 180]
        [--database-url URL] [--seed 7] [--output benchmarks/dbt/results.json]
        [--prepare-only NAME | --from-database NAME [--in-place]] [--skip-full-refresh]
        [--variant NAME=ARGUMENTS ... [--rounds 2]]

For each scale (total tracking events over `days`; events per day = scale / days) in a fresh
database migrated with `core.db.migrate.upgrade` on a private PostgreSQL (`LocalPostgres`
in a temporary folder) or on the server of `--database-url` (an admin URL):

1. `demo_data.run.generate` writes the demo data for `days + 1` days ending END + 1
   (files plus operational rows) and every landing file is loaded with `find_new_files` +
   `load_file` (generation and ingestion timed apart from dbt).
2. The last day (END + 1, UTC) of the four event tables the incremental models read
   (`visitor_tracking`, `user_behavior_tracking`, `audit_logs`, `platform_usage_tracking`)
   is moved aside into a `bench_hold` schema: the history is `days` days ending END.
3. `dbt build` (full: an empty warehouse), timed as the subprocess's wall time.
4. The held day arrives (its rows are inserted back, counts checked), then `dbt build`
   again (incremental), timed.
5. `dbt build --full-refresh`, timed, for comparison.

Why not "generate days + 1 ending a day later and ingest the changed files": the generator
is not append-stable. Its traffic plan spreads `events_per_day x days` over the window with a
growth curve relative to the window, so one more day changes every day's volume and
regenerates the tracking weeks with new event ids (measured at 20k events / 30 days: 18
files changed and `visitor_tracking` went from 20,074 to 40,829 rows, the old events kept
and a second history added), and the monthly behaviour/audit/usage files change too.

dbt runs as `.venv/bin/dbt` with the BCF_DBT_* settings, as role `bcf_pipeline`, with its
target and logs in a temporary folder; the per-node timings of each build come from its
`run_results.json`. Writes `benchmarks/dbt/results.json` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import AbstractContextManager, nullcontext
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from benchmarks.databases import create_database, database_url, scratch_database

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT = PROJECT_ROOT / "dbt_project"
DBT = str(Path(sys.executable).parent / "dbt")
WARM_DBT = str(Path(sys.executable).parent / "bcf-dbt")  # through the warm server
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results.json"
KEY = "benchmark-pseudonymisation-key-not-a-secret"
END = date(2026, 11, 23)  # the history ends here; the new day is END + 1
EVENT_TABLES = (
    "public.visitor_tracking",
    "public.user_behavior_tracking",
    "public.audit_logs",
    "public.platform_usage_tracking",
)
INCREMENTAL_MODELS = (
    "int_sessions",
    "int_user_activity_daily",
    "web_traffic_daily",
    "usage_platform_daily",
    "compliance_audit_activity_daily",
    "compliance_personal_data_access",
)
# What the Dagster sensor passes after ingestion (orchestration.defs.dbt.TEST_WINDOW_DAYS).
TEST_WINDOW_ENV = "BCF_DBT_TEST_WINDOW_DAYS"
TEST_WINDOW_DAYS = 7
# The models downstream of the four event tables: what the sensor selects after they change.
AFTER_INGEST_SELECTION = (
    "source:tracking.visitor_tracking+",
    "source:behaviour.user_behavior_tracking+",
    "source:audit.audit_logs+",
    "source:usage.platform_usage_tracking+",
)
COUNTED = {
    "visitor_tracking": "public.visitor_tracking",
    "behaviour": "public.user_behavior_tracking",
    "audit": "public.audit_logs",
}


def _admin(url: str, statement: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(statement)
        return cursor.fetchall() if cursor.description else []


def _counts(url: str) -> dict[str, int]:
    return {name: _admin(url, f"SELECT count(*) FROM {t}")[0][0] for name, t in COUNTED.items()}


def ingest(url: str, landing: Path) -> dict[str, Any]:
    """Load every landing file the ledger has not completed; timed."""
    from ingestion.load.discover import find_new_files
    from ingestion.load.loader import load_file

    began = time.perf_counter()
    files = find_new_files(url, landing)
    totals = {"files": len(files), "rows_in": 0, "loaded": 0, "duplicate": 0, "quarantined": 0}
    by_source: dict[str, int] = {}
    for found in files:
        result = load_file(url, found.source, found.path)
        totals["rows_in"] += result.rows_in
        totals["loaded"] += result.rows_loaded
        totals["duplicate"] += result.rows_duplicate
        totals["quarantined"] += result.rows_quarantined
        by_source[found.source] = by_source.get(found.source, 0) + 1
    return {**totals, "files_by_source": by_source, "seconds": time.perf_counter() - began}


def dbt_env(url: str) -> dict[str, str]:
    from sqlalchemy.engine import make_url

    from orchestration.defs.dbt.project import DBT_PGOPTIONS

    parsed = make_url(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BCF_", "DBT_"))}
    env.update(
        BCF_DBT_HOST=parsed.host or "127.0.0.1",
        BCF_DBT_PORT=str(parsed.port or 5432),
        BCF_DBT_USER=parsed.username or "postgres",
        BCF_DBT_PASSWORD=parsed.password or "",
        BCF_DBT_DBNAME=parsed.database or "",
        BCF_DBT_THREADS="4",
        BCF_DBT_ROLE="bcf_pipeline",
        BCF_PSEUDONYMISATION_KEY=KEY,
        BCF_REPORTING_TZ="America/Sao_Paulo",
        BCF_REPORTING_CURRENCY="BRL",
        DBT_SEND_ANONYMOUS_USAGE_STATS="False",
        PGOPTIONS=DBT_PGOPTIONS,  # as the Dagster runs: no JIT in dbt's sessions
    )
    return env


def dbt_build(
    url: str,
    work: Path,
    label: str,
    *extra: str,
    env: dict[str, str] | None = None,
    executable: str = DBT,
) -> dict[str, Any]:
    """`dbt build` as a subprocess; its wall time, dbt's own split and the per-node timings.

    Every build of a scale shares one target folder, as the Dagster runs share their
    partial-parse state: the first parses the whole project, the later ones reuse it.
    """
    target, logs = work / "target", work / f"logs-{label}"
    command = [
        executable, "build", *extra,
        "--project-dir", str(DBT_PROJECT),
        "--profiles-dir", str(DBT_PROJECT),
        "--target-path", str(target),
        "--log-path", str(logs),
    ]  # fmt: skip
    load_before = os.getloadavg()[0]
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run(
        command, env={**dbt_env(url), **(env or {})}, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - began
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    if executable == WARM_DBT:  # the command ran as the server's child: its log has the CPU
        cpu_s += _last_warm_command_cpu_s()
    run_results = json.loads((target / "run_results.json").read_text())
    results = run_results["results"]
    statuses: dict[str, int] = {}
    for node in results:
        statuses[node["status"]] = statuses.get(node["status"], 0) + 1
    if done.returncode != 0:
        failed = [n["unique_id"] for n in results if n["status"] in ("error", "fail")]
        print(done.stdout[-4000:], file=sys.stderr)
        raise RuntimeError(f"dbt build {' '.join(extra)} failed: {failed}")
    nodes = sorted(
        (
            {"node": n["unique_id"], "s": round(n["execution_time"], 2), "status": n["status"]}
            for n in results
        ),
        key=lambda n: -n["s"],
    )
    models = [n for n in nodes if n["node"].startswith("model.")]
    tests = [n for n in nodes if not n["node"].startswith("model.")]
    executing = run_results["elapsed_time"]  # connecting and running the nodes
    return {
        "seconds": round(seconds, 1),
        "executing_s": round(executing, 1),
        "startup_and_parse_s": round(seconds - executing, 1),
        # dbt's own CPU (user + system; not the server's): steadier than wall time when
        # the cores are shared
        "dbt_cpu_s": round(cpu_s, 1),
        # the machine's 1-minute load average before and after: how shared the cores were
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "arguments": list(extra),
        "env": env or {},
        "nodes": len(results),
        "statuses": statuses,
        "models_s": round(sum(n["s"] for n in models), 1),
        "tests_s": round(sum(n["s"] for n in tests), 1),
        "slowest_models": models[:10],
        "slowest_tests": tests[:10],
        "incremental_models_s": {
            n["node"].split(".")[-1]: n["s"]
            for n in models
            if n["node"].split(".")[-1] in INCREMENTAL_MODELS
        },
        "models_all_s": {n["node"].split(".")[-1]: n["s"] for n in models},
    }


def hold_back(url: str, day: date) -> dict[str, int]:
    """Move the event rows of `day` (UTC) and later into `bench_hold`: not yet arrived."""
    import psycopg

    held = {}
    with psycopg.connect(url, autocommit=False) as conn:
        conn.execute("CREATE SCHEMA bench_hold")
        for table in EVENT_TABLES:
            name = table.split(".")[1]
            conn.execute(
                f"CREATE TABLE bench_hold.{name} AS SELECT * FROM {table} "
                "WHERE created_at >= %s::date::timestamp AT TIME ZONE 'UTC'",
                (day,),
            )
            cursor = conn.execute(
                f"DELETE FROM {table} WHERE created_at >= %s::date::timestamp AT TIME ZONE 'UTC'",
                (day,),
            )
            held[name] = cursor.rowcount
    return held


def arrive(url: str) -> float:
    """The held-back day arrives: its rows are inserted again; returns the seconds."""
    import psycopg

    began = time.perf_counter()
    with psycopg.connect(url, autocommit=False) as conn:
        for table in EVENT_TABLES:
            name = table.split(".")[1]
            conn.execute(f"INSERT INTO {table} SELECT * FROM bench_hold.{name}")
        conn.execute("DROP SCHEMA bench_hold CASCADE")
    for table in EVENT_TABLES:
        _admin(url, f"ANALYZE {table}")
    return time.perf_counter() - began


PREPARED = "bench_meta.prepared"  # what `prepare` did, kept in the database (and its clones)


def prepare(url: str, events: int, args: argparse.Namespace, landing: Path) -> dict[str, Any]:
    """Migrate, generate `days + 1` days ending END + 1 and ingest every file; recorded.

    The record (`bench_meta.prepared`) lets a later run benchmark a kept database (or a
    `CREATE DATABASE ... TEMPLATE` clone of it) without generating and ingesting again.
    """
    from core.db import migrate
    from demo_data.run import generate

    days = args.days + 1  # the history plus the new day
    per_day = max(1, round(events / args.days))
    new_day = END + timedelta(days=1)
    began = time.perf_counter()
    migrate.upgrade(url)
    migrate_s = time.perf_counter() - began
    print(f"[{events:,}] generating {days} days, {per_day}/day ...", flush=True)
    began = time.perf_counter()
    summary = generate(
        url, landing, tenants=args.tenants, days=days, seed=args.seed,
        events_per_day=per_day, end_date=new_day,
    )  # fmt: skip
    generate_s = time.perf_counter() - began
    print(f"[{events:,}] generated in {generate_s:.0f} s; ingesting ...", flush=True)
    loaded = ingest(url, landing)
    for table in EVENT_TABLES:
        _admin(url, f"VACUUM ANALYZE {table}")
    record = {
        "events_target": events,
        "events_per_day": per_day,
        "days_history": args.days,
        "tenants": args.tenants,
        "seed": args.seed,
        "period": [str(summary.first_day), str(new_day)],
        "rows_with_new_day": _counts(url),
        "migrate_s": round(migrate_s, 1),
        "generate_s": round(generate_s, 1),
        "ingest": {**loaded, "seconds": round(loaded["seconds"], 1)},
    }
    print(f"[{events:,}] ingested in {loaded['seconds']:.0f} s: {record['rows_with_new_day']}")
    _admin(url, "CREATE SCHEMA bench_meta")
    _admin(url, f"CREATE TABLE {PREPARED} (record jsonb NOT NULL)")
    with __import__("psycopg").connect(url, autocommit=True) as conn:
        conn.execute(f"INSERT INTO {PREPARED} VALUES (%s::jsonb)", (json.dumps(record),))
    return record


def prepared(url: str) -> dict[str, Any] | None:
    """The record of `prepare` in this database, or None if it was not prepared."""
    if not _admin(url, "SELECT to_regclass('bench_meta.prepared')")[0][0]:
        return None
    rows = _admin(url, f"SELECT record FROM {PREPARED}")
    return rows[0][0] if rows else None


def _last_warm_command_cpu_s() -> float:
    from orchestration.warm_dbt import socket_path

    log = socket_path().with_suffix(".log").read_text()
    return float(re.findall(r"command \d+: exit code -?\d+, cpu ([\d.]+) s", log)[-1])


def start_warm_server(url: str) -> None:
    """The warm dbt server up and serving: its first command starts it, a second waits for
    its import of dbt."""
    for _ in range(2):
        subprocess.run(
            [WARM_DBT, "debug", "--config-dir"], env=dbt_env(url), capture_output=True, check=True
        )
        time.sleep(1)


def compare_after_ingest(
    url: str,
    work: Path,
    events: int,
    variants: dict[str, list[str]],
    rounds: int,
    warm: bool = False,
) -> dict[str, Any]:
    """The sensor's after-ingest build as it is, with each variant's extra dbt arguments and,
    with `warm`, through the warm dbt server (`bcf-dbt`) as the Dagster runs call it.

    Interleaved, the order reversed every other round, so a change in the machine's load
    falls on all of them alike; medians of `rounds` builds each, after one build not counted
    (the first after the full build rewrites the window the others rewrite again).
    """
    window = {TEST_WINDOW_ENV: str(TEST_WINDOW_DAYS)}
    names = ["baseline", *variants, *(["warm"] if warm else [])]
    arguments = {"baseline": [], **variants, "warm": []}
    executables = {"warm": WARM_DBT}
    if warm:
        start_warm_server(url)
    warm_up = dbt_build(
        url, work, f"{events}-warm-up", "--select", *AFTER_INGEST_SELECTION, env=window
    )
    print(f"[{events:,}] after ingest, not counted: {warm_up['seconds']:.1f} s", flush=True)
    builds: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for number in range(rounds):
        for name in names if number % 2 == 0 else reversed(names):
            build = dbt_build(
                url, work, f"{events}-{name}-{number}", "--select", *AFTER_INGEST_SELECTION,
                *arguments[name], env=window, executable=executables.get(name, DBT),
            )  # fmt: skip
            builds[name].append(build)
            print(f"[{events:,}] after ingest, {name}: {build['seconds']:.1f} s", flush=True)
    return {
        name: {
            "arguments": arguments[name],
            "executable": Path(executables.get(name, DBT)).name,
            "seconds": [build["seconds"] for build in runs],
            "median_s": round(statistics.median(build["seconds"] for build in runs), 1),
            "median_executing_s": round(
                statistics.median(build["executing_s"] for build in runs), 1
            ),
            "median_dbt_cpu_s": round(statistics.median(build["dbt_cpu_s"] for build in runs), 1),
            "nodes": runs[0]["nodes"],
            "builds": runs,
        }
        for name, runs in builds.items()
    }


def benchmark(
    url: str,
    record: dict[str, Any],
    work: Path,
    full_refresh: bool = True,
    variants: dict[str, list[str]] | None = None,
    rounds: int = 2,
    warm: bool = False,
) -> dict[str, Any]:
    """Hold back the new day, full build; the day arrives; the incremental builds.

    The incremental builds, one after the other on the same data (each rebuilds the same
    window, the new day plus `event_lookback_days`, so each costs what the first would):
    `everything` (the daily schedule: every model, every test on every row), `test_window`
    (every model, tests of the event models on their last TEST_WINDOW_DAYS), `after_ingest`
    (what the Dagster sensor runs: the models downstream of the four event tables, tests on
    the window). Then `dbt build --full-refresh` for comparison, unless skipped.

    With `variants`, after the full build only the after-ingest build runs: as it is and with
    each variant's extra arguments, interleaved, `rounds` times each (`compare_after_ingest`).
    """
    events = record["events_target"]
    new_day = END + timedelta(days=1)
    total = record["rows_with_new_day"]
    held = hold_back(url, new_day)
    for table in EVENT_TABLES:
        _admin(url, f"VACUUM ANALYZE {table}")
    counts = _counts(url)
    print(f"[{events:,}] held back {new_day}: {held}", flush=True)

    builds = {"full": dbt_build(url, work, f"{events}-full")}
    print(f"[{events:,}] full dbt build {builds['full']['seconds']:.1f} s", flush=True)
    arrive_s = arrive(url)
    if _counts(url) != total:
        raise RuntimeError("the new day did not restore the row counts")
    full_s = builds["full"]["seconds"]
    if variants or warm:
        compared = compare_after_ingest(url, work, events, variants or {}, rounds, warm)
        for variant in compared.values():
            variant["ratio_to_full"] = round(variant["median_s"] / full_s, 3)
        return {
            **record,
            "rows": counts,
            "new_day_rows": held,
            "test_window_days": TEST_WINDOW_DAYS,
            "full": builds["full"],
            "after_ingest_variants": compared,
        }
    window = {TEST_WINDOW_ENV: str(TEST_WINDOW_DAYS)}
    incremental_runs: dict[str, tuple[tuple[str, ...], dict[str, str] | None]] = {
        "incremental_everything": ((), None),
        "incremental_test_window": ((), window),
        "incremental_after_ingest": (("--select", *AFTER_INGEST_SELECTION), window),
    }
    for kind, (arguments, env) in incremental_runs.items():
        builds[kind] = dbt_build(url, work, f"{events}-{kind}", *arguments, env=env)
        print(f"[{events:,}] {kind} {builds[kind]['seconds']:.1f} s", flush=True)
    if full_refresh:
        builds["full_refresh"] = dbt_build(url, work, f"{events}-refresh", "--full-refresh")
        print(f"[{events:,}] full refresh {builds['full_refresh']['seconds']:.1f} s", flush=True)
    return {
        **record,
        "rows": counts,
        "new_day_rows": held,
        "new_day_insert_s": round(arrive_s, 2),
        "test_window_days": TEST_WINDOW_DAYS,
        "seconds": {kind: build["seconds"] for kind, build in builds.items()},
        "ratio_to_full": {
            kind: round(build["seconds"] / full_s, 3)
            for kind, build in builds.items()
            if kind.startswith("incremental")
        },
        "builds": builds,
    }


def run_scale(admin_url: str, events: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """One scale: a fresh database, a clone of `--from-database`'s unbuilt copy, or that
    database itself (`--in-place`: prepared, never built; kept, built, afterwards)."""
    source = args.from_database and f"{args.from_database}_unbuilt"
    name = args.from_database if args.in_place else f"bench_dbt_{events}_{uuid.uuid4().hex[:6]}"
    database: AbstractContextManager[str]
    if args.in_place:
        if not source:
            raise SystemExit("--in-place needs --from-database")
        database = nullcontext(database_url(admin_url, name))
    else:
        database = scratch_database(admin_url, name, template=source or None)
    landing = work / f"landing-{events}"
    try:
        with database as url:
            record = prepared(url) if source else prepare(url, events, args, landing)
            if record is None:
                raise RuntimeError(f"{name} was not prepared by this benchmark (--prepare-only)")
            scale_work = work / str(events)  # its own target folder: parse state per database
            scale_work.mkdir()
            return benchmark(
                url,
                record,
                scale_work,
                full_refresh=not args.skip_full_refresh,
                variants=dict(args.variant),
                rounds=args.rounds,
                warm=args.warm,
            )
    finally:
        shutil.rmtree(landing, ignore_errors=True)


def keep_prepared(
    admin_url: str, database: str, events: int, args: argparse.Namespace, work: Path
) -> None:
    """A kept database with every day loaded and built, and its unbuilt clone."""
    url = create_database(admin_url, database)
    landing = work / f"landing-{events}"
    try:
        prepare(url, events, args, landing)
    finally:
        shutil.rmtree(landing, ignore_errors=True)
    create_database(admin_url, f"{database}_unbuilt", template=database)
    print(f"[{events:,}] kept {database}_unbuilt (for --from-database {database})", flush=True)
    build = dbt_build(url, work, f"{events}-prepare")
    print(f"[{events:,}] dbt build of {database}: {build['seconds']:.1f} s", flush=True)
    print(f"ready: {url}", flush=True)


def _table(scales: list[dict[str, Any]]) -> str:
    kinds = (
        "full",
        "incremental_everything",
        "incremental_test_window",
        "incremental_after_ingest",
        "full_refresh",
    )
    lines = [
        "| events | visitor_tracking | " + " | ".join(f"{k} s" for k in kinds) + " |",
        "|---:|---:|" + "---:|" * len(kinds),
    ]
    for scale in scales:
        seconds = scale["seconds"]
        cells = []
        for kind in kinds:
            ratio = scale["ratio_to_full"].get(kind)
            cell = f"{seconds[kind]:.1f}" if kind in seconds else "-"
            cells.append(cell + (f" ({ratio:.2f})" if ratio is not None else ""))
        lines.append(
            f"| {scale['events_target']:,} | {scale['rows']['visitor_tracking']:,} | "
            + " | ".join(cells)
            + " |"
        )
    return "\n".join(lines)


def _variants_table(scales: list[dict[str, Any]]) -> str:
    lines = [
        "| events | variant | after ingest, median s (runs) | executing s | dbt CPU s | / full |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for scale in scales:
        full = scale["full"]["seconds"]
        lines.append(f"| {scale['events_target']:,} | full build | {full:.1f} | | |")
        for name, variant in scale["after_ingest_variants"].items():
            runs = ", ".join(f"{s:.1f}" for s in variant["seconds"])
            lines.append(
                f"| | {name} | {variant['median_s']:.1f} ({runs}) | "
                f"{variant['median_executing_s']:.1f} | {variant['median_dbt_cpu_s']:.1f} | "
                f"{variant['ratio_to_full']:.2f} |"
            )
    return "\n".join(lines)


def _variant(text: str) -> tuple[str, list[str]]:
    """`NAME=ARGUMENTS` of --variant: a name and the dbt arguments it adds."""
    name, separator, arguments = text.partition("=")
    if not separator or not name or name == "baseline":
        raise argparse.ArgumentTypeError(f"expected NAME=ARGUMENTS (NAME not baseline): {text}")
    return name, shlex.split(arguments)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="300000,1000000", help="total tracking events")
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="an admin URL (default: a private server)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--prepare-only",
        metavar="DATABASE",
        help="create, generate and ingest DATABASE (first scale), keep an unbuilt clone "
        "DATABASE_unbuilt for --from-database, dbt build DATABASE, keep both, stop",
    )
    parser.add_argument(
        "--from-database",
        metavar="DATABASE",
        help="benchmark a clone of this database made by --prepare-only (its _unbuilt copy)",
    )
    parser.add_argument(
        "--in-place",
        action="store_true",
        help="benchmark the --from-database database itself, not a clone; it is kept",
    )
    parser.add_argument(
        "--skip-full-refresh", action="store_true", help="no --full-refresh build at the end"
    )
    parser.add_argument(
        "--variant",
        action="append",
        type=_variant,
        default=[],
        metavar="NAME=ARGUMENTS",
        help="compare the after-ingest build with these extra dbt arguments (repeatable); "
        "then only the full and the after-ingest builds run",
    )
    parser.add_argument(
        "--warm",
        action="store_true",
        help="a variant `warm`: the after-ingest build through the warm dbt server (bcf-dbt)",
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="after-ingest builds of each --variant (2)"
    )
    args = parser.parse_args(argv)
    scales = [int(s) for s in args.scales.split(",") if s.strip()]

    os.chdir(PROJECT_ROOT)
    work = Path(tempfile.mkdtemp(prefix="bench-dbt-"))
    local = None
    try:
        if args.database_url:
            admin_url = args.database_url
        else:
            from core.services import LocalPostgres

            local = LocalPostgres(
                Path(tempfile.mkdtemp(prefix="bench-dbt-pg-")),
                os_user=os.environ.get("BCF_SERVICES_OS_USER", "bcf"),
            )
            print(local.start(), flush=True)
            admin_url = local.url("postgres")
        from core.db.engine import libpq_url

        admin_url = libpq_url(admin_url)
        version = _admin(admin_url, "SHOW server_version")[0][0]
        if args.prepare_only:
            keep_prepared(admin_url, args.prepare_only, scales[0], args, work)
            return
        results: dict[str, Any] = {
            "benchmark": "benchmarks/dbt",
            "machine": {
                "cpu_count": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "server_version": version,
                "private_server": local is not None,
            },
            "method": (
                "per scale: a migrated database with days+1 days generated and ingested "
                "(fresh, or a clone of a --prepare-only one); the last day held back; dbt "
                "build (full); the day arrives; incremental builds: everything, tests on the "
                "window, the sensor's selection with tests on the window; dbt build "
                "--full-refresh; wall time of the dbt subprocess, 4 dbt threads, role "
                "bcf_pipeline, one target folder (partial parse) per scale"
            ),
            "scales": [],
        }
        if args.variant or args.warm:
            results["method"] = (
                "per scale: as below up to the full build; the day arrives; the sensor's "
                "after-ingest build as it is (baseline) and with each variant's extra dbt "
                "arguments, interleaved (order reversed every other round), medians; "
                "wall time of the dbt subprocess"
            )
        # Scales measured by earlier runs (another --scales) stay in the file.
        earlier = json.loads(args.output.read_text()) if args.output.exists() else {}
        kept = [s for s in earlier.get("scales", []) if s["events_target"] not in scales]
        measured = []
        for events in scales:
            measured.append(run_scale(admin_url, events, args, work))
            results["scales"] = sorted(kept + measured, key=lambda s: s["events_target"])
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(json.dumps(results, indent=2, default=str) + "\n")
        print()
        if args.variant or args.warm:
            print(_variants_table(measured))
            print(f"results: {args.output}")
            return
        print(_table(results["scales"]))
        for scale in results["scales"]:
            print(f"\nincremental models (s), {scale['events_target']:,} events:")
            for kind, build in scale["builds"].items():
                print(f"  {kind:25} {build['incremental_models_s']}")
            print(f"slowest models, full build, {scale['events_target']:,} events:")
            for node in scale["builds"]["full"]["slowest_models"][:5]:
                print(f"  {node['s']:7.2f} s  {node['node']}")
        print(f"results: {args.output}")
    finally:
        if local is not None:
            try:
                local.stop()
            finally:
                local.delete()
                shutil.rmtree(local.root.parents[1], ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
