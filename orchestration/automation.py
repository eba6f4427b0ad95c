"""Whether the schedules and sensors start running in a Dagster instance that has no state
for them yet (`BCF_AUTOMATIONS`; on in production, off elsewhere).

Off on a laptop: `bcf ui` opened after the demo would otherwise start a dbt build, a stream
drain every 5 minutes and the hourly ingest by itself. The UI's switch, once used, wins:
Dagster stores it in the instance.
"""

from __future__ import annotations

import dagster as dg

from core.settings import Settings


def schedule_status() -> dg.DefaultScheduleStatus:
    if Settings().automations_on:
        return dg.DefaultScheduleStatus.RUNNING
    return dg.DefaultScheduleStatus.STOPPED


def sensor_status() -> dg.DefaultSensorStatus:
    if Settings().automations_on:
        return dg.DefaultSensorStatus.RUNNING
    return dg.DefaultSensorStatus.STOPPED
