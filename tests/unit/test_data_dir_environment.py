"""`data_dir_environment`: a `bcf` command confined to one data folder, as the demo's
end-to-end test and its benchmark run it."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestration.local import data_dir_environment


def test_the_callers_settings_are_left_out_but_the_os_user_is_kept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BCF_DATABASE_URL", "postgresql://someone@db:5432/theirs")
    monkeypatch.setenv("BCF_SERVICES_POSTGRES_PORT", "5432")
    monkeypatch.setenv("DAGSTER_HOME", "/srv/dagster")
    monkeypatch.setenv("BCF_SERVICES_OS_USER", "bcfdemo")
    environment = data_dir_environment(tmp_path)
    assert "BCF_DATABASE_URL" not in environment
    assert "BCF_SERVICES_POSTGRES_PORT" not in environment
    assert "DAGSTER_HOME" not in environment
    # As root, `bcf services down` stops the folder's PostgreSQL only as the user that started it.
    assert environment["BCF_SERVICES_OS_USER"] == "bcfdemo"
    assert environment["BCF_DATA_DIR"] == str(tmp_path)
