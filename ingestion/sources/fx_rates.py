"""Source `fx_rates`: daily exchange rates to the reporting currency, CSV -> `raw.fx_rates`.

Format: CSV (UTF-8, optionally gzipped), comma-separated, a header row, one rate per line;
files `<landing>/fx_rates/**/*.csv[.gz]`. Columns (header names in any order and case;
other columns are ignored):

- `date` (required, YYYY-MM-DD) -> rate_date
- `currency` (required, ISO 4217 code: three capital letters)
- `rate` (required, decimal > 0 with a dot, at most 8 places): units of the reporting
  currency for one unit of `currency`; 1 for the reporting currency itself

Write disposition: `upsert_newer` on (rate_date, currency) with version `ingested_at`: a
later file with a different rate for the same day and currency corrects the stored one (the
correction counts as loaded, and the row's ingest_batch_id points at the correcting batch);
the same rate again changes nothing and counts as a duplicate. Within one file the first
row for a day and currency wins and later ones count as duplicates. Cursor: none.
"""

from __future__ import annotations

import polars as pl

from ingestion.parsing import validate as v
from ingestion.parsing.contract import ParseContext, Parsed, Target
from ingestion.parsing.records import read_csv

TABLE = "raw.fx_rates"
FIELDS = ("date", "currency", "rate")


class FxRatesSource:
    name = "fx_rates"
    file_patterns = ("*.csv", "*.csv.gz")
    primary = Target(
        TABLE,
        key=("rate_date", "currency"),
        disposition="upsert_newer",
        version_column="ingested_at",
    )
    secondary: tuple[Target, ...] = ()
    derived_sql: tuple[str, ...] = ()
    derived_tables: tuple[str, ...] = ()

    def parse(self, data: bytes, file_name: str, context: ParseContext) -> Parsed:
        records = read_csv(data, FIELDS, FIELDS)
        reporting = context.reporting_currency
        not_one = (pl.col("currency") == reporting) & (
            pl.col("rate").cast(pl.Float64, strict=False) != 1
        )
        checks = [
            *(v.required(name) for name in FIELDS),
            v.date("date"),
            v.currency("currency"),
            v.numeric(TABLE, "rate", above=0),
            pl.when(not_one).then(
                v.says("rate", f"must be 1 for the reporting currency {reporting}")
            ),
        ]
        valid, rejects = v.split_valid(records.frame, checks, records.rejects)
        rows = valid.select(
            v.as_date("date").alias("rate_date"),
            pl.col("currency"),
            v.as_numeric(TABLE, "rate").alias("rate"),
        )
        days = rows.select(pl.col("rate_date").cast(pl.Datetime("us", "UTC")).alias("at"))
        low, high = v.event_range(days, "at")
        return Parsed(records.records_in, {TABLE: rows}, rejects, low, high)


SOURCE = FxRatesSource()
