"""dbt: the models of `dbt_project/` as assets, their tests as checks, and when they build.

- One subsettable multi-asset (`dbt_models`) over every model; sources resolve to the ingest
  assets' keys, so ingestion -> staging -> intermediate -> marts -> reports is one graph.
- `dbt_build_job` builds the models and the reports on them; the `dbt_daily` schedule runs it
  every day at 06:00 in the reporting time zone (the marts of "now": the current month, open
  items), and the `dbt_after_ingest` sensor runs the part of it downstream of what an ingest
  run changed.
"""

from __future__ import annotations

import dagster as dg

from ingestion.settings import Settings
from orchestration.defs.ceo_report.assets import ARCHIVE_KEY as CEO_REPORT_ARCHIVE
from orchestration.defs.dbt.assets import build_dbt_assets
from orchestration.defs.dbt.project import prepare_manifest
from orchestration.defs.dbt.resources import DbtResource
from orchestration.defs.dbt.sensors import DBT_RUN_TAG, dbt_after_ingest_sensor

JOB_NAME = "dbt_build_job"
SCHEDULE_NAME = "dbt_daily"
DAILY_CRON = "0 6 * * *"
# Assets of other concerns built in the same runs as the models they read.
REPORTS_GROUP = "reports"


def source_keys(dbt_models: dg.AssetsDefinition) -> list[dg.AssetKey]:
    """The keys the dbt models read but do not build: the dbt sources."""
    upstream = {dep.asset_key for spec in dbt_models.specs for dep in spec.deps}
    return sorted(upstream - set(dbt_models.keys), key=lambda key: key.to_user_string())


def definitions() -> dg.Definitions:
    settings = Settings()
    dbt_models = build_dbt_assets(prepare_manifest(settings))
    # The monthly CEO report archive is partitioned: its own schedule builds it, once a month.
    target = (
        dg.AssetSelection.assets(dbt_models) | dg.AssetSelection.groups(REPORTS_GROUP)
    ) - dg.AssetSelection.assets(CEO_REPORT_ARCHIVE)
    job = dg.define_asset_job(
        JOB_NAME,
        selection=target,
        tags={DBT_RUN_TAG: "true"},
        description="dbt build of the models (tests as checks), then the report tables.",
    )
    daily = dg.ScheduleDefinition(
        name=SCHEDULE_NAME,
        job=job,
        cron_schedule=DAILY_CRON,
        execution_timezone=settings.reporting_tz,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Every day at 06:00 (reporting time zone): every mart and report.",
    )
    return dg.Definitions(
        assets=[dbt_models],
        jobs=[job],
        schedules=[daily],
        sensors=[dbt_after_ingest_sensor(job, source_keys(dbt_models), target)],
        resources={"dbt": DbtResource()},
    )
