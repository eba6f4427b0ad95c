"""Volume: the latest day's rows of an event table against the same days of the weeks before.

One aggregate query per table (rows per reporting day over the window, on the indexed time
column), evaluated here:
- the *latest day* is the reporting day of the newest row (not later than now): a table
  whose feed stopped is the freshness check's concern, not this one's;
- the *window* is the `window_days` days before it, from the table's first day on (days
  before the history began are not "missing");
- a day of the window with no rows at all is a **missing day**;
- the latest day is compared with the days of the window *like it*: the same weekday, since
  traffic and activity follow the week (a Sunday holds about half a Monday's audit rows);
  a holiday of the reporting calendar is a Sunday, and is left out of its own weekday's
  comparison;
- with at least `min_history_days` days of history, the latest day must hold between
  `min_ratio` and `max_ratio` times their average, a band widened at small volumes to
  the count's own noise (`NOISE_SIGMAS` Poisson deviations). A latest day that is still in
  progress (today) is only held to the upper bound: it is not over yet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import cast

from sqlalchemy import Engine, text

from core import reporting_calendar
from core.db import schema
from core.reporting_calendar import HolidayCalendar
from core.settings import Settings
from quality.gx_run import now_sql
from quality.suites import HYPERTABLE_TIME_COLUMN


@dataclass(frozen=True)
class EventTable:
    schema: str
    table: str
    time_column: str

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.table}"


# The event tables (the hypertables): rows arrive every day, so a day without any is news.
# The money ledgers are not here: a quiet day of payments is normal for a small platform.
EVENT_TABLES: tuple[EventTable, ...] = tuple(
    EventTable("public", table, HYPERTABLE_TIME_COLUMN) for table in schema.HYPERTABLES
)


@dataclass(frozen=True)
class VolumeBand:
    window_days: int
    min_ratio: float
    max_ratio: float
    min_history_days: int
    holiday_calendar: HolidayCalendar

    @classmethod
    def from_settings(cls, settings: Settings) -> VolumeBand:
        """The band of the `BCF_QUALITY_VOLUME_*` settings."""
        return cls(
            window_days=settings.quality_volume_window_days,
            min_ratio=settings.quality_volume_min_ratio,
            max_ratio=settings.quality_volume_max_ratio,
            min_history_days=settings.quality_volume_min_history_days,
            holiday_calendar=settings.quality_volume_holidays,
        )


@dataclass(frozen=True)
class VolumeResult:
    table: str
    passed: bool
    message: str
    latest_day: date | None
    latest_rows: int
    trailing_average: float | None
    expected_min: float | None
    expected_max: float | None
    missing_days: list[date]
    daily_rows: dict[date, int]
    in_progress: bool
    compared_days: list[date] = field(default_factory=list)


def daily_counts(
    engine: Engine,
    table: EventTable,
    *,
    window_days: int,
    time_zone: str,
    as_of: datetime | None,
) -> tuple[dict[date, int], date | None, date | None, date]:
    """(rows per day over the window and the latest day, latest day, first day, today).

    Three index-backed reads: the newest row, the oldest row, and the count per day of
    the last `window_days + 1` days before the newest.
    """
    now = now_sql(as_of)
    column = f'"{table.time_column}"'
    relation = f'"{table.schema}"."{table.table}"'
    day = f"({column} AT TIME ZONE :tz)::date"
    with engine.connect() as conn:
        bounds = conn.execute(
            text(
                f"SELECT ({now} AT TIME ZONE :tz)::date, "
                f"(SELECT max({column}) FROM {relation} WHERE {column} <= {now}), "
                f"(SELECT min({column}) FROM {relation})"
            ),
            {"tz": time_zone},
        ).one()
        today, latest, first = cast(tuple[date, datetime | None, datetime | None], tuple(bounds))
        if latest is None:
            return {}, None, None, today
        rows = conn.execute(
            text(
                f"SELECT {day} AS day, count(*) FROM {relation} "
                f"WHERE {column} >= (CAST(:start AS date)::timestamp AT TIME ZONE :tz) "
                f"AND {column} <= {now} GROUP BY 1"
            ),
            {
                "tz": time_zone,
                "start": _local_day(latest, time_zone) - timedelta(days=window_days),
            },
        ).all()
    counts = {row[0]: int(row[1]) for row in rows}
    assert first is not None  # the table has a newest row, so an oldest
    return counts, _local_day(latest, time_zone), _local_day(first, time_zone), today


def _local_day(instant: datetime, time_zone: str) -> date:
    from zoneinfo import ZoneInfo

    return instant.astimezone(ZoneInfo(time_zone)).date()


# A count's own noise: at small volumes the band widens to this many standard deviations of
# a Poisson count, so a table of a dozen rows a day does not warn on chance alone.
NOISE_SIGMAS = 4.0
_SUNDAY = 6


def evaluate(
    table: str,
    counts: dict[date, int],
    latest_day: date | None,
    first_day: date | None,
    today: date,
    band: VolumeBand,
) -> VolumeResult:
    if latest_day is None or first_day is None:
        return VolumeResult(
            table, True, "no rows yet: nothing to compare", None, 0, None, None, None, [], {}, False
        )
    window = [
        latest_day - timedelta(days=offset)
        for offset in range(band.window_days, 0, -1)
        if latest_day - timedelta(days=offset) >= first_day
    ]
    holidays = reporting_calendar.holidays(
        band.holiday_calendar, window[0] if window else latest_day, latest_day
    )

    def kind(day: date) -> int:
        return _SUNDAY if day in holidays else day.weekday()

    daily = {d: counts.get(d, 0) for d in [*window, latest_day]}
    missing = [d for d in window if daily[d] == 0]
    latest_rows = daily[latest_day]
    in_progress = latest_day >= today
    compared = [d for d in window if kind(d) == kind(latest_day)]
    label = _day_label(latest_day, holidays)
    average = sum(daily[d] for d in compared) / len(compared) if compared else None
    problems: list[str] = []
    if missing:
        problems.append(
            f"{len(missing)} day(s) without any row in the {band.window_days} days before "
            f"{latest_day}: {', '.join(d.isoformat() for d in missing)}"
        )
    expected_min = expected_max = None
    if average is not None and len(window) >= band.min_history_days:
        noise = NOISE_SIGMAS * math.sqrt(average)
        expected_min = max(min(average * band.min_ratio, average - noise), 0.0)
        expected_max = max(average * band.max_ratio, average + noise)
        like = "Sunday(s) and holiday(s)" if kind(latest_day) == _SUNDAY else f"{latest_day:%A}(s)"
        baseline = f"the average of {len(compared)} earlier {like} ({average:.1f})"
        if latest_rows > expected_max:
            problems.append(
                f"{label}: {latest_rows} rows, above {band.max_ratio:g}x {baseline}, "
                f"max {expected_max:.1f}"
            )
        elif latest_rows < expected_min and not in_progress:
            problems.append(
                f"{label}: {latest_rows} rows, below {band.min_ratio:g}x {baseline}, "
                f"min {expected_min:.1f}"
            )
    if problems:
        message = "; ".join(problems)
    elif expected_min is None:
        message = f"{label}: {latest_rows} rows; {len(window)} day(s) of history" + (
            f", fewer than the {band.min_history_days} needed to compare"
            if len(window) < band.min_history_days
            else ", none of them a day like it to compare with"
        )
    else:
        message = (
            f"{label}: {latest_rows} rows, within {expected_min:.1f}-{expected_max:.1f} "
            f"around {baseline}" + (" (day in progress: upper bound only)" if in_progress else "")
        )
    return VolumeResult(
        table=table,
        passed=not problems,
        message=message,
        latest_day=latest_day,
        latest_rows=latest_rows,
        trailing_average=average,
        expected_min=expected_min,
        expected_max=expected_max,
        missing_days=missing,
        daily_rows=daily,
        in_progress=in_progress,
        compared_days=compared,
    )


def _day_label(day: date, holidays: frozenset[date]) -> str:
    return f"{day} ({day:%A}{', a holiday' if day in holidays else ''})"


def check_volume(
    engine: Engine,
    table: EventTable,
    band: VolumeBand,
    *,
    time_zone: str,
    as_of: datetime | None = None,
) -> VolumeResult:
    counts, latest, first, today = daily_counts(
        engine, table, window_days=band.window_days, time_zone=time_zone, as_of=as_of
    )
    return evaluate(table.qualified, counts, latest, first, today, band)
