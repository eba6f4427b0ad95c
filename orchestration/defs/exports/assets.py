"""The exports asset: every mart as a Parquet file and as a table of one DuckDB database.

For analysts and BI tools that read files (DuckDB CLI, Python notebooks, Power BI, Excel via
ODBC): `<data dir>/exports/parquet/<mart>.parquet` and `<data dir>/exports/bcf_marts.duckdb`.
The marts are discovered in schema `marts` at run time, so a new dbt mart is exported
without a code change; the work is `write.export_marts`.
"""

# No `from __future__ import annotations`: Dagster reads the resource types from signatures.
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg

from core.db.engine import libpq_url
from core.sizes import human_size
from orchestration.defs.exports.catalog import mart_models
from orchestration.defs.exports.write import ExportResult, export_marts
from orchestration.resources import PipelineSettings

GROUP = "exports"
OWNERS = ["team:data-platform"]
KEY = dg.AssetKey(["exports", "marts"])
CHECK_NAME = "row_counts_match_postgres"
EXPORTS_DIR = "exports"


def exports_dir(bcf: PipelineSettings) -> Path:
    return bcf.settings().data_dir.resolve() / EXPORTS_DIR


def mart_keys() -> list[dg.AssetKey]:
    """`["marts", <model>]` for every model under dbt_project/models/marts: the dbt assets'
    keys. Plain keys, so the asset loads with or without the dbt assets in the Definitions."""
    return [dg.AssetKey(["marts", name]) for name in mart_models()]


def files_table(result: ExportResult) -> str:
    lines = ["| mart | rows | columns | parquet | size |", "|---|---:|---:|---|---:|"]
    for mart in result.marts:
        lines.append(
            f"| {mart.name} | {mart.parquet_rows} | {mart.columns} "
            f"| `{mart.parquet_path.name}` | {human_size(mart.parquet_bytes)} |"
        )
    return "\n".join(lines) if result.marts else "no marts in schema `marts` yet"


def export_metadata(result: ExportResult) -> dict[str, Any]:
    return {
        "marts": len(result.marts),
        "dagster/row_count": result.total_rows,
        "rows_by_mart": {m.name: m.parquet_rows for m in result.marts},
        "duckdb_path": dg.MetadataValue.path(str(result.duckdb_path)),
        "duckdb_bytes": result.duckdb_bytes,
        "parquet_dir": dg.MetadataValue.path(str(result.parquet_dir)),
        "parquet_bytes": sum(m.parquet_bytes for m in result.marts),
        "files": dg.MetadataValue.md(files_table(result)),
        "removed_stale_files": ", ".join(result.removed) or "-",
        "seconds": round(result.seconds, 2),
    }


def build_exports_asset() -> dg.AssetsDefinition:
    @dg.asset(
        key=KEY,
        deps=mart_keys(),
        group_name=GROUP,
        owners=OWNERS,
        kinds={"postgres", "parquet", "duckdb"},
        description=(
            "Every table of schema `marts` as `exports/parquet/<mart>.parquet` and as a table "
            "of `exports/bcf_marts.duckdb` (same names and types: DECIMAL(p,s), DATE, "
            "TIMESTAMPTZ in UTC), from one consistent snapshot, replaced atomically. Marts are "
            "discovered at run time. Refreshed automatically after the marts it depends on."
        ),
        automation_condition=dg.AutomationCondition.eager(),
        check_specs=[
            dg.AssetCheckSpec(
                CHECK_NAME,
                asset=KEY,
                description="Each mart has the same row count in PostgreSQL, Parquet and DuckDB.",
            )
        ],
    )
    def marts_export(
        context: dg.AssetExecutionContext, bcf: PipelineSettings
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        result = export_marts(
            libpq_url(bcf.database_url_resolved()), exports_dir(bcf), log=context.log.info
        )
        context.log.info(
            f"{len(result.marts)} marts, {result.total_rows} rows -> {result.duckdb_path} "
            f"and {result.parquet_dir} in {result.seconds:.1f}s"
        )
        yield dg.MaterializeResult(metadata=export_metadata(result))
        yield dg.AssetCheckResult(
            check_name=CHECK_NAME,
            passed=not result.mismatched,
            metadata={"mismatched_marts": ", ".join(result.mismatched) or "-"},
        )

    return marts_export
