"""What a payments file says about charges, invoices and subscriptions, and how they link.

Refunds and disputes refer to their charge, charges to the invoice they pay, invoices to
their subscription: `FileIndex` holds the latest state of each object in the file and these
links, and adds what the ledger already knows (`KnownCharge`, through a `PaymentsContext`),
so `FileIndex.charge_links` can say where a charge's owner is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ingestion.parsing.contract import ParseContext
from ingestion.sources.payments_events import Event
from ingestion.sources.stripe_objects import list_data, mapping, ref_id


@dataclass(frozen=True)
class KnownCharge:
    """A charge already in public.financial_transactions (its payment row)."""

    tenant_id: str
    user_id: str
    revenue_type: str | None = None
    invoice_id: str | None = None
    subscription_id: str | None = None
    payment_method: str | None = None
    payment_intent_id: str | None = None


@dataclass(frozen=True)
class KnownRefund:
    """A refund row already in public.financial_transactions: a refund object (`re_`) or the
    growth of a charge's amount_refunded no refund object explained (keyed by the event id).
    `row` holds its columns (those of the frame), so a later file can rewrite it."""

    charge_id: str
    refund_id: str | None
    amount_minor: int
    status: str
    version: datetime
    row: Mapping[str, Any]


@dataclass(frozen=True)
class KnownDispute:
    """A dispute's money already booked in public.financial_transactions: when its funds
    were withdrawn and reinstated (completed chargeback rows), None where not (yet)."""

    withdrawn_at: datetime | None = None
    reinstated_at: datetime | None = None


@dataclass(frozen=True)
class PaymentsContext(ParseContext):
    """A ParseContext that also knows the charges already loaded, by charge id.

    Refunds and disputes often land in a later file than their charge, and charges paying a
    subscription invoice carry no metadata from API version 2025-03-31.basil on (their owner
    and invoice are only known from an `invoice_payment` in the same file). With these rows
    (`KNOWN_CHARGES_SQL` for the ids `referenced_charge_ids` finds), the source takes owner,
    revenue type and invoice from the ledger; with a plain ParseContext it looks only in
    the file itself and rejects what it cannot place.

    `refunds` are the refund rows already booked for those charges (`KNOWN_REFUNDS_SQL`):
    what a charge's cumulative amount_refunded is measured against. `disputes` are the
    disputes of those charges whose money is booked, by dispute id (`KNOWN_DISPUTES_SQL`):
    their dates never move.
    """

    charges: Mapping[str, KnownCharge] = field(default_factory=dict)
    refunds: Mapping[str, tuple[KnownRefund, ...]] = field(default_factory=dict)
    disputes: Mapping[str, KnownDispute] = field(default_factory=dict)


@dataclass(frozen=True)
class ChargeLinks:
    invoice_id: str | None
    subscription_id: str | None
    # Where else the owner of the charge may be written: its invoice found in this file,
    # then its payment row already in the ledger.
    owner_candidates: tuple[tuple[str, object], ...]
    known: KnownCharge | None = None


@dataclass
class FileIndex:
    """The latest state of each charge, invoice and subscription in the file, and the links
    between charges and invoices (pre-2025 `charge.invoice` / `invoice.charge`, and from
    2025-03-31.basil `invoice.payments` and `invoice_payment` objects)."""

    charges: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    invoices: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    subscriptions: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    invoice_by_charge: dict[str, str] = field(default_factory=dict)
    invoice_by_payment_intent: dict[str, str] = field(default_factory=dict)
    known: Mapping[str, KnownCharge] = field(default_factory=dict)

    @classmethod
    def build(cls, events: Iterable[Event], known: Mapping[str, KnownCharge]) -> FileIndex:
        index = cls(known=known)
        for event in events:  # in file order, so later states replace earlier ones
            index._add(event.object_type, event.object_id, event.object)
        return index

    def _add(self, kind: str, oid: str, obj: Mapping[str, Any]) -> None:
        if kind == "charge":
            self.charges[oid] = obj
            invoice = obj.get("invoice")
            if isinstance(invoice, Mapping) and ref_id(invoice):
                self._add("invoice", ref_id(invoice) or "", invoice)
            self._link(ref_id(invoice), oid, ref_id(obj.get("payment_intent")))
        elif kind == "invoice":
            self.invoices[oid] = obj
            self._link(oid, ref_id(obj.get("charge")), ref_id(obj.get("payment_intent")))
            for payment in list_data(obj.get("payments")) or []:
                self._add_invoice_payment(mapping(payment), oid)
        elif kind == "invoice_payment":
            self._add_invoice_payment(obj, ref_id(obj.get("invoice")))
        elif kind == "subscription":
            self.subscriptions[oid] = obj

    def _add_invoice_payment(self, obj: Mapping[str, Any], invoice_id: str | None) -> None:
        payment = mapping(obj.get("payment"))
        self._link(invoice_id, ref_id(payment.get("charge")), ref_id(payment.get("payment_intent")))

    def _link(self, invoice_id: str | None, charge_id: str | None, intent_id: str | None) -> None:
        if not invoice_id:
            return
        if charge_id:
            self.invoice_by_charge[charge_id] = invoice_id
        if intent_id:
            self.invoice_by_payment_intent[intent_id] = invoice_id

    def charge_links(self, charge: Mapping[str, Any]) -> ChargeLinks:
        charge_id = ref_id(charge.get("id"))
        intent_id = ref_id(charge.get("payment_intent"))
        invoice_id = (
            ref_id(charge.get("invoice"))
            or (self.invoice_by_charge.get(charge_id) if charge_id else None)
            or (self.invoice_by_payment_intent.get(intent_id) if intent_id else None)
        )
        invoice = self.invoices.get(invoice_id) if invoice_id else None
        known = self.known.get(charge_id) if charge_id else None
        candidates: tuple[tuple[str, object], ...] = ()
        subscription_id = None
        if invoice is not None:
            subscription_id = invoice_subscription(invoice)
            candidates = self.invoice_owner_candidates(
                invoice, f"invoice {invoice_id} (in this file)"
            )
        if known is not None:
            invoice_id = invoice_id or known.invoice_id
            subscription_id = subscription_id or known.subscription_id
            owner = {"tenant_id": known.tenant_id, "user_id": known.user_id}
            candidates = (*candidates, (f"charge {charge_id} (already loaded)", owner))
        return ChargeLinks(invoice_id, subscription_id, candidates, known)

    def invoice_owner_candidates(
        self, invoice: Mapping[str, Any], where: str
    ) -> tuple[tuple[str, object], ...]:
        parent = mapping(mapping(invoice.get("parent")).get("subscription_details"))
        candidates: list[tuple[str, object]] = [
            (f"{where}.metadata", invoice.get("metadata")),
            (
                f"{where}.subscription_details.metadata",
                mapping(invoice.get("subscription_details")).get("metadata"),
            ),
            (f"{where}.parent.subscription_details.metadata", parent.get("metadata")),
        ]
        for number, line in enumerate(list_data(invoice.get("lines")) or []):
            candidates.append(
                (f"{where}.lines.data[{number}].metadata", mapping(line).get("metadata"))
            )
        subscription_id = invoice_subscription(invoice)
        subscription = self.subscriptions.get(subscription_id) if subscription_id else None
        if subscription is not None:
            candidates.append(
                (
                    f"subscription {subscription_id} (in this file).metadata",
                    subscription.get("metadata"),
                )
            )
        return tuple(candidates)


def invoice_subscription(invoice: Mapping[str, Any]) -> str | None:
    """The subscription an invoice bills: `subscription` before 2025-03-31.basil,
    `parent.subscription_details.subscription` from then on, else its subscription lines."""
    parent = mapping(mapping(invoice.get("parent")).get("subscription_details"))
    found = ref_id(invoice.get("subscription")) or ref_id(parent.get("subscription"))
    if found:
        return found
    for line in list_data(invoice.get("lines")) or []:
        item = mapping(line)
        details = mapping(mapping(item.get("parent")).get("subscription_item_details"))
        found = ref_id(item.get("subscription")) or ref_id(details.get("subscription"))
        if found:
            return found
    return None
