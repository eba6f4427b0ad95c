"""The volume rule on daily counts (the SQL that produces them is in test_fault_injection and
test_volume_over_dates): the latest day against the days like it in the weeks before."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from core.reporting_calendar import brazilian_holidays
from core.settings import Settings
from quality.volume import VolumeBand, evaluate

BAND = VolumeBand(
    window_days=28, min_ratio=0.5, max_ratio=2.0, min_history_days=14, holiday_calendar="BR"
)
FIRST = date(2026, 1, 1)
TODAY = date(2027, 6, 1)  # after every latest day below: complete days
WEEKDAY_ROWS, WEEKEND_ROWS = 160, 70  # the demo's audit volume: weekends about half


def weekly(first: date, last: date, *, holidays: bool = True) -> dict[date, int]:
    """A week of busy weekdays and quiet weekends; holidays as quiet as a Sunday."""
    quiet = brazilian_holidays(first.year) | brazilian_holidays(last.year) if holidays else set()
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return {
        day: WEEKEND_ROWS if day.weekday() >= 5 or day in quiet else WEEKDAY_ROWS for day in days
    }


@pytest.mark.parametrize("latest", [date(2026, 11, 30) + timedelta(days=n) for n in range(14)])
def test_a_normal_week_passes_on_every_day_of_it(latest: date) -> None:
    result = evaluate("t", weekly(FIRST, latest), latest, FIRST, TODAY, BAND)
    assert result.passed, result.message
    expected = WEEKEND_ROWS if latest.weekday() >= 5 else WEEKDAY_ROWS
    assert result.trailing_average == expected


def test_a_sunday_is_compared_with_sundays_not_with_the_week() -> None:
    sunday = date(2026, 12, 6)  # the day that failed: 61 audit rows against 140.6 a day
    counts = {**weekly(FIRST, sunday), sunday: 61}
    result = evaluate("public.audit_logs", counts, sunday, FIRST, TODAY, BAND)
    assert result.passed, result.message
    sundays = [sunday - timedelta(days=7 * n) for n in (4, 3, 2, 1)]
    assert result.compared_days == sorted([*sundays, date(2026, 11, 20)])  # and a holiday
    assert "2026-12-06 (Sunday): 61 rows, within" in result.message
    assert "the average of 5 earlier Sunday(s) and holiday(s) (70.0)" in result.message


@pytest.mark.parametrize("latest", [date(2026, 11, 30) + timedelta(days=n) for n in range(7)])
def test_a_day_at_a_tenth_of_its_usual_volume_fails_on_every_weekday(latest: date) -> None:
    counts = weekly(FIRST, latest)
    counts[latest] //= 10
    result = evaluate("t", counts, latest, FIRST, TODAY, BAND)
    assert not result.passed
    assert f"{latest} ({latest:%A}): {counts[latest]} rows, below 0.5x the average" in (
        result.message
    )


def test_a_holiday_is_compared_with_sundays_and_left_out_of_its_weekday() -> None:
    holiday = date(2026, 11, 20)  # Black Consciousness Day, a Friday
    result = evaluate("t", weekly(FIRST, holiday), holiday, FIRST, TODAY, BAND)
    assert result.passed, result.message
    assert "2026-11-20 (Friday, a holiday)" in result.message
    assert result.compared_days == [
        date(2026, 10, 25), date(2026, 11, 1), date(2026, 11, 2),  # All Souls', a Monday
        date(2026, 11, 8), date(2026, 11, 15),
    ]  # fmt: skip

    next_friday = holiday + timedelta(days=7)
    after = evaluate("t", weekly(FIRST, next_friday), next_friday, FIRST, TODAY, BAND)
    assert after.passed, after.message
    assert holiday not in after.compared_days
    assert after.trailing_average == WEEKDAY_ROWS


def test_without_a_holiday_calendar_a_quiet_holiday_is_a_drop() -> None:
    holiday = date(2026, 11, 20)
    band = VolumeBand(28, 0.5, 2.0, 14, holiday_calendar="none")
    counts = {**weekly(FIRST, holiday, holidays=False), holiday: 45}
    assert not evaluate("t", counts, holiday, FIRST, TODAY, band).passed
    assert evaluate("t", counts, holiday, FIRST, TODAY, BAND).passed


def test_spike_and_missing_day_fail_with_the_numbers() -> None:
    latest = date(2026, 11, 24)  # a Tuesday
    spike = {**weekly(FIRST, latest), latest: 321}
    result = evaluate("t", spike, latest, FIRST, TODAY, BAND)
    assert not result.passed
    assert "321 rows, above 2x the average of 4 earlier Tuesday(s) (160.0), max 320.0" in (
        result.message
    )
    missing = {**weekly(FIRST, latest), date(2026, 11, 18): 0}
    result = evaluate("t", missing, latest, FIRST, TODAY, BAND)
    assert result.missing_days == [date(2026, 11, 18)]
    assert "1 day(s) without any row in the 28 days before 2026-11-24: 2026-11-18" in (
        result.message
    )


def test_small_volumes_widen_the_band_to_the_counts_own_noise() -> None:
    latest = date(2026, 11, 24)
    counts = {day: 9 for day in weekly(FIRST, latest)}
    counts[latest] = 2  # 9 expected: a 2 is chance, a 0 would be a missing feed's business
    result = evaluate("t", counts, latest, FIRST, TODAY, BAND)
    assert result.passed, result.message
    assert result.expected_min == 0.0
    assert result.expected_max == pytest.approx(9 + 4 * 3)


def test_today_is_held_to_the_upper_bound_only() -> None:
    latest = date(2026, 11, 24)
    quiet_morning = {**weekly(FIRST, latest), latest: 3}
    result = evaluate("t", quiet_morning, latest, FIRST, latest, BAND)
    assert result.passed
    assert result.in_progress
    busy_morning = {**weekly(FIRST, latest), latest: 400}
    assert not evaluate("t", busy_morning, latest, FIRST, latest, BAND).passed


def test_history_before_the_first_day_is_not_missing_and_short_history_is_not_judged() -> None:
    latest = date(2026, 11, 24)
    first = latest - timedelta(days=10)
    counts = {**weekly(first, latest), latest: 5000}
    result = evaluate("t", counts, latest, first, TODAY, BAND)
    assert result.passed
    assert result.missing_days == []
    assert "10 day(s) of history, fewer than the 14 needed to compare" in result.message
    assert evaluate("t", {}, None, None, TODAY, BAND).passed


def test_settings_refuse_a_band_upside_down_and_an_unknown_calendar() -> None:
    with pytest.raises(ValidationError, match="must be below"):
        Settings(quality_volume_min_ratio=2.0, quality_volume_max_ratio=1.5)
    with pytest.raises(ValidationError, match="quality_volume_holidays"):
        Settings(quality_volume_holidays="XX")
