"""What the CEO report reads: small aggregates of the marts, by month (the marts' own months:
their `month` columns, or `date_trunc` of their reporting days).

A mart that does not exist yet (dbt never built it) reads as no rows: the report says
"no data yet" for what it feeds instead of failing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import psycopg
from psycopg import IsolationLevel
from psycopg.rows import dict_row

KPIS = "SELECT * FROM marts.ceo_kpis_monthly ORDER BY month"

MOVEMENTS = """
SELECT * FROM marts.mrr_movements_monthly
WHERE month BETWEEN %(first)s AND %(last)s
ORDER BY month
"""

# Net revenue by type; rows without an FX rate (net_amount null) are counted, not summed.
REVENUE = """
SELECT date_trunc('month', day)::date AS month, revenue_type,
       sum(net_amount) AS net_amount,
       count(*) FILTER (WHERE net_amount IS NULL) AS unconverted_rows
FROM marts.revenue_daily
WHERE day >= %(first)s AND day < (%(last)s::date + interval '1 month')
GROUP BY 1, 2
ORDER BY 1, 2
"""

TRAFFIC = """
SELECT date_trunc('month', day)::date AS month, channel,
       sum(sessions) AS sessions, sum(leads) AS leads
FROM marts.web_traffic_daily
WHERE day >= %(first)s AND day < (%(last)s::date + interval '1 month')
GROUP BY 1, 2
ORDER BY 1, 2
"""

# Usage of the report month by the tenant's plan (limited resources, as the plan counts them:
# peak for stock resources, total for flows).
USAGE_BY_PLAN = """
SELECT plan_slug, resource_type, aggregation, unit,
       sum(used) AS used,
       avg(utilisation) AS avg_utilisation,
       count(DISTINCT tenant_id) AS tenants,
       count(*) FILTER (WHERE is_over_limit) AS over_limit
FROM marts.usage_plan_limits_monthly
WHERE month = %(last)s
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2
"""

# Without plan data: the report month's usage by resource type.
USAGE_BY_RESOURCE = """
SELECT resource_type, sum(usage_count) AS usage_count, sum(usage_value) AS usage_value,
       count(DISTINCT tenant_id) AS tenants
FROM marts.usage_platform_daily
WHERE day >= %(last)s AND day < (%(last)s::date + interval '1 month')
GROUP BY 1
ORDER BY 2 DESC
"""

# The latest value of each closed-month KPI that changed since it was first reported.
RESTATEMENTS = """
SELECT * FROM (
    SELECT DISTINCT ON (month, metric) month, metric, first_reported_value, new_value,
           restated_at, cause
    FROM marts.kpi_restatements
    WHERE month BETWEEN %(first)s AND %(last)s
    ORDER BY month, metric, restated_at DESC
) AS latest
WHERE new_value IS DISTINCT FROM first_reported_value
ORDER BY month DESC, metric
"""

MARTS = {
    "kpis": "ceo_kpis_monthly",
    "movements": "mrr_movements_monthly",
    "revenue": "revenue_daily",
    "traffic": "web_traffic_daily",
    "usage_by_plan": "usage_plan_limits_monthly",
    "usage_by_resource": "usage_platform_daily",
    "restatements": "kpi_restatements",
}
SQL = {
    "movements": MOVEMENTS,
    "revenue": REVENUE,
    "traffic": TRAFFIC,
    "usage_by_plan": USAGE_BY_PLAN,
    "usage_by_resource": USAGE_BY_RESOURCE,
    "restatements": RESTATEMENTS,
}


def mart_names() -> list[str]:
    return sorted(set(MARTS.values()))


@dataclass
class MartRows:
    kpis: list[dict[str, Any]] = field(default_factory=list)
    movements: list[dict[str, Any]] = field(default_factory=list)
    revenue: list[dict[str, Any]] = field(default_factory=list)
    traffic: list[dict[str, Any]] = field(default_factory=list)
    usage_by_plan: list[dict[str, Any]] = field(default_factory=list)
    usage_by_resource: list[dict[str, Any]] = field(default_factory=list)
    restatements: list[dict[str, Any]] = field(default_factory=list)
    missing_marts: list[str] = field(default_factory=list)


class MartReader:
    """One read-only snapshot of the marts for the whole report."""

    def __init__(self, conninfo: str) -> None:
        self._conn = psycopg.connect(conninfo, row_factory=dict_row)
        self._conn.isolation_level = IsolationLevel.REPEATABLE_READ
        self._conn.read_only = True
        self._existing: set[str] | None = None

    def __enter__(self) -> MartReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self._conn.close()

    def exists(self, mart: str) -> bool:
        if self._existing is None:
            rows = self._conn.execute(
                "SELECT c.relname AS name FROM pg_class AS c "
                "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'marts' AND c.relkind IN ('r', 'p', 'v', 'm')"
            ).fetchall()
            self._existing = {row["name"] for row in rows}
        return mart in self._existing

    def fetch(self, name: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        if not self.exists(MARTS[name]):
            return []
        sql = KPIS if name == "kpis" else SQL[name]
        return list(self._conn.execute(sql, params or {}).fetchall())

    def missing(self, names: Sequence[str]) -> list[str]:
        return sorted({MARTS[n] for n in names if not self.exists(MARTS[n])})


def read_marts(reader: MartReader, kpis: list[dict[str, Any]], first: date, last: date) -> MartRows:
    """Every input of the charts for the months [first, last] (the KPIs already read)."""
    params = {"first": first, "last": last}
    return MartRows(
        kpis=kpis,
        movements=reader.fetch("movements", params),
        revenue=reader.fetch("revenue", params),
        traffic=reader.fetch("traffic", params),
        usage_by_plan=reader.fetch("usage_by_plan", params),
        usage_by_resource=reader.fetch("usage_by_resource", params),
        restatements=reader.fetch("restatements", params),
        missing_marts=reader.missing(list(MARTS)),
    )
