"""Steps on Celery workers: dagster-celery's executor, its queues and the code version check.

With `BCF_EXECUTOR=celery` every job's steps go to Celery queues per concern: `ingest` (the
ingest assets, one step per landing file), `dbt` (the one dbt build) and `reports` (the rest:
reports, exports, checks). Workers (`bcf workers up`, `orchestration/workers.py`) consume
them; the broker is Redis by default, RabbitMQ by URL.

A run is stamped with the code version of the process that orchestrates it (a digest of the
pipeline's code); a worker whose code differs hands each of its steps back to the queue, so
only workers on the same code run them.
"""

from __future__ import annotations

import functools
import logging
import time
import warnings
from pathlib import Path
from typing import Any

import dagster as dg
from celery import Task
from celery.exceptions import DuplicateTaskNameWarning, Reject
from dagster._core.execution.retries import RetryMode
from dagster._grpc.types import ExecuteStepArgs
from dagster._serdes import unpack_value
from dagster_celery.executor import CELERY_CONFIG, CeleryExecutor
from dagster_celery.tags import DAGSTER_CELERY_QUEUE_TAG

from core.fingerprint import fingerprint
from core.settings import Settings

INGEST_QUEUE = "ingest"
DBT_QUEUE = "dbt"
REPORTS_QUEUE = "reports"
QUEUES = (INGEST_QUEUE, DBT_QUEUE, REPORTS_QUEUE)
CODE_VERSION_TAG = "bcf/code_version"
REFUSAL_PAUSE_SECONDS = 2.0
logger = logging.getLogger(__name__)

# dagster-celery declares its one task anew for every step it submits, only to send it by
# name: each declaration after the first is refused with this warning, and changes nothing.
warnings.filterwarnings(
    "ignore",
    message="Task name 'execute_plan' is already registered",
    category=DuplicateTaskNameWarning,
)

ROOT = Path(__file__).resolve().parents[1]
# What a step runs: the packages of the pipeline, the dbt project and the locked dependencies.
CODE_FOLDERS = ("core", "ingestion", "quality", "orchestration", "dbt_project")
CODE_SUFFIXES = {".py", ".sql", ".yml", ".yaml", ".j2", ".json"}


def queue_tag(queue: str) -> dict[str, str]:
    """The op tag that sends an asset's steps to `queue`."""
    return {DAGSTER_CELERY_QUEUE_TAG: queue}


@functools.cache
def code_version(root: Path = ROOT) -> str:
    """A digest of the pipeline's code as this process sees it (12 hex digits)."""
    files = [
        path
        for folder in CODE_FOLDERS
        for path in sorted((root / folder).rglob("*"))
        if path.is_file()
        and path.suffix in CODE_SUFFIXES
        and not {"target", "logs", "__pycache__"} & set(path.relative_to(root).parts)
    ]
    lock = root / "uv.lock"
    return fingerprint(root, [*files, lock] if lock.exists() else files, {})[:12]


def broker_url(settings: Settings, redis_url: str | None) -> str:
    """`BCF_CELERY_BROKER_URL`, else the pipeline's Redis."""
    if settings.celery_broker_url:
        return settings.celery_broker_url
    if redis_url is None:
        raise ValueError(
            "no Celery broker: set BCF_CELERY_BROKER_URL, BCF_REDIS_URL, or start the local "
            "Redis with `bcf services up`"
        )
    return redis_url


def backend_url(settings: Settings, broker: str) -> str:
    """Step results go to Redis when the broker is Redis; RabbitMQ answers by reply queue."""
    if settings.celery_backend_url:
        return settings.celery_backend_url
    return broker if broker.startswith(("redis://", "rediss://")) else "rpc://"


def celery_config(settings: Settings) -> dict[str, Any]:
    """The Celery settings the executor and the workers share.

    A step is acknowledged when it ends, not when a worker takes it, so a worker that dies
    mid-step leaves it to another one (at once when a pool process dies, after the visibility
    timeout when the worker itself is killed); each worker takes one step at a time.
    """
    return {
        "task_default_queue": REPORTS_QUEUE,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            "visibility_timeout": settings.celery_visibility_timeout_seconds,
            "max_retries": 3,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 2,
        },
        "result_backend_transport_options": {"retry_policy": {"timeout": 30}},
        "result_expires": 86_400,
        "worker_hijack_root_logger": False,
    }


class VersionedCeleryExecutor(CeleryExecutor):
    """dagster-celery's executor, stamping the run with the code version its steps need."""

    def execute(self, plan_context: Any, execution_plan: Any) -> Any:
        plan_context.instance.add_run_tags(
            plan_context.dagster_run.run_id, {CODE_VERSION_TAG: code_version()}
        )
        return super().execute(plan_context, execution_plan)


@dg.executor(
    name="bcf_celery",
    config_schema=CELERY_CONFIG,
    requirements=dg.multiple_process_executor_requirements(),
)
def versioned_celery_executor(init_context: dg.InitExecutorContext) -> VersionedCeleryExecutor:
    config = init_context.executor_config
    return VersionedCeleryExecutor(
        broker=config.get("broker"),
        backend=config.get("backend"),
        config_source=config.get("config_source"),
        include=config.get("include"),
        retries=RetryMode.from_config(config["retries"]),  # type: ignore[arg-type]
    )


def celery_executor_config(settings: Settings, redis_url: str | None) -> dict[str, Any]:
    """The executor's configuration: broker, result backend, Celery settings."""
    broker = broker_url(settings, redis_url)
    return {
        "broker": broker,
        "backend": backend_url(settings, broker),
        "config_source": celery_config(settings),
    }


def celery_executor(settings: Settings, redis_url: str | None) -> dg.ExecutorDefinition:
    """The executor every job uses when `BCF_EXECUTOR=celery`."""
    return versioned_celery_executor.configured(celery_executor_config(settings, redis_url))


class VersionCheckedTask(Task):
    """A worker runs a step only when its code is the code the run was started with."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if (wanted := _wanted_version(kwargs["execute_step_args_packed"])) != code_version():
            logger.warning(
                "%s refused a step of run needing code version %s (this worker: %s)",
                self.request.hostname,
                wanted,
                code_version(),
            )
            # Back to the queue, for a worker on the run's code; the pause keeps a worker on
            # other code from spinning on the same message.
            time.sleep(REFUSAL_PAUSE_SECONDS)
            raise Reject(
                f"refused: this worker runs code version {code_version()}, the run needs {wanted}",
                requeue=True,
            )
        return super().__call__(*args, **kwargs)


def _wanted_version(packed: dict[str, Any]) -> str | None:
    arguments = unpack_value(packed, as_type=ExecuteStepArgs)
    assert arguments.instance_ref is not None  # the executor always sends it
    with dg.DagsterInstance.from_ref(arguments.instance_ref) as instance:
        run = instance.get_run_by_id(arguments.run_id)
    return None if run is None else run.tags.get(CODE_VERSION_TAG)
