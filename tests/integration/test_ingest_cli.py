"""`bcf ingest` end to end on the landing fixtures, against a real PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from bcf.cli import app
from core.services import free_port
from tests.integration.test_loader import EXPECTED, FIXTURES, MY_SOURCES, seed_reference

runner = CliRunner()


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    """A landing folder holding this engineer's sources' fixtures."""
    root = tmp_path / "landing"
    for name in MY_SOURCES:
        shutil.copytree(FIXTURES / name, root / name)
    return root


def _env(url: str, landing: Path) -> dict[str, str]:
    return {
        "BCF_DATABASE_URL": url,
        "BCF_LANDING_DIR": str(landing),
        "BCF_DATA_DIR": str(landing.parent / "data"),
        "COLUMNS": "200",
    }


def _batches(url: str) -> list[tuple[str, str, int, int, int, int]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT source, status, rows_in, rows_loaded, rows_quarantined, rows_duplicate "
            "FROM raw.ingest_batches ORDER BY source, source_file"
        ).fetchall()


def test_ingest_the_landing_folder_then_again(migrated_database_url: str, landing: Path):
    seed_reference(migrated_database_url)
    first = runner.invoke(app, ["ingest", str(landing)], env=_env(migrated_database_url, landing))
    assert first.exit_code == 0, first.output
    files = sum(len(expected) for expected in EXPECTED.values())
    for name in MY_SOURCES:
        assert name in first.output
    assert "already" in first.output
    assert "rows quarantined: their reasons are in raw.quarantine" in first.output
    batches = _batches(migrated_database_url)
    assert len(batches) == files
    assert all(status == "completed" for _, status, *_ in batches)
    loaded = {
        (name, e.rows_in, e.loaded, e.quarantined, e.duplicate)
        for name, expected in EXPECTED.items()
        for e in expected
    }
    assert {(s, i, lo, q, d) for s, _, i, lo, q, d in batches} == loaded
    summary = first.output[first.output.index("duplicates") :]
    assert summary.count(" no ") == files

    second = runner.invoke(app, ["ingest", str(landing)], env=_env(migrated_database_url, landing))
    assert second.exit_code == 0, second.output
    summary = second.output[second.output.index("duplicates") :]
    assert summary.count(" yes ") == files
    assert "rows quarantined" not in second.output
    assert _batches(migrated_database_url) == batches


def test_ingest_files_and_folders_with_a_source(migrated_database_url: str, tmp_path: Path):
    seed_reference(migrated_database_url)
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(FIXTURES / "usage", elsewhere)
    env = _env(migrated_database_url, tmp_path / "landing")
    result = runner.invoke(
        app,
        ["ingest", "--source", "usage", str(elsewhere / "usage_2026-01-05.csv"), str(elsewhere)],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert len(_batches(migrated_database_url)) == 3  # the file is loaded once, not twice
    refused = runner.invoke(app, ["ingest", str(elsewhere)], env=env)
    assert refused.exit_code == 1
    assert "cannot tell the source of" in refused.output
    assert "pass --source NAME" in refused.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--source", "nope", "{landing}"], "unknown source 'nope': expected one of audit,"),
        (["--source", "usage", "{landing}/missing.csv"], "no such file or folder:"),
        (
            ["--source", "usage", "{landing}/audit/audit_2026-01-05.jsonl"],
            "is not a usage file (expected *.csv, *.csv.gz)",
        ),
        (["{landing}/nope"], "no such file or folder"),
    ],
)
def test_mistakes_end_with_one_line(
    migrated_database_url: str, landing: Path, arguments: list[str], message: str
):
    args = ["ingest", *(a.format(landing=landing) for a in arguments)]
    result = runner.invoke(app, args, env=_env(migrated_database_url, landing))
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ")
    assert message in lines[0]
    assert "Traceback" not in result.output


def test_an_unreachable_database_is_one_line(landing: Path):
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    result = runner.invoke(app, ["ingest", str(landing / "usage")], env=_env(url, landing))
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: database unreachable:")


def test_an_unmigrated_database_says_to_upgrade(empty_database_url: str, landing: Path):
    result = runner.invoke(
        app, ["ingest", str(landing / "usage")], env=_env(empty_database_url, landing)
    )
    assert result.exit_code == 1
    assert "run `bcf db upgrade` first" in result.output


def test_a_failing_file_is_reported_and_the_others_load(migrated_database_url: str, landing: Path):
    seed_reference(migrated_database_url)
    broken = landing / "trading" / "broken.csv.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00 not really gzip")
    result = runner.invoke(
        app, ["ingest", str(landing / "trading")], env=_env(migrated_database_url, landing)
    )
    assert result.exit_code == 1
    assert "broken.csv.gz (trading) failed, nothing of it was loaded" in result.output
    assert "failed" in result.output[result.output.index("duplicates") :]
    statuses = sorted(status for _, status, *_ in _batches(migrated_database_url))
    assert statuses == ["completed", "completed", "failed"]
