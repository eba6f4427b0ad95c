"""The Dagster side of ingestion: definitions load, assets materialize in-process against a
real database, the landing sensor ticks, the tracking asset drains the stream."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import dagster as dg
import psycopg
import pytest
import redis

from core.settings import Settings
from ingestion import stream
from ingestion.sources.registry import source_names
from orchestration.definitions import defs
from orchestration.defs.ingest.assets import ingest_assets
from orchestration.defs.ingest.sensors import ingest_job_name, landing_sensor
from orchestration.defs.quality.checks import RECENT_DAYS_TAG
from orchestration.resources import PipelineSettings
from tests.integration.test_loader import FIXTURES, seed_reference

INGEST_TABLES = {
    "public/financial_transactions", "public/billing_subscriptions", "raw/stripe_events",
    "raw/subscription_events", "public/visitor_tracking", "public/visitor_sessions",
    "public/platform_usage_tracking", "public/trading_commissions",
    "public/trading_resource_usage", "raw/fx_rates", "raw/expenses",
    "public/user_behavior_tracking", "public/audit_logs",
}  # fmt: skip


def _asset(name: str) -> dg.AssetsDefinition:
    return next(a for a in ingest_assets() if a.node_def.name == f"ingest_{name}")


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    folder = tmp_path / "landing"
    shutil.copytree(FIXTURES / "usage", folder / "usage", ignore=shutil.ignore_patterns("rejected"))
    return folder


@pytest.fixture
def bcf(migrated_database_url: str, landing: Path) -> PipelineSettings:
    seed_reference(migrated_database_url)
    return PipelineSettings(database_url=migrated_database_url, landing_dir=str(landing))


def test_definitions_load_with_every_ingested_table_as_an_asset() -> None:
    keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
    assert keys >= INGEST_TABLES
    for table in INGEST_TABLES:
        key = dg.AssetKey.from_user_string(table)
        spec = defs.resolve_assets_def(key).specs_by_key[key]
        assert spec.description, key
        assert spec.owners, key
        assert spec.group_name == "ingestion", key
        assert spec.kinds, key
    assert defs.resolve_sensor_def("landing_files")
    assert defs.resolve_schedule_def("drain_tracking_stream")


def test_ingest_jobs_check_the_recent_days_of_the_event_tables() -> None:
    recent_days = str(Settings().quality_recent_days)
    drain = defs.resolve_schedule_def("drain_tracking_stream")
    for name in [*(ingest_job_name(source) for source in source_names()), "ingest_all_job"]:
        assert defs.resolve_job_def(name).tags[RECENT_DAYS_TAG] == recent_days, name
    assert drain.job_name == ingest_job_name("tracking")


def test_ingest_asset_loads_new_landing_files_once(bcf: PipelineSettings) -> None:
    first = dg.materialize([_asset("usage")], resources={"bcf": bcf})
    assert first.success
    [materialization] = first.asset_materializations_for_node("ingest_usage")
    metadata = materialization.metadata
    assert metadata["files"].value == 2
    assert metadata["rows_loaded"].value == 8  # 6, then 2 new of the 4 resent
    assert metadata["rows_duplicate"].value == 2

    second = dg.materialize([_asset("usage")], resources={"bcf": bcf})
    [again] = second.asset_materializations_for_node("ingest_usage")
    assert again.metadata["files"].value == 0
    with psycopg.connect(str(bcf.database_url)) as conn:
        assert conn.execute("SELECT count(*) FROM platform_usage_tracking").fetchone() == (8,)


def test_landing_sensor_requests_a_run_per_source_then_skips(bcf: PipelineSettings) -> None:
    sensor = landing_sensor(
        [
            dg.define_asset_job(
                "ingest_usage_job", selection=dg.AssetSelection.assets(_asset("usage"))
            )
        ]
    )
    with dg.build_sensor_context(resources={"bcf": bcf}) as context:
        [request] = list(sensor(context))  # type: ignore[arg-type]
    assert isinstance(request, dg.RunRequest)
    assert request.job_name == "ingest_usage_job"
    assert str(request.run_key).startswith("usage:")
    assert len(request.run_config["ops"]["ingest_usage"]["config"]["paths"]) == 2

    dg.materialize([_asset("usage")], resources={"bcf": bcf}, run_config=request.run_config)
    with dg.build_sensor_context(resources={"bcf": bcf}) as context:
        [skip] = list(sensor(context))  # type: ignore[arg-type]
    assert isinstance(skip, dg.SkipReason)


def test_tracking_asset_drains_the_stream(
    bcf: PipelineSettings,
    redis_server_url: str,
    redis_client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = f"test:tracking:{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("BCF_STREAM_KEY", key)
    lines = (FIXTURES / "tracking" / "events_2026-11-24.jsonl").read_text().splitlines()
    stream.publish(redis_client, [json.loads(line) for line in lines], Settings())

    result = dg.materialize(
        [_asset("tracking")],
        resources={
            "bcf": PipelineSettings(
                database_url=bcf.database_url,
                landing_dir=bcf.landing_dir,
                redis_url=redis_server_url,
            )
        },
    )

    [materialization, _sessions] = result.asset_materializations_for_node("ingest_tracking")
    assert materialization.metadata["rows_loaded"].value == 30
    assert redis_client.xlen(key) == 0
    with psycopg.connect(str(bcf.database_url)) as conn:
        assert conn.execute("SELECT count(*) FROM visitor_sessions").fetchone() == (10,)
