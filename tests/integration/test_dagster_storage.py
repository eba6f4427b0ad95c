"""Dagster's storage on PostgreSQL: the database `dagster` on the pipeline's server is created
when missing, and an instance on it records runs there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from sqlalchemy.engine import make_url

from core.db.engine import libpq_url
from core.settings import Settings
from orchestration.local import (
    DEFAULT_DAGSTER_DATABASE,
    dagster_database_url,
    pipeline_environment,
)
from tests.conftest import private_postgres, temporary_database


@pytest.fixture
def private_server(tmp_path: Path) -> Iterator[str]:
    """A server of its own: the test creates and drops the database named `dagster` on it."""
    with private_postgres(tmp_path / "services") as server:
        yield server.url("postgres")


def test_the_dagster_database_is_created_on_the_pipelines_server(
    private_server: str, tmp_path: Path
) -> None:
    pipeline = make_url(private_server).set(database="postgres").render_as_string(False)
    url = dagster_database_url(Settings(data_dir=tmp_path), pipeline)
    assert make_url(url).database == DEFAULT_DAGSTER_DATABASE
    assert dagster_database_url(Settings(data_dir=tmp_path), pipeline) == url  # found, kept
    with psycopg.connect(libpq_url(url)) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == (DEFAULT_DAGSTER_DATABASE,)


@dg.asset
def answer() -> int:
    return 42


def test_an_instance_in_the_data_folder_records_its_runs_in_postgresql(
    postgres_admin_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with temporary_database(postgres_admin_url, "bcf_test_dagster") as storage:
        settings = Settings(data_dir=tmp_path, dagster_database_url=storage)
        for name, value in pipeline_environment(settings, postgres_admin_url, None).items():
            monkeypatch.setenv(name, value)
        with dg.DagsterInstance.get() as instance:
            run_id = dg.materialize([answer], instance=instance).run_id
        with psycopg.connect(storage) as conn:
            status = conn.execute("SELECT status FROM runs WHERE run_id = %s", (run_id,)).fetchone()
        assert status == ("SUCCESS",)
