"""Enrich a frame of events in one pass: each distinct user agent and IP is resolved once."""

from __future__ import annotations

import polars as pl

from ingestion.enrich.geo import GEO_SCHEMA, GeoIp, default_geoip
from ingestion.enrich.user_agent import USER_AGENT_SCHEMA, user_agent_table

ENRICHED_SCHEMA: dict[str, pl.DataType] = {**GEO_SCHEMA, **USER_AGENT_SCHEMA}


def enrich_events(
    events: pl.DataFrame,
    *,
    enabled: bool = True,
    user_agent_column: str = "user_agent",
    ip_column: str = "ip_address",
    geoip: GeoIp | None = None,
) -> pl.DataFrame:
    """Return `events` with the ENRICHED_SCHEMA columns added (same rows, same order).

    `ip_column` holds canonical addresses (`check_ip`); `user_agent_column` raw strings or
    null. With `enabled=False` the columns are added as nulls (`is_bot` too: unknown), so
    the output has the same shape either way and the cost can be measured without it.
    """
    base = events.drop([name for name in ENRICHED_SCHEMA if name in events.columns])
    if not enabled:
        return base.with_columns(
            pl.lit(None, dtype=dtype).alias(name) for name, dtype in ENRICHED_SCHEMA.items()
        )
    agents = user_agent_table(base.get_column(user_agent_column))
    places = (geoip or default_geoip()).table(base.get_column(ip_column))
    return base.join(
        agents, on=user_agent_column, how="left", nulls_equal=True, maintain_order="left"
    ).join(places, on=ip_column, how="left", nulls_equal=True, maintain_order="left")
