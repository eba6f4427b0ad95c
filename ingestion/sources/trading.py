"""Source `trading`: trade fills with fees, profit and bot usage, CSV -> two tables.

Format: CSV (UTF-8, optionally gzipped), comma-separated, a header row, one fill per line;
files `<landing>/trading/**/*.csv[.gz]`. Columns (header names in any order and case; other
columns are ignored):

- `fill_id` (required, text <= 255) -> source_record_id of both tables
- `tenant_id`, `user_id` (required, UUIDs of a known tenant and user)
- `trade_id` (required, text <= 255; a trade has one or more fills)
- `asset_type` (required: crypto, forex, stocks, commodities)
- `symbol` (text <= 50, e.g. BTC/USDT), `side` (buy, sell), `bot_id` (text <= 255):
  optional, kept in `metadata`
- `trade_amount` (required, decimal > 0, 2 places)
- `profit_amount` (required, decimal, 2 places; negative is a loss)
- `commission_rate` (required, decimal 0..1, 4 places: 0.0150 is 1.5 %)
- `commission_amount` (required, decimal >= 0, 2 places): the fee charged
- `filled_at` (required, ISO-8601 date-time with zone) -> trade_date
- `resource_type` (optional: bot_execution, signal_analysis, market_data, backtesting,
  paper_trading): the fill used a paid resource; then also
  `resource_seconds` (required with it, whole number >= 0) -> usage_duration,
  `resource_units` (whole number >= 1, default 1) -> usage_count,
  `resource_unit_cost` (required with it, decimal >= 0, 4 places) -> cost_per_unit

Targets:
- primary `public.trading_commissions`, one row per fill: `insert_new` on
  `source_record_id` = fill_id (a re-delivered fill is a duplicate). `created_at` is the
  fill time; `metadata` holds symbol, side and bot_id.
- secondary `public.trading_resource_usage`, one row per fill that names a
  `resource_type`: `insert_new` on `source_record_id` = fill_id. `total_cost` =
  resource_units x resource_unit_cost rounded half up to cents; the billing period is the
  UTC calendar month of the fill (`billing_period_start` inclusive, `_end` exclusive).
Cursor: none; the ledger's content hash makes a file load once.
"""

from __future__ import annotations

import polars as pl

from ingestion.parsing import validate as v
from ingestion.parsing.contract import ParseContext, Parsed, Target
from ingestion.parsing.records import read_csv

COMMISSIONS = "public.trading_commissions"
RESOURCES = "public.trading_resource_usage"
FIELDS = (
    "fill_id",
    "tenant_id",
    "user_id",
    "trade_id",
    "asset_type",
    "symbol",
    "side",
    "bot_id",
    "trade_amount",
    "profit_amount",
    "commission_rate",
    "commission_amount",
    "filled_at",
    "resource_type",
    "resource_seconds",
    "resource_units",
    "resource_unit_cost",
)
REQUIRED = (
    "fill_id",
    "tenant_id",
    "user_id",
    "trade_id",
    "asset_type",
    "trade_amount",
    "profit_amount",
    "commission_rate",
    "commission_amount",
    "filled_at",
)
SIDES = ("buy", "sell")
SYMBOL_LENGTH = 50


def _needed_with_resource(field: str) -> pl.Expr:
    missing = pl.col("resource_type").is_not_null() & pl.col(field).is_null()
    return pl.when(missing).then(pl.lit(f"{field} is missing: it is required with resource_type"))


def _total_cost(units: str, unit_cost: str) -> pl.Expr:
    """units x unit cost (4 places), rounded half up to cents, exactly (in integers)."""
    ten_thousandths = (v.as_numeric(RESOURCES, unit_cost, "cost_per_unit") * 10_000).cast(pl.Int64)
    total = ten_thousandths * v.as_int(units).fill_null(1)
    cents = (total + 50) // 100  # never negative: units >= 1, unit cost >= 0
    text = pl.format("{}.{}", cents // 100, (cents % 100).cast(pl.String).str.zfill(2))
    return text.cast(pl.Decimal(*v.numeric_shape(RESOURCES, "total_cost")))


def _total_cost_fits() -> pl.Expr:
    precision, scale = v.numeric_shape(RESOURCES, "total_cost")
    limit = 10 ** (precision - scale)
    cost = pl.col("resource_unit_cost").cast(pl.Float64, strict=False) * pl.col(
        "resource_units"
    ).cast(pl.Float64, strict=False).fill_null(1)
    return pl.when(pl.col("resource_type").is_not_null() & (cost >= limit)).then(
        pl.format(
            f"resource_units x resource_unit_cost = {{}} is too large: the total must be "
            f"below {limit}",
            cost,
        )
    )


class TradingSource:
    name = "trading"
    file_patterns = ("*.csv", "*.csv.gz")
    primary = Target(COMMISSIONS, key=("source_record_id",), disposition="insert_new")
    secondary = (Target(RESOURCES, key=("source_record_id",), disposition="insert_new"),)
    derived_sql: tuple[str, ...] = ()
    derived_tables: tuple[str, ...] = ()

    def parse(self, data: bytes, file_name: str, context: ParseContext) -> Parsed:
        records = read_csv(data, FIELDS, REQUIRED)
        checks = [
            *(v.required(name) for name in REQUIRED),
            v.text_fits(COMMISSIONS, "fill_id", "source_record_id"),
            *v.tenant_and_user(context),
            v.text_fits(COMMISSIONS, "trade_id"),
            v.one_of("asset_type", v.allowed_values(COMMISSIONS, "asset_type")),
            v.longest("symbol", SYMBOL_LENGTH),
            v.one_of("side", SIDES),
            v.longest("bot_id", 255),
            v.numeric(COMMISSIONS, "trade_amount", above=0),
            v.numeric(COMMISSIONS, "profit_amount"),
            v.numeric(COMMISSIONS, "commission_rate", minimum=0, maximum=1),
            v.numeric(COMMISSIONS, "commission_amount", minimum=0),
            v.timestamp("filled_at"),
            v.one_of("resource_type", v.allowed_values(RESOURCES, "resource_type")),
            _needed_with_resource("resource_seconds"),
            _needed_with_resource("resource_unit_cost"),
            v.integer("resource_seconds", minimum=0),
            v.integer("resource_units", minimum=1),
            v.numeric(RESOURCES, "resource_unit_cost", "cost_per_unit", minimum=0),
            _total_cost_fits(),
        ]
        valid, rejects = v.split_valid(records.frame, checks, records.rejects)
        rows = valid.with_columns(v.as_timestamp("filled_at").alias("_at")).sort(
            "_at", maintain_order=True
        )
        commissions = rows.select(
            v.as_uuid("tenant_id").alias("tenant_id"),
            v.as_uuid("user_id").alias("user_id"),
            pl.col("trade_id"),
            pl.col("asset_type"),
            v.as_numeric(COMMISSIONS, "trade_amount").alias("trade_amount"),
            v.as_numeric(COMMISSIONS, "profit_amount").alias("profit_amount"),
            v.as_numeric(COMMISSIONS, "commission_rate").alias("commission_rate"),
            v.as_numeric(COMMISSIONS, "commission_amount").alias("commission_amount"),
            pl.col("_at").alias("trade_date"),
            pl.struct("symbol", "side", "bot_id").struct.json_encode().alias("metadata"),
            pl.col("_at").alias("created_at"),
            pl.col("fill_id").alias("source_record_id"),
        )
        month = pl.col("_at").dt.truncate("1mo")
        resources = rows.filter(pl.col("resource_type").is_not_null()).select(
            v.as_uuid("tenant_id").alias("tenant_id"),
            v.as_uuid("user_id").alias("user_id"),
            pl.col("resource_type"),
            v.as_int("resource_seconds").cast(pl.Int32).alias("usage_duration"),
            v.as_int("resource_units").fill_null(1).cast(pl.Int32).alias("usage_count"),
            v.as_numeric(RESOURCES, "resource_unit_cost", "cost_per_unit").alias("cost_per_unit"),
            _total_cost("resource_units", "resource_unit_cost").alias("total_cost"),
            month.alias("billing_period_start"),
            month.dt.offset_by("1mo").alias("billing_period_end"),
            pl.struct("trade_id", "bot_id").struct.json_encode().alias("metadata"),
            pl.col("_at").alias("created_at"),
            pl.col("fill_id").alias("source_record_id"),
        )
        low, high = v.event_range(commissions, "trade_date")
        return Parsed(
            records.records_in, {COMMISSIONS: commissions, RESOURCES: resources}, rejects, low, high
        )


SOURCE = TradingSource()
