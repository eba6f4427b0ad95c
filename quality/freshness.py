"""Source freshness: the dbt sources' own rule (`loaded_at_query` or `loaded_at_field`,
`warn_after`, `error_after` in `dbt_project/models/**/_*__sources.yml`), evaluated in SQL.

The ingested sources measure **arrival**: their `loaded_at_query` reads when the ingest ledger
(`raw.ingest_batches`) last completed a batch of the source. Event time would call a feed
stale on a quiet weekend, and fresh while its files stopped arriving as long as the last ones
held recent events; a late file of old events is news that the feed is alive.

The rules are read from the dbt manifest, so the YAML stays the one place they live and
`dbt source freshness` keeps working from the command line with the same measure; evaluating
them here costs one small query per source instead of a dbt process, and honours the
pipeline's as-of instant (tests, backfills) where dbt always uses the database's clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Engine, text

from quality.gx_run import now_sql

_PERIODS = {"minute": "minutes", "hour": "hours", "day": "days"}


@dataclass(frozen=True)
class SourceFreshness:
    schema: str
    table: str
    loaded_at_field: str | None
    loaded_at_query: str | None
    warn_after: timedelta | None
    error_after: timedelta | None

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def measure(self) -> str:
        """What "newest" means, for messages: the arrival query, or the column."""
        return "arrival" if self.loaded_at_query else f"{self.loaded_at_field}"

    def newest_sql(self, now: str) -> str:
        """A query of one value: the newest instant (not after `now`) by this rule."""
        if self.loaded_at_query:
            # Arrival is a time the pipeline wrote: later than `now` only when `now` is an
            # as-of instant in the past, which then simply finds the data fresh.
            return (
                f"SELECT CASE WHEN newest > {now} THEN {now} ELSE newest END, {now} "
                f"FROM ({self.loaded_at_query}) AS arrival (newest)"
            )
        column = f'"{self.loaded_at_field}"'
        return (
            f'SELECT max({column}), {now} FROM "{self.schema}"."{self.table}" '
            f"WHERE {column} <= {now}"
        )

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
    """The manifest's sources that declare a loaded_at_query or field, and a threshold."""
    found = []
    for source in manifest.get("sources", {}).values():
        config = source.get("config") or {}
        freshness = config.get("freshness") or source.get("freshness") or {}
        field = config.get("loaded_at_field") or source.get("loaded_at_field")
        query = config.get("loaded_at_query") or source.get("loaded_at_query")
        warn, error = (
            _threshold(freshness.get("warn_after")),
            _threshold(freshness.get("error_after")),
        )
        if not (field or query) or (warn is None and error is None):
            continue
        if query and "{" in query:
            raise ValueError(
                f"loaded_at_query of {source['unique_id']} uses Jinja: write it as plain SQL, "
                "the quality checks run it as it stands"
            )
        key = (config.get("meta") or {}).get("dagster", {}).get("asset_key") or [
            source["schema"],
            source.get("identifier") or source["name"],
        ]
        query = " ".join(query.split()) if query else None
        found.append(SourceFreshness(key[0], key[1], field, query, warn, error))
    return sorted(found, key=lambda s: s.qualified)


def check_freshness(
    engine: Engine, source: SourceFreshness, *, as_of: datetime | None = None
) -> FreshnessResult:
    with engine.connect() as conn:
        row = conn.execute(text(source.newest_sql(now_sql(as_of)))).one()
    newest, current = cast(tuple[datetime | None, datetime], tuple(row))
    if newest is None:
        nothing = "no batch has arrived" if source.loaded_at_query else "no rows at all"
        return FreshnessResult(source.qualified, "error", None, None, nothing)
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
    message = f"newest {source.measure} {newest.isoformat()} is {_age(age)} old ({limits})"
    return FreshnessResult(source.qualified, status, newest, age, message)


def _age(age: timedelta) -> str:
    hours = age.total_seconds() / 3600
    return f"{hours / 24:.3g} days" if hours >= 24 else f"{hours:.3g} hours"
