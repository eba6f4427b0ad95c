"""BI access: `bcf bi-credentials` logins read the marts and nothing else; the mart catalogue of
docs/bi.md is the dbt docs' one.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from bcf.cli import app
from core.settings import Settings
from orchestration.defs.dbt.catalogue import BEGIN, END, document_with_catalogue, mart_docs
from orchestration.defs.dbt.project import prepare_manifest

BI_DOC = Path(__file__).resolve().parents[2] / "docs" / "bi.md"
runner = CliRunner()


def _printed(output: str, setting: str) -> str:
    line = next(line for line in output.splitlines() if line.split()[:1] == [setting])
    return line.split()[1]


@pytest.fixture
def login_name(migrated_database_url: str) -> Iterator[str]:
    """A login name of this test's own: roles are shared by every database of the server."""
    name = f"bcf_bi_test_{uuid.uuid4().hex[:8]}"
    yield name
    with psycopg.connect(migrated_database_url, autocommit=True) as conn:
        conn.execute(f'DROP ROLE IF EXISTS "{name}"')


def _invoke(url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(
        app, ["bi-credentials", *args], env={"BCF_DATABASE_URL": url, "COLUMNS": "200"}
    )
    return result.exit_code, result.output


def test_a_bi_login_reads_the_marts_and_nothing_else(
    migrated_database_url: str, login_name: str
) -> None:
    with psycopg.connect(migrated_database_url, autocommit=True) as conn:
        conn.execute("SET ROLE bcf_pipeline")
        conn.execute("CREATE TABLE marts.bi_probe AS SELECT 1 AS answer")
    code, output = _invoke(migrated_database_url, "--user", login_name)
    assert code == 0, output
    password = _printed(output, "password")
    assert len(password) >= 24
    url = make_url(migrated_database_url).set(username=login_name, password=password)
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (login_name,)
        assert conn.execute("SELECT answer FROM bi_probe").fetchone() == (1,)  # search_path marts
        for forbidden in ("public.tenants", "public.users", "raw.ingest_batches"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT 1 FROM {forbidden} LIMIT 1")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE marts.mine (x int)")


def test_an_existing_login_keeps_its_password_unless_rotated_then_revoked(
    migrated_database_url: str, login_name: str
) -> None:
    assert _invoke(migrated_database_url, "--user", login_name)[0] == 0
    with psycopg.connect(migrated_database_url) as conn:
        hash_before = conn.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (login_name,)
        ).fetchone()
    code, output = _invoke(migrated_database_url, "--user", login_name)
    assert code == 1
    assert "--rotate" in output
    code, output = _invoke(migrated_database_url, "--user", login_name, "--rotate")
    assert code == 0, output
    with psycopg.connect(migrated_database_url) as conn:
        hash_after = conn.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (login_name,)
        ).fetchone()
    assert hash_after != hash_before
    assert hash_after[0].startswith("SCRAM-SHA-256$")  # type: ignore[index]
    code, output = _invoke(migrated_database_url, "--user", login_name, "--revoke")
    assert code == 0, output
    with psycopg.connect(migrated_database_url) as conn:
        assert (
            conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (login_name,)).fetchone()
            is None
        )


@pytest.mark.parametrize("role", ["bcf_pipeline", "bcf_bi_reader", "postgres"])
def test_roles_that_are_not_bi_logins_are_never_touched(
    migrated_database_url: str, role: str
) -> None:
    for args in (["--rotate"], ["--revoke"]):
        code, output = _invoke(migrated_database_url, "--user", role, *args)
        assert code == 1
        assert "not a BI login" in output


def test_the_catalogue_in_docs_is_the_dbt_docs_one() -> None:
    manifest = json.loads(prepare_manifest(Settings()).manifest_path.read_text())
    document = BI_DOC.read_text(encoding="utf-8")
    assert document_with_catalogue(BI_DOC, manifest) == document, "run `uv run bcf bi-catalogue`"
    catalogue = document.split(BEGIN)[1].split(END)[0]
    marts = mart_docs(manifest)
    assert len(marts) >= 21
    for mart in marts:
        assert f"`marts.{mart.name}`" in catalogue
        assert mart.description
        assert all(column.description for column in mart.columns), mart.name
