"""The landing sensor: a run per source whenever new files arrive in its landing folder."""

# No `from __future__ import annotations`: Dagster reads the config and resource types
# from these signatures at definition time.
import hashlib
from collections import defaultdict
from collections.abc import Iterator

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

from ingestion.load.discover import LandingFile, find_new_files
from orchestration.automation import sensor_status
from orchestration.resources import PipelineSettings


def ingest_job_name(source: str) -> str:
    return f"ingest_{source}_job"


def landing_sensor(jobs: list[UnresolvedAssetJobDefinition]) -> dg.SensorDefinition:
    @dg.sensor(
        name="landing_files",
        jobs=jobs,
        minimum_interval_seconds=30,
        default_status=sensor_status(),
        description="Starts an ingest run per source for files that arrived in the landing "
        "folder and are not in the ledger yet. The run key is the files' content, so the "
        "same files never start two runs.",
    )
    def landing_files(
        context: dg.SensorEvaluationContext, bcf: PipelineSettings
    ) -> Iterator[dg.RunRequest | dg.SkipReason]:
        settings = bcf.settings()
        new = find_new_files(bcf.database_url_resolved(), settings.landing_path)
        if not new:
            yield dg.SkipReason(f"no new files under {settings.landing_path}")
            return
        by_source: dict[str, list[LandingFile]] = defaultdict(list)
        for landing_file in new:
            by_source[landing_file.source].append(landing_file)
        for source, files in sorted(by_source.items()):
            content = hashlib.sha256("".join(f.content_sha256 for f in files).encode()).hexdigest()
            config = {"paths": [str(f.path) for f in files]}
            yield dg.RunRequest(
                run_key=f"{source}:{content}",
                job_name=ingest_job_name(source),
                run_config={"ops": {f"ingest_{source}": {"config": config}}},
                tags={"source": source, "files": str(len(files))},
            )

    return landing_files
