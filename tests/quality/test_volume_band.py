"""The volume rule on daily counts (the SQL that produces them is in test_fault_injection)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from ingestion.quality.volume import VolumeBand, evaluate
from ingestion.settings import Settings

BAND = VolumeBand(window_days=7, min_ratio=0.5, max_ratio=2.0, min_history_days=3)
LATEST = date(2026, 11, 24)
TODAY = date(2026, 11, 26)


def _days(*counts: int) -> dict[date, int]:
    """Counts of the days ending on LATEST, oldest first."""
    return {LATEST - timedelta(days=len(counts) - 1 - i): n for i, n in enumerate(counts)}


def test_a_steady_day_passes() -> None:
    result = evaluate(
        "t", _days(20, 20, 20, 20, 20, 20, 20, 25), LATEST, date(2026, 1, 1), TODAY, BAND
    )
    assert result.passed
    assert result.trailing_average == 20
    assert (result.expected_min, result.expected_max) == (10, 40)


def test_spike_drop_and_missing_day_fail_with_the_numbers() -> None:
    first = date(2026, 1, 1)
    spike = evaluate("t", _days(20, 20, 20, 20, 20, 20, 20, 41), LATEST, first, TODAY, BAND)
    assert not spike.passed
    assert "41 rows, above 2x the trailing average of 20.0 (max 40.0)" in spike.message
    drop = evaluate("t", _days(20, 20, 20, 20, 20, 20, 20, 9), LATEST, first, TODAY, BAND)
    assert "below 0.5x" in drop.message
    missing = evaluate("t", _days(20, 20, 20, 0, 20, 20, 20, 20), LATEST, first, TODAY, BAND)
    assert missing.missing_days == [date(2026, 11, 20)]
    assert "1 day(s) without any row" in missing.message


def test_today_is_held_to_the_upper_bound_only() -> None:
    quiet_morning = evaluate(
        "t", _days(20, 20, 20, 20, 20, 20, 20, 2), LATEST, LATEST - timedelta(days=30), LATEST, BAND
    )
    assert quiet_morning.passed
    assert quiet_morning.in_progress


def test_history_before_the_first_day_is_not_missing_and_short_history_is_not_judged() -> None:
    result = evaluate("t", _days(5, 500), LATEST, LATEST - timedelta(days=1), TODAY, BAND)
    assert result.passed
    assert result.missing_days == []
    assert "fewer than the 3 needed" in result.message
    assert evaluate("t", {}, None, None, TODAY, BAND).passed


def test_settings_refuse_a_band_upside_down() -> None:
    with pytest.raises(ValidationError, match="must be below"):
        Settings(quality_volume_min_ratio=2.0, quality_volume_max_ratio=1.5)
