"""Subscriptions over time, as the Stripe events a webhook endpoint would have received.

The simulation walks the window month by month. At each month's start it decides, for the
paying customers of that moment, who churns (a quota of `CHURN_RATE` of them, carried over
by error diffusion so the realised rate stays close to it whatever the number of tenants),
who upgrades, downgrades, changes seats or billing cycle, and which churned or free tenants
(re)subscribe. Then it plays each tenant's month in time order: signups (trial, paid or free
plan; some direct paid BRL signups with a welcome coupon, `WELCOME_PERCENT_OFF` for
`WELCOME_MONTHS`, sent as discount ids on the subscription and a customer.discount.created;
some with a storage add-on item, `ADD_ON_MONTHLY`, removed when their plan changes),
trial ends (about 72 % convert), renewals (charge, invoice, invoice payment), failed
payments with dunning retries (most recover; involuntary churners don't), cancellations at
period end, immediate cancellations, moves to the free plan, upgrades (new billing cycle
from the upgrade, charged in full), downgrades and seat changes at renewal, one-off PIX/card
charges (setup fees, backtest credits). Every state change is appended to the tenant's
timeline (`world.Change`), which usage, trading and behaviour follow.

`finish` then bills each tenant, on the 2nd business day of a month, the commissions and
metered resource costs of its previous month's trading fills (one-off charges with
revenue_type commission and usage, in the tenant's currency), so the ledger's commission
and usage revenue agree with the trading source.

Afterwards refunds and disputes are drawn from the successful charges (`charges`), and
`webhooks` turns the events into webhook deliveries and the payments files.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np

from core.reporting_calendar import brazilian_holidays
from demo_data import catalog
from demo_data import stripe_events as se
from demo_data.catalog import Plan, plan_slug
from demo_data.charges import ChargeRecord, draw_disputes, draw_refunds
from demo_data.seeding import stream, stripe_id
from demo_data.world import (
    ACTIVE,
    FREE,
    NONE,
    PAST_DUE,
    TRIALING,
    Change,
    Tenant,
    World,
    add_months,
    local_midnight,
    pick,
)

CHURN_RATE = 0.04  # of paying customers at the month's start
REACTIVATION_RATE = 0.06  # of churned customers per month
FREE_CONVERSION_RATE = 0.07  # of free / lapsed-trial tenants per month
TRIAL_DAYS = 14
TRIAL_CONVERSION = 0.72
PAYMENT_FAILURE = 0.035  # renewals whose first attempt fails (and later recovers)
RETRY_DAYS = (3, 5, 7)  # dunning: days between attempts; after the last, the subscription ends
# A welcome coupon on some direct paid signups in BRL: 20 % off the first three months.
WELCOME_PERCENT_OFF = 20
WELCOME_MONTHS = 3
WELCOME_EVERY = 4  # tenants whose index is 1 modulo this
# A storage add-on item on some direct paid BRL signups, until their plan changes.
ADD_ON_MONTHLY = Decimal("49.90")
ADD_ON_EVERY = 5  # tenants whose index is 2 modulo this
DAY = 86400


def _ts(at: datetime) -> int:
    return int(at.timestamp())


def _dt(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def shift_months(anchor: int, months: int) -> int:
    """The anchor moved by whole months, its day of month kept (clamped at month end)."""
    at = _dt(anchor)
    index = at.year * 12 + at.month - 1 + months
    year, month = index // 12, index % 12 + 1
    last = (datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC) - timedelta(days=1)).day
    return _ts(at.replace(year=year, month=month, day=min(at.day, last)))


@dataclass
class Sub:
    id: str
    plan: Plan
    quantity: int
    created: int
    status: str  # Stripe's: trialing, active, past_due, canceled
    start: int
    end: int
    anchor: int
    cycles: int = 0  # periods since the anchor
    trial: tuple[int, int] | None = None
    convert: bool = True  # a trial that converts
    trial_notice: bool = False
    cancel_at_period_end: bool = False
    canceled_at: int | None = None
    pending: tuple[str, Any] | None = None  # change applied at the next renewal
    involuntary: bool = False  # its next failed payment never recovers
    retries: int = 0
    recover_on: int = 0
    next_retry: int | None = None
    invoice: dict[str, Any] | None = None
    discount: tuple[str, int, int] | None = None  # (id, start, end) of its welcome coupon
    add_on: bool = False  # carries the storage add-on item


@dataclass
class Account:
    """One tenant's billing state during the simulation."""

    tenant: Tenant
    card: tuple[str, str, tuple[int, int]]
    sub: Sub | None = None
    had_mrr: bool = False
    churned_at: int | None = None
    lapsed: bool = False  # a trial that did not convert
    setup_fee: bool = False
    actions: list[tuple[int, str, Any]] = field(default_factory=list)
    invoices: int = 0

    @property
    def paying(self) -> bool:
        sub = self.sub
        return sub is not None and sub.status in ("active", "past_due") and sub.plan.price > 0


@dataclass
class BillingResult:
    events: list[dict[str, Any]]
    charges: list[ChargeRecord]  # successful charges
    refunds: list[tuple[ChargeRecord, int, int]]  # (charge, amount, at)
    disputes: list[tuple[ChargeRecord, int, int | None, str]]  # (charge, opened, closed, status)
    plan_changes: list[
        tuple[int, Tenant, str, str | None, str | None]
    ]  # (at, tenant, what, old, new)
    failed_payments: list[tuple[int, Tenant]]
    monthly: list[dict[str, Any]]  # per month: customers at start, churned, new, reactivated


class Simulation:
    def __init__(self, world: World) -> None:
        self.world = world
        self.seed = world.seed
        self.rng = stream(world.seed, "billing")
        self.events: list[dict[str, Any]] = []
        self.charges: list[ChargeRecord] = []
        self.plan_changes: list[tuple[int, Tenant, str, str | None, str | None]] = []
        self.failed: list[tuple[int, Tenant]] = []
        self.counter = 0
        self.accounts = [self._account(tenant) for tenant in world.tenants]
        self.churn_carry = 0.0
        self.reactivation_carry = 0.0
        self.window_end = _ts(world.window.end)

    # -- helpers -------------------------------------------------------------------------------
    def _account(self, tenant: Tenant) -> Account:
        rng = stream(self.seed, "card", tenant.index)
        brands = se.CARD_BRANDS if tenant.currency == "BRL" else se.INTL_BRANDS
        brand = pick(rng, brands)
        last4 = f"{int(rng.integers(0, 10000)):04d}"
        expiry = (int(rng.integers(1, 13)), int(rng.integers(2027, 2032)))
        return Account(tenant, (brand, last4, expiry))

    def _id(self, prefix: str, *key: object) -> str:
        self.counter += 1
        return stripe_id(prefix, self.seed, *key, self.counter)

    def _owner(self, account: Account) -> dict[str, str]:
        return {"tenant_id": account.tenant.id, "user_id": account.tenant.owner.id}

    def _emit(
        self,
        kind: str,
        at: int,
        obj: dict[str, Any],
        previous: dict[str, Any] | None = None,
        *,
        request: bool = False,
    ) -> None:
        if at >= self.window_end:
            return
        prefix = "evt_1Q" if not kind.startswith("charge") else "evt_3Q"
        event_id = self._id("evt", kind, at)[4:]
        request_id = self._id("req", at) if request else None
        self.events.append(se.event(prefix + event_id[:20], kind, at, obj, previous, request_id))

    def _timeline(self, account: Account, at: int, state: str) -> None:
        sub = account.sub
        plan = sub.plan.slug if sub is not None and state != NONE else None
        quantity = sub.quantity if sub is not None else 1
        timeline = account.tenant.timeline
        change = Change(_dt(at), state, plan, quantity)
        if timeline and timeline[-1].at == change.at:
            timeline[-1] = change
        elif not timeline or (timeline[-1].state, timeline[-1].plan, timeline[-1].quantity) != (
            state,
            plan,
            quantity,
        ):
            timeline.append(change)

    def _sub_object(self, account: Account, **overrides: Any) -> dict[str, Any]:
        sub = account.sub
        assert sub is not None
        values: dict[str, Any] = {
            "sid": sub.id,
            "customer_id": account.tenant.customer_id,
            "metadata": {**self._owner(account), "plan": sub.plan.slug},
            "plan": sub.plan,
            "quantity": sub.quantity,
            "created": sub.created,
            "period": (sub.start, sub.end),
            "status": sub.status,
            "anchor": sub.anchor,
            "trial": sub.trial,
            "cancel_at_period_end": sub.cancel_at_period_end,
            "canceled_at": sub.canceled_at,
            "latest_invoice": sub.invoice["id"] if sub.invoice else None,
            "discounts": [sub.discount[0]] if sub.discount else None,
            "add_on": se.add_on_price(sub.plan, _ADD_ON_MINOR) if sub.add_on else None,
        }
        values.update(overrides)
        return se.subscription(**values)

    def _method(self, account: Account, pix: bool = False) -> tuple[dict[str, Any], str | None]:
        if pix and account.tenant.currency == "BRL":
            return se.pix_details(f"E{self._id('pix', account.tenant.index)[4:]}"), None
        brand, last4, expiry = account.card
        return se.card_details(brand, account.tenant.country, last4, expiry), brand

    # -- lifecycle -------------------------------------------------------------------------------
    def _plan(self, tier: str, cycle: str, currency: str) -> Plan:
        if currency != "BRL" and cycle == "quarterly":
            cycle = "monthly"
        return self.world.plans[plan_slug(tier, cycle, currency)]

    def _new_sub(self, account: Account, at: int, plan: Plan, status: str) -> Sub:
        quantity = 1
        if plan.tier in ("business", "enterprise") and account.tenant.type == "empresa":
            quantity = int(self.rng.choice([1, 1, 2, 3, 5]))
        sub = Sub(
            id=self._id("sub", account.tenant.index)[:18].replace("sub_", "sub_1Q"),
            plan=plan,
            quantity=quantity,
            created=at,
            status=status,
            start=at,
            end=shift_months(at, plan.months),
            anchor=at,
        )
        account.sub = sub
        return sub

    def signup(self, account: Account, at: int) -> None:
        tenant = account.tenant
        self._emit(
            "customer.created",
            at - 2,
            se.customer(
                tenant.customer_id, at - 2, tenant.owner.email, tenant.name, self._owner(account)
            ),
        )
        plan = self._plan(tenant.first_tier, tenant.first_cycle, tenant.currency)
        if tenant.signup == "free":
            self._new_sub(account, at, self.world.plans["free"], "active")
            self._emit("customer.subscription.created", at, self._sub_object(account))
            self._timeline(account, at, FREE)
        elif tenant.signup == "trial":
            sub = self._new_sub(account, at, plan, "trialing")
            sub.trial = (at, at + TRIAL_DAYS * DAY)
            sub.end = sub.anchor = sub.trial[1]
            sub.convert = bool(self.rng.random() < TRIAL_CONVERSION)
            self._emit("customer.subscription.created", at, self._sub_object(account))
            self._invoice_zero(account, at + 1)
            self._timeline(account, at, TRIALING)
        else:
            self._start_paid(account, at, plan, "subscription_create", welcome=True)

    def _start_paid(
        self, account: Account, at: int, plan: Plan, reason: str, *, welcome: bool = False
    ) -> None:
        sub = self._new_sub(account, at, plan, "active")
        tenant = account.tenant
        if welcome and tenant.currency == "BRL" and tenant.index % WELCOME_EVERY == 1:
            end = shift_months(at, WELCOME_MONTHS)
            sub.discount = (stripe_id("di", self.seed, "welcome", tenant.index)[:27], at, end)
            tenant.welcome_discount = (_dt(at), _dt(end))
        if welcome and tenant.currency == "BRL" and tenant.index % ADD_ON_EVERY == 2:
            sub.add_on = True
            tenant.add_on = (_dt(at), None)
        self._emit("customer.subscription.created", at, self._sub_object(account))
        if sub.discount is not None:
            did, start, end = sub.discount
            obj = se.discount(
                did, tenant.customer_id, sub.id, start, end, WELCOME_PERCENT_OFF, WELCOME_MONTHS
            )
            self._emit("customer.discount.created", at, obj)
        self._timeline(account, at, ACTIVE)
        self._bill(account, at + 1, reason)

    def _invoice_zero(self, account: Account, at: int) -> None:
        sub = account.sub
        assert sub is not None
        account.invoices += 1
        iid = self._id("in", account.tenant.index)[:21].replace("in_", "in_1Q")
        obj = se.invoice(
            iid=iid,
            number=f"{account.tenant.customer_id[4:12].upper()}-{account.invoices:04d}",
            sid=sub.id,
            customer_id=account.tenant.customer_id,
            amount=0,
            currency=sub.plan.currency.lower(),
            created=at,
            period=(sub.start, sub.end),
            sub_metadata={**self._owner(account), "plan": sub.plan.slug},
            plan=sub.plan,
            quantity=sub.quantity,
            reason="subscription_create",
            paid=True,
            attempts=0,
            intent=None,
        )
        self._emit("invoice.paid", at, obj)

    def _bill(self, account: Account, at: int, reason: str) -> None:
        """Invoice the current period and try to collect it."""
        sub = account.sub
        assert sub is not None
        account.invoices += 1
        sub.invoice = {
            "id": self._id("in", account.tenant.index)[:21].replace("in_", "in_1Q"),
            "number": f"{account.tenant.customer_id[4:12].upper()}-{account.invoices:04d}",
            "amount": _discounted(
                sub,
                at,
                sub.plan.minor * sub.quantity
                + (_ADD_ON_MINOR * sub.plan.months if sub.add_on else 0),
            ),
            "period": (sub.start, sub.end),
            "reason": reason,
            "created": at,
            "attempts": 0,
            "intent": self._id("pi", account.tenant.index)[:27].replace("pi_", "pi_3Q"),
        }
        sub.retries = 0
        if sub.involuntary:
            sub.recover_on = 0
            self._attempt(account, at, succeed=False)
        elif self.rng.random() < PAYMENT_FAILURE:
            sub.recover_on = int(self.rng.choice([1, 2, 3], p=[0.6, 0.3, 0.1]))
            self._attempt(account, at, succeed=False)
        else:
            self._attempt(account, at, succeed=True)

    def _invoice_object(
        self, account: Account, at: int, paid: bool, next_attempt: int | None
    ) -> dict[str, Any]:
        sub = account.sub
        assert sub is not None
        assert sub.invoice is not None
        bill = sub.invoice
        return se.invoice(
            iid=bill["id"],
            number=bill["number"],
            sid=sub.id,
            customer_id=account.tenant.customer_id,
            amount=bill["amount"],
            currency=sub.plan.currency.lower(),
            created=bill["created"],
            period=bill["period"],
            sub_metadata={**self._owner(account), "plan": sub.plan.slug},
            plan=sub.plan,
            quantity=sub.quantity,
            reason=bill["reason"],
            paid=paid,
            attempts=bill["attempts"],
            intent=bill["intent"],
            next_attempt=next_attempt,
        )

    def _attempt(self, account: Account, at: int, *, succeed: bool) -> None:
        sub = account.sub
        assert sub is not None
        assert sub.invoice is not None
        bill = sub.invoice
        bill["attempts"] += 1
        tenant = account.tenant
        currency = sub.plan.currency.lower()
        charge_id = self._id("ch", tenant.index)[:27].replace("ch_", "ch_3Q")
        method, brand = self._method(account)
        metadata = {**self._owner(account), "revenue_type": "subscription"}
        description = (
            "Subscription creation"
            if bill["reason"] == "subscription_create"
            else "Subscription update"
            if bill["reason"] == "subscription_update"
            else f"Subscription renewal: {sub.plan.name}"
        )
        charge = functools.partial(  # the attempt's charge, succeeded unless told otherwise
            se.charge,
            cid=charge_id,
            amount=bill["amount"],
            currency=currency,
            created=at + 2,
            customer_id=tenant.customer_id,
            intent=bill["intent"],
            metadata=metadata,
            method=method,
            description=description,
        )
        if succeed:
            self._emit("charge.succeeded", at + 3, charge())
            self._emit(
                "invoice_payment.paid",
                at + 4,
                se.invoice_payment(
                    "inpay_1Q" + bill["id"][5:25],
                    bill["id"],
                    bill["intent"],
                    bill["amount"],
                    currency,
                    at + 2,
                ),
            )
            self._emit("invoice.paid", at + 4, self._invoice_object(account, at + 4, True, None))
            if at + 3 < self.window_end:
                self.charges.append(
                    ChargeRecord(
                        charge_id,
                        bill["intent"],
                        at + 2,
                        bill["amount"],
                        currency,
                        tenant,
                        tenant.owner.id,
                        "subscription",
                        description,
                        method,
                        brand,
                    )
                )
            was_past_due = sub.status == "past_due"
            sub.status, sub.next_retry, sub.retries = "active", None, 0
            if was_past_due:
                self._emit(
                    "customer.subscription.updated",
                    at + 5,
                    self._sub_object(account),
                    {"status": "past_due"},
                )
            account.had_mrr = True
            self._timeline(account, at, ACTIVE)
            self._maybe_setup_fee(account, at + 60)
            return
        failure = se.DECLINES[int(self.rng.choice(len(se.DECLINES), p=[0.45, 0.35, 0.12, 0.08]))]
        self._emit("charge.failed", at + 3, charge(status="failed", failure=failure))
        self.failed.append((at, tenant))
        final = sub.retries >= len(RETRY_DAYS)
        next_retry = None
        if not final:
            hours = float(self.rng.uniform(-6, 6))
            next_retry = at + RETRY_DAYS[sub.retries] * DAY + int(hours * 3600)
        self._emit(
            "invoice.payment_failed",
            at + 4,
            self._invoice_object(account, at + 4, False, next_retry),
        )
        if final:
            self._end(account, at + 6, "payment_failed")
            return
        if sub.status != "past_due":
            sub.status = "past_due"
            self._emit(
                "customer.subscription.updated",
                at + 5,
                self._sub_object(account),
                {"status": "active"},
            )
            self._timeline(account, at, PAST_DUE)
        sub.next_retry = next_retry

    def retry(self, account: Account, at: int) -> None:
        sub = account.sub
        assert sub is not None
        sub.retries += 1
        self._attempt(account, at, succeed=sub.recover_on == sub.retries)

    def _maybe_setup_fee(self, account: Account, at: int) -> None:
        tenant = account.tenant
        if account.setup_fee or tenant.type != "empresa":
            return
        account.setup_fee = True
        if self.rng.random() < 0.4:
            amount = {"BRL": 99000, "USD": 19900, "EUR": 18900}[tenant.currency]
            self._one_off(account, at, amount, "Implantação e onboarding assistido")

    def _one_off(
        self,
        account: Account,
        at: int,
        amount: int,
        description: str,
        *,
        revenue_type: str = "other",
        pix: bool = True,
    ) -> None:
        tenant = account.tenant
        currency = tenant.currency.lower()
        method, brand = self._method(account, pix=pix)
        charge_id = self._id("ch", tenant.index)[:27].replace("ch_", "ch_3Q")
        intent = self._id("pi", tenant.index)[:27].replace("pi_", "pi_3Q")
        metadata = {**self._owner(account), "revenue_type": revenue_type}
        obj = se.charge(
            cid=charge_id,
            amount=amount,
            currency=currency,
            created=at,
            customer_id=tenant.customer_id,
            intent=intent,
            metadata=metadata,
            method=method,
            description=description,
        )
        self._emit("charge.succeeded", at + 1, obj, request=True)
        self._emit(
            "payment_intent.succeeded",
            at + 1,
            {
                "id": intent,
                "object": "payment_intent",
                "amount": amount,
                "amount_received": amount,
                "created": at,
                "currency": currency,
                "customer": tenant.customer_id,
                "description": description,
                "latest_charge": charge_id,
                "livemode": True,
                "metadata": metadata,
                "payment_method_types": [method["type"]],
                "status": "succeeded",
            },
        )
        if at + 1 < self.window_end:
            self.charges.append(
                ChargeRecord(
                    charge_id,
                    intent,
                    at,
                    amount,
                    currency,
                    tenant,
                    tenant.owner.id,
                    revenue_type,
                    description,
                    method,
                    brand,
                )
            )

    def _end(self, account: Account, at: int, reason: str) -> None:
        sub = account.sub
        assert sub is not None
        was_paying = account.paying
        sub.status = "canceled"
        sub.canceled_at = sub.canceled_at or at
        self._emit(
            "customer.subscription.deleted",
            at,
            self._sub_object(account, ended_at=at, reason=reason),
            {"status": "trialing"} if sub.trial and sub.trial[1] >= at else None,
        )
        if was_paying:
            account.churned_at = at
        welcome = account.tenant.welcome_discount
        if sub.discount is not None and welcome is not None and _dt(at) < welcome[1]:
            account.tenant.welcome_discount = (welcome[0], _dt(at))  # it ends with the sub
        _drop_add_on(account, at)
        account.sub = None
        self._timeline(account, at, NONE)

    def trial_notice(self, account: Account, at: int) -> None:
        sub = account.sub
        assert sub is not None
        sub.trial_notice = True
        self._emit("customer.subscription.trial_will_end", at, self._sub_object(account))

    def trial_end(self, account: Account, at: int) -> None:
        sub = account.sub
        assert sub is not None
        assert sub.trial is not None
        if not sub.convert:  # no payment method at the trial's end: Stripe cancels it
            account.lapsed = True
            self._end(account, at, "payment_failed")
            return
        sub.status = "active"
        sub.start, sub.anchor, sub.cycles = at, at, 0
        sub.end = shift_months(at, sub.plan.months)
        self._emit(
            "customer.subscription.updated", at, self._sub_object(account), {"status": "trialing"}
        )
        self._timeline(account, at, ACTIVE)
        self._bill(account, at + 1, "subscription_cycle")

    def renewal(self, account: Account, at: int) -> None:
        sub = account.sub
        assert sub is not None
        if sub.cancel_at_period_end or sub.status == "past_due":
            self._end(
                account,
                at,
                "cancellation_requested" if sub.cancel_at_period_end else "payment_failed",
            )
            return
        old = (sub.start, sub.end)
        previous: dict[str, Any] = {
            "items": {"data": [{"current_period_start": old[0], "current_period_end": old[1]}]}
        }
        old_plan, old_quantity = sub.plan, sub.quantity
        if sub.pending is not None:
            what, value = sub.pending
            sub.pending = None
            if what == "quantity":
                sub.quantity = value
                previous["items"]["data"][0]["quantity"] = old_quantity
            else:
                sub.plan = value
                sub.quantity = 1 if value.tier in ("free", "starter", "pro") else sub.quantity
                _drop_add_on(account, at)  # a new plan comes without the add-on
                previous["items"]["data"][0]["price"] = {
                    "id": old_plan.stripe_price_id,
                    "lookup_key": old_plan.slug,
                }
                previous["metadata"] = {"plan": old_plan.slug}
            kind = "quantity" if what == "quantity" else ("free" if sub.plan.price == 0 else "plan")
            self.plan_changes.append(
                (
                    at,
                    account.tenant,
                    kind,
                    f"{old_plan.slug}x{old_quantity}",
                    f"{sub.plan.slug}x{sub.quantity}",
                )
            )
        sub.start = at
        if sub.plan.months != old_plan.months:
            sub.anchor, sub.cycles = at, 0
        else:
            sub.cycles += 1
        sub.end = shift_months(sub.anchor, sub.plan.months * (sub.cycles + 1))
        self._emit("customer.subscription.updated", at, self._sub_object(account), previous)
        if sub.plan.price == 0:
            if old_plan.price > 0:
                account.churned_at = at
            self._timeline(account, at, FREE)
            return
        self._timeline(account, at, ACTIVE)
        self._bill(account, at + 1, "subscription_cycle")

    def request_cancel(self, account: Account, at: int) -> None:
        sub = account.sub
        if sub is None or sub.status != "active" or at >= sub.end:
            return
        sub.cancel_at_period_end, sub.canceled_at = True, at
        self._emit(
            "customer.subscription.updated",
            at,
            self._sub_object(account),
            {"cancel_at_period_end": False, "cancel_at": None, "canceled_at": None},
            request=True,
        )
        self.plan_changes.append((at, account.tenant, "cancel_at_period_end", sub.plan.slug, None))

    def cancel_now(self, account: Account, at: int) -> None:
        sub = account.sub
        if sub is None or sub.status != "active":
            return
        self.plan_changes.append((at, account.tenant, "cancel", sub.plan.slug, None))
        sub.canceled_at = at
        self._end(account, at, "cancellation_requested")

    def change_plan_now(self, account: Account, at: int, plan: Plan) -> None:
        """An upgrade (or a free tenant subscribing): new price from now, a new billing cycle."""
        sub = account.sub
        if sub is None:
            self.plan_changes.append((at, account.tenant, "subscribe", None, plan.slug))
            self._start_paid(account, at, plan, "subscription_create")
            return
        if sub.status != "active" or sub.cancel_at_period_end:
            return
        old_plan = sub.plan
        previous = {
            "items": {
                "data": [
                    {
                        "current_period_start": sub.start,
                        "current_period_end": sub.end,
                        "price": {"id": old_plan.stripe_price_id, "lookup_key": old_plan.slug},
                    }
                ]
            },
            "metadata": {"plan": old_plan.slug},
            "billing_cycle_anchor": sub.anchor,
        }
        sub.plan, sub.pending = plan, None
        sub.start, sub.anchor, sub.cycles = at, at, 0
        sub.end = shift_months(at, plan.months)
        self._emit(
            "customer.subscription.updated", at, self._sub_object(account), previous, request=True
        )
        self.plan_changes.append((at, account.tenant, "upgrade", old_plan.slug, plan.slug))
        self._timeline(account, at, ACTIVE)
        self._bill(account, at + 2, "subscription_update")

    # -- the month loop ------------------------------------------------------------------------
    def _timers(self, account: Account, until: int) -> tuple[int, str, Any] | None:
        options: list[tuple[int, str, Any]] = []
        if account.actions:
            options.append(min(account.actions, key=lambda a: a[0]))
        sub = account.sub
        if sub is not None:
            if sub.status == "trialing" and sub.trial is not None:
                notice = sub.trial[1] - 3 * DAY
                if not sub.trial_notice and notice > sub.created:
                    options.append((notice, "trial_notice", None))
                options.append((sub.trial[1], "trial_end", None))
            elif sub.next_retry is not None:
                options.append((sub.next_retry, "retry", None))
            else:
                options.append((sub.end, "renewal", None))
        if not options:
            return None
        best = min(options, key=lambda o: o[0])
        return best if best[0] < until else None

    def _play(self, account: Account, until: int) -> None:
        while (timer := self._timers(account, until)) is not None:
            at, kind, payload = timer
            if timer in account.actions:
                account.actions.remove(timer)
            if kind == "upgrade":
                self.change_plan_now(account, at, payload)
            elif kind == "one_off":
                self._one_off(account, at, *payload)
            else:
                step = {
                    "signup": self.signup,
                    "trial_notice": self.trial_notice,
                    "trial_end": self.trial_end,
                    "retry": self.retry,
                    "renewal": self.renewal,
                    "request_cancel": self.request_cancel,
                    "cancel_now": self.cancel_now,
                }[kind]
                step(account, at)

    def _decide(self, month_start: int, month_end: int) -> dict[str, Any]:
        rng = self.rng
        customers = [a for a in self.accounts if a.paying]
        # Churn: a quota of the month's starting customers, among those whose period ends
        # this month (monthly plans always; quarterly and yearly only at their renewal).
        self.churn_carry += CHURN_RATE * len(customers)
        wanted = int(self.churn_carry)
        eligible = [
            a
            for a in customers
            if a.sub is not None
            and a.sub.status == "active"
            and not a.sub.cancel_at_period_end
            and a.sub.pending is None
            and month_start <= a.sub.end < month_end
        ]
        chosen: list[Account] = []
        if wanted and eligible:
            weights = np.array([self._churn_weight(a, month_start) for a in eligible])
            count = min(wanted, len(eligible))
            picks = rng.choice(len(eligible), size=count, replace=False, p=weights / weights.sum())
            chosen = [eligible[int(i)] for i in sorted(picks)]
        self.churn_carry -= len(chosen)
        for account in chosen:
            sub = account.sub
            assert sub is not None
            monthly = sub.plan.cycle == "monthly"
            kind = pick(
                rng,
                (("period_end", 0.5), ("involuntary", 0.2), ("immediate", 0.15), ("free", 0.15))
                if monthly
                else (("period_end", 0.6), ("involuntary", 0.2), ("free", 0.2)),
            )
            earliest = max(month_start + 3600, sub.end - 25 * DAY)
            request = int(rng.uniform(earliest, max(earliest + 1, sub.end - 3 * 3600)))
            if kind == "period_end":
                account.actions.append((request, "request_cancel", None))
            elif kind == "involuntary":
                sub.involuntary = True
            elif kind == "immediate":
                account.actions.append((request, "cancel_now", None))
            else:
                sub.pending = ("free", self.world.plans["free"])
                self.plan_changes.append(
                    (request, account.tenant, "schedule_free", sub.plan.slug, "free")
                )
        churning = {id(a) for a in chosen}

        # Expansion and contraction among the others.
        for account in customers:
            sub = account.sub
            if id(account) in churning or sub is None or sub.status != "active":
                continue
            if sub.pending is not None or sub.cancel_at_period_end:
                continue
            tenant = account.tenant
            rank = sub.plan.tier_rank
            up = 0.025 + (0.12 if tenant.over_limit else 0.0)
            at = int(rng.uniform(month_start + 3600, month_end - 3600))
            draw = rng.random()
            if draw < up and rank < 4:
                new = self._plan(catalog.TIERS[rank + 1], sub.plan.cycle, sub.plan.currency)
                account.actions.append((at, "upgrade", new))
            elif draw < up + 0.012 and rank > 1:
                sub.pending = (
                    "plan",
                    self._plan(catalog.TIERS[rank - 1], sub.plan.cycle, sub.plan.currency),
                )
            elif draw < up + 0.052 and sub.plan.tier in ("business", "enterprise"):
                delta = 1 if rng.random() < 0.65 else -1
                if sub.quantity + delta >= 1:
                    sub.pending = ("quantity", sub.quantity + delta)
            elif draw < up + 0.062 and sub.plan.cycle == "monthly":
                sub.pending = ("plan", self._plan(sub.plan.tier, "yearly", sub.plan.currency))
            elif rng.random() < 0.06:
                amount = int(rng.choice([2500, 4900, 9900, 14900]))
                if tenant.currency != "BRL":
                    amount //= 5
                account.actions.append((at, "one_off", (amount, "Créditos de backtest")))

        # Reactivations of churned customers, conversions of free and lapsed tenants.
        pool = [
            a
            for a in self.accounts
            if a.had_mrr
            and not a.paying
            and a.churned_at is not None
            and a.churned_at <= month_start - 45 * DAY
            and not any(kind == "upgrade" for _, kind, _ in a.actions)
        ]
        self.reactivation_carry += REACTIVATION_RATE * len(pool)
        back = min(int(self.reactivation_carry), len(pool))
        if back:
            picks = rng.choice(len(pool), size=back, replace=False)
            self.reactivation_carry -= back
            for index in sorted(picks):
                account = pool[int(index)]
                tier = pick(rng, (("starter", 0.45), ("pro", 0.45), ("business", 0.1)))
                plan = self._plan(tier, "monthly", account.tenant.currency)
                at = int(rng.uniform(month_start + 3600, month_end - 3600))
                account.actions.append((at, "upgrade", plan))
        for account in self.accounts:
            never_paid = not account.had_mrr and account.tenant.created_at.timestamp() < month_start
            on_free = account.sub is not None and account.sub.plan.price == 0
            candidate = never_paid and (on_free or account.lapsed) and not account.paying
            if candidate and rng.random() < FREE_CONVERSION_RATE:
                tier = pick(rng, (("starter", 0.6), ("pro", 0.4)))
                plan = self._plan(tier, "monthly", account.tenant.currency)
                at = int(rng.uniform(month_start + 3600, month_end - 3600))
                account.actions.append((at, "upgrade", plan))
        return {"customers_start": len(customers)}

    def _churn_weight(self, account: Account, now: int) -> float:
        sub = account.sub
        assert sub is not None
        tier = {"starter": 1.6, "pro": 1.0, "business": 0.6, "enterprise": 0.4}.get(
            sub.plan.tier, 1.0
        )
        kind = {"trader": 1.3, "influencer": 1.1, "empresa": 0.7}[account.tenant.type]
        young = 1.5 if now - account.tenant.created_at.timestamp() < 100 * DAY else 1.0
        return tier * kind * young

    def run(self) -> BillingResult:
        window = self.world.window
        monthly: list[dict[str, Any]] = []
        for month in window.months():
            start = max(_ts(local_midnight(month)), _ts(window.start))
            end = min(_ts(local_midnight(add_months(month, 1))), self.window_end)
            for account in self.accounts:
                created = _ts(account.tenant.created_at)
                if start <= created < end:
                    account.actions.append((created, "signup", None))
            stats = self._decide(start, end)
            for account in self.accounts:
                self._play(account, end)
            stats["month"] = month
            monthly.append(stats)
        self._finish_statuses()
        return BillingResult(
            events=self.events,
            charges=self.charges,
            refunds=[],
            disputes=[],
            plan_changes=sorted(self.plan_changes, key=lambda c: c[0]),
            failed_payments=self.failed,
            monthly=monthly,
        )

    def finish(
        self,
        result: BillingResult,
        metered: Mapping[tuple[int, str], tuple[Decimal, Decimal]] | None = None,
        rate: Callable[[str, date], Decimal] | None = None,
    ) -> BillingResult:
        """Bill last month's metered amounts, then draw refunds and disputes; sort events.

        `metered[(tenant index, "YYYY-MM")]` = (commissions, resource costs) in BRL of the
        tenant's fills that month: charged on the 2nd business day of the next month
        (revenue_type commission and usage), in the tenant's currency at `rate` (units of
        BRL per unit of the currency on a day).
        """
        for (index, month), (commission, usage) in sorted((metered or {}).items()):
            tenant = self.world.tenants[index]
            account = self.accounts[index]
            due = _second_business_day(add_months(date.fromisoformat(f"{month}-01"), 1))
            at = _ts(local_midnight(due)) + 9 * 3600 + int(self.rng.integers(0, 3 * 3600))
            factor = (
                Decimal(1)
                if tenant.currency == "BRL" or rate is None
                else rate(tenant.currency, due)
            )
            for kind, amount, label in (
                ("commission", commission, "Comissões de trading"),
                ("usage", usage, "Uso medido de recursos de trading"),
            ):
                minor = int((amount / factor * 100).to_integral_value())
                if minor >= 100 and at < self.window_end - 60:
                    self._one_off(
                        account, at, minor, f"{label} de {month}", revenue_type=kind, pix=False
                    )
                    at += 7
        result.refunds = draw_refunds(self.seed, self.charges, self.window_end, self._emit)
        refunded = {id(c) for c, _, _ in result.refunds}
        result.disputes = draw_disputes(
            self.seed, self.charges, refunded, self.window_end, self._emit
        )
        self.events.sort(key=lambda e: (e["created"], e["id"]))
        result.events = self.events
        result.charges = self.charges
        return result

    def _finish_statuses(self) -> None:
        for account in self.accounts:
            sub = account.sub
            if sub is None:
                account.tenant.status = "inactive"
            elif sub.status == "past_due":
                account.tenant.status = "suspended"
            else:
                account.tenant.status = "active"


def simulate(world: World) -> BillingResult:
    """The subscriptions' lifecycles, refunds and disputes (no metered charges)."""
    simulation = Simulation(world)
    return simulation.finish(simulation.run())


def _second_business_day(month: date) -> date:
    day, seen = month, 0
    while True:
        if day.weekday() < 5 and day not in brazilian_holidays(day.year):
            seen += 1
            if seen == 2:
                return day
        day += timedelta(days=1)


_ADD_ON_MINOR = int(ADD_ON_MONTHLY * 100)


def _drop_add_on(account: Account, at: int) -> None:
    sub, tenant = account.sub, account.tenant
    if sub is not None and sub.add_on and tenant.add_on is not None:
        sub.add_on = False
        tenant.add_on = (tenant.add_on[0], _dt(at))


def _discounted(sub: Sub, at: int, amount: int) -> int:
    """An invoice amount less the welcome coupon while it lasts (to the minor unit)."""
    if sub.discount is None or not sub.discount[1] <= at < sub.discount[2]:
        return amount
    return (amount * (100 - WELCOME_PERCENT_OFF) + 50) // 100


def monthly_mrr(world: World) -> list[dict[str, Any]]:
    """From the timelines: per month, customers at start and end, new, churned, reactivated,
    and MRR by currency at the month's last instant (for the summary and the tests)."""
    result = []
    previous: dict[int, Decimal] = {}
    ever: set[int] = set()
    for month in world.window.months():
        end = min(local_midnight(add_months(month, 1)), world.window.end) - timedelta(seconds=1)
        current: dict[int, Decimal] = {}
        mrr: dict[str, Decimal] = {}
        for tenant in world.tenants:
            change = tenant.change_at(end)
            if change is None or change.state not in (ACTIVE, PAST_DUE) or change.plan is None:
                continue
            plan = world.plans[change.plan]
            value = plan.monthly_value * change.quantity
            add_on = tenant.add_on
            if add_on is not None and add_on[0] <= end and (add_on[1] is None or end < add_on[1]):
                value += ADD_ON_MONTHLY
            welcome = tenant.welcome_discount
            if welcome is not None and welcome[0] <= end < welcome[1]:
                value = value * (100 - WELCOME_PERCENT_OFF) / 100
            if value > 0:
                current[tenant.index] = value
                mrr[plan.currency] = mrr.get(plan.currency, Decimal(0)) + value
        start = set(previous)
        new = {t for t in current if t not in start and t not in ever}
        back = {t for t in current if t not in start and t in ever}
        churned = {t for t in start if t not in current}
        result.append(
            {
                "month": month,
                "customers_start": len(start),
                "customers_end": len(current),
                "new": len(new),
                "reactivated": len(back),
                "churned": len(churned),
                "mrr": {k: v.quantize(Decimal("0.01")) for k, v in sorted(mrr.items())},
            }
        )
        ever |= set(current)
        previous = current
    return result
