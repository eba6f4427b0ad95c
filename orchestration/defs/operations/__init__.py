"""Day-2 operations: the backups and their weekly restore drill, the database monitor.

Both are asset checks of external assets (`operations/database_backups`,
`operations/database`), so a run of every asset (the demo, a backfill) does not run them;
their schedules do.
"""

from __future__ import annotations

import dagster as dg

from orchestration.automation import schedule_status
from orchestration.defs.operations.checks import backups_spec, restore_drill, restore_drill_job
from orchestration.defs.operations.monitor import (
    database_monitor,
    database_monitor_job,
    database_spec,
)

DRILL_SCHEDULE = "restore_drill_weekly"
MONITOR_SCHEDULE = "database_monitor_hourly"


def definitions() -> dg.Definitions:
    weekly = dg.ScheduleDefinition(
        name=DRILL_SCHEDULE,
        job=restore_drill_job,
        cron_schedule="0 4 * * 0",
        execution_timezone="UTC",
        default_status=schedule_status(),
        description="Sundays 04:00 UTC: the restore drill (backup, restore, compare, rebuild).",
    )
    hourly = dg.ScheduleDefinition(
        name=MONITOR_SCHEDULE,
        job=database_monitor_job,
        cron_schedule="17 * * * *",
        default_status=schedule_status(),
        description="Every hour: the database monitor's statistics, page and WARN checks.",
    )
    return dg.Definitions(
        assets=[backups_spec, database_spec],
        asset_checks=[restore_drill, database_monitor],
        jobs=[restore_drill_job, database_monitor_job],
        schedules=[weekly, hourly],
    )
