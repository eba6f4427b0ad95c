"""Exports: the marts as Parquet files and a DuckDB database for analysts and BI tools that
read files.

The asset refreshes itself after the marts: its automation condition is `eager` (run once
the marts it depends on were updated and none is still building), evaluated by the
`exports_after_marts` sensor, on by default (Dagster's default automation sensor is off).
"""

from __future__ import annotations

import dagster as dg

from orchestration.automation import sensor_status
from orchestration.defs.exports.assets import KEY, build_exports_asset

SENSOR_NAME = "exports_after_marts"


def definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=[build_exports_asset()],
        sensors=[
            dg.AutomationConditionSensorDefinition(
                SENSOR_NAME,
                target=dg.AssetSelection.assets(KEY),
                default_status=sensor_status(),
                description="Refreshes the exports after the marts they read were rebuilt.",
            )
        ],
    )
