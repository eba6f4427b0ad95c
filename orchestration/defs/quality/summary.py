"""A summary of a run's asset-check results: what passed, what failed and how badly, what
the failures stopped. For the demo's summary and for people reading a run's outcome.

    summarize(result_or_events) -> CheckSummary

accepts a `dg.ExecuteInProcessResult` or a run's events (`EventLogRecord`s, as from
`instance.get_records_for_run(run_id).records`, `EventLogEntry`s or `DagsterEvent`s).
Every check of the run counts, the dbt tests' included.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
from dagster._core.events import DagsterEvent, DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.base import EventLogRecord


@dataclass(frozen=True)
class CheckOutcome:
    asset: str  # "public/financial_transactions"
    check: str
    passed: bool
    severity: str  # "ERROR" or "WARN"
    blocking: bool
    description: str | None

    @property
    def name(self) -> str:
        return f"{self.asset}:{self.check}"


@dataclass
class CheckSummary:
    checks: list[CheckOutcome] = field(default_factory=list)
    # Assets the run planned to materialize and did not: what a failure (a failed blocking
    # check, a failed step) stopped.
    not_materialized: list[str] = field(default_factory=list)

    @property
    def passed(self) -> list[CheckOutcome]:
        return [c for c in self.checks if c.passed]

    @property
    def failed(self) -> list[CheckOutcome]:
        return [c for c in self.checks if not c.passed]

    @property
    def failed_error(self) -> list[CheckOutcome]:
        return [c for c in self.failed if c.severity == "ERROR"]

    @property
    def failed_warn(self) -> list[CheckOutcome]:
        return [c for c in self.failed if c.severity != "ERROR"]

    @property
    def failed_blocking(self) -> list[CheckOutcome]:
        return [c for c in self.failed_error if c.blocking]

    def counts(self) -> dict[str, int]:
        return {
            "checks": len(self.checks),
            "passed": len(self.passed),
            "failed_error": len(self.failed_error),
            "failed_warn": len(self.failed_warn),
            "failed_blocking": len(self.failed_blocking),
            "not_materialized": len(self.not_materialized),
        }

    def text(self, *, limit: int = 20) -> str:
        """A few lines for a terminal: the counts, then each failure with its reason."""
        c = self.counts()
        lines = [
            f"checks: {c['checks']} run, {c['passed']} passed, {c['failed_error']} failed "
            f"with ERROR ({c['failed_blocking']} blocking), {c['failed_warn']} failed with WARN"
        ]
        for outcome in sorted(self.failed, key=lambda o: (o.severity != "ERROR", o.name))[:limit]:
            flag = "BLOCKING " if outcome.blocking and outcome.severity == "ERROR" else ""
            reason = f": {outcome.description}" if outcome.description else ""
            lines.append(f"  {flag}{outcome.severity} {outcome.name}{reason}")
        if len(self.failed) > limit:
            lines.append(f"  ... and {len(self.failed) - limit} more")
        if self.not_materialized:
            lines.append(f"not materialized: {', '.join(self.not_materialized)}")
        return "\n".join(lines)


def _outcome(evaluation: Any) -> CheckOutcome:
    severity = getattr(evaluation.severity, "value", str(evaluation.severity))
    return CheckOutcome(
        asset=evaluation.asset_key.to_user_string(),
        check=evaluation.check_name,
        passed=bool(evaluation.passed),
        severity=str(severity),
        blocking=bool(getattr(evaluation, "blocking", False)),
        description=evaluation.description or _failed_rows(evaluation),
    )


def _failed_rows(evaluation: Any) -> str | None:
    """dbt tests say nothing but how many rows failed."""
    failed = evaluation.metadata.get("dagster_dbt/failed_row_count")
    return f"{failed.value} failing rows" if failed is not None and not evaluation.passed else None


def _dagster_events(
    events: Iterable[EventLogRecord | EventLogEntry | DagsterEvent],
) -> Iterable[DagsterEvent]:
    for event in events:
        if isinstance(event, EventLogRecord):
            event = event.event_log_entry
        if isinstance(event, EventLogEntry):
            if event.dagster_event is None:
                continue
            event = event.dagster_event
        yield event


def summarize(
    source: dg.ExecuteInProcessResult | Iterable[EventLogRecord | EventLogEntry | DagsterEvent],
) -> CheckSummary:
    summary = CheckSummary()
    planned: set[str] = set()
    if isinstance(source, dg.ExecuteInProcessResult):
        # In-process runs record no "planned" events: the job's selection is the plan.
        events: Iterable[Any] = source.all_events
        planned = {k.to_user_string() for k in source.job_def.asset_layer.selected_asset_keys}
    else:
        events = source
    materialized: set[str] = set()
    for event in _dagster_events(events):
        if event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
            summary.checks.append(_outcome(event.asset_check_evaluation_data))
        elif event.asset_key is not None and event.event_type in (
            DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
            DagsterEventType.ASSET_MATERIALIZATION,
        ):
            target = (
                planned
                if event.event_type == DagsterEventType.ASSET_MATERIALIZATION_PLANNED
                else materialized
            )
            target.add(event.asset_key.to_user_string())
    summary.not_materialized = sorted(planned - materialized)
    return summary
