"""Dagster on one machine: the instance folder and the environment `bcf ui` and `bcf demo` share.

Both use `<data dir>/dagster` as `DAGSTER_HOME`, so the runs `bcf demo` makes are the ones
the UI shows.
"""

from __future__ import annotations

import os
from pathlib import Path

from ingestion.settings import Settings

TELEMETRY_OFF = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "GX_ANALYTICS_ENABLED": "False",
    "DAGSTER_DISABLE_TELEMETRY": "1",
}


# Telemetry off; freshness policies (docs/quality.md) are evaluated only when enabled.
INSTANCE_CONFIG = "telemetry:\n  enabled: false\nfreshness:\n  enabled: true\n"


def dagster_home(settings: Settings) -> Path:
    """`<data dir>/dagster`, with the instance settings the pipeline relies on."""
    home = settings.data_dir.resolve() / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    instance_file = home / "dagster.yaml"
    if not instance_file.exists() or instance_file.read_text() != INSTANCE_CONFIG:
        instance_file.write_text(INSTANCE_CONFIG)
    return home


def pipeline_environment(
    settings: Settings, database_url: str, redis_url: str | None
) -> dict[str, str]:
    """The process environment for Dagster code on these services (the current one, plus)."""
    environment = {
        **os.environ,
        **TELEMETRY_OFF,
        "DAGSTER_HOME": str(dagster_home(settings)),
        "BCF_DATABASE_URL": database_url,
    }
    if redis_url:
        environment["BCF_REDIS_URL"] = redis_url
    return environment
