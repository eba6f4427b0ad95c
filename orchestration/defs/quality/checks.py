"""The quality checks as Dagster asset checks.

- `gx_<schema>__<table>`: the table's Great Expectations suite, run once, reported as two
  checks: `gx_money_and_identity` (blocking, severity ERROR: keys, amounts, currencies,
  tenants and users, timestamps of money) and `gx_expectations` (the rest, severity WARN).
- `volume_vs_trailing_average` on each event table (WARN): missing days, spikes, drops.
- `source_freshness` on each dbt source with a freshness rule (WARN or ERROR as the rule
  says; not blocking: late data is not wrong data).
- Reconciliations, one check each, blocking: the MRR roll-forward, revenue vs the ledger,
  the CEO's revenue vs revenue_daily, the CEO report table vs its mart, and
  `ingest_ledger_balances` on each source's primary table.

A failed blocking check stops the assets downstream of its asset in the same run (Dagster
skips them); its metadata says what failed, how many rows, a sample, and links the Data Docs.
A run tagged `RECENT_DAYS_TAG` validates only the recent rows of the event tables.
"""

# No `from __future__ import annotations`: Dagster reads the resource types from signatures.
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import dagster as dg
from sqlalchemy import Engine

from core.settings import Settings
from ingestion.sources.registry import get_source, source_names
from orchestration.defs.quality.resources import QualityResource
from orchestration.resources import PipelineSettings
from quality import freshness, reconcile, volume
from quality.gx_run import ExpectationOutcome, SuiteOutcome
from quality.suites import SUITES, TableSuite

BLOCKING_GX = "gx_money_and_identity"
WARNING_GX = "gx_expectations"
VOLUME = "volume_vs_trailing_average"
FRESHNESS = "source_freshness"
INGEST_LEDGER = "ingest_ledger_balances"
QUALITY_TAG = {"bcf/quality": "true"}
# A run with this tag validates only the last N days (its value) of the event tables: the
# frequent runs (the ingest jobs, the after-ingest dbt runs) carry it, so a suite costs in
# proportion to the recent data; the daily and full runs validate every row.
RECENT_DAYS_TAG = "bcf/quality_recent_days"


def _key(path: Sequence[str]) -> dg.AssetKey:
    return dg.AssetKey(list(path))


def _markdown_cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _failures_table(outcomes: Sequence[ExpectationOutcome]) -> str:
    lines = ["| expectation | rule | rows | sample |", "|---|---|---:|---|"]
    for o in outcomes:
        rows = (
            "error" if o.error else (o.unexpected_count if o.unexpected_count is not None else "-")
        )
        sample = o.error or (o.observed if o.observed is not None and not o.sample else o.sample)
        lines.append(
            f"| {o.name} | {_markdown_cell(o.description)} | {rows} | {_markdown_cell(sample)} |"
        )
    return "\n".join(lines)


def _what_failed(outcome: ExpectationOutcome) -> str:
    if outcome.error:
        return f"{outcome.name}: could not run ({outcome.error})"
    if outcome.unexpected_count is not None:
        return f"{outcome.name}: {outcome.unexpected_count} row(s) break '{outcome.description}'"
    return f"{outcome.name}: observed {outcome.observed}, expected {outcome.description}"


def gx_result(
    suite: TableSuite, outcome: SuiteOutcome, *, blocking: bool, index_url: str
) -> dg.AssetCheckResult:
    part = outcome.part(blocking=blocking)
    failed = [o for o in part if not o.success]
    failing_rows = sum(o.unexpected_count or 0 for o in failed)
    metadata: dict[str, Any] = {
        "table": suite.qualified,
        "expectations": len(part),
        "failed_expectations": len(failed),
        "failing_rows": failing_rows,
        "data_docs": dg.MetadataValue.url(outcome.docs_url or index_url),
        "data_docs_index": dg.MetadataValue.url(index_url),
    }
    if outcome.rows is not None:
        metadata["rows"] = outcome.rows
    if outcome.recent_days is not None:
        metadata["validated"] = f"{suite.time_column} in the last {outcome.recent_days} days"
    if failed:
        metadata["failed"] = ", ".join(o.name for o in failed)
        metadata["failures"] = dg.MetadataValue.md(_failures_table(failed))
        description = "; ".join(_what_failed(o) for o in failed)
    else:
        description = f"{len(part)} expectations met"
    if outcome.recent_days is not None:
        description += f" (rows of the last {outcome.recent_days} days)"
    return dg.AssetCheckResult(
        asset_key=_key(suite.asset_key_path),
        check_name=BLOCKING_GX if blocking else WARNING_GX,
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
        metadata=metadata,
        description=description,
    )


def recent_days(run_tags: Mapping[str, str], suite: TableSuite) -> int | None:
    """The days of `suite`'s table a run validates: its `RECENT_DAYS_TAG` on an event table;
    None (every row) on the other tables or without the tag."""
    days = run_tags.get(RECENT_DAYS_TAG)
    return int(days) if days and suite.time_column else None


def _gx_check(suite: TableSuite) -> dg.AssetChecksDefinition:
    key = _key(suite.asset_key_path)
    specs = []
    if suite.part(blocking=True):
        specs.append(
            dg.AssetCheckSpec(
                BLOCKING_GX,
                asset=key,
                blocking=True,
                description=f"Great Expectations on {suite.qualified}: the expectations that "
                "protect money and identity (keys, amounts, currencies, tenants and users). "
                "Blocking: when one fails, what is downstream does not run.",
            )
        )
    if suite.part(blocking=False):
        specs.append(
            dg.AssetCheckSpec(
                WARNING_GX,
                asset=key,
                description=f"Great Expectations on {suite.qualified}: types, ranges, value "
                "sets and row counts that warn without stopping the pipeline.",
            )
        )

    @dg.multi_asset_check(
        name=f"gx_{suite.schema}__{suite.table}",
        specs=specs,
        can_subset=True,
        description=f"The Great Expectations suite of {suite.qualified}, run in PostgreSQL.",
        op_tags=QUALITY_TAG,
    )
    def gx_suite(
        context: dg.AssetCheckExecutionContext, bcf: PipelineSettings, quality: QualityResource
    ) -> Iterator[dg.AssetCheckResult]:
        selected = {k.name for k in context.selected_asset_check_keys}
        chosen = [
            e for e in suite.expectations if (BLOCKING_GX if e.blocking else WARNING_GX) in selected
        ]
        runner = quality.runner(bcf.settings(), bcf.database_url_resolved())
        outcome = runner.validate(suite, chosen, recent_days=recent_days(context.run.tags, suite))
        for blocking in (True, False):
            if (BLOCKING_GX if blocking else WARNING_GX) in selected:
                yield gx_result(suite, outcome, blocking=blocking, index_url=runner.index_url)

    return gx_suite


def gx_checks(suites: Iterable[TableSuite] = SUITES) -> list[dg.AssetChecksDefinition]:
    return [_gx_check(suite) for suite in suites]


def _per_table_checks(
    name: str,
    description: str,
    check_name: str,
    spec_descriptions: Mapping[dg.AssetKey, str],
    evaluate: Callable[[Engine, dg.AssetKey, Settings, datetime | None], dg.AssetCheckResult],
) -> dg.AssetChecksDefinition:
    """One multi-asset check named `check_name` on each table of `spec_descriptions`; a run
    evaluates the selected ones over one engine, with the settings and "now" of the run."""

    @dg.multi_asset_check(
        name=name,
        specs=[
            dg.AssetCheckSpec(check_name, asset=key, description=spec_description)
            for key, spec_description in spec_descriptions.items()
        ],
        can_subset=True,
        description=description,
        op_tags=QUALITY_TAG,
    )
    def per_table_checks(
        context: dg.AssetCheckExecutionContext, bcf: PipelineSettings, quality: QualityResource
    ) -> Iterator[dg.AssetCheckResult]:
        settings = bcf.settings()
        engine = bcf.engine()
        try:
            for check_key in sorted(context.selected_asset_check_keys, key=str):
                yield evaluate(engine, check_key.asset_key, settings, quality.as_of_instant())
        finally:
            engine.dispose()

    return per_table_checks


def volume_checks() -> dg.AssetChecksDefinition:
    tables = {_key([t.schema, t.table]): t for t in volume.EVENT_TABLES}

    def volume_check(
        engine: Engine, asset_key: dg.AssetKey, settings: Settings, as_of: datetime | None
    ) -> dg.AssetCheckResult:
        band = volume.VolumeBand.from_settings(settings)
        result = volume.check_volume(
            engine, tables[asset_key], band, time_zone=settings.reporting_tz, as_of=as_of
        )
        return dg.AssetCheckResult(
            asset_key=asset_key,
            check_name=VOLUME,
            passed=result.passed,
            severity=dg.AssetCheckSeverity.WARN,
            description=result.message,
            metadata={
                "latest_day": str(result.latest_day or "-"),
                "latest_day_rows": result.latest_rows,
                "trailing_average": round(result.trailing_average or 0.0, 2),
                "compared_with": ", ".join(d.isoformat() for d in result.compared_days) or "-",
                "expected_min": round(result.expected_min or 0.0, 2),
                "expected_max": round(result.expected_max or 0.0, 2),
                "missing_days": ", ".join(d.isoformat() for d in result.missing_days) or "none",
                "day_in_progress": result.in_progress,
                "daily_rows": dg.MetadataValue.json(
                    {d.isoformat(): n for d, n in result.daily_rows.items()}
                ),
                "message": result.message,
            },
        )

    return _per_table_checks(
        "volume_checks",
        "Volume of each event table, one aggregate query per table.",
        VOLUME,
        dict.fromkeys(
            tables,
            "The latest day's rows against the average of the same weekday in the weeks "
            "before it, holidays counted as Sundays (BCF_QUALITY_VOLUME_*), and no day "
            "without rows in that window.",
        ),
        volume_check,
    )


def freshness_checks(sources: Sequence[freshness.SourceFreshness]) -> dg.AssetChecksDefinition:
    by_key = {_key(s.asset_key_path): s for s in sources}

    def source_freshness(
        engine: Engine, asset_key: dg.AssetKey, settings: Settings, as_of: datetime | None
    ) -> dg.AssetCheckResult:
        source = by_key[asset_key]
        result = freshness.check_freshness(engine, source, as_of=as_of)
        return dg.AssetCheckResult(
            asset_key=asset_key,
            check_name=FRESHNESS,
            passed=result.status == "pass",
            severity=dg.AssetCheckSeverity.ERROR
            if result.status == "error"
            else dg.AssetCheckSeverity.WARN,
            description=f"{result.status}: {result.message}",
            metadata={
                "status": result.status,
                "measured_by": source.loaded_at_query or f"max({source.loaded_at_field})",
                "newest": result.newest.isoformat() if result.newest else "-",
                "age_hours": round(result.age.total_seconds() / 3600, 1) if result.age else -1.0,
                "warn_after": str(source.warn_after or "-"),
                "error_after": str(source.error_after or "-"),
            },
        )

    return _per_table_checks(
        "source_freshness_checks",
        "dbt source freshness rules, evaluated in SQL.",
        FRESHNESS,
        {
            key: f"dbt source freshness of {s.qualified}: newest {s.measure} against "
            f"warn_after {s.warn_after or '-'} / error_after {s.error_after or '-'} "
            "(dbt_project sources YAML)."
            for key, s in by_key.items()
        },
        source_freshness,
    )


def _blocking_sql_check(
    asset_key: dg.AssetKey,
    name: str,
    description: str,
    evaluate: Callable[[Engine, Settings], reconcile.ReconciliationResult],
    reads: Sequence[dg.AssetKey] = (),
) -> dg.AssetChecksDefinition:
    """A blocking check on `asset_key` (also reading `reads`): `evaluate`'s offending rows,
    and a sample of them, fail it with severity ERROR."""

    @dg.asset_check(
        asset=asset_key,
        name=name,
        blocking=True,
        additional_deps=list(reads),
        description=description,
        op_tags=QUALITY_TAG,
    )
    def blocking_sql_check(bcf: PipelineSettings) -> dg.AssetCheckResult:
        engine = bcf.engine()
        try:
            result = evaluate(engine, bcf.settings())
        finally:
            engine.dispose()
        metadata: dict[str, Any] = {"offending_rows": result.offending_rows}
        if result.sample:
            metadata["sample"] = dg.MetadataValue.json(result.sample)
        return dg.AssetCheckResult(
            asset_key=asset_key,
            check_name=name,
            passed=result.passed,
            severity=dg.AssetCheckSeverity.ERROR,
            description=result.message,
            metadata=metadata,
        )

    return blocking_sql_check


def _reconciliation_check(check: reconcile.Reconciliation) -> dg.AssetChecksDefinition:
    return _blocking_sql_check(
        _key(check.asset),
        check.name,
        check.description,
        lambda engine, settings: reconcile.reconcile(
            engine, check, time_zone=settings.reporting_tz, currency=settings.reporting_currency
        ),
        reads=[_key(path) for path in check.reads],
    )


def _ledger_check(source_name: str) -> dg.AssetChecksDefinition:
    return _blocking_sql_check(
        _key(get_source(source_name).primary.table.split(".")),
        INGEST_LEDGER,
        f"Every completed {source_name} batch in raw.ingest_batches balances "
        "(in = loaded + quarantined + duplicates) and its raw.quarantine rows match; no batch "
        "is left running for more than an hour. Nothing a file brought in is lost.",
        lambda engine, _settings: reconcile.ingest_ledger_balances(engine, source_name),
    )


def reconciliation_checks() -> list[dg.AssetChecksDefinition]:
    return [
        *(_reconciliation_check(check) for check in reconcile.MART_RECONCILIATIONS),
        *(_ledger_check(name) for name in source_names()),
    ]


def blocking_check_keys(assets: Collection[dg.AssetKey]) -> list[dg.AssetCheckKey]:
    """The blocking checks on `assets`. A run that builds on these tables and selects them
    runs them first, and does not build what reads a table whose check failed."""
    # Volume and freshness checks never block: their definitions (and the dbt manifest the
    # freshness rules come from) are not needed to find the checks that do.
    specs = (
        spec for checks in (*gx_checks(), *reconciliation_checks()) for spec in checks.check_specs
    )
    return sorted(
        (spec.key for spec in specs if spec.blocking and spec.asset_key in assets),
        key=lambda key: key.to_user_string(),
    )
