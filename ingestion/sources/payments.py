"""Payments: Stripe event objects, one per line, into the ledger and the subscription history.

Format: UTF-8 JSON Lines (`*.jsonl`, or gzipped `*.jsonl.gz`), each line one Stripe event
exactly as Stripe sends it to a webhook or lists it in `/v1/events`:
`{"id": "evt_...", "object": "event", "api_version": ..., "created": <unix>, "livemode": ...,
"type": ..., "data": {"object": {...}, "previous_attributes": {...}}}`. Blank lines are
ignored. Events may repeat and arrive in any order: the file is ordered by `created`, then by
lifecycle (creation before updates before closure, for events stamped in the same second),
then by event id. Settings: none; reference data comes from the `ParseContext` (known
tenants and users, subscription plans by slug and by stripe_price_id), and from the ledger
the charges the file refers to and the refunds and dispute money already booked for them
(`with_references`).

Targets (see `ingestion.parsing.contract` for the contract):
- primary `raw.stripe_events`, insert_new on `id`: every accepted event as sent.
- `public.financial_transactions`, upsert_newer on `source_record_id` by `updated_at` (the
  time of the event that last described the movement): one row per money movement; a
  payment per charge (`ch_`), a refund per refund object (`re_`) or, for the growth of a
  charge's `amount_refunded` no refund object explains, per `charge.refunded` event (`evt_`;
  see `payments_refunds`), a chargeback per dispute (`dp_`: its funds withdrawn) and, for a
  dispute won, one more (`dp_...:reinstated`: its funds given back; see `payments_disputes`).
- `public.billing_subscriptions`, upsert_newer on `stripe_subscription_id` by `updated_at`:
  each subscription's current state.
- `raw.subscription_events`, insert_new on `event_id`: one flattened row per
  customer.subscription.* event, the history the MRR marts rebuild validity from.
Secondary rows are collapsed to one per key within a file (the latest event wins).

The mappings (statuses, dispute outcomes, revenue types, owners, plans, amounts) are listed
in `docs/landing.md` under "payments"; the status tables live in `stripe_objects`.

This module declares the source (its targets and their columns); reading an event is in
`payments_events`, the links between charges, invoices and subscriptions in `payments_links`,
the rows each event gives in `payments_rows`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from ingestion.parsing.contract import (
    ParseContext,
    Parsed,
    ReferenceQuery,
    ReferencingSource,
    Target,
)
from ingestion.sources.payments_events import read_lines
from ingestion.sources.payments_links import (
    KnownCharge,
    KnownDispute,
    KnownRefund,
    PaymentsContext,
)
from ingestion.sources.payments_rows import FileParser
from ingestion.sources.stripe_objects import ref_id

STRIPE_EVENTS = Target("raw.stripe_events", ("id",))
FINANCIAL_TRANSACTIONS = Target(
    "public.financial_transactions", ("source_record_id",), "upsert_newer", "updated_at"
)
BILLING_SUBSCRIPTIONS = Target(
    "public.billing_subscriptions", ("stripe_subscription_id",), "upsert_newer", "updated_at"
)
SUBSCRIPTION_EVENTS = Target("raw.subscription_events", ("event_id",))

_TS = pl.Datetime("us", "UTC")
_MONEY = pl.Decimal(15, 2)

# Column names and Polars types of each frame. uuid and jsonb columns travel as text (the
# canonical uuid string, compact JSON); `id` and `ingest_batch_id` are left to the loader.
SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    STRIPE_EVENTS.table: {
        "id": pl.String(),
        "type": pl.String(),
        "created_at": _TS,
        "api_version": pl.String(),
        "livemode": pl.Boolean(),
        "object_type": pl.String(),
        "object_id": pl.String(),
        "tenant_id": pl.String(),
        "user_id": pl.String(),
        "payload": pl.String(),
    },
    FINANCIAL_TRANSACTIONS.table: {
        "tenant_id": pl.String(),
        "user_id": pl.String(),
        "transaction_type": pl.String(),
        "amount": _MONEY,
        "currency": pl.String(),
        "status": pl.String(),
        "payment_method": pl.String(),
        "stripe_payment_intent_id": pl.String(),
        "stripe_charge_id": pl.String(),
        "description": pl.String(),
        "metadata": pl.String(),
        "processed_at": _TS,
        "created_at": _TS,
        "updated_at": _TS,
        "source_record_id": pl.String(),
    },
    BILLING_SUBSCRIPTIONS.table: {
        "tenant_id": pl.String(),
        "user_id": pl.String(),
        "stripe_subscription_id": pl.String(),
        "plan_id": pl.String(),
        "status": pl.String(),
        "current_period_start": _TS,
        "current_period_end": _TS,
        "cancel_at_period_end": pl.Boolean(),
        "cancelled_at": _TS,
        "trial_start": _TS,
        "trial_end": _TS,
        "metadata": pl.String(),
        "created_at": _TS,
        "updated_at": _TS,
        "source_record_id": pl.String(),
    },
    SUBSCRIPTION_EVENTS.table: {
        "event_id": pl.String(),
        "subscription_id": pl.String(),
        "event_type": pl.String(),
        "event_created_at": _TS,
        "tenant_id": pl.String(),
        "user_id": pl.String(),
        "status": pl.String(),
        "plan_slug": pl.String(),
        "stripe_price_id": pl.String(),
        "unit_amount": _MONEY,
        "currency": pl.String(),
        "billing_cycle": pl.String(),
        "quantity": pl.Int32(),
        "current_period_start": _TS,
        "current_period_end": _TS,
        "cancel_at_period_end": pl.Boolean(),
        "canceled_at": _TS,
        "ended_at": _TS,
        "trial_start": _TS,
        "trial_end": _TS,
    },
}


class PaymentsSource:
    """Stripe events (`*.jsonl`, `*.jsonl.gz` under `landing/payments/`)."""

    name: str = "payments"
    file_patterns: tuple[str, ...] = ("*.jsonl", "*.jsonl.gz")
    primary: Target = STRIPE_EVENTS
    secondary: tuple[Target, ...] = (
        FINANCIAL_TRANSACTIONS,
        BILLING_SUBSCRIPTIONS,
        SUBSCRIPTION_EVENTS,
    )
    derived_sql: tuple[str, ...] = ()
    derived_tables: tuple[str, ...] = ()

    def parse(self, data: bytes, file_name: str, context: ParseContext) -> Parsed:
        rows = FileParser(context).parse(data, file_name)
        return Parsed(
            records_in=rows.records_in,
            tables={
                STRIPE_EVENTS.table: _frame(rows.stripe_events, STRIPE_EVENTS.table),
                FINANCIAL_TRANSACTIONS.table: _frame(
                    rows.transactions, FINANCIAL_TRANSACTIONS.table
                ),
                BILLING_SUBSCRIPTIONS.table: _frame(
                    rows.subscriptions, BILLING_SUBSCRIPTIONS.table
                ),
                SUBSCRIPTION_EVENTS.table: _frame(
                    rows.subscription_events, SUBSCRIPTION_EVENTS.table
                ),
            },
            rejects=rows.rejects,
            min_event_at=rows.min_event_at,
            max_event_at=rows.max_event_at,
        )

    def with_references(
        self, data: bytes, context: ParseContext, query: ReferenceQuery
    ) -> ParseContext:
        """The context plus the charges already loaded that this file's events refer to, and
        the refunds and dispute money already booked for them."""
        charge_ids = sorted(referenced_charge_ids(data))
        rows = query(KNOWN_CHARGES_SQL, {"charge_ids": charge_ids}) if charge_ids else []
        refunds: dict[str, list[KnownRefund]] = {}
        disputes: dict[str, KnownDispute] = {}
        if charge_ids:
            for dispute_id, withdrawn_at, reinstated_at in query(
                KNOWN_DISPUTES_SQL, {"charge_ids": charge_ids}
            ):
                disputes[dispute_id] = KnownDispute(withdrawn_at, reinstated_at)
            columns = list(SCHEMAS[FINANCIAL_TRANSACTIONS.table])
            for found in query(KNOWN_REFUNDS_SQL, {"charge_ids": charge_ids}):
                charge_id, refund_id, amount_minor, status, version, *values = found
                refunds.setdefault(charge_id, []).append(
                    KnownRefund(
                        charge_id,
                        refund_id,
                        amount_minor,
                        status,
                        version,
                        dict(zip(columns, values, strict=True)),
                    )
                )
        return PaymentsContext(
            known_tenant_ids=context.known_tenant_ids,
            known_user_ids=context.known_user_ids,
            plans=context.plans,
            reporting_currency=context.reporting_currency,
            charges={row[0]: KnownCharge(*row[1:]) for row in rows},
            refunds={charge_id: tuple(found) for charge_id, found in refunds.items()},
            disputes=disputes,
        )


SOURCE: ReferencingSource = PaymentsSource()


# Parameter `charge_ids`: a list of charge ids. Columns in KnownCharge order, key first.
KNOWN_CHARGES_SQL = """
SELECT source_record_id, tenant_id::text, user_id::text,
       metadata ->> 'revenue_type', metadata ->> 'stripe_invoice_id',
       metadata ->> 'stripe_subscription_id', payment_method, stripe_payment_intent_id
FROM public.financial_transactions
WHERE transaction_type = 'payment' AND source_record_id = ANY(%(charge_ids)s)
"""


# Parameter `charge_ids`. The refund rows booked for those charges: charge id, refund id
# (null for growth of amount_refunded), amount in minor units (rows written elsewhere without
# metadata.amount_minor: 100 times the amount, right for two-decimal currencies), status, version,
# then the columns of the financial_transactions frame (SCHEMAS order), so a row can be
# rewritten.
KNOWN_REFUNDS_SQL = """
SELECT stripe_charge_id, metadata ->> 'stripe_refund_id',
       coalesce((metadata ->> 'amount_minor')::bigint, round(amount * 100)::bigint), status,
       updated_at,
       tenant_id::text, user_id::text, transaction_type, amount, currency, status,
       payment_method, stripe_payment_intent_id, stripe_charge_id, description,
       metadata::text, processed_at, created_at, updated_at, source_record_id
FROM public.financial_transactions
WHERE transaction_type = 'refund' AND stripe_charge_id = ANY(%(charge_ids)s)
ORDER BY updated_at, source_record_id
"""


# Parameter `charge_ids`. Per dispute of those charges: its id, when its funds were withdrawn
# and when reinstated, from its completed chargeback rows (see payments_disputes).
KNOWN_DISPUTES_SQL = """
SELECT metadata ->> 'stripe_dispute_id',
       min(processed_at) FILTER (WHERE coalesce(metadata ->> 'dispute_funds', 'withdrawn')
                                       = 'withdrawn'),
       min(processed_at) FILTER (WHERE metadata ->> 'dispute_funds' = 'reinstated')
FROM public.financial_transactions
WHERE transaction_type = 'chargeback' AND status = 'completed'
  AND stripe_charge_id = ANY(%(charge_ids)s) AND metadata ->> 'stripe_dispute_id' IS NOT NULL
GROUP BY 1
"""


def referenced_charge_ids(data: bytes) -> frozenset[str]:
    """The charge ids the events of a file refer to (charges, refunded and disputed
    charges)."""
    found: set[str] = set()
    for _, line in read_lines(data, "payments file"):
        try:
            obj = json.loads(line)["data"]["object"]
        except (ValueError, UnicodeDecodeError, KeyError, TypeError):
            continue
        if not isinstance(obj, dict):
            continue
        charge_id = ref_id(obj.get("id")) if obj.get("object") == "charge" else None
        if obj.get("object") in ("dispute", "refund"):
            charge_id = ref_id(obj.get("charge"))
        if charge_id:
            found.add(charge_id)
    return frozenset(found)


def _frame(rows: Sequence[Mapping[str, Any]], table: str) -> pl.DataFrame:
    schema = SCHEMAS[table]
    return pl.DataFrame({name: [row[name] for row in rows] for name in schema}, schema=schema)
