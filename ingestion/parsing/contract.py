"""The contract between a landing source and the loader.

A source turns the bytes of one landing file into rows per target table and a list of the
records it refused; it never touches the database. The loader (`ingestion.load`) owns the
ledger, the quarantine, COPY and the merge, the same for every source.

Counting: each input record (a line of JSONL, a row of CSV or Parquet) is either accepted or
rejected. Every accepted record yields exactly one row of the source's *primary* target,
whose natural key identifies the record; the loader counts a record as loaded when that row
is new and as a duplicate when the key already exists. Other targets (secondary rows derived
from the same records, e.g. a subscription's current state) are merged in the same
transaction and do not enter the count. So `records_in = loaded + quarantined + duplicates`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

import polars as pl

WriteDisposition = Literal["insert_new", "upsert_newer"]


@dataclass(frozen=True)
class Target:
    """A table a source writes, and how rows merge into it.

    - `insert_new`: rows whose `key` exists already are skipped (append-only facts: events,
      transactions, fills).
    - `upsert_newer`: rows replace the existing row with the same `key` when their
      `version_column` is newer (current-state tables such as billing_subscriptions).
    """

    table: str  # schema-qualified: "public.financial_transactions", "raw.stripe_events"
    key: tuple[str, ...]  # natural key; a unique index on exactly these columns must exist
    disposition: WriteDisposition = "insert_new"
    version_column: str | None = None  # required for upsert_newer


@dataclass(frozen=True)
class Reject:
    """One refused input record, kept verbatim with a reason a person can act on."""

    record_number: int | None  # 1-based line or row in the file; None when unknowable
    raw_record: str  # as it arrived (invalid UTF-8 decoded with replacement characters)
    reason: str  # e.g. "amount '12,50' is not a number: use a dot as decimal separator"


@dataclass
class Parsed:
    """What a source made of one file."""

    records_in: int
    # Rows per target table name (Target.table); the columns are target column names.
    # The primary target's frame has one row per accepted record.
    tables: dict[str, pl.DataFrame]
    rejects: list[Reject] = field(default_factory=list)
    # Event-time range of the accepted records, for the ledger and asset metadata.
    min_event_at: datetime | None = None
    max_event_at: datetime | None = None


@dataclass(frozen=True)
class ParseContext:
    """What a source may need to validate against: the database's reference data."""

    known_tenant_ids: frozenset[str]
    known_user_ids: frozenset[str]
    # subscription_plans rows by slug and by stripe_price_id: {"slug": ..., "id": ...,
    # "price": Decimal, "currency": ..., "billing_cycle": ...}
    plans: Mapping[str, Mapping[str, object]]
    reporting_currency: str = "BRL"


class Source(Protocol):
    """A landing source: one module under `ingestion/sources/` (its helpers named after it,
    e.g. `payments_rows`), documented in docs/landing.md."""

    name: str  # "payments", "tracking", ...; also the landing sub-folder name
    file_patterns: tuple[str, ...]  # glob patterns within the landing sub-folder
    primary: Target
    secondary: tuple[Target, ...]

    # SQL run after the merge, in the same transaction, with the parameter `batch_id` (the
    # raw.ingest_batches id stamped on the rows just merged): for tables derived from what
    # landed rather than landed themselves, e.g. visitor_sessions from visitor_tracking.
    derived_sql: tuple[str, ...]
    # The tables `derived_sql` writes ("public.visitor_sessions"), for lineage.
    derived_tables: tuple[str, ...]

    def parse(self, data: bytes, file_name: str, context: ParseContext) -> Parsed: ...


# Runs one read-only query (psycopg placeholders, e.g. `%(ids)s`) in the load's transaction.
ReferenceQuery = Callable[[str, Mapping[str, Any]], Sequence[tuple[Any, ...]]]


@runtime_checkable
class ReferencingSource(Source, Protocol):
    """A source whose records refer to other records: a refund to its charge, a charge to the
    invoice it pays. The loader parses its files whole (never in chunks, so references
    within a file resolve) and, before parsing, lets it read the rows already loaded that
    the file refers to.
    """

    def with_references(
        self, data: bytes, context: ParseContext, query: ReferenceQuery
    ) -> ParseContext: ...


@runtime_checkable
class FinishingSource(Source, Protocol):
    """A source whose primary rows carry columns that cost much to compute (enrichment) and
    that finding stored keys does not need. The loader parses with `parse_unfinished` (every
    column there, the costly ones null), drops the rows whose key is stored, and has the
    source `finish` the rest: a re-delivered file is then not enriched again.
    """

    def parse_unfinished(self, data: bytes, file_name: str, context: ParseContext) -> Parsed: ...

    def finish(self, table: str, frame: pl.DataFrame) -> pl.DataFrame:
        """`frame` (rows of `parse_unfinished`'s `table`) as `parse` would have made those
        rows: the same rows in the same order, the same columns."""
        ...
