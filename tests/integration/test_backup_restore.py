"""`bcf db backup` / `bcf db restore` on a real PostgreSQL, and the BI logins a restore onto
a new server brings back. The data is the hand-made dataset of test_dbt_build (fixed dates).
The restore drill runs on the demo's data: tests/integration/test_demo.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from core.db.backup import BackupError, TableState, backup, client_binary, compare, restore
from core.db.bi_login import create_or_rotate, revoke
from core.services import LocalPostgres
from tests.conftest import private_postgres, temporary_database
from tests.integration.test_dbt_build import DATASET

BCF = str(Path(sys.executable).parent / "bcf")


def bcf(data_dir: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BCF_")}
    env.update(BCF_DATA_DIR=str(data_dir), BCF_DATABASE_URL=database_url)
    return subprocess.run(
        [BCF, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: "), done.stderr
    return lines[0]


def _rows(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.timeout(600)
def test_backup_restores_into_a_new_database_with_equal_counts_and_checksums(
    migrated_database_url: str, postgres_admin_url: str, tmp_path: Path
) -> None:
    with psycopg.connect(migrated_database_url) as conn:
        conn.execute(DATASET)
    folder = tmp_path / "backup"

    done = bcf(tmp_path, migrated_database_url, "db", "backup", "--to", str(folder), "--jobs", "2")

    assert done.returncode == 0, done.stderr
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["revision"]
    assert manifest["timescaledb"] is None
    assert manifest["tables"]["public.tenants"]["rows"] == 3
    assert manifest["tables"]["public.visitor_tracking"]["rows"] == 4
    assert manifest["tables"]["raw.subscription_events"]["rows"] > 0
    assert manifest["dump_bytes"] > 0
    assert manifest["database_bytes"] > 0
    assert manifest["seconds"] > 0
    assert manifest["jobs"] == 2
    assert (folder / "toc.dat").exists()  # pg_dump's directory format

    with temporary_database(postgres_admin_url, "bcf_restored") as target:
        done = bcf(tmp_path, migrated_database_url, "db", "restore", str(folder), "--into", target)
        assert done.returncode == 0, done.stderr
        assert "verified" in done.stdout
        assert _rows(target, "public.tenants") == 3
        assert (
            _rows(target, "raw.subscription_events")
            == manifest["tables"]["raw.subscription_events"]["rows"]
        )

        again = bcf(tmp_path, migrated_database_url, "db", "restore", str(folder), "--into", target)
        assert "is not empty" in one_line_error(again)
        assert "--force" in again.stderr

        forced = bcf(
            tmp_path, migrated_database_url, "db", "restore", str(folder), "--into", target,
            "--force",
        )  # fmt: skip
        assert forced.returncode == 0, forced.stderr

        # A backup whose data no longer matches its manifest is caught, table by table.
        manifest["tables"]["public.tenants"]["checksum"] = "0:0"
        (folder / "manifest.json").write_text(json.dumps(manifest))
        tampered = bcf(
            tmp_path, migrated_database_url, "db", "restore", str(folder), "--into", target,
            "--force",
        )  # fmt: skip
        assert tampered.returncode == 1
        assert "public.tenants" in tampered.stdout
        assert "1 tables differ" in tampered.stderr


def test_bad_input_ends_in_one_line(migrated_database_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "backup"
    assert bcf(tmp_path, migrated_database_url, "db", "backup", "--to", str(folder)).returncode == 0

    wrong_url = bcf(tmp_path, "not-a-url", "db", "backup")
    assert "not a database URL" in one_line_error(wrong_url)
    unreachable = make_url(migrated_database_url).set(port=1).render_as_string()
    down = bcf(tmp_path, unreachable, "db", "restore", str(folder), "--into", unreachable)
    assert "cannot connect" in one_line_error(down)
    not_a_backup = bcf(tmp_path, migrated_database_url, "db", "restore", str(tmp_path))
    assert "has no manifest.json" in one_line_error(not_a_backup)
    into_itself = bcf(tmp_path, migrated_database_url, "db", "restore", str(folder))
    assert "is not empty" in one_line_error(into_itself)
    existing = bcf(tmp_path, migrated_database_url, "db", "backup", "--to", str(folder))
    assert "not empty" in one_line_error(existing)

    with pytest.raises(BackupError, match="no pg_dump_missing for PostgreSQL 15 or newer"):
        client_binary("pg_dump_missing", 15, [tmp_path])


def test_the_client_of_the_servers_major_is_chosen_else_the_closest_newer(tmp_path: Path) -> None:
    """Majors no real installation has, so the machine's own binaries never fit."""
    folders = []
    for major in (92, 90, 91):
        folder = tmp_path / str(major)
        folder.mkdir()
        script = folder / "pg_dump"
        script.write_text(f"#!/bin/sh\necho 'pg_dump (PostgreSQL) {major}.1'\n")
        script.chmod(0o755)
        folders.append(folder)

    assert client_binary("pg_dump", 91, folders) == tmp_path / "91" / "pg_dump"
    assert client_binary("pg_dump", 89, folders) == tmp_path / "90" / "pg_dump"
    with pytest.raises(BackupError, match=r"no pg_dump for PostgreSQL 93 or newer \(.*92") as error:
        client_binary("pg_dump", 93, folders)
    assert "BCF_PG_CLIENT_BIN" in str(error.value)


def test_compare_names_every_kind_of_difference() -> None:
    expected = {
        "public.a": TableState(2, "1:2"),
        "public.b": TableState(2, "1:2"),
        "public.c": TableState(1, "9:9"),
        "public.same": TableState(4, "4:4"),
    }
    actual = {
        "public.a": TableState(3, "1:2"),
        "public.b": TableState(2, "2:1"),
        "public.d": TableState(0, "0:0"),
        "public.same": TableState(4, "4:4"),
    }
    assert compare(expected, actual) == [
        "public.a: 3 rows, the backup had 2",
        "public.b: checksum differs (2 rows each)",
        "public.c: missing after the restore",
        "public.d: not in the backup's manifest",
    ]


@pytest.fixture
def new_server(tmp_path: Path) -> Iterator[LocalPostgres]:
    """A cluster of its own, as a new server to restore onto: it has none of the roles."""
    with private_postgres(tmp_path / "new-server") as server:
        yield server


@pytest.mark.timeout(600)
def test_a_restore_on_a_new_server_brings_the_bi_logins_that_read_the_marts_and_nothing_else(
    migrated_database_url: str, new_server: LocalPostgres, tmp_path: Path
) -> None:
    with psycopg.connect(migrated_database_url, autocommit=True) as conn:
        conn.execute(DATASET)
        conn.execute("SET ROLE bcf_pipeline")  # as dbt builds the marts
        conn.execute("CREATE TABLE marts.tenant_types AS SELECT type, count(*) AS tenants "
                     "FROM public.tenants GROUP BY type")  # fmt: skip
    login = create_or_rotate(migrated_database_url, user=f"bcf_bi_{uuid.uuid4().hex[:8]}")
    try:
        manifest = backup(migrated_database_url, tmp_path / "backup", jobs=2)
    finally:
        revoke(migrated_database_url, login.user)  # roles outlive the test's database
    assert [role.name for role in manifest.roles] == [login.user]
    assert manifest.roles[0].member_of == ["bcf_bi_reader"]
    assert manifest.roles[0].settings == ["search_path=marts"]

    restored_url = new_server.url("restored")
    result = restore(tmp_path / "backup", restored_url, jobs=2)
    assert result.verified, result.mismatches
    assert result.logins_created == [login.user]
    # Again, into another database of the same server: the login exists and is left alone.
    again = restore(tmp_path / "backup", new_server.url("restored_again"), jobs=2)
    assert again.verified
    assert again.logins_created == []

    as_login = make_url(restored_url).set(username=login.user, password=login.password)
    with psycopg.connect(as_login.render_as_string(hide_password=False)) as conn:
        # Its own search path came along: the mart needs no schema.
        assert dict(conn.execute("SELECT type, tenants FROM tenant_types").fetchall())
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO marts.tenant_types VALUES ('trader', 1)")
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT 1 FROM public.tenants")
