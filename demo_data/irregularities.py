"""Irregularities (`irregularity_detection`): what compliance and security flagged in the
audit trail (the incidents the activity step recorded), and how each case was handled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from demo_data.seeding import entity_id, stream
from demo_data.tables import Rows, jsonb
from demo_data.world import (
    World,
    local_midnight,
    pick,
    slugify,
)


def irregularities(rows: Rows, world: World, incidents: Sequence[Mapping[str, Any]]) -> None:
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
                "evidence": jsonb(item["evidence"]),
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
