"""Data quality as asset checks: Great Expectations suites on every ingested table and key
mart, volume and freshness of what arrives continuously, reconciliations of the money.

See docs/quality.md for every check, what it protects and whether it blocks.
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg

from core.settings import Settings
from orchestration.defs.dbt.project import prepare_manifest
from orchestration.defs.quality.checks import (
    QUALITY_TAG,
    freshness_checks,
    gx_checks,
    reconciliation_checks,
    volume_checks,
)
from orchestration.defs.quality.resources import QualityResource
from quality.freshness import sources_with_freshness

JOB_NAME = "quality_checks_job"


def all_checks(manifest_path: Path | None = None) -> list[dg.AssetChecksDefinition]:
    """Every quality check; the freshness rules come from the dbt manifest (default: the one
    the dbt definitions use)."""
    path = manifest_path or prepare_manifest(Settings()).manifest_path
    manifest = json.loads(path.read_text(encoding="utf-8"))
    return [
        *gx_checks(),
        volume_checks(),
        freshness_checks(sources_with_freshness(manifest)),
        *reconciliation_checks(),
    ]


def definitions() -> dg.Definitions:
    checks = all_checks()
    job = dg.define_asset_job(
        JOB_NAME,
        selection=dg.AssetSelection.checks(*checks),
        tags=QUALITY_TAG,
        description="Every quality check on the data as it is now, without building anything.",
    )
    return dg.Definitions(asset_checks=checks, jobs=[job], resources={"quality": QualityResource()})
