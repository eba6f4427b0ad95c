"""`bcf`: the command line of BotCriptoFy2 Analytics."""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from rich import box
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import OperationalError
from typer._click.exceptions import ClickException, NoArgsIsHelpError
from typer.core import TyperGroup

from core.db.engine import database_url, libpq_url
from core.services import LocalPostgres, LocalRedis, LocalReplica, ServiceError
from core.settings import Settings
from write_api.cli import register as register_api_commands

if TYPE_CHECKING:
    from dagster import AssetKey, DagsterInstance
    from rich.progress import TaskID

    from ingestion.parsing.contract import Source
    from orchestration.demo import PipelineRun

errors = Console(stderr=True, soft_wrap=True)


class OneLineUsageErrors(TyperGroup):
    """A mistyped command line is answered in one line, not typer's five-line box.

    Every parse of `bcf ...` (its own options, then each subcommand's) runs inside the root
    group's `make_context` or `invoke`, so catching here covers them all. Typer 0.29 vendors
    click privately and exports no public base class for its usage errors.
    """

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        with _usage_error_in_one_line():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        with _usage_error_in_one_line():
            return super().invoke(ctx)


@contextlib.contextmanager
def _usage_error_in_one_line() -> Iterator[None]:
    try:
        yield
    except NoArgsIsHelpError:
        raise  # typer shows the help
    except ClickException as error:
        context = getattr(error, "ctx", None)
        where = f"{context.command_path}: " if context is not None else ""
        hint = f" (see '{context.command_path} --help')" if context is not None else ""
        message = error.format_message().rstrip(".")
        errors.print(f"[red]error:[/red] {where}{message}{hint}", highlight=False)
        raise typer.Exit(error.exit_code) from None


app = typer.Typer(
    help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False, cls=OneLineUsageErrors
)
services_app = typer.Typer(
    help="Private PostgreSQL and Redis in the data folder.", no_args_is_help=True
)
db_app = typer.Typer(
    help="The database: migrations (Alembic), backup, restore, monitor.", no_args_is_help=True
)
app.add_typer(services_app, name="services")
app.add_typer(db_app, name="db")
register_api_commands(app)  # bcf api, bcf api-key

console = Console(soft_wrap=True)

P = ParamSpec("P")
R = TypeVar("R")


# What `demo_data.generate` accepts, repeated here so that `bcf --help` does not import the
# generator (seconds); tests/unit/test_cli.py checks they match demo_data.run.
GENERATE_MIN_DAYS = 7
GENERATE_MAX_DAYS = 3660
GENERATE_MAX_TENANTS = 5000
GENERATE_MAX_BAD_RECORDS = 0.2
# The options `bcf generate` and `bcf demo` share.
Tenants = Annotated[int, typer.Option(min=1, max=GENERATE_MAX_TENANTS, help="Customer tenants.")]
HistoryDays = Annotated[
    int,
    typer.Option(
        min=GENERATE_MIN_DAYS,
        max=GENERATE_MAX_DAYS,
        help="Days of history, ending yesterday (São Paulo).",
    ),
]


def one_line_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Problems a person can fix end the command with one line, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ServiceError as error:
            errors.print(f"[red]error:[/red] {error}")
        except ValidationError as error:
            for problem in error.errors():
                field = "BCF_" + "_".join(str(p) for p in problem["loc"]).upper()
                errors.print(f"[red]error:[/red] setting {field}: {problem['msg']}")
        except OperationalError as error:
            errors.print(f"[red]error:[/red] database unreachable: {error.orig}")
        except ValueError as error:  # an argument the code refuses: its message says why
            errors.print(f"[red]error:[/red] {error}")
        raise typer.Exit(1)

    return wrapper


def _settings() -> Settings:
    return Settings()


def _local_services(settings: Settings) -> tuple[LocalPostgres, LocalRedis]:
    return (
        LocalPostgres(
            settings.data_dir,
            port=settings.services_postgres_port,
            os_user=settings.services_os_user,
            bin_dir=settings.services_postgres_bin,
        ),
        LocalRedis(settings.data_dir, port=settings.services_redis_port),
    )


def _local_replica(settings: Settings) -> LocalReplica:
    return LocalReplica(_local_services(settings)[0])


def _start_private_redis(settings: Settings) -> None:
    """Redis is optional (the tracking stream and API rate limits need it): without
    `BCF_REDIS_URL` start the private one when `redis-server` is installed, else say so."""
    if settings.redis_url:
        return
    redis_server = _local_services(settings)[1]
    if redis_server.binary() is None:
        console.print("Redis: redis-server is not installed; the tracking stream is skipped")
        return
    console.print(redis_server.start())


def _database_url(settings: Settings) -> str:
    """The configured database, starting the private cluster when none is configured."""
    if not settings.database_url:
        postgres, _ = _local_services(settings)
        if not postgres.is_running():
            console.print(postgres.start())
    return database_url(settings)


@services_app.command("up")
@one_line_errors
def services_up(
    replica: Annotated[
        bool, typer.Option(help="Also a streaming replica of PostgreSQL for BI (pg_basebackup).")
    ] = False,
) -> None:
    """Start PostgreSQL (and Redis, when redis-server is on PATH) on free loopback ports."""
    settings = _settings()
    for service in _local_services(settings):
        console.print(service.start())
    if replica:
        console.print(_local_replica(settings).start())


@services_app.command("down")
@one_line_errors
def services_down(
    delete: Annotated[bool, typer.Option(help="Also delete their data.")] = False,
) -> None:
    """Stop the private services (the replica too); with --delete, remove their data too.

    One service failing to stop does not leave the others running; its data is kept."""
    settings = _settings()
    failed = False
    for service in (_local_replica(settings), *_local_services(settings)):
        try:
            console.print(service.stop())
        except ServiceError as error:
            errors.print(f"[red]error:[/red] {error}")
            failed = True
            continue
        if delete:
            service.delete()
            console.print(f"deleted {service.root}")
    if failed:
        raise typer.Exit(1)


@services_app.command("status")
@one_line_errors
def services_status() -> None:
    """Show whether the private services run, and their URLs."""
    settings = _settings()
    replica = _local_replica(settings)
    shown: list[LocalPostgres | LocalRedis] = [*_local_services(settings)]
    if replica.root.exists():
        shown.append(replica)
    for service in shown:
        status = service.status()
        pid = f"pid {status.pid}" if status.pid else ""
        console.print(
            f"{status.name:<11} {status.state:<11} {status.url or '-'}  {pid}  {status.detail}",
            soft_wrap=True,
        )
    if settings.database_url or settings.redis_url:
        console.print("BCF_DATABASE_URL/BCF_REDIS_URL are set: bcf uses those, not these.")


@db_app.command("upgrade")
@one_line_errors
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Migrate the database to REVISION (default: the latest). Safe to run again."""
    from core.db import migrate  # Alembic takes a second to import; only db commands need it

    url = _database_url(_settings())
    migrate.upgrade(url, revision)
    console.print(f"database at {migrate.current(url)}")


@db_app.command("downgrade")
@one_line_errors
def db_downgrade(revision: Annotated[str, typer.Argument(help="e.g. -1 or base")]) -> None:
    """Migrate the database down to REVISION."""
    from core.db import migrate

    url = _database_url(_settings())
    migrate.downgrade(url, revision)
    console.print(f"database at {migrate.current(url)}")


@db_app.command("current")
@one_line_errors
def db_current() -> None:
    """Show the revision the database is at."""
    from core.db import migrate

    console.print(migrate.current(_database_url(_settings())))


@db_app.command("backup")
@one_line_errors
def db_backup(
    to: Annotated[
        Path | None, typer.Option(help="A new folder (default: <data dir>/backups/<db>-<time>).")
    ] = None,
    jobs: Annotated[int, typer.Option(min=1, max=32, help="Parallel pg_dump jobs.")] = 2,
    one_connection: Annotated[
        bool,
        typer.Option(help="For a server serving one connection at a time (PGlite); 1 job."),
    ] = False,
) -> None:
    """Back the database up: pg_dump directory format, with a manifest of row counts and
    checksums, the revision, sizes and the duration (docs/operations.md)."""
    from bcf.operations import run_backup

    settings = _settings()
    run_backup(console, settings, _database_url(settings), to, jobs, one_connection=one_connection)


@db_app.command("restore")
@one_line_errors
def db_restore(
    source: Annotated[Path, typer.Argument(help="A folder written by `bcf db backup`.")],
    into: Annotated[
        str | None, typer.Option(help="Database URL to restore into (default: the configured).")
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Drop and recreate the target database if it is not empty.")
    ] = False,
    jobs: Annotated[int, typer.Option(min=1, max=32, help="Parallel pg_restore jobs.")] = 2,
) -> None:
    """Restore a backup into an empty (or new) database and verify it against its manifest."""
    from bcf.operations import run_restore

    settings = _settings()
    target = into or _database_url(settings)
    run_restore(console, settings, source, target, force=force, jobs=jobs)


@db_app.command("monitor")
@one_line_errors
def db_monitor(
    limit: Annotated[int, typer.Option(min=1, max=200, help="Rows per list.")] = 15,
) -> None:
    """How the database performs: top statements, sizes, compression, unused indexes, dead
    tuples, cache hit ratio, connections, replica lag; warnings on the BCF_MONITOR_* limits."""
    from bcf.operations import run_monitor

    settings = _settings()
    run_monitor(console, settings, _database_url(settings), limit)


def _require_migrated(url: str) -> None:
    from core.db import migrate

    if "(head)" not in migrate.current(url):
        raise ServiceError("the database is not at the latest migration: run `bcf db upgrade`")


@app.command("generate")
@one_line_errors
def generate(
    tenants: Tenants = 20,
    days: HistoryDays = 540,
    seed: Annotated[int, typer.Option(help="Same seed, same data, byte for byte.")] = 7,
    scale: Annotated[
        int | None, typer.Option(min=1, help="Tracking events per day (default: demo size).")
    ] = None,
    end_date: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Last day (default: yesterday in São Paulo)."),
    ] = None,
    database: Annotated[
        bool, typer.Option(help="Also write the operational rows the files reference.")
    ] = True,
    bad_records: Annotated[
        float,
        typer.Option(
            min=0.0, max=GENERATE_MAX_BAD_RECORDS, help="Share of broken records to inject."
        ),
    ] = 0.0,
) -> None:
    """Write realistic demo landing files (and operational rows) for every source."""
    settings = _settings()
    url = _database_url(settings) if database else None
    if url is not None:
        _require_migrated(url)
    _generate_with_progress(
        settings, url, tenants=tenants, days=days, seed=seed, events_per_day=scale,
        end_date=end_date.date() if end_date else None, bad_records=bad_records,
    )  # fmt: skip
    console.print(f"landing files in {settings.landing_path}; load them with `bcf ingest`")


def _generate_with_progress(settings: Settings, url: str | None, **arguments: Any) -> None:
    """`demo_data.generate` with a progress bar per step, then its summary table."""
    from rich.progress import Progress

    from demo_data import GenerateProgress, GenerationConflictError
    from demo_data import generate as generate_data

    with Progress(console=console, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def advance(step: GenerateProgress) -> None:
            if step.step not in tasks:
                tasks[step.step] = bar.add_task(step.step, total=step.total)
            bar.update(tasks[step.step], completed=step.done, total=step.total)

        try:
            summary = generate_data(url, settings.landing_path, progress=advance, **arguments)
        except GenerationConflictError as error:
            errors.print(f"[red]error:[/red] {error}")
            raise typer.Exit(1) from None
    if not summary.regenerated:
        rows = "" if summary.inserted is None else "; its operational rows are in the database"
        console.print(
            f"nothing generated: {summary.landing_dir} holds the files of the last run with "
            f"these arguments, unaltered{rows}"
        )
    table = Table("what", "how many", "detail", box=box.SIMPLE, pad_edge=False)
    for row in summary.table():
        table.add_row(*row)
    console.print(table)


@app.command("ui")
@one_line_errors
def ui(port: Annotated[int, typer.Option(help="Port of the Dagster UI.")] = 3000) -> None:
    """Start the Dagster UI (dagster dev) on the configured or private services."""
    import sys

    from core.db.engine import redis_url
    from orchestration.local import (
        DAGSTER_DATABASE_VARIABLE,
        create_dagster_tables,
        pipeline_environment,
    )

    settings = _settings()
    database = _database_url(settings)
    _start_private_redis(settings)
    environment = pipeline_environment(settings, database, redis_url(settings))
    if storage := environment.get(DAGSTER_DATABASE_VARIABLE):
        create_dagster_tables(storage)  # before the webserver and the daemon race to
    home = environment["DAGSTER_HOME"]
    root = Path(__file__).resolve().parents[1]
    console.print(f"Dagster UI on http://127.0.0.1:{port} (DAGSTER_HOME={home}); Ctrl-C stops it")
    if settings.automations_on:
        console.print(
            "schedules and sensors are on: builds, drains and ingests start by themselves "
            "(BCF_AUTOMATIONS=off, or the UI's Automation page, stops them)"
        )
    else:
        console.print(
            "schedules and sensors are off: nothing runs until you start it (turn them on in "
            "the UI's Automation page, or set BCF_AUTOMATIONS=on)"
        )
    dagster = Path(sys.executable).parent / "dagster"
    command = [str(dagster), "dev", "-w", str(root / "workspace.yaml"), "-h", "127.0.0.1"]
    # In a session of its own, Ctrl-C reaches only this process, which first cancels the runs
    # in progress while the UI's code servers can still stop them: stopped with the UI, they
    # would end failed with an interrupt.
    process = subprocess.Popen(
        [*command, "-p", str(port)], env=environment, cwd=root, start_new_session=True
    )
    # Explicitly: a command started in the background by a shell without job control
    # inherits SIGINT ignored, and Ctrl-C (or `kill -INT`) would then do nothing.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        code = process.wait()
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the stop below must finish
        _stop_ui(process, environment)
        return
    if code:
        raise typer.Exit(code)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _stop_ui(process: subprocess.Popen[bytes], environment: dict[str, str]) -> None:
    import dagster as dg

    from orchestration.local import cancel_running_runs, mark_canceled

    console.print("stopping: the runs in progress are cancelled first (up to 2 minutes)")
    os.environ.update(environment)
    with dg.DagsterInstance.get() as instance:
        still_running: list[str] = []
        try:
            still_running = cancel_running_runs(instance)
        finally:  # whatever happened above, dagster dev is not left running
            _stop_process_group(process)
        mark_canceled(instance, still_running, "stopped with `bcf ui`")
    console.print("the UI has stopped")


def _stop_process_group(process: subprocess.Popen[bytes], wait_seconds: float = 60) -> None:
    """Ctrl-C to the whole group `process` leads (dagster dev with its webserver, daemon and
    code servers), as a terminal sends it; what is left after `wait_seconds` is killed."""
    import time

    group = process.pid  # a session of its own: its group's id is its pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGINT)
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        process.poll()  # reaped once it exits, or it would count as a member
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
    process.wait()


@app.command("demo")
@one_line_errors
def demo(
    tenants: Tenants = 20,
    days: HistoryDays = 540,
    seed: Annotated[int, typer.Option(help="Same seed, same data.")] = 7,
    scale: Annotated[
        int | None,
        typer.Option(min=1, help="Tracking events per day (default 600: ~325,000 in all)."),
    ] = None,
    rebuild: Annotated[
        bool, typer.Option(help="Rebuild the marts, reports and exports even if nothing is new.")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Run every step on N local Celery workers."),
    ] = None,
) -> None:
    """The main job: services, migrations, demo data, every asset and check, the summary."""
    import time

    import dagster as dg

    from core.db import migrate
    from core.db.engine import redis_url
    from orchestration.local import pipeline_environment

    laps: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(phase: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        laps[phase] = now - clock
        clock = now

    settings = _settings()
    database = _database_url(settings)
    _start_private_redis(settings)
    migrate.upgrade(database)
    console.print(f"database at {migrate.current(database)}")
    lap("services and migrations")
    _generate_with_progress(
        settings, database, tenants=tenants, days=days, seed=seed, events_per_day=scale
    )
    lap("data")
    # The Dagster definitions read these when imported, and the run is recorded where
    # `bcf ui` looks.
    os.environ.update(pipeline_environment(settings, database, redis_url(settings)))
    run_log = settings.data_dir.resolve() / "demo" / "run.log"
    run_log.parent.mkdir(parents=True, exist_ok=True)
    # Appended to: when nothing is new, the build reported is an earlier run's, logged above.
    with run_log.open("a", encoding="utf-8") as log:
        log.write(f"\n=== bcf demo, {datetime.now().astimezone():%Y-%m-%d %H:%M:%S %z} ===\n")
    console.print(f"materializing every asset and check; dbt's log (appended): {run_log}")
    with _demo_workers(settings, workers, dict(os.environ)), dg.DagsterInstance.get() as instance:
        run = _ingest_then_build(settings, instance, run_log, rebuild, on_workers=bool(workers))
    lap("pipeline run")
    _print_demo_summary(settings, database, run)
    lap("summary")
    total = sum(laps.values())
    console.print(
        "timings: " + ", ".join(f"{phase} {s:.0f} s" for phase, s in laps.items())
        + f", total {total:.0f} s"
    )  # fmt: skip
    if not run.success:
        raise typer.Exit(1)


@contextlib.contextmanager
def _demo_workers(
    settings: Settings, count: int | None, environment: dict[str, str]
) -> Iterator[None]:
    """N local workers for the demo's runs (none without --workers); those it started stop
    after it, those already running are kept."""
    if count is None:
        yield
        return
    from core.db.engine import redis_url
    from orchestration.celery_definitions import celery_asset_job
    from orchestration.executor import QUEUES, broker_url
    from orchestration.workers import LocalWorkers, worker_environment

    celery_asset_job().get_definition()  # the dbt project parsed once, before the workers load
    local = LocalWorkers(settings.data_dir)
    before = local.running()
    broker = broker_url(settings, redis_url(settings))
    for line in local.start(count, QUEUES, worker_environment(environment, broker)):
        console.print(line)
    try:
        yield
    finally:
        for line in local.stop(local.running() - before):
            console.print(line)


def _ingest_then_build(
    settings: Settings,
    instance: DagsterInstance,
    run_log: Path,
    rebuild: bool,
    on_workers: bool = False,
) -> PipelineRun:
    """The ingest assets, then everything built from them, unless nothing was loaded and the
    last build is of today, of the same code and settings, and no run has rebuilt any of it
    since (that build is reported)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from orchestration.demo import (
        ROOT,
        LastBuild,
        build_fingerprint,
        earlier_run,
        merged,
        rebuilt_since,
        split_for_demo,
    )

    ingest_keys, build_keys = split_for_demo()
    total = len(ingest_keys) + len(build_keys)
    ingest = _materialize_with_progress(instance, ingest_keys, run_log, "ingestion", on_workers)
    if not ingest.success:
        return merged([ingest], total)
    state = run_log.parent
    fingerprint = build_fingerprint(ROOT, settings)
    today = datetime.now(ZoneInfo(settings.reporting_tz)).date().isoformat()
    last = LastBuild.read(state)
    later = rebuilt_since(instance, build_keys, last.run_id) if last is not None else None
    if later is not None:
        console.print(f"run {later} rebuilt marts after the demo's last build: building again")
    if (
        not rebuild
        and last is not None
        and later is None
        and (last.fingerprint, last.day) == (fingerprint, today)
        and not ingest.loaded_anything
        and (earlier := earlier_run(instance, last.run_id)) is not None
        and earlier.success
    ):
        current = f"the marts, reports and exports of run {last.run_id} are current"
        console.print(f"nothing new: {current} (--rebuild builds them again)")
        with run_log.open("a", encoding="utf-8") as log:
            log.write(f"nothing new: {current}; their build's log is above\n")
        return merged([ingest, earlier], total)
    build = _materialize_with_progress(
        instance, build_keys, run_log, "marts, reports, exports", on_workers
    )
    if build.success:
        LastBuild(build.run_id, fingerprint, today).write(state)
    return merged([ingest, build], total)


def _materialize_with_progress(
    instance: DagsterInstance,
    keys: list[AssetKey],
    run_log: Path,
    label: str,
    on_workers: bool = False,
) -> PipelineRun:
    """One run with a progress bar; what it prints (dbt's log) is appended to `run_log`."""
    import sys

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from orchestration.demo import RunProgress, run_selection

    columns = (
        "{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    )  # fmt: skip
    terminal = Console(file=sys.stdout)  # bound now: stdout is redirected below
    with (
        Progress(*columns, console=terminal, transient=True) as bar,
        run_log.open("a", encoding="utf-8") as log,
        contextlib.redirect_stdout(log),
    ):
        assets = bar.add_task(f"{label}: assets materialized", total=None)
        checks = bar.add_task(f"{label}: checks evaluated", total=None)

        def show(progress: RunProgress) -> None:
            bar.update(assets, completed=progress.assets_done, total=progress.assets_total)
            bar.update(checks, completed=progress.checks_done, total=progress.checks_total)

        return run_selection(instance, keys, show, on_workers)


def _print_demo_summary(settings: Settings, database: str, run: PipelineRun) -> None:
    from orchestration.demo import (
        channel_rows,
        kpi_header,
        kpi_rows,
        movement_header,
        movement_rows,
        read_summary,
        summary_markdown,
    )

    marts = read_summary(database)
    currency = settings.reporting_currency
    kpis = Table("KPI", *kpi_header(marts))
    movements = Table(
        "", *movement_header(marts),
        title=f"MRR movements ({currency}, whole units)",
        caption="* the current month, so far" if marts.current else None,
    )  # fmt: skip
    channels = Table(
        "channel", "visitors", "sessions", "leads",
        title=f"Top channels, last {marts.channel_days} days",
    )  # fmt: skip
    for table, rows in (
        (kpis, kpi_rows(marts, currency)),
        (movements, movement_rows(marts, currency, places=0)),
        (channels, channel_rows(marts, currency)),
    ):
        for column in table.columns[1:]:
            column.justify = "right"
        for row in rows:
            table.add_row(*row)
        console.print(table)
    state = "[green]succeeded[/green]" if run.success else "[red]FAILED[/red]"
    console.print(
        f"Dagster runs {run.run_id} {state}: {len(run.materialized)} of {run.assets_total} "
        f"assets materialized; checks: {run.checks_passed} passed, "
        f"{len(run.checks_failed)} failed"
    )
    for check in run.checks_failed:
        console.print(
            f"  [red]failed[/red] {check.severity} {check.asset} {check.check}: "
            f"{check.description or ''}"
        )
    for step in run.failed_steps:
        console.print(f"  [red]step failed[/red] {step}: see the run in the Dagster UI")
    if run.steps_by_worker:
        console.print(
            "steps per worker: "
            + ", ".join(f"{worker} {steps}" for worker, steps in run.steps_by_worker.items())
        )
    outputs = {
        label: Path(run.asset_paths[asset])
        for label, asset in (("CEO report", "reports/ceo"), ("DuckDB export", "exports/marts"))
        if asset in run.asset_paths
    }
    summary_file = settings.data_dir.resolve() / "demo" / "summary.md"
    summary_file.parent.mkdir(parents=True, exist_ok=True)
    outputs["this summary"] = summary_file
    summary_file.write_text(summary_markdown(run, marts, currency, outputs), encoding="utf-8")
    for label, path in outputs.items():
        console.print(f"{label}: {path}")
    console.print("Dagster UI with these runs: `uv run bcf ui`, then http://127.0.0.1:3000")


@app.command("bi-credentials")
@one_line_errors
def bi_credentials(
    user: Annotated[str, typer.Option(help="The login to create.")] = "bcf_bi",
    rotate: Annotated[bool, typer.Option(help="Give an existing login a new password.")] = False,
    revoke: Annotated[bool, typer.Option(help="Drop the login.")] = False,
    replica: Annotated[
        bool, typer.Option(help="Point BI at the replica of `bcf services up --replica`.")
    ] = False,
) -> None:
    """A login for BI tools that reads the marts and nothing else (`bcf_bi_reader`)."""
    import dataclasses

    from core.db import bi_login

    settings = _settings()
    database = _database_url(settings)
    _require_migrated(database)
    standby = _bi_replica(settings) if replica and not revoke else None
    try:
        if revoke:
            dropped = bi_login.revoke(database, user)
            console.print(f"dropped {user}" if dropped else f"no login {user}: nothing to drop")
            return
        login = bi_login.create_or_rotate(database, user, rotate=rotate)
    except bi_login.BiLoginError as error:
        raise ServiceError(str(error)) from None
    if standby is not None:  # created on the primary; the replica follows within moments
        login = dataclasses.replace(login, host="127.0.0.1", port=standby)
    table = Table("setting", "value", box=box.SIMPLE, title="Shown once: store the password")
    for name, value in (
        ("host", login.host), ("port", str(login.port)), ("database", login.database),
        ("user", login.user), ("password", login.password), ("schema", "marts"),
        ("URL", login.url),
    ):  # fmt: skip
        table.add_row(name, value)
    console.print(table)
    console.print(f"psql: psql '{login.url}'")
    console.print("Metabase, Superset and DuckDB: see docs/bi.md")


def _bi_replica(settings: Settings) -> int:
    """The port of the running private replica; BI reads there."""
    if settings.database_url:
        raise ServiceError(
            "--replica is the replica of the private cluster, and BCF_DATABASE_URL is set: "
            "give BI your own replica's host with the login this command prints without it"
        )
    replica = _local_replica(settings)
    if not replica.is_running() or replica.port is None:
        raise ServiceError("no replica running: start it with `bcf services up --replica`")
    return replica.port


@app.command("bi-catalogue")
@one_line_errors
def bi_catalogue(
    check: Annotated[bool, typer.Option(help="Only say whether docs/bi.md is current.")] = False,
) -> None:
    """Regenerate the mart catalogue of docs/bi.md from the dbt docs."""
    import json

    from orchestration.defs.dbt.catalogue import document_with_catalogue
    from orchestration.defs.dbt.project import prepare_manifest

    document = Path(__file__).resolve().parents[1] / "docs" / "bi.md"
    manifest = json.loads(prepare_manifest(_settings()).manifest_path.read_text())
    updated = document_with_catalogue(document, manifest)
    if updated == document.read_text(encoding="utf-8"):
        console.print("docs/bi.md's mart catalogue is current")
    elif check:
        raise ServiceError("docs/bi.md's mart catalogue is stale: run `bcf bi-catalogue`")
    else:
        document.write_text(updated, encoding="utf-8")
        console.print("docs/bi.md's mart catalogue updated")


@app.command("dbt", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@one_line_errors
def dbt(context: typer.Context) -> None:
    """Run dbt (any arguments, e.g. `bcf dbt build -s revenue_daily`) on the pipeline's
    database and settings; its artifacts and log go to <data dir>/dbt/cli."""
    from orchestration.defs.dbt.project import PROJECT_DIR, dbt_env, dbt_executable, target_dir
    from orchestration.local import TELEMETRY_OFF

    settings = _settings()
    # A folder of its own: the pipeline's manifest and partial-parse state stay its own.
    artifacts = target_dir(settings).parent / "cli"
    environment = {
        **os.environ,
        **TELEMETRY_OFF,
        **dbt_env(settings, _database_url(settings)),
        "DBT_PROJECT_DIR": str(PROJECT_DIR),
        "DBT_PROFILES_DIR": str(PROJECT_DIR),
        "DBT_TARGET_PATH": str(artifacts),
        "DBT_LOG_PATH": str(artifacts),
    }
    # dbt in this process's place: Ctrl-C and signals reach it alone, with all the time it
    # needs to cancel its queries, and its exit code is the command's.
    executable = dbt_executable()
    sys.stdout.flush()  # what was printed (a started database) before the exec discards it
    sys.stderr.flush()
    os.execve(executable, [executable, *context.args], environment)  # noqa: S606 - no shell


@app.command("settings")
@one_line_errors
def show_settings() -> None:
    """Show the effective settings (secrets hidden) and where the services are."""
    settings = _settings()
    table = Table("setting", "value")
    for name, value in settings.model_dump().items():
        table.add_row(f"BCF_{name.upper()}", str(value))
    console.print(table)


class IngestError(Exception):
    """`bcf ingest` cannot start: the message says what to fix, in one line."""


def _ingest_plan(
    paths: list[Path], source_name: str | None, landing: Path
) -> list[tuple[Source, Path]]:
    """(source, file) for every file to load, in order, each once."""
    from ingestion.load.discover import landing_files
    from ingestion.load.files import matches, matching_files
    from ingestion.sources.registry import UnknownSourceError, available_sources, get_source

    def source_named(name: str) -> Source:
        try:
            return get_source(name)
        except UnknownSourceError as error:
            raise IngestError(str(error)) from None

    def files_of(source: Source, path: Path) -> list[Path]:
        if path.is_dir():
            found = matching_files(path, source.file_patterns)
            if not found:
                errors.print(
                    f"[yellow]warning:[/yellow] no {source.name} files "
                    f"({', '.join(source.file_patterns)}) in {path}"
                )
            return found
        if not matches(path, source.file_patterns):
            raise IngestError(
                f"{path} is not a {source.name} file (expected {', '.join(source.file_patterns)})"
            )
        return [path]

    chosen = source_named(source_name) if source_name else None
    landing = landing.resolve()
    plan: dict[Path, Source] = {}
    for path in paths:
        if not path.exists():
            raise IngestError(f"no such file or folder: {path}")
        resolved = path.resolve()
        if chosen is not None:
            found = [(chosen, file) for file in files_of(chosen, path)]
        elif resolved == landing:
            found = landing_files(landing, available_sources().values())
        elif name := _landing_source_name(resolved, landing):
            found = [(source_named(name), file) for file in files_of(source_named(name), path)]
        else:
            raise IngestError(
                f"cannot tell the source of {path}: pass --source NAME, or put it under "
                f"{landing}/<source>/"
            )
        for source, file in found:
            plan.setdefault(file.resolve(), source)
    return [(source, file) for file, source in plan.items()]


def _landing_source_name(path: Path, landing: Path) -> str | None:
    """`<source>` when the path is `<landing>/<source>` or below it."""
    if not path.is_relative_to(landing):
        return None
    parts = path.relative_to(landing).parts
    if not parts or (len(parts) == 1 and path.is_file()):
        return None
    return parts[0]


def _shown_path(path: Path, landing: Path | None = None) -> str:
    """The path relative to the landing folder, else to the working folder, else as given."""
    resolved = path.resolve()
    for base in (landing, Path.cwd()):
        if base is not None and resolved.is_relative_to(base.resolve()):
            return str(resolved.relative_to(base.resolve()))
    return str(path)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


@app.command("ingest")
@one_line_errors
def ingest(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Landing files, or folders of them.", metavar="PATH", show_default=False
        ),
    ],
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            "-s",
            metavar="NAME",
            help="The source of every PATH; not needed under <landing>/<source>/.",
        ),
    ] = None,
) -> None:
    """Load landing files into the database: each content once, rejects to raw.quarantine."""
    import psycopg
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from ingestion.load import BatchResult, LoadProgress, load_file

    settings = _settings()
    landing = settings.landing_path
    try:
        plan = _ingest_plan(paths, source, landing)
    except IngestError as error:
        errors.print(f"[red]error:[/red] {error}")
        raise typer.Exit(1) from None
    if not plan:
        console.print("nothing to ingest")
        return
    url = _database_url(settings)
    try:
        with psycopg.connect(libpq_url(url), connect_timeout=10) as conn:
            ledger = conn.execute("SELECT to_regclass('raw.ingest_batches')").fetchone()
    except psycopg.OperationalError as error:
        errors.print(f"[red]error:[/red] database unreachable: {_one_line(error)}")
        raise typer.Exit(1) from None
    if ledger is None or ledger[0] is None:
        errors.print(
            "[red]error:[/red] the database has no raw.ingest_batches: run `bcf db upgrade` first"
        )
        raise typer.Exit(1)
    results: list[tuple[Path, str, BatchResult | None]] = []
    failed = 0
    columns = (
        TextColumn("{task.description}"),
        BarColumn(bar_width=20),
        DownloadColumn(),
        TextColumn("{task.fields[records]:>9,} records"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as bars:
        for chosen, file in plan:
            task = bars.add_task(file.name, total=file.stat().st_size or 1, records=0)

            def update(step: LoadProgress, task: TaskID = task) -> None:
                bars.update(task, completed=step.bytes_done, records=step.records_done)

            try:
                result = load_file(url, chosen, file, settings, progress=update)
            except psycopg.errors.UndefinedTable as error:
                errors.print(
                    f"[red]error:[/red] the database is not migrated ({_one_line(error)}): "
                    "run `bcf db upgrade`"
                )
                raise typer.Exit(1) from None
            except psycopg.OperationalError as error:
                errors.print(f"[red]error:[/red] database unreachable: {_one_line(error)}")
                raise typer.Exit(1) from None
            except Exception as error:
                failed += 1
                bars.stop_task(task)
                errors.print(
                    f"[red]error:[/red] {_shown_path(file, landing)} ({chosen.name}) failed, "
                    f"nothing of it was loaded: {type(error).__name__}: {_one_line(error)}"
                )
                results.append((file, chosen.name, None))
                continue
            results.append((file, chosen.name, result))

    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("file", overflow="fold")
    table.add_column("source")
    for name in ("in", "loaded", "quarantined", "duplicates"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("already\nloaded")
    quarantined = 0
    for file, name, outcome in results:
        if outcome is None:
            table.add_row(_shown_path(file, landing), name, "", "", "", "", "[red]failed[/red]")
            continue
        quarantined += 0 if outcome.already_loaded else outcome.rows_quarantined
        table.add_row(
            _shown_path(file, landing),
            name,
            f"{outcome.rows_in:,}",
            f"{outcome.rows_loaded:,}",
            f"{outcome.rows_quarantined:,}",
            f"{outcome.rows_duplicate:,}",
            "yes" if outcome.already_loaded else "no",
        )
    console.print(table)
    if quarantined:
        console.print(
            f"{quarantined:,} rows quarantined: their reasons are in raw.quarantine "
            "(by batch_id and record_number)"
        )
    if failed:
        raise typer.Exit(1)


from bcf.metrics import app as metrics_app  # noqa: E402 (it uses this module's helpers)
from bcf.workers import app as workers_app  # noqa: E402 (it uses this module's helpers)

app.add_typer(workers_app, name="workers")
app.add_typer(metrics_app, name="metrics")

if __name__ == "__main__":
    app()
