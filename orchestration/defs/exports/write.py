"""Write the marts to Parquet files and one DuckDB database, atomically.

One read-only REPEATABLE READ transaction reads every mart (one snapshot: the files agree
with each other), each with `COPY (SELECT ...) TO STDOUT` in CSV streamed to a file that
Polars scans into Parquet (constant memory). DuckDB's own PostgreSQL scanner would be a
download away (its `postgres` extension is not bundled and this machine has no network),
so DuckDB loads the Parquet files instead. Everything is written in a staging folder beside
the outputs and then renamed into place (`os.replace`, atomic on one file system): a BI tool
sees the old file or the new one, never half of one. Parquet files of marts that no longer
exist are removed, so the folder is exactly the schema.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import psycopg
from psycopg import IsolationLevel

from orchestration.defs.exports.catalog import (
    MARTS_SCHEMA,
    Mart,
    copy_sql,
    csv_schema,
    discover_marts,
    duckdb_comment_sql,
    duckdb_create_sql,
    duckdb_insert_sql,
    post_casts,
    quote_ident,
)

DUCKDB_FILE = "bcf_marts.duckdb"
PARQUET_DIR = "parquet"
STAGING_PREFIX = ".staging-"
# Staging folders older than this were left by a run that died; younger ones may be live.
STALE_STAGING_SECONDS = 3600


@dataclass(frozen=True)
class ExportedMart:
    name: str
    columns: int
    postgres_rows: int
    parquet_rows: int
    duckdb_rows: int
    parquet_path: Path
    parquet_bytes: int


@dataclass(frozen=True)
class ExportResult:
    marts: list[ExportedMart]
    duckdb_path: Path
    duckdb_bytes: int
    parquet_dir: Path
    removed: list[str]
    seconds: float

    @property
    def total_rows(self) -> int:
        return sum(m.parquet_rows for m in self.marts)

    @property
    def mismatched(self) -> list[str]:
        return [
            m.name for m in self.marts if not m.postgres_rows == m.parquet_rows == m.duckdb_rows
        ]


def _safe_file_name(name: str) -> str:
    if not name or name.startswith(".") or "/" in name or "\\" in name or "\0" in name:
        raise ValueError(f"mart name {name!r} cannot be a file name")
    return name


def _sweep_stale_staging(out_dir: Path) -> None:
    cutoff = time.time() - STALE_STAGING_SECONDS
    for folder in out_dir.glob(f"{STAGING_PREFIX}*"):
        if folder.is_dir() and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)


def _copy_to_parquet(conn: psycopg.Connection, schema: str, mart: Mart, staging: Path) -> int:
    """Stream one mart into `<staging>/<mart>.parquet`; the number of rows PostgreSQL sent."""
    csv_path = staging / f"{mart.name}.csv"
    with conn.cursor() as cursor:
        with cursor.copy(copy_sql(schema, mart)) as copy, csv_path.open("wb") as out:
            for block in copy:
                out.write(block)
        rows = cursor.rowcount
    (
        pl.scan_csv(csv_path, schema=csv_schema(mart), has_header=True)
        .with_columns(post_casts(mart))
        .sink_parquet(staging / f"{mart.name}.parquet", compression="zstd", statistics=True)
    )
    csv_path.unlink()
    return rows


def _parquet_rows(path: Path) -> int:
    return int(pl.scan_parquet(path).select(pl.len()).collect().item())


def _build_duckdb(path: Path, marts: list[Mart], staging: Path) -> dict[str, int]:
    """A DuckDB database with a table per mart, loaded from the staged Parquet files."""
    counts: dict[str, int] = {}
    con = duckdb.connect(str(path))
    try:
        for mart in marts:
            con.execute(duckdb_create_sql(mart))
            con.execute(duckdb_insert_sql(mart, staging / f"{mart.name}.parquet"))
            for statement in duckdb_comment_sql(mart):
                con.execute(statement)
            row = con.execute(f"SELECT count(*) FROM {quote_ident(mart.name)}").fetchone()
            counts[mart.name] = int(row[0]) if row else 0
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return counts


def export_marts(
    conninfo: str,
    out_dir: Path,
    *,
    schema: str = MARTS_SCHEMA,
    log: Callable[[str], None] | None = None,
) -> ExportResult:
    """Export every relation of `schema` to `<out_dir>/parquet/<mart>.parquet` and
    `<out_dir>/bcf_marts.duckdb`, replacing the previous files atomically."""
    started = time.monotonic()
    parquet_dir = out_dir / PARQUET_DIR
    parquet_dir.mkdir(parents=True, exist_ok=True)
    _sweep_stale_staging(out_dir)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out_dir))
    try:
        postgres_rows: dict[str, int] = {}
        with psycopg.connect(conninfo) as conn:
            conn.isolation_level = IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            conn.execute("SET LOCAL DateStyle = 'ISO, YMD'")
            marts = discover_marts(conn, schema)
            for mart in marts:
                _safe_file_name(mart.name)
                postgres_rows[mart.name] = _copy_to_parquet(conn, schema, mart, staging)
                if log:
                    log(f"{mart.name}: {postgres_rows[mart.name]} rows")
        duckdb_rows = _build_duckdb(staging / DUCKDB_FILE, marts, staging)

        # Publish: the Parquet files, then the database, then drop what no longer exists.
        exported = []
        for mart in marts:
            target = parquet_dir / f"{mart.name}.parquet"
            os.replace(staging / f"{mart.name}.parquet", target)
            exported.append(
                ExportedMart(
                    name=mart.name,
                    columns=len(mart.columns),
                    postgres_rows=postgres_rows[mart.name],
                    parquet_rows=_parquet_rows(target),
                    duckdb_rows=duckdb_rows[mart.name],
                    parquet_path=target,
                    parquet_bytes=target.stat().st_size,
                )
            )
        duckdb_path = out_dir / DUCKDB_FILE
        os.replace(staging / DUCKDB_FILE, duckdb_path)
        current = {f"{mart.name}.parquet" for mart in marts}
        removed = []
        for stale in sorted(parquet_dir.iterdir()):
            if stale.suffix == ".parquet" and stale.name not in current and stale.is_file():
                stale.unlink()
                removed.append(stale.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(
        marts=exported,
        duckdb_path=duckdb_path,
        duckdb_bytes=duckdb_path.stat().st_size,
        parquet_dir=parquet_dir,
        removed=removed,
        seconds=time.monotonic() - started,
    )
