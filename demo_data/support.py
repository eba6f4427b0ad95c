"""Support tickets and their messages: customers write about failed payments, their robots,
their account; tickets get a priority, an agent of the support department, a first answer
within the business hours' target of their priority, and most are resolved.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from demo_data.billing import BillingResult
from demo_data.seeding import entity_id, stream
from demo_data.tables import Rows, iso_utc, jsonb
from demo_data.world import (
    BRT,
    NONE,
    Person,
    Tenant,
    World,
    add_months,
    local_midnight,
    pick,
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


def tickets(rows: Rows, world: World, billing: BillingResult) -> None:
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
                "metadata": jsonb(
                    {
                        "channel": ticket["channel"],
                        "plan": ticket["plan"],
                        "sla_first_response_minutes": target,
                        "first_response_at": iso_utc(first_response)
                        if first_response < end
                        else None,
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
                    "attachments": jsonb({}),
                    "metadata": jsonb({"ticket_number": ticket_number}),
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
