"""The database monitor: WARN checks of the `operations/database` asset, its report as the
asset's observation metadata and as an HTML page in the data folder.

Checks rather than a materialization: what they warn about (cache misses after a bulk
load, dead tuples before autovacuum runs) depends on the server's moment, not on the data,
so a run of every asset (the demo) does not run them; the hourly schedule does.
"""

# No `from __future__ import annotations`: Dagster reads the resource types from signatures.
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg

from core.db.engine import libpq_url
from core.db.monitor import MonitorReport, Thresholds, collect
from core.db.monitor_page import size, write_page
from orchestration.markdown import markdown_table
from orchestration.resources import PipelineSettings

GROUP = "operations"
OWNERS = ["team:data-platform"]
DATABASE_KEY = dg.AssetKey(["operations", "database"])
CHECKS = {
    "dead_tuples": "No large table has more dead tuples than BCF_MONITOR_DEAD_TUPLE_RATIO.",
    "cache_hit_ratio": "The buffer cache hit ratio is at least BCF_MONITOR_CACHE_HIT_MIN.",
    "connections": "Connections stay under BCF_MONITOR_CONNECTIONS_MAX_RATIO of the maximum.",
    "replica_lag": "Every replica replays within BCF_MONITOR_REPLICA_LAG_MAX_SECONDS.",
}

database_spec = dg.AssetSpec(
    DATABASE_KEY,
    group_name=GROUP,
    owners=OWNERS,
    kinds={"postgres"},
    description=(
        "The pipeline's PostgreSQL/TimescaleDB server as the monitor sees it: top statements "
        "(pg_stat_statements), sizes, chunks and compression, unused indexes, dead tuples, "
        "cache hit ratio, connections, replica lag and the platform design's monitoring "
        "queries. Observed by `database_monitor_job` (hourly); `bcf db monitor` prints the "
        "same; page: <data dir>/reports/monitor/index.html."
    ),
)


def _md(rows: list[dict[str, Any]], empty: str = "none") -> str:
    return markdown_table(list(rows[0]), [list(row.values()) for row in rows]) if rows else empty


def observation_metadata(report: MonitorReport, page: Path) -> dict[str, Any]:
    cache = report.cache.get("ratio")
    return {
        "page": dg.MetadataValue.path(str(page)),
        "server": report.server_version,
        "role": "standby" if report.in_recovery else "primary",
        "timescaledb": report.timescaledb or "not installed",
        "cache_hit_ratio": float(cache) if cache is not None else None,
        "connections": report.connections.get("connections"),
        "max_connections": report.connections.get("max_connections"),
        "compression_ratio": report.compression_ratio,
        "replica_lag_seconds": report.replica_lag_seconds,
        "replicas": len(report.replicas),
        "top_statements": dg.MetadataValue.md(
            _md(report.top_statements, report.statements_note or "none recorded")
        ),
        "largest_tables": dg.MetadataValue.md(_md([
            {"table": f"{t['schema']}.{t['table']}", "total": size(t["total_bytes"]),
             "indexes": size(t["index_bytes"])}
            for t in report.table_sizes
        ])),
        "hypertables": dg.MetadataValue.md(_md(report.hypertables)),
        "unused_indexes": dg.MetadataValue.md(_md(report.unused_indexes)),
        "dead_tuples": dg.MetadataValue.md(_md(report.dead_tuples)),
        "tenant_usage": dg.MetadataValue.md(_md(report.tenant_usage)),
        "warnings": dg.MetadataValue.md(
            "\n".join(f"- {f.message}" for f in report.findings) or "none"
        ),
    }  # fmt: skip


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(name, asset=DATABASE_KEY, description=description)
        for name, description in CHECKS.items()
    ],
    name="database_monitor",
)
def database_monitor(
    context: dg.AssetCheckExecutionContext, bcf: PipelineSettings
) -> Iterator[dg.AssetCheckResult]:
    settings = bcf.settings()
    report = collect(libpq_url(bcf.database_url_resolved()), Thresholds.from_settings(settings))
    page = write_page(report, settings.data_dir)
    context.op_execution_context.log_event(
        dg.AssetObservation(asset_key=DATABASE_KEY, metadata=observation_metadata(report, page))
    )
    for name in CHECKS:
        found = report.findings_of(name)
        yield dg.AssetCheckResult(
            asset_key=DATABASE_KEY,
            check_name=name,
            passed=not found,
            severity=dg.AssetCheckSeverity.WARN,
            description="; ".join(f.message for f in found) or None,
            metadata={"warnings": len(found)},
        )


database_monitor_job = dg.define_asset_job(
    "database_monitor_job",
    selection=dg.AssetSelection.checks(database_monitor),
    description="The database monitor: statistics, the HTML page, the WARN checks.",
)
