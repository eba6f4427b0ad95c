"""Source freshness: the dbt sources' own rule (`loaded_at_field`, `warn_after`, `error_after`
in `dbt_project/models/**/_*__sources.yml`), evaluated in SQL.

The thresholds are read from the dbt manifest, so the YAML stays the one place they live and
`dbt source freshness` keeps working from the command line; evaluating them here costs one
`max()` per source on an indexed column instead of a dbt process, and honours the pipeline's
as-of instant (tests, backfills) where dbt always uses the database's clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Engine, text

from ingestion.quality.gx_run import now_sql

_PERIODS = {"minute": "minutes", "hour": "hours", "day": "days"}


@dataclass(frozen=True)
class SourceFreshness:
    schema: str
    table: str
    loaded_at_field: str
    warn_after: timedelta | None
    error_after: timedelta | None

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def asset_key_path(self) -> list[str]:
        return [self.schema, self.table]


@dataclass(frozen=True)
class FreshnessResult:
    table: str
    status: str  # pass, warn, error
    newest: datetime | None
    age: timedelta | None
    message: str


def _threshold(rule: Mapping[str, Any] | None) -> timedelta | None:
    if not rule or rule.get("count") is None or rule.get("period") is None:
        return None
    return timedelta(**{_PERIODS[rule["period"]]: int(rule["count"])})


def sources_with_freshness(manifest: Mapping[str, Any]) -> list[SourceFreshness]:
    """The manifest's sources that declare a loaded_at_field and a threshold."""
    found = []
    for source in manifest.get("sources", {}).values():
        config = source.get("config") or {}
        freshness = config.get("freshness") or source.get("freshness") or {}
        field = config.get("loaded_at_field") or source.get("loaded_at_field")
        warn, error = (
            _threshold(freshness.get("warn_after")),
            _threshold(freshness.get("error_after")),
        )
        if not field or (warn is None and error is None):
            continue
        key = (config.get("meta") or {}).get("dagster", {}).get("asset_key") or [
            source["schema"],
            source.get("identifier") or source["name"],
        ]
        found.append(SourceFreshness(key[0], key[1], field, warn, error))
    return sorted(found, key=lambda s: s.qualified)


def check_freshness(
    engine: Engine, source: SourceFreshness, *, as_of: datetime | None = None
) -> FreshnessResult:
    now = now_sql(as_of)
    column = f'"{source.loaded_at_field}"'
    with engine.connect() as conn:
        row = conn.execute(
            text(
                f'SELECT max({column}), {now} FROM "{source.schema}"."{source.table}" '
                f"WHERE {column} <= {now}"
            )
        ).one()
    newest, current = cast(tuple[datetime | None, datetime], tuple(row))
    if newest is None:
        return FreshnessResult(source.qualified, "error", None, None, "no rows at all")
    age = current - newest
    status = "pass"
    if source.error_after is not None and age > source.error_after:
        status = "error"
    elif source.warn_after is not None and age > source.warn_after:
        status = "warn"
    limits = ", ".join(
        f"{label} after {_age(value)}"
        for label, value in (("warn", source.warn_after), ("error", source.error_after))
        if value is not None
    )
    message = f"newest {source.loaded_at_field} {newest.isoformat()} is {_age(age)} old ({limits})"
    return FreshnessResult(source.qualified, status, newest, age, message)


def _age(age: timedelta) -> str:
    hours = age.total_seconds() / 3600
    return f"{hours / 24:.3g} days" if hours >= 24 else f"{hours:.3g} hours"
