"""CEO report: an HTML page with PNG charts of the marts, rebuilt after them (group
"reports", so it runs in the dbt concern's build job), and a monthly archive of it, one
partition per month, scheduled when a month is complete."""

from __future__ import annotations

import dagster as dg

from core.settings import Settings
from orchestration.automation import schedule_status
from orchestration.defs.ceo_report.assets import (
    build_ceo_report_archive_asset,
    build_ceo_report_asset,
)

ARCHIVE_JOB = "ceo_report_archive_job"
ARCHIVE_SCHEDULE = "ceo_report_archive_monthly"


def definitions() -> dg.Definitions:
    archive = build_ceo_report_archive_asset(Settings())
    job = dg.define_asset_job(
        ARCHIVE_JOB,
        selection=dg.AssetSelection.assets(archive),
        description="The CEO report of one month, kept under reports/ceo/archive/<YYYY-MM>.",
    )
    # On the 1st at 08:00 (after the daily build at 06:00), the month that just ended.
    monthly = dg.build_schedule_from_partitioned_job(
        job,
        name=ARCHIVE_SCHEDULE,
        hour_of_day=8,
        default_status=schedule_status(),
    )
    return dg.Definitions(
        assets=[build_ceo_report_asset(), archive], jobs=[job], schedules=[monthly]
    )
