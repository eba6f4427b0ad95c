"""`bcf workers up|down|status`: local Celery workers that run Dagster's steps."""

from __future__ import annotations

from typing import Annotated

import typer

from bcf.cli import _database_url, _settings, _start_private_redis, console, one_line_errors

app = typer.Typer(
    help="Local Celery workers for Dagster steps (queues ingest, dbt, reports).",
    no_args_is_help=True,
)

Count = Annotated[int, typer.Option(min=1, max=64, help="How many workers.")]
Queues = Annotated[
    str, typer.Option(help="Comma-separated queues they take steps from: ingest, dbt, reports.")
]


@app.command("up")
@one_line_errors
def workers_up(count: Count = 2, queues: Queues = "ingest,dbt,reports") -> None:
    """Start workers 1..COUNT (those already running are kept) on the pipeline's broker."""
    from core.db.engine import redis_url
    from orchestration.executor import broker_url
    from orchestration.local import pipeline_environment
    from orchestration.workers import LocalWorkers, parse_queues, worker_environment

    chosen = parse_queues(queues)
    settings = _settings()
    database = _database_url(settings)
    _start_private_redis(settings)
    redis = redis_url(settings)
    broker = broker_url(settings, redis)
    environment = worker_environment(pipeline_environment(settings, database, redis), broker)
    for line in LocalWorkers(settings.data_dir).start(count, chosen, environment):
        console.print(line)
    console.print(
        "runs use them with BCF_EXECUTOR=celery (bcf ui), or `bcf demo --workers N`; "
        "`bcf workers status` lists them"
    )


@app.command("down")
@one_line_errors
def workers_down() -> None:
    """Stop every worker: each finishes its step first (killed after a minute)."""
    from orchestration.workers import LocalWorkers

    lines = LocalWorkers(_settings().data_dir).stop()
    for line in lines or ["no workers"]:
        console.print(line)


@app.command("status")
@one_line_errors
def workers_status() -> None:
    """Show each worker: running or not, pid, queues, and whether its code is current."""
    from orchestration.executor import code_version
    from orchestration.workers import LocalWorkers

    statuses = LocalWorkers(_settings().data_dir).status()
    if not statuses:
        console.print("no workers: start them with `bcf workers up --count N`")
    for status in statuses:
        pid = f"pid {status.pid}" if status.pid else ""
        note = (
            f"STALE code {status.code_version}: refuses this code's steps" if status.stale else ""
        )
        console.print(
            f"{status.name:<14} {status.state:<8} {pid:<10} {','.join(status.queues):<18} "
            f"log {status.log}  {note}",
            soft_wrap=True,
        )
    console.print(f"code version {code_version()}")
