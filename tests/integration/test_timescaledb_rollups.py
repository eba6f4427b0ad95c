"""The usage, compliance and web marts read TimescaleDB's continuous aggregates (migrations
0009 and 0010; the web traffic through int_sessions) where they exist and their own SQL over
the events otherwise, with the same rows: on the TimescaleDB test server both ways, and on
plain PostgreSQL, from the same events.

The events straddle São Paulo midnight (02:30 UTC is 23:30 of the day before there), mix
system events (no user) with users, repeat users and IP addresses, and leave usage values
out; a late event arrives after the first build, inside the marts' lookback window. The web
sessions cross midnight (their landing and first visitor id in the first day, a lead and a
conversion in the next), start with an event that is not a page view, tie two page views
on the same instant (the event id decides), hold a bot's events, and grow by a late page
view.
"""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from core.db import migrate
from tests.integration.test_dbt_build import AS_OF, KEY
from tests.support.timescaledb import running_timescaledb

DBT = str(Path(sys.executable).parent / "dbt")
PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
MARTS = ("compliance_audit_activity_daily", "usage_platform_daily", "web_traffic_daily")
ROLLUPS = {
    "compliance_audit_activity_daily": "audit_logs_daily",
    "usage_platform_daily": "platform_usage_daily",
    "int_sessions": "visitor_sessions_daily",
}
T_A = "a0000000-0000-4000-8000-00000000000a"
T_B = "b0000000-0000-4000-8000-00000000000b"
U_A = "a0000000-0000-4000-8000-0000000000a1"
U_B = "b0000000-0000-4000-8000-0000000000b1"

EVENTS = f"""
INSERT INTO tenants (id, name, slug, type, created_at) VALUES
    ('{T_A}', 'Acme', 'acme', 'empresa', '2025-01-05T12:00:00Z'),
    ('{T_B}', 'Bravo', 'bravo', 'trader', '2025-01-05T12:00:00Z');
INSERT INTO users (id, email) VALUES ('{U_A}', 'ana@example.com'), ('{U_B}', 'bia@example.com');
INSERT INTO audit_logs (tenant_id, user_id, action, resource, ip_address, created_at) VALUES
    ('{T_A}', '{U_A}', 'read', 'user', '203.0.113.9', '2025-04-14T12:00:00Z'),
    ('{T_A}', '{U_A}', 'read', 'user', '203.0.113.9', '2025-04-14T13:00:00Z'),
    ('{T_A}', '{U_B}', 'read', 'user', '203.0.113.7', '2025-04-15T02:30:00Z'),
    ('{T_A}', NULL, 'update', 'bot', NULL, '2025-04-15T03:30:00Z'),
    (NULL, NULL, 'purge', 'audit_logs', NULL, '2025-04-15T04:00:00Z'),
    ('{T_B}', '{U_B}', 'update', 'bot', '198.51.100.4', '2025-04-13T23:59:00Z');
INSERT INTO platform_usage_tracking (tenant_id, user_id, resource_type, resource_id,
    usage_count, usage_value, period_start, period_end, created_at) VALUES
    ('{T_A}', '{U_A}', 'api_calls', 'key-1', 120, NULL, '2025-04-14T00:00:00Z',
     '2025-04-15T00:00:00Z', '2025-04-14T10:00:00Z'),
    ('{T_A}', '{U_B}', 'api_calls', 'key-2', 30, NULL, '2025-04-14T00:00:00Z',
     '2025-04-15T00:00:00Z', '2025-04-15T02:30:00Z'),
    ('{T_A}', '{U_A}', 'storage', NULL, 1, 2.50, '2025-04-14T00:00:00Z',
     '2025-04-15T00:00:00Z', '2025-04-15T03:00:00Z'),
    ('{T_B}', '{U_B}', 'bots', 'bot-9', 3, NULL, '2025-04-10T00:00:00Z',
     '2025-04-11T00:00:00Z', '2025-04-11T00:05:00Z');
INSERT INTO visitor_tracking (id, session_id, ip_address, ip_version, country, device_type,
    referrer, utm_source, utm_medium, utm_campaign, gclid, page_url, visit_duration, metadata,
    created_at) VALUES
    ('00000000-0000-4000-8000-000000000001', 's-night', '203.0.113.1', 4, 'BR', 'mobile',
     'https://www.google.com/', NULL, NULL, NULL, 'g-1', 'https://bcf.example/',
     30, '{{}}', '2025-04-14T23:00:00Z'),
    ('00000000-0000-4000-8000-000000000002', 's-night', '203.0.113.1', 4, 'BR', 'mobile',
     NULL, NULL, NULL, NULL, NULL, 'https://bcf.example/pricing', 40,
     '{{"visitor_id": "v-1"}}', '2025-04-14T23:30:00Z'),
    ('00000000-0000-4000-8000-000000000003', 's-night', '203.0.113.1', 4, 'BR', 'mobile',
     NULL, NULL, NULL, NULL, NULL, 'https://bcf.example/signup', 0,
     '{{"visitor_id": "v-2", "event_type": "event", "event_name": "lead"}}',
     '2025-04-15T03:10:00Z'),
    ('00000000-0000-4000-8000-000000000004', 's-night', '203.0.113.1', 4, 'BR', 'mobile',
     NULL, NULL, NULL, NULL, NULL, 'https://bcf.example/pay', 0,
     '{{"event_type": "conversion", "conversion_value": 49.9}}', '2025-04-15T03:20:00Z'),
    ('00000000-0000-4000-8000-000000000019', 's-tie', '198.51.100.2', 4, 'PT', 'desktop',
     NULL, NULL, NULL, NULL, NULL, 'https://bcf.example/blog', 0,
     '{{"event_type": "event", "event_name": "scroll"}}', '2025-04-14T12:00:00Z'),
    ('00000000-0000-4000-8000-000000000012', 's-tie', '198.51.100.2', 4, 'PT', 'desktop',
     'https://news.example/', 'news', 'referral', 'spring', NULL, 'https://bcf.example/b',
     20, '{{"visitor_id": "v-3"}}', '2025-04-14T12:05:00Z'),
    ('00000000-0000-4000-8000-000000000011', 's-tie', '198.51.100.2', 4, 'PT', 'desktop',
     'https://mail.example/', 'newsletter', 'email', 'april', NULL, 'https://bcf.example/a',
     25, '{{"visitor_id": "v-3"}}', '2025-04-14T12:05:00Z'),
    ('00000000-0000-4000-8000-000000000021', 's-bot', '192.0.2.7', 4, 'US', 'desktop',
     NULL, NULL, NULL, NULL, NULL, 'https://bcf.example/', 0,
     '{{"is_bot": true, "visitor_id": "crawler"}}', '2025-04-14T13:00:00Z');
"""
LATE_EVENTS = f"""
INSERT INTO audit_logs (tenant_id, user_id, action, resource, ip_address, created_at) VALUES
    ('{T_A}', '{U_B}', 'read', 'user', '203.0.113.8', '2025-04-14T15:00:00Z');
INSERT INTO platform_usage_tracking (tenant_id, user_id, resource_type, resource_id,
    usage_count, usage_value, period_start, period_end, created_at) VALUES
    ('{T_A}', '{U_B}', 'api_calls', 'key-3', 5, NULL, '2025-04-14T00:00:00Z',
     '2025-04-15T00:00:00Z', '2025-04-14T20:00:00Z');
INSERT INTO visitor_tracking (session_id, ip_address, ip_version, country, device_type,
    page_url, visit_duration, created_at) VALUES
    ('s-night', '203.0.113.1', 4, 'BR', 'mobile', 'https://bcf.example/docs', 15,
     '2025-04-15T04:00:00Z');
"""

Rows = dict[str, list[tuple[object, ...]]]


def _dbt_env(url: str) -> dict[str, str]:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BCF_", "DBT_"))}
    env.update(
        BCF_DBT_HOST=parsed.host or "127.0.0.1", BCF_DBT_PORT=str(parsed.port or 5432),
        BCF_DBT_USER=parsed.username or "postgres", BCF_DBT_PASSWORD=parsed.password or "",
        BCF_DBT_DBNAME=parsed.database or "", BCF_DBT_THREADS="1",
        BCF_DBT_ROLE="bcf_pipeline", BCF_DBT_AS_OF=AS_OF, BCF_PSEUDONYMISATION_KEY=KEY,
        BCF_REPORTING_TZ="America/Sao_Paulo", DBT_SEND_ANONYMOUS_USAGE_STATS="False",
        PGOPTIONS="-c client_min_messages=warning",
    )  # fmt: skip
    return env


def _run_marts(url: str, work: Path, *extra: str) -> None:
    command = [
        DBT, "run", "--select", *MARTS, "int_sessions", "+stg_audit__audit_events",
        "+stg_usage__usage_events", "+stg_tracking__visitor_events",
        "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT),
        "--target-path", str(work / "target"), "--log-path", str(work / "logs"), *extra,
    ]  # fmt: skip
    done = subprocess.run(
        command, env=_dbt_env(url), capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stdout[-6000:]


def _marts(url: str) -> Rows:
    models = {mart: f"marts.{mart}" for mart in MARTS} | {
        "int_sessions": "intermediate.int_sessions"
    }
    with psycopg.connect(url) as conn:
        return {
            model: conn.execute(f"SELECT * FROM {table} AS t ORDER BY t::text").fetchall()
            for model, table in models.items()
        }


def _compiled(work: Path, mart: str) -> str:
    (path,) = (work / "target" / "compiled").rglob(f"{mart}.sql")
    return path.read_text()


def _insert(url: str, sql: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(sql)


def _both_ways(url: str, work: Path) -> tuple[Rows, Rows]:
    """(marts read from the aggregates, incrementally after late events; marts rebuilt from
    the events alone)."""
    _insert(url, EVENTS)
    _run_marts(url, work / "first")
    _insert(url, LATE_EVENTS)
    _run_marts(url, work / "rollups")
    from_rollups = _marts(url)
    _run_marts(
        url, work / "events", "--full-refresh", "--vars", "{use_continuous_aggregates: false}"
    )
    return from_rollups, _marts(url)


@pytest.mark.timescaledb
@pytest.mark.timeout(900)
def test_rollups_and_events_give_the_same_marts_on_timescaledb_and_postgresql(
    migrated_database_url: str, tmp_path: Path
) -> None:
    with running_timescaledb() as timescale_url:
        migrate.upgrade(timescale_url)
        with psycopg.connect(timescale_url) as conn:
            views = conn.execute(
                "SELECT view_name, materialized_only FROM "
                "timescaledb_information.continuous_aggregates ORDER BY 1"
            ).fetchall()
            policies = conn.execute(
                "SELECT proc_name, hypertable_name FROM timescaledb_information.jobs "
                "WHERE proc_name IN ('policy_refresh_continuous_aggregate', "
                "'policy_compression') ORDER BY 1, 2"
            ).fetchall()
        assert views == [
            ("audit_logs_daily", False), ("platform_usage_daily", False),
            ("visitor_sessions_daily", False), ("visitor_tracking_daily", False),
            ("visitor_tracking_hourly", False),
        ]  # fmt: skip
        refreshed = [h for proc, h in policies if proc == "policy_refresh_continuous_aggregate"]
        assert len(refreshed) == 5
        compressed = [h for proc, h in policies if proc == "policy_compression"]
        assert len(compressed) == 4 + 5  # the four event tables and the five aggregates

        timescale_rollups, timescale_events = _both_ways(timescale_url, tmp_path / "ts")
        for mart, rollup in ROLLUPS.items():
            assert f'"public"."{rollup}"' in _compiled(tmp_path / "ts" / "rollups", mart)
            assert f'"public"."{rollup}"' not in _compiled(tmp_path / "ts" / "events", mart)

    postgres_first, postgres_events = _both_ways(migrated_database_url, tmp_path / "pg")
    for mart, rollup in ROLLUPS.items():
        assert f'"public"."{rollup}"' not in _compiled(tmp_path / "pg" / "rollups", mart)

    assert timescale_rollups == timescale_events
    assert timescale_rollups == postgres_events
    assert postgres_first == postgres_events
    audit = {(str(r[0]), str(r[1]), r[2]): r[5:] for r in timescale_rollups[MARTS[0]]}
    # 13 Apr in São Paulo: the 23:59 UTC event is 20:59 there; 02:30 UTC on 15 Apr is 14 Apr.
    assert audit[("2025-04-14", T_A, "read")] == (4, 2, 0, 3)
    assert audit[("2025-04-15", T_A, "update")] == (1, 0, 1, 0)
    assert ("2025-04-13", T_B, "update") in audit
    usage = {(str(r[0]), r[2]): r[3:] for r in timescale_rollups[MARTS[1]]}
    assert usage[("2025-04-14", "api_calls")][:2] == (3, 155)
    sessions = {row[0]: row for row in timescale_rollups["int_sessions"]}
    assert set(sessions) == {"s-night", "s-tie"}  # the bot's session is left out
    night = sessions["s-night"]
    # Started 20:00 on 14 Apr in São Paulo, landing on Google's click id; the first visitor
    # id; five events, three page views (the late one too), a lead and 49.90 converted.
    assert (str(night[1]), night[4], night[5], night[13]) == ("2025-04-14", "v-1", "paid", 3)
    assert (night[14], night[16], night[17]) == (5, 85, 1)
    assert (night[18], night[19]) == (1, Decimal("49.90"))
    tie = sessions["s-tie"]
    assert (tie[7], tie[10]) == ("email", "https://bcf.example/a")  # the lower event id lands
