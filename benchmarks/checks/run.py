"""The whole quality check suite against the dbt build it guards, on the same database.

    uv run python -m benchmarks.checks.run --database-url URL [--dbt-build-in-clone ADMIN_URL]
    uv run python -m benchmarks.checks.run --events 1000000 [--days 180] [--tenants 20]
        [--admin-url URL]
    ... [--output benchmarks/checks/results.json]

`--database-url`: a database already loaded and built (e.g. the 10M-event demo database);
it is only read: the checks run against it as they are (SELECT only) and, with
`--dbt-build-in-clone`, `dbt build` runs in a copy made with `CREATE DATABASE ... TEMPLATE`
(dropped afterwards), so its data is never changed.

`--events`: builds its own: a fresh database on a private PostgreSQL (or the server of
`--admin-url`), migrated, `bcf generate` data (events spread over `days`), every landing file
loaded, `dbt build` (timed), then the checks.

The checks run as Dagster runs them: every quality asset check (GX suites, volume, source
freshness, reconciliations) in one in-process run (`dg.materialize`, checks only), timed as
wall time and per step (from the run's step events). The dbt build is `.venv/bin/dbt build`
as a subprocess, 4 threads, role bcf_pipeline (the same as benchmarks/dbt). Writes
results.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from benchmarks.databases import scratch_database
from benchmarks.dbt.run import KEY, _admin, dbt_build, ingest

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results.json"
COUNTED = (
    "public.visitor_tracking",
    "public.user_behavior_tracking",
    "public.audit_logs",
    "public.platform_usage_tracking",
    "public.financial_transactions",
    "raw.subscription_events",
)


def _counts(url: str) -> dict[str, int]:
    return {t: int(_admin(url, f"SELECT count(*) FROM {t}")[0][0]) for t in COUNTED}


def _family(step: str) -> str:
    if step.startswith("gx_"):
        return "great_expectations"
    if step in ("volume_checks", "source_freshness_checks"):
        return step
    if "ingest_ledger_balances" in step:
        return "ingest_ledger"
    return "reconciliations"


def run_checks(url: str, work: Path) -> dict[str, Any]:
    """Every quality check in one in-process Dagster run against `url`; timed."""
    os.environ.setdefault("BCF_PSEUDONYMISATION_KEY", KEY)
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    began = time.perf_counter()
    import dagster as dg

    from orchestration.defs.quality import all_checks
    from orchestration.defs.quality.resources import QualityResource, close_runners
    from orchestration.defs.quality.summary import summarize
    from orchestration.resources import PipelineSettings
    from quality.gx_run import GxRunner

    GxRunner(url, work / "gx-warmup").close()  # imports GX (a context per run is timed below)
    import_s = time.perf_counter() - began

    checks = all_checks()
    began = time.perf_counter()
    result = dg.materialize(
        checks,
        selection=dg.AssetSelection.checks(*checks),
        resources={
            "bcf": PipelineSettings(database_url=url, data_dir=str(work / "data")),
            "quality": QualityResource(),
        },
        raise_on_error=False,
    )
    wall = time.perf_counter() - began
    close_runners()  # no connection left open on the database (it may be copied next)
    steps: dict[str, float] = {}
    for event in result.all_events:
        if event.step_key is not None and event.event_type_value in (
            "STEP_SUCCESS",
            "STEP_FAILURE",
        ):
            duration = getattr(event.event_specific_data, "duration_ms", None)
            if duration is not None:
                steps[event.step_key] = round(duration / 1000, 2)
    families: dict[str, float] = defaultdict(float)
    for step, seconds in steps.items():
        families[_family(step)] += seconds
    summary = summarize(result)
    return {
        "wall_s": round(wall, 1),
        "gx_import_and_first_context_s": round(import_s, 1),
        "steps": len(steps),
        "steps_s_sum": round(sum(steps.values()), 1),
        "by_family_s": {k: round(v, 1) for k, v in sorted(families.items())},
        "slowest_steps": sorted(steps.items(), key=lambda kv: -kv[1])[:10],
        "checks": summary.counts(),
        "failed": [f"{c.severity} {c.name}: {c.description}" for c in summary.failed],
    }


def _clone(admin_url: str, source_url: str) -> AbstractContextManager[str]:
    from sqlalchemy.engine import make_url

    source = make_url(source_url).database
    name = f"bench_checks_clone_{uuid.uuid4().hex[:6]}"
    return scratch_database(admin_url, name, template=source)


def measure_existing(url: str, clone_admin: str | None, work: Path) -> dict[str, Any]:
    counts = _counts(url)
    print(f"database: {counts}", flush=True)
    # The copy first: CREATE DATABASE ... TEMPLATE needs the source free of sessions, and
    # GX keeps some of its connections for the life of the process.
    with _clone(clone_admin, url) if clone_admin else nullcontext() as clone_url:
        checks = run_checks(url, work)
        print(f"checks: {checks['wall_s']} s", flush=True)
        build = None
        if clone_url:
            build = dbt_build(clone_url, work, "clone")
            print(f"dbt build (clone): {build['seconds']} s", flush=True)
    return {"rows": counts, "checks": checks, "dbt_build": build}


def measure_generated(admin_url: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from core.db import migrate
    from demo_data.run import generate

    database = f"bench_checks_{args.events}_{uuid.uuid4().hex[:6]}"
    landing = work / "landing"
    with scratch_database(admin_url, database) as url:
        migrate.upgrade(url)
        per_day = max(1, round(args.events / args.days))
        print(f"generating {args.days} days, {per_day}/day ...", flush=True)
        began = time.perf_counter()
        # Ending yesterday (UTC), as `bcf generate` does: nothing in the future.
        generate(
            url, landing, tenants=args.tenants, days=args.days, seed=args.seed,
            events_per_day=per_day,
        )  # fmt: skip
        generate_s = time.perf_counter() - began
        loaded = ingest(url, landing)
        for table in COUNTED:
            _admin(url, f"VACUUM ANALYZE {table}")
        counts = _counts(url)
        print(f"ingested in {loaded['seconds']:.1f} s: {counts}", flush=True)
        build = dbt_build(url, work, "full")
        print(f"dbt build: {build['seconds']} s", flush=True)
        checks = run_checks(url, work)
        print(f"checks: {checks['wall_s']} s", flush=True)
        return {
            "events_target": args.events,
            "events_per_day": per_day,
            "days": args.days,
            "tenants": args.tenants,
            "rows": counts,
            "generate_s": round(generate_s, 1),
            "ingest_s": round(loaded["seconds"], 1),
            "dbt_build": build,
            "checks": checks,
        }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="an existing, built database (only read)")
    parser.add_argument(
        "--dbt-build-in-clone", metavar="ADMIN_URL", help="time dbt build in a copy"
    )
    parser.add_argument("--events", type=int, help="build own: tracking events in total")
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--admin-url", help="server for --events (default: a private one)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    if bool(args.database_url) == bool(args.events):
        parser.error("give either --database-url or --events")
    os.environ["GX_ANALYTICS_ENABLED"] = "False"
    work = Path(tempfile.mkdtemp(prefix="bench-checks-"))
    server = None
    try:
        if args.database_url:
            measured = measure_existing(args.database_url, args.dbt_build_in_clone, work)
        else:
            admin = args.admin_url
            if admin is None:
                from core.services import LocalPostgres

                server = LocalPostgres(work / "postgres")
                server.start()
                admin = server.url("postgres")
            measured = measure_generated(admin, args, work)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    build = measured.get("dbt_build")
    checks = measured["checks"]
    record = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        },
        **measured,
        "checks_to_dbt_build": round(checks["wall_s"] / build["seconds"], 3) if build else None,
    }
    args.output.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    print("| rows | dbt build s | checks s | checks / build |\n|---|---:|---:|---:|")
    print(
        f"| {measured['rows']} | {build['seconds'] if build else '-'} | {checks['wall_s']} "
        f"| {record['checks_to_dbt_build']} |"
    )
    print(f"by family: {checks['by_family_s']}; checks: {checks['checks']}")


if __name__ == "__main__":
    main()
