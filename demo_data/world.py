"""Who exists: the tenants, their people, the platform's staff, and each tenant's timeline.

A `World` is built once per run from (seed, tenants, window) and then read by every other
part: billing (`billing.py`) fills each tenant's timeline (which plan, in which state, from
when), and the activity, traffic and operational parts follow it, so a tenant that churned
stops paying, using and logging in.

Times are aware UTC datetimes; the calendar (days, months) is the reporting time zone's,
America/Sao_Paulo (UTC-3, no daylight saving since 2019), as `BRT`.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import numpy as np

from demo_data import catalog
from demo_data.catalog import Plan
from demo_data.seeding import entity_id, platform_id, stream, stripe_id

BRT = timezone(timedelta(hours=-3), "BRT")
TENANT_TYPES = (("trader", 0.5), ("empresa", 0.3), ("influencer", 0.2))
CURRENCY_MIX = (("BRL", 0.85), ("USD", 0.1), ("EUR", 0.05))
CURRENCY_COUNTRY = {"BRL": "BR", "USD": "US", "EUR": "PT"}
# Plan tier mix at signup by tenant type.
TIER_MIX = {
    "trader": (("starter", 0.45), ("pro", 0.4), ("business", 0.15)),
    "empresa": (("pro", 0.3), ("business", 0.45), ("enterprise", 0.25)),
    "influencer": (("pro", 0.5), ("business", 0.4), ("enterprise", 0.1)),
}
USERS_PER_TENANT = {"trader": (1, 2), "empresa": (3, 9), "influencer": (2, 4)}
MEMBER_ROLES = {
    "trader": ("assistant",),
    "empresa": ("admin", "trader", "trader", "analyst", "analyst", "viewer", "trader", "admin"),
    "influencer": ("manager", "editor", "moderator"),
}

# Tenant states on its timeline.
TRIALING, ACTIVE, PAST_DUE, FREE, NONE = "trialing", "active", "past_due", "free", "none"


def local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=BRT).astimezone(UTC)


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def ascii_fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", ascii_fold(text).lower()).strip("-")


def pick(rng: np.random.Generator, options: tuple[tuple[Any, float], ...]) -> Any:
    weights = np.array([w for _, w in options], dtype=float)
    return options[int(rng.choice(len(options), p=weights / weights.sum()))][0]


@dataclass
class Window:
    """The generated period: whole local days `first`..`last`."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return local_midnight(self.first)

    @property
    def end(self) -> datetime:  # exclusive
        return local_midnight(self.last + timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def months(self) -> list[date]:
        months, current = [], month_start(self.first)
        while current <= self.last:
            months.append(current)
            current = add_months(current, 1)
        return months

    def fraction(self, at: datetime) -> float:
        """Where `at` falls in the window, 0..1."""
        return (at - self.start) / (self.end - self.start)


@dataclass
class Person:
    """A user: a tenant's member or a staff member of the platform."""

    id: str
    name: str
    email: str
    created_at: datetime
    role: str
    tenant: int | None  # index of the tenant; None for staff
    engagement: float  # relative activity, 1 = typical
    country: str
    ip: str
    user_agent: str
    image: str | None = None
    department: str | None = None


@dataclass
class Change:
    """From `at` on, the tenant is in `state` on `plan` (with `quantity` seats)."""

    at: datetime
    state: str
    plan: str | None
    quantity: int = 1


@dataclass
class Tenant:
    index: int
    id: str
    name: str
    slug: str
    type: str
    currency: str
    country: str
    created_at: datetime
    customer_id: str
    domain: str | None
    channel: str  # how it found the platform (a traffic channel)
    activity: float  # relative trading/usage intensity
    utilisation: float  # typical share of plan limits used
    over_limit: bool  # pushes past some plan limits at times
    signup: str  # trial, paid, free
    first_tier: str
    first_cycle: str
    users: list[Person] = field(default_factory=list)
    timeline: list[Change] = field(default_factory=list)
    status: str = "active"  # tenants.status at the end of the window
    lead_created_at: datetime | None = None
    # [start, end) of its welcome coupon (billing.WELCOME_PERCENT_OFF), cut short when the
    # subscription ends; None: no coupon.
    welcome_discount: tuple[datetime, datetime] | None = None
    # [start, end) of its storage add-on (billing.ADD_ON_MONTHLY), ended when its plan changes
    # or the subscription ends; None: no add-on.
    add_on: tuple[datetime, datetime | None] | None = None

    @property
    def owner(self) -> Person:
        return self.users[0]

    def members_at(self, at: datetime) -> list[Person]:
        return [user for user in self.users if user.created_at <= at]

    def change_at(self, at: datetime) -> Change | None:
        index = bisect.bisect_right([c.at for c in self.timeline], at) - 1
        return self.timeline[index] if index >= 0 else None

    def daily_changes(self, window: Window) -> list[Change | None]:
        """The tenant's state at local noon of every day of the window."""
        times = [c.at for c in self.timeline]
        result: list[Change | None] = []
        for offset in range(window.days):
            noon = window.start + timedelta(days=offset, hours=12)
            index = bisect.bisect_right(times, noon) - 1
            result.append(self.timeline[index] if index >= 0 else None)
        return result


@dataclass
class World:
    seed: int
    window: Window
    plans: dict[str, Plan]
    tenants: list[Tenant]
    staff: list[Person]
    house: Tenant  # the platform's own workspace: its staff, its sales leads, its documents

    def people(self) -> list[Person]:
        return [*self.staff, *(user for tenant in self.tenants for user in tenant.users)]

    def staff_in(self, department: str) -> list[Person]:
        return [person for person in self.staff if person.department == department]


# --- Identity helpers ------------------------------------------------------------------------
def _email_local(name: str) -> str:
    parts = slugify(name).split("-")
    return f"{parts[0]}.{parts[-1]}"


def _home(rng: np.random.Generator, country: str, *, desktop: bool) -> tuple[str, str]:
    """A home address and main browser for a platform user."""
    prefixes = catalog.COUNTRIES[country][2]
    prefix = prefixes[int(rng.integers(len(prefixes)))]
    ip = f"{prefix}.{int(rng.integers(0, 256))}.{int(rng.integers(1, 255))}"
    kinds = ("desktop",) if desktop else ("mobile", "tablet")
    agents = [(ua, w) for ua, kind, w in catalog.USER_AGENTS if kind in kinds]
    return ip, pick(rng, tuple(agents))


def _staff(launch: datetime) -> list[Person]:
    rng = stream(0, "staff")
    people = []
    for number, (name, department, role) in enumerate(catalog.STAFF):
        ip, agent = _home(rng, "BR", desktop=True)
        people.append(
            Person(
                id=str(platform_id("staff", number)),
                name=name,
                email=f"{_email_local(name)}@botcriptofy.com.br",
                created_at=launch + timedelta(minutes=number),
                role=role,
                tenant=None,
                engagement=1.0,
                country="BR",
                ip=ip,
                user_agent=agent,
                department=department,
            )
        )
    return people


def _tenant_name(rng: np.random.Generator, kind: str, used: set[str]) -> str:
    for _ in range(100):
        if kind == "empresa":
            word = catalog.COMPANY_WORDS[int(rng.integers(len(catalog.COMPANY_WORDS)))]
            label, suffix = catalog.COMPANY_KINDS[int(rng.integers(len(catalog.COMPANY_KINDS)))]
            name = f"{word} {label} {suffix}"
        elif kind == "influencer":
            name = catalog.INFLUENCER_NAMES[int(rng.integers(len(catalog.INFLUENCER_NAMES)))]
        else:
            first = catalog.FIRST_NAMES[int(rng.integers(len(catalog.FIRST_NAMES)))]
            last = catalog.SURNAMES[int(rng.integers(len(catalog.SURNAMES)))]
            name = f"{first} {last}"
        if name not in used:
            used.add(name)
            return name
    name = f"{name} {len(used)}"
    used.add(name)
    return name


def _signup_times(rng: np.random.Generator, count: int, window: Window) -> list[datetime]:
    """A launch cohort in the first month, then signups at a rate growing over the window."""
    usable = max(window.days - 7, 1)
    cohort = max(1, round(count * 0.3)) if count > 1 else 1
    offsets = list(rng.uniform(0, min(30, usable), size=cohort))
    later = count - cohort
    if later > 0:
        # Intensity grows linearly from 1 to 3 across the rest: sample by inverse CDF.
        lo = min(30.0, usable * 0.5)
        u = (np.arange(later) + rng.uniform(0.15, 0.85, size=later)) / later
        a, b = 1.0, 3.0
        x = (-a + np.sqrt(a * a + (b * b - a * a) * u)) / (b - a)
        offsets += list(lo + x * (usable - lo))
    times = [window.start + timedelta(days=float(offset)) for offset in sorted(offsets)]
    # Signups happen in the local day, mostly business hours.
    result = []
    for at in times:
        local = at.astimezone(BRT)
        hour = int(rng.choice(24, p=_HOURS / _HOURS.sum()))
        moment = local.replace(
            hour=hour, minute=int(rng.integers(60)), second=int(rng.integers(60))
        )
        result.append(max(moment.astimezone(UTC), window.start + timedelta(minutes=5)))
    return result


# Relative activity by local hour (platform and website alike).
_HOURS = np.array(
    [0.9, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.6, 2.8, 3.8, 4.4, 4.5, 3.9, 3.8, 4.2, 4.3, 4.1, 3.8,
     3.4, 3.6, 4.0, 4.1, 3.2, 1.8]
)  # fmt: skip
HOUR_WEIGHTS = _HOURS / _HOURS.sum()


def build_world(seed: int, tenants: int, window: Window) -> World:
    rng = stream(seed, "world")
    plans = dict(catalog.PLANS)
    staff = _staff(window.start)
    used_names: set[str] = set()
    used_emails = {person.email for person in staff}
    used_slugs = {catalog.HOUSE_TENANT[1]}
    created = _signup_times(rng, tenants, window)
    result: list[Tenant] = []
    currencies = [pick(rng, CURRENCY_MIX) for _ in range(tenants)]
    if tenants >= 10:  # the demo shows every currency
        for forced, index in (("USD", 3), ("EUR", 7)):
            if forced not in currencies:
                currencies[index] = forced
    channels = tuple((name, shares[0]) for name, shares in catalog.CHANNELS.items())
    for index in range(tenants):
        kind = pick(rng, TENANT_TYPES)
        name = _tenant_name(rng, kind, used_names)
        slug = slugify(name)
        while slug in used_slugs:
            slug = f"{slugify(name)}-{int(rng.integers(2, 99))}"
        used_slugs.add(slug)
        currency = currencies[index]
        country = CURRENCY_COUNTRY[currency]
        tenant_id = str(entity_id(seed, "tenant", index))
        domain = None
        if kind == "empresa":
            domain = slugify(name.rsplit(" ", 1)[0]).replace("-", "")[:24] + ".com.br"
            if currency != "BRL":
                domain = domain.removesuffix(".com.br") + (".com" if currency == "USD" else ".pt")
        signup = pick(rng, (("trial", 0.55), ("paid", 0.3), ("free", 0.15)))
        cycle = pick(rng, (("monthly", 0.7), ("quarterly", 0.12), ("yearly", 0.18)))
        if currency != "BRL" and cycle == "quarterly":
            cycle = "monthly"
        over_limit = bool(rng.random() < 0.15)
        tenant = Tenant(
            index=index,
            id=tenant_id,
            name=name,
            slug=slug,
            type=kind,
            currency=currency,
            country=country,
            created_at=created[index],
            customer_id=stripe_id("cus", seed, "customer", index, length=14),
            domain=domain,
            channel=pick(rng, channels),
            activity=float(rng.lognormal(0.0, 0.45)),
            utilisation=float(rng.beta(4, 4) * 0.8 + 0.15),
            over_limit=over_limit,
            signup=signup,
            first_tier=pick(rng, TIER_MIX[kind]),
            first_cycle=cycle,
        )
        tenant.users = _members(rng, seed, tenant, window, used_emails)
        lead_gap = timedelta(days=float(rng.uniform(2, 40)))
        tenant.lead_created_at = max(window.start, tenant.created_at - lead_gap)
        result.append(tenant)
    if tenants >= 10 and not any(t.first_cycle == "quarterly" for t in result):
        # The demo shows a quarterly plan too: the first BRL tenant that signs up paying.
        brl = [t for t in result if t.currency == "BRL" and t.type != "trader"] or result
        chosen = next((t for t in brl if t.signup == "paid"), brl[0])
        chosen.signup, chosen.first_cycle = "paid", "quarterly"
    house = Tenant(
        index=-1,
        id=str(platform_id("tenant", "house")),
        name=catalog.HOUSE_TENANT[0],
        slug=catalog.HOUSE_TENANT[1],
        type="empresa",
        currency="BRL",
        country="BR",
        created_at=window.start,
        customer_id="",
        domain="botcriptofy.com.br",
        channel="direct",
        activity=1.0,
        utilisation=0.5,
        over_limit=False,
        signup="free",
        first_tier="free",
        first_cycle="monthly",
        users=staff,
    )
    return World(seed, window, plans, result, staff, house)


def _members(
    rng: np.random.Generator, seed: int, tenant: Tenant, window: Window, used: set[str]
) -> list[Person]:
    low, high = USERS_PER_TENANT[tenant.type]
    count = int(rng.integers(low, high + 1))
    roles = MEMBER_ROLES[tenant.type]
    people = []
    for number in range(count):
        first = catalog.FIRST_NAMES[int(rng.integers(len(catalog.FIRST_NAMES)))]
        last = catalog.SURNAMES[int(rng.integers(len(catalog.SURNAMES)))]
        name = f"{first} {last}"
        if number == 0 and tenant.type == "trader":
            name = tenant.name
        local = _email_local(name)
        domain = tenant.domain or pick(rng, catalog.PERSONAL_DOMAINS)
        email = f"{local}@{domain}"
        while email in used:
            email = f"{local}{int(rng.integers(1, 999))}@{domain}"
        used.add(email)
        joined = tenant.created_at
        if number > 0:
            joined += timedelta(days=float(rng.exponential(45)), hours=float(rng.uniform(0, 9)))
        desktop = tenant.type != "influencer" and rng.random() < 0.8
        ip, agent = _home(rng, tenant.country, desktop=desktop)
        role = "owner" if number == 0 else roles[(number - 1) % len(roles)]
        people.append(
            Person(
                id=str(entity_id(seed, "user", tenant.index, number)),
                name=name,
                email=email,
                created_at=joined,
                role=role,
                tenant=tenant.index,
                engagement=float(rng.lognormal(0.3 if number == 0 else -0.2, 0.4)),
                country=tenant.country,
                ip=ip,
                user_agent=agent,
                image=(
                    f"https://cdn.botcriptofy.com.br/avatars/{tenant.index}-{number}.jpg"
                    if rng.random() < 0.4
                    else None
                ),
            )
        )
    return [p for p in people if p.created_at < window.end] or people[:1]
