"""Day-2 operations: the backups and their weekly restore drill.

The drill is an asset check on the (external) backups asset, so a run of every asset (the
demo, a backfill) does not run it; the `restore_drill_weekly` schedule does.
"""

from __future__ import annotations

import dagster as dg

from orchestration.automation import schedule_status
from orchestration.defs.operations.checks import backups_spec, restore_drill, restore_drill_job

DRILL_SCHEDULE = "restore_drill_weekly"


def definitions() -> dg.Definitions:
    weekly = dg.ScheduleDefinition(
        name=DRILL_SCHEDULE,
        job=restore_drill_job,
        cron_schedule="0 4 * * 0",
        execution_timezone="UTC",
        default_status=schedule_status(),
        description="Sundays 04:00 UTC: the restore drill (backup, restore, compare, rebuild).",
    )
    return dg.Definitions(
        assets=[backups_spec],
        asset_checks=[restore_drill],
        jobs=[restore_drill_job],
        schedules=[weekly],
    )
