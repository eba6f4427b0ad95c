"""Reconciliations: numbers that must agree across tables, each one SQL query that returns
the rows that disagree (none: reconciled). They read the marts as built, so they also guard
what reads the marts outside dbt (report tables, exports, the CEO report).

The report-day arithmetic is the dbt project's (`reporting_day`: the timestamp in the
reporting time zone, as a date), passed as the `:tz` parameter; the reporting currency is
`:currency`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, text

from core.db.schema import SYSTEM_USER_ID

SAMPLE_SIZE = 5


@dataclass(frozen=True)
class Reconciliation:
    name: str
    asset: tuple[str, str]  # the table the check is shown on
    reads: tuple[tuple[str, str], ...]  # the other tables it compares against
    description: str
    query: str


@dataclass(frozen=True)
class ReconciliationResult:
    name: str
    passed: bool
    offending_rows: int
    sample: list[dict[str, Any]]
    message: str


MRR_ROLL_FORWARD = Reconciliation(
    name="mrr_roll_forward",
    asset=("marts", "mrr_movements_monthly"),
    reads=(),
    description="Every month: ending = starting + new + expansion + reactivation - "
    "contraction - churned, to the cent; starting MRR and customers are last month's "
    "ending; no month is missing between the first and the last.",
    query="""
        WITH months AS (
            SELECT *,
                lag(month) OVER (ORDER BY month) AS previous_month,
                lag(ending_mrr) OVER (ORDER BY month) AS previous_ending_mrr,
                lag(customers_end) OVER (ORDER BY month) AS previous_customers_end
            FROM marts.mrr_movements_monthly
        )
        SELECT month,
            CASE
                WHEN ending_mrr <> starting_mrr + new_mrr + expansion_mrr + reactivation_mrr
                    - contraction_mrr - churned_mrr THEN 'roll-forward identity'
                WHEN previous_month IS NOT NULL
                    AND month <> (previous_month + interval '1 month')::date THEN 'month missing'
                WHEN starting_mrr <> coalesce(previous_ending_mrr, 0) THEN 'starting <> last ending'
                ELSE 'customers start <> last end'
            END AS broken,
            starting_mrr, ending_mrr,
            starting_mrr + new_mrr + expansion_mrr + reactivation_mrr - contraction_mrr
                - churned_mrr AS rolled_forward,
            previous_ending_mrr
        FROM months
        WHERE ending_mrr <> starting_mrr + new_mrr + expansion_mrr + reactivation_mrr
                - contraction_mrr - churned_mrr
            OR (previous_month IS NOT NULL
                AND month <> (previous_month + interval '1 month')::date)
            OR starting_mrr <> coalesce(previous_ending_mrr, 0)
            OR customers_start <> coalesce(previous_customers_end, 0)
        ORDER BY month
    """,
)

REVENUE_MATCHES_LEDGER = Reconciliation(
    name="revenue_matches_ledger",
    asset=("marts", "revenue_daily"),
    reads=(("public", "financial_transactions"),),
    description="Per original currency and reporting month, completed payments in the ledger "
    "equal revenue_daily's gross_amount_original to the cent, and the ledger's completed "
    "payments, refunds and chargebacks are all counted in revenue_daily.transactions.",
    query="""
        WITH ledger AS (
            SELECT currency,
                date_trunc('month', coalesce(processed_at, created_at) AT TIME ZONE :tz)::date
                    AS month,
                coalesce(sum(amount) FILTER (WHERE transaction_type = 'payment'), 0) AS gross,
                count(*) AS movements
            FROM public.financial_transactions
            WHERE status = 'completed'
                AND transaction_type IN ('payment', 'refund', 'chargeback')
            GROUP BY 1, 2
        ),
        ledger_by_currency AS (
            SELECT currency, sum(movements) AS movements FROM ledger GROUP BY 1
        ),
        mart AS (
            SELECT currency_original AS currency, date_trunc('month', day)::date AS month,
                sum(gross_amount_original) AS gross
            FROM marts.revenue_daily GROUP BY 1, 2
        ),
        mart_by_currency AS (
            SELECT currency_original AS currency, sum(transactions) AS movements
            FROM marts.revenue_daily GROUP BY 1
        )
        SELECT coalesce(ledger.currency, mart.currency) AS currency,
            coalesce(ledger.month, mart.month)::text AS month,
            ledger.gross AS ledger_payments, mart.gross AS mart_payments,
            NULL::numeric AS ledger_movements, NULL::numeric AS mart_movements
        FROM ledger FULL JOIN mart ON mart.currency = ledger.currency AND mart.month = ledger.month
        WHERE coalesce(ledger.gross, 0) <> coalesce(mart.gross, 0)
        UNION ALL
        SELECT coalesce(l.currency, m.currency), 'all', NULL, NULL, l.movements, m.movements
        FROM ledger_by_currency AS l FULL JOIN mart_by_currency AS m ON m.currency = l.currency
        WHERE coalesce(l.movements, 0) <> coalesce(m.movements, 0)
    """,
)

# The balance effect of the accepted Stripe events (raw.stripe_events), recomputed from the
# payloads alone: per charge its latest state (succeeded and captured: + amount); per charge
# what it gave back (the larger of its succeeded refund objects, latest state each, and its
# latest amount_refunded less its pending refunds); per dispute - amount once its funds were
# withdrawn (funds_withdrawn, or a chargeback's status) and + amount once reinstated
# (funds_reinstated, or won). Minor units to major with Stripe's exponents.
_STRIPE_BALANCE = """
    WITH events AS (
        SELECT id, type, created_at, payload -> 'data' -> 'object' AS obj
        FROM raw.stripe_events
    ),
    charges AS (
        SELECT DISTINCT ON (obj ->> 'id') obj ->> 'id' AS charge_id,
            upper(obj ->> 'currency') AS currency, obj
        FROM events
        WHERE obj ->> 'object' = 'charge' AND type LIKE 'charge.%'
        ORDER BY obj ->> 'id', created_at DESC, (type = 'charge.refunded') DESC, id DESC
    ),
    refund_states AS (
        SELECT DISTINCT ON (refund ->> 'id') refund ->> 'charge' AS charge_id,
            refund ->> 'status' AS status, (refund ->> 'amount')::bigint AS amount
        FROM (
            SELECT obj AS refund, created_at, id FROM events WHERE obj ->> 'object' = 'refund'
            UNION ALL
            SELECT listed.value, events.created_at, events.id
            FROM events
            CROSS JOIN LATERAL jsonb_array_elements(
                CASE WHEN jsonb_typeof(events.obj -> 'refunds' -> 'data') = 'array'
                    THEN events.obj -> 'refunds' -> 'data' ELSE '[]' END
            ) AS listed (value)
            WHERE events.obj ->> 'object' = 'charge'
        ) AS seen
        ORDER BY refund ->> 'id', created_at DESC, id DESC
    ),
    refunds AS (
        SELECT charge_id,
            coalesce(sum(amount) FILTER (WHERE status = 'succeeded'), 0) AS succeeded,
            coalesce(sum(amount) FILTER (WHERE status IN ('pending', 'requires_action')), 0)
                AS pending
        FROM refund_states GROUP BY charge_id
    ),
    disputes AS (
        SELECT obj ->> 'id' AS dispute_id,
            max(upper(obj ->> 'currency')) AS currency, max((obj ->> 'amount')::bigint) AS amount,
            bool_or(type = 'charge.dispute.funds_withdrawn' OR obj ->> 'status' IN
                ('needs_response', 'under_review', 'won', 'lost')
                OR type = 'charge.dispute.funds_reinstated') AS withdrawn,
            bool_or(type = 'charge.dispute.funds_reinstated' OR obj ->> 'status' = 'won')
                AS reinstated
        FROM events
        WHERE obj ->> 'object' = 'dispute' AND type LIKE 'charge.dispute.%'
        GROUP BY 1
    ),
    movements AS (
        SELECT currency, 'charge' AS kind, (obj ->> 'amount')::bigint AS minor
        FROM charges
        WHERE obj ->> 'status' = 'succeeded' AND coalesce(obj ->> 'captured', 'true') <> 'false'
        UNION ALL
        SELECT charges.currency, 'refund', -greatest(
            coalesce(refunds.succeeded, 0),
            coalesce((charges.obj ->> 'amount_refunded')::bigint, 0)
                - coalesce(refunds.pending, 0))
        FROM charges LEFT JOIN refunds ON refunds.charge_id = charges.charge_id
        UNION ALL
        SELECT currency, 'dispute', -amount FROM disputes WHERE withdrawn
        UNION ALL
        SELECT currency, 'reinstatement', amount FROM disputes WHERE reinstated
    ),
    in_major AS (
        SELECT currency, kind, minor / power(10::numeric, CASE
            WHEN currency IN ('BIF', 'CLP', 'DJF', 'GNF', 'JPY', 'KMF', 'KRW', 'MGA', 'PYG',
                'RWF', 'UGX', 'UYI', 'VND', 'VUV', 'XAF', 'XOF', 'XPF') THEN 0
            WHEN currency IN ('BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND') THEN 3
            WHEN currency IN ('CLF', 'UYW') THEN 4
            ELSE 2 END) AS major
        FROM movements
    )
    SELECT currency, trim_scale(sum(major) FILTER (WHERE kind = 'charge')) AS charges,
        trim_scale(sum(major)) AS net
    FROM in_major
    GROUP BY currency
"""

REVENUE_MATCHES_STRIPE_BALANCE = Reconciliation(
    name="revenue_matches_stripe_balance",
    asset=("marts", "revenue_daily"),
    reads=(("raw", "stripe_events"),),
    description="revenue_daily holds the money the accepted Stripe events moved, to the cent, "
    "recomputed from their payloads alone: per currency, Σ gross_amount_original = Σ "
    "succeeded charges; in the reporting currency, Σ net_amount = charges - refunds - "
    "disputes + reinstatements.",
    query=f"""
        WITH stripe AS ({_STRIPE_BALANCE}),
        mart AS (
            SELECT currency_original AS currency, sum(gross_amount_original) AS gross,
                sum(net_amount) AS net
            FROM marts.revenue_daily GROUP BY 1
        )
        SELECT coalesce(stripe.currency, mart.currency) AS currency,
            stripe.charges AS stripe_charges, mart.gross AS mart_gross,
            CASE WHEN coalesce(stripe.currency, mart.currency) = :currency
                THEN stripe.net END AS stripe_net,
            CASE WHEN coalesce(stripe.currency, mart.currency) = :currency
                THEN mart.net END AS mart_net
        FROM stripe FULL JOIN mart ON mart.currency = stripe.currency
        WHERE coalesce(stripe.charges, 0) <> coalesce(mart.gross, 0)
            OR (coalesce(stripe.currency, mart.currency) = :currency
                AND coalesce(stripe.net, 0) <> coalesce(mart.net, 0))
    """,
)

CEO_REVENUE_MATCHES_REVENUE_DAILY = Reconciliation(
    name="revenue_matches_revenue_daily",
    asset=("marts", "ceo_kpis_monthly"),
    reads=(("marts", "revenue_daily"),),
    description="The CEO's gross revenue, refunds and chargebacks of every month equal the sum "
    "of revenue_daily's converted amounts of that month, to the cent.",
    query="""
        WITH daily AS (
            SELECT date_trunc('month', day)::date AS month,
                coalesce(sum(gross_amount), 0) AS gross,
                coalesce(sum(refunded_amount), 0) AS refunds,
                coalesce(sum(chargeback_amount), 0) AS chargebacks
            FROM marts.revenue_daily GROUP BY 1
        )
        SELECT kpis.month, kpis.gross_revenue, daily.gross, kpis.refunds,
            daily.refunds AS daily_refunds, kpis.chargebacks, daily.chargebacks AS daily_chargebacks
        FROM marts.ceo_kpis_monthly AS kpis
        LEFT JOIN daily ON daily.month = kpis.month
        WHERE kpis.gross_revenue <> coalesce(daily.gross, 0)
            OR kpis.refunds <> coalesce(daily.refunds, 0)
            OR kpis.chargebacks <> coalesce(daily.chargebacks, 0)
    """,
)

CEO_REPORT_MATCHES_MART = Reconciliation(
    name="report_matches_marts",
    asset=("public", "ceo_dashboard_metrics"),
    reads=(("marts", "ceo_kpis_monthly"),),
    description="Every metric the pipeline wrote into ceo_dashboard_metrics equals its column "
    "of marts.ceo_kpis_monthly for that month (money and counts to the cent, rates as "
    "percentages), and every month of the mart has its MRR row.",
    query="""
        WITH written AS (
            SELECT metric_name, metric_value, metadata->>'unit' AS unit,
                metadata->>'column' AS mart_column, (metadata->>'month')::date AS month
            FROM public.ceo_dashboard_metrics
            WHERE metadata->>'source' = 'marts.ceo_kpis_monthly'
        )
        SELECT written.month, written.metric_name, written.metric_value,
            to_jsonb(kpis) ->> written.mart_column AS mart_value
        FROM written
        LEFT JOIN marts.ceo_kpis_monthly AS kpis ON kpis.month = written.month
        WHERE kpis.month IS NULL
            OR written.metric_value IS DISTINCT FROM round(
                (to_jsonb(kpis) ->> written.mart_column)::numeric
                    * CASE WHEN written.unit = 'percent' THEN 100 ELSE 1 END,
                2)
        UNION ALL
        SELECT kpis.month, 'mrr', NULL, kpis.mrr::text
        FROM marts.ceo_kpis_monthly AS kpis
        WHERE EXISTS (SELECT 1 FROM written)
            AND NOT EXISTS (
                SELECT 1 FROM written WHERE written.month = kpis.month
                    AND written.metric_name = 'mrr'
            )
    """,
)

FINANCIAL_REPORT_MATCHES_MARTS = Reconciliation(
    name="report_matches_marts",
    asset=("public", "financial_reports"),
    reads=(("marts", "revenue_daily"), ("marts", "mrr_by_tenant_monthly")),
    description="Every revenue report the pipeline wrote into financial_reports carries its "
    "tenant's net revenue of the month as revenue_daily sums it (converted amounts, to the "
    "cent) and its ending MRR as mrr_by_tenant_monthly has it; every tenant and month of "
    "revenue_daily has its report.",
    query=f"""
        WITH written AS (
            SELECT tenant_id, (data->>'month')::date AS month,
                (data->>'net')::numeric AS net, (data->>'mrr_end')::numeric AS mrr_end
            FROM public.financial_reports
            WHERE report_type = 'revenue' AND generated_by = '{SYSTEM_USER_ID}'
        ),
        daily AS (
            SELECT tenant_id, date_trunc('month', day)::date AS month,
                sum(net_amount) AS net
            FROM marts.revenue_daily GROUP BY 1, 2
        )
        SELECT written.tenant_id::text, written.month, written.net, daily.net AS mart_net,
            written.mrr_end, mrr.mrr AS mart_mrr
        FROM written
        LEFT JOIN daily ON daily.tenant_id = written.tenant_id AND daily.month = written.month
        LEFT JOIN marts.mrr_by_tenant_monthly AS mrr
            ON mrr.tenant_id = written.tenant_id AND mrr.month = written.month
        WHERE written.net <> coalesce(daily.net, 0)
            OR coalesce(written.mrr_end, 0) <> coalesce(mrr.mrr, 0)
        UNION ALL
        SELECT daily.tenant_id::text, daily.month, NULL, daily.net, NULL, NULL
        FROM daily
        WHERE EXISTS (SELECT 1 FROM written)
            AND NOT EXISTS (
                SELECT 1 FROM written
                WHERE written.tenant_id = daily.tenant_id AND written.month = daily.month
            )
    """,
)

INGEST_LEDGER_QUERY = """
    WITH quarantined AS (
        SELECT batch_id, count(*) AS rows FROM raw.quarantine GROUP BY batch_id
    )
    SELECT batches.id::text AS batch_id, batches.source_file, batches.status,
        batches.rows_in, batches.rows_loaded, batches.rows_quarantined, batches.rows_duplicate,
        coalesce(quarantined.rows, 0) AS quarantine_rows,
        CASE
            WHEN batches.status = 'completed' AND batches.rows_in <> batches.rows_loaded
                + batches.rows_quarantined + batches.rows_duplicate
                THEN 'in <> loaded + quarantined + duplicates'
            WHEN batches.status = 'completed'
                AND coalesce(quarantined.rows, 0) <> batches.rows_quarantined
                THEN 'quarantine rows <> rows_quarantined'
            ELSE 'running for more than an hour'
        END AS broken
    FROM raw.ingest_batches AS batches
    LEFT JOIN quarantined ON quarantined.batch_id = batches.id
    WHERE batches.source = :source AND (
        (batches.status = 'completed' AND (
            batches.rows_in <> batches.rows_loaded + batches.rows_quarantined
                + batches.rows_duplicate
            OR coalesce(quarantined.rows, 0) <> batches.rows_quarantined))
        OR (batches.status = 'running' AND batches.started_at < now() - interval '1 hour'))
"""

MART_RECONCILIATIONS: tuple[Reconciliation, ...] = (
    MRR_ROLL_FORWARD,
    REVENUE_MATCHES_LEDGER,
    REVENUE_MATCHES_STRIPE_BALANCE,
    CEO_REVENUE_MATCHES_REVENUE_DAILY,
    CEO_REPORT_MATCHES_MART,
    FINANCIAL_REPORT_MATCHES_MARTS,
)


def _run(engine: Engine, query: str, params: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    with engine.connect() as conn:
        count: int = conn.execute(
            text(f"SELECT count(*) FROM ({query}) AS offending"), params
        ).scalar_one()
        rows = conn.execute(
            text(f"SELECT * FROM ({query}) AS offending LIMIT {SAMPLE_SIZE}"), params
        ).mappings()
        sample = [{k: _plain(v) for k, v in row.items()} for row in rows]
    return int(count), sample


def reconcile(
    engine: Engine, check: Reconciliation, *, time_zone: str, currency: str = "BRL"
) -> ReconciliationResult:
    """`check` against the database; `time_zone` and `currency` are the reporting ones."""
    params: dict[str, Any] = {"tz": time_zone} if ":tz" in check.query else {}
    if ":currency" in check.query:
        params["currency"] = currency
    count, sample = _run(engine, check.query, params)
    message = (
        "reconciled" if count == 0 else f"{count} row(s) do not reconcile: {check.description}"
    )
    return ReconciliationResult(check.name, count == 0, count, sample, message)


def ingest_ledger_balances(engine: Engine, source: str) -> ReconciliationResult:
    """Every completed batch of `source`: in = loaded + quarantined + duplicates, and its
    quarantine holds as many records as it says; no batch left running for over an hour."""
    count, sample = _run(engine, INGEST_LEDGER_QUERY, {"source": source})
    message = (
        f"every {source} batch balances"
        if count == 0
        else f"{count} {source} batch(es) in raw.ingest_batches do not balance"
    )
    return ReconciliationResult("ingest_ledger_balances", count == 0, count, sample, message)


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
