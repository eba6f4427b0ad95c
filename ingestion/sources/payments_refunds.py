"""How much of each charge has been refunded, and what a new refund adds to the ledger.

Stripe describes refunds two ways: refund objects (`re_...`, in `refund.*` and
`charge.refund.updated` events, or embedded in a charge's `refunds` list before API version
2022-11-15) and the charge's cumulative `amount_refunded` (every `charge.refunded` event).
`RefundBook` keeps, per charge, the refund rows already booked (from the ledger, then from
the earlier events of the file, in event order) and decides:

- a refund object is booked under its own id, for its own amount and status; seen for the
  first time while giving money back, it takes over the booked growth of `amount_refunded`
  it explains, booked at or after its `created` (those rows are reduced, or cancelled when
  fully covered), so the same money never counts twice whichever event arrives first;
- a `charge.refunded` adds a row, keyed by the event id, for the growth of `amount_refunded`
  over what is booked (refund objects and earlier growth rows that give money back).

Rows giving money back are those whose status is completed or pending (Stripe counts a
pending refund in `amount_refunded`); failed and cancelled refunds give nothing back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ingestion.sources.payments_links import KnownRefund
from ingestion.sources.stripe_objects import to_major

MONEY_BACK = frozenset({"completed", "pending"})
_STEP = timedelta(microseconds=1)


@dataclass
class _Booked:
    record_id: str
    refund_id: str | None  # None: growth of amount_refunded that no refund object explains
    amount_minor: int
    status: str
    version: datetime
    row: Mapping[str, Any]


class RefundBook:
    def __init__(self, known: Mapping[str, Sequence[KnownRefund]]) -> None:
        self._charges: dict[str, dict[str, _Booked]] = {}
        for charge_id, refunds in known.items():
            book = self._charges.setdefault(charge_id, {})
            for item in refunds:
                record_id = str(item.row["source_record_id"])
                book[record_id] = _Booked(
                    record_id,
                    item.refund_id,
                    item.amount_minor,
                    item.status,
                    item.version,
                    item.row,
                )

    def booked(self, charge_id: str) -> int:
        """Minor units of the charge booked as given back so far."""
        return sum(
            entry.amount_minor
            for entry in self._charges.get(charge_id, {}).values()
            if entry.status in MONEY_BACK
        )

    def refund_object(
        self,
        charge_id: str,
        row: Mapping[str, Any],
        amount_minor: int,
        refund_created: datetime,
    ) -> list[Mapping[str, Any]]:
        """The rows a refund object gives: its own (unless an equal or newer description of
        it is booked) and the growth rows it takes over."""
        book = self._charges.setdefault(charge_id, {})
        refund_id = str(row["source_record_id"])
        version: datetime = row["updated_at"]
        current = book.get(refund_id)
        if current is not None and current.version >= version:
            return []
        book[refund_id] = _Booked(refund_id, refund_id, amount_minor, row["status"], version, row)
        if current is not None or row["status"] not in MONEY_BACK:
            return [row]
        return [row, *self._take_over(book, refund_id, amount_minor, refund_created, version)]

    def growth(
        self,
        charge_id: str,
        amount_refunded: int,
        record_id: str,
        make_row: Callable[[int], Mapping[str, Any]],
    ) -> list[Mapping[str, Any]]:
        """The row for the growth of the charge's amount_refunded over what is booked."""
        book = self._charges.setdefault(charge_id, {})
        if record_id in book:
            return []  # this event's growth is booked already
        delta = amount_refunded - self.booked(charge_id)
        if delta <= 0:
            return []
        row = make_row(delta)
        book[record_id] = _Booked(record_id, None, delta, row["status"], row["updated_at"], row)
        return [row]

    def _take_over(
        self,
        book: dict[str, _Booked],
        refund_id: str,
        amount_minor: int,
        refund_created: datetime,
        version: datetime,
    ) -> list[Mapping[str, Any]]:
        """Reduce the growth rows this refund explains, by its amount, oldest first; a row
        fully explained is cancelled. Only growth booked at or after the refund was created
        can be its own: an earlier charge.refunded was another refund's."""
        growth = [
            entry
            for entry in book.values()
            if entry.refund_id is None
            and entry.status in MONEY_BACK
            and entry.version >= refund_created
        ]
        growth.sort(key=lambda entry: entry.version)
        rewritten: list[Mapping[str, Any]] = []
        remaining = amount_minor
        for entry in growth:
            if remaining <= 0:
                break
            taken = min(remaining, entry.amount_minor)
            remaining -= taken
            left = entry.amount_minor - taken
            # upsert_newer replaces a row only with a newer version.
            newer = max(version, entry.version + _STEP)
            row = dict(entry.row)
            row["updated_at"] = newer
            row["metadata"] = _with_metadata(
                row["metadata"],
                {"amount_minor": left or entry.amount_minor, "explained_by_refund": refund_id},
            )
            if left:
                row["amount"] = to_major(left, str(row["currency"]), "amount_refunded")
            else:
                row["status"] = "cancelled"
            entry.amount_minor = left or entry.amount_minor
            entry.status = row["status"]
            entry.version = newer
            entry.row = row
            rewritten.append(row)
        return rewritten


def _with_metadata(text: object, changes: Mapping[str, object]) -> str:
    values = json.loads(text) if isinstance(text, str) else {}
    values.update(changes)
    return json.dumps(values, sort_keys=True, separators=(",", ":"))
