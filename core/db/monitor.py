"""How the database performs: one snapshot of the statistics PostgreSQL and TimescaleDB keep.

What it reads: the platform design's two monitoring queries (usage per tenant, `pg_stats`
of schema public), `pg_stat_statements`' top statements by total time (where the server
preloads it), table, index, chunk and compression sizes, unused indexes, dead tuples, the
buffer cache hit ratio, connections and replica lag. `findings` are the warnings, each
against a threshold of the settings (`BCF_MONITOR_*`). Read-only; nothing is reset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row
from sqlalchemy.engine import make_url

from core.services import ServiceError
from core.settings import Settings

Row = dict[str, Any]

# The design's "Estatísticas de uso por tenant", with its join fan-out removed: joining
# members and transactions in one pass multiplies each count by the other, so each is
# counted in a subquery of its own. Revenue is summed per currency (amounts in different
# currencies do not add up), over every transaction as the design does.
TENANT_USAGE_SQL = """
SELECT t.name AS tenant_name,
       coalesce(m.user_count, 0) AS user_count,
       coalesce(f.transaction_count, 0) AS transaction_count,
       coalesce(f.total_revenue, '') AS total_revenue
FROM public.tenants AS t
LEFT JOIN (
    SELECT tenant_id, count(DISTINCT user_id) AS user_count
    FROM public.tenant_members GROUP BY tenant_id
) AS m ON m.tenant_id = t.id
LEFT JOIN (
    SELECT tenant_id, sum(n)::bigint AS transaction_count,
           string_agg(currency || ' ' || amount::text, ', ' ORDER BY currency) AS total_revenue
    FROM (
        SELECT tenant_id, currency, count(*) AS n, sum(amount) AS amount
        FROM public.financial_transactions GROUP BY tenant_id, currency
    ) AS per_currency
    GROUP BY tenant_id
) AS f ON f.tenant_id = t.id
ORDER BY transaction_count DESC, t.name
LIMIT %(limit)s
"""

# The design's "Performance de consultas", as written (its ORDER BY puts the columns with
# the most distinct values first; a negative n_distinct is a fraction of the rows).
COLUMN_STATS_SQL = """
SELECT schemaname, tablename, attname, n_distinct, correlation
FROM pg_stats
WHERE schemaname = 'public'
ORDER BY n_distinct DESC
LIMIT %(limit)s
"""

TOP_STATEMENTS_SQL = """
SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 200) AS query,
       calls, round(total_exec_time::numeric, 1) AS total_ms,
       round(mean_exec_time::numeric, 2) AS mean_ms, rows,
       round(100.0 * shared_blks_hit / nullif(shared_blks_hit + shared_blks_read, 0), 1)
           AS hit_percent
FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY total_exec_time DESC
LIMIT %(limit)s
"""

TABLE_SIZES_SQL = """
SELECT n.nspname AS schema, c.relname AS table,
       pg_relation_size(c.oid) AS table_bytes,
       pg_indexes_size(c.oid) AS index_bytes,
       pg_total_relation_size(c.oid) AS total_bytes,
       c.reltuples::bigint AS estimated_rows
FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname NOT LIKE '\\_timescaledb%%'
ORDER BY total_bytes DESC
LIMIT %(limit)s
"""

HYPERTABLES_SQL = """
SELECT h.hypertable_schema AS schema, h.hypertable_name AS table,
       h.num_chunks AS chunks,
       (SELECT count(*) FROM timescaledb_information.chunks AS c
        WHERE c.hypertable_schema = h.hypertable_schema
          AND c.hypertable_name = h.hypertable_name AND c.is_compressed) AS compressed_chunks,
       hypertable_size(format('%%I.%%I', h.hypertable_schema, h.hypertable_name)::regclass)
           AS total_bytes,
       s.before_compression_total_bytes AS before_bytes,
       s.after_compression_total_bytes AS after_bytes
FROM timescaledb_information.hypertables AS h
LEFT JOIN LATERAL (
    SELECT sum(before_compression_total_bytes) AS before_compression_total_bytes,
           sum(after_compression_total_bytes) AS after_compression_total_bytes
    FROM hypertable_compression_stats(
        format('%%I.%%I', h.hypertable_schema, h.hypertable_name)::regclass)
) AS s ON true
ORDER BY 1, 2
"""

UNUSED_INDEXES_SQL = """
SELECT s.schemaname AS schema, s.relname AS table, s.indexrelname AS index,
       pg_relation_size(s.indexrelid) AS index_bytes, s.idx_scan AS scans
FROM pg_stat_user_indexes AS s JOIN pg_index AS i ON i.indexrelid = s.indexrelid
WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary
  AND s.schemaname NOT LIKE '\\_timescaledb%%'
ORDER BY index_bytes DESC, 1, 2, 3
LIMIT %(limit)s
"""

DEAD_TUPLES_SQL = """
SELECT schemaname AS schema, relname AS table, n_live_tup AS live_rows,
       n_dead_tup AS dead_rows,
       round(n_dead_tup::numeric / nullif(n_live_tup + n_dead_tup, 0), 4) AS dead_ratio,
       last_autovacuum, last_vacuum
FROM pg_stat_user_tables
WHERE n_dead_tup > 0 AND schemaname NOT LIKE '\\_timescaledb%%'
ORDER BY n_dead_tup DESC
LIMIT %(limit)s
"""

CACHE_HIT_SQL = """
SELECT blks_hit, blks_read,
       round(blks_hit::numeric / nullif(blks_hit + blks_read, 0), 4) AS ratio
FROM pg_stat_database WHERE datname = current_database()
"""

CONNECTIONS_SQL = """
SELECT count(*) AS connections,
       count(*) FILTER (WHERE state = 'active') AS active,
       count(*) FILTER (WHERE state = 'idle in transaction') AS idle_in_transaction,
       current_setting('max_connections')::int AS max_connections
FROM pg_stat_activity WHERE backend_type = 'client backend'
"""

# On a primary: one row per streaming standby. replay_lag is NULL once a quiet standby
# has caught up, so the byte distance is reported beside it.
REPLICAS_SQL = """
SELECT application_name, client_addr::text AS client_addr, state, sync_state,
       pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) AS replay_lag_bytes,
       coalesce(extract(epoch FROM replay_lag), 0)::float AS replay_lag_seconds
FROM pg_stat_replication ORDER BY application_name
"""

# On a standby: how far behind the last replayed transaction is (0 when nothing is pending).
STANDBY_LAG_SQL = """
SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END::float
"""


@dataclass(frozen=True)
class Thresholds:
    dead_tuple_ratio: float = 0.2
    large_table_rows: int = 10_000
    cache_hit_min: float = 0.95
    connections_max_ratio: float = 0.8
    replica_lag_max_seconds: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        return cls(
            dead_tuple_ratio=settings.monitor_dead_tuple_ratio,
            large_table_rows=settings.monitor_large_table_rows,
            cache_hit_min=settings.monitor_cache_hit_min,
            connections_max_ratio=settings.monitor_connections_max_ratio,
            replica_lag_max_seconds=settings.monitor_replica_lag_max_seconds,
        )


@dataclass(frozen=True)
class Finding:
    check: str  # dead_tuples, cache_hit_ratio, connections, replica_lag
    message: str


@dataclass
class MonitorReport:
    collected_at: str
    database: str
    server_version: str
    in_recovery: bool
    timescaledb: str | None
    statements_note: str  # why top_statements is empty, or ""
    tenant_usage: list[Row] = field(default_factory=list)
    column_stats: list[Row] = field(default_factory=list)
    top_statements: list[Row] = field(default_factory=list)
    table_sizes: list[Row] = field(default_factory=list)
    hypertables: list[Row] = field(default_factory=list)
    unused_indexes: list[Row] = field(default_factory=list)
    dead_tuples: list[Row] = field(default_factory=list)
    cache: Row = field(default_factory=dict)
    connections: Row = field(default_factory=dict)
    replicas: list[Row] = field(default_factory=list)
    standby_lag_seconds: float | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def compression_ratio(self) -> float | None:
        """Bytes before compression over bytes after, over every compressed hypertable."""
        before = sum(int(h["before_bytes"] or 0) for h in self.hypertables)
        after = sum(int(h["after_bytes"] or 0) for h in self.hypertables)
        return round(before / after, 2) if after else None

    @property
    def replica_lag_seconds(self) -> float | None:
        """The worst lag seen: of this server's standbys, or of this server as a standby."""
        lags = [float(r["replay_lag_seconds"]) for r in self.replicas]
        if self.standby_lag_seconds is not None:
            lags.append(self.standby_lag_seconds)
        return max(lags) if lags else None

    def findings_of(self, check: str) -> list[Finding]:
        return [finding for finding in self.findings if finding.check == check]


def _rows(conn: psycopg.Connection[Row], query: str, limit: int) -> list[Row]:
    return [_plain(row) for row in conn.execute(query, {"limit": limit}).fetchall()]


def _plain(row: Row) -> Row:
    """JSON-friendly values: Decimals become floats, times ISO strings."""
    out: Row = {}
    for name, value in row.items():
        if isinstance(value, Decimal):
            value = float(value)
        elif isinstance(value, datetime):
            value = value.isoformat(timespec="seconds")
        out[name] = value
    return out


def _statements(conn: psycopg.Connection[Row], limit: int) -> tuple[list[Row], str]:
    installed = conn.execute(
        "SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'"
    ).fetchone()
    if not installed:
        return [], "pg_stat_statements is not installed in this database (migration 0008)"
    preload = conn.execute("SELECT current_setting('shared_preload_libraries')").fetchone()
    if not preload or "pg_stat_statements" not in str(next(iter(preload.values()))):
        return [], "pg_stat_statements is not in shared_preload_libraries: no statistics"
    return _rows(conn, TOP_STATEMENTS_SQL, limit), ""


def _connect(url: str) -> psycopg.Connection[Row]:
    try:
        return psycopg.connect(url, autocommit=True, row_factory=dict_row, connect_timeout=10)
    except psycopg.OperationalError as error:
        shown = make_url(url).render_as_string(hide_password=True)
        raise ServiceError(f"cannot connect to {shown}: {' '.join(str(error).split())}") from None


def collect(url: str, thresholds: Thresholds, *, limit: int = 15) -> MonitorReport:
    with _connect(url) as conn:
        conn.execute("SET statement_timeout = '60s'")
        info = conn.execute(
            "SELECT current_database() AS db, current_setting('server_version') AS version, "
            "pg_is_in_recovery() AS recovery, "
            "(SELECT extversion FROM pg_extension WHERE extname = 'timescaledb') AS timescaledb"
        ).fetchone()
        assert info is not None
        statements, note = _statements(conn, limit)
        report = MonitorReport(
            collected_at=datetime.now(UTC).isoformat(timespec="seconds"),
            database=info["db"],
            server_version=info["version"],
            in_recovery=bool(info["recovery"]),
            timescaledb=info["timescaledb"],
            statements_note=note,
            top_statements=statements,
            tenant_usage=_rows(conn, TENANT_USAGE_SQL, limit),
            column_stats=_rows(conn, COLUMN_STATS_SQL, limit),
            table_sizes=_rows(conn, TABLE_SIZES_SQL, limit),
            hypertables=_rows(conn, HYPERTABLES_SQL, limit) if info["timescaledb"] else [],
            unused_indexes=_rows(conn, UNUSED_INDEXES_SQL, limit),
            dead_tuples=_rows(conn, DEAD_TUPLES_SQL, limit),
            cache=_plain(conn.execute(CACHE_HIT_SQL).fetchone() or {}),
            connections=_plain(conn.execute(CONNECTIONS_SQL).fetchone() or {}),
        )
        if report.in_recovery:
            lag = conn.execute(STANDBY_LAG_SQL).fetchone()
            report.standby_lag_seconds = float(next(iter(lag.values())) or 0) if lag else None
        else:
            report.replicas = _rows(conn, REPLICAS_SQL, limit)
    report.findings = evaluate(report, thresholds)
    return report


def evaluate(report: MonitorReport, thresholds: Thresholds) -> list[Finding]:
    """The warnings: one per table, ratio or server over its threshold."""
    findings = []
    for table in report.dead_tuples:
        rows = int(table["live_rows"]) + int(table["dead_rows"])
        ratio = float(table["dead_ratio"] or 0)
        if rows >= thresholds.large_table_rows and ratio > thresholds.dead_tuple_ratio:
            findings.append(
                Finding(
                    "dead_tuples",
                    f"{table['schema']}.{table['table']}: {ratio:.0%} of {rows:,} rows are dead "
                    f"(over {thresholds.dead_tuple_ratio:.0%}): VACUUM it or tune autovacuum",
                )
            )
    hit_ratio = report.cache.get("ratio")
    if hit_ratio is not None and float(hit_ratio) < thresholds.cache_hit_min:
        findings.append(
            Finding(
                "cache_hit_ratio",
                f"cache hit ratio {float(hit_ratio):.1%} is under {thresholds.cache_hit_min:.0%}: "
                "the working set does not fit shared_buffers",
            )
        )
    used, most = report.connections.get("connections"), report.connections.get("max_connections")
    if used is not None and most and used / most > thresholds.connections_max_ratio:
        findings.append(
            Finding(
                "connections",
                f"{used} of {most} connections in use (over "
                f"{thresholds.connections_max_ratio:.0%}): pool them",
            )
        )
    lag = report.replica_lag_seconds
    if lag is not None and lag > thresholds.replica_lag_max_seconds:
        findings.append(
            Finding(
                "replica_lag",
                f"replica lag {lag:.0f} s is over {thresholds.replica_lag_max_seconds:.0f} s",
            )
        )
    return findings
