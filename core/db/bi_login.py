"""Login roles for BI tools: members of `bcf_bi_reader`, so they read the marts and nothing else.

`bcf_bi_reader` itself is NOLOGIN (migration 0003); a BI tool connects as a login role that
inherits it. The password is generated here and shown once; PostgreSQL keeps only its
SCRAM hash, so a lost password is replaced (`rotate`), never recovered.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from core.db.access import BI_READER_ROLE

DEFAULT_LOGIN = "bcf_bi"


class BiLoginError(Exception):
    """The login cannot be created or changed as asked: the message says why, in one line."""


@dataclass(frozen=True)
class BiLogin:
    user: str
    password: str
    host: str
    port: int
    database: str

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.database}"


def _exists(conn: psycopg.Connection, user: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone() is not None


def create_or_rotate(database_url: str, user: str = DEFAULT_LOGIN, rotate: bool = False) -> BiLogin:
    """A login that inherits `bcf_bi_reader` with a new password, its search path `marts`.

    A login that already exists keeps its password unless `rotate` (the old one cannot be
    shown again); a role that exists but is not a BI login is never touched.
    """
    password = secrets.token_urlsafe(24)
    with psycopg.connect(database_url, autocommit=True) as conn:
        role = sql.Identifier(user)
        if _exists(conn, user):
            if not _is_bi_login(conn, user):
                raise BiLoginError(f"role {user} exists and is not a BI login: choose another name")
            if not rotate:
                raise BiLoginError(
                    f"{user} exists; its password cannot be shown again: "
                    "`bcf bi-credentials --rotate` sets a new one"
                )
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(role, sql.Literal(password)))
        else:
            conn.execute(
                sql.SQL(
                    "CREATE ROLE {} LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE "
                    "NOBYPASSRLS PASSWORD {} IN ROLE {}"
                ).format(role, sql.Literal(password), sql.Identifier(BI_READER_ROLE))
            )
            conn.execute(sql.SQL("ALTER ROLE {} SET search_path = marts").format(role))
    parsed = make_url(database_url)
    return BiLogin(
        user=user,
        password=password,
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        database=parsed.database or "postgres",
    )


def revoke(database_url: str, user: str = DEFAULT_LOGIN) -> bool:
    """Drop the login (the role `bcf_bi_reader` stays); False when there was none."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        if not _exists(conn, user):
            return False
        if not _is_bi_login(conn, user):
            raise BiLoginError(f"role {user} is not a BI login: not dropped")
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(user)))
    return True


def _is_bi_login(conn: psycopg.Connection, user: str) -> bool:
    """A login whose only role membership is `bcf_bi_reader` (what `create_or_rotate` makes)."""
    memberships = conn.execute(
        """
        SELECT r.rolcanlogin, array_remove(array_agg(g.rolname), NULL)
        FROM pg_roles AS r
        LEFT JOIN pg_auth_members AS m ON m.member = r.oid
        LEFT JOIN pg_roles AS g ON g.oid = m.roleid
        WHERE r.rolname = %s
        GROUP BY r.rolcanlogin
        """,
        (user,),
    ).fetchone()
    return memberships is not None and memberships[0] and memberships[1] == [BI_READER_ROLE]
