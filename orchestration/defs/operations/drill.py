"""The restore drill: back the pipeline's database up, restore it into a new database,
compare every table with the manifest, rebuild the marts there with dbt, then drop it.

A backup nobody restored is a hope; this proves each week that the dump restores, that no
row changed on the way, and that the marts and their tests build from what was restored.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from psycopg import sql
from sqlalchemy.engine import make_url

from core.db import backup as backups
from core.settings import Settings
from orchestration.defs.dbt.project import PROJECT_DIR, dbt_executable

DRILL_SUFFIX = "_restore_drill"


@dataclass
class DbtOutcome:
    returncode: int
    statuses: dict[str, int] = field(default_factory=dict)  # "model success": 12, ...
    failures: list[str] = field(default_factory=list)  # unique ids of what failed
    log_tail: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.failures


@dataclass
class DrillResult:
    manifest: backups.Manifest
    restore: backups.RestoreResult
    dbt: DbtOutcome
    restored_into: str
    seconds: float

    @property
    def passed(self) -> bool:
        return self.restore.verified and self.dbt.ok


def drill_database_url(database_url: str) -> str:
    """The same server, database `<name>_restore_drill`."""
    url = make_url(backups.check_url(database_url))
    return url.set(database=f"{url.database}{DRILL_SUFFIX}").render_as_string(hide_password=False)


def run_dbt_build(env: Mapping[str, str], work: Path) -> DbtOutcome:
    """`dbt build` (models and their tests) with `env`; its artifacts under `work`."""
    target = work / "dbt"
    folders = ["--project-dir", PROJECT_DIR, "--profiles-dir", PROJECT_DIR]
    artifacts = ["--target-path", target, "--log-path", target]
    done = subprocess.run(
        [dbt_executable(), "build", *map(str, folders), *map(str, artifacts)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    outcome = DbtOutcome(done.returncode, log_tail=done.stdout[-4000:])
    results_file = target / "run_results.json"
    if results_file.exists():
        results = json.loads(results_file.read_text())["results"]
        counted = Counter(f"{r['unique_id'].split('.')[0]} {r['status']}" for r in results)
        outcome.statuses = dict(sorted(counted.items()))
        outcome.failures = [r["unique_id"] for r in results if r["status"] in ("error", "fail")]
    return outcome


def run_drill(
    settings: Settings,
    database_url: str,
    dbt_env: Mapping[str, str],
    *,
    jobs: int = 2,
    keep_database: bool = False,
) -> DrillResult:
    """Backup → restore into `<db>_restore_drill` → compare → dbt build there → drop it.

    `dbt_env` is dbt's environment for the restored database (`dbt_env(...)` of the dbt
    project). The backup folder is temporary: the drill proves the procedure, it is not
    the backup to keep.
    """
    started = time.perf_counter()
    binaries = backups.client_bin_dirs(settings)
    drill_url = drill_database_url(database_url)
    work = Path(tempfile.mkdtemp(prefix="bcf-restore-drill-"))
    try:
        manifest = backups.backup(database_url, work / "backup", jobs=jobs, binaries=binaries)
        restored = backups.restore(
            work / "backup", drill_url, force=True, jobs=jobs, binaries=binaries
        )
        dbt = run_dbt_build(dbt_env, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if not keep_database:
            drop_database(drill_url)
    return DrillResult(
        manifest=manifest,
        restore=restored,
        dbt=dbt,
        restored_into=make_url(drill_url).database or "",
        seconds=round(time.perf_counter() - started, 1),
    )


def drop_database(url: str) -> None:
    name = make_url(url).database or ""
    with backups.connect(url, "postgres") as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
