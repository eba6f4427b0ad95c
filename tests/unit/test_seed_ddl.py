"""The seed-comparison kit: the seed parser, the normalisers, `diff` and the doc reader."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import pytest

from tests.support.seed_ddl import (
    SCHEMA_DOC,
    Deviation,
    SeedCheck,
    SeedTable,
    check_values,
    diff,
    documented_deviations,
    normalise_default,
    normalise_type,
    parse_enumeration,
    parse_seed,
)

SEED_INDEXES = {
    "idx_visitor_tracking_created_at": ("visitor_tracking", ("created_at",)),
    "idx_user_behavior_tracking_created_at": ("user_behavior_tracking", ("created_at",)),
    "idx_platform_usage_tracking_created_at": ("platform_usage_tracking", ("created_at",)),
    "idx_audit_logs_created_at": ("audit_logs", ("created_at",)),
    "idx_users_email": ("users", ("email",)),
    "idx_tenants_slug": ("tenants", ("slug",)),
    "idx_leads_email": ("leads", ("email",)),
    "idx_support_tickets_number": ("support_tickets", ("ticket_number",)),
    "idx_documents_title": ("documents", ("title",)),
    "idx_tenant_user_behavior": ("user_behavior_tracking", ("tenant_id", "user_id", "created_at")),
    "idx_tenant_usage_tracking": (
        "platform_usage_tracking",
        ("tenant_id", "resource_type", "created_at"),
    ),
    "idx_user_notifications": ("notifications", ("user_id", "status", "created_at")),
}


@pytest.fixture(scope="module")
def seed(seed_path: Path) -> dict[str, SeedTable]:
    return parse_seed(seed_path)


def test_every_table_once_without_the_drizzle_repeat(seed: dict[str, SeedTable]) -> None:
    assert len(seed) == 44
    assert "security_roles" not in seed
    assert seed["users"].column_names == [
        "id",
        "email",
        "email_verified",
        "name",
        "image",
        "created_at",
        "updated_at",
    ]
    assert list(seed)[:3] == ["users", "accounts", "sessions"]
    assert list(seed)[-1] == "ceo_decisions"


@pytest.mark.parametrize(
    ("table", "column", "type_", "nullable", "default"),
    [
        ("users", "id", "uuid", False, "gen_random_uuid()"),
        ("users", "email_verified", "boolean", True, "false"),
        ("users", "created_at", "timestamp", True, "now()"),
        ("tenants", "status", "varchar(20)", False, "'active'"),
        ("tenants", "settings", "jsonb", True, "'{}'"),
        ("department_agents", "capabilities", "jsonb", True, "'[]'"),
        ("financial_transactions", "amount", "numeric(15,2)", False, None),
        ("financial_transactions", "currency", "varchar(3)", False, "'BRL'"),
        ("visitor_tracking", "ip_address", "inet", False, None),
        ("visitor_tracking", "latitude", "numeric(10,8)", True, None),
        ("visitor_sessions", "total_visits", "integer", True, "1"),
        ("trading_commissions", "commission_rate", "numeric(5,4)", False, None),
        ("notification_channels", "rate_limit_per_hour", "integer", True, "1000"),
        ("user_notification_preferences", "quiet_hours_start", "time", True, None),
        ("user_notification_preferences", "timezone", "varchar(50)", True, "'UTC'"),
        ("support_tickets", "tags", "text[]", True, None),
        ("documents", "file_size", "bigint", False, None),
        ("verification_tokens", "identifier", "varchar(255)", False, None),
        ("audit_logs", "user_id", "uuid", True, None),
    ],
)
def test_columns(
    seed: dict[str, SeedTable],
    table: str,
    column: str,
    type_: str,
    nullable: bool,
    default: str | None,
) -> None:
    parsed = seed[table].column(column)
    assert (parsed.type, parsed.nullable, parsed.default) == (type_, nullable, default)


def test_keys_and_uniques(seed: dict[str, SeedTable]) -> None:
    assert seed["users"].primary_key == ("id",)
    assert seed["verification_tokens"].primary_key == ("identifier", "value")
    assert seed["users"].uniques == {("email",)}
    assert seed["accounts"].uniques == {("provider_id", "account_id")}
    assert seed["billing_subscriptions"].uniques == {("stripe_subscription_id",)}
    assert seed["notification_templates"].uniques == {
        ("department_id", "template_key", "template_type")
    }
    assert seed["system_configurations"].uniques == {("key",)}
    assert seed["leads"].uniques == set()


def test_foreign_keys_and_on_delete(seed: dict[str, SeedTable]) -> None:
    def fks(table: str) -> dict[tuple[str, ...], tuple[str, str]]:
        return {fk.columns: (fk.referred_table, fk.on_delete) for fk in seed[table].foreign_keys}

    assert fks("referral_links") == {
        ("campaign_id",): ("referral_campaigns", "CASCADE"),
        ("user_id",): ("users", "NO ACTION"),
    }
    assert fks("financial_transactions") == {
        ("tenant_id",): ("tenants", "NO ACTION"),
        ("user_id",): ("users", "NO ACTION"),
    }
    assert fks("document_permissions")[("role_id",)] == ("security_roles", "NO ACTION")
    assert fks("documents")[("parent_id",)] == ("documents", "NO ACTION")
    assert fks("support_messages")[("ticket_id",)] == ("support_tickets", "CASCADE")
    cascades = {
        (name, fk.columns[0])
        for name, table in seed.items()
        for fk in table.foreign_keys
        if fk.on_delete == "CASCADE"
    }
    assert cascades == {
        ("accounts", "user_id"),
        ("sessions", "user_id"),
        ("tenant_members", "tenant_id"),
        ("tenant_members", "user_id"),
        ("department_agents", "department_id"),
        ("referral_links", "campaign_id"),
        ("support_messages", "ticket_id"),
        ("document_versions", "document_id"),
        ("document_permissions", "document_id"),
    }


def test_integrity_section_names_the_inline_foreign_keys_once(
    seed: dict[str, SeedTable],
) -> None:
    assert [(fk.columns, fk.name) for fk in seed["accounts"].foreign_keys] == [
        (("user_id",), "fk_accounts_user_id")
    ]
    assert {fk.name for fk in seed["tenant_members"].foreign_keys} == {
        "fk_tenant_members_tenant_id",
        "fk_tenant_members_user_id",
    }


def test_the_twelve_indexes(seed: dict[str, SeedTable]) -> None:
    parsed = {
        index.name: (name, index.columns) for name, table in seed.items() for index in table.indexes
    }
    assert parsed == SEED_INDEXES
    assert not any(index.unique for table in seed.values() for index in table.indexes)


def test_the_four_validation_checks(seed: dict[str, SeedTable]) -> None:
    checks = {check.name: (name, check) for name, table in seed.items() for check in table.checks}
    assert {name: table for name, (table, _) in checks.items()} == {
        "chk_users_email": "users",
        "chk_tenants_type": "tenants",
        "chk_transactions_amount": "financial_transactions",
        "chk_plans_price": "subscription_plans",
    }
    tenants_type = checks["chk_tenants_type"][1]
    assert tenants_type.columns == ("type",)
    assert tenants_type.values == {"empresa", "trader", "influencer"}
    email = checks["chk_users_email"][1]
    assert email.columns == ("email",)
    assert email.string_literals == {r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$"}
    assert checks["chk_transactions_amount"][1].definition == "amount > 0"


def test_enumeration_comments(seed: dict[str, SeedTable]) -> None:
    assert seed["tenants"].column("type").enumeration == {"empresa", "trader", "influencer"}
    assert seed["visitor_tracking"].column("ip_version").enumeration == {"4", "6"}
    assert seed["trading_resource_usage"].column("usage_duration").enumeration is None
    assert seed["notifications"].column("notification_type").enumeration is None
    enumerated = [c for table in seed.values() for c in table.columns if c.enumeration]
    assert len(enumerated) == 42


@pytest.mark.parametrize(
    ("comment", "values"),
    [
        ("empresa, trader, influencer", {"empresa", "trader", "influencer"}),
        ("4 or 6", {"4", "6"}),
        ("in seconds", None),
        ("mastra, custom", {"mastra", "custom"}),
        ("just one", None),
    ],
)
def test_parse_enumeration(comment: str, values: set[str] | None) -> None:
    assert parse_enumeration(comment) == values


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("VARCHAR(255)", "varchar(255)"),
        ("DECIMAL(15, 2)", "numeric(15,2)"),
        ("character varying(100)", "varchar(100)"),
        ("timestamp with time zone", "timestamptz"),
        ("timestamp without time zone", "timestamp"),
        ("time without time zone", "time"),
        ("TEXT[]", "text[]"),
        ("text[]", "text[]"),
        ("character(64)", "char(64)"),
        ("INTEGER", "integer"),
    ],
)
def test_normalise_type(raw: str, normal: str) -> None:
    assert normalise_type(raw) == normal


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("NOW()", "now()"),
        ("now()", "now()"),
        ("'{}'::jsonb", "'{}'"),
        ("'BRL'::character varying", "'BRL'"),
        ("'active'", "'active'"),
        ("false", "false"),
        ("0", "0"),
        (None, None),
    ],
)
def test_normalise_default(raw: str | None, normal: str | None) -> None:
    assert normalise_default(raw) == normal


def test_check_values_reads_postgres_definitions() -> None:
    assert check_values(
        "(((status)::text = ANY ((ARRAY['active'::character varying, "
        "'suspended'::character varying])::text[])))"
    ) == {"active", "suspended"}
    assert check_values("((ip_version = ANY (ARRAY[4, 6])))") == {"4", "6"}
    assert check_values("((amount > (0)::numeric))") is None


def _as_built(seed: dict[str, SeedTable]) -> dict[str, SeedTable]:
    """The seed as a faithful database would show it: enumerations became checks."""
    live = copy.deepcopy(seed)
    for name, table in live.items():
        for column in table.columns:
            if column.enumeration is not None:
                table.checks.append(
                    SeedCheck(f"ck_{name}_{column.name}", (column.name,), "", column.enumeration)
                )
        table.columns = [replace(column, enumeration=None) for column in table.columns]
    return live


def test_diff_of_a_faithful_database_is_empty(seed: dict[str, SeedTable]) -> None:
    assert diff(seed, _as_built(seed)) == set()


def test_diff_reports_each_kind(seed: dict[str, SeedTable]) -> None:
    live = _as_built(seed)
    users = live["users"]
    users.columns = [
        replace(c, type="timestamptz") if c.name == "created_at" else c for c in users.columns
    ]
    audit = live["audit_logs"]
    audit.columns = [
        replace(c, nullable=False) if c.name == "created_at" else c for c in audit.columns
    ]
    audit.primary_key = ("id", "created_at")
    audit.columns.append(replace(audit.columns[-1], name="source_record_id", default=None))
    audit.uniques.add(("source_record_id", "created_at"))
    live["security_roles"] = SeedTable("security_roles")
    leads = live["leads"]
    leads.columns = [replace(c, default=None) if c.name == "score" else c for c in leads.columns]
    leads.checks = [check for check in leads.checks if check.columns != ("source",)]
    live["referral_links"].foreign_keys = [
        replace(fk, on_delete="NO ACTION") for fk in live["referral_links"].foreign_keys
    ]
    live["notifications"].indexes = []
    del live["ceo_decisions"]

    assert diff(seed, live) == {
        Deviation("users", "created_at", "type"),
        Deviation("audit_logs", "created_at", "nullability"),
        Deviation("audit_logs", "created_at", "primary_key"),
        Deviation("audit_logs", "source_record_id", "added_column"),
        Deviation("audit_logs", "source_record_id, created_at", "added_constraint"),
        Deviation("security_roles", "*", "added_table"),
        Deviation("leads", "score", "default"),
        Deviation("leads", "source", "missing_constraint"),
        Deviation("referral_links", "campaign_id", "foreign_key"),
        Deviation("notifications", "idx_user_notifications", "missing_index"),
        Deviation("ceo_decisions", "*", "missing_table"),
    }


def test_diff_accepts_the_seed_check_for_an_enumeration_and_flags_others(
    seed: dict[str, SeedTable],
) -> None:
    live = _as_built(seed)
    tenants = live["tenants"]
    tenants.checks = [check for check in tenants.checks if check.name != "ck_tenants_type"]
    assert diff(seed, live) == set()

    tenants.checks.append(SeedCheck("ck_tenants_slug", ("slug",), "length(slug) > 2"))
    wrong = SeedCheck("ck_tenants_status", ("status",), "", frozenset({"active"}))
    tenants.checks = [wrong if c.name == wrong.name else c for c in tenants.checks]
    assert diff(seed, live) == {
        Deviation("tenants", "slug", "added_constraint"),
        Deviation("tenants", "status", "added_constraint"),
        Deviation("tenants", "status", "missing_constraint"),
    }


def test_documented_deviations_reads_the_table(tmp_path: Path) -> None:
    doc = tmp_path / "schema.md"
    doc.write_text(
        "# x\n\n## Deviations from the seed\n\nSome words.\n\n"
        "| table | column | kind | seed | here | reason |\n|---|---|---|---|---|---|\n"
        "| users | created_at | type | `timestamp` | `timestamptz` | UTC |\n"
        "| `security_roles` | * | added_table | — | defined | needed |\n"
        "\n## Next\n\n| table | column | kind | seed | here | reason |\n|---|---|---|---|---|---|\n"
        "| not | read | type | a | b | c |\n",
        encoding="utf-8",
    )
    assert documented_deviations(doc) == {
        Deviation("users", "created_at", "type"),
        Deviation("security_roles", "*", "added_table"),
    }


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            "| table | column | kind | reason |\n|---|---|---|---|\n| a | b | type | c |\n",
            "header",
        ),
        (
            "| table | column | kind | seed | here | reason |\n|---|---|---|---|---|---|\n"
            "| a | b | default | x | y | z |\n",
            "unknown kind",
        ),
        (
            "| table | column | kind | seed | here | reason |\n|---|---|---|---|---|---|\n"
            "| a | b | type | x | y | z |\n| a | b | type | x | y | z |\n",
            "duplicate",
        ),
    ],
    ids=["wrong header", "undocumentable kind", "duplicate row"],
)
def test_documented_deviations_rejects(tmp_path: Path, table: str, message: str) -> None:
    doc = tmp_path / "schema.md"
    doc.write_text(f"## Deviations from the seed\n\n{table}", encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        documented_deviations(doc)


def test_the_project_doc_parses() -> None:
    documented = documented_deviations(SCHEMA_DOC)
    assert Deviation("security_roles", "*", "added_table") in documented
    assert Deviation("audit_logs", "created_at", "primary_key") in documented
