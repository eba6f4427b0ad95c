"""When a dispute's money leaves and comes back, each counted once.

Stripe withdraws the disputed amount when a chargeback is opened, and gives it back when the
dispute is won (its balance transactions: one withdrawal, at most one reinstatement). The
ledger follows that, with two rows per dispute, both `chargeback`s of the dispute's amount:

- the withdrawal, keyed by the dispute id (`dp_...`): completed from the first event that
  shows the funds gone (`charge.dispute.funds_withdrawn`, or any dispute event whose status
  is a chargeback's: needs_response, under_review, won, lost), dated on the withdrawing
  balance transaction when the dispute lists it, else on the funds_withdrawn event, else on
  the dispute's `created`. An inquiry (warning_* statuses) withdraws nothing: pending, and
  cancelled when it closes as warning_closed, prevented or charge_refunded.
- the reinstatement, keyed `<dispute id>:reinstated`, with metadata.dispute_funds
  `reinstated` (the marts count it negative): from the first `charge.dispute.funds_reinstated`
  or dispute event with status `won`, dated on the reinstating balance transaction when
  listed, else on that event (the day the dispute closed).

Once a row is booked as money that moved, its date never changes (a later or repeated event,
in this file or another, rewrites its other fields only): closed months stay closed.
`DisputeBook` holds what is booked (from the ledger, then event by event).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ingestion.sources.payments_links import KnownDispute
from ingestion.sources.stripe_objects import timestamp

WITHDRAWN = "withdrawn"
REINSTATED = "reinstated"
# Statuses of a chargeback (the funds are withdrawn); warning_* statuses are inquiries.
CHARGEBACK_STATUSES = frozenset({"needs_response", "under_review", "won", "lost"})
FUNDS_WITHDRAWN_EVENT = "charge.dispute.funds_withdrawn"
FUNDS_REINSTATED_EVENT = "charge.dispute.funds_reinstated"


def reinstated_record_id(dispute_id: str) -> str:
    return f"{dispute_id}:{REINSTATED}"


@dataclass(frozen=True)
class DisputeMoves:
    """When this event says the dispute's funds left and came back (None: not (yet))."""

    withdrawn_at: datetime | None
    reinstated_at: datetime | None


class DisputeBook:
    def __init__(self, known: Mapping[str, KnownDispute]) -> None:
        self._withdrawn: dict[str, datetime] = {}
        self._reinstated: dict[str, datetime] = {}
        for dispute_id, found in known.items():
            if found.withdrawn_at is not None:
                self._withdrawn[dispute_id] = found.withdrawn_at
            if found.reinstated_at is not None:
                self._reinstated[dispute_id] = found.reinstated_at

    def moves(
        self,
        dispute_id: str,
        dispute: Mapping[str, Any],
        stripe_status: str,
        event_type: str,
        event_created: datetime,
        dispute_created: datetime,
    ) -> DisputeMoves:
        """The dates of the withdrawal and of the reinstatement, the booked ones first; the
        book keeps what this event adds."""
        withdrawal, reinstatement = _balance_transactions(dispute)
        withdrawn_at = self._withdrawn.get(dispute_id)
        if withdrawn_at is None:
            if withdrawal is not None:
                withdrawn_at = withdrawal
            elif event_type == FUNDS_WITHDRAWN_EVENT:
                withdrawn_at = event_created
            elif stripe_status in CHARGEBACK_STATUSES or event_type == FUNDS_REINSTATED_EVENT:
                withdrawn_at = dispute_created
        reinstated_at = self._reinstated.get(dispute_id)
        if reinstated_at is None:
            if reinstatement is not None:
                reinstated_at = reinstatement
            elif event_type == FUNDS_REINSTATED_EVENT or stripe_status == "won":
                reinstated_at = event_created
        return DisputeMoves(withdrawn_at, reinstated_at)

    def book(self, dispute_id: str, moves: DisputeMoves) -> None:
        if moves.withdrawn_at is not None:
            self._withdrawn.setdefault(dispute_id, moves.withdrawn_at)
        if moves.reinstated_at is not None:
            self._reinstated.setdefault(dispute_id, moves.reinstated_at)


def _balance_transactions(dispute: Mapping[str, Any]) -> tuple[datetime | None, datetime | None]:
    """(withdrawal, reinstatement) times from the dispute's expanded balance transactions:
    a negative amount took the funds, a positive one gave them back."""
    found = dispute.get("balance_transactions")
    withdrawal: datetime | None = None
    reinstatement: datetime | None = None
    if not isinstance(found, list):
        return None, None
    for number, item in enumerate(found):
        if not isinstance(item, Mapping):
            continue  # an id only: the events say when
        amount = item.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
            continue
        at = timestamp(item, "created", f"data.object.balance_transactions[{number}]")
        if at is None:
            continue
        if amount < 0 and withdrawal is None:
            withdrawal = at
        elif amount > 0 and reinstatement is None:
            reinstatement = at
    return withdrawal, reinstatement
