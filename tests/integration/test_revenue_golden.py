"""Golden scenarios: thirteen tenants' Stripe histories, through the payments source into a real
PostgreSQL, then `dbt build`; MRR and monthly revenue are compared with literals worked out by
hand below, never computed by the code under test.

Reporting time zone America/Sao_Paulo (UTC-3), currency BRL, "now" 2025-06-15 12:00 UTC.
MRR is measured at each month's last instant in São Paulo (June: now). Events are at 12:00 UTC
unless said otherwise. Plans are matched by lookup_key; the add-on matches no plan.

MRR (month: mrr movement)
- T5, 20 USD a month from 1 Feb; USD rates 28 Feb 5.00, 31 Mar 5.50, 30 Apr 5.25, Fri 30 May
  5.10 (carried to Sat 31 May), 13 Jun 5.40 (carried to 15 Jun):
  Feb 20x5.00=100.00 new, Mar 20x5.50=110.00 expansion, Apr 20x5.25=105.00 contraction,
  May 20x5.10=102.00 contraction, Jun 20x5.40=108.00 expansion.
- T6, 50 a seat, 2 seats from 3 Feb, 5 seats from 10 Mar: Feb 2x50=100.00 new,
  Mar 5x50=250.00 expansion, Apr-Jun 250.00 unchanged.
- T7, 300 a quarter (300÷3=100 a month) from 20 Jan, a 20 % coupon repeating until 20 Mar
  (ids only on the subscription, the object with its coupon at source.coupon in a
  customer.discount.created event): Jan 100x0.8=80.00 new, Feb 80.00 unchanged,
  Mar 100.00 expansion (ended mid-quarter), Apr-Jun 100.00 unchanged.
- T8, 120 a month from 1 Feb, past_due from 25 Mar, unpaid from 20 Apr: Feb 120.00 new,
  Mar 120.00 unchanged (past_due counts), Apr 0.00 churn, May-Jun 0.00 unchanged.
- T9, 100 plan + 40 add-on from 5 Feb, add-on removed 10 Apr: Feb 140.00 new,
  Mar 140.00 unchanged, Apr 100.00 contraction, May-Jun 100.00 unchanged.
- T10, 60 a month from 7 Feb, 2 seats from 7 Mar, cancelled (deleted) 7 May; the file lists
  the events backwards with a repeat, and a second file repeats the creation:
  Feb 60.00 new, Mar 2x60=120.00 expansion, Apr 120.00 unchanged, May 0.00 churn,
  Jun 0.00 unchanged.
- T11, 200 a month from 1 Mar with an expanded 10 % coupon for ever (coupon at
  discount.coupon): Mar 200x0.9=180.00 new, Apr-Jun 180.00 unchanged.
- T12, 100 a month from 3 Mar with a 50 % coupon for once: Mar 100.00 new (a once coupon does
  not change MRR), Apr-Jun 100.00 unchanged.

Monthly revenue (Σ revenue_daily.net_amount per reporting month and tenant)
- T1, 100.00 charged 10 Feb; charge.refunded on 15 Feb with amount_refunded 2000 and no
  refunds list (the current shape): Feb 100.00-20.00=80.00. On 5 Mar a refund object re_1b of
  3000 (refund.created) and a charge.refunded with amount_refunded 5000 in the same second:
  5000-(2000+3000)=0 more, so Mar -30.00.
- T2, 200.00 charged 1 Mar; amount_refunded 5000 on 10 Mar, then 12000 on 2 Apr (a later
  file): Mar 200.00-50.00=150.00, Apr -(120.00-50.00)=-70.00.
- T3, 150.00 charged 5 Apr, disputed 20 Apr (created and funds_withdrawn: once), lost 10 May:
  Apr 150.00-150.00=0.00; May nothing.
- T4, 80.00 charged 3 Apr, disputed 25 Apr, won 20 May: Apr 80.00-80.00=0.00, May +80.00.
- T11, 99.90 charged at 23:30 on 30 Apr in São Paulo (02:30 UTC on 1 May): Apr 99.90.
- T13, 50.00 charged 5 May, 10.00 refunded on 6 May in the older shape (the charge's refunds
  list embedded, API 2020-08-27): May 50.00-10.00=40.00.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine

from ingestion.load.loader import load_file
from quality.reconcile import REVENUE_MATCHES_STRIPE_BALANCE, reconcile
from tests.integration.test_dbt_build import _dbt, _dbt_env
from tests.support.payments_reference import insert_payments_reference

AS_OF = "2025-06-15T12:00:00Z"


def tenant(n: int) -> str:
    return f"90000000-0000-4000-8000-{n:012d}"


def user(n: int) -> str:
    return f"91000000-0000-4000-8000-{n:012d}"


def owner(n: int) -> dict[str, str]:
    return {"tenant_id": tenant(n), "user_id": user(n)}


def unix(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def event(eid: str, kind: str, created: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": eid,
        "object": "event",
        "api_version": "2025-03-31.basil",
        "created": unix(created),
        "livemode": False,
        "type": kind,
        "data": {"object": obj},
    }


def charge(n: int, cid: str, amount: int, created: str, refunded: int = 0) -> dict[str, Any]:
    return {
        "id": cid,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": refunded,
        "captured": True,
        "created": unix(created),
        "currency": "brl",
        "metadata": owner(n),
        "payment_intent": f"pi_{cid}",
        "status": "succeeded",
    }


def dispute(did: str, cid: str, amount: int, created: str, status: str) -> dict[str, Any]:
    return {
        "id": did,
        "object": "dispute",
        "amount": amount,
        "charge": cid,
        "created": unix(created),
        "currency": "brl",
        "metadata": {},
        "reason": "fraudulent",
        "status": status,
    }


def price(
    pid: str, amount: int, lookup: str | None, currency: str = "brl", count: int = 1
) -> dict[str, Any]:
    return {
        "id": pid,
        "object": "price",
        "currency": currency,
        "lookup_key": lookup,
        "metadata": {},
        "recurring": {"interval": "month", "interval_count": count},
        "unit_amount": amount,
    }


def subscription(
    n: int,
    start: str,
    items: list[tuple[dict[str, Any], int]],
    status: str = "active",
    **fields: Any,
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": f"sub_{n}",
        "object": "subscription",
        "cancel_at_period_end": False,
        "canceled_at": None,
        "created": unix(start),
        "customer": f"cus_{n}",
        "ended_at": None,
        "metadata": owner(n),
        "status": status,
        "items": {
            "object": "list",
            "data": [
                {
                    "id": f"si_{n}_{number}",
                    "object": "subscription_item",
                    "price": the_price,
                    "quantity": quantity,
                    "current_period_start": unix(start),
                    "current_period_end": unix(start) + 30 * 86400,
                }
                for number, (the_price, quantity) in enumerate(items)
            ],
        },
    }
    obj.update(fields)
    return obj


def discount(did: str, sub: str, start: str, end: str | None, **coupon: Any) -> dict[str, Any]:
    return {
        "id": did,
        "object": "discount",
        "start": unix(start),
        "end": unix(end) if end else None,
        "subscription": sub,
        "coupon": {"id": f"co_{did}", "object": "coupon", **coupon},
    }


def created(eid: str, at: str, obj: dict[str, Any]) -> dict[str, Any]:
    return event(eid, "customer.subscription.created", at, obj)


def updated(eid: str, at: str, obj: dict[str, Any]) -> dict[str, Any]:
    return event(eid, "customer.subscription.updated", at, obj)


PRO = "pro"
T5_PRICE = price("price_t5_usd", 2000, PRO, "usd")
T6_PRICE = price("price_t6", 5000, PRO)
T7_PRICE = price("price_t7_quarter", 30000, "pro-quarterly", count=3)
T8_PRICE = price("price_t8", 12000, PRO)
T9_PLAN, T9_ADD_ON = price("price_t9", 10000, PRO), price("price_t9_storage", 4000, None)
T10_PRICE = price("price_t10", 6000, "starter")
T11_PRICE = price("price_t11", 20000, PRO)
T12_PRICE = price("price_t12", 10000, PRO)

T7_DISCOUNT = {
    **discount("di_7", "sub_7", "2025-01-20T12:00:00", "2025-03-20T12:00:00"),
    "coupon": None,  # the newer shape: the coupon under source
    "source": {
        "coupon": {
            "id": "co_7",
            "object": "coupon",
            "percent_off": 20,
            "duration": "repeating",
            "duration_in_months": 2,
        },
        "type": "coupon",
    },
}
T10_CREATED = created(
    "evt_10a", "2025-02-07T12:00:00", subscription(10, "2025-02-07T12:00:00", [(T10_PRICE, 1)])
)
T10_UPDATED = updated(
    "evt_10b", "2025-03-07T12:00:00", subscription(10, "2025-02-07T12:00:00", [(T10_PRICE, 2)])
)
T10_DELETED = event(
    "evt_10c",
    "customer.subscription.deleted",
    "2025-05-07T12:00:00",
    subscription(
        10,
        "2025-02-07T12:00:00",
        [(T10_PRICE, 2)],
        status="canceled",
        canceled_at=unix("2025-05-07T12:00:00"),
        ended_at=unix("2025-05-07T12:00:00"),
    ),
)

FIRST_FILE = [
    # T1: refunds in both shapes.
    event("evt_1a", "charge.succeeded", "2025-02-10T12:00:00",
          charge(1, "ch_1", 10000, "2025-02-10T12:00:00")),
    event("evt_1b", "charge.refunded", "2025-02-15T12:00:00",
          charge(1, "ch_1", 10000, "2025-02-10T12:00:00", refunded=2000)),
    event("evt_1c", "refund.created", "2025-03-05T12:00:00",
          {"id": "re_1b", "object": "refund", "amount": 3000, "charge": "ch_1",
           "created": unix("2025-03-05T12:00:00"), "currency": "brl", "status": "succeeded"}),
    event("evt_1d", "charge.refunded", "2025-03-05T12:00:00",
          charge(1, "ch_1", 10000, "2025-02-10T12:00:00", refunded=5000)),
    # T2: the first of two partial refunds.
    event("evt_2a", "charge.succeeded", "2025-03-01T12:00:00",
          charge(2, "ch_2", 20000, "2025-03-01T12:00:00")),
    event("evt_2b", "charge.refunded", "2025-03-10T12:00:00",
          charge(2, "ch_2", 20000, "2025-03-01T12:00:00", refunded=5000)),
    # T3: a dispute lost; created and funds_withdrawn count once.
    event("evt_3a", "charge.succeeded", "2025-04-05T12:00:00",
          charge(3, "ch_3", 15000, "2025-04-05T12:00:00")),
    event("evt_3b", "charge.dispute.created", "2025-04-20T12:00:01",
          dispute("dp_3", "ch_3", 15000, "2025-04-20T12:00:00", "needs_response")),
    event("evt_3c", "charge.dispute.funds_withdrawn", "2025-04-20T12:00:02",
          dispute("dp_3", "ch_3", 15000, "2025-04-20T12:00:00", "needs_response")),
    event("evt_3d", "charge.dispute.closed", "2025-05-10T12:00:00",
          dispute("dp_3", "ch_3", 15000, "2025-04-20T12:00:00", "lost")),
    # T4: a dispute won.
    event("evt_4a", "charge.succeeded", "2025-04-03T12:00:00",
          charge(4, "ch_4", 8000, "2025-04-03T12:00:00")),
    event("evt_4b", "charge.dispute.created", "2025-04-25T12:00:01",
          dispute("dp_4", "ch_4", 8000, "2025-04-25T12:00:00", "needs_response")),
    event("evt_4c", "charge.dispute.closed", "2025-05-20T12:00:00",
          dispute("dp_4", "ch_4", 8000, "2025-04-25T12:00:00", "won")),
    # T5: USD while FX moves.
    created("evt_5a", "2025-02-01T12:00:00",
            subscription(5, "2025-02-01T12:00:00", [(T5_PRICE, 1)])),
    # T6: a quantity change.
    created("evt_6a", "2025-02-03T12:00:00",
            subscription(6, "2025-02-03T12:00:00", [(T6_PRICE, 2)])),
    updated("evt_6b", "2025-03-10T12:00:00",
            subscription(6, "2025-02-03T12:00:00", [(T6_PRICE, 5)])),
    # T7: a repeating discount ending mid-quarter, ids on the subscription.
    created("evt_7a", "2025-01-20T12:00:00",
            subscription(7, "2025-01-20T12:00:00", [(T7_PRICE, 1)], discounts=["di_7"])),
    event("evt_7b", "customer.discount.created", "2025-01-20T12:00:01", T7_DISCOUNT),
    # T8: past_due, then unpaid.
    created("evt_8a", "2025-02-01T12:00:00",
            subscription(8, "2025-02-01T12:00:00", [(T8_PRICE, 1)])),
    updated("evt_8b", "2025-03-25T12:00:00",
            subscription(8, "2025-02-01T12:00:00", [(T8_PRICE, 1)], status="past_due")),
    updated("evt_8c", "2025-04-20T12:00:00",
            subscription(8, "2025-02-01T12:00:00", [(T8_PRICE, 1)], status="unpaid")),
    # T9: an add-on removed.
    created("evt_9a", "2025-02-05T12:00:00",
            subscription(9, "2025-02-05T12:00:00", [(T9_PLAN, 1), (T9_ADD_ON, 1)])),
    updated("evt_9b", "2025-04-10T12:00:00",
            subscription(9, "2025-02-05T12:00:00", [(T9_PLAN, 1)])),
    # T10: out of order, and a repeat.
    T10_DELETED, T10_UPDATED, T10_CREATED, T10_UPDATED,
    # T11: a charge at 23:30 on 30 Apr in São Paulo, and an expanded coupon (old shape).
    event("evt_11a", "charge.succeeded", "2025-05-01T02:30:01",
          charge(11, "ch_11", 9990, "2025-05-01T02:30:00")),
    created("evt_11b", "2025-03-01T12:00:00",
            subscription(11, "2025-03-01T12:00:00", [(T11_PRICE, 1)], discounts=[
                discount("di_11", "sub_11", "2025-03-01T12:00:00", None,
                         percent_off=10, duration="forever")])),
    # T13: a refund in the older shape (API 2020-08-27: the refunds list embedded).
    {**event("evt_13a", "charge.succeeded", "2025-05-05T12:00:00",
             charge(13, "ch_13", 5000, "2025-05-05T12:00:00")), "api_version": "2020-08-27"},
    {**event("evt_13b", "charge.refunded", "2025-05-06T12:00:01", {
        **charge(13, "ch_13", 5000, "2025-05-05T12:00:00", refunded=1000),
        "refunds": {"object": "list", "data": [
            {"id": "re_13", "object": "refund", "amount": 1000, "charge": "ch_13",
             "created": unix("2025-05-06T12:00:00"), "currency": "brl",
             "status": "succeeded"}]}}), "api_version": "2020-08-27"},
    # T12: a once coupon.
    created("evt_12a", "2025-03-03T12:00:00",
            subscription(12, "2025-03-03T12:00:00", [(T12_PRICE, 1)], discounts=["di_12"])),
    event("evt_12b", "customer.discount.created", "2025-03-03T12:00:01",
          discount("di_12", "sub_12", "2025-03-03T12:00:00", None,
                   percent_off=50, duration="once")),
]  # fmt: skip

SECOND_FILE = [
    event("evt_2c", "charge.refunded", "2025-04-02T12:00:00",
          charge(2, "ch_2", 20000, "2025-03-01T12:00:00", refunded=12000)),
    T10_CREATED,  # delivered again
]  # fmt: skip

FX_RATES = """
INSERT INTO raw.fx_rates (rate_date, currency, rate) VALUES
    ('2025-02-28', 'USD', 5.00), ('2025-03-31', 'USD', 5.50), ('2025-04-30', 'USD', 5.25),
    ('2025-05-30', 'USD', 5.10), ('2025-06-13', 'USD', 5.40);
"""

D = Decimal
EXPECTED_MRR = {
    5: {"2025-02": (D("100.00"), "new"), "2025-03": (D("110.00"), "expansion"),
        "2025-04": (D("105.00"), "contraction"), "2025-05": (D("102.00"), "contraction"),
        "2025-06": (D("108.00"), "expansion")},
    6: {"2025-02": (D("100.00"), "new"), "2025-03": (D("250.00"), "expansion"),
        "2025-04": (D("250.00"), "unchanged"), "2025-05": (D("250.00"), "unchanged"),
        "2025-06": (D("250.00"), "unchanged")},
    7: {"2025-01": (D("80.00"), "new"), "2025-02": (D("80.00"), "unchanged"),
        "2025-03": (D("100.00"), "expansion"), "2025-04": (D("100.00"), "unchanged"),
        "2025-05": (D("100.00"), "unchanged"), "2025-06": (D("100.00"), "unchanged")},
    8: {"2025-02": (D("120.00"), "new"), "2025-03": (D("120.00"), "unchanged"),
        "2025-04": (D("0.00"), "churn"), "2025-05": (D("0.00"), "unchanged"),
        "2025-06": (D("0.00"), "unchanged")},
    9: {"2025-02": (D("140.00"), "new"), "2025-03": (D("140.00"), "unchanged"),
        "2025-04": (D("100.00"), "contraction"), "2025-05": (D("100.00"), "unchanged"),
        "2025-06": (D("100.00"), "unchanged")},
    10: {"2025-02": (D("60.00"), "new"), "2025-03": (D("120.00"), "expansion"),
         "2025-04": (D("120.00"), "unchanged"), "2025-05": (D("0.00"), "churn"),
         "2025-06": (D("0.00"), "unchanged")},
    11: {"2025-03": (D("180.00"), "new"), "2025-04": (D("180.00"), "unchanged"),
         "2025-05": (D("180.00"), "unchanged"), "2025-06": (D("180.00"), "unchanged")},
    12: {"2025-03": (D("100.00"), "new"), "2025-04": (D("100.00"), "unchanged"),
         "2025-05": (D("100.00"), "unchanged"), "2025-06": (D("100.00"), "unchanged")},
}  # fmt: skip

EXPECTED_REVENUE = {
    1: {"2025-02": D("80.00"), "2025-03": D("-30.00")},
    2: {"2025-03": D("150.00"), "2025-04": D("-70.00")},
    3: {"2025-04": D("0.00")},
    4: {"2025-04": D("0.00"), "2025-05": D("80.00")},
    11: {"2025-04": D("99.90")},
    13: {"2025-05": D("40.00")},
}

TENANTS = range(1, 14)


@pytest.fixture
def database(migrated_database_url: str) -> str:
    insert_payments_reference(migrated_database_url, tenant_letters=())
    with psycopg.connect(migrated_database_url) as conn:
        for n in TENANTS:
            conn.execute(
                "INSERT INTO tenants (id, name, slug, type) VALUES (%s, %s, %s, 'empresa')",
                (tenant(n), f"Golden {n}", f"golden-{n}"),
            )
            conn.execute("INSERT INTO users (id, email) VALUES (%s, %s)", (user(n), f"g{n}@x.io"))
        conn.execute(FX_RATES)
    return migrated_database_url


def land(tmp_path: Path, name: str, events: list[dict[str, Any]]) -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def test_golden_histories_give_the_hand_computed_mrr_and_revenue(
    database: str, tmp_path: Path
) -> None:
    first = load_file(database, "payments", land(tmp_path, "first.jsonl", FIRST_FILE))
    assert (first.rows_in, first.rows_quarantined, first.rows_duplicate) == (
        len(FIRST_FILE), 0, 1,  # the repeated T10 update
    )  # fmt: skip
    second = load_file(database, "payments", land(tmp_path, "second.jsonl", SECOND_FILE))
    assert (second.rows_loaded, second.rows_duplicate, second.rows_quarantined) == (1, 1, 0)

    env = {**_dbt_env(database), "BCF_DBT_AS_OF": AS_OF}
    _dbt(tmp_path, env, "build")

    with psycopg.connect(database) as conn:
        mrr: dict[int, dict[str, tuple[Decimal, str]]] = {}
        for month, tenant_id, value, movement in conn.execute(
            "SELECT to_char(month, 'YYYY-MM'), tenant_id::text, mrr, movement "
            "FROM marts.mrr_by_tenant_monthly ORDER BY 1"
        ):
            mrr.setdefault(int(tenant_id[-12:]), {})[month] = (value, movement)
        revenue: dict[int, dict[str, Decimal]] = {}
        for month, tenant_id, net in conn.execute(
            "SELECT to_char(day, 'YYYY-MM'), tenant_id::text, sum(net_amount) "
            "FROM marts.revenue_daily GROUP BY 1, 2 ORDER BY 1"
        ):
            revenue.setdefault(int(tenant_id[-12:]), {})[month] = net

    assert mrr == EXPECTED_MRR
    assert revenue == EXPECTED_REVENUE

    # The blocking check: revenue_daily is the Stripe events' balance effect to the cent
    # (BRL charges 100 + 200 + 150 + 80 + 99.90 + 50 = 679.90; net 100-50 + 200-120 + 150-150
    # + 80-80+80 + 99.90 + 50-10 = 349.90), and a cent off fails it.
    engine = create_engine(database)
    try:
        check = reconcile(engine, REVENUE_MATCHES_STRIPE_BALANCE, time_zone="America/Sao_Paulo")
        assert check.passed, check.sample
        with psycopg.connect(database) as conn:
            total = conn.execute(
                "SELECT sum(net_amount) FROM marts.revenue_daily WHERE currency_original = 'BRL'"
            ).fetchone()
            assert total == (Decimal("349.90"),)
            conn.execute(
                "UPDATE marts.revenue_daily SET net_amount = net_amount - 0.01, "
                "refunded_amount = refunded_amount + 0.01 WHERE tenant_id = %s",
                (tenant(11),),
            )
        broken = reconcile(engine, REVENUE_MATCHES_STRIPE_BALANCE, time_zone="America/Sao_Paulo")
    finally:
        engine.dispose()
    assert not broken.passed
    assert broken.sample == [
        {"currency": "BRL", "stripe_charges": "679.9", "mart_gross": "679.90",
         "stripe_net": "349.9", "mart_net": "349.89"},
    ]  # fmt: skip
