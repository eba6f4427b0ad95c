"""Which rows a run validates: the event tables' recent days in a run tagged for it, else every
row (the validation itself is in test_fault_injection)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from core.db.schema import HYPERTABLES
from core.settings import Settings
from orchestration.defs.quality.checks import RECENT_DAYS_TAG, recent_days
from quality.gx_run import recent_rows_query
from quality.suites import SUITES, suite_for


def test_only_the_event_tables_can_be_validated_on_their_recent_rows() -> None:
    windowed = {suite.table: suite.time_column for suite in SUITES if suite.time_column}
    assert windowed == dict.fromkeys(HYPERTABLES, "created_at")


def test_the_run_tag_windows_the_event_tables_only() -> None:
    tags = {RECENT_DAYS_TAG: "7"}
    assert recent_days(tags, suite_for("public.visitor_tracking")) == 7
    assert recent_days(tags, suite_for("public.financial_transactions")) is None
    assert recent_days({}, suite_for("public.visitor_tracking")) is None


def test_recent_rows_are_those_of_the_last_days_before_now() -> None:
    suite = suite_for("public.audit_logs")
    assert recent_rows_query(suite, 7, None) == (
        'SELECT * FROM "public"."audit_logs" WHERE "created_at" >= now() - make_interval(days => 7)'
    )
    as_of = datetime(2026, 11, 26, 12, tzinfo=UTC)
    assert "timestamptz '2026-11-26T12:00:00+00:00' - make_interval(days => 3)" in (
        recent_rows_query(suite, 3, as_of)
    )
    with pytest.raises(ValueError, match="no time column"):
        recent_rows_query(suite_for("raw.fx_rates"), 7, None)


def test_recent_days_setting_defaults_to_a_week_and_refuses_zero(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BCF_QUALITY_RECENT_DAYS", raising=False)
    assert Settings().quality_recent_days == 7
    monkeypatch.setenv("BCF_QUALITY_RECENT_DAYS", "0")
    with pytest.raises(ValidationError, match="quality_recent_days"):
        Settings()
