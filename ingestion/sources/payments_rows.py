"""From the accepted events of a payments file to rows: the ledger's money movements
(payments, refunds, chargebacks), each subscription's current state and its history.

`FileParser(context).parse(data, file_name)` reads the events (`payments_events`), indexes
what the file says about charges, invoices and subscriptions (`payments_links`), derives the
rows of each event and gives them back per target (`FileRows`); an event that cannot be
placed is refused with its reason. The mappings are listed in docs/landing.md ("payments").
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from ingestion.parsing.contract import ParseContext, Reject
from ingestion.sources.payments_disputes import (
    REINSTATED,
    WITHDRAWN,
    DisputeBook,
    reinstated_record_id,
)
from ingestion.sources.payments_events import Event, read_event, read_lines
from ingestion.sources.payments_links import ChargeLinks, FileIndex, PaymentsContext
from ingestion.sources.payments_refunds import RefundBook
from ingestion.sources.stripe_objects import (
    CHARGE_STATUS,
    DISPUTE_CLOSED,
    DISPUTE_STATUS,
    REFUND_STATUS,
    REVENUE_TYPES,
    SUBSCRIPTION_STATUS,
    RecordError,
    billing_cycle,
    currency,
    discount,
    flag,
    list_data,
    mapped_status,
    mapping,
    minor_units,
    object_id,
    payment_method,
    ref_id,
    required_timestamp,
    short_text,
    show,
    timestamp,
    to_major,
)

CHARGE_EVENTS = frozenset({"charge.succeeded", "charge.failed", "charge.refunded"})
DISPUTE_EVENTS = frozenset(
    {
        "charge.dispute.created",
        "charge.dispute.updated",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.funds_reinstated",
        "charge.dispute.closed",
    }
)
REFUND_EVENTS = frozenset(
    {"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"}
)
INVOICE_EVENTS = frozenset({"invoice.paid", "invoice.payment_failed"})
DISCOUNT_EVENTS = frozenset(
    {"customer.discount.created", "customer.discount.updated", "customer.discount.deleted"}
)
SUBSCRIPTION_EVENT_TYPES = frozenset(
    {
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    }
)
EXPECTED_OBJECT = {
    **dict.fromkeys(CHARGE_EVENTS, "charge"),
    **dict.fromkeys(DISPUTE_EVENTS, "dispute"),
    **dict.fromkeys(REFUND_EVENTS, "refund"),
    **dict.fromkeys(INVOICE_EVENTS, "invoice"),
    **dict.fromkeys(DISCOUNT_EVENTS, "discount"),
    **dict.fromkeys(SUBSCRIPTION_EVENT_TYPES, "subscription"),
}


@dataclass
class FileRows:
    """The rows of one payments file per target, and what it refused."""

    records_in: int
    rejects: list[Reject]
    stripe_events: list[dict[str, Any]]  # one per accepted event, repeats included
    transactions: list[dict[str, Any]]  # one per source_record_id: the latest description
    subscriptions: list[dict[str, Any]]  # one per subscription: its latest state
    subscription_events: list[dict[str, Any]]
    min_event_at: datetime | None
    max_event_at: datetime | None


@dataclass(frozen=True)
class _Item:
    """A subscription item, read: its price, amount per unit, cycle, quantity and plan."""

    item: Mapping[str, Any]
    where: str
    price: Mapping[str, Any]
    price_where: str
    price_id: str
    currency: str
    unit_key: str
    unit_minor: int
    cycle: str | None  # None: a month/year interval other than 1, 3 or 12 months
    quantity: int
    plan: Mapping[str, object] | None  # None: an add-on


@dataclass
class _Derived:
    """What one accepted event contributes besides its raw.stripe_events row."""

    tenant_id: str | None = None
    user_id: str | None = None
    transactions: list[dict[str, Any]] = field(default_factory=list)
    subscription: dict[str, Any] | None = None
    subscription_event: dict[str, Any] | None = None


class FileParser:
    def __init__(self, context: ParseContext) -> None:
        self.context = context
        self.tenants = _canonical_ids(context.known_tenant_ids)
        self.users = _canonical_ids(context.known_user_ids)
        known = context if isinstance(context, PaymentsContext) else None
        self.known_charges = known.charges if known else {}
        self.index = FileIndex()
        # What each charge has given back so far, from the ledger, then event by event.
        self.refunds = RefundBook(known.refunds if known else {})
        # When each dispute's money left and came back, from the ledger, then event by event.
        self.disputes = DisputeBook(known.disputes if known else {})

    def parse(self, data: bytes, file_name: str) -> FileRows:
        records_in = 0
        rejects: list[Reject] = []
        events: list[Event] = []
        for number, line in read_lines(data, file_name):
            records_in += 1
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                reason = (
                    f"the line is not valid UTF-8 (byte {line[exc.start]:02x} at position "
                    f"{exc.start + 1}): save the file as UTF-8"
                )
                rejects.append(Reject(number, line.decode("utf-8", "replace"), reason))
                continue
            try:
                events.append(read_event(number, text))
            except RecordError as exc:
                rejects.append(Reject(number, text, str(exc)))

        events.sort(key=Event.order)
        first: dict[str, Event] = {}
        kept: list[Event] = []
        for event in events:
            earlier = first.setdefault(event.id, event)
            if earlier is not event and earlier.body != event.body:
                rejects.append(
                    Reject(
                        event.line,
                        event.raw,
                        f"event id '{event.id}' repeats line {earlier.line} with different "
                        "content: an event id must identify one event",
                    )
                )
                continue
            kept.append(event)

        self.index = FileIndex.build(first.values(), self.known_charges)
        outcomes: dict[str, _Derived | RecordError] = {}
        for event_id, event in first.items():
            try:
                outcomes[event_id] = self._derive(event)
            except RecordError as exc:
                outcomes[event_id] = exc

        stripe_rows: list[dict[str, Any]] = []
        transactions: dict[str, dict[str, Any]] = {}
        subscriptions: dict[str, dict[str, Any]] = {}
        subscription_events: list[dict[str, Any]] = []
        accepted_times: list[datetime] = []
        for event in kept:
            outcome = outcomes[event.id]
            if isinstance(outcome, RecordError):
                rejects.append(Reject(event.line, event.raw, str(outcome)))
                continue
            accepted_times.append(event.created)
            stripe_rows.append(_stripe_event_row(event, outcome))
            if first[event.id] is not event:
                continue  # a repeat: counted by the loader as a duplicate, derives nothing new
            # Events are in file order: a later description of the same key replaces it.
            for row in outcome.transactions:
                transactions[row["source_record_id"]] = row
            if outcome.subscription is not None:
                subscriptions[outcome.subscription["stripe_subscription_id"]] = outcome.subscription
            if outcome.subscription_event is not None:
                subscription_events.append(outcome.subscription_event)

        rejects.sort(key=lambda reject: reject.record_number or 0)
        return FileRows(
            records_in=records_in,
            rejects=rejects,
            stripe_events=stripe_rows,
            transactions=list(transactions.values()),
            subscriptions=list(subscriptions.values()),
            subscription_events=subscription_events,
            min_event_at=min(accepted_times, default=None),
            max_event_at=max(accepted_times, default=None),
        )

    # -- dispatch ----------------------------------------------------------------------------
    def _derive(self, event: Event) -> _Derived:
        expected = EXPECTED_OBJECT.get(event.type)
        if expected is None:
            return self._other(event)
        if event.object_type != expected:
            raise RecordError(
                f"data.object.object is '{event.object_type}': expected '{expected}' for a "
                f"{event.type} event"
            )
        if event.type in CHARGE_EVENTS:
            return self._charge_event(event)
        if event.type in DISPUTE_EVENTS:
            return self._dispute_event(event)
        if event.type in REFUND_EVENTS:
            return self._refund_event(event)
        if event.type in DISCOUNT_EVENTS:
            # Read by the MRR models from raw.stripe_events: checked here so they can cast.
            discount(event.object, "data.object")
            return self._other(event)
        if event.type in INVOICE_EVENTS:
            tenant, user = self._owner(
                self.index.invoice_owner_candidates(event.object, "data.object")
            )
            return _Derived(tenant, user)
        return self._subscription_event(event)

    def _other(self, event: Event) -> _Derived:
        """Kept as sent, nothing derived; the owner is recorded when the metadata names a
        known tenant and user, and never a reason to reject."""
        metadata = mapping(event.object.get("metadata"))
        tenant = _canonical(metadata.get("tenant_id"))
        user = _canonical(metadata.get("user_id"))
        return _Derived(
            tenant if tenant in self.tenants else None,
            user if user in self.users else None,
        )

    # -- owners, plans, revenue types ----------------------------------------------------------
    def _owner(self, candidates: Sequence[tuple[str, object]]) -> tuple[str, str]:
        """(tenant_id, user_id) from the first metadata that names a tenant."""
        for where, metadata in candidates:
            values = mapping(metadata)
            if values.get("tenant_id") in (None, ""):
                continue
            tenant = self._known(values.get("tenant_id"), f"{where}.tenant_id", "tenant")
            user = self._known(values.get("user_id"), f"{where}.user_id", "user")
            return tenant, user
        first, *others = [where for where, _ in candidates]
        also = f" (nor in {', '.join(others)})" if others else ""
        raise RecordError(
            f"{first}.tenant_id is missing{also}: expected the tenant's UUID in the Stripe "
            "object's metadata (metadata.tenant_id and metadata.user_id)"
        )

    def _known(self, value: object, where: str, what: str) -> str:
        if value in (None, ""):
            raise RecordError(f"{where} is missing: expected the {what}'s UUID")
        canonical = _canonical(value)
        if canonical is None:
            raise RecordError(f"{where} {show(value)} is not a UUID: expected the {what}'s id")
        known = self.tenants if what == "tenant" else self.users
        if canonical not in known:
            raise RecordError(
                f"{where} '{value}' is not a known {what}: no such id in public.{what}s"
            )
        return canonical

    def _plan(
        self, price: Mapping[str, Any], subscription: Mapping[str, Any], pw: str
    ) -> Mapping[str, object] | None:
        """The subscription plan a price is, or None (an add-on, or an unknown plan)."""
        for _, key in _plan_candidates(price, subscription, pw):
            if isinstance(key, str) and key in self.context.plans:
                return self.context.plans[key]
        return None

    @staticmethod
    def _unknown_plan(
        price: Mapping[str, Any], subscription: Mapping[str, Any], pw: str
    ) -> RecordError:
        tried = ", ".join(
            f"{where} {show(key)}"
            for where, key in _plan_candidates(price, subscription, pw)
            if key is not None
        )
        return RecordError(
            f"unknown plan: {tried} match no subscription_plans.slug or stripe_price_id"
        )

    def _item(self, item: Mapping[str, Any], iw: str, subscription: Mapping[str, Any]) -> _Item:
        """One subscription item, checked: a per-unit recurring price and a quantity."""
        price, pw = _item_price(item, iw)
        price_id = object_id(price, pw)
        code = currency(price.get("currency"), f"{pw}.currency")
        # A Price carries unit_amount and recurring; a legacy Plan carries amount and interval.
        unit_key = "amount" if "unit_amount" not in price and "amount" in price else "unit_amount"
        if price.get(unit_key) is None:
            raise RecordError(
                f"{pw}.{unit_key} is missing: only per-unit prices are supported (tiered and "
                "metered prices have no single unit amount)"
            )
        unit_minor = minor_units(price, unit_key, pw, minimum=0)
        to_major(unit_minor, code, f"{pw}.{unit_key}")  # refuses fractions of a cent
        recurring, rw = (
            (price, pw) if "recurring" not in price else (price["recurring"], f"{pw}.recurring")
        )
        if not isinstance(recurring, Mapping):
            raise RecordError(f"{rw} is {show(recurring)}: a subscription price must be recurring")
        cycle = billing_cycle(recurring.get("interval"), recurring.get("interval_count"), rw)
        quantity = item.get("quantity", subscription.get("quantity"))
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise RecordError(
                f"{iw}.quantity {show(quantity)} is not a positive integer: a price is billed "
                "per unit and raw.subscription_events requires quantity > 0"
            )
        return _Item(
            item=item,
            where=iw,
            price=price,
            price_where=pw,
            price_id=price_id,
            currency=code,
            unit_key=unit_key,
            unit_minor=unit_minor,
            cycle=cycle,
            quantity=quantity,
            plan=self._plan(price, subscription, pw),
        )

    @staticmethod
    def _revenue_type(charge: Mapping[str, Any], links: ChargeLinks, where: str) -> str:
        """subscription when the charge pays an invoice or subscription, else the charge's
        metadata.revenue_type, else the type it was loaded with, else other."""
        tag = mapping(charge.get("metadata")).get("revenue_type")
        if tag in (None, ""):
            tag = None
        elif tag not in REVENUE_TYPES:
            raise RecordError(
                f"{where}.metadata.revenue_type {show(tag)} is not one of "
                f"{', '.join(REVENUE_TYPES)}"
            )
        if links.invoice_id or links.subscription_id:
            return "subscription"
        if tag:
            return str(tag)
        if links.known is not None and links.known.revenue_type in REVENUE_TYPES:
            return str(links.known.revenue_type)
        return "other"

    # -- charges and refunds -----------------------------------------------------------------
    def _charge_owner(
        self, charge: Mapping[str, Any], where: str, event: Event
    ) -> tuple[str, str, ChargeLinks, dict[str, object]]:
        """Owner, links and the metadata every row of this charge carries."""
        links = self.index.charge_links(charge)
        tenant, user = self._owner(
            ((f"{where}.metadata", charge.get("metadata")), *links.owner_candidates)
        )
        common: dict[str, object] = {
            "revenue_type": self._revenue_type(charge, links, where),
            "stripe_event_id": event.id,
            "stripe_invoice_id": links.invoice_id,
            "stripe_subscription_id": links.subscription_id,
            "stripe_customer_id": ref_id(charge.get("customer")),
            "livemode": event.livemode,
        }
        return tenant, user, links, common

    def _charge_event(self, event: Event) -> _Derived:
        charge, where = event.object, "data.object"
        tenant, user, _, common = self._charge_owner(charge, where, event)
        code = currency(charge.get("currency"), f"{where}.currency")
        minor = minor_units(charge, "amount", where)
        stripe_status, status = mapped_status(
            charge.get("status"), CHARGE_STATUS, f"{where}.status"
        )
        if status == "completed" and charge.get("captured") is False:
            status = "pending"  # authorised, not captured: no money has moved yet
        created = required_timestamp(charge, "created", where)
        method = payment_method(charge.get("payment_method_details"))
        intent = ref_id(charge.get("payment_intent"))
        payment = _transaction(
            tenant=tenant,
            user=user,
            kind="payment",
            amount=to_major(minor, code, f"{where}.amount"),
            code=code,
            status=status,
            method=method,
            intent=intent,
            charge_id=event.object_id,
            description=short_text(charge.get("description"), 1000)
            or f"Stripe charge {event.object_id}",
            metadata={
                **common,
                "stripe_status": stripe_status,
                "amount_minor": minor,
                "amount_refunded_minor": charge.get("amount_refunded"),
                "failure_code": charge.get("failure_code"),
                "failure_message": charge.get("failure_message"),
            },
            happened_at=created,
            version=event.created,
            record_id=event.object_id,
        )
        listed: list[tuple[dict[str, Any], int]] = []
        for number, refund in enumerate(list_data(charge.get("refunds")) or []):
            rw = f"{where}.refunds.data[{number}]"
            if not isinstance(refund, Mapping):
                raise RecordError(f"{rw} is {show(refund)}: expected a refund object")
            listed.append(self._refund(refund, rw, code, payment, common, event))
        refunded = 0
        if event.type == "charge.refunded":
            refunded = minor_units(charge, "amount_refunded", where, minimum=0)
            if refunded > minor:
                raise RecordError(
                    f"{where}.amount_refunded {refunded} is more than {where}.amount {minor}: "
                    "a charge cannot give back more than it took"
                )
        # Everything is read: only now does the event change what is booked for the charge.
        rows: list[Mapping[str, Any]] = [payment]
        for row, refund_minor in listed:
            rows += self.refunds.refund_object(
                event.object_id, row, refund_minor, row["processed_at"]
            )
        if event.type == "charge.refunded":
            rows += self.refunds.growth(
                event.object_id,
                refunded,
                event.id,
                lambda delta: _growth_row(event, code, payment, common, delta),
            )
        return _Derived(tenant, user, transactions=[dict(row) for row in rows])

    def _refund_event(self, event: Event) -> _Derived:
        """refund.created / refund.updated / refund.failed / charge.refund.updated: the refund
        object, placed on its charge (in this file, or already loaded)."""
        refund, where = event.object, "data.object"
        charge_id, charge, cw = self._charge_of(refund, where, "refunded")
        if charge is not None:
            tenant, user, _, common = self._charge_owner(charge, cw, event)
            method = payment_method(charge.get("payment_method_details"))
            intent = ref_id(charge.get("payment_intent"))
        else:
            known = self.known_charges.get(charge_id)
            if known is None:
                raise RecordError(
                    f"{where}.charge {charge_id} is neither in this file nor already loaded: "
                    "expected the charge's events first (load the file that holds them, then "
                    "this one again)"
                )
            tenant, user = known.tenant_id, known.user_id
            common = {
                "revenue_type": known.revenue_type
                if known.revenue_type in REVENUE_TYPES
                else "other",
                "stripe_event_id": event.id,
                "stripe_invoice_id": known.invoice_id,
                "stripe_subscription_id": known.subscription_id,
                "stripe_customer_id": None,
                "livemode": event.livemode,
            }
            method, intent = known.payment_method, known.payment_intent_id
        code = currency(refund.get("currency"), f"{where}.currency")
        payment = {
            "tenant_id": tenant,
            "user_id": user,
            "payment_method": method,
            "stripe_payment_intent_id": intent,
            "stripe_charge_id": charge_id,
        }
        row, minor = self._refund(refund, where, code, payment, common, event)
        rows = self.refunds.refund_object(charge_id, row, minor, row["processed_at"])
        return _Derived(tenant, user, transactions=[dict(r) for r in rows])

    @staticmethod
    def _refund(
        refund: Mapping[str, Any],
        where: str,
        charge_currency: str,
        payment: Mapping[str, Any],
        common: Mapping[str, object],
        event: Event,
    ) -> tuple[dict[str, Any], int]:
        """A refund object's row (keyed by its `re_` id) and its amount in minor units."""
        refund_id = object_id(refund, where)
        code = (
            currency(refund["currency"], f"{where}.currency")
            if refund.get("currency") is not None
            else charge_currency
        )
        minor = minor_units(refund, "amount", where)
        stripe_status, status = mapped_status(
            refund.get("status"), REFUND_STATUS, f"{where}.status"
        )
        created = required_timestamp(refund, "created", where)
        reason = short_text(refund.get("reason"), 100)
        row = _transaction(
            tenant=payment["tenant_id"],
            user=payment["user_id"],
            kind="refund",
            amount=to_major(minor, code, f"{where}.amount"),
            code=code,
            status=status,
            method=payment["payment_method"],
            intent=ref_id(refund.get("payment_intent")) or payment["stripe_payment_intent_id"],
            charge_id=payment["stripe_charge_id"],
            description=f"Refund of {payment['stripe_charge_id']}"
            + (f" ({reason})" if reason else ""),
            metadata={
                **common,
                "original_charge_id": payment["stripe_charge_id"],
                "stripe_refund_id": refund_id,
                "stripe_status": stripe_status,
                "refund_reason": reason,
                "amount_minor": minor,
            },
            happened_at=created,
            version=event.created,
            record_id=refund_id,
        )
        return row, minor

    def _charge_of(
        self, obj: Mapping[str, Any], where: str, role: str
    ) -> tuple[str, Mapping[str, Any] | None, str]:
        """The charge a refund or a dispute points to: its id, the charge itself (embedded,
        or an event of this file) or None, and where it was found, for reasons."""
        charge_ref = obj.get("charge")
        charge_id = ref_id(charge_ref)
        if charge_id is None:
            raise RecordError(
                f"{where}.charge is {show(charge_ref)}: expected the {role} charge's id"
            )
        if isinstance(charge_ref, Mapping):
            return charge_id, charge_ref, f"{where}.charge"
        return charge_id, self.index.charges.get(charge_id), f"charge {charge_id} (in this file)"

    # -- disputes ------------------------------------------------------------------------------
    def _dispute_event(self, event: Event) -> _Derived:
        dispute, where = event.object, "data.object"
        charge_id, charge, cw = self._charge_of(dispute, where, "disputed")
        candidates: list[tuple[str, object]] = [(f"{where}.metadata", dispute.get("metadata"))]
        if charge is None:
            links = self.index.charge_links({"id": charge_id})
            candidates += links.owner_candidates
            named = mapping(dispute.get("metadata")).get("tenant_id") not in (None, "")
            if links.known is None and not named:
                raise RecordError(
                    f"{where}.metadata.tenant_id is missing and the disputed charge "
                    f"{charge_id} is neither in this file nor already loaded: expected the "
                    "charge's events first, or metadata.tenant_id and metadata.user_id on the "
                    "dispute"
                )
            revenue_type = self._revenue_type(dispute, links, where)
        else:
            links = self.index.charge_links(charge)
            candidates += [(f"{cw}.metadata", charge.get("metadata")), *links.owner_candidates]
            revenue_type = self._revenue_type(charge, links, cw)
        tenant, user = self._owner(candidates)
        code = currency(dispute.get("currency"), f"{where}.currency")
        minor = minor_units(dispute, "amount", where)
        stripe_status, status = mapped_status(
            dispute.get("status"), DISPUTE_STATUS, f"{where}.status"
        )
        created = required_timestamp(dispute, "created", where)
        moves = self.disputes.moves(
            event.object_id, dispute, stripe_status, event.type, event.created, created
        )
        if moves.withdrawn_at is not None:
            status = "completed"  # funds_withdrawn, or booked by an earlier event
        charge_info = mapping(charge)
        reason = short_text(dispute.get("reason"), 100)
        description = f"Dispute of {charge_id}" + (f" ({reason})" if reason else "")
        metadata: dict[str, object] = {
            "revenue_type": revenue_type,
            "stripe_event_id": event.id,
            "stripe_invoice_id": links.invoice_id,
            "stripe_subscription_id": links.subscription_id,
            "original_charge_id": charge_id,
            "stripe_dispute_id": event.object_id,
            "stripe_status": stripe_status,
            "dispute_reason": reason,
            "closed_at": event.created if stripe_status in DISPUTE_CLOSED else None,
            "amount_minor": minor,
            "livemode": event.livemode,
        }
        method = (
            payment_method(dispute.get("payment_method_details"))
            or payment_method(charge_info.get("payment_method_details"))
            or (links.known.payment_method if links.known else None)
        )
        intent = (
            ref_id(dispute.get("payment_intent"))
            or ref_id(charge_info.get("payment_intent"))
            or (links.known.payment_intent_id if links.known else None)
        )

        def chargeback(
            row_status: str, funds: str, text: str, happened_at: datetime, record_id: str
        ) -> dict[str, Any]:
            return _transaction(
                tenant=tenant,
                user=user,
                kind="chargeback",
                amount=to_major(minor, code, f"{where}.amount"),
                code=code,
                status=row_status,
                method=method,
                intent=intent,
                charge_id=charge_id,
                description=text,
                metadata={**metadata, "dispute_funds": funds},
                happened_at=happened_at,
                version=event.created,
                record_id=record_id,
            )

        rows = [
            chargeback(
                status, WITHDRAWN, description, moves.withdrawn_at or created, event.object_id
            )
        ]
        if moves.reinstated_at is not None:
            rows.append(
                chargeback(
                    "completed",
                    REINSTATED,
                    f"Funds reinstated: {description}",
                    moves.reinstated_at,
                    reinstated_record_id(event.object_id),
                )
            )
        self.disputes.book(event.object_id, moves)
        return _Derived(tenant, user, transactions=rows)

    # -- subscriptions -------------------------------------------------------------------------
    def _subscription_event(self, event: Event) -> _Derived:
        sub, where = event.object, "data.object"
        tenant, user = self._owner(((f"{where}.metadata", sub.get("metadata")),))
        stripe_status, status = mapped_status(
            sub.get("status"), SUBSCRIPTION_STATUS, f"{where}.status"
        )
        items = [self._item(item, iw, sub) for item, iw in _items(sub)]
        _subscription_discounts(sub, where)
        code = items[0].currency
        for other in items[1:]:
            if other.currency != code:
                raise RecordError(
                    f"{other.price_where}.currency '{other.currency.lower()}' differs from "
                    f"{items[0].price_where}.currency '{code.lower()}': a subscription bills "
                    "all its items in one currency"
                )
        # The plan is the first item whose price is a known plan; others are add-ons.
        main = next((item for item in items if item.plan is not None), None)
        if main is None or main.plan is None:
            raise self._unknown_plan(items[0].price, sub, items[0].price_where)
        item, iw, pw, plan = main.item, main.where, main.price_where, main.plan
        price_id, cycle, quantity, unit_key = (
            main.price_id,
            main.cycle,
            main.quantity,
            main.unit_key,
        )
        unit_minor = main.unit_minor
        # Current API versions put the period on the item, versions before 2025-03-31 on the
        # subscription.
        start = timestamp(item, "current_period_start", iw)
        end = timestamp(item, "current_period_end", iw)
        if start is None or end is None:
            start = timestamp(sub, "current_period_start", where)
            end = timestamp(sub, "current_period_end", where)
        if start is None or end is None:
            raise RecordError(
                f"current_period_start/current_period_end are missing on both {iw} (current API "
                f"versions) and {where} (versions before 2025-03-31): expected Unix seconds"
            )
        cancel_at_period_end = flag(sub, "cancel_at_period_end", where)
        canceled_at = timestamp(sub, "canceled_at", where)
        ended_at = timestamp(sub, "ended_at", where)
        cancel_at = timestamp(sub, "cancel_at", where)
        trial_start = timestamp(sub, "trial_start", where)
        trial_end = timestamp(sub, "trial_end", where)
        created = timestamp(sub, "created", where) or event.created
        unit_amount = to_major(unit_minor, code, f"{pw}.{unit_key}")
        # When service stopped: the end, else the cancellation of a terminal subscription.
        # A pending cancel_at_period_end leaves it empty (it ends at current_period_end).
        terminal = status == "cancelled"
        cancelled_at = ended_at or ((canceled_at or event.created) if terminal else None)
        sub_id = event.object_id
        plan_slug = str(plan.get("slug"))
        billing = {
            "tenant_id": tenant,
            "user_id": user,
            "stripe_subscription_id": sub_id,
            "plan_id": str(plan.get("id")),
            "status": status,
            "current_period_start": start,
            "current_period_end": end,
            "cancel_at_period_end": cancel_at_period_end,
            "cancelled_at": cancelled_at,
            "trial_start": trial_start,
            "trial_end": trial_end,
            "metadata": _json(
                {
                    "stripe_status": stripe_status,
                    "plan_slug": plan_slug,
                    "stripe_price_id": price_id,
                    "unit_amount": unit_amount,
                    "currency": code,
                    "billing_cycle": cycle,
                    "quantity": quantity,
                    "add_on_price_ids": [other.price_id for other in items if other is not main],
                    "stripe_customer_id": ref_id(sub.get("customer")),
                    "canceled_at": canceled_at,
                    "cancel_at": cancel_at,
                    "ended_at": ended_at,
                    "stripe_event_id": event.id,
                    "api_version": event.api_version,
                    "livemode": event.livemode,
                }
            ),
            "created_at": created,
            "updated_at": event.created,
            "source_record_id": sub_id,
        }
        history = {
            "event_id": event.id,
            "subscription_id": sub_id,
            "event_type": event.type,
            "event_created_at": event.created,
            "tenant_id": tenant,
            "user_id": user,
            "status": stripe_status,
            "plan_slug": plan_slug,
            "stripe_price_id": price_id,
            "unit_amount": unit_amount,
            "currency": code,
            "billing_cycle": cycle,
            "quantity": quantity,
            "current_period_start": start,
            "current_period_end": end,
            "cancel_at_period_end": cancel_at_period_end,
            "canceled_at": canceled_at,
            "ended_at": ended_at,
            "trial_start": trial_start,
            "trial_end": trial_end,
        }
        return _Derived(tenant, user, subscription=billing, subscription_event=history)


def _growth_row(
    event: Event,
    code: str,
    payment: Mapping[str, Any],
    common: Mapping[str, object],
    delta: int,
) -> dict[str, Any]:
    """The growth of a charge's amount_refunded that no refund object explains (current API
    versions leave Charge.refunds out): dated by the charge.refunded event, keyed by its id."""
    return _transaction(
        tenant=payment["tenant_id"],
        user=payment["user_id"],
        kind="refund",
        amount=to_major(delta, code, "data.object.amount_refunded"),
        code=code,
        status="completed",
        method=payment["payment_method"],
        intent=payment["stripe_payment_intent_id"],
        charge_id=payment["stripe_charge_id"],
        description=f"Refund of {payment['stripe_charge_id']} (from amount_refunded)",
        metadata={
            **common,
            "original_charge_id": payment["stripe_charge_id"],
            "stripe_refund_id": None,
            "stripe_status": "succeeded",
            "amount_minor": delta,
        },
        happened_at=event.created,
        version=event.created,
        record_id=event.id,
    )


def _items(sub: Mapping[str, Any]) -> list[tuple[Mapping[str, Any], str]]:
    """The subscription's items with where each is (or, in very old API versions, the
    subscription itself, which then carries `plan` and `quantity`)."""
    items = list_data(sub.get("items"))
    if items is None:
        if isinstance(sub.get("plan"), Mapping):
            return [(sub, "data.object")]
        raise RecordError("data.object.items.data is missing: expected the subscription's items")
    if not items:
        raise RecordError("data.object.items.data is empty: expected at least one item")
    found: list[tuple[Mapping[str, Any], str]] = []
    for number, item in enumerate(items):
        where = f"data.object.items.data[{number}]"
        if not isinstance(item, Mapping):
            raise RecordError(f"{where} is {show(item)}: expected an item")
        found.append((item, where))
    return found


def _subscription_discounts(sub: Mapping[str, Any], where: str) -> None:
    """The discounts the MRR models read from the payload: `discounts` (ids, or objects when
    expanded) and the legacy single `discount`, checked."""
    listed = sub.get("discounts")
    if listed is not None:
        if not isinstance(listed, list):
            raise RecordError(
                f"{where}.discounts is {show(listed)}: expected an array of discount ids or objects"
            )
        for number, entry in enumerate(listed):
            dw = f"{where}.discounts[{number}]"
            if isinstance(entry, Mapping):
                discount(entry, dw)
            elif not isinstance(entry, str) or not entry:
                raise RecordError(f"{dw} is {show(entry)}: expected a discount id or object")
    single = sub.get("discount")
    if single is not None:
        if not isinstance(single, Mapping):
            raise RecordError(f"{where}.discount is {show(single)}: expected a discount object")
        discount(single, f"{where}.discount")


def _plan_candidates(
    price: Mapping[str, Any], subscription: Mapping[str, Any], pw: str
) -> tuple[tuple[str, object], ...]:
    return (
        (f"{pw}.lookup_key", price.get("lookup_key")),
        (f"{pw}.metadata.plan", mapping(price.get("metadata")).get("plan")),
        ("data.object.metadata.plan", mapping(subscription.get("metadata")).get("plan")),
        (f"{pw}.id", price.get("id")),
    )


def _item_price(item: Mapping[str, Any], where: str) -> tuple[Mapping[str, Any], str]:
    """The item's Price (API 2020-08-27 on), else its legacy Plan."""
    for key in ("price", "plan"):
        value = item.get(key)
        if isinstance(value, Mapping):
            return value, f"{where}.{key}"
    raise RecordError(f"{where}.price is missing: expected the subscribed price")


def _transaction(
    *,
    tenant: str,
    user: str,
    kind: str,
    amount: Decimal,
    code: str,
    status: str,
    method: str | None,
    intent: str | None,
    charge_id: str,
    description: str,
    metadata: Mapping[str, object],
    happened_at: datetime,
    version: datetime,
    record_id: str,
) -> dict[str, Any]:
    return {
        "tenant_id": tenant,
        "user_id": user,
        "transaction_type": kind,
        "amount": amount,
        "currency": code,
        "status": status,
        "payment_method": method,
        "stripe_payment_intent_id": intent,
        "stripe_charge_id": charge_id,
        "description": description,
        "metadata": _json(metadata),
        "processed_at": happened_at,
        "created_at": happened_at,
        "updated_at": version,
        "source_record_id": record_id,
    }


def _stripe_event_row(event: Event, derived: _Derived) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "created_at": event.created,
        "api_version": event.api_version,
        "livemode": event.livemode,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "tenant_id": derived.tenant_id,
        "user_id": derived.user_id,
        "payload": event.raw,
    }


def _json(value: Mapping[str, object]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default)


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _canonical(value: object) -> str | None:
    """The canonical (lower-case, hyphenated) form of a UUID string, else None."""
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _canonical_ids(values: Iterable[object]) -> frozenset[str]:
    return frozenset(_canonical(str(value)) or str(value) for value in values)
