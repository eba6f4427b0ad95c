"""Source `expenses`: the company's operating expenses, CSV -> `raw.expenses`.

Format: CSV (UTF-8, optionally gzipped), comma-separated, a header row, one expense per
line; files `<landing>/expenses/**/*.csv[.gz]`. Columns (header names in any order and
case; other columns are ignored):

- `date` (required, YYYY-MM-DD) -> expense_date
- `category` (required, text <= 50, stored in lower case; e.g. infrastructure, marketing,
  payroll, software, office, taxes)
- `vendor` (required, text <= 255)
- `amount` (required, decimal > 0 with a dot, 2 places)
- `currency` (required, ISO 4217 code: three capital letters)
- `description` (optional text)
- `expense_id` (optional, text <= 255: the id in the accounting system) -> source_record_id

Write disposition: `insert_new` on `source_record_id`: the expense_id, or, when the file
has none, `sha256:` and the SHA-256 of the row's normalised values (date, category, vendor,
amount to the cent, currency, description). So re-sending a row is a duplicate, and two
identical expenses without ids are one: give them expense ids to keep them apart. A
corrected expense needs a new id (expenses are facts; corrections are new rows). Cursor:
none.
"""

from __future__ import annotations

import hashlib

import polars as pl

from ingestion.parsing import validate as v
from ingestion.parsing.contract import ParseContext, Parsed, Target
from ingestion.parsing.records import read_csv

TABLE = "raw.expenses"
FIELDS = ("date", "category", "vendor", "amount", "currency", "description", "expense_id")
REQUIRED = ("date", "category", "vendor", "amount", "currency")
_HASHED = ("expense_date", "category", "vendor", "amount", "currency", "description")


def row_hash(values: dict[str, object]) -> str:
    """`sha256:<hex>` of the normalised values, the id of an expense that has none."""
    text = "\x1f".join("" if values[name] is None else str(values[name]) for name in _HASHED)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


class ExpensesSource:
    name = "expenses"
    file_patterns = ("*.csv", "*.csv.gz")
    primary = Target(TABLE, key=("source_record_id",), disposition="insert_new")
    secondary: tuple[Target, ...] = ()
    derived_sql: tuple[str, ...] = ()
    derived_tables: tuple[str, ...] = ()

    def parse(self, data: bytes, file_name: str, context: ParseContext) -> Parsed:
        records = read_csv(data, FIELDS, REQUIRED)
        checks = [
            *(v.required(name) for name in REQUIRED),
            v.date("date"),
            v.text_fits(TABLE, "category"),
            v.text_fits(TABLE, "vendor"),
            v.numeric(TABLE, "amount", above=0),
            v.currency("currency"),
            v.text_fits(TABLE, "expense_id", "source_record_id"),
        ]
        valid, rejects = v.split_valid(records.frame, checks, records.rejects)
        rows = valid.select(
            v.as_date("date").alias("expense_date"),
            pl.col("category").str.to_lowercase(),
            pl.col("vendor"),
            v.as_numeric(TABLE, "amount").alias("amount"),
            pl.col("currency"),
            pl.col("description"),
            pl.col("expense_id"),
        )
        hashed = pl.struct(*_HASHED).map_elements(row_hash, return_dtype=pl.String)
        rows = rows.select(
            pl.coalesce(pl.col("expense_id"), hashed).alias("source_record_id"),
            *(pl.col(name) for name in _HASHED),
        ).sort("expense_date", maintain_order=True)
        days = rows.select(pl.col("expense_date").cast(pl.Datetime("us", "UTC")).alias("at"))
        low, high = v.event_range(days, "at")
        return Parsed(records.records_in, {TABLE: rows}, rejects, low, high)


SOURCE = ExpensesSource()
