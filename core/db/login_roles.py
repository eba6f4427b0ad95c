"""The login roles a backup carries: roles are cluster-wide, so pg_dump of one database
leaves them out, and a restore onto a new server would lose every BI login.

Carried: the logins that are members of the migrations' roles (`bcf_api`, `bcf_pipeline`,
`bcf_bi_reader`), such as `bcf bi-credentials`' BI logins, with their memberships in those
roles, their per-role settings (a BI login's `search_path`) and, where the backup's user may
read `pg_authid` (a superuser), their password hashes: the restored login keeps its
password. Superusers and roles with other powers are not carried; they belong to the server.

A restore creates each carried login the target lacks and leaves an existing one as it is.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from core.db.access import ROLES

# Settings whose value is a list: given item by item, or `search_path` would become one
# schema named "a, b".
_LIST_SETTINGS = frozenset(
    ("search_path", "temp_tablespaces", "local_preload_libraries", "session_preload_libraries")
)


@dataclass(frozen=True)
class LoginRole:
    name: str
    member_of: list[str]
    settings: list[str] = field(default_factory=list)  # "search_path=marts"
    password_hash: str | None = None  # SCRAM or md5 hash, never a clear password


def login_roles(conn: psycopg.Connection) -> list[LoginRole]:
    """The plain login roles (no superuser, CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS)
    that are members of the migrations' roles, as the server holds them now."""
    superuser = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    # pg_authid, which holds the password hashes, is readable by superusers only.
    hashes = (superuser.fetchone() or (False,))[0]
    rows = conn.execute(
        sql.SQL(
            "SELECT r.rolname, array_agg(g.rolname ORDER BY g.rolname), "
            "coalesce((SELECT s.setconfig FROM pg_db_role_setting s "
            "WHERE s.setrole = r.oid AND s.setdatabase = 0), '{{}}'), {} "
            "FROM pg_roles r JOIN pg_auth_members m ON m.member = r.oid "
            "JOIN pg_roles g ON g.oid = m.roleid "
            "WHERE r.rolcanlogin AND NOT (r.rolsuper OR r.rolcreatedb OR r.rolcreaterole "
            "OR r.rolreplication OR r.rolbypassrls) AND g.rolname = ANY(%s) "
            "GROUP BY r.rolname, r.oid ORDER BY r.rolname"
        ).format(
            sql.SQL(
                "(SELECT a.rolpassword FROM pg_authid a WHERE a.oid = r.oid)"
                if hashes
                else "NULL::text"
            )
        ),
        (list(ROLES),),
    ).fetchall()
    return [
        LoginRole(name=name, member_of=list(groups), settings=list(settings), password_hash=hashed)
        for name, groups, settings, hashed in rows
    ]


def carried(role: LoginRole) -> LoginRole:
    """`role` as a manifest gives it, refused unless a backup could have carried it: a member
    of the migrations' roles only, so an edited manifest cannot grant a login more."""
    if not role.member_of or not set(role.member_of) <= set(ROLES):
        raise ValueError(
            f"login {role.name!r} is a member of {', '.join(role.member_of) or 'no role'}; "
            f"a backup carries only members of {', '.join(ROLES)}"
        )
    return role


def recreate(conn: psycopg.Connection, roles: list[LoginRole]) -> list[str]:
    """Create each role of `roles` that the server lacks; the names of those created."""
    created = []
    for role in roles:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role.name,)).fetchone():
            continue
        name = sql.Identifier(role.name)
        password = (
            sql.SQL(" PASSWORD {}").format(sql.Literal(role.password_hash))
            if role.password_hash
            else sql.SQL("")
        )
        conn.execute(
            sql.SQL(
                "CREATE ROLE {} LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE "
                "NOBYPASSRLS{} IN ROLE {}"
            ).format(name, password, sql.SQL(", ").join(map(sql.Identifier, role.member_of)))
        )
        for setting in role.settings:
            key, _, value = setting.partition("=")
            shown = (
                sql.SQL(", ").join(map(sql.Literal, list_setting_items(value)))
                if key in _LIST_SETTINGS
                else sql.Literal(value)
            )
            conn.execute(
                sql.SQL("ALTER ROLE {} SET {} = {}").format(name, sql.Identifier(key), shown)
            )
        created.append(role.name)
    return created


def list_setting_items(value: str) -> list[str]:
    """The items of a list setting as the server stores it (`"$user", marts`), unquoted: each
    goes back as a literal of its own, so a backup's manifest cannot smuggle SQL in."""
    return next(csv.reader([value], skipinitialspace=True), [])
