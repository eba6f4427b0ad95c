"""The Dagster UI, as `bcf ui` starts it, loads the code location without errors and its
GraphQL API lists every asset of the definitions, with the schedules and sensors; Ctrl-C
stops it without leaving a failed run behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest

from orchestration.definitions import defs
from orchestration.defs.dbt import JOB_NAME as DBT_BUILD_JOB
from orchestration.local import data_dir_environment
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


def _graphql(port: int, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
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


@dataclass
class RunningUI:
    port: int
    process: subprocess.Popen[bytes]
    output: Path  # what it printed, as a terminal would show it

    def printed(self) -> str:
        return self.output.read_text(errors="replace")


@pytest.fixture(scope="module")
def pipeline_database(postgres_admin_url: str, migrated_template: str) -> Iterator[str]:
    with temporary_database(postgres_admin_url, "bcf_test_ui", template=migrated_template) as url:
        yield url


@pytest.fixture(scope="module")
def ui(
    pipeline_database: str, dagster_storage: str, redis_server_url: str, tmp_path_factory: Any
) -> Iterator[RunningUI]:
    """`bcf ui` as a user starts it, in a process group of its own as a terminal's foreground
    job is: Ctrl-C there is SIGINT to that group."""
    port = _free_port()
    folder = tmp_path_factory.mktemp("ui")
    environment = {
        **data_dir_environment(folder / "data"),
        "BCF_DATABASE_URL": pipeline_database,
        "BCF_DAGSTER_DATABASE_URL": dagster_storage,
        "BCF_REDIS_URL": redis_server_url,
    }
    command = [str(Path(sys.executable).parent / "bcf"), "ui", "--port", str(port)]
    # Into a file, as a terminal never stops reading: a pipe nobody reads fills up and
    # blocks every process of the UI that writes to it.
    output = folder / "output.txt"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=sink, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    ui = RunningUI(port, process, output)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"bcf ui exited: {ui.printed()[-3000:]}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5)
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    pytest.fail("the Dagster UI did not answer in time")
                time.sleep(1)
        yield ui
    finally:
        _stop_everything_started_by(process)


def _stop_everything_started_by(process: subprocess.Popen[bytes]) -> None:
    """Ctrl-C, then SIGKILL for whatever is left: `dagster dev` runs in a session of its own,
    out of reach of a signal to the group of `bcf ui`."""
    started = psutil.Process(process.pid).children(recursive=True) if process.poll() is None else []
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=240)
        except subprocess.TimeoutExpired:
            process.kill()
    for child in started:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()


@pytest.fixture(scope="module")
def answer(ui: RunningUI) -> dict[str, Any]:
    # The code location loads in a subprocess after the server answers: wait for it.
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        data = _graphql(ui.port, QUERY)
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


LAUNCH = """
mutation Launch($selector: JobOrPipelineSelector!) {
  launchRun(executionParams: {selector: $selector}) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
  }
}
"""
STEPS = """
query Steps($runId: ID!) {
  runOrError(runId: $runId) { ... on Run { status stepStats { stepKey status } } }
}
"""


# Last in the module: it stops the UI the tests above use.
def test_ctrl_c_cancels_the_run_in_progress_instead_of_failing_it(
    ui: RunningUI, answer: dict[str, Any], dagster_storage: str
) -> None:
    (entry,) = answer["workspaceOrError"]["locationEntries"]
    selector = {
        "repositoryLocationName": entry["name"],
        "repositoryName": "__repository__",
        "jobName": DBT_BUILD_JOB,
    }
    launched = _graphql(ui.port, LAUNCH, {"selector": selector})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    deadline = time.monotonic() + STARTUP_SECONDS
    while not any(
        step["status"] == "IN_PROGRESS"
        for step in _graphql(ui.port, STEPS, {"runId": run_id})["runOrError"]["stepStats"]
    ):
        assert time.monotonic() < deadline, "the dbt build never started a step"
        time.sleep(1)

    os.killpg(ui.process.pid, signal.SIGINT)
    ui.process.wait(timeout=240)

    output = ui.printed()
    assert ui.process.returncode == 0, output[-3000:]
    assert "the UI has stopped" in output, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    with psycopg.connect(dagster_storage) as conn:
        statuses = dict(conn.execute("SELECT run_id, status FROM runs").fetchall())
    assert statuses == {run_id: "CANCELED"}
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", ui.port), timeout=2)
