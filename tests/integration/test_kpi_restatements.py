"""A closed month's KPIs are kept as first reported; a later change is listed with its cause,
warned about, and shown in the CEO report.

On test_dbt_build's dataset ("now" 2025-04-15): January to March are closed. A payment of
15 February arrives late, through a completed ingest batch, after the first build.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from orchestration.defs.ceo_report.build import number_format
from orchestration.defs.ceo_report.queries import MartReader, read_marts
from orchestration.defs.ceo_report.render import compose_report
from tests.integration.test_dbt_build import DATASET, T_A, U_A, _dbt, _dbt_env

CLOSED_MONTHS = [date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)]
SELECTION = ("build", "--select", "+kpi_restatements", "--indirect-selection", "cautious")

LATE_PAYMENT = f"""
INSERT INTO raw.ingest_batches (source, source_file, status, rows_in, rows_loaded,
    min_event_at, max_event_at, started_at, finished_at)
VALUES ('payments', 'late.json', 'completed', 1, 1, '2025-02-15T15:00:00Z',
    '2025-02-15T15:00:00Z', now(), now());
INSERT INTO financial_transactions (tenant_id, user_id, transaction_type, amount, currency,
    status, metadata, processed_at, source_record_id)
VALUES ('{T_A}', '{U_A}', 'payment', 300.00, 'BRL', 'completed', '{{"revenue_type": "other"}}',
    '2025-02-15T15:00:00Z', 'ch_late');
"""


def _history(url: str) -> dict[tuple[date, str], list[Decimal | None]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT month, metric, value FROM marts.kpi_as_reported ORDER BY reported_at"
        ).fetchall()
    history: dict[tuple[date, str], list[Decimal | None]] = {}
    for month, metric, value in rows:
        history.setdefault((month, metric), []).append(value)
    return history


def _warned(output: str) -> bool:
    return any(
        "assert_closed_months_unchanged" in line and "WARN" in line for line in output.splitlines()
    )


@pytest.mark.timeout(900)
def test_a_late_payment_restates_its_closed_month_with_the_cause(
    migrated_database_url: str, tmp_path: Path
) -> None:
    with psycopg.connect(migrated_database_url) as conn:
        conn.execute(DATASET)
    env = _dbt_env(migrated_database_url)

    first = _dbt(tmp_path, env, *SELECTION)
    reported = _history(migrated_database_url)
    assert sorted({month for month, _ in reported}) == CLOSED_MONTHS  # April is still open
    assert {len(values) for values in reported.values()} == {1}
    assert not _warned(first)
    february_net = reported[date(2025, 2, 1), "net_revenue"][0]
    assert february_net is not None

    with psycopg.connect(migrated_database_url) as conn:
        conn.execute(LATE_PAYMENT)
    second = _dbt(tmp_path, env, *SELECTION)
    assert _warned(second)
    with psycopg.connect(migrated_database_url) as conn:
        restated = conn.execute(
            "SELECT month, metric, first_reported_value, old_value, new_value, change, cause "
            "FROM marts.kpi_restatements ORDER BY metric"
        ).fetchall()
    february = date(2025, 2, 1)
    assert {(row[0], row[1]) for row in restated} == {
        (february, "gross_revenue"),
        (february, "net_revenue"),
    }
    net = next(row for row in restated if row[1] == "net_revenue")
    assert net[2:] == (
        february_net,
        february_net,
        february_net + Decimal("300.00"),
        Decimal("300.00"),
        "late data: payments",
    )

    # The report of April (the month asked for) lists February's changed figures.
    with MartReader(migrated_database_url) as reader:
        kpis = reader.fetch("kpis")
        rows = read_marts(reader, kpis, date(2024, 5, 1), date(2025, 4, 1))
    report = compose_report(
        rows,
        date(2025, 4, 1),
        number_format("BRL"),
        currency="BRL",
        time_zone="America/Sao_Paulo",
        generated_at=datetime(2025, 4, 15, 12, tzinfo=UTC),
    )
    assert 'id="restatements"' in report.html
    assert "late data: payments" in report.html
    assert number_format("BRL").money(february_net + 300) in report.html

    # Restated once: the next build records and warns no more, the history keeps both values.
    third = _dbt(tmp_path, env, *SELECTION)
    assert not _warned(third)
    history = _history(migrated_database_url)
    assert history[february, "net_revenue"] == [february_net, february_net + Decimal("300.00")]
    assert {key: values[:1] for key, values in history.items()} == reported
