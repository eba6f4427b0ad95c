"""The operational rows other sources reference, and their idempotent write.

Rows are plain dicts keyed by column name, in foreign-key order (`TABLE_ORDER`). Ids are
uuid5s: of the seed for generated rows (`seeding.entity_id`), seed-independent for the
platform's constants (plans, departments and their agents, staff, the platform's own
workspace tenant, its documents). `write` loads them in one transaction: per table, COPY
into a temporary table, then `INSERT ... SELECT ... ON CONFLICT DO NOTHING`; re-running with
the same arguments inserts nothing. A row skipped because *another* row holds one of its
unique values (an email, a slug, a ticket number: data of another seed in the same
database) would leave dangling references, so `write` checks every skipped id is present
and otherwise rolls back with `GenerationConflictError`.

The platform's own workspace (`catalog.HOUSE_TENANT`, metadata `{"internal": true}`) holds
the staff and the sales leads from the website; it never subscribes, so it has no MRR and is
never a customer, but it is a row of `tenants`: exclude it from tenant counts by
`metadata->>'internal'`.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from core.db.engine import libpq_url
from demo_data import catalog
from demo_data.billing import BillingResult
from demo_data.seeding import entity_id, platform_id, stable_hash, stream
from demo_data.traffic import Lead, ReferralLink
from demo_data.world import (
    BRT,
    NONE,
    Person,
    Tenant,
    World,
    add_months,
    local_midnight,
    pick,
    slugify,
)

TABLE_ORDER = (
    "subscription_plans",
    "users",
    "tenants",
    "tenant_members",
    "departments",
    "department_agents",
    "referral_campaigns",
    "referral_links",
    "gamification_achievements",
    "user_achievements",
    "leads",
    "support_tickets",
    "support_messages",
    "irregularity_detection",
    "documents",
    "document_versions",
)


class GenerationConflictError(RuntimeError):
    """Rows of another generated data set hold unique values this one needs."""


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds")


@dataclass
class Campaign:
    id: str
    tenant: Tenant
    name: str
    slug: str
    start: datetime
    end: datetime | None
    reward_type: str
    reward_value: Decimal
    links: list[ReferralLink] = field(default_factory=list)


# --- Referral campaigns (needed before the traffic, which clicks their links) -------------------
def referral_campaigns(world: World) -> list[Campaign]:
    seed = world.seed
    campaigns: list[Campaign] = []
    used_codes: set[str] = set()
    for tenant in world.tenants:
        rng = stream(seed, "referrals", tenant.index)
        chance = {"influencer": 1.0, "empresa": 0.3, "trader": 0.12}[tenant.type]
        if rng.random() >= chance:
            continue
        count = int(rng.integers(1, 4)) if tenant.type == "influencer" else 1
        for number in range(count):
            start = tenant.created_at + timedelta(days=float(rng.uniform(3, 45)) + 60 * number)
            if start >= world.window.end - timedelta(days=3):
                continue
            end = (
                None if rng.random() < 0.45 else start + timedelta(days=float(rng.uniform(30, 150)))
            )
            if tenant.type == "influencer":
                reward_type, value = (
                    ("cash", Decimal(int(rng.choice([40, 50, 60, 80]))))
                    if rng.random() < 0.7
                    else ("credit", Decimal(30))
                )
                name = ["Indique e ganhe", "Cupom da comunidade", "Desafio 30 dias"][
                    number % 3
                ] + f" — {tenant.name}"
            elif tenant.type == "empresa":
                reward_type, value = (
                    ("discount", Decimal(10)) if rng.random() < 0.6 else ("access", Decimal(30))
                )
                name = f"Programa de parceiros {tenant.name.split(' ')[0]}"
            else:
                reward_type, value = "credit", Decimal(20)
                name = f"Convite de {tenant.owner.name.split(' ')[0]}"
            campaign = Campaign(
                id=str(entity_id(seed, "campaign", tenant.index, number)),
                tenant=tenant,
                name=name[:255],
                slug=slugify(name).replace("-", "_")[:60],
                start=start,
                end=end,
                reward_type=reward_type,
                reward_value=value,
            )
            stem = slugify(tenant.name).replace("-", "").upper()[:10] or "BCF"
            links = min(len(tenant.users), int(rng.integers(1, 4)))
            for member in tenant.users[:links]:
                code = f"{stem}{int(rng.integers(10, 99))}"
                while code in used_codes:
                    code = f"{stem}{int(rng.integers(100, 9999))}"
                used_codes.add(code)
                campaign.links.append(
                    ReferralLink(
                        code=code,
                        campaign_id=campaign.id,
                        campaign_slug=campaign.slug,
                        tenant=tenant,
                        user_id=member.id,
                        start=start,
                        end=end,
                        weight=(5.0 if tenant.type == "influencer" else 1.0)
                        * (2.0 if member is tenant.owner else 1.0),
                    )
                )
            campaigns.append(campaign)
    return campaigns


# --- Rows -------------------------------------------------------------------------------------
@dataclass
class Rows:
    tables: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {t: [] for t in TABLE_ORDER}
    )
    tickets: list[dict[str, Any]] = field(default_factory=list)
    # Funnel moves of the leads, for the audit trail: (at, lead id, from, to, sales rep).
    lead_changes: list[tuple[datetime, str, str, str, Person]] = field(default_factory=list)

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.tables[table].append(row)

    def counts(self) -> dict[str, int]:
        return {table: len(rows) for table, rows in self.tables.items()}


def build_rows(
    world: World,
    billing: BillingResult,
    campaigns: Sequence[Campaign],
    leads: Sequence[Lead],
    clicks: Mapping[str, int],
    conversions: Mapping[str, int],
) -> Rows:
    """Every table but irregularity_detection (from the audit trail: `add_irregularities`)."""
    rows = Rows()
    _plans(rows, world)
    _people(rows, world)
    _departments(rows, world)
    _referrals(rows, world, campaigns, clicks, conversions)
    _achievements(rows, world)
    _leads(rows, world, leads)
    _tickets(rows, world, billing)
    _documents(rows, world)
    _clip(rows, world)
    return rows


def add_irregularities(rows: Rows, world: World, incidents: Sequence[Mapping[str, Any]]) -> None:
    _irregularities(rows, world, incidents)
    _clip(rows, world)


def _clip(rows: Rows, world: World) -> None:
    """No row is stamped after the window's end."""
    end = world.window.end
    for table in rows.tables.values():
        for row in table:
            for key in ("created_at", "updated_at"):
                if isinstance(row.get(key), datetime) and row[key] > end:
                    row[key] = end - timedelta(seconds=1)


def _plans(rows: Rows, world: World) -> None:
    launch = world.window.start  # the platform's own rows date from its first day
    for order, plan in enumerate(
        sorted(world.plans.values(), key=lambda p: (p.currency, p.tier_rank, p.months))
    ):
        rows.add(
            "subscription_plans",
            {
                "id": plan.id,
                "name": plan.name,
                "slug": plan.slug,
                "description": f"Plano {catalog.TIER_NAMES[plan.tier]} com cobrança "
                f"{catalog.CYCLE_NAMES[plan.cycle].lower()} em {plan.currency}",
                "price": plan.price,
                "currency": plan.currency,
                "billing_cycle": plan.cycle,
                "stripe_price_id": plan.stripe_price_id,
                "features": _json(plan.features()),
                "limits": _json(plan.limits()),
                "is_active": True,
                "sort_order": order * 10,
                "created_at": launch,
                "updated_at": launch,
            },
        )


def _people(rows: Rows, world: World) -> None:
    end = world.window.end
    house = world.house
    tenants = [house, *world.tenants]
    for person in world.people():
        rows.add(
            "users",
            {
                "id": person.id,
                "email": person.email,
                "email_verified": True,
                "name": person.name,
                "image": person.image,
                "created_at": person.created_at,
                "updated_at": person.created_at,
            },
        )
    for tenant in tenants:
        internal = tenant is house
        last = tenant.timeline[-1] if tenant.timeline else None
        rows.add(
            "tenants",
            {
                "id": tenant.id,
                "name": tenant.name,
                "slug": tenant.slug,
                "type": tenant.type,
                "status": tenant.status,
                "settings": _json(
                    {
                        "timezone": "America/Sao_Paulo"
                        if tenant.country == "BR"
                        else {"US": "America/New_York", "PT": "Europe/Lisbon"}[tenant.country],
                        "locale": {"BR": "pt-BR", "US": "en-US", "PT": "pt-PT"}[tenant.country],
                        "currency": tenant.currency,
                        "two_factor_required": tenant.type == "empresa",
                    }
                ),
                "metadata": _json(
                    {"internal": True, "role": "platform_operator"}
                    if internal
                    else {
                        "internal": False,
                        "country": tenant.country,
                        "acquisition_channel": tenant.channel,
                        "stripe_customer_id": tenant.customer_id,
                        "signup": tenant.signup,
                        "plan": last.plan if last else None,
                    }
                ),
                "created_at": tenant.created_at,
                "updated_at": (last.at if last else tenant.created_at),
            },
        )
        for number, person in enumerate(tenant.users):
            left = tenant.status == "inactive" and number > 0
            rows.add(
                "tenant_members",
                {
                    "id": str(entity_id(world.seed, "member", tenant.id, person.id))
                    if not internal
                    else str(platform_id("member", person.id)),
                    "tenant_id": tenant.id,
                    "user_id": person.id,
                    "role": person.role,
                    "permissions": _json(_permissions(person.role)),
                    "status": "inactive" if left else "active",
                    "joined_at": min(person.created_at, end),
                    "created_at": min(person.created_at, end),
                },
            )


def _permissions(role: str) -> dict[str, Any]:
    full = {"bots": "write", "billing": "write", "members": "write", "reports": "read"}
    return {
        "owner": full,
        "admin": full,
        "trader": {"bots": "write", "reports": "read"},
        "analyst": {"bots": "read", "reports": "read"},
        "viewer": {"bots": "read"},
    }.get(role, {"bots": "read", "reports": "read"})


def _departments(rows: Rows, world: World) -> None:
    launch = world.window.start  # the platform's own rows date from its first day
    for number, (slug, name, description) in enumerate(catalog.DEPARTMENTS):
        department_id = str(platform_id("department", slug))
        rows.add(
            "departments",
            {
                "id": department_id,
                "name": name,
                "slug": slug,
                "description": description,
                "is_active": True,
                "settings": _json(
                    {"business_hours": "08:00-19:00", "timezone": "America/Sao_Paulo"}
                ),
                "created_at": launch + timedelta(minutes=number),
                "updated_at": launch + timedelta(minutes=number),
            },
        )
        for index, (agent, kind, capabilities) in enumerate(catalog.AGENTS.get(slug, ())):
            rows.add(
                "department_agents",
                {
                    "id": str(platform_id("agent", slug, index)),
                    "department_id": department_id,
                    "agent_name": agent,
                    "agent_type": kind,
                    "configuration": _json(
                        {
                            "model": "gpt-4o-mini" if kind == "mastra" else "rules-v2",
                            "temperature": 0.2,
                            "language": "pt-BR",
                        }
                    ),
                    "capabilities": _json(list(capabilities)),
                    "is_active": True,
                    "last_activity": world.window.end - timedelta(hours=3 + 5 * index),
                    "created_at": launch + timedelta(hours=1, minutes=number + index),
                    "updated_at": launch + timedelta(hours=1, minutes=number + index),
                },
            )


def _referrals(
    rows: Rows,
    world: World,
    campaigns: Sequence[Campaign],
    clicks: Mapping[str, int],
    conversions: Mapping[str, int],
) -> None:
    end = world.window.end
    for campaign in campaigns:
        tenant = campaign.tenant
        live = tenant.status != "inactive"
        active = live and (campaign.end is None or campaign.end > end)
        rules = {
            "reward_per": "conversion",
            "cookie_days": 30,
            "min_plan": "starter",
            "new_customers_only": True,
        }
        rows.add(
            "referral_campaigns",
            {
                "id": campaign.id,
                "tenant_id": tenant.id,
                "name": campaign.name,
                "description": f"Campanha de indicação de {tenant.name}",
                "is_active": active,
                "start_date": campaign.start,
                "end_date": campaign.end,
                "reward_type": campaign.reward_type,
                "reward_value": campaign.reward_value,
                "max_rewards": None if campaign.end is None else 200,
                "rules": _json(rules),
                "created_by": tenant.owner.id,
                "created_at": campaign.start - timedelta(hours=2),
                "updated_at": min(campaign.end or end, end) - timedelta(seconds=1),
            },
        )
        for link in campaign.links:
            rows.add(
                "referral_links",
                {
                    "id": str(entity_id(world.seed, "referral_link", link.code)),
                    "campaign_id": campaign.id,
                    "user_id": link.user_id,
                    "referral_code": link.code,
                    "qr_code_url": f"https://cdn.botcriptofy.com.br/qr/{link.code}.png",
                    "click_count": clicks.get(link.code, 0),
                    "conversion_count": conversions.get(link.code, 0),
                    "is_active": active,
                    "created_at": campaign.start,
                    "updated_at": min(campaign.end or end, end) - timedelta(seconds=1),
                },
            )


def _achievements(rows: Rows, world: World) -> None:
    end = world.window.end
    for tenant in world.tenants:
        rng = stream(world.seed, "achievements", tenant.index)
        ended = tenant.timeline and tenant.timeline[-1].state == NONE
        live_until = tenant.timeline[-1].at if ended else end
        for achievement in catalog.ACHIEVEMENTS:
            achievement_id = str(
                entity_id(world.seed, "achievement", tenant.index, achievement.key)
            )
            rows.add(
                "gamification_achievements",
                {
                    "id": achievement_id,
                    "tenant_id": tenant.id,
                    "name": achievement.name,
                    "description": achievement.description,
                    "icon": achievement.icon,
                    "points": achievement.points,
                    "category": achievement.category,
                    "requirements": _json(achievement.requirements),
                    "is_active": True,
                    "created_at": tenant.created_at,
                    "updated_at": tenant.created_at,
                },
            )
            difficulty = achievement.points / 100
            for person in tenant.users:
                chance = min(0.95, 0.75 * person.engagement / difficulty)
                if rng.random() >= chance:
                    continue
                earned = person.created_at + timedelta(
                    days=float(rng.exponential(12 * difficulty)) + 0.1
                )
                if earned >= min(live_until, end):
                    continue
                rows.add(
                    "user_achievements",
                    {
                        "id": str(
                            entity_id(world.seed, "user_achievement", person.id, achievement.key)
                        ),
                        "user_id": person.id,
                        "achievement_id": achievement_id,
                        "tenant_id": tenant.id,
                        "earned_at": earned,
                        "metadata": _json(
                            {"points": achievement.points, "category": achievement.category}
                        ),
                    },
                )


def _leads(rows: Rows, world: World, leads: Sequence[Lead]) -> None:
    end = world.window.end
    sales = world.staff_in("vendas")
    for lead in leads:
        rng = stream(world.seed, "lead-funnel", lead.id)
        stages: list[tuple[str, datetime]] = [("new", lead.created_at)]
        lost_reason = None
        if lead.tenant is not None:
            converted = lead.tenant.created_at
            gap = max(converted - lead.created_at, timedelta(minutes=30))
            stages += [
                ("contacted", lead.created_at + gap * 0.2),
                ("qualified", lead.created_at + gap * 0.6),
                ("converted", converted),
            ]
        else:
            at = lead.created_at
            if rng.random() < 0.86:
                at += timedelta(hours=float(rng.lognormal(2.6, 0.9)))
                stages.append(("contacted", at))
                if rng.random() < 0.42:
                    at += timedelta(days=float(rng.lognormal(1.3, 0.7)))
                    stages.append(("qualified", at))
                    if rng.random() < 0.8:
                        at += timedelta(days=float(rng.lognormal(2.4, 0.6)))
                        stages.append(("lost", at))
                        lost_reason = pick(
                            rng,
                            (
                                ("preço", 0.4),
                                ("escolheu concorrente", 0.25),
                                ("sem orçamento", 0.2),
                                ("timing", 0.15),
                            ),
                        )
                elif rng.random() < 0.9:
                    at += timedelta(days=float(rng.lognormal(2.0, 0.6)))
                    stages.append(("lost", at))
                    lost_reason = pick(
                        rng,
                        (("sem resposta", 0.6), ("sem interesse", 0.3), ("contato inválido", 0.1)),
                    )
            elif rng.random() < 0.5:
                at += timedelta(days=30)
                stages.append(("lost", at))
                lost_reason = "sem resposta"
        stages = [(status, at) for status, at in stages if at < end]
        status, updated = stages[-1]
        score = (
            20 + {"ads": 10, "referral": 25, "organic": 15, "social": 5, "direct": 12}[lead.source]
        )
        score += 15 if lead.company else 0
        score += {"new": 0, "contacted": 10, "qualified": 30, "converted": 40, "lost": -10}[status]
        rep = sales[stable_hash(lead.id) % len(sales)]
        for (before, _), (after, moved) in itertools.pairwise(stages):
            rows.lead_changes.append((moved, lead.id, before, after, rep))
        rows.add(
            "leads",
            {
                "id": lead.id,
                "tenant_id": world.house.id,
                "name": lead.name,
                "email": lead.email,
                "phone": lead.phone,
                "company": lead.company,
                "source": lead.source,
                "status": status,
                "score": max(0, min(100, score + int(rng.integers(-8, 9)))),
                "assigned_to": rep.id if status != "new" else None,
                "metadata": _json(
                    {
                        "channel": lead.channel,
                        **lead.utm,
                        "referral_code": lead.referral_code,
                        "session_id": lead.session_id,
                        "visitor_id": lead.visitor_id,
                        "stage_history": [{"status": s, "at": _iso(at)} for s, at in stages],
                        "lost_reason": lost_reason if status == "lost" else None,
                        "converted_tenant_id": lead.tenant.id
                        if lead.tenant and status == "converted"
                        else None,
                    }
                ),
                "created_at": lead.created_at,
                "updated_at": updated,
            },
        )


TICKET_TEMPLATES: dict[str, tuple[tuple[str, str], ...]] = {
    "technical": (
        (
            "Robô parou de executar ordens",
            "Meu robô de grid está ligado mas não envia ordens desde ontem.",
        ),
        (
            "Erro ao conectar API da corretora",
            "Ao cadastrar a chave da Binance aparece 'invalid signature'.",
        ),
        ("Backtest não termina", "O backtest de 365 dias fica travado em 90%."),
        (
            "Latência alta nas ordens",
            "As ordens estão sendo executadas com atraso de vários segundos.",
        ),
    ),
    "billing": (
        ("Cobrança recusada", "Meu cartão foi recusado na renovação, mas tem limite."),
        ("Nota fiscal do mês", "Preciso da nota fiscal da última cobrança com o CNPJ correto."),
        ("Cobrança em duplicidade", "Fui cobrado duas vezes este mês."),
        ("Cancelamento e reembolso", "Quero cancelar e saber se tenho direito a reembolso."),
    ),
    "account": (
        ("Não consigo entrar", "O código de dois fatores não chega no meu celular."),
        ("Trocar e-mail da conta", "Preciso alterar o e-mail do administrador."),
        ("Adicionar membro da equipe", "Como convido um analista com acesso só de leitura?"),
    ),
    "feature": (
        ("Sugestão: stop móvel", "Seria ótimo ter trailing stop no robô DCA."),
        ("Integração com Telegram", "Gostaria de receber alertas dos robôs no Telegram."),
        ("Exportar relatório para o IR", "Vocês têm relatório pronto para a declaração de IR?"),
    ),
    "bug": (
        ("Gráfico de lucro zerado", "O gráfico de lucro mostra zero mesmo com operações fechadas."),
        ("Horário errado nas operações", "As operações aparecem com 3 horas de diferença."),
        ("Relatório PDF em branco", "O PDF exportado sai com as páginas em branco."),
    ),
}
FIRST_RESPONSE_TARGET = {"urgent": 60, "high": 240, "medium": 480, "low": 1440}  # minutes
RESOLUTION_HOURS = {"urgent": 5, "high": 20, "medium": 46, "low": 90}


def _business_start(at: datetime) -> datetime:
    """The next moment support works: weekdays 08:00-19:00 in São Paulo."""
    local = at.astimezone(BRT)
    while local.weekday() >= 5 or local.hour >= 19 or local.hour < 8:
        if local.hour >= 19 or local.weekday() >= 5:
            local = (local + timedelta(days=1)).replace(hour=8, minute=0, second=0)
        else:
            local = local.replace(hour=8, minute=0, second=0)
    return local.astimezone(UTC)


def _tickets(rows: Rows, world: World, billing: BillingResult) -> None:
    end = world.window.end
    agents = world.staff_in("suporte")
    failures: dict[int, list[int]] = {}
    for at, tenant in billing.failed_payments:
        failures.setdefault(tenant.index, []).append(at)
    raw: list[dict[str, Any]] = []
    for tenant in world.tenants:
        rng = stream(world.seed, "tickets", tenant.index)
        states = tenant.daily_changes(world.window)
        for month in world.window.months():
            first = max(month, world.window.first)
            last = min(add_months(month, 1) - timedelta(days=1), world.window.last)
            days = [
                first + timedelta(days=n)
                for n in range((last - first).days + 1)
                if (change := states[(first - world.window.first).days + n]) is not None
                and change.state != NONE
            ]
            if not days:
                continue
            onboarding = (
                1.8 if (days[0] - tenant.created_at.astimezone(BRT).date()).days < 31 else 1.0
            )
            lam = (0.35 + 0.18 * len(tenant.users)) * onboarding * len(days) / 30
            for _ in range(int(rng.poisson(lam))):
                day = days[int(rng.integers(len(days)))]
                raw.append(_ticket(rng, world, tenant, day, None, None, from_failure=False))
        for at in failures.get(tenant.index, []):
            if rng.random() < 0.5:
                created = datetime.fromtimestamp(at, UTC) + timedelta(
                    hours=float(rng.uniform(1, 30))
                )
                if created < end:
                    raw.append(
                        _ticket(
                            rng,
                            world,
                            tenant,
                            created.date(),
                            "billing",
                            created,
                            from_failure=True,
                        )
                    )
    raw.sort(key=lambda t: (t["created_at"], t["subject"]))
    for number, ticket in enumerate(raw, start=1):
        rng = stream(world.seed, "ticket-flow", ticket["tenant"].index, number)
        tenant, user = ticket["tenant"], ticket["user"]
        priority, created = ticket["priority"], ticket["created_at"]
        agent = agents[number % len(agents)]
        ticket_id = str(entity_id(world.seed, "ticket", number))
        target = FIRST_RESPONSE_TARGET[priority]
        start = created if priority == "urgent" else _business_start(created)
        first_response = start + timedelta(minutes=float(rng.lognormal(np.log(target * 0.45), 0.8)))
        resolved = first_response + timedelta(
            hours=float(rng.lognormal(np.log(RESOLUTION_HOURS[priority]), 0.7))
        )
        messages: list[tuple[datetime, Person, str, str, bool]] = [
            (created, user, "user", ticket["description"], False),
            (
                created + timedelta(seconds=30),
                agent,
                "automated",
                "Recebemos sua solicitação {number}. Prazo de primeira resposta: "
                f"{target // 60 if target >= 60 else target} {'h' if target >= 60 else 'min'}.",
                False,
            ),
        ]
        status = "open"
        if first_response < end:
            messages.append(
                (
                    first_response,
                    agent,
                    "agent",
                    "Olá! Já estamos analisando o seu caso e retornamos em breve.",
                    False,
                )
            )
            status = "in_progress"
            if rng.random() < 0.35:
                note_at = first_response + (resolved - first_response) * 0.3
                messages.append(
                    (
                        note_at,
                        agent,
                        "agent",
                        "Nota interna: encaminhado para o time de produto.",
                        True,
                    )
                )
            if rng.random() < 0.55:
                reply_at = first_response + (resolved - first_response) * 0.5
                if reply_at < end:
                    messages.append((reply_at, user, "user", "Obrigado, fico no aguardo.", False))
                    status = "pending" if rng.random() < 0.4 else "in_progress"
        resolved_at = None
        if resolved < end:
            messages.append(
                (
                    resolved - timedelta(minutes=2),
                    agent,
                    "agent",
                    "Resolvido! Qualquer dúvida é só responder.",
                    False,
                )
            )
            messages.append((resolved, agent, "system", "Ticket marcado como resolvido.", False))
            resolved_at = resolved
            status = "closed" if resolved < end - timedelta(days=7) else "resolved"
        messages = [m for m in messages if m[0] < end]
        ticket_number = f"BCF-{number:06d}"
        rows.add(
            "support_tickets",
            {
                "id": ticket_id,
                "ticket_number": ticket_number,
                "user_id": user.id,
                "tenant_id": tenant.id,
                "subject": ticket["subject"],
                "description": ticket["description"],
                "category": ticket["category"],
                "priority": priority,
                "status": status,
                "assigned_to": agent.id,
                "tags": [ticket["category"], ticket["plan_tier"]]
                + (["renovacao"] if ticket.get("from_failure") else []),
                "metadata": _json(
                    {
                        "channel": ticket["channel"],
                        "plan": ticket["plan"],
                        "sla_first_response_minutes": target,
                        "first_response_at": _iso(first_response) if first_response < end else None,
                        "first_response_breached": (first_response - created)
                        > timedelta(minutes=target),
                        "satisfaction": int(rng.integers(3, 6)) if resolved_at else None,
                    }
                ),
                "created_at": created,
                "updated_at": max(m[0] for m in messages),
                "resolved_at": resolved_at,
            },
        )
        rows.tickets.append(
            {"id": ticket_id, "tenant": tenant, "created_at": created, "resolved_at": resolved_at}
        )
        for position, (sent, author, kind, content, internal) in enumerate(messages):
            rows.add(
                "support_messages",
                {
                    "id": str(entity_id(world.seed, "message", ticket_id, position)),
                    "ticket_id": ticket_id,
                    "user_id": author.id,
                    "message_type": kind,
                    "content": content.replace("{number}", ticket_number),
                    "is_internal": internal,
                    "attachments": _json({}),
                    "metadata": _json({"ticket_number": ticket_number}),
                    "created_at": sent,
                },
            )


def _ticket(
    rng: np.random.Generator,
    world: World,
    tenant: Tenant,
    day: date,
    category: str | None,
    created: datetime | None,
    *,
    from_failure: bool,
) -> dict[str, Any]:
    if category is None:
        category = pick(
            rng,
            (
                ("technical", 0.35),
                ("billing", 0.18),
                ("account", 0.15),
                ("feature", 0.14),
                ("bug", 0.18),
            ),
        )
    subject, description = TICKET_TEMPLATES[category][
        int(rng.integers(len(TICKET_TEMPLATES[category])))
    ]
    if created is None:
        hour = float(rng.choice(24, p=_TICKET_HOURS)) + float(rng.random())
        created = local_midnight(day) + timedelta(hours=hour)
    change = tenant.change_at(created)
    plan = change.plan if change and change.plan else "free"
    tier = world.plans[plan].tier
    weights = {
        "free": (0.5, 0.35, 0.13, 0.02),
        "starter": (0.35, 0.4, 0.2, 0.05),
        "pro": (0.3, 0.4, 0.22, 0.08),
        "business": (0.2, 0.4, 0.28, 0.12),
        "enterprise": (0.15, 0.35, 0.32, 0.18),
    }[tier]
    priority = ("low", "medium", "high", "urgent")[int(rng.choice(4, p=weights))]
    members = tenant.members_at(created) or tenant.users[:1]
    return {
        "tenant": tenant,
        "user": members[int(rng.integers(len(members)))],
        "category": category,
        "subject": subject,
        "description": description,
        "priority": "high" if category == "billing" and priority == "low" else priority,
        "created_at": created,
        "plan": plan,
        "plan_tier": tier,
        "channel": pick(rng, (("chat", 0.45), ("email", 0.35), ("whatsapp", 0.2))),
        "from_failure": from_failure,
    }


_TICKET_HOURS = np.array(
    [
        0.2,
        0.1,
        0.1,
        0.1,
        0.1,
        0.2,
        0.5,
        1.5,
        3,
        4,
        4.5,
        4.2,
        3,
        3.6,
        4,
        4,
        3.6,
        3,
        2,
        1.6,
        1.4,
        1.2,
        0.8,
        0.4,
    ]
)
_TICKET_HOURS = _TICKET_HOURS / _TICKET_HOURS.sum()


def _irregularities(rows: Rows, world: World, incidents: Sequence[Mapping[str, Any]]) -> None:
    end = world.window.end
    officer = world.staff_in("compliance")[0]
    security = world.staff_in("cto")[0] if world.staff_in("cto") else officer
    rng = stream(world.seed, "irregularities")
    found: list[dict[str, Any]] = []
    for incident in incidents:
        found.append(
            {
                "type": "unauthorized_access",
                "tenant": incident["tenant"],
                "user": incident["user"],
                "at": incident["at"] + timedelta(minutes=float(rng.uniform(5, 90))),
                "severity": "high" if incident["attempts"] > 25 else "medium",
                "description": (
                    f"{incident['attempts']} tentativas de login malsucedidas a partir de "
                    f"{incident['ip']}"
                ),
                "evidence": {
                    "ip": incident["ip"],
                    "attempts": incident["attempts"],
                    "window_minutes": round(incident["attempts"] * 7 / 60, 1),
                    "source": "audit_logs",
                },
            }
        )
    customers = world.tenants
    for month in world.window.months():
        for _ in range(int(rng.poisson(0.6))):
            tenant = customers[int(rng.integers(len(customers)))]
            day = max(month, world.window.first) + timedelta(days=int(rng.integers(0, 27)))
            at = local_midnight(day) + timedelta(hours=float(rng.uniform(0, 24)))
            if at < tenant.created_at or at >= end:
                continue
            kind = pick(
                rng,
                (
                    ("uso de API acima do contrato (scraping)", 0.4),
                    ("compartilhamento de conta entre pessoas", 0.35),
                    ("exportação em massa de dados pessoais", 0.25),
                ),
            )
            found.append(
                {
                    "type": "policy_violation",
                    "tenant": tenant,
                    "user": tenant.users[int(rng.integers(len(tenant.users)))],
                    "at": at,
                    "severity": pick(rng, (("low", 0.45), ("medium", 0.4), ("high", 0.15))),
                    "description": f"Possível violação de política: {kind}",
                    "evidence": {"rule": slugify(kind), "detector": "Sentinela de Acessos"},
                }
            )
    if world.window.days >= 300 and customers:
        tenant = customers[len(customers) // 2]
        at = world.window.start + (world.window.end - world.window.start) * 0.62
        if at > tenant.created_at:
            found.append(
                {
                    "type": "data_breach",
                    "tenant": tenant,
                    "user": tenant.owner,
                    "at": at,
                    "severity": "critical",
                    "description": (
                        "Chave de API com permissão de leitura exposta em repositório público"
                    ),
                    "evidence": {
                        "leaked_in": "github.com",
                        "records_exposed": int(rng.integers(50, 400)),
                        "anpd_notified": True,
                    },
                }
            )
    found.sort(key=lambda f: f["at"])
    for number, item in enumerate(found):
        at = item["at"]
        age = end - at
        resolved_at = None
        if age > timedelta(days=20) or rng.random() < 0.5:
            resolved_at = at + timedelta(days=float(rng.lognormal(1.2, 0.8)))
            if resolved_at >= end:
                resolved_at = None
        if resolved_at is not None:
            status = (
                "false_positive"
                if item["type"] != "data_breach" and rng.random() < 0.25
                else "resolved"
            )
        else:
            status = "investigating" if age > timedelta(days=2) else "detected"
        rows.add(
            "irregularity_detection",
            {
                "id": str(entity_id(world.seed, "irregularity", number)),
                "user_id": item["user"].id,
                "tenant_id": item["tenant"].id,
                "irregularity_type": item["type"],
                "severity": item["severity"],
                "description": item["description"],
                "evidence": _json(item["evidence"]),
                "status": status,
                "assigned_to": (security if item["type"] == "unauthorized_access" else officer).id,
                "resolution_notes": (
                    None
                    if resolved_at is None
                    else "Falso positivo: acesso legítimo confirmado com o cliente."
                    if status == "false_positive"
                    else "Senha redefinida, sessões revogadas e cliente notificado."
                ),
                "created_at": at,
                "resolved_at": resolved_at,
            },
        )


DOCUMENTS = (
    ("Termos de Uso", "terms", "html", "text/html", 3),
    ("Política de Privacidade (LGPD)", "privacy", "html", "text/html", 2),
    ("Acordo de Tratamento de Dados (DPA)", "dpa", "pdf", "application/pdf", 1),
    ("Política de Retenção de Dados", "retention", "markdown", "text/markdown", 1),
    ("Manual do Usuário", "manual", "pdf", "application/pdf", 1),
)


def _documents(rows: Rows, world: World) -> None:
    launch = world.window.start  # the platform's own rows date from its first day
    officer = world.staff_in("compliance")[0]
    for number, (title, key, file_type, mime, versions) in enumerate(DOCUMENTS):
        document_id = str(platform_id("document", key))
        created = launch + timedelta(hours=2, minutes=number)
        step = (world.window.end - created) / (versions + 1)  # policy revisions over time
        updated = created + step * (versions - 1)
        content = (
            f"{title}\n\nVersão {versions}. Este documento descreve as regras da plataforma "
            "BotCriptoFy2."
        )
        extension = "md" if file_type == "markdown" else file_type
        path = f"/documents/platform/{key}-v{versions}.{extension}"
        rows.add(
            "documents",
            {
                "id": document_id,
                "title": title,
                "description": f"{title} da plataforma",
                "content": content,
                "file_type": file_type,
                "file_size": 20_000 + 7_000 * number,
                "file_path": path,
                "mime_type": mime,
                "category": "legal" if key != "manual" else "manual",
                "tags": ["lgpd", "compliance"]
                if key in ("privacy", "dpa", "retention")
                else ["plataforma"],
                "is_public": key in ("terms", "privacy", "manual"),
                "is_archived": False,
                "version": versions,
                "parent_id": None,
                "created_by": officer.id,
                "updated_by": officer.id,
                "tenant_id": world.house.id,
                "metadata": _json({"language": "pt-BR"}),
                "created_at": created,
                "updated_at": updated,
            },
        )
        for version in range(1, versions + 1):
            rows.add(
                "document_versions",
                {
                    "id": str(platform_id("document_version", key, version)),
                    "document_id": document_id,
                    "version_number": version,
                    "title": title,
                    "content": content.replace(f"Versão {versions}", f"Versão {version}"),
                    "file_path": path.replace(f"-v{versions}", f"-v{version}"),
                    "file_size": 20_000 + 7_000 * number - 500 * (versions - version),
                    "change_summary": "Versão inicial"
                    if version == 1
                    else "Atualização de cláusulas de dados pessoais",
                    "created_by": officer.id,
                    "created_at": created + step * (version - 1),
                },
            )
    for tenant in world.tenants:
        if tenant.type != "empresa":
            continue
        created = tenant.created_at + timedelta(days=2)
        if created >= world.window.end:
            continue
        rows.add(
            "documents",
            {
                "id": str(entity_id(world.seed, "document", tenant.index)),
                "title": f"Contrato de prestação de serviços — {tenant.name}"[:255],
                "description": "Contrato assinado eletronicamente",
                "content": f"Contrato entre BotCriptoFy2 e {tenant.name}.",
                "file_type": "pdf",
                "file_size": 180_000 + tenant.index * 1_000,
                "file_path": f"/documents/tenants/{tenant.slug}/contrato.pdf",
                "mime_type": "application/pdf",
                "category": "contract",
                "tags": ["contrato"],
                "is_public": False,
                "is_archived": tenant.status == "inactive",
                "version": 1,
                "parent_id": None,
                "created_by": tenant.owner.id,
                "updated_by": None,
                "tenant_id": tenant.id,
                "metadata": _json({"signed_via": "DocuSign"}),
                "created_at": created,
                "updated_at": created,
            },
        )


# --- Writing --------------------------------------------------------------------------------
def write(database_url: str, rows: Rows) -> dict[str, int]:
    """Insert what is missing, in one transaction; rows already there are left alone."""
    inserted: dict[str, int] = {}
    with psycopg.connect(libpq_url(database_url)) as conn:
        conn.execute("SET client_encoding TO 'UTF8'")
        with conn.transaction():
            for table in TABLE_ORDER:
                inserted[table] = _insert(conn, table, rows.tables[table])
    return inserted


def all_present(database_url: str, ids: Mapping[str, Sequence[str]]) -> bool:
    """Whether the database holds a row of every id (`ids` by table), so that `write` would
    insert nothing and refuse nothing."""
    with psycopg.connect(libpq_url(database_url)) as conn:
        for table, table_ids in ids.items():
            found = conn.execute(
                sql.SQL("SELECT count(*) FROM {} WHERE id = ANY(%s::uuid[])").format(
                    sql.Identifier("public", table)
                ),
                (list(table_ids),),
            ).fetchone()
            if found is None or found[0] != len(table_ids):
                return False
    return True


def _insert(conn: psycopg.Connection, table: str, rows: Sequence[Mapping[str, Any]]) -> int:
    if not rows:
        return 0
    columns = list(rows[0])
    stage = sql.Identifier(f"generate_{table}")
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    conn.execute(
        sql.SQL("CREATE TEMP TABLE {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP").format(
            stage, sql.Identifier("public", table)
        )
    )
    with (
        conn.cursor() as cursor,
        cursor.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(stage, names)) as copy,
    ):
        for row in rows:
            copy.write_row([row[c] for c in columns])
    with conn.cursor() as cursor:
        cursor.execute(
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT DO NOTHING").format(
                sql.Identifier("public", table), names, names, stage
            )
        )
        inserted = cursor.rowcount
    if inserted < len(rows):
        missing = conn.execute(
            sql.SQL(
                "SELECT s.id FROM {} AS s WHERE NOT EXISTS "
                "(SELECT 1 FROM {} AS t WHERE t.id = s.id) LIMIT 3"
            ).format(stage, sql.Identifier("public", table))
        ).fetchall()
        if missing:
            raise GenerationConflictError(
                f"public.{table}: {len(rows) - inserted} generated rows were skipped and "
                f"e.g. id {missing[0][0]} is not there: another row holds one of their unique "
                "values (data generated with another seed or by hand). Generate into a fresh "
                "database, or with the seed used before."
            )
    conn.execute(sql.SQL("DROP TABLE {}").format(stage))
    return inserted


def iter_ids(rows: Rows, table: str) -> Iterable[str]:
    return (str(row["id"]) for row in rows.tables[table])
