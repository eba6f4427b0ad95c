"""The successful charges of the billing simulation, and what happens to some afterwards.

Once the subscriptions have played out, refunds (`REFUND_SHARE` of the successful charges, a
third partial) and disputes (`DISPUTE_SHARE`, at least one won and one lost when there are
100 charges or more, closing 30-75 days after they open) are drawn from the charges, each
with the Stripe events a webhook endpoint would have received (through `emit`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from demo_data import stripe_events as se
from demo_data.seeding import stream, stripe_id
from demo_data.world import Tenant, pick

REFUND_SHARE = 0.02
DISPUTE_SHARE = 0.003
DAY = 86400


@dataclass
class ChargeRecord:
    id: str
    intent: str
    created: int
    amount: int  # minor units
    currency: str  # lower case
    tenant: Tenant
    user_id: str
    revenue_type: str
    description: str
    method: dict[str, Any]
    brand: str | None


class Emit(Protocol):
    """Appends a Stripe event to the simulation's (`billing.Simulation._emit`)."""

    def __call__(
        self,
        kind: str,
        at: int,
        obj: dict[str, Any],
        previous: dict[str, Any] | None = None,
        *,
        request: bool = False,
    ) -> None: ...


def draw_refunds(
    seed: int, charges: list[ChargeRecord], window_end: int, emit: Emit
) -> list[tuple[ChargeRecord, int, int]]:
    """`REFUND_SHARE` of the charges refunded 1-20 days later, the first partly, then about a
    third partly: (charge, amount refunded, when), each with its `refund.created` and
    `charge.refunded` events in the current shape."""
    rng = stream(seed, "refunds")
    delays = rng.uniform(1, 20, size=len(charges)) * DAY
    eligible = [i for i, c in enumerate(charges) if c.created + delays[i] < window_end - 60]
    count = min(round(REFUND_SHARE * len(charges)), len(eligible))
    picks = sorted(int(i) for i in rng.choice(eligible, size=count, replace=False)) if count else []
    result = []
    for number, index in enumerate(picks):
        charge = charges[index]
        at = int(charge.created + delays[index])
        # The first refund is partial and the second full, so both kinds always show.
        partial = number == 0 or (number >= 2 and rng.random() < 0.35)
        amount = charge.amount
        if partial:
            amount = int(charge.amount * rng.uniform(0.2, 0.7)) // 10 * 10 or charge.amount
        reason = pick(
            rng, (("requested_by_customer", 0.85), ("duplicate", 0.1), ("fraudulent", 0.05))
        )
        refund_id = stripe_id("re", seed, "refund", charge.id).replace("re_", "re_3Q")[:27]
        refund = se.refund(refund_id, charge.id, charge.intent, amount, charge.currency, at, reason)
        # As Stripe sends them today: the refund object, then the charge with only its
        # cumulative amount_refunded (no refunds list, no previous_attributes).
        emit("refund.created", at, refund, request=True)
        emit("charge.refunded", at + 1, charge_object(charge, amount_refunded=amount))
        result.append((charge, amount, at))
    return result


def charge_object(charge: ChargeRecord, **extra: Any) -> dict[str, Any]:
    return se.charge(
        cid=charge.id,
        amount=charge.amount,
        currency=charge.currency,
        created=charge.created,
        customer_id=charge.tenant.customer_id,
        intent=charge.intent,
        metadata={
            "tenant_id": charge.tenant.id,
            "user_id": charge.user_id,
            "revenue_type": charge.revenue_type,
        },
        method=charge.method,
        description=charge.description,
        **extra,
    )


def draw_disputes(
    seed: int, charges: list[ChargeRecord], refunded: set[int], window_end: int, emit: Emit
) -> list[tuple[ChargeRecord, int, int | None, str]]:
    """`DISPUTE_SHARE` of the card charges not refunded (`refunded`: their ids), at least one
    won and one lost from 100 charges on: (charge, opened, closed or None, status), each with
    its events."""
    rng = stream(seed, "disputes")
    cards = [c for c in charges if c.brand is not None and id(c) not in refunded]
    count = round(DISPUTE_SHARE * len(charges))
    if len(charges) >= 100:
        count = max(count, 2)
    opens = rng.uniform(10, 45, size=len(cards)) * DAY
    closes = rng.uniform(30, 75, size=len(cards)) * DAY
    complete = [
        i for i, c in enumerate(cards) if c.created + opens[i] + closes[i] < window_end - 60
    ]
    opened = [i for i, c in enumerate(cards) if c.created + opens[i] < window_end - 60]
    picks: list[int] = []
    if complete and count:
        picks += [
            int(i) for i in rng.choice(complete, size=min(2, count, len(complete)), replace=False)
        ]
    rest = [i for i in opened if i not in picks]
    extra = count - len(picks)
    if extra > 0 and rest:
        picks += [int(i) for i in rng.choice(rest, size=min(extra, len(rest)), replace=False)]
    result: list[tuple[ChargeRecord, int, int | None, str]] = []
    for number, index in enumerate(sorted(picks)):
        charge = cards[index]
        opened_at = int(charge.created + opens[index])
        closed_at = int(opened_at + closes[index])
        outcome = "lost" if number % 2 == 0 else "won"
        if number >= 2:
            outcome = "lost" if rng.random() < 0.6 else "won"
        reason = pick(
            rng,
            (
                ("fraudulent", 0.5),
                ("subscription_canceled", 0.25),
                ("product_not_received", 0.1),
                ("general", 0.15),
            ),
        )
        did = stripe_id("dp", seed, "dispute", charge.id).replace("dp_", "dp_1Q")[:27]
        metadata = {
            "tenant_id": charge.tenant.id,
            "user_id": charge.user_id,
            "revenue_type": charge.revenue_type,
        }

        def obj(
            status: str,
            evidence: bool,
            c: ChargeRecord = charge,
            d: str = did,
            r: str = reason,
            m: dict[str, str] = metadata,
            at: int = opened_at,
        ) -> dict[str, Any]:
            return se.dispute(
                did=d,
                cid=c.id,
                intent=c.intent,
                amount=c.amount,
                currency=c.currency,
                created=at,
                status=status,
                reason=r,
                brand=c.brand or "visa",
                metadata=m,
                evidence_submitted=evidence,
            )

        emit("charge.dispute.created", opened_at, obj("needs_response", False))
        emit("charge.dispute.funds_withdrawn", opened_at + 1, obj("needs_response", False))
        review = opened_at + int(rng.uniform(2, 8) * DAY)
        emit(
            "charge.dispute.updated",
            review,
            obj("under_review", True),
            {"status": "needs_response"},
        )
        if closed_at < window_end - 60:
            emit(
                "charge.dispute.closed",
                closed_at,
                obj(outcome, True),
                {"status": "under_review"},
            )
            if outcome == "won":
                emit("charge.dispute.funds_reinstated", closed_at + 1, obj(outcome, True))
            result.append((charge, opened_at, closed_at, outcome))
        else:
            result.append((charge, opened_at, None, "under_review"))
    return result
