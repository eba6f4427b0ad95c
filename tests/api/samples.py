"""A valid create body for every resource, making what it refers to first (through the API)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.api.conftest import World


def _unique() -> str:
    return uuid.uuid4().hex[:10]


def created(http: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = http.post(f"/v1/{path}", json=body)
    assert response.status_code == 201, (path, response.text)
    return response.json()


def body_for(path: str, world: World, http: httpx.Client) -> dict[str, Any]:
    """A create body for `path`, with `http` (a tenant's or the platform's client)."""
    user = str(world.user_id)
    department = str(world.department_id)
    tag = _unique()
    match path:
        case "tenants":
            return {"name": f"Tenant {tag}", "slug": f"t-{tag}", "type": "trader"}
        case "tenant-members":
            member = created(world.platform, "users", body_for("users", world, world.platform))
            return {"user_id": member["id"], "role": "admin", "permissions": {"all": True}}
        case "users":
            return {"email": f"u-{tag}@example.com", "name": "Ana", "email_verified": True}
        case "departments":
            return {"name": "Finance", "slug": f"fin-{tag}", "settings": {"x": 1}}
        case "department-agents":
            return {"department_id": department, "agent_name": "ceo-bot", "agent_type": "mastra"}
        case "plans":
            return {
                "name": "Pro", "slug": f"pro-{tag}", "price": "99.90", "billing_cycle": "monthly",
                "features": ["bots"], "limits": {"bots": 5},
            }  # fmt: skip
        case "referral-campaigns":
            return {
                "name": "Black Friday", "start_date": "2026-11-01T00:00:00Z",
                "reward_type": "discount", "reward_value": "10.00", "created_by": user,
            }  # fmt: skip
        case "referral-links":
            campaign = created(
                http, "referral-campaigns", body_for("referral-campaigns", world, http)
            )
            return {"campaign_id": campaign["id"], "user_id": user, "referral_code": f"R{tag}"}
        case "achievements":
            return {"name": "First bot", "category": "onboarding", "requirements": {"bots": 1}}
        case "user-achievements":
            achievement = created(http, "achievements", body_for("achievements", world, http))
            return {"user_id": user, "achievement_id": achievement["id"]}
        case "leads":
            return {"name": "Bea", "email": f"lead-{tag}@example.com", "source": "organic"}
        case "support-tickets":
            return {
                "ticket_number": f"T-{tag}", "user_id": user, "subject": "Bot stopped",
                "description": "It stopped at 3am", "category": "technical",
                "priority": "high", "status": "open", "tags": ["bot"],
            }  # fmt: skip
        case "support-messages":
            ticket = created(http, "support-tickets", body_for("support-tickets", world, http))
            return {
                "ticket_id": ticket["id"], "user_id": user, "message_type": "user",
                "content": "Still down",
            }  # fmt: skip
        case "knowledge-base-articles":
            return {
                "title": "Reset a bot",
                "content": "Steps",
                "category": "bots",
                "created_by": user,
            }
        case "notification-templates":
            return {
                "department_id": department, "template_key": f"welcome-{tag}",
                "template_name": "Welcome", "template_type": "email", "content": "Hi {{name}}",
                "category": "onboarding", "created_by": user,
            }  # fmt: skip
        case "notification-channels":
            return {"channel_name": "Mail", "channel_type": "email", "configuration": {"from": "a"}}
        case "notification-preferences":
            return {
                "user_id": user, "department_id": department, "notification_type": f"n{tag[:8]}",
                "channel_preferences": {"email": True}, "quiet_hours_start": "22:00:00",
            }  # fmt: skip
        case "notifications":
            return {
                "user_id": user, "department_id": department, "notification_type": "email",
                "category": "billing", "content": "Your invoice",
            }  # fmt: skip
        case "documents":
            return {
                "title": "Terms", "content": "v1", "file_type": "pdf", "file_size": 1024,
                "file_path": f"/docs/{tag}.pdf", "mime_type": "application/pdf",
                "category": "legal", "created_by": user,
            }  # fmt: skip
        case "document-versions" | "document-permissions":
            document = created(http, "documents", body_for("documents", world, http))
            if path == "document-versions":
                return {
                    "document_id": document["id"], "title": "Terms", "content": "v2",
                    "file_path": f"/docs/{tag}-2.pdf", "file_size": 2048, "created_by": user,
                }  # fmt: skip
            return {
                "document_id": document["id"], "user_id": user, "permission_type": "read",
                "granted_by": user,
            }  # fmt: skip
        case "system-configurations":
            return {
                "key": f"smtp.password.{tag}", "value": "hunter2", "data_type": "string",
                "category": "integration", "is_sensitive": True, "created_by": user,
            }  # fmt: skip
        case "department-configurations":
            return {
                "department_id": department, "key": f"sla.{tag}", "value": "24",
                "data_type": "number", "created_by": user,
            }  # fmt: skip
        case "tenant-configurations":
            return {
                "key": f"exchange.api_secret.{tag}", "value": "s3cr3t", "data_type": "string",
                "is_sensitive": True, "created_by": user,
            }  # fmt: skip
        case "ceo-strategic-analyses":
            return {
                "analysis_type": "market", "title": "LatAm", "summary": "s",
                "detailed_analysis": "d", "recommendations": "r", "priority": "high",
                "status": "pending", "created_by": user,
            }  # fmt: skip
        case "ceo-decisions":
            return {
                "decision_type": "strategic", "title": "Expand", "description": "d",
                "context": "c", "options": [{"name": "A"}], "chosen_option": "A",
                "rationale": "r", "status": "pending", "priority": "high", "created_by": user,
            }  # fmt: skip
    raise AssertionError(f"no sample body for {path}")


# A field each resource may update, and a valid new value.
UPDATES: dict[str, dict[str, Any]] = {
    "tenants": {"name": "Renamed"},
    "tenant-members": {"role": "viewer"},
    "users": {"name": "Renamed"},
    "departments": {"description": "changed"},
    "department-agents": {"is_active": False},
    "plans": {"price": "109.90"},
    "referral-campaigns": {"description": "changed"},
    "referral-links": {"is_active": False},
    "achievements": {"points": 50},
    "user-achievements": {"metadata": {"via": "api"}},
    "leads": {"status": "contacted"},
    "support-tickets": {"status": "in_progress"},
    "support-messages": {"is_internal": True},
    "knowledge-base-articles": {"is_published": True},
    "notification-templates": {"subject": "Welcome!"},
    "notification-channels": {"priority_order": 2},
    "notification-preferences": {"is_enabled": False},
    "notifications": {"status": "sent"},
    "documents": {"description": "changed"},
    "document-versions": {},
    "document-permissions": {"permission_type": "write"},
    "system-configurations": {"description": "changed"},
    "department-configurations": {"value": "48"},
    "tenant-configurations": {"description": "changed"},
    "ceo-strategic-analyses": {"status": "in_progress"},
    "ceo-decisions": {"status": "approved"},
    "irregularities": {"status": "investigating"},
}
