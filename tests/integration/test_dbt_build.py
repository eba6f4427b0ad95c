"""`dbt build` end to end against a fresh migrated PostgreSQL, on a small hand-made dataset.

The dataset is written with SQL (no ingestion code involved) and the expected numbers are
computed by hand below. dbt runs as a subprocess with its BCF_DBT_* settings pointed at the
test's database, as role bcf_pipeline (the production owner of the dbt schemas), and writes
its artifacts and logs into the test's tmp folder, never into the repository. "Now" is fixed
(BCF_DBT_AS_OF) so the current month and every run are reproducible.

The story (reporting time zone America/Sao_Paulo, currency BRL, as of 2025-04-15 12:00 UTC):
- tenant A: `pro` 100 BRL/month from 10 Jan, 2 seats from 15 Feb, asks on 5 Mar to cancel at
  the period end (10 Apr), ends 10 Apr. MRR Jan 100 (new), Feb 200 (expansion), Mar 200
  (still active at 31 Mar), Apr 0 (churn).
- tenant B: `team-yearly` 1200 USD/year from 23:30 in São Paulo on 31 Jan (02:30 UTC on
  1 Feb): 100 USD a month at the rate of the day measured: 31 Jan 4.9 -> 490.00 (new, a
  January customer), 28 Feb 5.0 -> 500.00, 31 Mar 5.2 -> 520.00, 15 Apr (carried from Friday
  11 Apr) 5.5 -> 550.00 (each an expansion: FX moves MRR).
- tenant C: a trial from 1 Mar (0), paying 100 BRL from 1 Apr: new in April.
- Money: A pays 100 on 10 Jan and 200 at 23:30 in São Paulo on 28 Feb (02:30 UTC on
  1 Mar: a February payment), 50 of it refunded on 10 Mar; B pays 1200 USD on Saturday
  1 Feb (Friday's rate 4.9: 5880.00) and a 10 USD commission on 3 Mar (5.1: 51.00) that is
  disputed on 20 Mar (Stripe withdraws the funds then: the rate of 3 Mar, 5.1: a 51.00 March
  chargeback) and won on 2 Apr (the funds reinstated at 5.3: 53.00, a negative April
  chargeback). A pending and a failed payment are not money.
  Net: 100 + 200 - 50 + 5880 + 51 - 51 + 53 = 6183.00.
- Web, 14 Apr: a Google Ads session with two page views, an email session with one (a
  bounce), a bot. Later a late page view turns the email session into a two-page visit.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

DBT = str(Path(sys.executable).parent / "dbt")
PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
KEY = "test-pseudonymisation-key"
AS_OF = "2025-04-15T12:00:00Z"

T_A = "a0000000-0000-4000-8000-00000000000a"
T_B = "b0000000-0000-4000-8000-00000000000b"
T_C = "c0000000-0000-4000-8000-00000000000c"
U_A = "a0000000-0000-4000-8000-0000000000a1"
U_B = "b0000000-0000-4000-8000-0000000000b1"
U_C = "c0000000-0000-4000-8000-0000000000c1"

DATASET = f"""
INSERT INTO tenants (id, name, slug, type, created_at) VALUES
    ('{T_A}', 'Acme', 'acme', 'empresa', '2025-01-05T12:00:00Z'),
    ('{T_B}', 'Bravo', 'bravo', 'trader', '2025-02-01T02:30:00Z'),
    ('{T_C}', 'Charlie', 'charlie', 'influencer', '2025-03-01T12:00:00Z');
INSERT INTO users (id, email) VALUES
    ('{U_A}', 'ana@example.com'), ('{U_B}', 'bia@example.com'), ('{U_C}', 'caio@example.com');
INSERT INTO subscription_plans (name, slug, price, currency, billing_cycle, features, limits) VALUES
    ('Pro', 'pro', 100.00, 'BRL', 'monthly', '{{}}', '{{"bots": 2}}'),
    ('Team yearly', 'team-yearly', 1200.00, 'USD', 'yearly', '{{}}', '{{"bots": -1}}');

INSERT INTO raw.subscription_events (event_id, subscription_id, event_type, event_created_at,
    tenant_id, user_id, status, plan_slug, unit_amount, currency, billing_cycle, quantity,
    current_period_start, current_period_end, cancel_at_period_end, canceled_at, ended_at) VALUES
    ('evt_a1', 'sub_a', 'customer.subscription.created', '2025-01-10T12:00:00Z', '{T_A}', '{U_A}',
     'active', 'pro', 100.00, 'BRL', 'monthly', 1, '2025-01-10T12:00:00Z', '2025-02-10T12:00:00Z',
     false, NULL, NULL),
    ('evt_a2', 'sub_a', 'customer.subscription.updated', '2025-02-15T12:00:00Z', '{T_A}', '{U_A}',
     'active', 'pro', 100.00, 'BRL', 'monthly', 2, '2025-02-10T12:00:00Z', '2025-03-10T12:00:00Z',
     false, NULL, NULL),
    ('evt_a3', 'sub_a', 'customer.subscription.updated', '2025-03-05T12:00:00Z', '{T_A}', '{U_A}',
     'active', 'pro', 100.00, 'BRL', 'monthly', 2, '2025-03-10T12:00:00Z', '2025-04-10T12:00:00Z',
     true, '2025-03-05T12:00:00Z', NULL),
    ('evt_a4', 'sub_a', 'customer.subscription.deleted', '2025-04-10T12:00:00Z', '{T_A}', '{U_A}',
     'canceled', 'pro', 100.00, 'BRL', 'monthly', 2, '2025-03-10T12:00:00Z',
     '2025-04-10T12:00:00Z', false, '2025-03-05T12:00:00Z', '2025-04-10T12:00:00Z'),
    ('evt_b1', 'sub_b', 'customer.subscription.created', '2025-02-01T02:30:00Z', '{T_B}', '{U_B}',
     'active', 'team-yearly', 1200.00, 'USD', 'yearly', 1, '2025-02-01T02:30:00Z',
     '2026-02-01T02:30:00Z', false, NULL, NULL),
    ('evt_c1', 'sub_c', 'customer.subscription.created', '2025-03-01T12:00:00Z', '{T_C}', '{U_C}',
     'trialing', 'pro', 100.00, 'BRL', 'monthly', 1, '2025-03-01T12:00:00Z',
     '2025-04-01T12:00:00Z', false, NULL, NULL),
    ('evt_c2', 'sub_c', 'customer.subscription.updated', '2025-04-01T12:00:00Z', '{T_C}', '{U_C}',
     'active', 'pro', 100.00, 'BRL', 'monthly', 1, '2025-04-01T12:00:00Z',
     '2025-05-01T12:00:00Z', false, NULL, NULL);

INSERT INTO raw.fx_rates (rate_date, currency, rate) VALUES
    ('2025-01-31', 'USD', 4.9), ('2025-02-28', 'USD', 5.0), ('2025-03-03', 'USD', 5.1),
    ('2025-03-31', 'USD', 5.2), ('2025-04-02', 'USD', 5.3), ('2025-04-11', 'USD', 5.5);

INSERT INTO financial_transactions (tenant_id, user_id, transaction_type, amount, currency,
    status, metadata, processed_at, source_record_id) VALUES
    ('{T_A}', '{U_A}', 'payment', 100.00, 'BRL', 'completed', '{{"revenue_type": "subscription"}}',
     '2025-01-10T12:00:00Z', 'ch_a1'),
    ('{T_A}', '{U_A}', 'payment', 200.00, 'BRL', 'completed', '{{"revenue_type": "subscription"}}',
     '2025-03-01T02:30:00Z', 'ch_a2'),
    ('{T_A}', '{U_A}', 'refund', 50.00, 'BRL', 'completed', '{{"revenue_type": "subscription"}}',
     '2025-03-10T12:00:00Z', 're_a2'),
    ('{T_A}', '{U_A}', 'payment', 70.00, 'BRL', 'pending', '{{"revenue_type": "other"}}',
     '2025-03-11T12:00:00Z', 'ch_a3'),
    ('{T_A}', '{U_A}', 'payment', 80.00, 'BRL', 'failed', '{{"revenue_type": "other"}}',
     '2025-03-12T12:00:00Z', 'ch_a4'),
    ('{T_B}', '{U_B}', 'payment', 1200.00, 'USD', 'completed', '{{"revenue_type": "subscription"}}',
     '2025-02-01T15:00:00Z', 'ch_b1'),
    ('{T_B}', '{U_B}', 'payment', 10.00, 'USD', 'completed', '{{"revenue_type": "commission"}}',
     '2025-03-03T15:00:00Z', 'ch_b2'),
    ('{T_B}', '{U_B}', 'chargeback', 10.00, 'USD', 'completed',
     '{{"revenue_type": "commission", "dispute_funds": "withdrawn",
        "closed_at": "2025-04-02T15:00:00+00:00"}}',
     '2025-03-20T15:00:00Z', 'dp_b2'),
    ('{T_B}', '{U_B}', 'chargeback', 10.00, 'USD', 'completed',
     '{{"revenue_type": "commission", "dispute_funds": "reinstated",
        "closed_at": "2025-04-02T15:00:00+00:00"}}',
     '2025-04-02T15:00:00Z', 'dp_b2:reinstated');

INSERT INTO visitor_tracking (id, session_id, ip_address, ip_version, page_url, gclid,
    utm_source, utm_medium, referrer, country, device_type, visit_duration, metadata, created_at)
VALUES
    (gen_random_uuid(), 's-ads', '198.51.100.1', 4, 'https://bcf.example/', 'gclid-1', 'google',
     'cpc', NULL, 'BR', 'mobile', 30, '{{"is_bot": false, "visitor_id": "v1"}}',
     '2025-04-14T13:00:00Z'),
    (gen_random_uuid(), 's-ads', '198.51.100.1', 4, 'https://bcf.example/precos', NULL, NULL,
     NULL, NULL, 'BR', 'mobile', 40, '{{"is_bot": false, "visitor_id": "v1"}}',
     '2025-04-14T13:01:00Z'),
    (gen_random_uuid(), 's-mail', '198.51.100.2', 4, 'https://bcf.example/', NULL, 'newsletter',
     'email', NULL, 'BR', 'desktop', 15, '{{"is_bot": false, "visitor_id": "v2"}}',
     '2025-04-14T14:00:00Z'),
    (gen_random_uuid(), 's-bot', '198.51.100.3', 4, 'https://bcf.example/', NULL, NULL, NULL,
     NULL, 'US', 'bot', 0, '{{"is_bot": true}}', '2025-04-14T15:00:00Z');

INSERT INTO user_behavior_tracking (user_id, tenant_id, action, created_at) VALUES
    ('{U_A}', '{T_A}', 'login', '2025-04-01T12:00:00Z'),
    ('{U_B}', '{T_B}', 'login', '2025-04-02T12:00:00Z'),
    ('{U_B}', '{T_B}', 'start_bot', '2025-04-03T12:00:00Z');

INSERT INTO platform_usage_tracking (tenant_id, user_id, resource_type, usage_count,
    period_start, period_end, created_at) VALUES
    ('{T_C}', '{U_C}', 'bots', 3, '2025-04-10T00:00:00Z', '2025-04-11T00:00:00Z',
     '2025-04-11T00:05:00Z');

INSERT INTO audit_logs (tenant_id, user_id, action, resource, resource_id, ip_address,
    new_values, created_at) VALUES
    ('{T_A}', '{U_A}', 'read', 'user', '{U_C}', '203.0.113.9', NULL, '2025-04-14T12:00:00Z'),
    ('{T_A}', '{U_A}', 'update', 'bot', NULL, NULL, '{{"status": "running"}}',
     '2025-04-14T12:05:00Z');
"""

# Arrive after the first builds: a page view that turns the email session into a two-page
# visit (inside the lookback window), and a new session the next day.
LATE_EVENTS = """
INSERT INTO visitor_tracking (id, session_id, ip_address, ip_version, page_url, country,
    device_type, visit_duration, metadata, created_at) VALUES
    (gen_random_uuid(), 's-mail', '198.51.100.2', 4, 'https://bcf.example/planos', 'BR',
     'desktop', 25, '{"is_bot": false, "visitor_id": "v2"}', '2025-04-14T14:02:00Z'),
    (gen_random_uuid(), 's-direct', '198.51.100.4', 4, 'https://bcf.example/', 'BR',
     'desktop', 5, '{"is_bot": false, "visitor_id": "v3"}', '2025-04-15T11:00:00Z');
"""


def _dbt_env(database_url: str) -> dict[str, str]:
    url = make_url(database_url)
    env = {
        name: value for name, value in os.environ.items() if not name.startswith(("BCF_", "DBT_"))
    }
    env.update(
        BCF_DBT_HOST=url.host or "127.0.0.1",
        BCF_DBT_PORT=str(url.port or 5432),
        BCF_DBT_USER=url.username or "postgres",
        BCF_DBT_PASSWORD=url.password or "",
        BCF_DBT_DBNAME=url.database or "",
        BCF_DBT_THREADS="4",
        BCF_DBT_ROLE="bcf_pipeline",
        BCF_DBT_AS_OF=AS_OF,
        BCF_PSEUDONYMISATION_KEY=KEY,
        BCF_REPORTING_TZ="America/Sao_Paulo",
        BCF_REPORTING_CURRENCY="BRL",
        DBT_SEND_ANONYMOUS_USAGE_STATS="False",
    )
    return env


def _dbt(tmp_path: Path, env: dict[str, str], *args: str, ok: bool = True) -> str:
    """Run dbt; its output. It must succeed (`ok`) or fail (not `ok`)."""
    command = [
        DBT,
        *args,
        "--project-dir", str(PROJECT),
        "--profiles-dir", str(PROJECT),
        "--target-path", str(tmp_path / "target"),
        "--log-path", str(tmp_path / "logs"),
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    if ok:
        assert done.returncode == 0, f"dbt {' '.join(args)} failed:\n{done.stdout[-6000:]}"
    else:
        assert done.returncode != 0, f"dbt {' '.join(args)} passed:\n{done.stdout[-6000:]}"
    return done.stdout


def _marts(conn: psycopg.Connection) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every mart and incremental intermediate table, in a stable order."""
    tables = conn.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema IN ('marts', 'intermediate') AND table_type = 'BASE TABLE' "
        "ORDER BY 1, 2"
    ).fetchall()
    return {
        f"{schema}.{name}": conn.execute(
            f'SELECT * FROM "{schema}"."{name}" AS t ORDER BY t::text'
        ).fetchall()
        for schema, name in tables
    }


def _one(conn: psycopg.Connection, sql: str, *params: object) -> tuple[object, ...]:
    row = conn.execute(sql, params).fetchone()
    assert row is not None, sql
    return row


@pytest.mark.timeout(600)
def test_dbt_build_marts_match_the_hand_computed_numbers(
    migrated_database_url: str, tmp_path: Path
) -> None:
    with psycopg.connect(migrated_database_url) as conn:
        conn.execute(DATASET)
    env = _dbt_env(migrated_database_url)
    project_files = set(PROJECT.iterdir())

    _dbt(tmp_path, env, "build")

    with psycopg.connect(migrated_database_url) as conn:
        tenant_mrr = {
            (str(tenant), month.isoformat()): (mrr, movement)
            for month, tenant, mrr, movement in conn.execute(
                "SELECT month, tenant_id, mrr, movement FROM marts.mrr_by_tenant_monthly"
            )
        }
        assert tenant_mrr == {
            (T_A, "2025-01-01"): (Decimal("100.00"), "new"),
            (T_A, "2025-02-01"): (Decimal("200.00"), "expansion"),
            (T_A, "2025-03-01"): (Decimal("200.00"), "unchanged"),
            (T_A, "2025-04-01"): (Decimal("0.00"), "churn"),
            (T_B, "2025-01-01"): (Decimal("490.00"), "new"),
            (T_B, "2025-02-01"): (Decimal("500.00"), "expansion"),
            (T_B, "2025-03-01"): (Decimal("520.00"), "expansion"),
            (T_B, "2025-04-01"): (Decimal("550.00"), "expansion"),
            (T_C, "2025-04-01"): (Decimal("100.00"), "new"),
        }

        april = _one(
            conn,
            "SELECT starting_mrr, new_mrr, expansion_mrr, reactivation_mrr, contraction_mrr, "
            "churned_mrr, ending_mrr, customers_start, new_customers, churned_customers, "
            "customers_end FROM marts.mrr_movements_monthly WHERE month = '2025-04-01'",
        )
        assert april == (
            Decimal("720.00"), Decimal("100.00"), Decimal("30.00"), Decimal("0.00"),
            Decimal("0.00"), Decimal("200.00"), Decimal("650.00"), 2, 1, 1, 2,
        )  # fmt: skip

        kpis = _one(
            conn,
            "SELECT mrr, arr, active_customers, arpa, customer_churn_rate, gross_revenue, "
            "refunds, chargebacks, net_revenue, commission_revenue, new_tenants, "
            "monthly_active_users FROM marts.ceo_kpis_monthly WHERE month = '2025-04-01'",
        )
        assert kpis == (
            Decimal("650.00"), Decimal("7800.00"), 2, Decimal("325.00"), Decimal("0.500000"),
            Decimal("0.00"), Decimal("0.00"), Decimal("-53.00"), Decimal("53.00"),
            Decimal("53.00"), 0, 2,
        )  # fmt: skip
        january = _one(
            conn,
            "SELECT customer_churn_rate, gross_mrr_churn_rate, ltv FROM marts.ceo_kpis_monthly "
            "WHERE month = '2025-01-01'",
        )
        assert january == (None, None, None)  # zero denominators: null, not 0

        revenue = {
            (day.isoformat(), str(tenant), kind, currency): (gross_original, gross, net)
            for day, tenant, kind, currency, gross_original, gross, net in conn.execute(
                "SELECT day, tenant_id, revenue_type, currency_original, gross_amount_original, "
                "gross_amount, net_amount FROM marts.revenue_daily"
            )
        }
        assert revenue == {
            ("2025-01-10", T_A, "subscription", "BRL"): (
                Decimal("100.00"), Decimal("100.00"), Decimal("100.00"),
            ),
            ("2025-02-28", T_A, "subscription", "BRL"): (
                Decimal("200.00"), Decimal("200.00"), Decimal("200.00"),
            ),
            ("2025-03-10", T_A, "subscription", "BRL"): (
                Decimal("0.00"), Decimal("0.00"), Decimal("-50.00"),
            ),
            ("2025-02-01", T_B, "subscription", "USD"): (
                Decimal("1200.00"), Decimal("5880.00"), Decimal("5880.00"),
            ),
            ("2025-03-03", T_B, "commission", "USD"): (
                Decimal("10.00"), Decimal("51.00"), Decimal("51.00"),
            ),
            ("2025-03-20", T_B, "commission", "USD"): (
                Decimal("0.00"), Decimal("0.00"), Decimal("-51.00"),
            ),
            ("2025-04-02", T_B, "commission", "USD"): (
                Decimal("0.00"), Decimal("0.00"), Decimal("53.00"),
            ),
        }  # fmt: skip
        assert _one(conn, "SELECT sum(net_amount) FROM marts.revenue_daily") == (
            Decimal("6183.00"),
        )

        traffic = {
            channel: (sessions, pageviews, bounces, bounce_rate)
            for channel, sessions, pageviews, bounces, bounce_rate in conn.execute(
                "SELECT channel, sessions, pageviews, bounces, bounce_rate "
                "FROM marts.web_traffic_daily WHERE day = '2025-04-14'"
            )
        }
        assert traffic == {
            "paid": (1, 2, 0, Decimal("0.0000")),
            "email": (1, 1, 1, Decimal("1.0000")),
        }

        # People only as the keyed hash, the same as Python's HMAC-SHA256.
        actor, record = _one(
            conn,
            "SELECT actor_pseudonym, record_pseudonym FROM marts.compliance_personal_data_access",
        )
        assert actor == hmac.new(KEY.encode(), U_A.encode(), hashlib.sha256).hexdigest()
        assert record == hmac.new(KEY.encode(), U_C.encode(), hashlib.sha256).hexdigest()

        # BI can read the marts; the column descriptions are PostgreSQL comments.
        assert _one(
            conn,
            "SELECT has_table_privilege('bcf_bi_reader', 'marts.mrr_by_tenant_monthly', "
            "'SELECT'), col_description('marts.mrr_by_tenant_monthly'::regclass, 3) IS NOT NULL",
        ) == (True, True)
        first = _marts(conn)

    # Run again: the incremental models add nothing and the tables rebuilt come out the same.
    _dbt(tmp_path, env, "build")
    with psycopg.connect(migrated_database_url) as conn:
        assert _marts(conn) == first

        conn.execute(LATE_EVENTS)
    # Late and new events: the incremental run equals a full refresh. Built as after an
    # ingest, with the event models' tests on their last week only.
    _dbt(tmp_path, {**env, "BCF_DBT_TEST_WINDOW_DAYS": "7"}, "build")
    with psycopg.connect(migrated_database_url) as conn:
        incremental = _marts(conn)
        assert _one(
            conn,
            "SELECT sessions, pageviews, bounces FROM marts.web_traffic_daily "
            "WHERE day = '2025-04-14' AND channel = 'email'",
        ) == (1, 2, 0)
        assert _one(
            conn, "SELECT sessions FROM marts.web_traffic_daily WHERE day = '2025-04-15'"
        ) == (1,)
    _dbt(tmp_path, env, "run", "--full-refresh")
    with psycopg.connect(migrated_database_url) as conn:
        assert _marts(conn) == incremental

        # A wrong row before the window: the windowed tests do not read it, the full ones do.
        conn.execute(
            "UPDATE marts.web_traffic_daily SET bounces = sessions + 1 WHERE day = '2025-04-14'"
        )
    consistent = ("test", "--select", "web_traffic_daily_counts_consistent")
    _dbt(tmp_path, {**env, "BCF_DBT_TEST_WINDOW_DAYS": "0"}, *consistent)
    assert "web_traffic_daily_counts_consistent" in _dbt(tmp_path, env, *consistent, ok=False)
    with pytest.raises(AssertionError, match="whole number of days"):
        _dbt(tmp_path, {**env, "BCF_DBT_TEST_WINDOW_DAYS": "a week"}, *consistent)

    assert set(PROJECT.iterdir()) == project_files  # no target/ or logs/ left in the repo
