"""Database roles and tenant isolation, as SQL for migrations to run.

- `bcf_api`: DML on the operational tables, confined to one tenant by row-level security
  (`app.tenant_id`, set per transaction by the API). Owns nothing, no BYPASSRLS.
- `bcf_pipeline`: ingestion and dbt; reads and writes every tenant's rows, owns the dbt schemas.
- `bcf_bi_reader`: SELECT on schema `marts` only.
All are NOLOGIN: a deployment grants them to its own login roles (no passwords in the repo).

Row-level security is forced, so the tables' owner is bound too; superusers still bypass it.

TimescaleDB refuses row-level security on a hypertable with compression ("columnstore cannot
be used on table with row security"). The time-series tables are therefore append-only for
`bcf_api` on every server: INSERT only, no SELECT, and a trigger refuses a row whose
tenant_id is not the caller's. Reads of them go through the marts.
"""

from __future__ import annotations

API_ROLE = "bcf_api"
PIPELINE_ROLE = "bcf_pipeline"
BI_READER_ROLE = "bcf_bi_reader"
ROLES = (API_ROLE, PIPELINE_ROLE, BI_READER_ROLE)
DBT_SCHEMAS = ("staging", "intermediate", "marts")

CURRENT_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"
TENANT_POLICY = "tenant_isolation"
TENANT_GUARD_FUNCTION = "public.bcf_api_tenant_guard"
TENANT_GUARD_TRIGGER = "bcf_api_tenant_guard"
PIPELINE_POLICY = "pipeline_all_tenants"


def create_roles() -> list[str]:
    """Roles are cluster-wide: create each once, tolerating a concurrent creator."""
    return [
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE {role} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
            END IF;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END $$
        """
        for role in ROLES
    ]


def grant_schemas() -> list[str]:
    """Schema-level rights, and the dbt schemas created empty for `bcf_pipeline` to own.

    No database-level grant: CONNECT is PUBLIC's by default, and with its schemas in place
    dbt creates none (so `bcf_pipeline` needs no CREATE on the database).
    """
    statements = [
        f"GRANT USAGE ON SCHEMA public TO {API_ROLE}, {PIPELINE_ROLE}",
        f"GRANT USAGE ON SCHEMA raw TO {PIPELINE_ROLE}",
    ]
    statements += [
        f"CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {PIPELINE_ROLE}"
        for schema in DBT_SCHEMAS
    ]
    statements += [
        f"GRANT USAGE ON SCHEMA marts TO {BI_READER_ROLE}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA marts TO {BI_READER_ROLE}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {PIPELINE_ROLE} IN SCHEMA marts "
        f"GRANT SELECT ON TABLES TO {BI_READER_ROLE}",
    ]
    return statements


def revoke_schemas() -> list[str]:
    """Undo `grant_schemas`; the dbt schemas stay, as their content is dbt's, not Alembic's."""
    return [
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {PIPELINE_ROLE} IN SCHEMA marts "
        f"REVOKE SELECT ON TABLES FROM {BI_READER_ROLE}",
        f"REVOKE USAGE ON SCHEMA marts FROM {BI_READER_ROLE}",
        f"REVOKE USAGE ON SCHEMA raw FROM {PIPELINE_ROLE}",
        f"REVOKE USAGE ON SCHEMA public FROM {API_ROLE}, {PIPELINE_ROLE}",
    ]


def grant_tables(schema: str, tables: list[str], role: str, privileges: str) -> list[str]:
    return [f"GRANT {privileges} ON {schema}.{table} TO {role}" for table in tables]


def revoke_tables(schema: str, tables: list[str], role: str) -> list[str]:
    return [f"REVOKE ALL ON {schema}.{table} FROM {role}" for table in tables]


def isolate_by_tenant(table: str, tenant_column: str = "tenant_id") -> list[str]:
    """Rows of `table` visible and writable by `bcf_api` only for the tenant in `app.tenant_id`."""
    same_tenant = f"{tenant_column} = {CURRENT_TENANT}"
    return [
        *_force_rls(table),
        f"CREATE POLICY {TENANT_POLICY} ON public.{table} FOR ALL TO {API_ROLE} "
        f"USING ({same_tenant}) WITH CHECK ({same_tenant})",
    ]


def isolate_through_parent(table: str, fk_column: str, parent: str, parent_key: str) -> list[str]:
    """For a child table without tenant_id: a row counts as its parent's tenant's row.

    The subquery reads the parent under the parent's own policy, so a parent of another
    tenant is invisible and the child with it.
    """
    parent_visible = (
        f"EXISTS (SELECT 1 FROM public.{parent} AS p WHERE p.{parent_key} = {table}.{fk_column})"
    )
    return [
        *_force_rls(table),
        f"CREATE POLICY {TENANT_POLICY} ON public.{table} FOR ALL TO {API_ROLE} "
        f"USING ({parent_visible}) WITH CHECK ({parent_visible})",
    ]


def drop_isolation(table: str) -> list[str]:
    return [
        f"DROP POLICY IF EXISTS {TENANT_POLICY} ON public.{table}",
        f"DROP POLICY IF EXISTS {PIPELINE_POLICY} ON public.{table}",
        f"ALTER TABLE public.{table} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE public.{table} DISABLE ROW LEVEL SECURITY",
    ]


def _force_rls(table: str) -> list[str]:
    return [
        f"ALTER TABLE public.{table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE public.{table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {PIPELINE_POLICY} ON public.{table} FOR ALL TO {PIPELINE_ROLE} "
        "USING (true) WITH CHECK (true)",
    ]


def create_tenant_guard() -> str:
    """The trigger function that keeps `bcf_api` inserts on append-only tables in its tenant."""
    return f"""
        CREATE OR REPLACE FUNCTION {TENANT_GUARD_FUNCTION}() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF current_user = '{API_ROLE}'
               AND NEW.tenant_id IS DISTINCT FROM {CURRENT_TENANT} THEN
                RAISE EXCEPTION 'tenant_id % is not the tenant of this session', NEW.tenant_id
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN NEW;
        END $$
    """


def drop_tenant_guard() -> str:
    return f"DROP FUNCTION IF EXISTS {TENANT_GUARD_FUNCTION}()"


def guard_append_only(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER {TENANT_GUARD_TRIGGER} BEFORE INSERT ON public.{table} "
        f"FOR EACH ROW EXECUTE FUNCTION {TENANT_GUARD_FUNCTION}()",
    ]


def unguard_append_only(table: str) -> list[str]:
    return [f"DROP TRIGGER IF EXISTS {TENANT_GUARD_TRIGGER} ON public.{table}"]
