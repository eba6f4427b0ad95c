"""The code location's definitions on the Celery executor, whatever `BCF_EXECUTOR` says: what
`bcf demo --workers` and the scale benchmark run. A module of its own, because Dagster loads
one `Definitions` per module (workspace.yaml names `orchestration.definitions`)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import dagster as dg
from dagster._core.definitions.assets.job.asset_job import IMPLICIT_ASSET_JOB_NAME
from dagster._core.definitions.reconstruct import ReconstructableJob, ReconstructableRepository

from core.db.engine import redis_url
from core.settings import Settings
from orchestration.executor import celery_executor_config, versioned_celery_executor

ROOT = Path(__file__).resolve().parents[1]


@dg.definitions
def celery_definitions() -> dg.Definitions:
    settings = Settings()
    config = celery_executor_config(settings, redis_url(settings))
    return _on_celery(json.dumps(config, sort_keys=True))


# Each step a worker runs loads the job again: resolve it once per process and executor
# configuration (a process may orchestrate on several brokers, as the tests do).
@functools.cache
def _on_celery(executor_config: str) -> dg.Definitions:
    from orchestration.definitions import defs

    if defs.executor is not None:  # BCF_EXECUTOR=celery: already on Celery
        return defs
    executor = versioned_celery_executor.configured(json.loads(executor_config))
    return dg.Definitions.merge(defs, dg.Definitions(executor=executor))


def celery_asset_job() -> ReconstructableJob:
    """Every asset as one job on Celery workers, which rebuild it from this module."""
    repository = ReconstructableRepository.for_module(
        __name__, "celery_definitions", working_directory=str(ROOT)
    )
    return repository.get_reconstructable_job(IMPLICIT_ASSET_JOB_NAME)
