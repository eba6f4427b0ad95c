"""TimescaleDB features, switched on only where the server has the extension.

On plain PostgreSQL the time-series tables stay ordinary tables and the caller says so once.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

NOT_AVAILABLE = (
    "plain PostgreSQL (this server has no TimescaleDB extension): the event tables are "
    "ordinary tables, without hypertables, compression or retention policies; everything "
    "else is the same"
)


def timescaledb_available(conn: Connection) -> bool:
    return bool(
        conn.scalar(text("SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'"))
    )


def timescaledb_installed(conn: Connection) -> bool:
    return bool(
        conn.scalar(text("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'"))
    )


def create_extension(conn: Connection) -> bool:
    """Create the extension when the server offers it; False (and nothing done) otherwise."""
    if not timescaledb_available(conn):
        return False
    conn.execute(text("CREATE EXTENSION IF NOT EXISTS timescaledb"))
    return True


def make_hypertable(
    conn: Connection, table: str, *, chunk_interval: str, segment_by: str | None
) -> None:
    """Partition `table` on created_at; compressed chunks are segmented by `segment_by`.

    The seed already indexes created_at, so TimescaleDB's default indexes are not added.
    """
    conn.execute(
        text(
            "SELECT create_hypertable(CAST(:table AS regclass), by_range('created_at', "
            "CAST(:chunk AS interval)), create_default_indexes => false, if_not_exists => true)"
        ),
        {"table": f"public.{table}", "chunk": chunk_interval},
    )
    options = ["timescaledb.compress", "timescaledb.compress_orderby = 'created_at DESC'"]
    if segment_by:
        options.append(f"timescaledb.compress_segmentby = '{segment_by}'")
    conn.execute(text(f"ALTER TABLE public.{table} SET ({', '.join(options)})"))


def set_policies(conn: Connection, table: str, *, compress_after: str, retain_for: str) -> None:
    """(Re)place the compression and retention policies of `table`."""
    params = {"table": f"public.{table}", "compress": compress_after, "retain": retain_for}
    conn.execute(
        text("SELECT remove_compression_policy(CAST(:table AS regclass), if_exists => true)"),
        params,
    )
    conn.execute(
        text("SELECT remove_retention_policy(CAST(:table AS regclass), if_exists => true)"), params
    )
    conn.execute(
        text(
            "SELECT add_compression_policy(CAST(:table AS regclass), CAST(:compress AS interval))"
        ),
        params,
    )
    conn.execute(
        text("SELECT add_retention_policy(CAST(:table AS regclass), CAST(:retain AS interval))"),
        params,
    )


def remove_policies(conn: Connection, table: str) -> None:
    params = {"table": f"public.{table}"}
    conn.execute(
        text("SELECT remove_retention_policy(CAST(:table AS regclass), if_exists => true)"), params
    )
    conn.execute(
        text("SELECT remove_compression_policy(CAST(:table AS regclass), if_exists => true)"),
        params,
    )
    conn.execute(text(f"ALTER TABLE public.{table} SET (timescaledb.compress = false)"))


def rollup_comment(reporting_tz: str) -> str:
    """The SQL literal commenting a continuous aggregate bucketed in `reporting_tz`; the dbt
    macro `timescale_rollup` reads it back to use only views of its own time zone."""
    return "'bcf rollup; reporting_tz=" + reporting_tz.replace("'", "''") + "'"
