"""The bodies of `bcf db backup`, `restore` and `monitor`; `bcf/cli.py` declares them."""

from __future__ import annotations

from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from core.db import backup as backups
from core.settings import Settings
from core.sizes import human_size


def run_backup(
    console: Console,
    settings: Settings,
    database: str,
    to: Path | None,
    jobs: int,
    *,
    one_connection: bool = False,
) -> Path:
    target = to or backups.default_backup_dir(
        settings.data_dir, make_url(backups.check_url(database)).database or ""
    )
    jobs = 1 if one_connection else jobs
    manifest = backups.backup(
        database,
        target,
        jobs=jobs,
        binaries=backups.client_bin_dirs(settings),
        one_connection=one_connection,
    )
    rows = sum(state.rows for state in manifest.tables.values())
    timescale = f", TimescaleDB {manifest.timescaledb}" if manifest.timescaledb else ""
    console.print(
        f"backed up {manifest.database} (revision {manifest.revision or 'none'}{timescale}): "
        f"{len(manifest.tables)} tables, {rows:,} rows, "
        f"database {human_size(manifest.database_bytes)}, dump {human_size(manifest.dump_bytes)}"
        f", {manifest.seconds:.1f} s, {jobs} jobs"
    )
    if manifest.roles:
        console.print(f"logins carried: {', '.join(role.name for role in manifest.roles)}")
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
    if result.logins_created:
        console.print(f"logins created: {', '.join(result.logins_created)}")
    return result


def run_monitor(console: Console, settings: Settings, database: str, limit: int) -> None:
    from core.db.engine import libpq_url
    from core.db.monitor import Thresholds, collect
    from core.db.monitor_page import write_page

    backups.check_url(database)
    report = collect(libpq_url(database), Thresholds.from_settings(settings), limit=limit)
    page = write_page(report, settings.data_dir)
    cache = report.cache.get("ratio")
    lag = report.replica_lag_seconds
    ratio = report.compression_ratio
    console.print(
        f"{report.database} on PostgreSQL {report.server_version} "
        f"({'standby' if report.in_recovery else 'primary'}, TimescaleDB "
        f"{report.timescaledb or 'not installed'}): cache hit ratio "
        f"{'-' if cache is None else f'{float(cache):.2%}'}, connections "
        f"{report.connections.get('connections')} of {report.connections.get('max_connections')}"
        f", compression {'-' if ratio is None else f'{ratio}x'}, replica lag "
        f"{'-' if lag is None else f'{lag:.1f} s'} ({len(report.replicas)} replicas)"
    )
    statements = Table("total ms", "calls", "mean ms", "statement", title="Top statements")
    for row in report.top_statements:
        statements.add_row(
            f"{row['total_ms']:,.0f}", f"{row['calls']:,}", f"{row['mean_ms']:,.2f}",
            str(row["query"])[:100],
        )  # fmt: skip
    if report.top_statements:
        console.print(statements)
    else:
        console.print(f"top statements: {report.statements_note or 'none recorded'}")
    sizes = Table("table", "total", "indexes", title="Largest tables", box=box.SIMPLE)
    for row in report.table_sizes[:10]:
        sizes.add_row(
            f"{row['schema']}.{row['table']}",
            human_size(row["total_bytes"]),
            human_size(row["index_bytes"]),
        )
    console.print(sizes)
    for hypertable in report.hypertables:
        console.print(
            f"hypertable {hypertable['schema']}.{hypertable['table']}: {hypertable['chunks']} "
            f"chunks, {hypertable['compressed_chunks']} compressed, "
            f"{human_size(hypertable['total_bytes'] or 0)}"
        )
    console.print(
        f"unused indexes: {len(report.unused_indexes)}; tables with dead tuples: "
        f"{len(report.dead_tuples)}"
    )
    for finding in report.findings:
        console.print(f"[yellow]warning:[/yellow] {finding.message}")
    if not report.findings:
        console.print("no threshold crossed")
    console.print(f"page with charts: {page}")
