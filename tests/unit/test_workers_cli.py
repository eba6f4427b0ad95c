"""`bcf workers`: bad input is refused with one line before anything starts; an empty data
folder has no workers to show or stop."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bcf.cli import app
from orchestration.workers import parse_queues


def test_unknown_queues_are_refused_with_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BCF_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["workers", "up", "--queues", "ingest,exports"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: unknown queue(s) exports: use ingest, dbt, reports"
    ]
    assert not (tmp_path / "workers").exists()


def test_queues_are_read_in_order_once() -> None:
    assert parse_queues(" dbt, ingest ,dbt") == ("dbt", "ingest")
    with pytest.raises(ValueError, match="none given"):
        parse_queues(" , ")


def test_an_empty_data_folder_has_no_workers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BCF_DATA_DIR", str(tmp_path))
    status = CliRunner().invoke(app, ["workers", "status"])
    assert status.exit_code == 0
    assert "no workers: start them with `bcf workers up --count N`" in status.output
    down = CliRunner().invoke(app, ["workers", "down"])
    assert (down.exit_code, down.output.strip()) == (0, "no workers")
