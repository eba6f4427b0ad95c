"""The Dagster webserver, as `bcf ui` starts it, loads the code location without errors and its
GraphQL API lists every asset of the definitions, with the schedules and sensors.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from orchestration.definitions import defs
from orchestration.local import BASE_INSTANCE_CONFIG, DAGSTER_DATABASE_VARIABLE, POSTGRES_STORAGE
from tests.conftest import temporary_database

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 240

QUERY = """
{
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on PythonError { message }
          ... on RepositoryLocation {
            repositories {
              name
              schedules { name scheduleState { status } }
              sensors { name sensorState { status } }
            }
          }
        }
      }
    }
  }
  assetNodes { assetKey { path } groupName description partitionDefinition { description } }
}
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _graphql(port: int, query: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (http on loopback)
        answer: dict[str, Any] = json.load(response)
    assert "errors" not in answer, answer["errors"]
    return answer["data"]


@pytest.fixture(scope="module")
def dagster_storage(postgres_admin_url: str) -> Iterator[str]:
    """The instance's own database, as `bcf ui` keeps runs and events in PostgreSQL."""
    with temporary_database(postgres_admin_url, "bcf_test_dagster") as url:
        yield url


@pytest.fixture(scope="module")
def webserver(
    postgres_admin_url: str, migrated_template: str, dagster_storage: str
) -> Iterator[int]:
    port = _free_port()
    home = Path(tempfile.mkdtemp(prefix="bcf-test-dagster-home-"))
    (home / "dagster.yaml").write_text(BASE_INSTANCE_CONFIG + POSTGRES_STORAGE)
    environment = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        # dagster-postgres speaks psycopg2.
        DAGSTER_DATABASE_VARIABLE: dagster_storage.replace(
            "postgresql://", "postgresql+psycopg2://", 1
        ),
        "BCF_DATABASE_URL": postgres_admin_url.rsplit("/", 1)[0] + f"/{migrated_template}",
        "DAGSTER_DISABLE_TELEMETRY": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }
    webserver_bin = Path(sys.executable).parent / "dagster-webserver"
    command = [str(webserver_bin), "-w", str(ROOT / "workspace.yaml"), "-h", "127.0.0.1"]
    server = subprocess.Popen(
        [*command, "-p", str(port)],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if server.poll() is not None:
                pytest.fail(f"dagster-webserver exited: {server.stderr.read()[-3000:]}")  # type: ignore[union-attr]
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5)
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    pytest.fail("dagster-webserver did not answer in time")
                time.sleep(1)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def answer(webserver: int) -> dict[str, Any]:
    # The code location loads in a subprocess after the server answers: wait for it.
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        data = _graphql(webserver, QUERY)
        entries = data["workspaceOrError"]["locationEntries"]
        if entries and all(entry["loadStatus"] == "LOADED" for entry in entries):
            return data
        if time.monotonic() > deadline:
            pytest.fail(f"the code location did not load: {entries}")
        time.sleep(2)


def test_the_code_location_loads_without_errors(answer: dict[str, Any]) -> None:
    (entry,) = answer["workspaceOrError"]["locationEntries"]
    assert entry["locationOrLoadError"]["__typename"] == "RepositoryLocation", entry


def test_every_asset_is_in_the_graph_with_its_group(answer: dict[str, Any]) -> None:
    served = {"/".join(node["assetKey"]["path"]): node for node in answer["assetNodes"]}
    expected = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert set(served) == expected
    groups = {node["groupName"] for node in served.values()}
    assert {"ingestion", "staging", "finance", "ceo", "usage", "growth", "compliance"} <= groups
    assert {"reports", "exports", "operations"} <= groups
    assert served["reports/ceo_monthly"]["partitionDefinition"]["description"].startswith("Monthly")
    executable = defs.resolve_implicit_global_asset_job_def().asset_layer.executable_asset_keys
    for key in executable:
        assert served[key.to_user_string()]["description"], key


def test_the_schedules_and_sensors_are_served(answer: dict[str, Any]) -> None:
    (entry,) = answer["workspaceOrError"]["locationEntries"]
    (repository,) = entry["locationOrLoadError"]["repositories"]
    schedules = {schedule["name"] for schedule in repository["schedules"]}
    sensors = {sensor["name"] for sensor in repository["sensors"]}
    assert {"dbt_daily", "drain_tracking_stream", "ingest_hourly"} <= schedules
    assert {"ceo_report_archive_monthly", "restore_drill_weekly", "database_monitor_hourly"} <= (
        schedules
    )
    assert {"landing_files"} <= sensors
    # Outside production nothing starts by itself in a new instance (BCF_AUTOMATIONS unset).
    states = [s["scheduleState"]["status"] for s in repository["schedules"]] + [
        s["sensorState"]["status"] for s in repository["sensors"]
    ]
    assert set(states) == {"STOPPED"}


def test_the_instance_keeps_its_runs_and_events_in_postgresql(
    answer: dict[str, Any], dagster_storage: str
) -> None:
    with psycopg.connect(dagster_storage) as conn:
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
        }
    assert {"runs", "event_logs", "jobs", "job_ticks"} <= tables
