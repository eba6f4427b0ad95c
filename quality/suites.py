"""The expectation suites, as data: what every ingested table and key mart must satisfy.

One `TableSuite` per table; each expectation says whether it is *blocking* (it protects money
or identity: a failure stops what is downstream) or a warning. The enumerations come from the
seed's column comments (the same lists as the schema's CHECK constraints), Stripe's statuses
and ISO 4217 from the payments source; the column types from `core.db.schema`, so a
table that drifted from its migration fails its type expectations.

Expectations that need more than one column or another table (referential coverage,
timestamps not in the future, conditional uniqueness) are SQL: `Rows` holds a query over
`{batch}` (Great Expectations' placeholder for the table) that returns the offending rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.dialects import postgresql

from core.db import schema
from ingestion.sources.stripe_objects import CURRENCY_EXPONENTS

ISO_CURRENCIES: tuple[str, ...] = tuple(sorted(CURRENCY_EXPONENTS))
# Stripe's subscription statuses, verbatim in raw.subscription_events.
STRIPE_SUBSCRIPTION_STATUSES = (
    "trialing", "active", "past_due", "unpaid", "canceled", "incomplete",
    "incomplete_expired", "paused",
)  # fmt: skip
REVENUE_TYPES = ("subscription", "commission", "usage", "other")
TRACKING_EVENT_TYPES = ("pageview", "event", "conversion")
# Clock skew tolerated between the collectors and the database before a timestamp is "future".
FUTURE_TOLERANCE = "5 minutes"
# Stands for "now" in the queries: the database's now(), or a fixed instant (tests, backfills).
NOW = "{now}"
MAX_ROWS = 10_000_000_000
# What every hypertable is partitioned on (core.db.timescale).
HYPERTABLE_TIME_COLUMN = "created_at"


@dataclass(frozen=True)
class Expectation:
    """One rule. `name` is what the check's metadata and Data Docs call it."""

    name: str
    blocking: bool


@dataclass(frozen=True)
class NotNull(Expectation):
    column: str


@dataclass(frozen=True)
class Unique(Expectation):
    columns: tuple[str, ...]


@dataclass(frozen=True)
class InSet(Expectation):
    column: str
    values: tuple[str | int, ...]


@dataclass(frozen=True)
class Between(Expectation):
    column: str
    min_value: float | None = None
    max_value: float | None = None
    strict_min: bool = False


@dataclass(frozen=True)
class OfType(Expectation):
    column: str
    type_name: str


@dataclass(frozen=True)
class RowCount(Expectation):
    min_value: int
    max_value: int = MAX_ROWS


@dataclass(frozen=True)
class Rows(Expectation):
    """No row returned by `query` (SQL over `{batch}`, the table): the rows returned break it."""

    query: str
    description: str


# Rules about the table as a whole, not about its rows: new rows cannot break its column types,
# nor its row count's bounds. A validation of the recent rows only leaves them to the
# validations of every row (GX cannot read column types off a query either).
TABLE_RULES = (OfType, RowCount)


@dataclass(frozen=True)
class TableSuite:
    schema: str
    table: str
    expectations: tuple[Expectation, ...] = field(default_factory=tuple)

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def time_column(self) -> str | None:
        """The column a validation of only the recent rows selects them by: `created_at` of
        the event tables, TimescaleDB's partitioning column (indexed on plain PostgreSQL), so
        such a validation reads only the recent chunks. None: always every row."""
        if self.schema == "public" and self.table in schema.HYPERTABLES:
            return HYPERTABLE_TIME_COLUMN
        return None

    @property
    def asset_key_path(self) -> list[str]:
        return [self.schema, self.table]

    def part(self, *, blocking: bool) -> tuple[Expectation, ...]:
        return tuple(e for e in self.expectations if e.blocking == blocking)


# --- building blocks ------------------------------------------------------------------------


def _types(
    table: str, *columns: str, blocking: bool = False, schema_name: str = "public"
) -> list[Expectation]:
    """Type expectations from the migrated schema: the live table still matches it."""
    key = table if schema_name == "public" else f"{schema_name}.{table}"
    definition = schema.metadata.tables[key]
    return [
        OfType(
            f"{column}_type",
            blocking,
            column,
            str(definition.c[column].type.compile(dialect=postgresql.dialect())),
        )
        for column in columns
    ]


def _not_null(*columns: str, blocking: bool) -> list[Expectation]:
    return [NotNull(f"{column}_not_null", blocking, column) for column in columns]


def _positive(*columns: str, blocking: bool) -> list[Expectation]:
    return [
        Between(f"{column}_positive", blocking, column, min_value=0, strict_min=True)
        for column in columns
    ]


def _not_negative(*columns: str, blocking: bool) -> list[Expectation]:
    return [Between(f"{column}_not_negative", blocking, column, min_value=0) for column in columns]


def _currency_iso_4217(column: str = "currency") -> Expectation:
    return InSet("currency_iso_4217", True, column, ISO_CURRENCIES)


def _not_future(column: str, *, blocking: bool) -> Expectation:
    return Rows(
        f"{column}_not_in_future",
        blocking,
        f"SELECT {column} FROM {{batch}} "
        f"WHERE {column} > {NOW}::timestamptz + interval '{FUTURE_TOLERANCE}'",
        f"{column} is not in the future (more than {FUTURE_TOLERANCE} ahead of the database)",
    )


def _date_not_future(column: str, *, blocking: bool) -> Expectation:
    return Rows(
        f"{column}_not_in_future",
        blocking,
        f"SELECT {column} FROM {{batch}} WHERE {column} > {NOW}::date + 1",
        f"{column} is not after tomorrow",
    )


def _exists(column: str, target: str, *, blocking: bool) -> Expectation:
    """Referential coverage: every non-null `column` is an id of `target` (public.tenants...)."""
    return Rows(
        f"{column}_exists",
        blocking,
        f"SELECT {column} FROM {{batch}} WHERE {column} IS NOT NULL "
        f"AND {column} NOT IN (SELECT id FROM {target})",
        f"every {column} is an id of {target}",
    )


def _tenant_and_user(*, blocking: bool, user_blocking: bool | None = None) -> list[Expectation]:
    return [
        _exists("tenant_id", "public.tenants", blocking=blocking),
        _exists(
            "user_id", "public.users", blocking=blocking if user_blocking is None else user_blocking
        ),
    ]


def _rows(minimum: int = 1) -> Expectation:
    return RowCount("row_count_in_bounds", False, minimum)


# --- the suites -----------------------------------------------------------------------------

SUITES: tuple[TableSuite, ...] = (
    TableSuite(
        "public",
        "financial_transactions",
        (
            *_not_null("id", "tenant_id", "user_id", "amount", "currency", blocking=True),
            Unique("id_unique", True, ("id",)),
            InSet(
                "transaction_type_valid",
                True,
                "transaction_type",
                ("payment", "refund", "chargeback", "adjustment"),
            ),
            InSet("status_valid", True, "status", ("pending", "completed", "failed", "cancelled")),
            _currency_iso_4217(),
            *_positive("amount", blocking=True),
            _not_future("created_at", blocking=True),
            _not_future("processed_at", blocking=True),
            Rows(
                "revenue_type_valid",
                True,
                "SELECT id, metadata->>'revenue_type' AS revenue_type FROM {batch} "
                "WHERE metadata ? 'revenue_type' AND metadata->>'revenue_type' NOT IN "
                f"({', '.join(repr(t) for t in REVENUE_TYPES)})",
                f"metadata.revenue_type is one of {', '.join(REVENUE_TYPES)}",
            ),
            Rows(
                "charge_id_unique_per_payment",
                True,
                "SELECT stripe_charge_id, count(*) AS payments FROM {batch} "
                "WHERE transaction_type = 'payment' AND stripe_charge_id IS NOT NULL "
                "GROUP BY stripe_charge_id HAVING count(*) > 1",
                "no provider charge id is booked as two payments (money counted twice)",
            ),
            Rows(
                "charge_id_present_when_loaded",
                True,
                "SELECT id, source_record_id FROM {batch} "
                "WHERE ingest_batch_id IS NOT NULL AND stripe_charge_id IS NULL",
                "every ledger row loaded from the payment provider carries its charge id",
            ),
            *_tenant_and_user(blocking=True),
            *_types("financial_transactions", "id", "amount", "currency", "created_at"),
            _rows(),
        ),
    ),
    TableSuite(
        "public",
        "billing_subscriptions",
        (
            *_not_null("tenant_id", "plan_id", "status", blocking=True),
            Unique("stripe_subscription_id_unique", True, ("stripe_subscription_id",)),
            InSet("status_valid", True, "status", ("active", "cancelled", "past_due", "unpaid")),
            _exists("tenant_id", "public.tenants", blocking=True),
            Rows(
                "period_ordered",
                False,
                "SELECT id FROM {batch} WHERE current_period_end < current_period_start",
                "current_period_end is not before current_period_start",
            ),
            *_types("billing_subscriptions", "id", "current_period_start"),
            _rows(),
        ),
    ),
    TableSuite(
        "raw",
        "stripe_events",
        (
            *_not_null("id", "type", "created_at", "object_id", blocking=True),
            Unique("id_unique", True, ("id",)),
            _not_future("created_at", blocking=False),
            _exists("tenant_id", "public.tenants", blocking=False),
            *_types("stripe_events", "created_at", "payload", schema_name="raw"),
            _rows(),
        ),
    ),
    TableSuite(
        "raw",
        "subscription_events",
        (
            *_not_null("event_id", "subscription_id", "tenant_id", "status", blocking=True),
            Unique("event_id_unique", True, ("event_id",)),
            InSet("status_stripe", True, "status", STRIPE_SUBSCRIPTION_STATUSES),
            _currency_iso_4217(),
            InSet("billing_cycle_valid", True, "billing_cycle", ("monthly", "quarterly", "yearly")),
            *_not_negative("unit_amount", blocking=True),
            *_positive("quantity", blocking=True),
            _not_future("event_created_at", blocking=True),
            *_tenant_and_user(blocking=True, user_blocking=False),
            *_types("subscription_events", "event_created_at", "unit_amount", schema_name="raw"),
            _rows(),
        ),
    ),
    TableSuite(
        "public",
        "visitor_tracking",
        (
            *_not_null("session_id", "page_url", "created_at", blocking=False),
            InSet("ip_version_valid", False, "ip_version", (4, 6)),
            Between("latitude_range", False, "latitude", min_value=-90, max_value=90),
            Between("longitude_range", False, "longitude", min_value=-180, max_value=180),
            *_not_negative("visit_duration", blocking=False),
            _not_future("created_at", blocking=False),
            Rows(
                "event_type_valid",
                False,
                "SELECT id, metadata->>'event_type' AS event_type FROM {batch} "
                "WHERE metadata->>'event_type' IS NULL OR metadata->>'event_type' NOT IN "
                f"({', '.join(repr(t) for t in TRACKING_EVENT_TYPES)})",
                f"metadata.event_type is one of {', '.join(TRACKING_EVENT_TYPES)}",
            ),
            *_types("visitor_tracking", "ip_address", "latitude", "created_at"),
            _rows(),
        ),
    ),
    TableSuite(
        "public",
        "visitor_sessions",
        (
            *_not_null("session_id", "first_visit_at", blocking=False),
            Rows(
                "visits_ordered",
                False,
                "SELECT session_id FROM {batch} WHERE last_visit_at < first_visit_at",
                "last_visit_at is not before first_visit_at",
            ),
            *_not_negative("conversion_value", blocking=False),
            _rows(),
        ),
    ),
    TableSuite(
        "public",
        "user_behavior_tracking",
        (
            *_not_null("user_id", "tenant_id", "action", blocking=True),
            _not_future("created_at", blocking=False),
            *_tenant_and_user(blocking=True),
            *_types("user_behavior_tracking", "tenant_id", "created_at"),
            _rows(),
        ),
    ),
    TableSuite(
        "public",
        "platform_usage_tracking",
        (
            *_not_null("tenant_id", "user_id", "resource_type", blocking=True),
            InSet(
                "resource_type_valid",
                True,
                "resource_type",
                ("bots", "api_calls", "storage", "bandwidth", "users", "transactions"),
            ),
            *_not_negative("usage_count", "usage_value", blocking=True),
            Rows(
                "period_ordered",
                False,
                "SELECT id FROM {batch} WHERE period_end < period_start",
                "period_end is not before period_start",
            ),
            _not_future("created_at", blocking=False),
            *_tenant_and_user(blocking=True),
            *_types("platform_usage_tracking", "usage_value", "created_at"),
            _rows(),
        ),
    ),
    TableSuite(
        "public",
        "trading_commissions",
        (
            *_not_null("tenant_id", "user_id", "trade_id", "trade_date", blocking=True),
            InSet(
                "asset_type_valid", True, "asset_type", ("crypto", "forex", "stocks", "commodities")
            ),
            *_positive("trade_amount", blocking=True),
            *_not_negative("commission_amount", blocking=True),
            Between("commission_rate_fraction", True, "commission_rate", min_value=0, max_value=1),
            _not_future("trade_date", blocking=True),
            *_tenant_and_user(blocking=True),
            *_types("trading_commissions", "trade_amount", "commission_amount", "trade_date"),
            _rows(),
        ),
    ),
    TableSuite(
        "public",
        "trading_resource_usage",
        (
            *_not_null("tenant_id", "user_id", "resource_type", blocking=True),
            *_not_negative("total_cost", "cost_per_unit", blocking=True),
            InSet(
                "resource_type_valid",
                True,
                "resource_type",
                ("bot_execution", "signal_analysis", "market_data", "backtesting", "paper_trading"),
            ),
            Rows(
                "billing_period_ordered",
                False,
                "SELECT id FROM {batch} WHERE billing_period_end < billing_period_start",
                "billing_period_end is not before billing_period_start",
            ),
            *_tenant_and_user(blocking=True),
            *_types("trading_resource_usage", "total_cost"),
            _rows(),
        ),
    ),
    TableSuite(
        "raw",
        "fx_rates",
        (
            *_not_null("rate_date", "currency", "rate", blocking=True),
            Unique("rate_date_currency_unique", True, ("rate_date", "currency")),
            _currency_iso_4217(),
            *_positive("rate", blocking=True),
            _date_not_future("rate_date", blocking=True),
            *_types("fx_rates", "rate", schema_name="raw"),
            _rows(),
        ),
    ),
    TableSuite(
        "raw",
        "expenses",
        (
            *_not_null("expense_date", "category", "amount", "currency", blocking=True),
            Unique("source_record_id_unique", True, ("source_record_id",)),
            _currency_iso_4217(),
            *_positive("amount", blocking=True),
            _date_not_future("expense_date", blocking=False),
            *_types("expenses", "amount", "expense_date", schema_name="raw"),
            _rows(),
        ),
    ),
    TableSuite(
        "public",
        "audit_logs",
        (
            *_not_null("action", "resource", "created_at", blocking=True),
            _not_future("created_at", blocking=False),
            *_tenant_and_user(blocking=True),
            *_types("audit_logs", "created_at"),
            _rows(),
        ),
    ),
    # Key marts: what the reports and the CEO read.
    TableSuite(
        "marts",
        "revenue_daily",
        (
            *_not_null("day", "tenant_id", "revenue_type", "currency_original", blocking=True),
            Unique(
                "grain_unique",
                True,
                ("day", "tenant_id", "revenue_type", "currency_original"),
            ),
            InSet("revenue_type_valid", True, "revenue_type", REVENUE_TYPES),
            _currency_iso_4217("currency_original"),
            Between("gross_amount_not_negative", True, "gross_amount_original", min_value=0),
            *_positive("transactions", blocking=True),
            _exists("tenant_id", "public.tenants", blocking=True),
            _rows(),
        ),
    ),
    TableSuite(
        "marts",
        "mrr_by_tenant_monthly",
        (
            *_not_null("month", "tenant_id", "mrr", blocking=True),
            Unique("grain_unique", True, ("month", "tenant_id")),
            *_not_negative("mrr", blocking=True),
            _exists("tenant_id", "public.tenants", blocking=True),
            _rows(),
        ),
    ),
    TableSuite(
        "marts",
        "ceo_kpis_monthly",
        (
            *_not_null("month", "mrr", "net_revenue", blocking=True),
            Unique("month_unique", True, ("month",)),
            *_not_negative("mrr", "active_customers", blocking=True),
            Rows(
                "arr_is_twelve_mrr",
                True,
                "SELECT month, mrr, arr FROM {batch} WHERE arr <> mrr * 12",
                "arr = 12 x mrr, to the cent",
            ),
            Rows(
                "net_revenue_identity",
                True,
                "SELECT month, gross_revenue, refunds, chargebacks, net_revenue FROM {batch} "
                "WHERE net_revenue <> gross_revenue - refunds - chargebacks",
                "net_revenue = gross_revenue - refunds - chargebacks",
            ),
            _rows(),
        ),
    ),
)


def suite_for(qualified: str) -> TableSuite:
    for suite in SUITES:
        if suite.qualified == qualified:
            return suite
    raise KeyError(f"no expectation suite for {qualified}")


def suite_tables(suites: Sequence[TableSuite] = SUITES) -> list[str]:
    return [suite.qualified for suite in suites]
