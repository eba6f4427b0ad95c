"""dbt: the models of `dbt_project/` as assets, their tests as checks, and when they build.

- One subsettable multi-asset (`dbt_models`) over every model; sources resolve to the ingest
  assets' keys, so ingestion -> staging -> intermediate -> marts -> reports is one graph.
- `dbt_build_job` builds the models and the reports on them, after the blocking quality checks
  of the tables the models read (the dbt sources): one that fails stops the build. The
  `dbt_daily` schedule runs it every day at 06:00 in the reporting time zone (the marts of
  "now": the current month, open items), and the `dbt_after_ingest` sensor runs the part of it
  downstream of what an ingest run changed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

from core.settings import Settings
from orchestration.automation import schedule_status
from orchestration.defs.ceo_report.assets import ARCHIVE_KEY as CEO_REPORT_ARCHIVE
from orchestration.defs.dbt.assets import build_dbt_assets
from orchestration.defs.dbt.project import prepare_manifest
from orchestration.defs.dbt.resources import DbtResource
from orchestration.defs.dbt.sensors import DBT_RUN_TAG, dbt_after_ingest_sensor
from orchestration.defs.dbt.translator import OWNERS, dbt_asset_key
from orchestration.defs.quality.checks import blocking_check_keys

JOB_NAME = "dbt_build_job"
SCHEDULE_NAME = "dbt_daily"
DAILY_CRON = "0 6 * * *"
# Assets of other concerns built in the same runs as the models they read.
REPORTS_GROUP = "reports"
# The dbt source of the tables the write API writes: no asset of the pipeline builds them,
# so they are declared here, to be found in the UI with their description and group.
OPERATIONAL_SOURCE = "platform"
OPERATIONAL_GROUP = "operational"


def source_keys(dbt_models: dg.AssetsDefinition) -> list[dg.AssetKey]:
    """The keys the dbt models read but do not build: the dbt sources."""
    upstream = {dep.asset_key for spec in dbt_models.specs for dep in spec.deps}
    return sorted(upstream - set(dbt_models.keys), key=lambda key: key.to_user_string())


def operational_tables(manifest: Mapping[str, Any]) -> list[dg.AssetSpec]:
    """The operational tables the models read, as the dbt sources YAML describes them."""
    return [
        dg.AssetSpec(
            dbt_asset_key(source),
            description=f"{source['description']} {source['source_description']}".strip(),
            group_name=OPERATIONAL_GROUP,
            owners=OWNERS,
            kinds={"postgres"},
        )
        for source in sorted(manifest["sources"].values(), key=lambda s: s["unique_id"])
        if source["source_name"] == OPERATIONAL_SOURCE
    ]


def build_job(dbt_models: dg.AssetsDefinition) -> UnresolvedAssetJobDefinition:
    """Every model and the report tables on them, gated by the blocking checks of the sources.

    Dagster runs a blocking check selected in a run before the assets downstream of its asset,
    and skips them when it fails, even when its asset is not built in that run: so the checks
    of what an ingest run loaded stop the build that reads it, not only that ingest run.
    """
    # The monthly CEO report archive is partitioned: its own schedule builds it, once a month.
    builds = (
        dg.AssetSelection.assets(dbt_models) | dg.AssetSelection.groups(REPORTS_GROUP)
    ) - dg.AssetSelection.assets(CEO_REPORT_ARCHIVE)
    gates = dg.AssetSelection.checks(*blocking_check_keys(source_keys(dbt_models)))
    return dg.define_asset_job(
        JOB_NAME,
        selection=builds | gates,
        tags={DBT_RUN_TAG: "true"},
        description="The blocking quality checks of the dbt sources, then dbt build of the "
        "models (tests as checks), then the report tables.",
    )


def definitions() -> dg.Definitions:
    settings = Settings()
    project = prepare_manifest(settings)
    dbt_models = build_dbt_assets(project)
    manifest = json.loads(project.manifest_path.read_text(encoding="utf-8"))
    job = build_job(dbt_models)
    daily = dg.ScheduleDefinition(
        name=SCHEDULE_NAME,
        job=job,
        cron_schedule=DAILY_CRON,
        execution_timezone=settings.reporting_tz,
        default_status=schedule_status(),
        description="Every day at 06:00 (reporting time zone): every mart and report.",
    )
    return dg.Definitions(
        assets=[dbt_models, *operational_tables(manifest)],
        jobs=[job],
        schedules=[daily],
        sensors=[
            dbt_after_ingest_sensor(job, source_keys(dbt_models), settings.quality_recent_days)
        ],
        resources={"dbt": DbtResource()},
    )
