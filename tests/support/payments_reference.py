"""The tenants, users and plans the payments fixtures reference (see test_payments_source)."""

from __future__ import annotations

from collections.abc import Iterable

import psycopg

from tests.unit.test_payments_source import PLANS, TENANTS, USERS


def insert_payments_reference(url: str, tenant_letters: Iterable[str] = tuple(TENANTS)) -> None:
    """Insert the fixtures' tenants (those of `tenant_letters`), every user and every plan."""
    with psycopg.connect(url) as conn:
        for letter in tenant_letters:
            conn.execute(
                "INSERT INTO tenants (id, name, slug, type) VALUES (%s, %s, %s, 'empresa')",
                (TENANTS[letter], f"Tenant {letter}", f"tenant-{letter.lower()}"),
            )
        for user in USERS:
            conn.execute("INSERT INTO users (id, email) VALUES (%s, %s)", (user, f"{user}@x.io"))
        for plan in PLANS:
            conn.execute(
                "INSERT INTO subscription_plans (id, name, slug, price, currency, billing_cycle, "
                "stripe_price_id, features, limits) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, '{}', '{}')",
                (
                    plan["id"], plan["slug"].title(), plan["slug"], plan["price"],
                    plan["currency"], plan["billing_cycle"], plan["stripe_price_id"],
                ),
            )  # fmt: skip
