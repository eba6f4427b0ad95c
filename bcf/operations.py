"""The bodies of `bcf db backup` and `bcf db restore`; `bcf/cli.py` declares the commands."""

from __future__ import annotations

from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from core.db import backup as backups
from core.settings import Settings


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def run_backup(
    console: Console, settings: Settings, database: str, to: Path | None, jobs: int
) -> Path:
    target = to or backups.default_backup_dir(
        settings.data_dir, make_url(backups.check_url(database)).database or ""
    )
    manifest = backups.backup(
        database, target, jobs=jobs, binaries=backups.client_bin_dirs(settings)
    )
    rows = sum(state.rows for state in manifest.tables.values())
    timescale = f", TimescaleDB {manifest.timescaledb}" if manifest.timescaledb else ""
    console.print(
        f"backed up {manifest.database} (revision {manifest.revision or 'none'}{timescale}): "
        f"{len(manifest.tables)} tables, {rows:,} rows, database {_size(manifest.database_bytes)}"
        f", dump {_size(manifest.dump_bytes)}, {manifest.seconds:.1f} s, {jobs} jobs"
    )
    console.print(f"folder: {target} (manifest: {target / backups.MANIFEST})")
    return target


def run_restore(
    console: Console,
    settings: Settings,
    source: Path,
    into: str,
    *,
    force: bool,
    jobs: int,
) -> backups.RestoreResult:
    result = backups.restore(
        source, into, force=force, jobs=jobs, binaries=backups.client_bin_dirs(settings)
    )
    if not result.verified:
        table = Table("table", "difference", box=box.SIMPLE, title="Not as backed up")
        for problem in result.mismatches:
            name, _, difference = problem.partition(": ")
            table.add_row(name, difference)
        console.print(table)
        raise backups.BackupError(
            f"restored into {result.database}, but {len(result.mismatches)} tables differ "
            "from the manifest (listed above)"
        )
    console.print(
        f"restored into {result.database} and verified: {result.tables} tables, "
        f"{result.rows:,} rows, counts and checksums equal to the manifest, "
        f"{result.seconds:.1f} s"
    )
    return result
