"""One Celery worker process for Dagster steps: `python -m orchestration.celery_worker`.

`bcf workers up` starts these (orchestration/workers.py); in Kubernetes or on another machine
run the module itself with the same settings. The worker takes dagster-celery's step task
from the queues it is given, one step at a time, and runs a step only when its code is the
code the run was started with (orchestration/executor.py).
"""

from __future__ import annotations

import argparse
import socket

from celery import Celery
from dagster_celery.config import dict_wrapper
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from core.db.engine import redis_url
from core.settings import Settings
from orchestration.celery_definitions import celery_asset_job
from orchestration.executor import (
    QUEUES,
    VersionCheckedTask,
    backend_url,
    broker_url,
    celery_config,
)


def worker_app(settings: Settings) -> Celery:
    """dagster-celery's app on the pipeline's broker, with the version-checked step task."""
    broker = broker_url(settings, redis_url(settings))
    app = make_app(
        {
            "broker": broker,
            "backend": backend_url(settings, broker),
            "include": [],
            "config_source": dict_wrapper(celery_config(settings)),
        }
    )
    create_task(app, base=VersionCheckedTask)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help="The worker's name in step logs.")
    parser.add_argument("--queues", default=",".join(QUEUES), help="Comma-separated queues.")
    arguments = parser.parse_args(argv)
    app = worker_app(Settings())
    # The code loads before the worker says it is ready: its first step starts as fast as
    # its next ones, and code that does not load stops the worker at once.
    celery_asset_job().get_definition()
    app.worker_main(
        [
            "worker",
            "--loglevel=INFO",
            f"--hostname={arguments.name}@{socket.gethostname()}",
            f"--queues={arguments.queues}",
            # One process per worker: a step is what a worker runs, and killing the worker
            # kills its step (which then goes to another worker).
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
        ]
    )


if __name__ == "__main__":
    main()
