"""Dagster on one machine: the instance folder and the environment `bcf ui` and `bcf demo` share.

Both use `<data dir>/dagster` as `DAGSTER_HOME`, so the runs `bcf demo` makes are the ones
the UI shows. `data_dir_environment` starts from nothing but a data folder, as a new user
does: the demo's end-to-end test and its benchmark run `bcf` with it.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.settings import ENV_FILE_VARIABLE, Settings

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


# As root, the folder's PostgreSQL can only be stopped by the system user that started it,
# and its cluster only runs under the PostgreSQL version that created it: every command on
# the folder must use the same user and the same server binaries.
MACHINE_SETTINGS = frozenset({"BCF_SERVICES_OS_USER", "BCF_SERVICES_POSTGRES_BIN"})


def data_dir_environment(data_dir: Path) -> dict[str, str]:
    """The current environment for a `bcf` command confined to `data_dir`, as a new user's.

    The caller's settings (`BCF_*`: URLs, ports, the landing folder) and `DAGSTER_HOME` are
    left out, so the command starts the folder's own services and records its runs in
    `<data dir>/dagster`; the rest (PATH, locale, proxies) is the caller's, and so are the
    settings that describe the machine rather than the caller's data (`MACHINE_SETTINGS`).
    No `.env` is read either: the one in the working folder holds the caller's settings too.
    """
    environment = {
        name: value
        for name, value in os.environ.items()
        if name in MACHINE_SETTINGS or not (name.startswith("BCF_") or name == "DAGSTER_HOME")
    }
    environment[ENV_FILE_VARIABLE] = ""
    environment["BCF_DATA_DIR"] = str(data_dir)
    return environment
