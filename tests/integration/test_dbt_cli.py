"""`bcf dbt ARGS...`: dbt by hand, on the database and settings the pipeline uses.

Plain `dbt` reads its connection from `BCF_DBT_*` only; `bcf dbt` takes it from
`BCF_DATABASE_URL` (or the private cluster) like every other command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from orchestration.local import data_dir_environment


def _bcf_dbt(data_dir: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    bcf = Path(sys.executable).parent / "bcf"
    return subprocess.run(
        [str(bcf), "dbt", *args],
        env={
            **data_dir_environment(data_dir),
            "BCF_DATABASE_URL": database_url,
            "DBT_USE_COLORS": "False",
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_bcf_dbt_connects_where_the_settings_say(
    migrated_database_url: str, tmp_path: Path
) -> None:
    debug = _bcf_dbt(tmp_path, migrated_database_url, "debug")
    assert debug.returncode == 0, debug.stdout[-2000:] + debug.stderr[-2000:]
    assert "Connection test: [OK connection ok]" in debug.stdout
    database = migrated_database_url.rsplit("/", 1)[1]
    assert f"database: {database}" in debug.stdout

    listed = _bcf_dbt(tmp_path, migrated_database_url, "ls", "-s", "revenue_daily", "--quiet")
    assert listed.returncode == 0, listed.stdout[-2000:]
    assert "bcf_analytics.marts.finance.revenue_daily" in listed.stdout.split()
    # Its artifacts in the data folder, apart from the pipeline's manifest.
    assert (tmp_path / "dbt" / "cli" / "manifest.json").is_file()
    assert not (tmp_path / "dbt" / "target").exists()


def test_bcf_dbt_passes_dbts_exit_code(migrated_database_url: str, tmp_path: Path) -> None:
    wrong = _bcf_dbt(tmp_path, migrated_database_url, "ls", "--no-such-option")
    assert wrong.returncode == 2
    assert "No such option" in wrong.stdout + wrong.stderr
