"""Stripe objects and events shaped as Stripe sends them (API version 2025-03-31.basil).

Subscription periods on the subscription item, invoices linked to subscriptions through
`parent.subscription_details`, charges without an `invoice` field, `invoice_payment` objects
linking invoices to payment intents. Times are Unix seconds; amounts integers in minor units;
currencies lower case.

The payments test fixtures build their event envelopes, prices, refunds and invoice payments
with these functions too (`tests/fixtures/landing/payments/build_fixtures.py`): a change
here changes them when they are built again.

Owner metadata: every subscription, charge and dispute carries `metadata.tenant_id` and
`metadata.user_id` (and charges and disputes `revenue_type`), as the platform sets them
when it creates the object (disputes: the platform's dispute webhook copies the charge's
metadata onto the dispute). So each monthly file stands on its own: a refund or dispute of a
charge from an earlier month is placed without the loader knowing that charge.
"""

from __future__ import annotations

from typing import Any

from demo_data.catalog import API_VERSION, Plan

CARD_BRANDS = (
    ("visa", 0.44),
    ("mastercard", 0.36),
    ("elo", 0.1),
    ("amex", 0.05),
    ("hipercard", 0.05),
)
INTL_BRANDS = (("visa", 0.55), ("mastercard", 0.38), ("amex", 0.07))
DECLINES = (
    ("card_declined", "Your card was declined."),
    ("insufficient_funds", "Your card has insufficient funds."),
    ("expired_card", "Your card has expired."),
    (
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
    ),
)


def event(
    event_id: str,
    kind: str,
    created: int,
    obj: dict[str, Any],
    previous: dict[str, Any] | None = None,
    request: str | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    return {
        "id": event_id,
        "object": "event",
        "api_version": API_VERSION,
        "created": created,
        "data": data,
        "livemode": True,
        "pending_webhooks": 1,
        "request": {"id": request, "idempotency_key": None if request is None else request[4:]},
        "type": kind,
    }


def add_on_price(plan: Plan, monthly_minor: int) -> dict[str, Any]:
    """The storage add-on's Price for a plan's billing cycle (an add-on bills with its plan):
    `monthly_minor` a month, no lookup_key (it is no plan)."""
    interval, count = {"monthly": ("month", 1), "quarterly": ("month", 3), "yearly": ("year", 1)}[
        plan.cycle
    ]
    return recurring_price(
        f"price_1QStorage{plan.currency.capitalize()}{plan.cycle.capitalize()}",
        monthly_minor * plan.months,
        plan.currency.lower(),
        interval,
        count,
        created=1640995200,
        lookup_key=None,
        metadata={"add_on": "storage"},
        nickname="Armazenamento extra",
        product="prod_BCFStorage",
    )


def price(plan: Plan) -> dict[str, Any]:
    """The Price of a catalogue plan."""
    interval, count = {"monthly": ("month", 1), "quarterly": ("month", 3), "yearly": ("year", 1)}[
        plan.cycle
    ]
    return recurring_price(
        plan.stripe_price_id,
        plan.minor,
        plan.currency.lower(),
        interval,
        count,
        created=1640995200,
        lookup_key=plan.slug,
        metadata={"tier": plan.tier},
        nickname=plan.name,
        product=f"prod_BCF{plan.tier.capitalize()}",
    )


def recurring_price(
    price_id: str,
    amount: int,
    currency: str,
    interval: str,
    count: int,
    *,
    created: int,
    lookup_key: str | None,
    metadata: dict[str, str],
    nickname: str | None,
    product: str,
) -> dict[str, Any]:
    """A per-unit Price of `amount` minor units every `count` `interval`s."""
    return {
        "id": price_id,
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": created,
        "currency": currency,
        "livemode": True,
        "lookup_key": lookup_key,
        "metadata": metadata,
        "nickname": nickname,
        "product": product,
        "recurring": {
            "interval": interval,
            "interval_count": count,
            "meter": None,
            "usage_type": "licensed",
        },
        "tax_behavior": "unspecified",
        "type": "recurring",
        "unit_amount": amount,
        "unit_amount_decimal": str(amount),
    }


def customer(
    cid: str, created: int, email: str, name: str, owner: dict[str, str]
) -> dict[str, Any]:
    return {
        "id": cid,
        "object": "customer",
        "created": created,
        "currency": None,
        "email": email,
        "invoice_prefix": cid[4:12].upper(),
        "livemode": True,
        "metadata": owner,
        "name": name,
        "preferred_locales": ["pt-BR"],
    }


def subscription(
    *,
    sid: str,
    customer_id: str,
    metadata: dict[str, str],
    plan: Plan,
    quantity: int,
    created: int,
    period: tuple[int, int],
    status: str,
    anchor: int,
    trial: tuple[int, int] | None = None,
    cancel_at_period_end: bool = False,
    canceled_at: int | None = None,
    ended_at: int | None = None,
    reason: str | None = None,
    latest_invoice: str | None = None,
    discounts: list[str] | None = None,
    add_on: dict[str, Any] | None = None,
) -> dict[str, Any]:
    start, end = period
    item = {
        "id": f"si_{sid[4:]}",
        "object": "subscription_item",
        "created": created,
        "current_period_end": end,
        "current_period_start": start,
        "metadata": {},
        "price": price(plan),
        "quantity": quantity,
        "subscription": sid,
        "tax_rates": [],
    }
    return {
        "id": sid,
        "object": "subscription",
        "application": None,
        "billing_cycle_anchor": anchor,
        "cancel_at": end if cancel_at_period_end else None,
        "cancel_at_period_end": cancel_at_period_end,
        "canceled_at": canceled_at,
        "cancellation_details": {"comment": None, "feedback": None, "reason": reason},
        "collection_method": "charge_automatically",
        "created": created,
        "currency": plan.currency.lower(),
        "customer": customer_id,
        "days_until_due": None,
        "default_payment_method": f"pm_{customer_id[4:]}",
        "ended_at": ended_at,
        "items": {
            "object": "list",
            "data": [item]
            + (
                [{**item, "id": f"si_{sid[4:]}A", "price": add_on, "quantity": 1}] if add_on else []
            ),
            "has_more": False,
            "total_count": 2 if add_on else 1,
            "url": f"/v1/subscription_items?subscription={sid}",
        },
        "latest_invoice": latest_invoice,
        "livemode": True,
        "metadata": metadata,
        "start_date": created,
        "status": status,
        "trial_end": trial[1] if trial else None,
        "trial_start": trial[0] if trial else None,
    } | ({} if discounts is None else {"discounts": discounts})


def discount(
    did: str, customer_id: str, sid: str, start: int, end: int, percent_off: int, months: int
) -> dict[str, Any]:
    """A Discount of a repeating percent_off coupon (coupon at `discount.coupon`, as API
    versions up to basil send it)."""
    return {
        "id": did,
        "object": "discount",
        "checkout_session": None,
        "coupon": {
            "id": f"BOASVINDAS{percent_off}",
            "object": "coupon",
            "amount_off": None,
            "currency": None,
            "duration": "repeating",
            "duration_in_months": months,
            "livemode": True,
            "name": f"Boas-vindas {percent_off}%",
            "percent_off": percent_off,
            "valid": True,
        },
        "customer": customer_id,
        "end": end,
        "invoice": None,
        "invoice_item": None,
        "promotion_code": None,
        "start": start,
        "subscription": sid,
    }


def invoice(
    *,
    iid: str,
    number: str,
    sid: str,
    customer_id: str,
    amount: int,
    currency: str,
    created: int,
    period: tuple[int, int],
    sub_metadata: dict[str, str],
    plan: Plan,
    quantity: int,
    reason: str,
    paid: bool,
    attempts: int,
    intent: str | None,
    next_attempt: int | None = None,
) -> dict[str, Any]:
    line = {
        "id": f"il_{iid[3:]}",
        "object": "line_item",
        "amount": amount,
        "currency": currency,
        "description": f"{quantity} x {plan.name}",
        "metadata": sub_metadata,
        "parent": {
            "type": "subscription_item_details",
            "subscription_item_details": {
                "subscription": sid,
                "subscription_item": f"si_{sid[4:]}",
            },
        },
        "period": {"start": period[0], "end": period[1]},
        "pricing": {
            "price_details": {
                "price": plan.stripe_price_id,
                "product": f"prod_BCF{plan.tier.capitalize()}",
            }
        },
        "quantity": quantity,
    }
    return {
        "id": iid,
        "object": "invoice",
        "amount_due": amount,
        "amount_paid": amount if paid else 0,
        "amount_remaining": 0 if paid else amount,
        "attempt_count": attempts,
        "attempted": attempts > 0,
        "billing_reason": reason,
        "collection_method": "charge_automatically",
        "created": created,
        "currency": currency,
        "customer": customer_id,
        "hosted_invoice_url": f"https://invoice.stripe.com/i/acct_1BCF/{iid}",
        "lines": {"object": "list", "data": [line], "has_more": False, "total_count": 1},
        "livemode": True,
        "metadata": {},
        "next_payment_attempt": next_attempt,
        "number": number,
        "parent": {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {"metadata": sub_metadata, "subscription": sid},
        },
        "payments": {
            "object": "list",
            "data": (
                [
                    {
                        "id": f"inpay_{iid[3:]}",
                        "object": "invoice_payment",
                        "payment": {"type": "payment_intent", "payment_intent": intent},
                    }
                ]
                if intent
                else []
            ),
            "has_more": False,
        },
        "period_end": period[1],
        "period_start": period[0],
        "status": "paid" if paid else "open",
        "status_transitions": {"paid_at": created if paid else None, "finalized_at": created},
        "subtotal": amount,
        "total": amount,
    }


def invoice_payment(
    pid: str, iid: str, intent: str, amount: int, currency: str, created: int
) -> dict[str, Any]:
    return {
        "id": pid,
        "object": "invoice_payment",
        "amount_paid": amount,
        "amount_requested": amount,
        "created": created,
        "currency": currency,
        "invoice": iid,
        "is_default": True,
        "livemode": True,
        "payment": {"type": "payment_intent", "payment_intent": intent},
        "status": "paid",
        "status_transitions": {"canceled_at": None, "paid_at": created},
    }


def card_details(brand: str, country: str, last4: str, expiry: tuple[int, int]) -> dict[str, Any]:
    return {
        "card": {
            "amount_authorized": None,
            "brand": brand,
            "checks": {"address_postal_code_check": None, "cvc_check": "pass"},
            "country": country,
            "exp_month": expiry[0],
            "exp_year": expiry[1],
            "funding": "credit",
            "installments": None,
            "last4": last4,
            "network": brand if brand in ("visa", "mastercard", "amex") else "elo",
            "three_d_secure": None,
        },
        "type": "card",
    }


def pix_details(transaction: str) -> dict[str, Any]:
    return {"pix": {"bank_transaction_id": transaction}, "type": "pix"}


def charge(
    *,
    cid: str,
    amount: int,
    currency: str,
    created: int,
    customer_id: str,
    intent: str,
    metadata: dict[str, str],
    method: dict[str, Any],
    description: str,
    status: str = "succeeded",
    failure: tuple[str, str] | None = None,
    refunds: list[dict[str, Any]] | None = None,
    amount_refunded: int | None = None,
    disputed: bool = False,
) -> dict[str, Any]:
    """A Charge; its refunds listed (API versions before 2022-11-15) or only counted in
    `amount_refunded` (current versions: the list is not included)."""
    refunded = (
        sum(r["amount"] for r in refunds or []) if amount_refunded is None else amount_refunded
    )
    ok = status == "succeeded"
    obj: dict[str, Any] = {
        "id": cid,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount if ok else 0,
        "amount_refunded": refunded,
        "balance_transaction": f"txn_{cid[3:]}" if ok else None,
        "billing_details": {"address": None, "email": None, "name": None, "phone": None},
        "calculated_statement_descriptor": "BOTCRIPTOFY2",
        "captured": ok,
        "created": created,
        "currency": currency,
        "customer": customer_id,
        "description": description,
        "disputed": disputed,
        "failure_code": failure[0] if failure else None,
        "failure_message": failure[1] if failure else None,
        "livemode": True,
        "metadata": metadata,
        "outcome": {
            "network_status": "approved_by_network" if ok else "declined_by_network",
            "reason": None if ok else (failure[0] if failure else "generic_decline"),
            "risk_level": "normal",
            "seller_message": "Payment complete."
            if ok
            else "The bank did not return any further details with this decline.",
            "type": "authorized" if ok else "issuer_declined",
        },
        "paid": ok,
        "payment_intent": intent,
        "payment_method": f"pm_{customer_id[4:]}",
        "payment_method_details": method,
        "receipt_url": f"https://pay.stripe.com/receipts/payment/{cid}" if ok else None,
        "refunded": refunded == amount,
        "status": status,
    }
    if refunds is not None:
        obj["refunds"] = {
            "object": "list",
            "data": refunds,
            "has_more": False,
            "total_count": len(refunds),
            "url": f"/v1/charges/{cid}/refunds",
        }
    return obj


def refund(
    rid: str, cid: str, intent: str, amount: int, currency: str, created: int, reason: str
) -> dict[str, Any]:
    return {
        "id": rid,
        "object": "refund",
        "amount": amount,
        "balance_transaction": f"txn_{rid[3:]}",
        "charge": cid,
        "created": created,
        "currency": currency,
        "metadata": {},
        "payment_intent": intent,
        "reason": reason,
        "receipt_number": None,
        "status": "succeeded",
    }


def dispute(
    *,
    did: str,
    cid: str,
    intent: str,
    amount: int,
    currency: str,
    created: int,
    status: str,
    reason: str,
    brand: str,
    metadata: dict[str, str],
    evidence_submitted: bool,
) -> dict[str, Any]:
    return {
        "id": did,
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [],
        "charge": cid,
        "created": created,
        "currency": currency,
        "evidence_details": {
            "due_by": created + 9 * 86400,
            "has_evidence": evidence_submitted,
            "past_due": False,
            "submission_count": 1 if evidence_submitted else 0,
        },
        "is_charge_refundable": False,
        "livemode": True,
        "metadata": metadata,
        "payment_intent": intent,
        "payment_method_details": {
            "card": {
                "brand": brand,
                "network_reason_code": "10.4" if reason == "fraudulent" else "13.1",
            },
            "type": "card",
        },
        "reason": reason,
        "status": status,
    }
