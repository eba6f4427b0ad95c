"""What tenants do in the platform, month by month: behaviour, audit, trading fills, usage.

Each follows the tenant's timeline (`world.Tenant.daily_changes`): nothing happens before
signup or after churn; the plan in force sets the limits usage is measured against and the
commission rate of fills; trials and the free plan are active but light. Order within a
month: behaviour first (who was active each day), then trading fills, then usage, whose
`users` rows count the day's active users and `transactions` rows the day's fills, so the
sources agree with each other.

- behaviour: logins, dashboard and bot views, bot starts/stops/creation, strategies,
  backtests, settings and profile changes, API keys, invitations, report and personal-data
  exports; staff of the platform handling tickets and leads (reads of personal data).
- audit: one row per write of those actions (old and new values), logins, reads of personal
  data (metadata.pii = true, the fields read), exports, subscription changes from billing,
  failed logins around security incidents, data-subject requests and the erasures that
  carried them out, and the nightly retention purges of the platform (tenant_id null).
- trading: fills of bot trades (entry and exit; the exit carries the profit), commissions
  at the plan's rate on the traded amount, the paid resource each fill used.
- usage: per tenant, day and resource type: bots, api_calls, storage, bandwidth, users,
  transactions (see `catalog.LIMITS` for how each compares with the plan's limits).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import orjson
import polars as pl

from core.reporting_calendar import brazilian_holidays
from demo_data import catalog
from demo_data.billing import BillingResult
from demo_data.seeding import entity_id, event_uuid, platform_id, stable_hash, stream
from demo_data.world import (
    BRT,
    HOUR_WEIGHTS,
    NONE,
    Change,
    Person,
    Tenant,
    World,
    add_months,
    local_midnight,
)

CENT = Decimal("0.01")
MASK48 = (1 << 48) - 1
# action -> (weight for customers, resource, audit (action, resource) or None)
ACTIONS: dict[str, tuple[float, str | None, tuple[str, str] | None]] = {
    "view_dashboard": (30, "dashboard", None),
    "view_bot": (18, "bot", None),
    "view_trades": (12, "trade", None),
    "view_reports": (6, "report", None),
    "start_bot": (4, "bot", ("update", "bot")),
    "stop_bot": (3, "bot", ("update", "bot")),
    "create_bot": (1.2, "bot", ("create", "bot")),
    "update_bot_settings": (3, "bot", ("update", "bot")),
    "delete_bot": (0.4, "bot", ("delete", "bot")),
    "create_strategy": (0.8, "strategy", ("create", "strategy")),
    "run_backtest": (2.5, "backtest", ("create", "backtest")),
    "update_settings": (0.8, "tenant_settings", ("update", "tenant_settings")),
    "update_profile": (0.5, "user", ("update", "user")),
    "create_api_key": (0.3, "api_key", ("create", "api_key")),
    "revoke_api_key": (0.15, "api_key", ("delete", "api_key")),
    "invite_member": (0.2, "tenant_member", ("create", "tenant_member")),
    "view_member_profile": (0.8, "user", ("read", "user")),
    "view_billing": (1.0, "billing", None),
    "download_invoice": (0.5, "invoice", ("export", "invoice")),
    "export_report": (0.8, "report", ("export", "report")),
    "data_export": (0.08, "personal_data", ("export", "personal_data")),
    "logout": (3, "session", None),
}
STAFF_ACTIONS: dict[str, tuple[float, str, tuple[str, str] | None]] = {
    "view_ticket": (30, "support_ticket", ("read", "support_ticket")),
    "reply_ticket": (15, "support_ticket", ("update", "support_ticket")),
    "view_customer_profile": (10, "user", ("read", "user")),
    "view_lead": (14, "lead", ("read", "lead")),
    "add_lead_note": (6, "lead", ("update", "lead")),
    "view_dashboard": (12, "dashboard", None),
    "export_report": (2, "report", ("export", "report")),
    "view_audit_log": (1.5, "audit_log", ("read", "audit_log")),
}
PII_FIELDS = {
    "user": ["name", "email", "phone", "ip_address"],
    "lead": ["name", "email", "phone", "company"],
    "support_ticket": ["description", "attachments"],
    "personal_data": ["profile", "trades", "behaviour", "payments"],
    "tenant_member": ["email"],
}
STRATEGIES = ("grid", "dca", "trend", "arbitrage", "scalping", "copy")
EXCHANGES = ("binance", "mercado_bitcoin", "bybit", "okx", "foxbit", "kraken", "coinbase")
RESOURCE_COSTS = {  # BRL per unit
    "bot_execution": Decimal("0.0120"),  # per minute of bot time
    "signal_analysis": Decimal("0.0500"),  # per signal
    "market_data": Decimal("0.0020"),  # per request
    "paper_trading": Decimal("0.0050"),  # per minute
    "backtesting": Decimal("0.0800"),  # per minute of simulation
}
TRADE_NOTIONAL = {"trader": 1500.0, "empresa": 6000.0, "influencer": 3000.0}  # BRL medians
TRADES_PER_DAY = {"trader": 1.1, "empresa": 0.8, "influencer": 0.6}
TIER_ACTIVITY = {"free": 0.25, "starter": 0.6, "pro": 1.0, "business": 1.8, "enterprise": 3.0}


def run_tag(seed: int) -> str:
    """A short tag of the seed in source record ids, so two seeds never share an id."""
    return format(stable_hash("run", seed) & 0xFFFFFF, "06x")


def iso_ms(at: datetime) -> str:
    """ISO-8601 in UTC with milliseconds and Z (`at` is an aware UTC datetime)."""
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def money(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


@dataclass
class MonthActivity:
    """One month of every tenant's activity, as landing file bodies and counters."""

    behaviour: list[bytes] = field(default_factory=list)
    audit: list[bytes] = field(default_factory=list)
    trading: pl.DataFrame | None = None
    usage: pl.DataFrame | None = None
    commissions_brl: Decimal = Decimal(0)
    resource_cost_brl: Decimal = Decimal(0)
    # (tenant index, local month of the fill) -> (commissions, resource costs) in BRL; a
    # trade opened at a month's end may close (and be billed) in the next month.
    metered: dict[tuple[int, str], tuple[Decimal, Decimal]] = field(default_factory=dict)
    active_users: int = 0


@dataclass
class Context:
    world: World
    billing: BillingResult
    tag: str
    states: dict[int, list[Change | None]]
    bots: dict[int, list[str]]
    # Support tickets: id, tenant, created_at, resolved_at; sorted by created_at.
    tickets: list[dict[str, Any]] = field(default_factory=list)
    leads: list[tuple[datetime, str]] = field(default_factory=list)  # (created_at, id), sorted
    # Lead funnel moves: (at, lead id, from status, to status, the sales rep).
    lead_changes: list[tuple[datetime, str, str, str, Person]] = field(default_factory=list)
    incidents: list[dict[str, Any]] = field(default_factory=list)
    dsr: list[dict[str, Any]] = field(default_factory=list)


def build_context(
    world: World,
    billing: BillingResult,
    seed: int,
    tickets: list[dict[str, Any]],
    leads: list[tuple[datetime, str]],
    lead_changes: list[tuple[datetime, str, str, str, Person]] | None = None,
) -> Context:
    states = {tenant.index: tenant.daily_changes(world.window) for tenant in world.tenants}
    bots = {
        tenant.index: [str(entity_id(seed, "bot", tenant.index, n)) for n in range(40)]
        for tenant in world.tenants
    }
    changes = sorted(lead_changes or [], key=lambda change: (change[0], change[1]))
    return Context(world, billing, run_tag(seed), states, bots, tickets, sorted(leads), changes)


def _active(change: Change | None) -> bool:
    return change is not None and change.state != NONE and change.plan is not None


def _tier(world: World, change: Change) -> str:
    assert change.plan is not None
    return world.plans[change.plan].tier


def _app_version(day: date, first: date) -> str:
    weeks = (day - first).days // 14
    return f"3.{4 + weeks // 6}.{weeks % 6}"


def _meta(rng: np.random.Generator, action: str) -> dict[str, Any]:
    if action in ("start_bot", "create_bot", "update_bot_settings"):
        return {
            "strategy": STRATEGIES[int(rng.integers(len(STRATEGIES)))],
            "exchange": EXCHANGES[int(rng.integers(len(EXCHANGES)))],
            "pair": catalog.TRADING_SYMBOLS["crypto"][int(rng.integers(6))][0],
        }
    if action == "run_backtest":
        return {
            "strategy": STRATEGIES[int(rng.integers(len(STRATEGIES)))],
            "days": int(rng.choice([30, 90, 180, 365])),
        }
    if action in ("export_report", "download_invoice"):
        return {"format": ["pdf", "csv", "xlsx"][int(rng.integers(3))]}
    if action == "data_export":
        return {"format": "zip", "legal_basis": "LGPD art. 18, V (portabilidade)"}
    return {}


def _audit_values(
    rng: np.random.Generator, action: str
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    if action == "start_bot":
        return {"status": "stopped"}, {"status": "running"}
    if action == "stop_bot":
        return {"status": "running"}, {"status": "stopped"}
    if action == "update_bot_settings":
        old = round(float(rng.uniform(0.5, 3.0)), 2)
        return {"take_profit_pct": old}, {
            "take_profit_pct": round(old + float(rng.uniform(-0.4, 0.8)), 2)
        }
    if action == "update_settings":
        return {"notifications": {"email": True}}, {
            "notifications": {"email": False, "telegram": True}
        }
    if action == "update_profile":
        return {"phone": "***"}, {"phone": "***"}
    if action in (
        "create_bot",
        "create_strategy",
        "run_backtest",
        "create_api_key",
        "invite_member",
    ):
        return None, {"created": True}
    if action in ("delete_bot", "revoke_api_key"):
        return {"deleted": False}, {"deleted": True}
    return None, None


class ActivityGenerator:
    def __init__(self, context: Context, seed: int) -> None:
        self.context = context
        self.world = context.world
        self.seed = seed
        self.first = self.world.window.first
        self._ticket_times = [t["created_at"] for t in context.tickets]
        self._lead_times = [at for at, _ in context.leads]

    def months(self) -> Iterator[tuple[date, MonthActivity]]:
        for month in self.world.window.months():
            yield month, self.month(month)

    def month(self, month: date) -> MonthActivity:
        window = self.world.window
        first = max(month, window.first)
        last = min(add_months(month, 1) - timedelta(days=1), window.last)
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        result = MonthActivity()
        active_users: set[str] = set()
        behaviour: list[tuple[str, bytes]] = []
        audit: list[tuple[str, bytes]] = []
        trades: list[dict[str, Any]] = []
        usage_rows: list[dict[str, Any]] = []
        for tenant in self.world.tenants:
            rng = stream(self.seed, "activity", tenant.index, month.isoformat())
            month_factor = float(rng.lognormal(0, 0.12))
            over = tenant.over_limit and rng.random() < 0.45
            for day in days:
                change = self.context.states[tenant.index][(day - window.first).days]
                if not _active(change):
                    continue
                assert change is not None
                users = self._behaviour_day(rng, tenant, change, day, behaviour, audit)
                active_users.update(users)
                fills = self._trading_day(rng, tenant, change, day, month_factor, trades)
                self._usage_day(
                    rng, tenant, change, day, month_factor, over, len(users), fills, usage_rows
                )
        self._staff_month(month, days, behaviour, audit)
        self._billing_audit(month, days, audit)
        self._lead_audit(days, audit)
        self._compliance_audit(month, days, audit)
        behaviour.sort(key=lambda item: item[0])
        audit.sort(key=lambda item: item[0])
        result.behaviour = [line for _, line in behaviour]
        result.audit = [line for _, line in audit]
        result.active_users = len(active_users)
        if trades:
            frame = pl.DataFrame(trades, schema=TRADING_SCHEMA).sort("filled_at", "fill_id")
            result.trading = frame
            result.metered = self._metered(frame)
            result.commissions_brl = sum((c for c, _ in result.metered.values()), Decimal(0))
            result.resource_cost_brl = sum((u for _, u in result.metered.values()), Decimal(0))
        if usage_rows:
            result.usage = pl.DataFrame(usage_rows, schema=USAGE_SCHEMA).sort(
                "recorded_at", "usage_event_id"
            )
        return result

    def _metered(self, frame: pl.DataFrame) -> dict[tuple[int, str], tuple[Decimal, Decimal]]:
        index = {tenant.id: tenant.index for tenant in self.world.tenants}
        totals: dict[tuple[int, str], list[Decimal]] = {}
        rows = frame.select(
            "tenant_id", "filled_at", "commission_amount", "resource_units", "resource_unit_cost"
        )
        for tenant_id, filled_at, commission, units, unit_cost in rows.iter_rows():
            key = (index[tenant_id], filled_at[:7])  # filled_at is local time (-03:00)
            entry = totals.setdefault(key, [Decimal(0), Decimal(0)])
            entry[0] += Decimal(commission)
            if unit_cost is not None:
                cost = Decimal(units or 1) * Decimal(unit_cost)
                entry[1] += cost.quantize(CENT, ROUND_HALF_UP)
        return {key: (c, u) for key, (c, u) in sorted(totals.items())}

    # -- behaviour and the audit rows of writes -------------------------------------------------
    def _behaviour_day(
        self,
        rng: np.random.Generator,
        tenant: Tenant,
        change: Change,
        day: date,
        behaviour: list[tuple[str, bytes]],
        audit: list[tuple[str, bytes]],
    ) -> list[str]:
        tier = _tier(self.world, change)
        weekend = day.weekday() >= 5
        midnight = local_midnight(day)
        churn_soon = self._churns_within(tenant, day, 10)
        active = []
        names = list(ACTIONS)
        weights = np.array([ACTIONS[a][0] for a in names])
        if churn_soon:
            weights = weights.copy()
            weights[names.index("data_export")] *= 25
            weights[names.index("export_report")] *= 6
        weights = weights / weights.sum()
        for user in tenant.members_at(midnight + timedelta(hours=23)):
            level = 0.25 + 0.45 * user.engagement * min(TIER_ACTIVITY[tier], 1.5) * tenant.activity
            if weekend:
                level *= 0.6
            if rng.random() >= min(level, 0.95):
                continue
            active.append(user.id)
            count = 1 + int(rng.poisson(4.5 * min(user.engagement, 2.0)))
            hour = int(rng.choice(24, p=HOUR_WEIGHTS))
            at = midnight + timedelta(hours=hour, seconds=float(rng.uniform(0, 3600)))
            session = f"ses_{stable_hash(self.seed, user.id, day) & 0xFFFFFFFFFFFF:012x}"
            platform = (
                "web"
                if "Windows" in user.user_agent
                or "Macintosh" in user.user_agent
                or "X11" in user.user_agent
                else (
                    "ios" if "iPhone" in user.user_agent or "iPad" in user.user_agent else "android"
                )
            )
            actions = [
                "login",
                *(names[int(i)] for i in rng.choice(len(names), size=count, p=weights)),
            ]
            for action in actions:
                resource = ACTIONS[action][1] if action != "login" else "session"
                resource_id = None
                if resource == "bot":
                    resource_id = self.context.bots[tenant.index][int(rng.integers(0, 8))]
                elif resource in ("strategy", "backtest", "report", "api_key"):
                    resource_id = str(
                        entity_id(self.seed, resource, tenant.index, int(rng.integers(0, 12)))
                    )
                elif resource == "user":
                    resource_id = tenant.users[int(rng.integers(len(tenant.users)))].id
                metadata = {"plan": change.plan, **_meta(rng, action)}
                stamp = iso_ms(at)
                record = {
                    "event_id": event_uuid(self.seed, "bhv", user.id, stamp, action),
                    "occurred_at": stamp,
                    "tenant_id": tenant.id,
                    "user_id": user.id,
                    "action": action,
                    "resource": resource,
                    "resource_id": resource_id,
                    "ip_address": user.ip,
                    "user_agent": user.user_agent,
                    "location_data": {
                        "country": user.country,
                        "timezone": "America/Sao_Paulo" if user.country == "BR" else None,
                    },
                    "session_data": {
                        "session_id": session,
                        "app_version": _app_version(day, self.first),
                        "platform": platform,
                    },
                    "metadata": metadata,
                }
                behaviour.append((stamp, orjson.dumps(record)))
                audited = ACTIONS[action][2] if action != "login" else ("login", "session")
                if audited is not None:
                    old, new = _audit_values(rng, action)
                    meta: dict[str, Any] = {
                        "source": "app",
                        "behaviour_event_id": record["event_id"],
                    }
                    if audited[1] in PII_FIELDS and audited[0] in (
                        "read",
                        "export",
                        "update",
                        "create",
                    ):
                        meta.update(pii=True, fields=PII_FIELDS[audited[1]])
                    self._audit(
                        audit,
                        at + timedelta(milliseconds=40),
                        tenant.id,
                        user,
                        audited,
                        resource_id,
                        old,
                        new,
                        session,
                        meta,
                    )
                at += timedelta(seconds=float(rng.exponential(95)) + 2)
        return active

    def _audit(
        self,
        audit: list[tuple[str, bytes]],
        at: datetime,
        tenant_id: str | None,
        user: Person | None,
        what: tuple[str, str],
        resource_id: str | None,
        old: dict[str, Any] | None,
        new: dict[str, Any] | None,
        session: str | None,
        metadata: dict[str, Any],
        ip: str | None = None,
    ) -> None:
        stamp = iso_ms(at)
        record = {
            "event_id": event_uuid(
                self.seed, "aud", user.id if user else ip or "system", stamp, *what
            ),
            "occurred_at": stamp,
            "tenant_id": tenant_id,
            "user_id": user.id if user else None,
            "action": what[0],
            "resource": what[1],
            "resource_id": resource_id,
            "old_values": old,
            "new_values": new,
            "ip_address": ip or (user.ip if user else None),
            "user_agent": user.user_agent if user else None,
            "session_id": session,
            "metadata": metadata,
        }
        audit.append((stamp, orjson.dumps(record)))

    def _churns_within(self, tenant: Tenant, day: date, days: int) -> bool:
        states = self.context.states[tenant.index]
        index = (day - self.world.window.first).days
        ahead = states[index + 1 : index + 1 + days]
        return any(not _active(s) for s in ahead) and len(ahead) > 0

    def _staff_month(
        self,
        month: date,
        days: list[date],
        behaviour: list[tuple[str, bytes]],
        audit: list[tuple[str, bytes]],
    ) -> None:
        """Support and sales staff: tickets and leads, which are reads of personal data."""
        house = self.world.house
        names = list(STAFF_ACTIONS)
        weights = np.array([STAFF_ACTIONS[a][0] for a in names])
        weights = weights / weights.sum()
        customers = [t for t in self.world.tenants if t.created_at.date() <= days[-1]]
        for person in self.world.staff:
            rng = stream(self.seed, "staff-activity", person.id, month.isoformat())
            for day in days:
                if day.weekday() >= 5 or day in brazilian_holidays(day.year):
                    continue
                if rng.random() > 0.9:
                    continue
                midnight = local_midnight(day)
                at = midnight + timedelta(hours=8.5 + float(rng.uniform(0, 1.5)))
                session = f"ses_{stable_hash(self.seed, person.id, day) & 0xFFFFFFFFFFFF:012x}"
                count = 2 + int(rng.poisson(6 if person.department in ("suporte", "vendas") else 2))
                for action in [
                    "login",
                    *(names[int(i)] for i in rng.choice(len(names), size=count, p=weights)),
                ]:
                    resource = STAFF_ACTIONS[action][1] if action != "login" else "session"
                    target: Tenant | None = None
                    resource_id = None
                    if resource == "support_ticket":
                        ticket = self._open_ticket(rng, at)
                        if ticket is None:
                            continue
                        target, resource_id = ticket["tenant"], ticket["id"]
                    elif resource == "user" and customers:
                        target = customers[int(rng.integers(len(customers)))]
                        resource_id = target.users[int(rng.integers(len(target.users)))].id
                    elif resource == "lead":
                        resource_id = self._recent_lead(rng, at)
                        if resource_id is None:
                            continue
                    stamp = iso_ms(at)
                    record = {
                        "event_id": event_uuid(self.seed, "bhv", person.id, stamp, action),
                        "occurred_at": stamp,
                        "tenant_id": house.id,
                        "user_id": person.id,
                        "action": action,
                        "resource": resource,
                        "resource_id": resource_id,
                        "ip_address": person.ip,
                        "user_agent": person.user_agent,
                        "location_data": {"country": "BR", "timezone": "America/Sao_Paulo"},
                        "session_data": {
                            "session_id": session,
                            "app_version": _app_version(day, self.first),
                            "platform": "backoffice",
                        },
                        "metadata": {
                            "department": person.department,
                            **({"customer_tenant_id": target.id} if target else {}),
                        },
                    }
                    behaviour.append((stamp, orjson.dumps(record)))
                    audited = (
                        STAFF_ACTIONS[action][2] if action != "login" else ("login", "session")
                    )
                    if audited is not None:
                        meta: dict[str, Any] = {
                            "source": "backoffice",
                            "department": person.department,
                        }
                        if audited[1] in PII_FIELDS or audited[1] == "lead":
                            meta.update(
                                pii=True,
                                fields=PII_FIELDS.get(audited[1], []),
                                purpose="support" if person.department == "suporte" else "sales",
                            )
                        self._audit(
                            audit,
                            at + timedelta(milliseconds=35),
                            target.id if target else house.id,
                            person,
                            audited,
                            resource_id,
                            None,
                            None,
                            session,
                            meta,
                        )
                    at += timedelta(seconds=float(rng.exponential(240)) + 5)

    def _open_ticket(self, rng: np.random.Generator, at: datetime) -> dict[str, Any] | None:
        tickets = self.context.tickets
        index = bisect.bisect_right(self._ticket_times, at)
        open_now = [
            t
            for t in tickets[max(0, index - 60) : index]
            if t["resolved_at"] is None or t["resolved_at"] > at - timedelta(days=2)
        ]
        return open_now[int(rng.integers(len(open_now)))] if open_now else None

    def _recent_lead(self, rng: np.random.Generator, at: datetime) -> str | None:
        index = bisect.bisect_right(self._lead_times, at)
        recent = self.context.leads[max(0, index - 40) : index]
        return recent[int(rng.integers(len(recent)))][1] if recent else None

    def _lead_audit(self, days: list[date], audit: list[tuple[str, bytes]]) -> None:
        """Each funnel move of a lead, by its sales rep in the CRM (the lead-funnel history)."""
        start, end = local_midnight(days[0]), local_midnight(days[-1] + timedelta(days=1))
        house = self.world.house.id
        for at, lead_id, before, after, rep in self.context.lead_changes:
            if start <= at < end:
                self._audit(
                    audit,
                    at,
                    house,
                    rep,
                    ("update", "lead"),
                    lead_id,
                    {"status": before},
                    {"status": after},
                    None,
                    {"source": "crm", "pii": True, "fields": ["status"]},
                )

    def _billing_audit(self, month: date, days: list[date], audit: list[tuple[str, bytes]]) -> None:
        start, end = local_midnight(days[0]), local_midnight(days[-1] + timedelta(days=1))
        for at_ts, tenant, what, old, new in self.context.billing.plan_changes:
            at = datetime.fromtimestamp(at_ts, UTC)
            if not start <= at < end:
                continue
            self._audit(
                audit,
                at,
                tenant.id,
                tenant.owner,
                ("update", "subscription"),
                None,
                {"plan": old} if old else None,
                {"plan": new, "change": what} if new or what else None,
                None,
                {"source": "billing", "change": what},
            )

    def _compliance_audit(
        self, month: date, days: list[date], audit: list[tuple[str, bytes]]
    ) -> None:
        rng = stream(self.seed, "compliance", month.isoformat())
        # Nightly retention purges of the platform.
        for day in days:
            at = local_midnight(day) + timedelta(hours=3, minutes=15)
            rows = int(rng.integers(200, 5000))
            self._audit(
                audit,
                at,
                None,
                None,
                ("purge", "visitor_tracking"),
                None,
                None,
                None,
                None,
                {"source": "retention_job", "rows": rows, "older_than": "2 years"},
            )
        # Data-subject requests: access or erasure, handled by compliance within days.
        officer = next(p for p in self.world.staff if p.department == "compliance")
        customers = [t for t in self.world.tenants if t.created_at.date() <= days[0]]
        for _ in range(int(rng.poisson(1.2)) if customers else 0):
            tenant = customers[int(rng.integers(len(customers)))]
            subject = tenant.users[int(rng.integers(len(tenant.users)))]
            day = days[int(rng.integers(len(days)))]
            at = local_midnight(day) + timedelta(hours=float(rng.uniform(9, 18)))
            kind = "erasure" if rng.random() < 0.35 else "access"
            request_id = str(entity_id(self.seed, "dsr", subject.id, day))
            self._audit(
                audit,
                at,
                tenant.id,
                subject,
                ("create", "data_subject_request"),
                request_id,
                None,
                {"request_type": kind, "status": "received", "subject_user_id": subject.id},
                None,
                {"source": "privacy_portal", "law": "LGPD"},
            )
            done = at + timedelta(days=float(rng.uniform(1, 12)))
            if done < self.world.window.end:
                self._audit(
                    audit,
                    done,
                    tenant.id,
                    officer,
                    ("update", "data_subject_request"),
                    request_id,
                    {"status": "received"},
                    {"status": "completed"},
                    None,
                    {"source": "backoffice", "pii": True, "fields": PII_FIELDS["personal_data"]},
                )
                if kind == "erasure":
                    self._audit(
                        audit,
                        done + timedelta(minutes=2),
                        tenant.id,
                        None,
                        ("erase", "personal_data"),
                        subject.id,
                        None,
                        None,
                        None,
                        {
                            "source": "erasure_job",
                            "request_id": request_id,
                            "tables": ["user_behavior_tracking", "visitor_tracking", "leads"],
                            "rows": int(rng.integers(20, 2000)),
                        },
                    )
            self.context.dsr.append({"tenant": tenant, "subject": subject, "at": at, "type": kind})
        # Failed logins from abroad: brute force attempts the security team looks into.
        if customers and rng.random() < 0.5:
            tenant = customers[int(rng.integers(len(customers)))]
            victim = tenant.owner
            day = days[int(rng.integers(len(days)))]
            at = local_midnight(day) + timedelta(hours=float(rng.uniform(0, 6)))
            attacker_ip = ["5.255.231.", "36.110.199.", "185.220.101.", "45.141.215."][
                int(rng.integers(4))
            ] + str(int(rng.integers(2, 250)))
            attempts = int(rng.integers(6, 40))
            for n in range(attempts):
                self._audit(
                    audit,
                    at + timedelta(seconds=7 * n),
                    tenant.id,
                    None,
                    ("login_failed", "session"),
                    None,
                    None,
                    None,
                    None,
                    {
                        "source": "auth",
                        "email_hash": format(stable_hash(victim.email), "016x"),
                        "reason": "invalid_password",
                    },
                    ip=attacker_ip,
                )
            self.context.incidents.append(
                {
                    "tenant": tenant,
                    "user": victim,
                    "at": at,
                    "ip": attacker_ip,
                    "attempts": attempts,
                }
            )

    # -- trading -------------------------------------------------------------------------------
    def _trading_day(
        self,
        rng: np.random.Generator,
        tenant: Tenant,
        change: Change,
        day: date,
        month_factor: float,
        trades: list[dict[str, Any]],
    ) -> int:
        tier = _tier(self.world, change)
        rate = catalog.COMMISSION_RATES[tier]
        lam = TRADES_PER_DAY[tenant.type] * TIER_ACTIVITY[tier] * tenant.activity * month_factor
        if day.weekday() >= 5:
            lam *= 0.75
        count = int(rng.poisson(lam))
        fills = 0
        midnight = local_midnight(day)
        end = self.world.window.end
        traders = tenant.members_at(midnight + timedelta(days=1)) or tenant.users[:1]
        for _ in range(count):
            asset = catalog.ASSET_MIX[int(rng.choice(4, p=[w for _, w in catalog.ASSET_MIX]))][0]
            symbols = catalog.TRADING_SYMBOLS[asset]
            weights = np.array([w for _, w in symbols])
            symbol = symbols[int(rng.choice(len(symbols), p=weights / weights.sum()))][0]
            if asset == "crypto":
                opened = midnight + timedelta(seconds=float(rng.uniform(0, 86400)))
            else:
                if day.weekday() >= 5:
                    continue
                opened = midnight + timedelta(hours=float(rng.uniform(10, 17)))
            if opened < tenant.created_at:
                continue
            kind = float(rng.random())
            mode = "live" if kind < 0.91 else ("paper" if kind < 0.97 else "backtest")
            notional = float(rng.lognormal(math.log(TRADE_NOTIONAL[tenant.type]), 0.7))
            notional = min(max(notional, 50.0), 2_000_000.0)
            hold = timedelta(seconds=float(min(rng.lognormal(math.log(3 * 3600), 1.1), 3 * 86400)))
            ret = float(rng.normal(0.0035, 0.025))
            user = traders[int(rng.integers(len(traders)))]
            bot = self.context.bots[tenant.index][int(rng.integers(0, 8))][:8]
            trade_key = stable_hash(self.seed, tenant.id, opened.isoformat()) & 0xFFFFFFFFFF
            trade_id = f"trd_{self.context.tag}_{trade_key:010x}"
            fill_rate = rate if mode == "live" else Decimal(0)
            for leg, at, amount, profit in (
                ("buy", opened, notional, 0.0),
                ("sell", opened + hold, notional * (1 + ret), notional * ret),
            ):
                if at >= end:
                    continue
                trade_amount = money(amount)
                resource, seconds, units = self._resource(rng, mode)
                fill_key = stable_hash(trade_id, leg) & MASK48
                trades.append(
                    {
                        "fill_id": f"fill_{self.context.tag}_{fill_key:012x}",
                        "tenant_id": tenant.id,
                        "user_id": user.id,
                        "trade_id": trade_id,
                        "asset_type": asset,
                        "symbol": symbol,
                        "side": leg,
                        "bot_id": f"bot_{bot}" if resource is not None else None,
                        "trade_amount": str(trade_amount),
                        "profit_amount": str(money(profit)),
                        "commission_rate": str(fill_rate),
                        "commission_amount": str(
                            (trade_amount * fill_rate).quantize(CENT, ROUND_HALF_UP)
                        ),
                        "filled_at": at.astimezone(BRT).isoformat(timespec="seconds"),
                        "resource_type": resource,
                        "resource_seconds": seconds,
                        "resource_units": units,
                        "resource_unit_cost": str(RESOURCE_COSTS[resource]) if resource else None,
                    }
                )
                fills += 1
        return fills

    @staticmethod
    def _resource(rng: np.random.Generator, mode: str) -> tuple[str | None, int | None, int | None]:
        if mode == "paper":
            seconds = int(rng.integers(60, 7200))
            return "paper_trading", seconds, max(1, math.ceil(seconds / 60))
        if mode == "backtest":
            seconds = int(rng.integers(300, 7200))
            return "backtesting", seconds, max(1, math.ceil(seconds / 60))
        draw = float(rng.random())
        if draw < 0.75:
            seconds = int(rng.integers(30, 5400))
            return "bot_execution", seconds, max(1, math.ceil(seconds / 60))
        if draw < 0.87:
            return "signal_analysis", int(rng.integers(1, 30)), int(rng.integers(1, 20))
        if draw < 0.95:
            return "market_data", int(rng.integers(1, 600)), int(rng.integers(100, 5000))
        return None, None, None

    # -- usage ---------------------------------------------------------------------------------
    def _usage_day(
        self,
        rng: np.random.Generator,
        tenant: Tenant,
        change: Change,
        day: date,
        month_factor: float,
        over: bool,
        active_users: int,
        fills: int,
        rows: list[dict[str, Any]],
    ) -> None:
        assert change.plan is not None
        limits = self.world.plans[change.plan].limits()
        base = tenant.utilisation * min(month_factor, 1.1)
        push = float(rng.uniform(1.12, 1.45)) if over else 1.0
        weekday = 0.7 if day.weekday() >= 5 else 1.0
        start = local_midnight(day)
        end = local_midnight(day + timedelta(days=1))
        recorded = end + timedelta(minutes=5, seconds=int(rng.integers(0, 90)))
        age = max((start - tenant.created_at).days, 0)
        bots = max(
            1, round(limits["bots"] * min(base * push, 1.6) * float(rng.uniform(0.92, 1.05)))
        )
        values: dict[str, tuple[int, float | None, str | None]] = {
            "bots": (bots, round(bots * 24 * float(rng.uniform(0.82, 0.99)), 2), None),
            "api_calls": (
                max(
                    0,
                    round(
                        limits["api_calls"]
                        / 30
                        * base
                        * push
                        * weekday
                        * float(rng.lognormal(0, 0.2))
                    ),
                ),
                None,
                None,
            ),
            "storage": (
                1,
                round(limits["storage_gb"] * base * (0.25 + 0.75 * (1 - math.exp(-age / 120))), 2),
                f"bucket-{tenant.slug}"[:255],
            ),
            "bandwidth": (
                1,
                round(
                    limits["bandwidth_gb"] / 30 * base * weekday * float(rng.lognormal(0, 0.25)), 2
                ),
                None,
            ),
            "users": (max(active_users, 1), None, None),
            "transactions": (fills, None, None),
        }
        stamp, tag = day.strftime("%Y%m%d"), self.context.tag
        for resource, (count, value, resource_id) in values.items():
            rows.append(
                {
                    "usage_event_id": f"use_{tag}_{tenant.index:05d}_{stamp}_{resource}",
                    "tenant_id": tenant.id,
                    "user_id": tenant.owner.id,
                    "resource_type": resource,
                    "resource_id": resource_id,
                    "usage_count": count,
                    "usage_value": None if value is None else f"{value:.2f}",
                    "period_start": start.astimezone(BRT).isoformat(timespec="seconds"),
                    "period_end": end.astimezone(BRT).isoformat(timespec="seconds"),
                    "recorded_at": recorded.astimezone(BRT).isoformat(timespec="seconds"),
                }
            )


TRADING_SCHEMA = {
    "fill_id": pl.String,
    "tenant_id": pl.String,
    "user_id": pl.String,
    "trade_id": pl.String,
    "asset_type": pl.String,
    "symbol": pl.String,
    "side": pl.String,
    "bot_id": pl.String,
    "trade_amount": pl.String,
    "profit_amount": pl.String,
    "commission_rate": pl.String,
    "commission_amount": pl.String,
    "filled_at": pl.String,
    "resource_type": pl.String,
    "resource_seconds": pl.Int64,
    "resource_units": pl.Int64,
    "resource_unit_cost": pl.String,
}
USAGE_SCHEMA = {
    "usage_event_id": pl.String,
    "tenant_id": pl.String,
    "user_id": pl.String,
    "resource_type": pl.String,
    "resource_id": pl.String,
    "usage_count": pl.Int64,
    "usage_value": pl.String,
    "period_start": pl.String,
    "period_end": pl.String,
    "recorded_at": pl.String,
}

__all__ = ["ActivityGenerator", "MonthActivity", "build_context", "platform_id"]
