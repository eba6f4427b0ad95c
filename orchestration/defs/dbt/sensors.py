"""After ingestion, build only what changed: the models (and reports) downstream of the tables
an ingest run actually changed, with the data tests of the large event models on their
recent days only (what an incremental run rewrote) and without dbt's unit tests (they test
the SQL, not the data), so a run costs in proportion to the new data; the daily schedule
tests every row and runs the unit tests. Each run first runs the job's blocking quality
checks of every source its models read (on the event tables' recent days), so data a check
rejected does not reach the marts.

A sensor rather than `AutomationCondition.eager()`: the ingest assets report a
materialization on every run, including the tracking drain every 5 minutes that usually
loads nothing, and an automation condition cannot see that a materialization loaded no rows,
so eager() would rebuild the web marts every 5 minutes. This sensor reads the ingest
materializations' metadata (`rows_loaded`, `files`) and ignores the empty ones, leaves out
what a run materialized after the change (the demo builds everything itself); it waits
while a dbt run is queued or running, so what lands meanwhile goes into one next run
instead of two runs writing the same tables at once.
"""

# No `from __future__ import annotations`: Dagster reads the context type from the signature.
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

from orchestration.automation import sensor_status
from orchestration.defs.quality.checks import RECENT_DAYS_TAG

SENSOR_NAME = "dbt_after_ingest"
# Every run that builds dbt models carries this tag (the daily job's and this sensor's).
DBT_RUN_TAG = "bcf/dbt"
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
_PAGE = 500
# A run with this tag tests the event models' last N days only (its value, N).
TEST_WINDOW_TAG = "bcf/dbt_test_window_days"
# What this sensor's runs pass: the incremental models rewrite the new data plus
# event_lookback_days (3) days, so a week covers what a run writes even when the builds
# stopped for a few days; the daily schedule's runs test every row.
TEST_WINDOW_DAYS = 7


def loaded_something(metadata: Mapping[str, Any]) -> bool:
    """Whether an ingest materialization changed its table.

    The primary table of a source reports `rows_loaded`; the tables merged from the same
    batches report `files` (batches, stream batches included). A materialization with
    neither (a manual one, another producer) counts as a change.
    """

    def number(name: str) -> float | None:
        value = metadata.get(name)
        value = getattr(value, "value", value)
        return float(value) if isinstance(value, (int, float)) else None

    rows_loaded = number("rows_loaded")
    if rows_loaded is not None:
        return rows_loaded > 0
    files = number("files")
    if files is not None:
        return files > 0
    return True


def _new_materializations(
    instance: dg.DagsterInstance, keys: Iterable[dg.AssetKey], after: int
) -> tuple[dict[dg.AssetKey, int], int, int]:
    """(the keys changed with the storage id of their last change, newest storage id seen,
    materializations seen) after storage id `after`."""
    changed: dict[dg.AssetKey, int] = {}
    newest, seen = after, 0
    for key in keys:
        cursor = None
        while True:
            result = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=key, after_storage_id=after),
                limit=_PAGE,
                cursor=cursor,
                ascending=True,
            )
            for record in result.records:
                seen += 1
                newest = max(newest, record.storage_id)
                materialization = record.asset_materialization
                if materialization is not None and loaded_something(materialization.metadata):
                    changed[key] = record.storage_id
            if not result.has_more:
                break
            cursor = result.cursor
    return changed, newest, seen


def _not_built_since(
    instance: dg.DagsterInstance,
    graph: Any,
    changed: Mapping[dg.AssetKey, int],
    buildable: dg.AssetSelection,
) -> set[dg.AssetKey]:
    """What is downstream of the changed tables and was not materialized after their change:
    a run that built it since (the demo's, a manual one) already read the new rows."""
    changed_before: dict[dg.AssetKey, int] = {}
    for source, storage_id in changed.items():
        for key in (dg.AssetSelection.assets(source).downstream() & buildable).resolve(graph):
            changed_before[key] = max(changed_before.get(key, 0), storage_id)
    stale = set()
    for key, storage_id in changed_before.items():
        latest = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key), limit=1, ascending=False
        ).records
        if not latest or latest[0].storage_id < storage_id:
            stale.add(key)
    return stale


def dbt_after_ingest_sensor(
    job: UnresolvedAssetJobDefinition, source_keys: Sequence[dg.AssetKey], recent_days: int
) -> dg.SensorDefinition:
    """Requests a run of `job`'s assets downstream of the `source_keys` that changed, with the
    job's checks of those assets and of the sources they read; `recent_days`: the days of the
    event tables those checks validate."""

    @dg.sensor(
        name=SENSOR_NAME,
        job=job,
        minimum_interval_seconds=60,
        default_status=sensor_status(),
        description="After an ingest run that loaded rows, builds the dbt models downstream "
        "of the tables it changed (and the reports on them); waits while a dbt run is queued "
        "or in progress.",
    )
    def dbt_after_ingest(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        after = int(context.cursor or 0)
        in_flight = context.instance.get_run_records(
            dg.RunsFilter(tags={DBT_RUN_TAG: "true"}, statuses=IN_FLIGHT), limit=1
        )
        if in_flight:
            return dg.SkipReason(f"dbt run {in_flight[0].dagster_run.run_id} is in progress")
        changed, newest, seen = _new_materializations(context.instance, source_keys, after)
        if not seen:
            return dg.SkipReason("no ingest materializations since the last run")
        if not changed:
            return dg.SensorResult(
                skip_reason=dg.SkipReason(f"{seen} ingest materializations, none loaded rows"),
                cursor=str(newest),
            )
        if context.repository_def is None:
            raise dg.DagsterInvariantViolationError("the sensor needs its repository")
        graph = context.repository_def.asset_graph
        downstream = _not_built_since(context.instance, graph, changed, job.selection)
        if not downstream:
            return dg.SensorResult(
                skip_reason=dg.SkipReason(
                    "nothing downstream of the changed tables, or built since they changed"
                ),
                cursor=str(newest),
            )
        # Every source the run's models read, not only those that changed: a table a check
        # rejected in an earlier run must not feed this build either.
        read = (
            dg.AssetSelection.assets(*downstream).upstream()
            & dg.AssetSelection.assets(*source_keys)
        ).resolve(graph)
        checks = {
            key
            for key in job.selection.resolve_checks(graph)
            if key.asset_key in downstream or key.asset_key in read
        }
        changed_names = ", ".join(sorted(key.to_user_string() for key in changed))
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    run_key=f"ingest-up-to-{newest}",
                    asset_selection=sorted(downstream, key=lambda k: k.to_user_string()),
                    asset_check_keys=sorted(checks, key=lambda k: k.to_user_string()),
                    tags={
                        DBT_RUN_TAG: "true",
                        "bcf/changed": changed_names[:255],
                        TEST_WINDOW_TAG: str(TEST_WINDOW_DAYS),
                        RECENT_DAYS_TAG: str(recent_days),
                    },
                )
            ],
            cursor=str(newest),
        )

    return dbt_after_ingest
