"""The demo's pipeline runs and summary: every asset and check of the code location, then the
numbers a CEO asks for first, read back from the marts.

`bcf demo` (bcf/cli.py) starts the services, migrates and generates the data; this
module materializes through Dagster, in runs recorded in the instance `bcf ui` shows: the
ingest assets, then everything built from them (skipped when nothing was loaded and the last
build is of today, of the same code and settings). The Dagster definitions read their
settings from the environment when they are imported, so they are imported late.
"""

from __future__ import annotations

import json
import threading
import uuid
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import dagster as dg
import psycopg
from dagster._core.events import DagsterEventType

from core.db.engine import libpq_url
from core.fingerprint import fingerprint
from core.settings import Settings
from orchestration.defs.ceo_report.build import number_format
from orchestration.defs.quality.summary import CheckOutcome, summarize

# Dagster's console logger prints every event at DEBUG; the demo shows its own progress.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
DEMO_TAG = "bcf/demo"
ATTEMPT_TAG = "bcf/demo_attempt"  # finds the run while it runs, before its id is known
PARTITION_TAG = "dagster/partition"
POLL_SECONDS = 1.0


@dataclass(frozen=True)
class RunProgress:
    assets_done: int
    assets_total: int
    checks_done: int
    checks_total: int


@dataclass
class PipelineRun:
    """What one run of every asset did."""

    run_id: str
    success: bool
    assets_total: int
    materialized: set[str] = field(default_factory=set)
    checks: list[CheckOutcome] = field(default_factory=list)
    failed_steps: list[str] = field(default_factory=list)
    asset_paths: dict[str, str] = field(default_factory=dict)  # asset -> file it wrote
    loaded_anything: bool = False  # a materialization changed its table (the sensor's rule)
    steps_by_worker: dict[str, int] = field(default_factory=dict)  # Celery runs only

    @property
    def not_materialized(self) -> int:
        return self.assets_total - len(self.materialized)

    @property
    def checks_passed(self) -> int:
        return sum(check.passed for check in self.checks)

    @property
    def checks_failed(self) -> list[CheckOutcome]:
        return [check for check in self.checks if not check.passed]


def merged(runs: list[PipelineRun], assets_total: int) -> PipelineRun:
    """The demo's runs (ingest, then build or the build it reused) as one account."""
    whole = PipelineRun(
        ", ".join(r.run_id for r in runs), all(r.success for r in runs), assets_total
    )
    for run in runs:
        whole.materialized |= run.materialized
        whole.checks += run.checks
        whole.failed_steps += run.failed_steps
        whole.asset_paths |= run.asset_paths
        whole.loaded_anything |= run.loaded_anything
        for worker, steps in run.steps_by_worker.items():
            whole.steps_by_worker[worker] = whole.steps_by_worker.get(worker, 0) + steps
    return whole


def _watch(
    instance: dg.DagsterInstance,
    attempt: str,
    totals: tuple[int, int],
    on_progress: Callable[[RunProgress], None],
    done: threading.Event,
) -> None:
    """Report materializations and check evaluations as the run (tagged `attempt`) records
    them."""
    materialized: set[dg.AssetKey] = set()
    evaluated = 0
    cursor: str | None = None
    run_id: str | None = None
    while True:
        finished = done.wait(POLL_SECONDS)
        if run_id is None:
            found = instance.get_run_ids(dg.RunsFilter(tags={ATTEMPT_TAG: attempt}), limit=1)
            run_id = found[0] if found else None
        while run_id is not None:
            batch = instance.get_records_for_run(
                run_id,
                cursor=cursor,
                of_type={
                    DagsterEventType.ASSET_MATERIALIZATION,
                    DagsterEventType.ASSET_CHECK_EVALUATION,
                },
                limit=1000,
            )
            cursor = batch.cursor
            for record in batch.records:
                event = record.event_log_entry.dagster_event
                if event is None:
                    continue
                if event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
                    materialized.add(event.asset_key)  # type: ignore[arg-type]
                else:
                    evaluated += 1
            if not batch.has_more:
                break
        on_progress(RunProgress(len(materialized), totals[0], evaluated, totals[1]))
        if finished:
            return


INGESTION_GROUP = "ingestion"
CELERY_WORKER_METADATA = "Celery worker"  # dagster-celery's name for it
STATE_FILE = "last_build.json"
ROOT = Path(__file__).resolve().parents[1]
# What the marts, reports and exports are built from, besides the loaded data.
BUILD_INPUTS = ("dbt_project/models", "dbt_project/macros", "dbt_project/tests", "orchestration")
BUILD_SETTINGS = ("reporting_tz", "reporting_currency", "pseudonymisation_key")


def run_selection(
    instance: dg.DagsterInstance,
    keys: list[dg.AssetKey],
    on_progress: Callable[[RunProgress], None],
    on_workers: bool = False,
) -> PipelineRun:
    """These assets of the code location and their checks, in one run: in process, or on the
    Celery workers (`bcf workers`)."""
    from orchestration.definitions import defs

    job = defs.resolve_implicit_global_asset_job_def()
    selected = set(keys)
    # A partitioned asset (the monthly CEO report archive) builds its latest partition.
    partitions = [job.asset_layer.asset_graph.get(key).partitions_def for key in keys]
    partition_keys = {
        last
        for definition in partitions
        if definition is not None and (last := definition.get_last_partition_key()) is not None
    }
    checks = [
        key for key in job.asset_layer.asset_graph.asset_check_keys if key.asset_key in selected
    ]
    attempt = str(uuid.uuid4())
    tags = {DEMO_TAG: "true", ATTEMPT_TAG: attempt}
    partition_key = max(partition_keys) if partition_keys else None
    done = threading.Event()
    watcher = threading.Thread(
        target=_watch,
        args=(instance, attempt, (len(keys), len(checks)), on_progress, done),
        daemon=True,
    )
    watcher.start()
    try:
        if on_workers:
            from orchestration.celery_definitions import celery_asset_job

            partition = {PARTITION_TAG: partition_key} if partition_key else {}
            with warnings.catch_warnings():
                # dagster-celery declares its step task again for every step it sends.
                warnings.filterwarnings("ignore", message="Task name 'execute_plan' is already")
                result: dg.ExecuteInProcessResult | dg.ExecuteJobResult = dg.execute_job(
                    celery_asset_job(),
                    instance,
                    run_config=QUIET_RUN_CONFIG,
                    tags={**tags, **partition},
                    asset_selection=keys,
                )
        else:
            result = job.execute_in_process(
                run_config=QUIET_RUN_CONFIG,
                instance=instance,
                asset_selection=keys,
                partition_key=partition_key,
                raise_on_error=False,
                tags=tags,
            )
    finally:
        done.set()
        watcher.join()
    return _outcome(instance, result.run_id, result.success, len(keys))


def split_for_demo() -> tuple[list[dg.AssetKey], list[dg.AssetKey]]:
    """(the ingest assets, everything built from them): the demo's two runs."""
    from orchestration.definitions import defs

    job = defs.resolve_implicit_global_asset_job_def()
    graph = job.asset_layer.asset_graph
    keys = sorted(job.asset_layer.executable_asset_keys, key=lambda key: key.to_user_string())
    ingest = [key for key in keys if graph.get(key).group_name == INGESTION_GROUP]
    return ingest, [key for key in keys if key not in set(ingest)]


def build_fingerprint(root: Path, settings: Settings) -> str:
    """Changes when the code or settings the marts, reports and exports come from change."""
    inputs = [
        path
        for folder in BUILD_INPUTS
        for path in sorted((root / folder).rglob("*"))
        if path.is_file() and path.suffix in {".sql", ".yml", ".py", ".j2"}
    ]
    return fingerprint(root, inputs, {name: getattr(settings, name) for name in BUILD_SETTINGS})


@dataclass(frozen=True)
class LastBuild:
    """The last build run that succeeded: what it was built from, and on which day."""

    run_id: str
    fingerprint: str
    day: str

    @classmethod
    def read(cls, folder: Path) -> LastBuild | None:
        try:
            return cls(**json.loads((folder / STATE_FILE).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None

    def write(self, folder: Path) -> None:
        (folder / STATE_FILE).write_text(json.dumps(asdict(self)), encoding="utf-8")


def earlier_run(instance: dg.DagsterInstance, run_id: str) -> PipelineRun | None:
    """A run of the instance as the demo reports it; None when it is gone."""
    record = instance.get_run_record_by_id(run_id)
    if record is None:
        return None
    total = len(record.dagster_run.asset_selection or ())
    return _outcome(
        instance, run_id, record.dagster_run.status == dg.DagsterRunStatus.SUCCESS, total
    )


def rebuilt_since(instance: dg.DagsterInstance, keys: list[dg.AssetKey], run_id: str) -> str | None:
    """The id of a later run that materialized one of `keys` after run `run_id` ended (a
    build from the UI, a sensor's): the marts then hold that run's work, not run_id's."""
    record = instance.get_run_record_by_id(run_id)
    ended = record.end_time if record is not None else None
    if ended is None:
        return None
    for event in instance.get_latest_materialization_events(keys).values():
        if event is not None and event.run_id != run_id and event.timestamp > ended:
            return event.run_id
    return None


# What a run's account is made of, read in one pass over its event log.
OUTCOME_EVENTS = {
    DagsterEventType.ASSET_MATERIALIZATION,
    DagsterEventType.ASSET_CHECK_EVALUATION,
    DagsterEventType.STEP_FAILURE,
}


def _outcome(
    instance: dg.DagsterInstance, run_id: str, success: bool, assets_total: int
) -> PipelineRun:
    from orchestration.defs.dbt.sensors import loaded_something

    run = PipelineRun(run_id, success, assets_total)
    records = instance.get_records_for_run(run_id, of_type=OUTCOME_EVENTS).records
    failed_steps: set[str] = set()
    for record in records:
        entry = record.event_log_entry
        if entry.dagster_event_type == DagsterEventType.STEP_FAILURE and entry.step_key:
            failed_steps.add(entry.step_key)
        elif (materialization := record.asset_materialization) is not None:
            name = materialization.asset_key.to_user_string()
            run.materialized.add(name)
            for label in ("path", "duckdb_path"):
                value = materialization.metadata.get(label)
                if value is not None:
                    run.asset_paths[name] = str(value.value)
            run.loaded_anything |= loaded_something(materialization.metadata)
    run.checks = summarize(records).checks  # it picks the check evaluations, in run order
    run.failed_steps = sorted(failed_steps)
    run.steps_by_worker = steps_by_worker(instance, run_id)
    return run


def steps_by_worker(instance: dg.DagsterInstance, run_id: str) -> dict[str, int]:
    """How many steps each Celery worker ran (dagster-celery logs the worker of each step)."""
    counts: dict[str, int] = {}
    engine = instance.get_records_for_run(run_id, of_type=DagsterEventType.ENGINE_EVENT).records
    for record in engine:
        event = record.event_log_entry.dagster_event
        if event is None or event.engine_event_data is None:
            continue
        worker = event.engine_event_data.metadata.get(CELERY_WORKER_METADATA)
        if worker is not None:
            name = str(worker.value).split("@")[0]
            counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))


@dataclass(frozen=True)
class MonthKpis:
    month: date
    mrr: Decimal
    arr: Decimal
    active_customers: int
    customer_churn_rate: Decimal | None
    net_mrr_churn_rate: Decimal | None
    nrr_12m: Decimal | None
    net_revenue: Decimal


@dataclass(frozen=True)
class MonthMovements:
    month: date
    starting_mrr: Decimal
    new_mrr: Decimal
    expansion_mrr: Decimal
    reactivation_mrr: Decimal
    contraction_mrr: Decimal
    churned_mrr: Decimal
    ending_mrr: Decimal


@dataclass(frozen=True)
class ChannelTraffic:
    channel: str
    visitors: int
    sessions: int
    leads: int


@dataclass(frozen=True)
class MartSummary:
    """The headline numbers, as the marts have them."""

    current: MonthKpis | None  # the month in progress
    last_full: MonthKpis | None  # the month before it
    movements: list[MonthMovements]  # oldest first
    channels: list[ChannelTraffic]  # most sessions first
    channel_days: int


def read_summary(
    url: str, movement_months: int = 6, channel_days: int = 30, top_channels: int = 5
) -> MartSummary:
    """MRR, ARR, churn, NRR and net revenue of the last two months, the MRR movements of the
    last months and the top channels of the last days of traffic."""
    with psycopg.connect(libpq_url(url)) as conn:
        kpis = [
            MonthKpis(*row)
            for row in conn.execute(
                """
                SELECT month, mrr, arr, active_customers, customer_churn_rate,
                       net_mrr_churn_rate, nrr_12m, net_revenue
                FROM marts.ceo_kpis_monthly ORDER BY month DESC LIMIT 2
                """
            ).fetchall()
        ]
        movements = [
            MonthMovements(*row)
            for row in conn.execute(
                """
                SELECT month, starting_mrr, new_mrr, expansion_mrr, reactivation_mrr,
                       contraction_mrr, churned_mrr, ending_mrr
                FROM marts.mrr_movements_monthly ORDER BY month DESC LIMIT %s
                """,
                (movement_months,),
            ).fetchall()
        ]
        channels = [
            ChannelTraffic(*row)
            for row in conn.execute(
                """
                SELECT channel, sum(visitors)::int, sum(sessions)::int, sum(leads)::int
                FROM marts.web_traffic_daily
                WHERE day > (SELECT max(day) FROM marts.web_traffic_daily) - %s
                GROUP BY channel ORDER BY sum(sessions) DESC, channel LIMIT %s
                """,
                (channel_days, top_channels),
            ).fetchall()
        ]
    return MartSummary(
        current=kpis[0] if kpis else None,
        last_full=kpis[1] if len(kpis) > 1 else None,
        movements=movements[::-1],
        channels=channels,
        channel_days=channel_days,
    )


def summary_markdown(
    run: PipelineRun, marts: MartSummary, currency: str, outputs: dict[str, Path]
) -> str:
    """The summary as a Markdown document, the same numbers as the terminal shows."""
    lines = ["# BotCriptoFy2 Analytics: demo summary", ""]
    lines += [
        f"Dagster runs `{run.run_id}`: {'succeeded' if run.success else 'FAILED'}; "
        f"{len(run.materialized)} of {run.assets_total} assets materialized; "
        f"checks {run.checks_passed} passed, {len(run.checks_failed)} failed.",
        "",
        "## KPIs",
        "",
        "| | " + " | ".join(kpi_header(marts)) + " |",
        "|---|" + "---:|" * len(kpi_header(marts)),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in kpi_rows(marts, currency)]
    lines += ["", f"## MRR movements ({currency})", ""]
    lines += ["| | " + " | ".join(movement_header(marts)) + " |"]
    lines += ["|---|" + "---:|" * len(marts.movements)]
    lines += ["| " + " | ".join(row) + " |" for row in movement_rows(marts, currency)]
    if marts.current:
        lines += ["", "\\* the current month, so far."]
    lines += ["", f"## Top channels, last {marts.channel_days} days of traffic", ""]
    lines += ["| channel | visitors | sessions | leads |", "|---|---:|---:|---:|"]
    lines += ["| " + " | ".join(row) + " |" for row in channel_rows(marts, currency)]
    if run.checks_failed:
        lines += ["", "## Failed checks", ""]
        lines += [
            f"- `{c.asset}` {c.check} ({c.severity}): {c.description or ''}"
            for c in run.checks_failed
        ]
    if run.steps_by_worker:
        lines += ["", "## Steps per worker", ""]
        lines += [f"- {worker}: {steps}" for worker, steps in run.steps_by_worker.items()]
    lines += ["", "## Files", ""]
    lines += [f"- {label}: `{path}`" for label, path in outputs.items()]
    return "\n".join(lines) + "\n"


MOVEMENTS = (
    ("starting", "starting_mrr"), ("+ new", "new_mrr"), ("+ expansion", "expansion_mrr"),
    ("+ reactivation", "reactivation_mrr"), ("- contraction", "contraction_mrr"),
    ("- churned", "churned_mrr"), ("= ending", "ending_mrr"),
)  # fmt: skip


def kpi_header(marts: MartSummary) -> list[str]:
    """The KPI columns: the last full month, then the current one, marked as partial."""
    return [
        f"{kpis.month:%Y-%m}{' (so far)' if kpis is marts.current else ''}"
        for kpis in (marts.last_full, marts.current)
        if kpis is not None
    ]


def kpi_rows(marts: MartSummary, currency: str) -> list[list[str]]:
    """Money as the CEO report writes it (`R$ 8.611,96` for BRL)."""
    fmt = number_format(currency)
    months = [kpis for kpis in (marts.last_full, marts.current) if kpis is not None]
    return [
        ["MRR", *(fmt.money(k.mrr) for k in months)],
        ["ARR", *(fmt.money(k.arr) for k in months)],
        ["active customers", *(fmt.count(k.active_customers) for k in months)],
        ["customer churn", *(fmt.percent(k.customer_churn_rate) for k in months)],
        ["net MRR churn", *(fmt.percent(k.net_mrr_churn_rate) for k in months)],
        ["NRR (12 months)", *(fmt.percent(k.nrr_12m) for k in months)],
        ["net revenue", *(fmt.money(k.net_revenue) for k in months)],
    ]


def movement_header(marts: MartSummary) -> list[str]:
    """The months of the movements, oldest first, the current one marked as partial."""
    current = marts.current.month if marts.current else None
    return [f"{m.month:%Y-%m}{'*' if m.month == current else ''}" for m in marts.movements]


def movement_rows(marts: MartSummary, currency: str, places: int = 2) -> list[list[str]]:
    """One row per movement, one column per month: a waterfall read downwards."""
    fmt = number_format(currency)
    return [
        [label, *(fmt.number(getattr(m, field), places) for m in marts.movements)]
        for label, field in MOVEMENTS
    ]


def channel_rows(marts: MartSummary, currency: str) -> list[list[str]]:
    fmt = number_format(currency)
    return [
        [c.channel, fmt.count(c.visitors), fmt.count(c.sessions), fmt.count(c.leads)]
        for c in marts.channels
    ]
