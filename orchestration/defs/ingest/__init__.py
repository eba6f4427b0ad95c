"""Ingestion: landing files and the tracking stream into the operational tables."""

from __future__ import annotations

import dagster as dg

from ingestion.sources.registry import source_names
from orchestration.defs.ingest.assets import ingest_assets
from orchestration.defs.ingest.sensors import ingest_job_name, landing_sensor


def definitions() -> dg.Definitions:
    assets = ingest_assets()
    jobs = [
        dg.define_asset_job(ingest_job_name(name), selection=dg.AssetSelection.assets(asset))
        for name, asset in zip(source_names(), assets, strict=True)
    ]
    return dg.Definitions(assets=assets, jobs=jobs, sensors=[landing_sensor(jobs)])
