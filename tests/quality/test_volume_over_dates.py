"""The volume check on the demo's own data, run as on 28 consecutive days.

The demo's data ends yesterday and the check judges its last day, so its verdict moves with
the date: a Sunday held against the week's average failed, and CI went red on every day
after a weekend day. Here the data is generated once with a fixed end date, with the demo
test's arguments, and the check judges each of the 28 days up to it as its last (the
data is cut after each day in turn and the check runs at noon of the next, as the demo does
on the data it generated up to yesterday): 9 Nov-6 Dec 2026, four of each weekday, a Sunday
holiday (15 Nov), a Friday holiday (20 Nov) and Black Friday's campaigns (27 Nov).
The other checks hold every row to rules that do not depend on the day of the week.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

from core.db.engine import create_db_engine
from core.settings import Settings
from demo_data import generate
from ingestion.load import landing_files, load_file
from ingestion.sources.registry import available_sources
from quality.volume import EVENT_TABLES, VolumeBand, VolumeResult, check_volume
from tests.conftest import temporary_database

END = date(2026, 12, 6)
END_DATES = [END - timedelta(days=n) for n in range(27, -1, -1)]
EVENT_SOURCES = ("tracking", "behaviour", "audit", "usage")
TZ = "America/Sao_Paulo"
# Days cut to a tenth of their rows: a Sunday, a Wednesday, a Friday holiday and a Friday.
DROPPED = (date(2026, 10, 11), date(2026, 11, 4), date(2026, 11, 20), date(2026, 12, 4))


@pytest.fixture(scope="module")
def demo_data(
    postgres_admin_url: str, migrated_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The demo test's data (20 tenants, 400 days, 400 tracking events a day, seed 7) up to
    END, its event sources loaded: a database the tests clone."""
    landing = tmp_path_factory.mktemp("landing")
    with temporary_database(postgres_admin_url, "bcf_volume", template=migrated_template) as url:
        generate(url, landing, tenants=20, days=400, events_per_day=400, seed=7, end_date=END)
        settings = Settings(database_url=url, landing_dir=landing)
        sources = [s for name, s in available_sources().items() if name in EVENT_SOURCES]
        for source, path in landing_files(landing, sources):
            assert load_file(url, source, path, settings).rows_quarantined == 0
        yield url


def _start_of(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), ZoneInfo(TZ))


def _end_data_on(url: str, day: date) -> None:
    """Delete every event after `day`: the data as it stood when `day` was yesterday."""
    with psycopg.connect(url) as conn:
        for table in EVENT_TABLES:
            conn.execute(
                f"DELETE FROM {table.qualified} WHERE created_at >= %s",
                (_start_of(day + timedelta(days=1)),),
            )


def _cut_to_a_tenth(url: str, day: date) -> None:
    with psycopg.connect(url) as conn:
        for table in EVENT_TABLES:
            conn.execute(
                f"DELETE FROM {table.qualified} WHERE created_at >= %(start)s "
                "AND created_at < %(end)s AND id NOT IN (SELECT id FROM "
                f"{table.qualified} WHERE created_at >= %(start)s AND created_at < %(end)s "
                "ORDER BY id LIMIT (SELECT count(*) / 10 FROM "
                f"{table.qualified} WHERE created_at >= %(start)s AND created_at < %(end)s))",
                {"start": _start_of(day), "end": _start_of(day + timedelta(days=1))},
            )


def _volumes_the_next_day(url: str, day: date) -> list[VolumeResult]:
    """Every event table's volume check at noon of the day after `day`, as the demo runs."""
    band = VolumeBand.from_settings(Settings())
    noon = _start_of(day + timedelta(days=1)) + timedelta(hours=12)
    engine = create_db_engine(url)
    try:
        return [
            check_volume(engine, table, band, time_zone=TZ, as_of=noon) for table in EVENT_TABLES
        ]
    finally:
        engine.dispose()


def _clone(postgres_admin_url: str, url: str, prefix: str) -> AbstractContextManager[str]:
    template = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    return temporary_database(postgres_admin_url, prefix, template=str(template))


def test_the_demo_data_passes_the_volume_check_on_28_consecutive_days(
    postgres_admin_url: str, demo_data: str
) -> None:
    judged = []
    with _clone(postgres_admin_url, demo_data, "bcf_volume_days") as url:
        for day in reversed(END_DATES):
            _end_data_on(url, day)
            results = _volumes_the_next_day(url, day)
            assert [r.latest_day for r in results] == [day] * len(EVENT_TABLES)
            judged += results
    assert all(r.expected_min is not None and not r.in_progress for r in judged)
    assert [r.message for r in judged if not r.passed] == []


def test_a_day_at_a_tenth_of_its_volume_still_fails(
    postgres_admin_url: str, demo_data: str
) -> None:
    with _clone(postgres_admin_url, demo_data, "bcf_volume_drops") as url:
        for day in sorted(DROPPED, reverse=True):
            _end_data_on(url, day)
            _cut_to_a_tenth(url, day)
            for result in _volumes_the_next_day(url, day):
                assert result.latest_day == day
                assert not result.passed, result.message
                assert f"{day} (" in result.message
                assert "below 0.5x the average of" in result.message
