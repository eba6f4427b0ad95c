"""Web tracking events of the marketing site, generated a day at a time with NumPy and Polars.

Volume: `events_per_day` is the average over the window; days follow a growth curve (traffic
triples across the window), a weekly pattern (quiet weekends), campaign bursts (Black Friday,
news-driven spikes of organic traffic) and noise. Within a day, sessions start by the local
hour of their visitor's country (a Brazilian day shape), in the visitor's time zone.

Sessions: a channel is drawn from a mix that shifts towards paid media over time, and the
session gets that channel's attribution exactly as METRICS.md classifies it: gclid/fbclid or
a paid utm_medium (cpc, ppc, paid, paidsocial), utm_medium email, social, affiliate and
referral, search and social referrers without UTM, other referrers, nothing (direct); some
paid clicks carry only the click id (auto-tagging), some with a search-engine referrer too.
The collector repeats the session's landing attribution (referrer, UTM, click ids) on each
of its events; the landing page's URL carries the query string. Bounce rates and lead
conversion rates differ by channel; sessions have several page views with log-normal times
on page; some page views have an interaction event; crawlers and HTTP tools (~4 % of
sessions) crawl several pages at once. Visitors: a growing pool, about 30 % of sessions
from returning visitors (their device, country and address are a function of the visitor's
number, so a returning visitor looks the same); real user agents; real public IPv4 and IPv6
addresses of access providers in Brazil, Portugal, the US and elsewhere.

Conversions: `lead` conversions (the contact form) create a lead of the platform's own sales
funnel (`Lead`, written to `public.leads` by the operational step) with `lead_id` on the
event; each tenant's owner visited, became a lead days before, and converts with a `signup`
conversion (`tenant_id` on the event) at the tenant's creation; affiliate sessions carry a
referral link's code (`?ref=`), counted as clicks and conversions of that link.

Files: Parquet, one per local week (Monday to Sunday), `tracking/events_<first day>.parquet`,
rows in time order; memory holds one week at most.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote_plus

import numpy as np
import polars as pl

from demo_data import catalog
from demo_data.seeding import (
    entity_id,
    hex_strings,
    mix64,
    stable_hash,
    stream,
    token_strings,
    unit_float,
    uuid_strings,
)
from demo_data.world import BRT, HOUR_WEIGHTS, Tenant, World, local_midnight

DEFAULT_EVENTS_PER_DAY = 600
OWNER_VISITORS = 1 << 40  # visitor numbers of tenant owners, apart from the pool
RETURNING_SHARE = 0.3
BOT_SESSION_SHARE = 0.04
INTERACTION_SHARE = 0.12
GROWTH = math.log(3.0)  # traffic triples over the window
WEEKDAY = np.array([1.05, 1.1, 1.08, 1.04, 0.95, 0.72, 0.78])
MAX_FILE_ROWS = 1_500_000

CHANNELS = tuple(catalog.CHANNELS)
EVENT_COLUMNS: dict[str, pl.DataType] = {
    "event_id": pl.String(),
    "occurred_at": pl.Datetime("us", "UTC"),
    "session_id": pl.String(),
    "visitor_id": pl.String(),
    "ip": pl.String(),
    "user_agent": pl.String(),
    "page_url": pl.String(),
    "page_title": pl.String(),
    "referrer": pl.String(),
    "utm_source": pl.String(),
    "utm_medium": pl.String(),
    "utm_campaign": pl.String(),
    "utm_term": pl.String(),
    "utm_content": pl.String(),
    "gclid": pl.String(),
    "fbclid": pl.String(),
    "screen_resolution": pl.String(),
    "visit_duration": pl.Int32(),
    "event_type": pl.String(),
    "event_name": pl.String(),
    "conversion_value": pl.String(),
    "currency": pl.String(),
    "lead_id": pl.String(),
    "tenant_id": pl.String(),
}


@dataclass
class ReferralLink:
    code: str
    campaign_id: str
    campaign_slug: str
    tenant: Tenant
    user_id: str
    start: datetime
    end: datetime | None
    weight: float


@dataclass
class Lead:
    id: str
    created_at: datetime
    name: str
    email: str
    phone: str | None
    company: str | None
    channel: str
    source: str  # leads.source
    session_id: str
    visitor_id: str | None
    utm: dict[str, str | None]
    referral_code: str | None
    tenant: Tenant | None = None  # the tenant this lead became


@dataclass
class TrafficTotals:
    events: int = 0
    sessions: int = 0
    bot_sessions: int = 0
    files: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)
    referral_clicks: dict[str, int] = field(default_factory=dict)
    referral_conversions: dict[str, int] = field(default_factory=dict)
    referral_conversions_by_month: dict[str, dict[str, int]] = field(default_factory=dict)
    paid_clicks: dict[tuple[str, str], int] = field(default_factory=dict)  # (YYYY-MM, source)


# --- Catalogue columns: index 0 is always "absent" ---------------------------------------------
def _table(values: list[str]) -> tuple[list[str | None], dict[str, int]]:
    column: list[str | None] = [None, *values]
    return column, {value: index + 1 for index, value in enumerate(values)}


def _weights(pairs: tuple[tuple[Any, float], ...]) -> tuple[list[Any], np.ndarray]:
    values = [v for v, _ in pairs]
    weights = np.array([w for _, w in pairs], dtype=float)
    return values, weights / weights.sum()


class Catalogue:
    """Every string a session or event can take, as Polars columns indexed by integers."""

    def __init__(self, links: list[ReferralLink]) -> None:
        referrers = sorted(
            {r for r, _ in catalog.SEARCH_REFERRERS}
            | {r for r, _ in catalog.SOCIAL_REFERRERS}
            | {r for r, _ in catalog.OTHER_REFERRERS}
            | {"https://mail.google.com/", "https://outlook.live.com/"}
        )
        tags = [
            *catalog.PAID_SEARCH_TAGS,
            *catalog.PAID_SOCIAL_TAGS,
            *catalog.EMAIL_TAGS,
            *catalog.SOCIAL_TAGS,
        ]
        sources = sorted(
            {s for s, _, _ in tags} | {link.tenant.slug for link in links} | {"parceiros"}
        )
        mediums = sorted({m for _, m, _ in tags} | {"affiliate", "referral"})
        campaigns = sorted(
            {c for c, _ in catalog.SEARCH_CAMPAIGNS}
            | set(catalog.SOCIAL_CAMPAIGNS)
            | set(catalog.EMAIL_CAMPAIGNS)
            | {link.campaign_slug for link in links}
            | {"programa_parceiros"}
        )
        terms = sorted({t for _, t in catalog.SEARCH_CAMPAIGNS})
        contents = sorted(
            {link.code for link in links} | {"banner_topo", "video_30s", "carrossel", "stories"}
        )
        self.referrer, self.referrer_at = _table(referrers)
        self.source, self.source_at = _table(sources)
        self.medium, self.medium_at = _table(mediums)
        self.campaign, self.campaign_at = _table(campaigns)
        self.term, self.term_at = _table(terms)
        self.content, self.content_at = _table(contents)
        self.term_encoded = [None, *(quote_plus(t) for t in terms)]
        self.pages = [p for p, _, _, _ in catalog.PAGES] + [
            catalog.LEAD_PAGE[0],
            catalog.SIGNUP_PAGE[0],
        ]
        self.titles = [t for _, t, _, _ in catalog.PAGES] + [
            catalog.LEAD_PAGE[1],
            catalog.SIGNUP_PAGE[1],
        ]
        self.lead_page = len(catalog.PAGES)
        self.signup_page = self.lead_page + 1
        landing = np.array([w for _, _, w, _ in catalog.PAGES] + [0, 0])
        later = np.array([w for _, _, _, w in catalog.PAGES] + [0, 0])
        self.later = later / later.sum()
        self.landing: dict[str, np.ndarray] = {}
        blog = np.array([1.0 if p.startswith("/blog") else 0.0 for p in self.pages])
        lp = np.array([1.0 if p == "/lp/robo-cripto" else 0.0 for p in self.pages])
        pricing = np.array([1.0 if p == "/precos" else 0.0 for p in self.pages])
        home = np.array([1.0 if p == "/" else 0.0 for p in self.pages])
        affiliate = np.array(
            [1.0 if p in ("/", "/precos", "/afiliados") else 0.0 for p in self.pages]
        )
        for channel in CHANNELS:
            mix = landing / landing.sum()
            if channel == "organic_search":
                mix = 0.5 * mix + 0.5 * blog / blog.sum()
            elif channel in ("paid_search", "paid_social"):
                mix = 0.55 * lp + 0.25 * pricing + 0.2 * mix
            elif channel == "direct":
                mix = 0.5 * home + 0.5 * mix
            elif channel == "affiliate":
                mix = 0.6 * home + 0.4 * affiliate / affiliate.sum()
            self.landing[channel] = mix / mix.sum()
        self.agents = [ua for ua, _, _ in catalog.USER_AGENTS] + [ua for ua, _, _ in catalog.BOTS]
        self.agent_class = [kind for _, kind, _ in catalog.USER_AGENTS]
        self.screens: list[str | None] = [None]
        self.screen_of: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for kind, options in catalog.SCREENS.items():
            start = len(self.screens)
            self.screens += [s for s, _ in options]
            weights = np.array([w for _, w in options], dtype=float)
            self.screen_of[kind] = (
                np.arange(start, start + len(options)),
                np.cumsum(weights / weights.sum()),
            )
        self.countries = list(catalog.COUNTRIES)
        shares = np.array([catalog.COUNTRIES[c][0] for c in self.countries])
        self.country_cdf = np.cumsum(shares / shares.sum())
        self.country_offset = np.array([catalog.COUNTRIES[c][1] for c in self.countries])


@dataclass
class DayPlan:
    day: date
    sessions: int
    bots: int
    mix: np.ndarray  # channel shares of human sessions


class TrafficGenerator:
    def __init__(
        self,
        world: World,
        links: list[ReferralLink],
        events_per_day: int,
        seed: int,
    ) -> None:
        self.world = world
        self.seed = seed
        self.links = links
        self.catalogue = Catalogue(links)
        self.events_per_day = events_per_day
        self.totals = TrafficTotals()
        self.leads: list[Lead] = []
        self.pool = 0  # visitor numbers issued so far
        self.plans = self._plan_days()
        self._special = self._special_sessions()

    # -- the shape of the window -----------------------------------------------------------------
    def _plan_days(self) -> list[DayPlan]:
        window = self.world.window
        rng = stream(self.seed, "traffic-plan")
        days = [window.first + timedelta(days=n) for n in range(window.days)]
        position = np.linspace(0.0, 1.0, len(days))
        level = np.exp(GROWTH * position) * WEEKDAY[[d.weekday() for d in days]]
        level *= rng.lognormal(0.0, 0.07, size=len(days))
        start_mix = np.array([catalog.CHANNELS[c][0] for c in CHANNELS])
        end_mix = np.array([catalog.CHANNELS[c][1] for c in CHANNELS])
        boosts = np.ones((len(days), len(CHANNELS)))
        index = {c: i for i, c in enumerate(CHANNELS)}
        for n, day in enumerate(days):
            black_friday = _black_friday(day.year)
            gap = (day - black_friday).days
            if -3 <= gap <= 3:
                for channel, factor in (("paid_social", 2.6), ("email", 2.2), ("paid_search", 1.6)):
                    boosts[n, index[channel]] *= factor
        for _ in range(max(1, round(window.days / 120))):  # news-driven spikes
            centre = int(rng.integers(0, len(days)))
            height = float(rng.uniform(0.8, 1.8))
            for n in range(max(0, centre), min(len(days), centre + 6)):
                decay = height * math.exp(-(n - centre) / 1.6)
                for channel in ("organic_search", "organic_social", "social", "referral"):
                    boosts[n, index[channel]] *= 1 + decay
        mixes = (
            start_mix[None, :] * (1 - position[:, None]) + end_mix[None, :] * position[:, None]
        ) * boosts
        level *= mixes.sum(axis=1) / (
            start_mix * (1 - position[:, None]) + end_mix * position[:, None]
        ).sum(axis=1)
        mixes /= mixes.sum(axis=1, keepdims=True)
        level *= self.events_per_day / level.mean()
        bounce = mixes @ np.array([catalog.CHANNELS[c][2] for c in CHANNELS])
        plans = []
        for n, day in enumerate(days):
            sessions = int(rng.poisson(level[n] / self._events_per_session(float(bounce[n]))))
            plans.append(
                DayPlan(day, sessions, int(rng.binomial(sessions, BOT_SESSION_SHARE)), mixes[n])
            )
        return plans

    @staticmethod
    def _events_per_session(bounce: float) -> float:
        """Expected events per session (page views, interactions, bots' crawls) at the day's
        bounce rate; page counts are capped (14 for people, 25 for crawlers)."""
        pages = bounce + (1 - bounce) * (1 + 1 / 0.45) * 0.995
        human = pages * (1 + INTERACTION_SHARE)
        crawl = 1 / 0.3  # pages per crawler session
        return human * (1 - BOT_SESSION_SHARE) + crawl * BOT_SESSION_SHARE

    def _special_sessions(self) -> dict[date, list[dict[str, Any]]]:
        """Each tenant owner's lead visit and signup visit, by local day."""
        special: dict[date, list[dict[str, Any]]] = {}
        window = self.world.window
        for tenant in self.world.tenants:
            assert tenant.lead_created_at is not None
            for kind, at in (("lead", tenant.lead_created_at), ("signup", tenant.created_at)):
                if not window.start <= at < window.end:
                    continue
                special.setdefault(at.astimezone(BRT).date(), []).append(
                    {"kind": kind, "at": at, "tenant": tenant}
                )
        return special

    # -- one day ---------------------------------------------------------------------------------
    def day_frame(self, plan: DayPlan) -> pl.DataFrame:
        rng = stream(self.seed, "traffic", plan.day.isoformat())
        cat = self.catalogue
        special = self._special.get(plan.day, [])
        humans = plan.sessions - plan.bots + len(special)
        total = humans + plan.bots
        if total == 0:
            return pl.DataFrame(schema=EVENT_COLUMNS)
        channel = rng.choice(len(CHANNELS), size=humans, p=plan.mix)
        forced = len(special)
        for n, item in enumerate(special):
            channel[n] = CHANNELS.index(item["tenant"].channel)

        # Visitors: returning ones favour recent visitors; new ones extend the pool.
        returning = (rng.random(humans) < RETURNING_SHARE) & (self.pool > 0)
        returning[:forced] = False
        visitor = np.empty(humans, dtype=np.int64)
        n_back = int(returning.sum())
        if n_back:
            back = (self.pool * (1 - rng.random(n_back) ** 2.5)).astype(np.int64)
            visitor[returning] = np.minimum(back, self.pool - 1)
        n_new = humans - n_back
        visitor[~returning] = self.pool + np.arange(n_new)
        self.pool += n_new
        for n, item in enumerate(special):  # the owner is the same visitor on both visits
            visitor[n] = OWNER_VISITORS + item["tenant"].index
        salt = stable_hash(self.seed, "visitor")
        country = np.searchsorted(
            cat.country_cdf, unit_float(mix64(visitor, salt + 1)), side="right"
        )
        country = np.minimum(country, len(cat.countries) - 1)
        agent, screen = self._devices(visitor, salt)
        ip = self._addresses(visitor, country, salt)
        visitor_id = hex_strings(mix64(visitor, salt + 9), "v_")

        # Session start: local hour by the day shape, shifted by the country's offset.
        hour = rng.choice(24, size=humans, p=HOUR_WEIGHTS)
        local_seconds = hour * 3600 + rng.uniform(0, 3600, size=humans)
        offset_hours = cat.country_offset[country] + 3  # relative to Brasília
        start = _ts(local_midnight(plan.day)) + local_seconds - offset_hours * 3600
        window = self.world.window
        start = np.clip(start, _ts(window.start), _ts(window.end) - 3600)

        # Pages and conversions.
        bounce_rate = np.array([catalog.CHANNELS[c][2] for c in CHANNELS])[channel]
        lead_rate = np.array([catalog.CHANNELS[c][3] for c in CHANNELS])[channel]
        bounced = rng.random(humans) < bounce_rate
        pages = np.where(bounced, 1, 2 + rng.geometric(0.45, size=humans) - 1)
        pages = np.minimum(pages, 14)
        conversion = np.where(~bounced & (rng.random(humans) < lead_rate / (1 - bounce_rate)), 1, 0)
        for n, item in enumerate(special):
            pages[n] = max(int(pages[n]), 3)
            conversion[n] = 1 if item["kind"] == "lead" else 2
            ip[n] = item["tenant"].owner.ip
            agent[n] = cat.agents.index(item["tenant"].owner.user_agent)
            kind = catalog.USER_AGENTS[agent[n]][1]
            screen[n] = cat.screen_of[kind][0][0]

        attribution = self._attribution(rng, channel, start)
        sessions = pl.DataFrame(
            {
                "session_id": hex_strings(
                    mix64(np.arange(humans), stable_hash(self.seed, plan.day, "s")), "s_"
                ),
                "visitor_id": visitor_id,
                "ip": ip,
                "user_agent": pl.Series(cat.agents, dtype=pl.String).gather(agent),
                "screen_resolution": pl.Series(cat.screens, dtype=pl.String).gather(screen),
                **attribution,
            }
        )
        humans_frame = self._events(rng, plan, sessions, channel, start, pages, conversion, special)
        bots_frame = self._bots(rng, plan)
        frame = (
            pl.concat([humans_frame, bots_frame], how="vertical")
            if bots_frame.height
            else humans_frame
        )
        self._count(plan, channel, conversion, sessions, bots=plan.bots)
        return frame.sort("occurred_at", "event_id")

    def _devices(self, visitor: np.ndarray, salt: int) -> tuple[np.ndarray, np.ndarray]:
        cat = self.catalogue
        draw = unit_float(mix64(visitor, salt + 2))
        kinds = np.where(draw < 0.38, 0, np.where(draw < 0.95, 1, 2))
        names = ("desktop", "mobile", "tablet")
        agent = np.empty(visitor.size, dtype=np.int64)
        screen = np.empty(visitor.size, dtype=np.int64)
        pick_agent = unit_float(mix64(visitor, salt + 3))
        pick_screen = unit_float(mix64(visitor, salt + 4))
        for number, kind in enumerate(names):
            mask = kinds == number
            if not mask.any():
                continue
            indices = np.array([i for i, k in enumerate(cat.agent_class) if k == kind])
            weights = np.array([catalog.USER_AGENTS[i][2] for i in indices], dtype=float)
            cdf = np.cumsum(weights / weights.sum())
            agent[mask] = indices[
                np.minimum(np.searchsorted(cdf, pick_agent[mask], side="right"), indices.size - 1)
            ]
            slots, screen_cdf = cat.screen_of[kind]
            screen[mask] = slots[
                np.minimum(
                    np.searchsorted(screen_cdf, pick_screen[mask], side="right"), slots.size - 1
                )
            ]
        return agent, screen

    def _addresses(self, visitor: np.ndarray, country: np.ndarray, salt: int) -> list[str]:
        cat = self.catalogue
        hashed = mix64(visitor, salt + 5)
        v6_draw = unit_float(mix64(visitor, salt + 6))
        host = mix64(visitor, salt + 7)
        out: list[str] = [""] * visitor.size
        third = ((host >> np.uint64(8)) & np.uint64(255)).astype(np.int64)
        fourth = (host % np.uint64(254)).astype(np.int64) + 1
        groups = [
            ((host >> np.uint64(16 * k)) & np.uint64(0xFFFF)).astype(np.int64) | 0x1
            for k in range(4)
        ]
        for number, name in enumerate(cat.countries):
            mask = np.flatnonzero(country == number)
            if mask.size == 0:
                continue
            _, _, v4, v6 = catalog.COUNTRIES[name]
            choice = (hashed[mask] % np.uint64(1 << 20)).astype(np.int64)
            use_v6 = (v6_draw[mask] < catalog.IPV6_SHARE) if v6 else np.zeros(mask.size, dtype=bool)
            for position, index in enumerate(mask):
                if use_v6[position]:
                    prefix = v6[int(choice[position]) % len(v6)]
                    parts = [int(group[index]) for group in groups]
                    parts += [int(third[index]) + 1, int(fourth[index])]
                    out[index] = prefix + "".join(f":{part:x}" for part in parts)
                else:
                    prefix = v4[int(choice[position]) % len(v4)]
                    out[index] = f"{prefix}.{int(third[index])}.{int(fourth[index])}"
        return out

    def _attribution(
        self, rng: np.random.Generator, channel: np.ndarray, start: np.ndarray
    ) -> dict[str, pl.Series]:
        """Referrer, UTM and click ids of each session, by its channel."""
        cat = self.catalogue
        n = channel.size
        ref = np.zeros(n, dtype=np.int64)
        src = np.zeros(n, dtype=np.int64)
        med = np.zeros(n, dtype=np.int64)
        camp = np.zeros(n, dtype=np.int64)
        term = np.zeros(n, dtype=np.int64)
        content = np.zeros(n, dtype=np.int64)
        gclid = np.zeros(n, dtype=bool)
        fbclid = np.zeros(n, dtype=bool)
        code = np.full(n, -1, dtype=np.int64)

        def choose(mask: np.ndarray, pairs: tuple[tuple[Any, float], ...]) -> np.ndarray:
            values, weights = _weights(pairs)
            return np.array(values, dtype=object)[
                rng.choice(len(values), size=int(mask.sum()), p=weights)
            ]

        def tags(
            mask: np.ndarray, pairs: tuple[tuple[str, str, float], ...]
        ) -> tuple[np.ndarray, np.ndarray]:
            picked = choose(mask, tuple(((s, m), w) for s, m, w in pairs))
            sources = np.array([cat.source_at[s] for s, _ in picked], dtype=np.int64)
            mediums = np.array([cat.medium_at[m] for _, m in picked], dtype=np.int64)
            return sources, mediums

        by = {c: channel == i for i, c in enumerate(CHANNELS)}
        search_refs = tuple((cat.referrer_at[r], w) for r, w in catalog.SEARCH_REFERRERS)
        social_refs = tuple((cat.referrer_at[r], w) for r, w in catalog.SOCIAL_REFERRERS)
        other_refs = tuple((cat.referrer_at[r], w) for r, w in catalog.OTHER_REFERRERS)
        mask = by["organic_search"]
        if mask.any():
            ref[mask] = choose(mask, search_refs)
        mask = by["organic_social"]
        if mask.any():
            ref[mask] = choose(mask, social_refs)
        mask = by["referral"]
        if mask.any():
            ref[mask] = choose(mask, other_refs)

        mask = by["paid_search"]
        if mask.any():
            idx = np.flatnonzero(mask)
            src[idx], med[idx] = tags(mask, catalog.PAID_SEARCH_TAGS)
            picked = rng.integers(0, len(catalog.SEARCH_CAMPAIGNS), size=idx.size)
            camp[idx] = [cat.campaign_at[catalog.SEARCH_CAMPAIGNS[p][0]] for p in picked]
            term[idx] = [cat.term_at[catalog.SEARCH_CAMPAIGNS[p][1]] for p in picked]
            is_google = np.array([cat.source[s] == "google" for s in src[idx]])
            gclid[idx] = is_google & (rng.random(idx.size) < 0.92)
            ref[idx] = np.where(
                is_google,
                cat.referrer_at["https://www.google.com/"],
                cat.referrer_at["https://www.bing.com/"],
            )
            auto = gclid[idx] & (rng.random(idx.size) < 0.18)  # auto-tagging only: gclid, no UTM
            for column in (src, med, camp, term):
                column[idx[auto]] = 0
        mask = by["paid_social"]
        if mask.any():
            idx = np.flatnonzero(mask)
            src[idx], med[idx] = tags(mask, catalog.PAID_SOCIAL_TAGS)
            camp[idx] = [
                cat.campaign_at[c] for c in rng.choice(catalog.SOCIAL_CAMPAIGNS, size=idx.size)
            ]
            content[idx] = [
                cat.content_at[c]
                for c in rng.choice(
                    ["banner_topo", "video_30s", "carrossel", "stories"], size=idx.size
                )
            ]
            meta = np.array([cat.source[s] in ("facebook", "instagram") for s in src[idx]])
            fbclid[idx] = meta & (rng.random(idx.size) < 0.95)
            ref[idx] = np.where(
                meta & (rng.random(idx.size) < 0.6),
                np.where(
                    np.array([cat.source[s] == "instagram" for s in src[idx]]),
                    cat.referrer_at["https://l.instagram.com/"],
                    cat.referrer_at["https://l.facebook.com/"],
                ),
                0,
            )
            auto = fbclid[idx] & (rng.random(idx.size) < 0.15)  # click id only
            for column in (src, med, camp, content):
                column[idx[auto]] = 0
        mask = by["email"]
        if mask.any():
            idx = np.flatnonzero(mask)
            src[idx], med[idx] = tags(mask, catalog.EMAIL_TAGS)
            camp[idx] = [
                cat.campaign_at[c] for c in rng.choice(catalog.EMAIL_CAMPAIGNS, size=idx.size)
            ]
            webmail = rng.random(idx.size)
            ref[idx] = np.where(
                webmail < 0.12,
                cat.referrer_at["https://mail.google.com/"],
                np.where(webmail < 0.17, cat.referrer_at["https://outlook.live.com/"], 0),
            )
        mask = by["social"]
        if mask.any():
            idx = np.flatnonzero(mask)
            src[idx], med[idx] = tags(mask, catalog.SOCIAL_TAGS)
            camp[idx] = [
                cat.campaign_at[c] for c in rng.choice(catalog.SOCIAL_CAMPAIGNS, size=idx.size)
            ]
            domains = {
                "instagram": "https://l.instagram.com/",
                "youtube": "https://www.youtube.com/",
                "twitter": "https://t.co/",
                "linkedin": "https://www.linkedin.com/",
                "telegram": "https://web.telegram.org/",
            }
            ref[idx] = [cat.referrer_at[domains[cat.source[s] or "instagram"]] for s in src[idx]]
        mask = by["affiliate"]
        if mask.any():
            idx = np.flatnonzero(mask)
            candidates = self._active_links(start[idx].mean() if idx.size else 0.0)
            for index in idx:
                if candidates:
                    weights = np.array([self.links[c].weight for c in candidates])
                    link_number = candidates[
                        int(rng.choice(len(candidates), p=weights / weights.sum()))
                    ]
                    link = self.links[link_number]
                    code[index] = link_number
                    src[index] = cat.source_at[link.tenant.slug]
                    camp[index] = cat.campaign_at[link.campaign_slug]
                    content[index] = cat.content_at[link.code]
                else:
                    src[index] = cat.source_at["parceiros"]
                    camp[index] = cat.campaign_at["programa_parceiros"]
                med[index] = cat.medium_at["affiliate" if rng.random() < 0.6 else "referral"]
                if rng.random() < 0.5:
                    ref[index] = cat.referrer_at[
                        "https://www.instagram.com/"
                        if rng.random() < 0.6
                        else "https://www.youtube.com/"
                    ]
        string = pl.String
        return {
            "referrer": pl.Series(cat.referrer, dtype=string).gather(ref),
            "utm_source": pl.Series(cat.source, dtype=string).gather(src),
            "utm_medium": pl.Series(cat.medium, dtype=string).gather(med),
            "utm_campaign": pl.Series(cat.campaign, dtype=string).gather(camp),
            "utm_term": pl.Series(cat.term, dtype=string).gather(term),
            "_term_q": pl.Series(cat.term_encoded, dtype=string).gather(term),
            "utm_content": pl.Series(cat.content, dtype=string).gather(content),
            "gclid": _click_ids(rng, gclid, "Cj0KCQiA", 72),
            "fbclid": _click_ids(rng, fbclid, "IwAR", 58),
            "_ref_code": pl.Series(
                [self.links[c].code if c >= 0 else None for c in code], dtype=string
            ),
            "_link": pl.Series(code, dtype=pl.Int64),
        }

    def _active_links(self, at: float) -> list[int]:
        """Referral links whose campaign runs at `at` and whose tenant is a live customer."""
        moment = datetime.fromtimestamp(float(at), UTC)
        active = []
        for number, link in enumerate(self.links):
            if link.start > moment or (link.end is not None and moment >= link.end):
                continue
            change = link.tenant.change_at(moment)
            if change is not None and change.state != "none":
                active.append(number)
        return active

    def _events(
        self,
        rng: np.random.Generator,
        plan: DayPlan,
        sessions: pl.DataFrame,
        channel: np.ndarray,
        start: np.ndarray,
        pages: np.ndarray,
        conversion: np.ndarray,
        special: list[dict[str, Any]],
    ) -> pl.DataFrame:
        cat = self.catalogue
        n_sessions = pages.size
        # Page views.
        owner = np.repeat(np.arange(n_sessions), pages)
        first = np.concatenate(([0], np.cumsum(pages)[:-1]))
        position = np.arange(owner.size) - first[owner]
        landing_page = np.empty(n_sessions, dtype=np.int64)
        for number, name in enumerate(CHANNELS):
            mask = channel == number
            if mask.any():
                landing_page[mask] = rng.choice(
                    len(cat.pages), size=int(mask.sum()), p=cat.landing[name]
                )
        page = rng.choice(len(cat.pages), size=owner.size, p=cat.later)
        page[position == 0] = landing_page
        single = pages[owner] == 1
        duration = np.where(
            single,
            rng.lognormal(2.3, 1.0, size=owner.size),
            rng.lognormal(3.3, 0.9, size=owner.size),
        )
        duration = np.minimum(duration, 1800).astype(np.int64)
        step = duration + rng.integers(1, 6, size=owner.size)
        ends = np.cumsum(step)
        offset = ends - step - (ends - step)[first][owner]
        at = start[owner] + offset
        # Interactions on some page views; the conversion after the last page view.
        interacts = rng.random(owner.size) < INTERACTION_SHARE
        act_owner = owner[interacts]
        act_at = (
            at[interacts]
            + np.minimum(duration[interacts], 20) * rng.random(int(interacts.sum()))
            + 1
        )
        act_page = page[interacts]
        converting = np.flatnonzero(conversion > 0)
        last_view = first + pages - 1
        conv_at = at[last_view[converting]] + duration[last_view[converting]] + 3
        if special:
            shift = np.zeros(n_sessions)
            for n, item in enumerate(special):
                position_in = int(np.flatnonzero(converting == n)[0])
                shift[n] = item["at"].timestamp() - conv_at[position_in]
            at = at + shift[owner]
            act_at = act_at + shift[act_owner]
            conv_at = conv_at + shift[converting]
        conv_page = np.where(conversion[converting] == 1, cat.lead_page, cat.signup_page)

        all_owner = np.concatenate([owner, act_owner, converting])
        all_at = np.concatenate([at.astype(float), act_at, conv_at])
        all_page = np.concatenate([page, act_page, conv_page])
        kind = np.concatenate(
            [
                np.zeros(owner.size, np.int8),
                np.ones(act_owner.size, np.int8),
                np.full(converting.size, 2, np.int8),
            ]
        )
        durations = np.concatenate([duration, np.zeros(act_owner.size + converting.size, np.int64)])
        is_landing = np.concatenate(
            [position == 0, np.zeros(act_owner.size + converting.size, bool)]
        )
        names: list[str | None] = [None] * act_owner.size
        names = [cat_name for cat_name in rng.choice(catalog.INTERACTIONS, size=act_owner.size)]
        lead_ids, tenant_ids, values, event_names, currencies = self._conversions(
            plan, sessions, channel, converting, conversion, conv_at, special
        )
        event_name = pl.Series([None] * owner.size + list(names) + event_names, dtype=pl.String)
        total = all_owner.size
        occurred = (np.round(all_at * 1000).astype(np.int64) * 1000).astype("datetime64[us]")
        pages_series = pl.Series(cat.pages, dtype=pl.String).gather(all_page)
        frame = sessions.select(
            "session_id",
            "visitor_id",
            "ip",
            "user_agent",
            "referrer",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "utm_term",
            "utm_content",
            "gclid",
            "fbclid",
            "screen_resolution",
            "_term_q",
            "_ref_code",
        )[all_owner]
        query = pl.concat_str(
            [
                pl.lit("ref=") + pl.col("_ref_code"),
                pl.lit("utm_source=") + pl.col("utm_source"),
                pl.lit("utm_medium=") + pl.col("utm_medium"),
                pl.lit("utm_campaign=") + pl.col("utm_campaign"),
                pl.lit("utm_term=") + pl.col("_term_q"),
                pl.lit("utm_content=") + pl.col("utm_content"),
                pl.lit("gclid=") + pl.col("gclid"),
                pl.lit("fbclid=") + pl.col("fbclid"),
            ],
            separator="&",
            ignore_nulls=True,
        )
        frame = frame.with_columns(
            uuid_strings(rng, total).alias("event_id"),
            pl.Series("occurred_at", occurred).dt.replace_time_zone("UTC"),
            pages_series.alias("_path"),
            pl.Series(cat.titles, dtype=pl.String).gather(all_page).alias("page_title"),
            pl.Series(durations, dtype=pl.Int32).alias("visit_duration"),
            pl.Series(["pageview", "event", "conversion"], dtype=pl.String)
            .gather(kind)
            .alias("event_type"),
            event_name.alias("event_name"),
            pl.Series(is_landing).alias("_landing"),
            pl.Series([None] * (owner.size + act_owner.size) + values, dtype=pl.String).alias(
                "conversion_value"
            ),
            pl.Series([None] * (owner.size + act_owner.size) + lead_ids, dtype=pl.String).alias(
                "lead_id"
            ),
            pl.Series([None] * (owner.size + act_owner.size) + tenant_ids, dtype=pl.String).alias(
                "tenant_id"
            ),
        ).with_columns(query.alias("_query"))
        frame = frame.with_columns(
            (
                pl.lit(catalog.SITE)
                + pl.col("_path")
                + pl.when(pl.col("_landing") & (pl.col("_query") != ""))
                .then(pl.lit("?") + pl.col("_query"))
                .otherwise(pl.lit(""))
            ).alias("page_url"),
        ).with_columns(
            pl.Series([None] * (owner.size + act_owner.size) + currencies, dtype=pl.String).alias(
                "currency"
            ),
        )
        return frame.select(list(EVENT_COLUMNS)).cast(EVENT_COLUMNS)  # type: ignore[arg-type]

    def _conversions(
        self,
        plan: DayPlan,
        sessions: pl.DataFrame,
        channel: np.ndarray,
        converting: np.ndarray,
        conversion: np.ndarray,
        conv_at: np.ndarray,
        special: list[dict[str, Any]],
    ) -> tuple[
        list[str | None], list[str | None], list[str | None], list[str | None], list[str | None]
    ]:
        rng = stream(self.seed, "leads", plan.day.isoformat())
        currencies: list[str | None] = []
        lead_ids: list[str | None] = []
        tenant_ids: list[str | None] = []
        values: list[str | None] = []
        names: list[str | None] = []
        columns = sessions.select(
            "session_id",
            "visitor_id",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "_ref_code",
            "_link",
        )[converting].rows()
        for position, session in enumerate(converting):
            session_id, visitor_id, source, medium, campaign, code, link = columns[position]
            name = CHANNELS[int(channel[session])]
            at = datetime.fromtimestamp(float(conv_at[position]), UTC)
            tenant = special[session]["tenant"] if session < len(special) else None
            if conversion[session] == 2:
                assert tenant is not None
                lead_ids.append(None)
                tenant_ids.append(tenant.id)
                first = tenant.timeline[0].plan if tenant.timeline else None
                price = self.world.plans[first].price if first and tenant.signup == "paid" else 0
                values.append(f"{price:.2f}")
                currencies.append(tenant.currency)
                names.append("signup")
                continue
            lead = self._lead(
                rng, at, name, str(session_id), visitor_id, source, medium, campaign, code, tenant
            )
            self.leads.append(lead)
            lead_ids.append(lead.id)
            tenant_ids.append(None)
            values.append(None)
            currencies.append(None)
            names.append("lead")
            if link is not None and link >= 0:
                key = self.links[int(link)].code
                self.totals.referral_conversions[key] = (
                    self.totals.referral_conversions.get(key, 0) + 1
                )
                month = self.totals.referral_conversions_by_month.setdefault(
                    at.astimezone(BRT).strftime("%Y-%m"), {}
                )
                month[key] = month.get(key, 0) + 1
        return lead_ids, tenant_ids, values, names, currencies

    def _lead(
        self,
        rng: np.random.Generator,
        at: datetime,
        channel: str,
        session_id: str,
        visitor_id: str | None,
        source: str | None,
        medium: str | None,
        campaign: str | None,
        code: str | None,
        tenant: Tenant | None,
    ) -> Lead:
        if tenant is not None:
            name, email = tenant.owner.name, tenant.owner.email
            company = tenant.name if tenant.type == "empresa" else None
        else:
            first = catalog.FIRST_NAMES[int(rng.integers(len(catalog.FIRST_NAMES)))]
            last = catalog.SURNAMES[int(rng.integers(len(catalog.SURNAMES)))]
            name = f"{first} {last}"
            local = "".join(
                ch for ch in _fold(f"{first}.{last}").lower() if ch.isalnum() or ch == "."
            )
            domain = [d for d, _ in catalog.PERSONAL_DOMAINS][
                int(rng.choice(len(catalog.PERSONAL_DOMAINS), p=_DOMAIN_P))
            ]
            email = f"{local}{int(rng.integers(1, 9999))}@{domain}"
            company = None
            if rng.random() < 0.3:
                word = catalog.COMPANY_WORDS[int(rng.integers(len(catalog.COMPANY_WORDS)))]
                kind = catalog.COMPANY_KINDS[int(rng.integers(len(catalog.COMPANY_KINDS)))][0]
                company = f"{word} {kind}"
        phone = None
        if rng.random() < 0.75:
            area = catalog.BR_AREA_CODES[int(rng.integers(len(catalog.BR_AREA_CODES)))]
            phone = f"+55 {area} 9{int(rng.integers(1000, 9999))}-{int(rng.integers(1000, 9999))}"
        return Lead(
            id=str(entity_id(self.seed, "lead", session_id, at.isoformat())),
            created_at=at,
            name=name,
            email=email,
            phone=phone,
            company=company,
            channel=channel,
            source=catalog.LEAD_SOURCE[channel],
            session_id=session_id,
            visitor_id=visitor_id,
            utm={"utm_source": source, "utm_medium": medium, "utm_campaign": campaign},
            referral_code=code,
            tenant=tenant,
        )

    def _bots(self, rng: np.random.Generator, plan: DayPlan) -> pl.DataFrame:
        n = plan.bots
        if n == 0:
            return pl.DataFrame(schema=EVENT_COLUMNS)
        cat = self.catalogue
        agents, weights = _weights(tuple((i, w) for i, (_, _, w) in enumerate(catalog.BOTS)))
        which = rng.choice(len(agents), size=n, p=weights)
        pages = np.minimum(1 + rng.geometric(0.3, size=n) - 1, 25)
        owner = np.repeat(np.arange(n), pages)
        first = np.concatenate(([0], np.cumsum(pages)[:-1]))
        start = _ts(local_midnight(plan.day)) + rng.uniform(0, 86400, size=n)
        step = rng.uniform(0.5, 4.0, size=owner.size)
        at = start[owner] + np.cumsum(step) - np.cumsum(step)[first][owner]
        prefixes = [catalog.BOTS[i][1] for i in range(len(catalog.BOTS))]
        ips = []
        for bot in which:
            options = prefixes[int(bot)]
            ips.append(f"{options[int(rng.integers(len(options)))]}.{int(rng.integers(1, 255))}")
        page = rng.choice(len(catalog.PAGES) - 1, size=owner.size)
        sessions = hex_strings(mix64(np.arange(n), stable_hash(self.seed, plan.day, "bot")), "s_")
        human_agents = len(catalog.USER_AGENTS)
        occurred = (np.round(at * 1000).astype(np.int64) * 1000).astype("datetime64[us]")
        frame = pl.DataFrame(
            {
                "event_id": uuid_strings(rng, owner.size),
                "occurred_at": pl.Series(occurred).dt.replace_time_zone("UTC"),
                "session_id": sessions.gather(owner),
                "visitor_id": pl.Series([None] * owner.size, dtype=pl.String),
                "ip": pl.Series(ips, dtype=pl.String).gather(owner),
                "user_agent": pl.Series(cat.agents, dtype=pl.String).gather(
                    human_agents + which[owner]
                ),
                "page_url": catalog.SITE + pl.Series(cat.pages, dtype=pl.String).gather(page),
                "page_title": pl.Series(cat.titles, dtype=pl.String).gather(page),
                "visit_duration": pl.Series(np.zeros(owner.size, dtype=np.int32)),
                "event_type": pl.Series(["pageview"] * owner.size, dtype=pl.String),
            }
        )
        return (
            frame.with_columns(
                pl.lit(None, dtype=pl.String).alias(name)
                for name in EVENT_COLUMNS
                if name not in frame.columns
            )
            .select(list(EVENT_COLUMNS))
            .cast(EVENT_COLUMNS)  # type: ignore[arg-type]
        )

    def _count(
        self,
        plan: DayPlan,
        channel: np.ndarray,
        conversion: np.ndarray,
        sessions: pl.DataFrame,
        bots: int,
    ) -> None:
        totals = self.totals
        totals.sessions += channel.size + bots
        totals.bot_sessions += bots
        counts = np.bincount(channel, minlength=len(CHANNELS))
        for number, name in enumerate(CHANNELS):
            totals.by_channel[name] = totals.by_channel.get(name, 0) + int(counts[number])
        links = sessions.get_column("_link").to_numpy()
        for link in links[links >= 0]:
            code = self.links[int(link)].code
            totals.referral_clicks[code] = totals.referral_clicks.get(code, 0) + 1
        month = plan.day.strftime("%Y-%m")
        paid = sessions.filter(
            pl.col("utm_medium").is_in(["cpc", "ppc", "paid", "paidsocial"])
            | pl.col("gclid").is_not_null()
            | pl.col("fbclid").is_not_null()
        ).with_columns(
            pl.coalesce(
                pl.col("utm_source"),
                pl.when(pl.col("gclid").is_not_null())
                .then(pl.lit("google"))
                .otherwise(pl.lit("facebook")),
            ).alias("network")
        )
        for network, count in paid.group_by("network").len().sort("network").rows():
            key = (month, str(network))
            totals.paid_clicks[key] = totals.paid_clicks.get(key, 0) + int(count)

    # -- the whole window ------------------------------------------------------------------------
    def weeks(self, progress: Callable[[int, int], None] | None = None) -> Any:
        """Yield (file name, frame) per local week, at most MAX_FILE_ROWS rows per file."""
        buffer: list[pl.DataFrame] = []
        rows = 0
        first_day: date | None = None
        total_days = len(self.plans)
        for number, plan in enumerate(self.plans):
            frame = self.day_frame(plan)
            if first_day is None:
                first_day = plan.day
            buffer.append(frame)
            rows += frame.height
            self.totals.events += frame.height
            last_of_week = plan.day.weekday() == 6 or number == total_days - 1
            if last_of_week or rows >= MAX_FILE_ROWS:
                name = f"events_{first_day.isoformat()}.parquet"
                combined = pl.concat(buffer, how="vertical")
                buffer, rows, first_day = [], 0, None
                self.totals.files += 1
                yield name, combined
            if progress is not None:
                progress(number + 1, total_days)


_DOMAIN_P = np.array([w for _, w in catalog.PERSONAL_DOMAINS]) / sum(
    w for _, w in catalog.PERSONAL_DOMAINS
)


def _fold(text: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _click_ids(rng: np.random.Generator, mask: np.ndarray, prefix: str, length: int) -> pl.Series:
    tokens = token_strings(rng, int(mask.sum()), length - len(prefix), prefix)
    out = pl.Series([None] * mask.size, dtype=pl.String)
    if mask.any():
        out = out.scatter(np.flatnonzero(mask), tokens)
    return out


def _ts(at: datetime) -> float:
    return at.timestamp()


def _black_friday(year: int) -> date:
    last = date(year, 11, 30)
    return last - timedelta(days=(last.weekday() - 4) % 7)


def lead_value(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"
