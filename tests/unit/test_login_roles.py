"""A backup's manifest gives back its logins as a backup could have carried them: list settings
item by item, as literals, and memberships of the migrations' roles only."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.db.backup import BackupError, Manifest
from core.db.login_roles import LoginRole, list_setting_items


@pytest.mark.parametrize(
    ("stored", "items"),
    [
        ("marts", ["marts"]),
        ('"$user", marts', ["$user", "marts"]),
        ('a, "b,c", "d""e"', ["a", "b,c", 'd"e']),
        ("marts; DROP TABLE public.tenants", ["marts; DROP TABLE public.tenants"]),
    ],
)
def test_a_list_setting_is_split_into_its_items(stored: str, items: list[str]) -> None:
    assert list_setting_items(stored) == items


def _manifest_with(folder: Path, roles: list[LoginRole]) -> None:
    Manifest(
        created_at="2026-12-01T00:00:00+00:00", database="bcf", server_version="15.20",
        revision="0010", timescaledb=None, jobs=2, database_bytes=1, dump_bytes=1, seconds=1.0,
        pg_dump="pg_dump (PostgreSQL) 15.20", roles=roles,
    ).write(folder)  # fmt: skip


def test_a_manifest_carries_its_bi_logins(tmp_path: Path) -> None:
    analyst = LoginRole("analyst", ["bcf_bi_reader"], ["search_path=marts"], "SCRAM-SHA-256$x")
    _manifest_with(tmp_path, [analyst])

    assert Manifest.read(tmp_path).roles == [analyst]


@pytest.mark.parametrize("member_of", [["pg_execute_server_program"], ["bcf_api", "postgres"], []])
def test_a_manifest_granting_a_login_more_than_a_backup_carries_is_refused(
    tmp_path: Path, member_of: list[str]
) -> None:
    _manifest_with(tmp_path, [LoginRole("intruder", member_of)])

    with pytest.raises(BackupError, match=r"login 'intruder' is a member of .*; a backup carries"):
        Manifest.read(tmp_path)
