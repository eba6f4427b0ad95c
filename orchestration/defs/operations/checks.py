"""The restore drill as an asset check of the database's backups, with its weekly schedule."""

# No `from __future__ import annotations`: Dagster reads the resource types from signatures.
from typing import Any

import dagster as dg

from core.db.backup import BackupError
from orchestration.defs.dbt.project import dbt_env
from orchestration.defs.dbt.resources import DbtResource
from orchestration.defs.operations.drill import DrillResult, drill_database_url, run_drill
from orchestration.resources import PipelineSettings

GROUP = "operations"
OWNERS = ["team:data-platform"]
BACKUPS_KEY = dg.AssetKey(["operations", "database_backups"])
DRILL_CHECK = "restore_drill"

backups_spec = dg.AssetSpec(
    BACKUPS_KEY,
    group_name=GROUP,
    owners=OWNERS,
    kinds={"postgres"},
    description=(
        "The pipeline database's backups: `bcf db backup` writes pg_dump's directory format "
        "with a manifest (row counts, checksums, revision, sizes); the `restore_drill` check "
        "proves weekly that one restores and rebuilds the marts (docs/operations.md)."
    ),
)


def drill_metadata(result: DrillResult) -> dict[str, Any]:
    mismatches = result.restore.mismatches
    return {
        "restored_into": result.restored_into,
        "revision": result.manifest.revision or "-",
        "timescaledb": result.manifest.timescaledb or "not present",
        "tables": result.restore.tables,
        "dagster/row_count": result.restore.rows,
        "tables_differing": len(mismatches),
        "differences": dg.MetadataValue.md(
            "\n".join(f"- {line}" for line in mismatches) or "none: every count and checksum equal"
        ),
        "dbt_results": dg.MetadataValue.json(result.dbt.statuses),
        "dbt_failures": dg.MetadataValue.md(
            "\n".join(f"- `{name}`" for name in result.dbt.failures) or "none"
        ),
        "backup_bytes": result.manifest.dump_bytes,
        "database_bytes": result.manifest.database_bytes,
        "backup_seconds": result.manifest.seconds,
        "restore_seconds": result.restore.seconds,
        "drill_seconds": result.seconds,
    }


@dg.asset_check(
    asset=BACKUPS_KEY,
    name=DRILL_CHECK,
    description=(
        "Backs the database up, restores it into `<db>_restore_drill`, compares every "
        "table's count and checksum with the manifest, runs `dbt build` (marts and their "
        "tests) there, then drops it. Fails on any difference or failed model or test."
    ),
)
def restore_drill(bcf: PipelineSettings, dbt: DbtResource) -> dg.AssetCheckResult:
    settings = bcf.settings()
    database = bcf.database_url_resolved()
    env = dbt_env(
        settings, drill_database_url(database), as_of=dbt.as_of, threads=dbt.threads,
        role=dbt.role,
    )  # fmt: skip
    try:
        result = run_drill(settings, database, env)
    except BackupError as error:
        return dg.AssetCheckResult(
            passed=False, metadata={"error": str(error)}, description=f"drill failed: {error}"
        )
    dbt_state = "dbt build passed" if result.dbt.ok else f"{len(result.dbt.failures)} dbt failures"
    return dg.AssetCheckResult(
        passed=result.passed,
        metadata=drill_metadata(result),
        description=(
            f"{result.restore.tables} tables, {result.restore.rows:,} rows restored, "
            f"{len(result.restore.mismatches)} differing; {dbt_state}"
        ),
    )


restore_drill_job = dg.define_asset_job(
    "restore_drill_job",
    selection=dg.AssetSelection.checks(restore_drill),
    description="The restore drill: backup, restore into a new database, compare, dbt build.",
)
