"""The one Dagster entry point (workspace.yaml): every concern's definitions, merged."""

from __future__ import annotations

import dagster as dg

from core.db.engine import redis_url
from core.settings import Settings
from orchestration.defs import ceo_report, dbt, exports, ingest, operations, quality, reports
from orchestration.executor import celery_executor
from orchestration.resources import PipelineSettings


def build_definitions() -> dg.Definitions:
    settings = Settings()
    executor = (
        celery_executor(settings, redis_url(settings)) if settings.executor == "celery" else None
    )
    return dg.Definitions.merge(
        ingest.definitions(),
        dbt.definitions(),
        reports.definitions(),
        ceo_report.definitions(),
        exports.definitions(),
        quality.definitions(),
        operations.definitions(),
        dg.Definitions(resources={"bcf": PipelineSettings()}, executor=executor),
    )


defs = build_definitions()
