"""Reading the dbt sources' freshness rules from a manifest (the SQL they run is exercised on
a real database in test_fault_injection)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from quality.freshness import sources_with_freshness

ARRIVAL = """select max(finished_at) from raw.ingest_batches
where source = 'audit' and status = 'completed'
"""


def _source(name: str, **config: Any) -> dict[str, Any]:
    return {
        "unique_id": f"source.bcf.s.{name}",
        "schema": "public",
        "name": name,
        "identifier": name,
        "config": config,
    }


def test_rules_by_arrival_and_by_column_are_read_with_their_thresholds() -> None:
    day = {"count": 1, "period": "day"}
    manifest = {
        "sources": {
            "a": _source("audit_logs", loaded_at_query=ARRIVAL, freshness={"warn_after": day}),
            "b": _source(
                "legacy",
                loaded_at_field="created_at",
                freshness={"error_after": {"count": 6, "period": "hour"}},
            ),
            "c": _source("tenants"),  # no rule: not checked
        }
    }
    audit, legacy = sources_with_freshness(manifest)

    assert (audit.qualified, audit.measure) == ("public.audit_logs", "arrival")
    assert audit.loaded_at_query == (
        "select max(finished_at) from raw.ingest_batches "
        "where source = 'audit' and status = 'completed'"
    )
    assert (audit.warn_after, audit.error_after) == (timedelta(days=1), None)
    assert "FROM (select max(finished_at)" in audit.newest_sql("now()")

    assert (legacy.measure, legacy.error_after) == ("created_at", timedelta(hours=6))
    assert 'max("created_at")' in legacy.newest_sql("now()")


def test_a_query_written_with_jinja_is_refused_with_its_source() -> None:
    manifest = {
        "sources": {
            "a": _source(
                "audit_logs",
                loaded_at_query="select max(x) from {{ ref('y') }}",
                freshness={"warn_after": {"count": 1, "period": "day"}},
            )
        }
    }
    with pytest.raises(ValueError, match=r"source\.bcf\.s\.audit_logs uses Jinja"):
        sources_with_freshness(manifest)
