"""Ingest assets: one multi-asset per landing source, keyed by the tables it fills.

Each run loads the files it is given (the sensor passes the new ones) or, without any, every
file of its source not yet in the ledger. The loading itself is `ingestion.load`; these
assets only choose files, report to Dagster, and turn transient database errors into retries.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import redis
from psycopg import OperationalError
from sqlalchemy.exc import OperationalError as SqlAlchemyOperationalError

from ingestion import stream
from ingestion.load.discover import find_new_files
from ingestion.load.loader import BatchResult, load_file
from ingestion.parsing.contract import Source
from ingestion.sources.registry import get_source, source_names
from orchestration.resources import PipelineSettings

OWNERS = ["team:data-platform"]
TRANSIENT_ERRORS = (OperationalError, SqlAlchemyOperationalError, redis.ConnectionError)

# What each source is, for the asset's description in the UI.
SOURCE_DESCRIPTIONS = {
    "payments": "Stripe events (charges, refunds, disputes, invoices, subscriptions)",
    "tracking": "web visitor events from the collector, enriched (user agent, geo, bots)",
    "usage": "platform usage per tenant and resource",
    "trading": "trading fills with fees and profit",
    "fx_rates": "daily FX rates to the reporting currency",
    "expenses": "operating expenses",
    "behaviour": "in-app user behaviour events",
    "audit": "audit events",
}


# Sources that also arrive on the Redis stream: their asset drains it after the files.
STREAMED_SOURCES = {"tracking"}

# Sources that arrive continuously: Dagster's freshness policy on their tables (shown in the
# UI; see docs/quality.md). The stream is drained every 5 minutes; the others land daily.
_DAILY = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(days=2), warn_window=timedelta(days=1)
)
FRESHNESS_POLICIES = {
    "tracking": dg.FreshnessPolicy.time_window(
        fail_window=timedelta(minutes=30), warn_window=timedelta(minutes=15)
    ),
    "behaviour": _DAILY,
    "audit": _DAILY,
    "usage": _DAILY,
}


class IngestConfig(dg.Config):
    # Empty: every file of this source not yet loaded. (Pydantic copies the default.)
    paths: list[str] = []  # noqa: RUF012


def written_tables(source: Source) -> list[str]:
    """The tables a source fills, primary first: the asset keys of its multi-asset."""
    tables = [source.primary.table, *(target.table for target in source.secondary)]
    return tables + [t for t in source.derived_tables if t not in tables]


def asset_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(table.split("."))


@dataclass
class _Totals:
    files: int = 0
    already_loaded: int = 0
    rows_in: int = 0
    loaded: int = 0
    quarantined: int = 0
    duplicates: int = 0

    def add(self, result: BatchResult) -> None:
        self.files += 1
        self.already_loaded += result.already_loaded
        if not result.already_loaded:
            self.rows_in += result.rows_in
            self.loaded += result.rows_loaded
            self.quarantined += result.rows_quarantined
            self.duplicates += result.rows_duplicate


def _batches_table(results: Sequence[BatchResult]) -> str:
    lines = [
        "| file | in | loaded | quarantined | duplicates | events from | to |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        status = " (already loaded)" if r.already_loaded else ""
        lines.append(
            f"| {Path(r.origin).name}{status} | {r.rows_in} | {r.rows_loaded} "
            f"| {r.rows_quarantined} | {r.rows_duplicate} "
            f"| {r.min_event_at or '-'} | {r.max_event_at or '-'} |"
        )
    return "\n".join(lines)


def _ingest_asset(source_name: str) -> dg.AssetsDefinition:
    source = get_source(source_name)
    tables = written_tables(source)
    specs = [
        dg.AssetSpec(
            asset_key(table),
            description=(
                f"`{table}`, loaded from the `{source_name}` landing source: "
                f"{SOURCE_DESCRIPTIONS.get(source_name, source_name)}."
            ),
            group_name="ingestion",
            owners=OWNERS,
            kinds={"postgres", "python"},
            tags={"source": source_name},
            freshness_policy=FRESHNESS_POLICIES.get(source_name),
        )
        for table in tables
    ]

    @dg.multi_asset(
        name=f"ingest_{source_name}",
        specs=specs,
        description=f"Load new `{source_name}` landing files: validate, quarantine, COPY, merge.",
    )
    def ingest(
        context: dg.AssetExecutionContext, config: IngestConfig, bcf: PipelineSettings
    ) -> Iterator[dg.MaterializeResult]:
        database = bcf.database_url_resolved()
        settings = bcf.settings()
        try:
            paths = [Path(p) for p in config.paths] or [
                f.path for f in find_new_files(database, settings.landing_path, [source])
            ]
            results = []
            for path in paths:
                result = load_file(database, source, path, settings)
                context.log.info(
                    f"{path.name}: {result.rows_in} in, {result.rows_loaded} loaded, "
                    f"{result.rows_quarantined} quarantined, {result.rows_duplicate} duplicates"
                    + (" (already loaded)" if result.already_loaded else "")
                )
                results.append(result)
            if source_name in STREAMED_SOURCES:
                results += _drain_stream(context, bcf, database)
        except TRANSIENT_ERRORS as error:
            raise dg.RetryRequested(max_retries=3, seconds_to_wait=10) from error
        totals = _Totals()
        for result in results:
            totals.add(result)
        starts = [r.min_event_at for r in results if r.min_event_at]
        ends = [r.max_event_at for r in results if r.max_event_at]
        metadata: dict[str, Any] = {
            "files": totals.files,
            "files_already_loaded": totals.already_loaded,
            "rows_in": totals.rows_in,
            "rows_loaded": totals.loaded,
            "rows_quarantined": totals.quarantined,
            "rows_duplicate": totals.duplicates,
            "events_from": str(min(starts)) if starts else "-",
            "events_to": str(max(ends)) if ends else "-",
            "batches": dg.MetadataValue.md(_batches_table(results) if results else "no new files"),
        }
        yield dg.MaterializeResult(asset_key=asset_key(tables[0]), metadata=metadata)
        # The counts are the primary table's (one row per input record); the other tables
        # were merged from the same batches.
        for table in tables[1:]:
            yield dg.MaterializeResult(
                asset_key=asset_key(table),
                metadata={"files": totals.files, "merged_with": tables[0]},
            )

    return ingest


def _drain_stream(
    context: dg.AssetExecutionContext, bcf: PipelineSettings, database: str
) -> list[BatchResult]:
    redis_url = bcf.redis_url_resolved()
    if redis_url is None:
        context.log.warning("no Redis configured: the tracking stream is not drained")
        return []
    client = redis.Redis.from_url(redis_url)
    try:
        drained = stream.drain(client, database, bcf.settings())
    finally:
        client.close()
    context.log.info(
        f"stream: {drained.entries} entries, {drained.rows_loaded} events loaded, "
        f"{drained.rows_quarantined} quarantined, {drained.dead_lettered} dead-lettered"
    )
    return drained.batches


def ingest_assets() -> list[dg.AssetsDefinition]:
    return [_ingest_asset(name) for name in source_names()]
