"""`bcf metrics list|query`: the metrics of dbt_project/models/semantic/, queried with
MetricFlow (bcf/metric_engine.py)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from bcf.cli import _database_url, _settings, console, one_line_errors
from bcf.metric_engine import metric_engine, metric_units

if TYPE_CHECKING:
    from metricflow.engine.metricflow_engine import MetricFlowEngine

    from orchestration.defs.ceo_report.build import NumberFormat

app = typer.Typer(
    help="The metrics defined once in dbt (MRR, churn, NRR, revenue, ...): list and query them.",
    no_args_is_help=True,
)

TIME_GRAINS = ("day", "week", "month", "quarter", "year")


@dataclass(frozen=True)
class GroupBy:
    label: str  # as the user wrote it, the column header
    qualified: str  # MetricFlow's name: metric_time__month, tenant__tenant_type


def resolve_group_by(
    engine: MetricFlowEngine, metrics: Sequence[str], names: Sequence[str]
) -> list[GroupBy]:
    """`month` (or another time grain) and dimension names as MetricFlow names them."""
    from metricflow_semantic_interfaces.type_enums.dimension_type import DimensionType

    available = {
        dimension.name: dimension.dunder_name
        for dimension in engine.simple_dimensions_for_metrics(list(metrics))
        if dimension.type is not DimensionType.TIME  # time goes by metric_time's grains
    }
    resolved = []
    for name in names:
        if name in TIME_GRAINS:
            resolved.append(GroupBy(name, f"metric_time__{name}"))
        elif name in available:
            resolved.append(GroupBy(name, available[name]))
        else:
            choices = ", ".join([*TIME_GRAINS, *sorted(available)])
            raise ValueError(
                f"{name!r} is not a dimension of {', '.join(metrics)}; choose from {choices}"
            )
    return resolved


def month_end(text: str | None, time_zone: str) -> datetime:
    """The last day of a month `YYYY-MM`, or of the as-of month (BCF_DBT_AS_OF, as dbt's "now")."""
    if text:
        try:
            first = datetime.strptime(text, "%Y-%m")
        except ValueError:
            raise ValueError(f"{text!r} is not a month like 2025-04") from None
    else:
        as_of = os.environ.get("BCF_DBT_AS_OF")
        now = datetime.fromisoformat(as_of) if as_of else datetime.now(ZoneInfo("UTC"))
        first = now.astimezone(ZoneInfo(time_zone)).replace(tzinfo=None, day=1)
    following = (first.replace(day=1) + timedelta(days=32)).replace(day=1)
    return datetime.combine(following.date() - timedelta(days=1), datetime.min.time())


def month_start(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m")
    except ValueError:
        raise ValueError(f"{text!r} is not a month like 2025-04") from None


def format_value(value: Any, unit: str, fmt: NumberFormat) -> str:
    if unit == "rate":
        return fmt.percent(value, 2)
    if unit == "count":
        return fmt.count(value)
    return fmt.money(value)


def format_key(value: Any, grain: str | None) -> str:
    """A group's value: a period as its grain names it (2025-04, 2025-Q2, 2025), else as is."""
    if isinstance(value, datetime | date):
        if grain == "year":
            return f"{value:%Y}"
        if grain == "quarter":
            return f"{value:%Y}-Q{(value.month - 1) // 3 + 1}"
        return f"{value:%Y-%m}" if grain == "month" else f"{value:%Y-%m-%d}"
    return "—" if value is None else str(value)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


@app.command("list")
@one_line_errors
def list_metrics() -> None:
    """Every metric: its unit and definition, and the dimensions it can be grouped by."""
    from metricflow_semantic_interfaces.type_enums.dimension_type import DimensionType

    settings = _settings()
    engine = metric_engine(settings, _database_url(settings))
    table = Table("metric", "unit", "definition", title="Metrics (models/semantic/_metrics.yml)")
    units = metric_units(engine)
    for metric in engine.list_metrics(include_dimensions=False):
        table.add_row(metric.name, units[metric.name], metric.description or "")
    console.print(table)
    dimensions = sorted(
        {d.name for d in engine.list_dimensions() if d.type is not DimensionType.TIME}
    )
    console.print(f"group by: {', '.join(TIME_GRAINS)}; and where a metric has it: "
                  f"{', '.join(dimensions)}")  # fmt: skip
    console.print("e.g. bcf metrics query --metrics mrr,nrr_12m --group-by month,tenant_type")


Metrics = Annotated[str, typer.Option(help="Comma-separated metric names (bcf metrics list).")]
GroupByOption = Annotated[
    str, typer.Option(help="Comma-separated: a time grain (month, ...) and dimensions.")
]
Since = Annotated[str | None, typer.Option(help="First month, YYYY-MM.")]
Until = Annotated[str | None, typer.Option(help="Last month, YYYY-MM (default: this month).")]


@app.command("query")
@one_line_errors
def query(
    metrics: Metrics, group_by: GroupByOption = "month", since: Since = None, until: Until = None
) -> None:
    """The metrics' values, one row per group (e.g. per month and tenant type)."""
    from metricflow.engine.metricflow_engine import MetricFlowQueryRequest
    from psycopg.errors import UndefinedTable

    from orchestration.defs.ceo_report.build import number_format

    settings = _settings()
    names = _split(metrics)
    if not names:
        raise ValueError("--metrics names no metric; `bcf metrics list` shows them")
    engine = metric_engine(settings, _database_url(settings))
    units = metric_units(engine)
    unknown = [name for name in names if name not in units]
    if unknown:
        raise ValueError(
            f"unknown metric {', '.join(unknown)}; `bcf metrics list` shows the metrics"
        )
    groups = resolve_group_by(engine, names, _split(group_by))
    request = MetricFlowQueryRequest.create(
        metric_names=names,
        group_by_names=[group.qualified for group in groups],
        time_constraint_start=month_start(since),
        time_constraint_end=month_end(until, settings.reporting_tz),
        order_by_names=[group.qualified for group in groups],
    )
    try:
        result = engine.query(request)
    except UndefinedTable as error:
        missing = error.diag.message_primary
        raise ValueError(f"{missing}: the models are not built yet (bcf dbt build)") from None
    data = result.result_df
    assert data is not None  # no output table was asked for
    fmt = number_format(settings.reporting_currency)
    grain = next((g.label for g in groups if g.label in TIME_GRAINS), None)
    table = Table(*(group.label for group in groups), *names)
    for column in table.columns[len(groups) :]:
        column.justify = "right"
    index = {name: position for position, name in enumerate(data.column_names)}
    for row in data.rows:
        table.add_row(
            *(format_key(row[index[group.qualified]], grain) for group in groups),
            *(format_value(row[index[name]], units[name], fmt) for name in names),
        )
    console.print(table)
