"""Ingest assets: one multi-asset per landing source, keyed by the tables it fills.

Each run loads the files it is given (the sensor passes the new ones) or, without any, every
file of its source not yet in the ledger. The loading itself is `ingestion.load`; these
assets only choose files, report to Dagster, and turn transient database errors into retries.
"""

import re
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
from orchestration.executor import INGEST_QUEUE, queue_tag
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


def file_groups(paths: Sequence[str], per_step: int) -> list[list[str]]:
    """The files in load steps of `per_step` files each, in order; one empty group when there
    are none, so the step that records the materialization (and drains the stream) runs."""
    groups = [list(paths[i : i + per_step]) for i in range(0, len(paths), per_step)]
    return groups or [[]]


def mapping_key(number: int, group: Sequence[str]) -> str:
    """A step's key within the fan-out: its number and its first file, as Dagster allows."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", Path(group[0]).name)[:60] if group else "none"
    return f"{number:04d}_{name}"


def _ingest_asset(source_name: str) -> dg.AssetsDefinition:
    """A graph: list the files, load each group of files in a step of its own (so Celery
    workers load them in parallel), then record the materialization (after the stream)."""
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
    outputs = {_output_name(table): table for table in tables}
    name = f"ingest_{source_name}"
    files_op = f"{name}_files"

    @dg.op(name=files_op, out=dg.DynamicOut(list[str]), tags=queue_tag(INGEST_QUEUE))
    def landing_files(
        context: dg.OpExecutionContext, config: IngestConfig, bcf: PipelineSettings
    ) -> Iterator[dg.DynamicOutput[list[str]]]:
        settings = bcf.settings()
        try:
            paths = config.paths or [
                str(f.path)
                for f in find_new_files(
                    bcf.database_url_resolved(), settings.landing_path, [source]
                )
            ]
        except TRANSIENT_ERRORS as error:
            raise dg.RetryRequested(max_retries=3, seconds_to_wait=10) from error
        groups = file_groups(paths, settings.ingest_files_per_step)
        context.log.info(f"{len(paths)} file(s) in {len(groups)} load step(s)")
        for number, group in enumerate(groups):
            yield dg.DynamicOutput(group, mapping_key=mapping_key(number, group))

    @dg.op(name=f"{name}_load", tags=queue_tag(INGEST_QUEUE))
    def load_files(
        context: dg.OpExecutionContext, bcf: PipelineSettings, paths: list[str]
    ) -> list[BatchResult]:
        database = bcf.database_url_resolved()
        settings = bcf.settings()
        results = []
        try:
            for path in paths:
                result = load_file(database, source, Path(path), settings)
                context.log.info(
                    f"{Path(path).name}: {result.rows_in} in, {result.rows_loaded} loaded, "
                    f"{result.rows_quarantined} quarantined, {result.rows_duplicate} duplicates"
                    + (" (already loaded)" if result.already_loaded else "")
                )
                results.append(result)
        except TRANSIENT_ERRORS as error:
            raise dg.RetryRequested(max_retries=3, seconds_to_wait=10) from error
        return results

    @dg.op(
        name=f"{name}_record",
        out={output: dg.Out(dg.Nothing) for output in outputs},
        tags=queue_tag(INGEST_QUEUE),
    )
    def record(
        context: dg.OpExecutionContext, bcf: PipelineSettings, loaded: list[list[BatchResult]]
    ) -> Iterator[dg.Output[None]]:
        results = [result for group in loaded for result in group]
        if source_name in STREAMED_SOURCES:
            try:
                results += _drain_stream(context, bcf, bcf.database_url_resolved())
            except TRANSIENT_ERRORS as error:
                raise dg.RetryRequested(max_retries=3, seconds_to_wait=10) from error
        for output, metadata in zip(outputs, _metadata(results, tables), strict=True):
            yield dg.Output(None, output_name=output, metadata=metadata)

    @dg.config_mapping
    def files_config(config: IngestConfig) -> dict[str, Any]:
        # The run config stays `ops: {ingest_<source>: {config: {paths: [...]}}}`.
        return {files_op: {"config": {"paths": config.paths}}}

    @dg.graph_multi_asset(
        name=name,
        outs={
            output: dg.AssetOut.from_spec(spec, dagster_type=dg.Nothing)
            for output, spec in zip(outputs, specs, strict=True)
        },
        config=files_config,
        group_name="ingestion",  # AssetOut.from_spec does not carry the group
    )
    def ingest() -> dict[str, Any]:
        """Load new landing files, a step per file or group of files: validate, quarantine,
        COPY, merge."""
        loaded = landing_files().map(load_files).collect()
        recorded = record(loaded)
        return dict(recorded._asdict()) if len(outputs) > 1 else {next(iter(outputs)): recorded}

    # AssetOut.from_spec keeps neither the group (given above) nor the freshness policy.
    freshness = FRESHNESS_POLICIES.get(source_name)
    return ingest.map_asset_specs(lambda spec: spec.replace_attributes(freshness_policy=freshness))


def _output_name(table: str) -> str:
    return table.replace(".", "__")


def _metadata(results: Sequence[BatchResult], tables: Sequence[str]) -> list[dict[str, Any]]:
    """The primary table's account of the batches, then a pointer to it for the others."""
    totals = _Totals()
    for result in results:
        totals.add(result)
    starts = [r.min_event_at for r in results if r.min_event_at]
    ends = [r.max_event_at for r in results if r.max_event_at]
    primary: dict[str, Any] = {
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
    # The counts are the primary table's (one row per input record); the other tables were
    # merged from the same batches.
    return [primary] + [{"files": totals.files, "merged_with": tables[0]} for _ in tables[1:]]


def _drain_stream(
    context: dg.OpExecutionContext, bcf: PipelineSettings, database: str
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
