"""Row-level security as the API role sees it, and what the BI role may read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import ProgrammingError

from core.db.engine import create_db_engine
from core.db.schema import HYPERTABLES, TENANT_SCOPED_TABLES, TENANT_SCOPED_VIA_PARENT

# Tables the API may only append to (TimescaleDB refuses RLS on compressed hypertables).
APPEND_ONLY = set(HYPERTABLES)
ROW_SECURED = [t for t in (*TENANT_SCOPED_TABLES, *TENANT_SCOPED_VIA_PARENT, "tenants")
               if t not in APPEND_ONLY]  # fmt: skip


@dataclass(frozen=True)
class Tenants:
    a: str
    b: str
    user_a: str
    user_b: str


@pytest.fixture
def conn(migrated_database_url: str) -> Iterator[Connection]:
    engine = create_db_engine(migrated_database_url)
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def _insert(conn: Connection, sql: str, **params: object) -> str:
    return str(conn.execute(text(sql), params).scalar_one())


@pytest.fixture
def tenants(conn: Connection) -> Tenants:
    """Two tenants, each with a member, a transaction, a ticket with a message, a campaign."""
    ids = {}
    for name in ("a", "b"):
        tenant = _insert(
            conn,
            "INSERT INTO tenants (name, slug, type) VALUES (:n, :n, 'trader') RETURNING id",
            n=f"tenant-{name}",
        )
        user = _insert(
            conn, "INSERT INTO users (email) VALUES (:e) RETURNING id", e=f"{name}@example.com"
        )
        conn.execute(
            text("INSERT INTO tenant_members (tenant_id, user_id, role) VALUES (:t, :u, 'owner')"),
            {"t": tenant, "u": user},
        )
        conn.execute(
            text(
                "INSERT INTO financial_transactions (tenant_id, user_id, transaction_type, "
                "amount, status) VALUES (:t, :u, 'payment', 10, 'completed')"
            ),
            {"t": tenant, "u": user},
        )
        ticket = _insert(
            conn,
            "INSERT INTO support_tickets (ticket_number, user_id, tenant_id, subject, "
            "description, category, priority, status) VALUES (:n, :u, :t, 's', 'd', "
            "'billing', 'low', 'open') RETURNING id",
            n=f"T-{name}",
            u=user,
            t=tenant,
        )
        conn.execute(
            text(
                "INSERT INTO support_messages (ticket_id, user_id, message_type, content) "
                "VALUES (:k, :u, 'user', 'hello')"
            ),
            {"k": ticket, "u": user},
        )
        ids[name] = (tenant, user)
    conn.commit()
    return Tenants(a=ids["a"][0], b=ids["b"][0], user_a=ids["a"][1], user_b=ids["b"][1])


def _as_api(conn: Connection, tenant_id: str | None) -> None:
    conn.execute(text("SET LOCAL ROLE bcf_api"))
    if tenant_id is not None:
        conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": tenant_id})


def test_api_role_sees_only_its_tenants_rows(conn: Connection, tenants: Tenants) -> None:
    _as_api(conn, tenants.a)
    for table in ("financial_transactions", "tenant_members", "support_tickets"):
        seen = conn.execute(text(f"SELECT DISTINCT tenant_id::text FROM {table}")).scalars().all()
        assert seen == [tenants.a], table
    assert conn.execute(text("SELECT id::text FROM tenants")).scalars().all() == [tenants.a]
    # A child table without tenant_id follows its parent.
    assert conn.execute(text("SELECT count(*) FROM support_messages")).scalar_one() == 1


def test_api_role_cannot_change_or_create_another_tenants_rows(
    conn: Connection, tenants: Tenants
) -> None:
    _as_api(conn, tenants.a)
    updated = conn.execute(
        text("UPDATE financial_transactions SET description = 'x' WHERE tenant_id = :b"),
        {"b": tenants.b},
    )
    assert updated.rowcount == 0
    deleted = conn.execute(
        text("DELETE FROM tenant_members WHERE tenant_id = :b"), {"b": tenants.b}
    )
    assert deleted.rowcount == 0
    with pytest.raises(ProgrammingError, match="row-level security"):
        conn.execute(
            text(
                "INSERT INTO financial_transactions (tenant_id, user_id, transaction_type, "
                "amount, status) VALUES (:b, :u, 'payment', 1, 'completed')"
            ),
            {"b": tenants.b, "u": tenants.user_b},
        )
    conn.rollback()
    assert (
        conn.execute(
            text("SELECT count(*) FROM financial_transactions WHERE description = 'x'")
        ).scalar_one()
        == 0
    )


def test_moving_a_row_to_another_tenant_is_refused(conn: Connection, tenants: Tenants) -> None:
    _as_api(conn, tenants.a)
    with pytest.raises(ProgrammingError, match="row-level security"):
        conn.execute(
            text("UPDATE financial_transactions SET tenant_id = :b WHERE tenant_id = :a"),
            {"a": tenants.a, "b": tenants.b},
        )


def test_api_role_with_no_tenant_sees_nothing(conn: Connection, tenants: Tenants) -> None:
    _as_api(conn, None)
    for table in ROW_SECURED:
        assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0, table


def test_every_tenant_scoped_table_forces_row_level_security(conn: Connection) -> None:
    flags = dict(
        conn.execute(
            text(
                "SELECT relname, relrowsecurity AND relforcerowsecurity FROM pg_class "
                "WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p')"
            )
        ).all()
    )
    for table in ROW_SECURED:
        assert flags[table], table


def test_api_role_owns_nothing_and_cannot_bypass(conn: Connection) -> None:
    role = conn.execute(
        text("SELECT rolbypassrls, rolsuper, rolcanlogin FROM pg_roles WHERE rolname = 'bcf_api'")
    ).one()
    assert tuple(role) == (False, False, False)
    owned = conn.execute(
        text("SELECT count(*) FROM pg_class WHERE relowner = 'bcf_api'::regrole")
    ).scalar_one()
    assert owned == 0


def test_api_role_cannot_read_authentication_secrets(conn: Connection) -> None:
    _as_api(conn, None)
    with pytest.raises(ProgrammingError, match="permission denied"):
        conn.execute(text("SELECT password FROM accounts"))


def test_pipeline_role_reads_every_tenant(conn: Connection, tenants: Tenants) -> None:
    conn.execute(text("SET LOCAL ROLE bcf_pipeline"))
    assert conn.execute(text("SELECT count(*) FROM financial_transactions")).scalar_one() == 2


def test_bi_reader_reads_marts_only(conn: Connection, tenants: Tenants) -> None:
    conn.execute(text("SET LOCAL ROLE bcf_pipeline"))
    conn.execute(text("CREATE TABLE marts.sample_mart AS SELECT 1 AS answer"))
    conn.execute(text("SET LOCAL ROLE bcf_bi_reader"))
    assert conn.execute(text("SELECT answer FROM marts.sample_mart")).scalar_one() == 1
    for table in ("public.financial_transactions", "public.users", "raw.ingest_batches"):
        with pytest.raises(ProgrammingError, match="permission denied"), conn.begin_nested():
            conn.execute(text(f"SELECT 1 FROM {table}"))


def _behaviour_event(conn: Connection, tenant: str, user: str) -> None:
    conn.execute(
        text(
            "INSERT INTO user_behavior_tracking (user_id, tenant_id, action) "
            "VALUES (:u, :t, 'login')"
        ),
        {"u": user, "t": tenant},
    )


@pytest.mark.parametrize("table", sorted(APPEND_ONLY))
def test_api_role_cannot_read_the_time_series_tables(
    conn: Connection, tenants: Tenants, table: str
) -> None:
    _as_api(conn, tenants.a)
    with pytest.raises(ProgrammingError, match="permission denied"):
        conn.execute(text(f"SELECT count(*) FROM {table}"))


def test_api_role_appends_time_series_rows_for_its_tenant_only(
    conn: Connection, tenants: Tenants
) -> None:
    _as_api(conn, tenants.a)
    _behaviour_event(conn, tenants.a, tenants.user_a)
    with pytest.raises(ProgrammingError, match="is not the tenant of this session"):
        _behaviour_event(conn, tenants.b, tenants.user_b)
    conn.rollback()
    _as_api(conn, tenants.a)
    _behaviour_event(conn, tenants.a, tenants.user_a)
    conn.commit()
    # The pipeline (any role but bcf_api) writes rows for every tenant.
    _behaviour_event(conn, tenants.b, tenants.user_b)
    counts = dict(
        conn.execute(
            text("SELECT tenant_id::text, count(*) FROM user_behavior_tracking GROUP BY 1")
        ).all()
    )
    assert counts == {tenants.a: 1, tenants.b: 1}
