"""Ingestion: landing files and the tracking stream into the operational tables."""

from __future__ import annotations

import dagster as dg

from core.settings import Settings
from ingestion.sources.registry import source_names
from orchestration.automation import schedule_status
from orchestration.defs.ingest.assets import ingest_assets
from orchestration.defs.ingest.sensors import ingest_job_name, landing_sensor
from orchestration.defs.quality.checks import RECENT_DAYS_TAG


def definitions() -> dg.Definitions:
    assets = ingest_assets()
    # The ingest jobs run every 5 minutes (the stream), on every landing and every hour: the
    # suites of the event tables validate their recent rows only; the daily runs every row.
    recent = {RECENT_DAYS_TAG: str(Settings().quality_recent_days)}
    jobs = [
        dg.define_asset_job(
            ingest_job_name(name), selection=dg.AssetSelection.assets(asset), tags=recent
        )
        for name, asset in zip(source_names(), assets, strict=True)
    ]
    stream_schedule = dg.ScheduleDefinition(
        name="drain_tracking_stream",
        job=next(job for job in jobs if job.name == ingest_job_name("tracking")),
        cron_schedule="*/5 * * * *",
        default_status=schedule_status(),
        description="Every 5 minutes: load new tracking files and drain the Redis stream.",
    )
    every_source = dg.define_asset_job(
        "ingest_all_job",
        selection=dg.AssetSelection.assets(*assets),
        tags=recent,
        description="Every source: the files not yet in the ledger, and the tracking stream.",
    )
    hourly = dg.ScheduleDefinition(
        name="ingest_hourly",
        job=every_source,
        cron_schedule="0 * * * *",
        default_status=schedule_status(),
        description="Every hour: every source's new files, so nothing waits for the landing "
        "sensor when it is paused or a file landed while the daemon was down.",
    )
    return dg.Definitions(
        assets=assets,
        jobs=[*jobs, every_source],
        sensors=[landing_sensor(jobs)],
        schedules=[stream_schedule, hourly],
    )
