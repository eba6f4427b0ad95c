"""What the exports read: the relations of schema `marts` from the PostgreSQL catalog, and how
each column type travels PostgreSQL -> CSV (COPY) -> Polars/Parquet -> DuckDB.

Pure functions except `discover_marts`; the type mapping is the contract of the files:
numeric(p,s) stays DECIMAL(p,s), dates stay dates, `timestamptz` becomes a UTC timestamp
(Parquet `isAdjustedToUTC`, DuckDB `TIMESTAMPTZ`), uuid is text in Parquet and UUID in DuckDB,
arrays are lists, everything else is text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import psycopg

MARTS_SCHEMA = "marts"
MARTS_MODELS_DIR = Path(__file__).resolve().parents[3] / "dbt_project" / "models" / "marts"
# Relations dbt leaves in the schema for a moment while it swaps a table in.
_DBT_TRANSIENT = re.compile(r"__dbt_(tmp|backup)$")
_NUMERIC = re.compile(r"numeric\((\d+),(\d+)\)")
# Parquet and DuckDB decimals hold at most 38 digits.
MAX_DECIMAL_PRECISION = 38
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S%.f"
_PG_TIMESTAMP_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.US'

_INTEGERS: dict[str, tuple[pl.DataType, str]] = {
    "int2": (pl.Int16(), "SMALLINT"),
    "int4": (pl.Int32(), "INTEGER"),
    "int8": (pl.Int64(), "BIGINT"),
    "float4": (pl.Float32(), "REAL"),
    "float8": (pl.Float64(), "DOUBLE"),
}
_TEXT = {"text", "varchar", "bpchar", "name", "citext", "char"}
# Array elements exported as lists (others: the array's text form).
_LIST_ELEMENTS: dict[str, tuple[pl.DataType, str]] = {
    **_INTEGERS,
    **{name: (pl.String(), "VARCHAR") for name in _TEXT},
    "uuid": (pl.String(), "UUID"),
    "bool": (pl.Boolean(), "BOOLEAN"),
}


@dataclass(frozen=True)
class Column:
    name: str
    type_name: str  # pg_type.typname: int4, numeric, _text, ...
    sql_type: str  # format_type(): numeric(15,2), text[], timestamp with time zone, ...
    element_type: str | None = None  # typname of an array's element
    description: str | None = None


@dataclass(frozen=True)
class Mart:
    name: str
    columns: tuple[Column, ...]
    description: str | None = None


@dataclass(frozen=True)
class ColumnPlan:
    """How one column is read (SQL in the COPY), parsed (CSV dtype), typed (Polars) and
    declared in DuckDB."""

    select_sql: str
    csv_dtype: pl.DataType
    parquet_dtype: pl.DataType
    duckdb_type: str
    post: pl.Expr | None = field(default=None, compare=False)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def mart_models(models_dir: Path = MARTS_MODELS_DIR) -> list[str]:
    """The dbt mart models of the project: the `.sql` files under models/marts."""
    if not models_dir.is_dir():
        return []
    return sorted({path.stem for path in models_dir.rglob("*.sql")})


def numeric_precision(sql_type: str) -> tuple[int, int] | None:
    match = _NUMERIC.fullmatch(sql_type.replace(" ", ""))
    return (int(match.group(1)), int(match.group(2))) if match else None


def column_plan(column: Column) -> ColumnPlan:
    ident = quote_ident(column.name)
    kind = column.type_name
    if kind in _INTEGERS:
        dtype, duck = _INTEGERS[kind]
        return ColumnPlan(ident, dtype, dtype, duck)
    if kind == "numeric":
        precision = numeric_precision(column.sql_type)
        if precision and precision[0] <= MAX_DECIMAL_PRECISION:
            p, s = precision
            return ColumnPlan(ident, pl.Decimal(p, s), pl.Decimal(p, s), f"DECIMAL({p},{s})")
        # Unconstrained (or wider than 38 digits): no exact fixed-point type fits.
        return ColumnPlan(f"{ident}::float8", pl.Float64(), pl.Float64(), "DOUBLE")
    if kind == "bool":
        sql = f"CASE WHEN {ident} THEN 'true' WHEN NOT {ident} THEN 'false' END"
        return ColumnPlan(sql, pl.Boolean(), pl.Boolean(), "BOOLEAN")
    if kind == "date":
        return ColumnPlan(ident, pl.Date(), pl.Date(), "DATE")
    if kind in ("timestamptz", "timestamp"):
        aware = kind == "timestamptz"
        value = f"{ident} AT TIME ZONE 'UTC'" if aware else ident
        sql = f"to_char({value}, '{_PG_TIMESTAMP_FORMAT}')"
        dtype = pl.Datetime("us", "UTC" if aware else None)
        post = pl.col(column.name).str.to_datetime(
            TIMESTAMP_FORMAT, time_unit="us", time_zone="UTC" if aware else None
        )
        return ColumnPlan(sql, pl.String(), dtype, "TIMESTAMPTZ" if aware else "TIMESTAMP", post)
    if kind == "uuid":
        return ColumnPlan(ident, pl.String(), pl.String(), "UUID")
    if kind in _TEXT:
        return ColumnPlan(ident, pl.String(), pl.String(), "VARCHAR")
    if column.element_type in _LIST_ELEMENTS:
        inner, duck = _LIST_ELEMENTS[column.element_type]
        dtype = pl.List(inner)
        post = pl.col(column.name).str.json_decode(dtype)
        return ColumnPlan(f"array_to_json({ident})::text", pl.String(), dtype, f"{duck}[]", post)
    # json, jsonb, interval, time, enums, ...: their text form.
    return ColumnPlan(f"{ident}::text", pl.String(), pl.String(), "VARCHAR")


def copy_sql(schema: str, mart: Mart) -> str:
    """`COPY (SELECT ...) TO STDOUT` in CSV with a header, one expression per column."""
    columns = ", ".join(
        f"{column_plan(c).select_sql} AS {quote_ident(c.name)}" for c in mart.columns
    )
    relation = f"{quote_ident(schema)}.{quote_ident(mart.name)}"
    return f"COPY (SELECT {columns} FROM {relation}) TO STDOUT WITH (FORMAT csv, HEADER true)"


def csv_schema(mart: Mart) -> dict[str, pl.DataType]:
    return {c.name: column_plan(c).csv_dtype for c in mart.columns}


def post_casts(mart: Mart) -> list[pl.Expr]:
    return [plan.post for c in mart.columns if (plan := column_plan(c)).post is not None]


def duckdb_create_sql(mart: Mart) -> str:
    columns = ",\n  ".join(
        f"{quote_ident(c.name)} {column_plan(c).duckdb_type}" for c in mart.columns
    )
    return f"CREATE TABLE {quote_ident(mart.name)} (\n  {columns}\n)"


def duckdb_insert_sql(mart: Mart, parquet_path: Path) -> str:
    casts = ", ".join(
        f"CAST({quote_ident(c.name)} AS {column_plan(c).duckdb_type})" for c in mart.columns
    )
    source = str(parquet_path).replace("'", "''")
    return f"INSERT INTO {quote_ident(mart.name)} SELECT {casts} FROM read_parquet('{source}')"


def duckdb_comment_sql(mart: Mart) -> list[str]:
    """The PostgreSQL comments (dbt's persisted docs) as DuckDB comments."""

    def literal(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    table = quote_ident(mart.name)
    statements = []
    if mart.description:
        statements.append(f"COMMENT ON TABLE {table} IS {literal(mart.description)}")
    statements += [
        f"COMMENT ON COLUMN {table}.{quote_ident(c.name)} IS {literal(c.description)}"
        for c in mart.columns
        if c.description
    ]
    return statements


_CATALOG_SQL = """
SELECT c.relname AS table_name,
       obj_description(c.oid, 'pg_class') AS table_description,
       a.attname AS column_name,
       t.typname AS type_name,
       format_type(a.atttypid, a.atttypmod) AS sql_type,
       element.typname AS element_type,
       col_description(c.oid, a.attnum) AS column_description
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type AS t ON t.oid = a.atttypid
LEFT JOIN pg_type AS element ON element.oid = t.typelem AND t.typcategory = 'A'
WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm')
ORDER BY c.relname, a.attnum
"""


def marts_from_rows(
    rows: Sequence[tuple[str, str | None, str, str, str, str | None, str | None]],
) -> list[Mart]:
    """Group catalog rows (one per column, ordered by table and position) into marts."""
    marts: dict[str, tuple[str | None, list[Column]]] = {}
    for table, table_doc, name, type_name, sql_type, element, doc in rows:
        if _DBT_TRANSIENT.search(table):
            continue
        marts.setdefault(table, (table_doc, []))[1].append(
            Column(name, type_name, sql_type, element, doc)
        )
    return [Mart(name, tuple(columns), doc) for name, (doc, columns) in sorted(marts.items())]


def discover_marts(conn: psycopg.Connection, schema: str = MARTS_SCHEMA) -> list[Mart]:
    """Every table, view and materialized view of `schema` now, with its columns in order."""
    return marts_from_rows(conn.execute(_CATALOG_SQL, (schema,)).fetchall())
