"""The operational rows other sources reference (their tables and write: `tables`).

`build_rows` makes every table but irregularity_detection, which `add_irregularities` adds
from the audit trail; support tickets come from `support`, irregularities from
`irregularities`. Ids are uuid5s: of the seed for generated rows (`seeding.entity_id`),
seed-independent for the platform's constants (plans, departments and their agents, staff,
the platform's own workspace tenant, its documents).

The platform's own workspace (`catalog.HOUSE_TENANT`, metadata `{"internal": true}`) holds
the staff and the sales leads from the website; it never subscribes, so it has no MRR and is
never a customer, but it is a row of `tenants`: exclude it from tenant counts by
`metadata->>'internal'`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from demo_data import catalog
from demo_data.billing import BillingResult
from demo_data.irregularities import irregularities
from demo_data.seeding import entity_id, platform_id, stable_hash, stream
from demo_data.support import tickets
from demo_data.tables import Rows, iso_utc, jsonb
from demo_data.traffic import Lead, ReferralLink
from demo_data.world import (
    NONE,
    Tenant,
    World,
    pick,
    slugify,
)


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
    tickets(rows, world, billing)
    _documents(rows, world)
    _clip(rows, world)
    return rows


def add_irregularities(rows: Rows, world: World, incidents: Sequence[Mapping[str, Any]]) -> None:
    irregularities(rows, world, incidents)
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
                "features": jsonb(plan.features()),
                "limits": jsonb(plan.limits()),
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
                "settings": jsonb(
                    {
                        "timezone": "America/Sao_Paulo"
                        if tenant.country == "BR"
                        else {"US": "America/New_York", "PT": "Europe/Lisbon"}[tenant.country],
                        "locale": {"BR": "pt-BR", "US": "en-US", "PT": "pt-PT"}[tenant.country],
                        "currency": tenant.currency,
                        "two_factor_required": tenant.type == "empresa",
                    }
                ),
                "metadata": jsonb(
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
                    "permissions": jsonb(_permissions(person.role)),
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
                "settings": jsonb(
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
                    "configuration": jsonb(
                        {
                            "model": "gpt-4o-mini" if kind == "mastra" else "rules-v2",
                            "temperature": 0.2,
                            "language": "pt-BR",
                        }
                    ),
                    "capabilities": jsonb(list(capabilities)),
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
                "rules": jsonb(rules),
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
                    "requirements": jsonb(achievement.requirements),
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
                        "metadata": jsonb(
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
                "metadata": jsonb(
                    {
                        "channel": lead.channel,
                        **lead.utm,
                        "referral_code": lead.referral_code,
                        "session_id": lead.session_id,
                        "visitor_id": lead.visitor_id,
                        "stage_history": [{"status": s, "at": iso_utc(at)} for s, at in stages],
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
                "metadata": jsonb({"language": "pt-BR"}),
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
                "metadata": jsonb({"signed_via": "DocuSign"}),
                "created_at": created,
                "updated_at": created,
            },
        )
