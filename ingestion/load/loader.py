"""The loader: one landing file into its tables, exactly once in effect.

`load_file` is the same for every source (`ingestion.parsing.contract` is the contract):

1. Hash the file. A completed batch for (source, sha256) in `raw.ingest_batches` makes the
   call a no-op that returns that batch's counts, flagged `already_loaded`.
2. Read the reference data (tenant and user ids, plans) the source validates against.
3. In ONE transaction, under an advisory lock on (source, sha256): insert the ledger row
   (`running`, `started_at` = the transaction's start), then chunk by chunk (bounded memory,
   `ingestion.load.files`; the next chunk read and parsed in a worker thread meanwhile):
   parse, COPY each target frame (Polars writes it as CSV, a few
   thousand rows at a time) into its target, straight or through a TEMP staging table of
   the frame's columns (see Merging; `ingest_batch_id` stamped where the table has the
   column), and COPY the rejects into `raw.quarantine`; then run the source's
   `derived_sql`; finally complete the ledger row with the counts, after checking
   `in = loaded + quarantined + duplicates`.
   A crash anywhere leaves nothing behind: the transaction never commits.
4. On an error the transaction rolls back, a `failed` ledger row with the error text is
   written in a transaction of its own, and the error is raised again.

Merging (`Target.disposition`):
- `insert_new`: the chunk's keys are probed against the target's unique index (one query,
  the keys as arrays), the stored ones dropped, and the rest COPYed straight into the target
  inside a savepoint. Once a probe finds none of its chunk's keys stored, the next chunks
  are COPYed whole without one (a bulk load of new keys pays one probe, not one a chunk),
  until such a COPY meets a stored key: it fails on the unique index, is rolled back to the
  savepoint, and that chunk is probed, as are the next ones until a probe finds nothing.
  Should a key be stored between the probe and the COPY (a concurrent loader of an
  overlapping file), the COPY fails likewise and the chunk goes the staged way: `INSERT ...
  SELECT ... ON CONFLICT (key) DO NOTHING`. Tables under row-level security always go the
  staged way (COPY FROM refuses them).
- `upsert_newer`: `... ON CONFLICT (key) DO UPDATE SET <frame columns> WHERE` the stored
  `version_column` is older (or null) `AND` the stored values differ from the new ones. A
  version column the frame does not carry (e.g. `ingested_at`) takes its default, so the
  later load wins; an identical re-delivery changes nothing and counts as a duplicate.

Counting (per the contract, on the primary target only): rows the merge wrote are
`loaded`; accepted records that wrote nothing are `duplicates`, whether the same key came
twice in the file (the first row of each key in the frame's order is kept; sources order
their frames by event time where that matters) or the key was already stored.
"""

from __future__ import annotations

import functools
import re
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
import psycopg
from psycopg import sql
from sqlalchemy import Engine

from core.db.engine import libpq_url
from core.settings import Settings
from ingestion.load.files import DEFAULT_CHUNK_RECORDS, content_sha256, iter_chunks
from ingestion.parsing import validate
from ingestion.parsing.contract import (
    FinishingSource,
    ParseContext,
    Parsed,
    ReferenceQuery,
    ReferencingSource,
    Reject,
    Source,
    Target,
)
from ingestion.sources.registry import get_source

Database = Engine | psycopg.Connection | str
_Item = TypeVar("_Item")
ERROR_TEXT_LIMIT = 4000
_COPY_ROWS = 5_000  # rows of a frame written as CSV and sent to COPY at a time


class LoadError(RuntimeError):
    """A problem with the input a person can fix; the message is one line."""


class SourceContractError(RuntimeError):
    """A source returned something the contract in ingestion.parsing.contract forbids."""


@dataclass(frozen=True)
class LoadProgress:
    path: Path
    bytes_done: int
    bytes_total: int
    records_done: int
    finished: bool = False


ProgressCallback = Callable[[LoadProgress], None]


@dataclass(frozen=True)
class BatchResult:
    """The ledger row of a load: what came in and where it went."""

    batch_id: uuid.UUID
    source: str
    origin: str  # the file's path, or the stream entries' description
    content_sha256: str
    rows_in: int
    rows_loaded: int
    rows_quarantined: int
    rows_duplicate: int
    min_event_at: datetime | None = None
    max_event_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    already_loaded: bool = False  # this call was a no-op: the same content was loaded before


@dataclass
class _Counts:
    rows_in: int = 0
    loaded: int = 0
    quarantined: int = 0
    duplicate_in_file: int = 0
    duplicate_stored: int = 0
    min_event_at: datetime | None = None
    max_event_at: datetime | None = None

    def events(self, parsed: Parsed) -> None:
        low, high = parsed.min_event_at, parsed.max_event_at
        if low is not None and (self.min_event_at is None or low < self.min_event_at):
            self.min_event_at = low
        if high is not None and (self.max_event_at is None or high > self.max_event_at):
            self.max_event_at = high

    @property
    def duplicates(self) -> int:
        return self.duplicate_in_file + self.duplicate_stored


def load_file(
    db: Database,
    source: Source | str,
    path: Path | str,
    settings: Settings | None = None,
    *,
    chunk_records: int = DEFAULT_CHUNK_RECORDS,
    progress: ProgressCallback | None = None,
    context: ParseContext | None = None,
) -> BatchResult:
    """Load one landing file of `source` (a Source or its name) into the database.

    `db` is an SQLAlchemy Engine, a URL, or a psycopg connection that is not inside a
    transaction. `context` (the reference data) is read from the database when not given.
    """
    source = get_source(source) if isinstance(source, str) else source
    path = Path(path)
    if not path.is_file():
        raise LoadError(f"no such file: {path}")
    settings = settings or Settings()
    sha256 = content_sha256(path)
    label = str(path.resolve())
    total = path.stat().st_size
    with connect(db) as conn:
        done = completed_batch(conn, source.name, sha256)
        if done is not None:
            if progress:
                progress(LoadProgress(path, total, total, done.rows_in, finished=True))
            return replace(done, origin=label, already_loaded=True)
        context = context or read_parse_context(conn, settings)

        # A finishing source's costly columns are computed in the merge, for new rows only.
        finisher: Finisher | None = None
        parse = source.parse
        if isinstance(source, FinishingSource):
            parse, finisher = source.parse_unfinished, source.finish
        referencing = isinstance(source, ReferencingSource)

        def parsed_chunks(context: ParseContext) -> Iterator[tuple[Parsed, int, int]]:
            whole_file = sys.maxsize if referencing else chunk_records
            for chunk in iter_chunks(path, max_records=whole_file):
                if isinstance(source, ReferencingSource):
                    context = source.with_references(chunk.data, context, _reader(conn))
                parsed = parse(chunk.data, path.name, context)
                offset, bytes_done = chunk.record_offset, chunk.bytes_done
                # The chunk's bytes are not kept while its rows are merged.
                del chunk
                yield parsed, offset, bytes_done
                del parsed

        def file_chunks(context: ParseContext) -> Iterator[tuple[Parsed, int]]:
            if progress:
                progress(LoadProgress(path, 0, total, 0))
            records = 0
            # The next chunk is read and parsed while this one is merged, in a thread, except
            # a referencing source's (one chunk, whose references are read on `conn`).
            chunks = parsed_chunks(context)
            for parsed, offset, bytes_done in chunks if referencing else _read_ahead(chunks):
                records += parsed.records_in
                yield parsed, offset
                del parsed
                if progress:
                    progress(LoadProgress(path, bytes_done, total, records))

        result = _load_recorded(conn, source, label, sha256, context, file_chunks, finisher)
    if progress:
        progress(LoadProgress(path, total, total, result.rows_in, finished=True))
    return result


def load_parsed(
    db: Database,
    source: Source,
    parse: Callable[[ParseContext], Parsed],
    *,
    origin: str,
    content_key: str,
    settings: Settings | None = None,
) -> BatchResult:
    """Load records that did not come as a file (stream entries) as one batch.

    `parse` turns the reference data into the parsed records; `content_key` identifies the
    content like a file's hash does, so the same entries loaded again are a no-op.
    """
    settings = settings or Settings()
    with connect(db) as conn:
        done = completed_batch(conn, source.name, content_key)
        if done is not None:
            return replace(done, origin=origin, already_loaded=True)
        context = read_parse_context(conn, settings)
        return _load_recorded(
            conn, source, origin, content_key, context, lambda ctx: iter([(parse(ctx), 0)])
        )


def _read_ahead(items: Iterator[_Item]) -> Iterator[_Item]:
    """`items`, each next one made in a worker thread while the caller works on this one.

    A chunk is parsed (Polars, which releases the GIL) while the server COPYs and merges the
    one before: the load's wall time nears the larger of the client's and the server's work
    rather than their sum, for one parsed chunk more in memory.
    """
    with ThreadPoolExecutor(1, thread_name_prefix="read-ahead") as worker:
        ahead = worker.submit(next, items, None)
        while (item := ahead.result()) is not None:
            ahead = worker.submit(next, items, None)
            yield item
            del item


# A FinishingSource's `finish`: (target table, its unfinished rows) -> the finished rows.
Finisher = Callable[[str, pl.DataFrame], pl.DataFrame]
# Parsed pieces of one batch, each with the record number its rejects count from.
ParsedChunks = Callable[[ParseContext], Iterator[tuple[Parsed, int]]]


def _load_recorded(
    conn: psycopg.Connection,
    source: Source,
    label: str,
    sha256: str,
    context: ParseContext,
    chunks: ParsedChunks,
    finish: Finisher | None = None,
) -> BatchResult:
    """`_load`, with a failure written to the ledger (in its own transaction) and re-raised.

    `finish`: the chunks' rows are a `FinishingSource`'s, unfinished; this finishes them.
    """
    try:
        return _load(conn, source, label, sha256, context, chunks, finish)
    except Exception as error:
        _record_failure(conn, source.name, label, sha256, error)
        raise


def completed_batch(conn: psycopg.Connection, source: str, sha256: str) -> BatchResult | None:
    row = conn.execute(
        """
        SELECT id, source_file, rows_in, rows_loaded, rows_quarantined, rows_duplicate,
               min_event_at, max_event_at, started_at, finished_at
        FROM raw.ingest_batches
        WHERE source = %s AND content_sha256 = %s AND status = 'completed'
        """,
        (source, sha256),
    ).fetchone()
    if row is None:
        return None
    return BatchResult(
        batch_id=row[0],
        source=source,
        origin=row[1] or "",
        content_sha256=sha256,
        rows_in=row[2],
        rows_loaded=row[3],
        rows_quarantined=row[4],
        rows_duplicate=row[5],
        min_event_at=row[6],
        max_event_at=row[7],
        started_at=row[8],
        finished_at=row[9],
        already_loaded=True,
    )


def read_parse_context(conn: psycopg.Connection, settings: Settings) -> ParseContext:
    """Known tenants, users and plans, as the sources validate against them."""
    tenants = frozenset(r[0] for r in conn.execute("SELECT id::text FROM public.tenants"))
    users = frozenset(r[0] for r in conn.execute("SELECT id::text FROM public.users"))
    plans: dict[str, Mapping[str, object]] = {}
    for plan_id, slug, price_id, price, currency, cycle in conn.execute(
        "SELECT id::text, slug, stripe_price_id, price, currency, billing_cycle "
        "FROM public.subscription_plans"
    ):
        plan = {
            "id": plan_id,
            "slug": slug,
            "stripe_price_id": price_id,
            "price": price,
            "currency": currency,
            "billing_cycle": cycle,
        }
        plans[slug] = plan
        if price_id:
            plans[price_id] = plan
    return ParseContext(tenants, users, plans, settings.reporting_currency)


@contextmanager
def connect(db: Database) -> Iterator[psycopg.Connection]:
    if isinstance(db, psycopg.Connection):
        if db.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            raise ValueError("load_file needs a connection that is not inside a transaction")
        previous = db.autocommit
        db.autocommit = True  # transactions are explicit: the load's, and the failure's
        try:
            yield db
        finally:
            if not db.closed:
                db.autocommit = previous
        return
    url = db.url.render_as_string(hide_password=False) if isinstance(db, Engine) else db
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("SET client_encoding TO 'UTF8'")
        yield conn


def _load(
    conn: psycopg.Connection,
    source: Source,
    label: str,
    sha256: str,
    context: ParseContext,
    chunks: ParsedChunks,
    finish: Finisher | None,
) -> BatchResult:
    with conn.transaction():
        conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"{source.name}:{sha256}",)
        )
        done = completed_batch(conn, source.name, sha256)
        if done is not None:  # another loader finished the same content while we waited
            return done
        row = conn.execute(
            "INSERT INTO raw.ingest_batches (source, source_file, content_sha256, status) "
            "VALUES (%s, %s, %s, 'running') RETURNING id",
            (source.name, label, sha256),
        ).fetchone()
        assert row is not None
        batch_id: uuid.UUID = row[0]
        merger = _Merger(conn, batch_id)
        counts = _Counts()
        for parsed, record_offset in chunks(context):
            rejects = _check_parsed(source, parsed)
            counts.rows_in += parsed.records_in
            counts.events(parsed)
            for target in (source.primary, *source.secondary):
                frame = parsed.tables.get(target.table)
                in_file, stored, written = merger.merge(target, frame, finish)
                if target is source.primary:
                    counts.duplicate_in_file += in_file
                    counts.duplicate_stored += stored
                    counts.loaded += written
            _quarantine(conn, batch_id, source.name, label, rejects, record_offset)
            counts.quarantined += len(rejects)
            del parsed, frame, rejects  # before the next chunk is parsed
        if source.derived_sql:
            # Derived SQL may narrow its scans to the batch's time range.
            conn.execute(
                "UPDATE raw.ingest_batches SET min_event_at = %s, max_event_at = %s WHERE id = %s",
                (counts.min_event_at, counts.max_event_at, batch_id),
            )
        for statement in source.derived_sql:
            conn.execute(_with_batch_parameter(statement), {"batch_id": batch_id})
        balance = counts.loaded + counts.quarantined + counts.duplicates
        if counts.rows_in != balance:
            raise SourceContractError(
                f"{source.name}: {counts.rows_in} records in but {counts.loaded} loaded + "
                f"{counts.quarantined} quarantined + {counts.duplicates} duplicates = {balance}"
            )
        finished = conn.execute(
            """
            UPDATE raw.ingest_batches
            SET status = 'completed', rows_in = %s, rows_loaded = %s, rows_quarantined = %s,
                rows_duplicate = %s, min_event_at = %s, max_event_at = %s,
                finished_at = clock_timestamp()
            WHERE id = %s
            RETURNING started_at, finished_at
            """,
            (
                counts.rows_in,
                counts.loaded,
                counts.quarantined,
                counts.duplicates,
                counts.min_event_at,
                counts.max_event_at,
                batch_id,
            ),
        ).fetchone()
        assert finished is not None
    return BatchResult(
        batch_id=batch_id,
        source=source.name,
        origin=label,
        content_sha256=sha256,
        rows_in=counts.rows_in,
        rows_loaded=counts.loaded,
        rows_quarantined=counts.quarantined,
        rows_duplicate=counts.duplicates,
        min_event_at=counts.min_event_at,
        max_event_at=counts.max_event_at,
        started_at=finished[0],
        finished_at=finished[1],
    )


def _check_parsed(source: Source, parsed: Parsed) -> list[Reject]:
    known = {source.primary.table, *(t.table for t in source.secondary)}
    unknown = set(parsed.tables) - known
    if unknown:
        raise SourceContractError(f"{source.name} returned rows for undeclared {sorted(unknown)}")
    primary = parsed.tables.get(source.primary.table)
    accepted = primary.height if primary is not None else 0
    if parsed.records_in != accepted + len(parsed.rejects):
        raise SourceContractError(
            f"{source.name}: {parsed.records_in} records in, but {accepted} primary rows "
            f"and {len(parsed.rejects)} rejects"
        )
    return parsed.rejects


_BATCH_PARAMETER = re.compile(r"(?<![:\w]):batch_id\b")


def _reader(conn: psycopg.Connection) -> ReferenceQuery:
    def query(statement: str, params: Mapping[str, Any]) -> Sequence[tuple[Any, ...]]:
        return conn.execute(statement, params).fetchall()

    return query


def _with_batch_parameter(statement: str) -> sql.SQL:
    """Derived SQL names the batch as `:batch_id` (SQLAlchemy style) or `%(batch_id)s`."""
    if "%(batch_id)s" in statement:
        return sql.SQL(statement)
    escaped = statement.replace("%", "%%")
    return sql.SQL(_BATCH_PARAMETER.sub("%(batch_id)s", escaped))


_ROW = "_loader_row"


def _unchanged(frame: pl.DataFrame) -> pl.DataFrame:
    return frame


@dataclass(frozen=True)
class _TargetFacts:
    direct: bool  # insert_new rows may be COPYed straight into the table
    key_types: tuple[str, ...]  # SQL type of each key column, for the probe's arrays


def _array_literal(column: pl.Series) -> str:
    """A column as the text of a PostgreSQL array literal, every element quoted."""
    dtype = column.dtype
    if isinstance(dtype, pl.Datetime):
        zone = "%:z" if dtype.time_zone is not None else ""
        text = column.dt.to_string(f"%Y-%m-%dT%H:%M:%S%.f{zone}")
    else:
        text = column.cast(pl.String)
    quoted = (
        text.str.replace_all("\\", "\\\\", literal=True)
        .str.replace_all('"', '\\"', literal=True)
        .to_frame()
        .select(pl.concat_str(pl.lit('"'), pl.first(), pl.lit('"')).str.join(","))
        .item()
    )
    return "{" + (quoted or "") + "}"


@dataclass
class _Merger:
    """Per target: rows with new keys COPYed straight into it where it can (`insert_new`
    without row-level security), else COPY into a TEMP staging table and merge from there."""

    conn: psycopg.Connection
    batch_id: uuid.UUID
    staged: dict[tuple[str, tuple[str, ...]], sql.Identifier] = field(default_factory=dict)
    facts: dict[str, _TargetFacts] = field(default_factory=dict)
    # Targets whose last probe found none of its chunk's keys stored: the next chunks are
    # COPYed without one until a COPY meets a stored key.
    unprobed: set[str] = field(default_factory=set)
    # The connection's JIT setting, which the probe turns off for itself; read at the first.
    jit: str | None = None

    def merge(
        self, target: Target, frame: pl.DataFrame | None, finish: Finisher | None = None
    ) -> tuple[int, int, int]:
        """(duplicates within the frame, keys already stored, rows written).

        `finish` completes the rows that are written (a `FinishingSource`'s), after those
        whose key is stored are dropped where the key probe runs first.
        """
        if frame is None or frame.height == 0:
            return 0, 0, 0
        table = validate.table(target.table)
        columns = list(frame.columns)
        undeclared = [c for c in columns if c not in table.c]
        missing_key = [c for c in target.key if c not in columns]
        if undeclared or missing_key:
            raise SourceContractError(
                f"rows for {target.table}: columns {undeclared} are not in the table, "
                f"key columns {missing_key} are missing"
            )
        if frame.select(pl.any_horizontal(pl.col(list(target.key)).is_null()).any()).item():
            raise SourceContractError(f"rows for {target.table} have a null key {target.key}")
        key = list(target.key)
        unique = frame
        if frame.select(pl.struct(key).n_unique()).item() < frame.height:  # else no copy
            unique = frame.unique(subset=key, keep="first", maintain_order=True)
        stamp = "ingest_batch_id" in table.c
        finished = functools.partial(finish, target.table) if finish else _unchanged
        outcome: int | pl.DataFrame
        if target.disposition == "insert_new" and self._copyable(target).direct:
            outcome = self._copy_new(target, unique, stamp, finished)
        else:
            outcome = finished(unique)
        if isinstance(outcome, int):
            written = outcome
        else:
            stage = self._stage(target, columns)
            self._copy(stage, outcome)
            written = self._insert(target, stage, columns, stamp)
        return frame.height - unique.height, unique.height - written, written

    def _copyable(self, target: Target) -> _TargetFacts:
        """What the direct path needs to know of the target, read from the catalog once."""
        facts = self.facts.get(target.table)
        if facts is None:
            rows = self.conn.execute(
                "SELECT a.attname, format_type(a.atttypid, NULL), c.relrowsecurity "
                "FROM pg_attribute AS a JOIN pg_class AS c ON c.oid = a.attrelid "
                "WHERE a.attrelid = CAST(%s AS regclass) AND a.attname = ANY(%s)",
                (_qualified(target.table).as_string(self.conn), list(target.key)),
            ).fetchall()
            types = {name: type_name for name, type_name, _ in rows}
            # COPY FROM refuses tables under row-level security: those keep the stage.
            direct = bool(rows) and not any(secured for _, _, secured in rows)
            facts = _TargetFacts(direct, tuple(types[name] for name in target.key))
            self.facts[target.table] = facts
        return facts

    def _copy_new(
        self,
        target: Target,
        frame: pl.DataFrame,
        stamp: bool,
        finish: Callable[[pl.DataFrame], pl.DataFrame],
    ) -> int | pl.DataFrame:
        """The rows whose key is not stored yet, finished and COPYed straight into the target.

        After a probe that found nothing stored the frame is COPYed whole, unprobed; should
        that COPY meet a stored key, it is rolled back to its savepoint and the frame probed.
        Returns the rows written, or, when a key was stored between the probe and the COPY (a
        concurrent loader of an overlapping file committed it), the finished rows the COPY
        rolled back, for the caller to merge through the stage, whose ON CONFLICT settles it.
        """
        if target.table in self.unprobed:
            frame = finish(frame)
            finish = _unchanged
            written = self._copy_stamped(target, frame, stamp)
            if written is not None:
                return written
            self.unprobed.discard(target.table)
        stored = self._stored_rows(target, frame)
        if not stored:
            self.unprobed.add(target.table)
        new = frame
        if stored:
            new = (
                frame.with_row_index(_ROW, offset=1)
                .filter(~pl.col(_ROW).is_in(pl.Series(stored, dtype=pl.UInt32).implode()))
                .drop(_ROW)
            )
        if new.height == 0:
            return 0
        new = finish(new)
        written = self._copy_stamped(target, new, stamp)
        return new if written is None else written

    def _copy_stamped(self, target: Target, frame: pl.DataFrame, stamp: bool) -> int | None:
        """COPY `frame` into the target inside a savepoint: rows written, or None (rolled
        back) when one of its keys is stored."""
        if stamp:
            frame = frame.with_columns(pl.lit(str(self.batch_id)).alias("ingest_batch_id"))
        try:
            with self.conn.transaction():
                self._copy(_qualified(target.table), frame)
        except psycopg.errors.UniqueViolation:
            return None
        return frame.height

    def _stored_rows(self, target: Target, frame: pl.DataFrame) -> list[int]:
        """1-based row numbers of `frame` whose key is in the target: one query, the keys
        sent as one array literal per key column, each looked up in the target's unique index.

        The lookup is a LATERAL subquery with LIMIT 1, which the planner cannot turn into a
        hash join: a hash join reads every stored row of the chunk's time range once per
        chunk, which grows with the table (a re-delivery of 300,000 events: probe 3.0 s that
        way, 1.6 s this way, benchmarks/README.md), while an index lookup grows only with the
        index's depth, statistics or none. Key columns of time or number types are also bounded
        by the chunk's own range, as constants: on a TimescaleDB hypertable the planner then
        leaves the chunks outside that range out of the plan. Text is not bounded: Polars and
        the column's collation may order it differently.
        """
        types = self._copyable(target).key_types
        names = [sql.Identifier(f"k{i}") for i in range(len(target.key))]
        arrays = sql.SQL(", ").join(
            sql.SQL("CAST({} AS {}[])").format(sql.Placeholder(), sql.SQL(type_name))
            for type_name in types
        )
        conditions = [
            sql.SQL("t.{} = k.{}").format(sql.Identifier(column), name)
            for column, name in zip(target.key, names, strict=True)
        ]
        parameters: list[Any] = [_array_literal(frame.get_column(c)) for c in target.key]
        for column, type_name in zip(target.key, types, strict=True):
            values = frame.get_column(column)
            if values.dtype.is_temporal() or values.dtype.is_numeric():
                conditions.append(
                    sql.SQL("t.{0} BETWEEN CAST({1} AS {2}) AND CAST({1} AS {2})").format(
                        sql.Identifier(column), sql.Placeholder(), sql.SQL(type_name)
                    )
                )
                parameters += [values.min(), values.max()]
        statement = sql.SQL(
            "SELECT k.n FROM unnest({arrays}) WITH ORDINALITY AS k({names}, n) "
            "CROSS JOIN LATERAL (SELECT FROM {target} AS t WHERE {conditions} LIMIT 1) AS t"
        ).format(
            arrays=arrays,
            names=sql.SQL(", ").join(names),
            target=_qualified(target.table),
            conditions=sql.SQL(" AND ").join(conditions),
        )
        with self._probe_plan():
            return [row[0] for row in self.conn.execute(statement, parameters)]

    @contextmanager
    def _probe_plan(self) -> Iterator[None]:
        """For the probe only: no JIT.

        The table being large, the planner compiles the probe's plan with JIT, which took half
        of the probe as a hash join: 0.44-0.52 s per 25,000 keys on 300,000 stored rows,
        0.22-0.29 s without. (Index lookups forced by turning hash and merge joins off instead
        made the planner choose, on a table loaded but not yet analysed, a nested loop over
        sequential scans: minutes per probe. The LATERAL lookup needs no such setting.) The
        setting is set back after the probe (on an error the transaction's rollback undoes it).
        """
        if self.jit is None:
            row = self.conn.execute("SELECT current_setting('jit')").fetchone()
            assert row is not None
            self.jit = row[0]
        self.conn.execute("SELECT set_config('jit', 'off', true)")
        yield
        self.conn.execute("SELECT set_config('jit', %s, true)", (self.jit,))

    def _stage(self, target: Target, columns: list[str]) -> sql.Identifier:
        """An empty TEMP table with exactly the frame's columns, typed like the target's.

        `CREATE TEMP TABLE ... AS SELECT <columns> FROM target WITH NO DATA` rather than
        `(LIKE target INCLUDING DEFAULTS)`: the staging rows then carry no columns the merge
        ignores, and no defaults (gen_random_uuid(), now()) are computed for them; measured
        on 100k usage rows, COPY into it takes 0.25 s instead of 0.42 s. The target's
        defaults apply once, at the INSERT.
        """
        shape = (target.table, tuple(columns))
        stage = self.staged.get(shape)
        if stage is not None:
            self.conn.execute(sql.SQL("TRUNCATE {}").format(stage))
            return stage
        stage = sql.Identifier(f"stage_{len(self.staged)}_{target.table.replace('.', '_')}")
        self.conn.execute(
            sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
                stage,
                sql.SQL(", ").join(map(sql.Identifier, columns)),
                _qualified(target.table),
            )
        )
        self.staged[shape] = stage
        return stage

    def _copy(self, table: sql.Composable, frame: pl.DataFrame) -> None:
        # Polars writes the CSV (nulls as unquoted empty fields, empty strings as ""), which
        # is COPY's csv format, a slice of rows at a time, so the text of the whole frame is
        # never in memory at once.
        statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
            table, sql.SQL(", ").join(map(sql.Identifier, frame.columns))
        )
        with self.conn.cursor() as cursor, cursor.copy(statement) as copy:
            for rows in frame.iter_slices(_COPY_ROWS):
                copy.write(rows.write_csv(include_header=False))

    def _insert(
        self, target: Target, stage: sql.Identifier, columns: list[str], stamp: bool
    ) -> int:
        names = [*columns, "ingest_batch_id"] if stamp else columns
        values: list[sql.Composable] = [sql.Identifier(c) for c in columns]
        if stamp:
            values.append(sql.Placeholder("batch_id"))
        statement = sql.SQL(
            "INSERT INTO {target} AS t ({names}) SELECT {values} FROM {stage} ON CONFLICT ({key}) "
        ).format(
            target=_qualified(target.table),
            names=sql.SQL(", ").join(map(sql.Identifier, names)),
            values=sql.SQL(", ").join(values),
            stage=stage,
            key=sql.SQL(", ").join(map(sql.Identifier, target.key)),
        )
        if target.disposition == "insert_new":
            statement += sql.SQL("DO NOTHING")
        else:
            statement += _upsert_clause(target, columns, stamp)
        with self.conn.cursor() as cursor:
            cursor.execute(statement, {"batch_id": self.batch_id} if stamp else None)
            return cursor.rowcount


def _upsert_clause(target: Target, columns: list[str], stamp: bool) -> sql.Composed:
    version = target.version_column
    if version is None:
        raise SourceContractError(f"{target.table}: upsert_newer needs a version_column")
    changing = [c for c in columns if c not in target.key and c != version]
    updated = [*changing, version]
    if stamp:
        updated.append("ingest_batch_id")
    assignments = sql.SQL(", ").join(
        sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in dict.fromkeys(updated)
    )
    newer = sql.SQL("(t.{0} IS NULL OR t.{0} < EXCLUDED.{0})").format(sql.Identifier(version))
    if not changing:
        return sql.SQL("DO UPDATE SET {} WHERE {}").format(assignments, newer)
    differs = sql.SQL("({}) IS DISTINCT FROM ({})").format(
        sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in changing),
        sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in changing),
    )
    return sql.SQL("DO UPDATE SET {} WHERE {} AND {}").format(assignments, newer, differs)


def _qualified(name: str) -> sql.Composable:
    schema_name, _, table_name = name.rpartition(".")
    if not schema_name:
        return sql.Identifier("public", table_name)
    return sql.Identifier(schema_name, table_name)


def _clean(text: str) -> str:
    """Text PostgreSQL can store: no NUL, no lone surrogates."""
    text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", errors="replace").decode("utf-8")
    return text


def _quarantine(
    conn: psycopg.Connection,
    batch_id: uuid.UUID,
    source: str,
    label: str,
    rejects: list[Reject],
    offset: int,
) -> None:
    if not rejects:
        return
    statement = (
        "COPY raw.quarantine (batch_id, source, source_file, record_number, raw_record, reason) "
        "FROM STDIN"
    )
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        for reject in rejects:
            number = reject.record_number + offset if reject.record_number is not None else None
            copy.write_row(
                (batch_id, source, label, number, _clean(reject.raw_record), _clean(reject.reason))
            )


def _record_failure(
    conn: psycopg.Connection, source: str, label: str, sha256: str, error: Exception
) -> None:
    """A `failed` ledger row in its own transaction; best effort (the database may be gone)."""
    text = f"{type(error).__name__}: {error}"[:ERROR_TEXT_LIMIT]
    try:
        if conn.closed or conn.broken:
            return
        with conn.transaction():
            conn.execute(
                "INSERT INTO raw.ingest_batches "
                "(source, source_file, content_sha256, status, error, finished_at) "
                "VALUES (%s, %s, %s, 'failed', %s, clock_timestamp())",
                (source, label, sha256, _clean(text)),
            )
    except psycopg.Error:
        return
