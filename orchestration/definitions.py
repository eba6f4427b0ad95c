"""The one Dagster entry point (workspace.yaml): every concern's definitions, merged."""

from __future__ import annotations

import dagster as dg

from orchestration.defs import ceo_report, dbt, exports, ingest, operations, quality, reports
from orchestration.resources import PipelineSettings


def build_definitions() -> dg.Definitions:
    return dg.Definitions.merge(
        ingest.definitions(),
        dbt.definitions(),
        reports.definitions(),
        ceo_report.definitions(),
        exports.definitions(),
        quality.definitions(),
        operations.definitions(),
        dg.Definitions(resources={"bcf": PipelineSettings()}),
    )


defs = build_definitions()
