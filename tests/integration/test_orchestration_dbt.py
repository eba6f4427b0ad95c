"""The dbt project in Dagster: the definitions load, lineage is one graph, tests are checks,
the daily schedule and the after-ingest sensor request what they should.

No database: the definitions parse the project (`dbt parse` needs no connection); the sensor
ticks run against a temporary Dagster instance with ingest materializations reported into it.
The in-process build against PostgreSQL is in test_reports.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import pytest
from dagster._core.definitions.assets.graph.asset_graph import AssetGraph
from dagster._core.test_utils import create_run_for_test

from core.settings import Settings
from orchestration.definitions import build_definitions, defs
from orchestration.defs.ceo_report.assets import ARCHIVE_KEY as CEO_REPORT_ARCHIVE
from orchestration.defs.dbt import JOB_NAME, SCHEDULE_NAME, source_keys
from orchestration.defs.dbt.project import PROJECT_DIR, prepare_manifest, project_fingerprint
from orchestration.defs.dbt.sensors import (
    DBT_RUN_TAG,
    SENSOR_NAME,
    TEST_WINDOW_DAYS,
    TEST_WINDOW_TAG,
    loaded_something,
)
from orchestration.defs.dbt.translator import domain_group
from orchestration.defs.ingest.assets import ingest_assets
from orchestration.defs.quality.checks import BLOCKING_GX, INGEST_LEDGER, RECENT_DAYS_TAG

DOMAINS = {"staging", "finance", "ceo", "usage", "growth", "compliance", "support"}
REPORTS = {"public/ceo_dashboard_metrics", "public/financial_reports", "public/compliance_reports"}


def key(path: str) -> dg.AssetKey:
    return dg.AssetKey(path.split("/"))


@pytest.fixture(scope="module")
def graph() -> AssetGraph:
    return defs.get_repository_def().asset_graph


@pytest.fixture(scope="module")
def dbt_models() -> dg.AssetsDefinition:
    return defs.resolve_assets_def(key("marts/revenue_daily"))


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return json.loads(prepare_manifest(Settings()).manifest_path.read_text())


def test_every_model_is_an_asset_keyed_by_schema_with_group_owner_kinds_description(
    dbt_models: dg.AssetsDefinition, manifest: dict[str, Any]
) -> None:
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    assert {k.to_user_string() for k in dbt_models.keys} == {
        f"{n['config']['schema']}/{n['name']}" for n in models
    }
    assert len(models) > 40
    for spec in dbt_models.specs:
        assert spec.description, spec.key
        assert spec.owners == ["team:data-platform"], spec.key
        assert spec.group_name in DOMAINS, spec.key
        assert set(spec.kinds) == {"dbt", "postgres"}, spec.key
    groups = {spec.key.to_user_string(): spec.group_name for spec in dbt_models.specs}
    assert groups["marts/ceo_kpis_monthly"] == "ceo"
    assert groups["marts/mrr_by_tenant_monthly"] == "finance"
    assert groups["marts/usage_plan_limits_monthly"] == "usage"
    assert groups["marts/web_traffic_daily"] == "growth"
    assert groups["marts/compliance_retention_backlog"] == "compliance"
    assert groups["staging/stg_payments__financial_transactions"] == "staging"
    assert groups["intermediate/int_sessions"] == "growth"
    # The YAML's description, and its columns as the asset's schema.
    spec = dbt_models.specs_by_key[key("marts/revenue_daily")]
    node = manifest["nodes"]["model.bcf_analytics.revenue_daily"]
    assert spec.description == node["description"]
    schema = spec.metadata["dagster/column_schema"]
    assert [c.name for c in schema.columns] == list(node["columns"])


def test_domain_group_comes_from_the_folder() -> None:
    assert domain_group(["p", "staging", "stripe", "stg_x"]) == "staging"
    assert domain_group(["p", "marts", "executive", "ceo_kpis_monthly"]) == "ceo"
    assert domain_group(["p", "intermediate", "subscriptions", "int_x"]) == "finance"
    assert domain_group(["p", "marts", "newdomain", "m"]) == "newdomain"


def test_sources_are_the_ingest_assets_so_lineage_is_one_graph(
    graph: AssetGraph,
    dbt_models: dg.AssetsDefinition,
    manifest: dict[str, Any],
) -> None:
    ingest_keys = {k for a in ingest_assets() for k in a.keys}
    source_keys = {dg.AssetKey([s["schema"], s["name"]]) for s in manifest["sources"].values()}
    upstream = {dep.asset_key for spec in dbt_models.specs for dep in spec.deps}
    assert source_keys == upstream - set(dbt_models.keys)
    assert {k.to_user_string() for k in source_keys & ingest_keys} == {
        "public/audit_logs", "public/financial_transactions", "public/platform_usage_tracking",
        "public/trading_commissions", "public/trading_resource_usage",
        "public/user_behavior_tracking", "public/visitor_tracking", "raw/expenses",
        "raw/fx_rates", "raw/stripe_events", "raw/subscription_events",
    }  # fmt: skip
    # The rest are operational tables the platform writes (external assets, not built here),
    # found in the UI in their own group, with the YAML's description.
    for source in source_keys - ingest_keys:
        node = graph.get(source)
        assert not node.is_materializable, source
        assert node.group_name == "operational", source
        assert node.owners == ["team:data-platform"], source
        assert node.description, source
    assert graph.get(key("public/support_tickets")).description == (
        "Customer support tickets. Operational tables of the platform, written through the "
        "write API (schema public, the seed's design). No freshness: they change when people "
        "act, not on a schedule."
    )
    for asset in graph.get_all_asset_keys():
        assert graph.get(asset).group_name != "default", asset
        assert graph.get(asset).description, asset

    revenue_upstream = (
        dg.AssetSelection.assets(key("marts/revenue_daily")).upstream().resolve(graph)
    )
    assert key("public/financial_transactions") in revenue_upstream
    assert key("raw/fx_rates") in revenue_upstream
    ledger = graph.get(key("public/financial_transactions"))
    assert ledger.is_materializable
    assert ledger.group_name == "ingestion"
    # ... and the reports hang off the marts.
    reports_upstream = dg.AssetSelection.assets(key("public/financial_reports")).upstream()
    assert key("raw/subscription_events") in reports_upstream.resolve(graph)


def test_dbt_tests_are_asset_checks(
    dbt_models: dg.AssetsDefinition, manifest: dict[str, Any]
) -> None:
    checks = {(c.asset_key.to_user_string(), c.name) for c in dbt_models.check_keys}
    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test"]
    assert len(checks) == len(tests)
    assert ("marts/mrr_movements_monthly", "assert_mrr_roll_forward_identity") in checks
    assert ("marts/mrr_movements_monthly", "assert_mrr_months_are_continuous") in checks
    # Singular tests over several models, attached through meta.dagster.ref.
    assert ("marts/revenue_daily", "assert_revenue_daily_reconciles_to_ledger") in checks
    assert ("marts/mrr_movements_monthly", "assert_mrr_tenants_add_up_to_movements") in checks
    assert any(
        asset == "marts/ceo_kpis_monthly" and name.startswith("not_null") for asset, name in checks
    )
    spec = next(
        s for s in dbt_models.check_specs if s.name == "assert_revenue_daily_reconciles_to_ledger"
    )
    assert spec.blocking  # severity error: a failure stops what is downstream


def test_daily_schedule_builds_every_model_and_the_reports(
    graph: AssetGraph,
    dbt_models: dg.AssetsDefinition,
) -> None:
    schedule = defs.resolve_schedule_def(SCHEDULE_NAME)
    assert schedule.cron_schedule == "0 6 * * *"
    assert schedule.execution_timezone == Settings().reporting_tz
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED  # not in production
    job = defs.resolve_job_def(JOB_NAME)
    assert job.tags[DBT_RUN_TAG] == "true"
    selected = {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
    group_reports = dg.AssetSelection.groups("reports").resolve(graph)
    assert {k.to_user_string() for k in group_reports} >= REPORTS
    # All but the monthly CEO report archive: partitioned, it has a schedule of its own.
    unpartitioned_reports = group_reports - {CEO_REPORT_ARCHIVE}
    assert CEO_REPORT_ARCHIVE in group_reports
    assert selected == {k.to_user_string() for k in set(dbt_models.keys) | unpartitioned_reports}
    with dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 11, 26, 9, tzinfo=UTC)
    ) as context:
        [request] = schedule.evaluate_tick(context).run_requests or []
    assert request.asset_selection is None  # the whole job
    assert TEST_WINDOW_TAG not in job.tags | request.tags  # every test on every row
    assert RECENT_DAYS_TAG not in job.tags | request.tags  # every row of the sources too


def test_the_dbt_job_runs_the_blocking_checks_of_every_source_first(
    graph: AssetGraph, dbt_models: dg.AssetsDefinition
) -> None:
    job = defs.resolve_job_def(JOB_NAME)
    sources = set(source_keys(dbt_models))
    gates = {
        key for key in job.asset_layer.asset_graph.asset_check_keys if key.asset_key in sources
    }
    assert gates == {
        key
        for key in graph.asset_check_keys
        if key.asset_key in sources and graph.get_check_spec(key).blocking
    }
    assert {
        dg.AssetCheckKey(key("public/financial_transactions"), BLOCKING_GX),
        dg.AssetCheckKey(key("raw/fx_rates"), BLOCKING_GX),
        dg.AssetCheckKey(key("public/audit_logs"), INGEST_LEDGER),
    } <= gates
    # Run first: the dbt step waits for each of them, and does not start when one fails.
    dbt_step = job.graph.node_named("dbt_models")
    dependencies = job.graph.dependency_structure
    upstream = {
        output.node_name
        for node_input in dbt_step.inputs()
        if dependencies.has_deps(node_input)
        for output in dependencies.get_deps_list(node_input)
    }
    assert {"gx_public__financial_transactions", "raw__fx_rates_ingest_ledger_balances"} <= upstream


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


def _tick(instance: dg.DagsterInstance, cursor: str | None = None) -> dg.SensorResult:
    sensor = defs.resolve_sensor_def(SENSOR_NAME)
    with dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs) as context:
        result = sensor(context)
    if isinstance(result, dg.SkipReason):
        return dg.SensorResult(skip_reason=result, cursor=cursor)
    assert isinstance(result, dg.SensorResult)
    return result


def _ingested(instance: dg.DagsterInstance, table: str, **metadata: Any) -> None:
    instance.report_runless_asset_event(dg.AssetMaterialization(key(table), metadata=metadata))


def test_sensor_builds_only_what_is_downstream_of_the_tables_that_changed(
    instance: dg.DagsterInstance,
) -> None:
    assert _tick(instance).skip_reason is not None  # nothing ingested yet

    _ingested(instance, "public/financial_transactions", files=1, merged_with="raw.stripe_events")
    _ingested(instance, "public/visitor_tracking", rows_loaded=0, files=0)  # an empty drain
    first = _tick(instance)
    [request] = first.run_requests or []
    selected = {k.to_user_string() for k in request.asset_selection or []}
    assert request.tags[DBT_RUN_TAG] == "true"
    # The event models' tests read what an incremental run rewrites, not the history; the
    # quality checks of the event tables, their recent days.
    assert request.tags[TEST_WINDOW_TAG] == str(TEST_WINDOW_DAYS)
    assert request.tags[RECENT_DAYS_TAG] == str(Settings().quality_recent_days)
    assert {
        "staging/stg_payments__financial_transactions",
        "intermediate/int_ledger_movements",
        "marts/revenue_daily",
        "marts/finance_pnl_monthly",
        "marts/ceo_kpis_monthly",
        "public/financial_reports",
        "public/ceo_dashboard_metrics",
    } <= selected
    assert not selected & {
        "public/financial_transactions",  # not the ingest asset itself
        "marts/web_traffic_daily",  # the drain loaded nothing
        "staging/stg_tracking__visitor_events",
        "marts/compliance_audit_activity_daily",
        "public/compliance_reports",
        "marts/mrr_by_tenant_monthly",  # from subscription events, not the ledger
    }
    # The checks of what it builds, and the blocking ones of every source those models read:
    # the ledger that changed, and the FX rates revenue_daily converts with, which did not.
    checks = set(request.asset_check_keys or [])
    assert {c.asset_key for c in checks} - {k for k in request.asset_selection or []} <= set(
        source_keys(defs.resolve_assets_def(key("marts/revenue_daily")))
    )
    assert any(c.asset_key == key("marts/revenue_daily") for c in checks)
    assert {
        dg.AssetCheckKey(key("public/financial_transactions"), BLOCKING_GX),
        dg.AssetCheckKey(key("raw/fx_rates"), BLOCKING_GX),
        dg.AssetCheckKey(key("raw/fx_rates"), INGEST_LEDGER),
    } <= checks

    # Nothing new since: skip. Then an empty drain only: skip, and the cursor moves past it.
    assert _tick(instance, first.cursor).skip_reason is not None
    _ingested(instance, "public/visitor_tracking", rows_loaded=0, files=0)
    empty = _tick(instance, first.cursor)
    assert empty.skip_reason is not None
    assert not empty.run_requests
    assert int(empty.cursor or 0) > int(first.cursor or 0)

    # New audit events, while a dbt run is in progress: wait, then one run.
    _ingested(instance, "public/audit_logs", rows_loaded=5, files=1)
    running = create_run_for_test(
        instance, status=dg.DagsterRunStatus.STARTED, tags={DBT_RUN_TAG: "true"}
    )
    waiting = _tick(instance, empty.cursor)
    assert waiting.skip_reason is not None
    assert not waiting.run_requests
    instance.report_run_failed(running)
    [audit] = _tick(instance, empty.cursor).run_requests or []
    audit_selected = {k.to_user_string() for k in audit.asset_selection or []}
    assert "marts/compliance_personal_data_access" in audit_selected
    assert "public/compliance_reports" in audit_selected
    assert "marts/revenue_daily" not in audit_selected
    audit_checks = set(audit.asset_check_keys or [])
    assert dg.AssetCheckKey(key("public/audit_logs"), BLOCKING_GX) in audit_checks
    # ... and not the ledger's, which no model of this run reads.
    assert dg.AssetCheckKey(key("public/financial_transactions"), BLOCKING_GX) not in audit_checks


def test_sensor_leaves_out_what_a_run_built_after_the_change(
    instance: dg.DagsterInstance,
) -> None:
    """The demo ingests, then builds everything itself: the UI opened afterwards must not
    start the same build again. What was built before the change still is rebuilt."""
    built_before = "marts/compliance_audit_activity_daily"
    instance.report_runless_asset_event(dg.AssetMaterialization(key(built_before)))
    _ingested(instance, "public/audit_logs", rows_loaded=5, files=1)
    built_after = ["marts/compliance_personal_data_access", "public/compliance_reports"]
    for built in built_after:
        instance.report_runless_asset_event(dg.AssetMaterialization(key(built)))
    [request] = _tick(instance).run_requests or []
    selected = {k.to_user_string() for k in request.asset_selection or []}
    assert {built_before, "staging/stg_audit__audit_events"} <= selected
    assert not selected & set(built_after)

    every_model = defs.resolve_assets_def(key("marts/revenue_daily")).keys
    reports = [key(report) for report in REPORTS]
    for built in [*every_model, *reports]:
        instance.report_runless_asset_event(dg.AssetMaterialization(built))
    after_the_demo = _tick(instance)
    assert not after_the_demo.run_requests
    assert "built since they changed" in str(after_the_demo.skip_reason)


@pytest.mark.parametrize(
    ("environment", "running"),
    [({}, False), ({"BCF_ENV": "production"}, True), ({"BCF_AUTOMATIONS": "on"}, True)],
)
def test_automations_run_by_themselves_only_in_production_or_when_asked(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], running: bool
) -> None:
    """On a laptop, `bcf ui` must not start builds, drains and ingests by itself."""
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("BCF_SECRET_KEY", "a-real-secret-of-some-length-5f1c")
    monkeypatch.setenv("BCF_PSEUDONYMISATION_KEY", "another-real-secret-9a2e")
    automations = build_definitions().get_repository_def()
    statuses = {
        *(s.default_status.value for s in automations.schedule_defs),
        *(s.default_status.value for s in automations.sensor_defs),
    }
    assert len(automations.schedule_defs) + len(automations.sensor_defs) == 9  # 2 operations
    assert statuses == {"RUNNING" if running else "STOPPED"}


def test_what_counts_as_a_change() -> None:
    assert loaded_something({"rows_loaded": dg.MetadataValue.int(3)})
    assert not loaded_something({"rows_loaded": dg.MetadataValue.int(0), "files": 2})
    assert loaded_something({"files": dg.MetadataValue.int(1), "merged_with": "raw.stripe_events"})
    assert not loaded_something({"files": 0})
    assert loaded_something({})  # unknown producer: assume it changed


def test_manifest_is_prepared_outside_the_repository_and_only_when_stale(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    settings = Settings()
    project = prepare_manifest(settings)
    assert project.manifest_path.is_relative_to(settings.data_dir.resolve() / "dbt")
    assert not (PROJECT_DIR / "target").exists() or not any(
        p.name == "bcf_manifest_fingerprint" for p in (PROJECT_DIR / "target").iterdir()
    )
    before = project.manifest_path.stat().st_mtime_ns
    assert prepare_manifest(settings).manifest_path.stat().st_mtime_ns == before  # no re-parse
    assert project_fingerprint(PROJECT_DIR, {"A": "1"}) != project_fingerprint(
        PROJECT_DIR, {"A": "2"}
    )
