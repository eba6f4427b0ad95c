"""`data_dir_environment`: a `bcf` command confined to one data folder, as the demo's
end-to-end test and its benchmark run it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.settings import Settings
from orchestration.local import dagster_home, data_dir_environment, pipeline_environment


def test_the_callers_settings_are_left_out_but_the_machines_are_kept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BCF_DATABASE_URL", "postgresql://someone@db:5432/theirs")
    monkeypatch.setenv("BCF_SERVICES_POSTGRES_PORT", "5432")
    monkeypatch.setenv("DAGSTER_HOME", "/srv/dagster")
    monkeypatch.setenv("BCF_SERVICES_OS_USER", "bcfdemo")
    monkeypatch.setenv("BCF_SERVICES_POSTGRES_BIN", "/usr/lib/postgresql/15/bin")
    environment = data_dir_environment(tmp_path)
    assert "BCF_DATABASE_URL" not in environment
    assert "BCF_SERVICES_POSTGRES_PORT" not in environment
    assert "DAGSTER_HOME" not in environment
    # As root, `bcf services down` stops the folder's PostgreSQL only as the user that started it.
    assert environment["BCF_SERVICES_OS_USER"] == "bcfdemo"
    assert environment["BCF_SERVICES_POSTGRES_BIN"] == "/usr/lib/postgresql/15/bin"
    assert environment["BCF_DATA_DIR"] == str(tmp_path)


def test_a_dotenv_file_in_the_working_folder_does_not_reach_the_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    working_folder = tmp_path / "checkout"
    working_folder.mkdir()
    (working_folder / ".env").write_text(
        "BCF_DATABASE_URL=postgresql://someone@db:5432/theirs\n"
        "BCF_REDIS_URL=redis://cache:6379/0\n"
        "BCF_DATA_DIR=/srv/theirs\n"
        "BCF_LANDING_DIR=/srv/theirs/drop\n"
    )
    monkeypatch.chdir(working_folder)
    data_dir = tmp_path / "demo"
    confined = data_dir_environment(data_dir)
    for name in list(os.environ):
        monkeypatch.delenv(name)
    for name, value in confined.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.database_url is None
    assert settings.redis_url is None
    assert settings.data_dir == data_dir
    assert settings.landing_path == data_dir / "landing"


def test_the_instance_keeps_its_runs_in_postgresql_unless_sqlite_is_asked_for(
    tmp_path: Path,
) -> None:
    postgres = dagster_home(Settings(data_dir=tmp_path / "pg"))
    assert (
        "postgres_url:\n      env: BCF_DAGSTER_DATABASE_URL"
        in (postgres / "dagster.yaml").read_text()
    )
    sqlite = dagster_home(Settings(data_dir=tmp_path / "lite", dagster_storage="sqlite"))
    assert "storage" not in (sqlite / "dagster.yaml").read_text()


def test_the_dagster_database_is_the_named_one_when_set(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, dagster_database_url="postgresql+psycopg://ops@db:5432/runs"
    )
    environment = pipeline_environment(settings, "postgresql://someone@db:5432/bcf", None)
    assert environment["BCF_DAGSTER_DATABASE_URL"] == "postgresql+psycopg2://ops@db:5432/runs"
