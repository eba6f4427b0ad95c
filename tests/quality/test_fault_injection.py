"""Fault injection: for each kind of bad data, the check that should catch it fails with a
message that says what and how many, and a blocking failure stops what is downstream.

The module loads the landing fixtures and builds the models once, into a template database
(ingestion, dbt without its tests, the report tables); each case clones it, injects one
fault with SQL and runs the check(s) on the faulty table plus one asset downstream of it,
in-process. A blocking check that fails skips the downstream step: no dbt process starts.
The same holds across runs: the dbt run the after-ingest sensor requests runs the blocking
checks of the sources it reads first. The ingest jobs validate the event tables' recent
days, the full runs every row.
"the clock" is fixed (as-of 2026-11-26 12:00 UTC, as in the dbt tests) so "future" and
"latest day" mean the same thing whenever the tests run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
import pytest
from sqlalchemy.engine import make_url

from core.settings import Settings
from orchestration.defs import ingest
from orchestration.defs.ceo_report.assets import (
    build_ceo_report_archive_asset,
    build_ceo_report_asset,
)
from orchestration.defs.dbt import build_job, source_keys
from orchestration.defs.dbt.assets import DBT_OP_NAME, build_dbt_assets
from orchestration.defs.dbt.project import prepare_manifest
from orchestration.defs.dbt.resources import DbtResource
from orchestration.defs.dbt.sensors import SENSOR_NAME, dbt_after_ingest_sensor
from orchestration.defs.exports.assets import build_exports_asset
from orchestration.defs.ingest.assets import ingest_assets
from orchestration.defs.ingest.sensors import ingest_job_name
from orchestration.defs.quality import all_checks
from orchestration.defs.quality.checks import (
    BLOCKING_GX,
    FRESHNESS,
    INGEST_LEDGER,
    VOLUME,
    WARNING_GX,
)
from orchestration.defs.quality.resources import QualityResource, data_docs_dir
from orchestration.defs.quality.summary import summarize
from orchestration.defs.reports.assets import report_assets
from orchestration.resources import PipelineSettings
from tests.conftest import temporary_database
from tests.integration.test_reports import AS_OF, KEY, TZ, _landing, _seed

CHECKED_MARTS = (
    "revenue_daily",
    "mrr_by_tenant_monthly",
    "mrr_movements_monthly",
    "ceo_kpis_monthly",
    "usage_trading_resources_daily",  # read by financial_reports
)
SAO_PAULO_NOON = "(d::date + time '12:00') AT TIME ZONE 'America/Sao_Paulo'"


def key(path: str) -> dg.AssetKey:
    return dg.AssetKey(path.split("/"))


def _execute(url: str, *statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def monkeymodule() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BCF_PSEUDONYMISATION_KEY", KEY)
        patch.setenv("BCF_REPORTING_TZ", TZ)
        patch.setenv("BCF_REPORTING_CURRENCY", "BRL")
        yield patch


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("quality")


@pytest.fixture(scope="module")
def dbt() -> DbtResource:
    return DbtResource(as_of=AS_OF, role="bcf_pipeline")


@pytest.fixture(scope="module")
def template_url(postgres_admin_url: str, migrated_template: str) -> Iterator[str]:
    """The database that becomes the template: migrated, with the fixtures' reference rows."""
    with temporary_database(
        postgres_admin_url, "bcf_test_quality", template=migrated_template
    ) as url:
        _seed(url)
        yield url


@pytest.fixture(scope="module")
def definitions(
    template_url: str, data_dir: Path, dbt: DbtResource, monkeymodule: pytest.MonkeyPatch
) -> list[Any]:
    """Every asset a case may select, and every quality check. The manifest is parsed for
    the template database, so the one dbt build (in `template`) reuses the parse."""
    settings = PipelineSettings(database_url=template_url, data_dir=str(data_dir)).settings()
    project = prepare_manifest(settings, as_of=dbt.as_of, role=dbt.role)
    return [
        *ingest_assets(),
        build_dbt_assets(project),
        *report_assets(),
        build_exports_asset(),
        build_ceo_report_asset(),
        build_ceo_report_archive_asset(settings),
        *all_checks(project.manifest_path),
    ]


@pytest.fixture(scope="module")
def template(
    postgres_admin_url: str,
    template_url: str,
    definitions: list[Any],
    data_dir: Path,
    dbt: DbtResource,
) -> str:
    """Clean data: the fixtures ingested, the models and report tables built (dbt's own tests
    are other modules' business), then closed to connections so it can be cloned."""
    bcf = PipelineSettings(
        database_url=template_url,
        data_dir=str(data_dir),
        landing_dir=str(_landing(data_dir / "landing")),
    )
    dbt_models = next(
        d
        for d in definitions
        if isinstance(d, dg.AssetsDefinition) and d.node_def.name == DBT_OP_NAME
    )
    # The models the checked marts and the report tables need, not every mart.
    models = dg.AssetSelection.assets(
        *(key(f"marts/{m}") for m in CHECKED_MARTS)
    ).upstream() & dg.AssetSelection.assets(dbt_models)
    build = (dg.AssetSelection.groups("ingestion") | models).without_checks() | (
        dg.AssetSelection.assets(
            key("public/ceo_dashboard_metrics"), key("public/financial_reports")
        )
    )
    result = dg.materialize(
        definitions,
        selection=build,
        resources={"bcf": bcf, "dbt": dbt, "quality": QualityResource(as_of=AS_OF)},
    )
    assert result.success
    name = str(make_url(template_url).database)
    _execute(
        postgres_admin_url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{name}' AND pid <> pg_backend_pid()",
    )
    return name


@pytest.fixture
def database(postgres_admin_url: str, template: str) -> Iterator[str]:
    with temporary_database(postgres_admin_url, "bcf_test_quality_case", template=template) as url:
        yield url


def _resources(
    database: str, data_dir: Path, dbt: DbtResource, as_of: str | None = AS_OF
) -> dict[str, Any]:
    return {
        "bcf": PipelineSettings(database_url=database, data_dir=str(data_dir)),
        "dbt": dbt,
        "quality": QualityResource(as_of=as_of),
    }


def _run(
    definitions: list[Any],
    database: str,
    data_dir: Path,
    dbt: DbtResource,
    selection: dg.AssetSelection,
    *,
    as_of: str | None = AS_OF,
    instance: dg.DagsterInstance | None = None,
    tags: Mapping[str, str] | None = None,
) -> dg.ExecuteInProcessResult:
    working_folder = Path.cwd()
    result = dg.materialize(
        definitions,
        selection=selection,
        resources=_resources(database, data_dir, dbt, as_of),
        instance=instance,
        tags=tags,
        raise_on_error=False,
    )
    # Relative paths (the default data folder) must mean the same after a dbt build.
    assert Path.cwd() == working_folder
    return result


def _with_jobs(
    definitions: list[Any],
    resources: dict[str, Any],
    jobs: list[Any],
    sensors: Sequence[dg.SensorDefinition] = (),
) -> dg.Definitions:
    """The case's assets and checks with production jobs (and sensors) on its database."""
    checks = [d for d in definitions if isinstance(d, dg.AssetChecksDefinition)]
    assets = [d for d in definitions if d not in checks]
    return dg.Definitions(
        assets=assets, asset_checks=checks, jobs=jobs, sensors=list(sensors), resources=resources
    )


def _evaluation(
    result: dg.ExecuteInProcessResult, asset: str, check: str
) -> dg.AssetCheckEvaluation:
    [evaluation] = [
        e
        for e in result.get_asset_check_evaluations()
        if e.asset_key == key(asset) and e.check_name == check
    ]
    return evaluation


def _materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {
        e.asset_key.to_user_string()
        for e in result.get_asset_materialization_events()
        if e.asset_key is not None
    }


@dataclass(frozen=True)
class Fault:
    kind: str
    sql: tuple[str, ...]
    asset: str
    check: str
    # In the check's description or metadata: which rule, and how many rows.
    expect: tuple[str, ...]
    blocking: bool
    downstream: str | None


FAULTS = [
    Fault(
        "duplicate transaction id",
        (
            "INSERT INTO financial_transactions (tenant_id, user_id, transaction_type, amount, "
            "currency, status, stripe_payment_intent_id, stripe_charge_id, metadata, "
            "processed_at, created_at, updated_at, source_record_id, ingest_batch_id) "
            "SELECT tenant_id, user_id, transaction_type, amount, currency, status, "
            "stripe_payment_intent_id, stripe_charge_id, metadata, processed_at, created_at, "
            "updated_at, source_record_id || '-again', ingest_batch_id "
            "FROM financial_transactions WHERE stripe_charge_id = 'ch_3QA1' "
            "AND transaction_type = 'payment'",
        ),
        "public/financial_transactions",
        BLOCKING_GX,
        ("charge_id_unique_per_payment: 1 row(s)", "ch_3QA1"),
        True,
        "staging/stg_payments__financial_transactions",
    ),
    Fault(
        "negative amount",
        ("UPDATE trading_commissions SET commission_amount = -5.00 WHERE trade_id = 'trade-02'",),
        "public/trading_commissions",
        BLOCKING_GX,
        ("commission_amount_not_negative: 1 row(s)", "-5"),
        True,
        "staging/stg_trading__commissions",
    ),
    Fault(
        "unknown tenant",
        (
            "UPDATE raw.subscription_events SET tenant_id = "
            "'99999999-9999-4999-8999-999999999999' "
            "WHERE event_id = (SELECT min(event_id) FROM raw.subscription_events)",
        ),
        "raw/subscription_events",
        BLOCKING_GX,
        ("tenant_id_exists: 1 row(s)", "99999999-9999-4999-8999-999999999999"),
        True,
        "staging/stg_stripe__subscription_events",
    ),
    Fault(
        "future timestamp",
        (
            "UPDATE financial_transactions SET processed_at = "
            "timestamptz '2026-11-26 12:00Z' + interval '30 days' "
            "WHERE stripe_charge_id = 'ch_3QB1'",
        ),
        "public/financial_transactions",
        BLOCKING_GX,
        ("processed_at_not_in_future: 1 row(s)", "2026-12-26"),
        True,
        "staging/stg_payments__financial_transactions",
    ),
    Fault(
        "wrong currency code",
        (
            "UPDATE financial_transactions SET currency = 'BRX' "
            "WHERE stripe_charge_id = 'ch_3QC1' AND transaction_type = 'payment'",
        ),
        "public/financial_transactions",
        BLOCKING_GX,
        ("currency_iso_4217: 1 row(s)", "BRX"),
        True,
        "staging/stg_payments__financial_transactions",
    ),
    Fault(
        "null in a key",
        (
            "UPDATE financial_transactions SET stripe_charge_id = NULL "
            "WHERE stripe_charge_id = 'ch_3QE1'",
        ),
        "public/financial_transactions",
        BLOCKING_GX,
        ("charge_id_present_when_loaded: 1 row(s)", "ch_3QE1"),
        True,
        "staging/stg_payments__financial_transactions",
    ),
    Fault(
        "invalid enum",
        (
            "UPDATE raw.subscription_events SET status = 'cancelled_by_typo' "
            "WHERE event_id = (SELECT max(event_id) FROM raw.subscription_events)",
        ),
        "raw/subscription_events",
        BLOCKING_GX,
        ("status_stripe: 1 row(s)", "cancelled_by_typo"),
        True,
        "staging/stg_stripe__subscription_events",
    ),
    Fault(
        "broken MRR identity",
        (
            "UPDATE marts.mrr_movements_monthly SET ending_mrr = ending_mrr + 10 "
            "WHERE month = (SELECT max(month) FROM marts.mrr_movements_monthly)",
        ),
        "marts/mrr_movements_monthly",
        "mrr_roll_forward",
        ("1 row(s) do not reconcile", "roll-forward identity"),
        True,
        "exports/marts",
    ),
    Fault(
        "revenue mart off the ledger by a cent",
        (
            "UPDATE marts.revenue_daily SET gross_amount_original = gross_amount_original + 0.01 "
            "WHERE (day, tenant_id, revenue_type, currency_original) IN (SELECT day, tenant_id, "
            "revenue_type, currency_original FROM marts.revenue_daily WHERE currency_original = "
            "'BRL' AND gross_amount_original > 0 ORDER BY day LIMIT 1)",
        ),
        "marts/revenue_daily",
        "revenue_matches_ledger",
        ("1 row(s) do not reconcile", "BRL"),
        True,
        "public/financial_reports",
    ),
    Fault(
        "report table off its mart",
        (
            "UPDATE ceo_dashboard_metrics SET metric_value = metric_value + 1 "
            "WHERE metric_name = 'mrr' AND metadata->>'month' = '2026-11-01'",
        ),
        "public/ceo_dashboard_metrics",
        "report_matches_marts",
        ("1 row(s) do not reconcile", "2026-11-01"),
        True,
        None,
    ),
    Fault(
        "financial report off its mart",
        (
            "UPDATE financial_reports SET data = jsonb_set(data, '{net}', "
            "to_jsonb((data->>'net')::numeric + 0.01)) WHERE report_type = 'revenue' "
            "AND (data->>'net')::numeric > 0 AND id = (SELECT id FROM financial_reports "
            "WHERE report_type = 'revenue' AND (data->>'net')::numeric > 0 "
            "ORDER BY period_start, tenant_id LIMIT 1)",
        ),
        "public/financial_reports",
        "report_matches_marts",
        ("1 row(s) do not reconcile", "mart_net"),
        True,
        None,
    ),
    Fault(
        "quarantined record lost",
        (
            "UPDATE raw.ingest_batches SET rows_in = rows_in + 1, "
            "rows_quarantined = rows_quarantined + 1 WHERE id = (SELECT id FROM "
            "raw.ingest_batches WHERE source = 'usage' ORDER BY started_at LIMIT 1)",
        ),
        "public/platform_usage_tracking",
        INGEST_LEDGER,
        ("1 usage batch(es)", "quarantine rows <> rows_quarantined"),
        True,
        "staging/stg_usage__usage_events",
    ),
]

# Tracking events of 27 Oct-24 Nov 2026 (São Paulo days), 20 a day, the fixture's own
# removed: the latest day is 24 Nov (a Tuesday), its window 27 Oct-23 Nov.
TRAFFIC = (
    "DELETE FROM visitor_tracking",
    "INSERT INTO visitor_tracking (session_id, ip_address, ip_version, page_url, metadata, "
    "created_at) SELECT 'synthetic-' || n, '203.0.113.7', 4, 'https://botcriptofy.example/', "
    '\'{"event_type": "pageview"}\', ' + SAO_PAULO_NOON + " + n * interval '1 second' "
    "FROM generate_series(date '2026-10-27', date '2026-11-24', interval '1 day') AS d, "
    "generate_series(1, 20) AS n",
)
VOLUME_FAULTS = [
    Fault(
        "missing day of data",
        (*TRAFFIC, "DELETE FROM visitor_tracking WHERE created_at::date = date '2026-11-20'"),
        "public/visitor_tracking",
        VOLUME,
        ("1 day(s) without any row", "2026-11-20"),
        False,
        None,
    ),
    Fault(
        "volume spike",
        (
            *TRAFFIC,
            "INSERT INTO visitor_tracking (session_id, ip_address, ip_version, page_url, "
            "metadata, created_at) SELECT 'spike-' || n, '203.0.113.8', 4, "
            "'https://botcriptofy.example/', '{\"event_type\": \"pageview\"}', "
            "timestamptz '2026-11-24 15:00Z' + n * interval '1 second' "
            "FROM generate_series(1, 180) AS n",
        ),
        "public/visitor_tracking",
        VOLUME,
        ("2026-11-24 (Tuesday): 200 rows, above 2x the average of 4 earlier Tuesday(s) (20.0)",),
        False,
        None,
    ),
    Fault(
        "empty mart (a warning: what is downstream still runs)",
        ("DELETE FROM marts.ceo_kpis_monthly",),
        "marts/ceo_kpis_monthly",
        WARNING_GX,
        ("row_count_in_bounds: observed 0",),
        False,
        "public/ceo_dashboard_metrics",
    ),
]


def test_clean_data_passes_every_check(
    definitions: list[Any], database: str, data_dir: Path, dbt: DbtResource
) -> None:
    checks = [d for d in definitions if isinstance(d, dg.AssetChecksDefinition)]
    freshness = {k for c in checks for k in c.check_keys if k.name == FRESHNESS}
    selection = dg.AssetSelection.checks(*checks) - dg.AssetSelection.checks(*freshness)
    result = _run(definitions, database, data_dir, dbt, selection)

    summary = summarize(result)
    assert result.success, summary.text()
    assert not summary.failed, summary.text()
    names = {(c.asset, c.check) for c in summary.checks}
    assert ("public/financial_transactions", BLOCKING_GX) in names
    assert ("public/visitor_tracking", WARNING_GX) in names
    assert ("marts/revenue_daily", "revenue_matches_ledger") in names
    assert len(summary.checks) >= 45
    # Data Docs: a site under the data dir, each check linking its validation's page.
    evaluation = _evaluation(result, "public/financial_transactions", BLOCKING_GX)
    docs = str(evaluation.metadata["data_docs"].value)
    assert docs.startswith("file://")
    assert Path(docs.removeprefix("file://")).is_file()
    assert (
        data_docs_dir(PipelineSettings(data_dir=str(data_dir)).settings()) / "index.html"
    ).is_file()
    assert evaluation.metadata["expectations"].value >= 15


@pytest.mark.parametrize("fault", FAULTS + VOLUME_FAULTS, ids=lambda f: f.kind.replace(" ", "_"))
def test_fault_is_caught_and_blocking_faults_stop_downstream(
    fault: Fault, definitions: list[Any], database: str, data_dir: Path, dbt: DbtResource
) -> None:
    _execute(database, *fault.sql)
    selection = dg.AssetSelection.checks(dg.AssetCheckKey(key(fault.asset), fault.check))
    if fault.downstream:
        downstream = dg.AssetSelection.assets(key(fault.downstream))
        # dbt models without their tests, others with their own checks (which run in the same
        # step); the quality checks of the downstream asset are not this case's subject.
        is_model = fault.downstream.split("/")[0] in {"staging", "intermediate", "marts"}
        quality_checks = [d for d in definitions if isinstance(d, dg.AssetChecksDefinition)]
        selection |= (
            downstream.without_checks()
            if is_model
            else downstream - dg.AssetSelection.checks(*quality_checks)
        )

    result = _run(definitions, database, data_dir, dbt, selection)

    evaluation = _evaluation(result, fault.asset, fault.check)
    assert not evaluation.passed
    said = f"{evaluation.description} {evaluation.metadata}"
    for expected in fault.expect:
        assert expected in said, said
    if fault.blocking:
        assert evaluation.blocking
        assert evaluation.severity == dg.AssetCheckSeverity.ERROR
        assert not result.success
        assert not _materialized(result)  # the downstream asset did not run
        if fault.downstream:
            assert summarize(result).not_materialized == [fault.downstream]
    else:
        assert evaluation.severity == dg.AssetCheckSeverity.WARN
        if fault.downstream:  # a warning does not stop the pipeline
            assert result.success
            assert fault.downstream in _materialized(result)


def test_failing_gx_check_says_what_failed_how_many_and_shows_a_sample(
    definitions: list[Any], database: str, data_dir: Path, dbt: DbtResource
) -> None:
    _execute(
        database,
        "UPDATE trading_commissions SET trade_amount = 0, commission_rate = 1.5 "
        "WHERE trade_id = 'trade-01'",
    )
    check = dg.AssetCheckKey(key("public/trading_commissions"), BLOCKING_GX)
    result = _run(definitions, database, data_dir, dbt, dg.AssetSelection.checks(check))

    evaluation = _evaluation(result, "public/trading_commissions", BLOCKING_GX)
    metadata = evaluation.metadata
    assert metadata["failed"].value == "trade_amount_positive, commission_rate_fraction"
    assert metadata["failing_rows"].value == 4  # two fills of trade-01, two rules
    failures = str(metadata["failures"].value)
    assert "| trade_amount_positive | trade_amount > 0 | 2 | ['0.00', '0.00'] |" in failures
    assert "commission_rate >= 0 and <= 1 | 2 | ['1.5000', '1.5000'] |" in failures
    assert Path(str(metadata["data_docs"].value).removeprefix("file://")).is_file()


def test_freshness_follows_the_dbt_source_rules_by_arrival(
    definitions: list[Any], database: str, data_dir: Path, dbt: DbtResource
) -> None:
    """On the database's clock. Freshness is when a source's files last arrived (the ingest
    ledger), not how recent their events are: the audit fixtures, events of January 2026,
    arrived just now and are fresh. Their batches, dated four days back, are not: beyond
    audit_logs' error_after of 3 days."""
    checks = [
        dg.AssetCheckKey(key("raw/fx_rates"), FRESHNESS),
        dg.AssetCheckKey(key("public/audit_logs"), FRESHNESS),
    ]
    selection = dg.AssetSelection.checks(*checks)
    result = _run(definitions, database, data_dir, dbt, selection, as_of=None)
    for table in ("raw/fx_rates", "public/audit_logs"):
        fresh = _evaluation(result, table, FRESHNESS)
        assert fresh.passed, fresh.description
        assert str(fresh.description).startswith("pass: newest arrival ")

    with psycopg.connect(database) as conn:
        conn.execute(
            "UPDATE raw.ingest_batches SET started_at = started_at - interval '4 days', "
            "finished_at = finished_at - interval '4 days' WHERE source = 'audit'"
        )
    result = _run(definitions, database, data_dir, dbt, selection, as_of=None)
    assert _evaluation(result, "raw/fx_rates", FRESHNESS).passed
    audit = _evaluation(result, "public/audit_logs", FRESHNESS)
    assert not audit.passed
    assert audit.severity == dg.AssetCheckSeverity.ERROR
    assert "newest arrival" in str(audit.description)
    assert "error after 3 days" in str(audit.description)
    assert not audit.blocking
    assert result.success  # freshness never stops a run

    with psycopg.connect(database) as conn:
        conn.execute("UPDATE raw.ingest_batches SET status = 'failed' WHERE source = 'audit'")
    result = _run(definitions, database, data_dir, dbt, selection, as_of=None)
    never = _evaluation(result, "public/audit_logs", FRESHNESS)
    assert not never.passed
    assert never.description == "error: no batch has arrived"


@pytest.mark.parametrize("faulty", [True, False], ids=["blocking_fault", "clean"])
def test_a_blocking_fault_in_a_source_stops_the_dbt_run_the_sensor_requests(
    faulty: bool, definitions: list[Any], database: str, data_dir: Path, dbt: DbtResource
) -> None:
    """The ingest run that loaded the fills is over; the dbt run the sensor then starts
    checks them again first (its models read them), and does not build on rejected data."""
    if faulty:
        _execute(
            database,
            "UPDATE trading_commissions SET commission_amount = -5.00 WHERE trade_id = 'trade-02'",
        )
    dbt_models = next(
        d
        for d in definitions
        if isinstance(d, dg.AssetsDefinition) and d.node_def.name == DBT_OP_NAME
    )
    job = build_job(dbt_models)
    sensor = dbt_after_ingest_sensor(job, source_keys(dbt_models), recent_days=7)
    pipeline = _with_jobs(definitions, _resources(database, data_dir, dbt), [job], [sensor])
    gate = dg.AssetCheckKey(key("public/trading_commissions"), BLOCKING_GX)
    models = {"staging/stg_trading__commissions", "marts/trading_commissions_daily"}

    with dg.instance_for_test() as instance:
        instance.report_runless_asset_event(
            dg.AssetMaterialization(key("public/trading_commissions"), metadata={"rows_loaded": 4})
        )
        with dg.build_sensor_context(instance=instance, definitions=pipeline) as context:
            tick = pipeline.resolve_sensor_def(SENSOR_NAME)(context)
        assert isinstance(tick, dg.SensorResult)
        [request] = tick.run_requests or []
        assert {k.to_user_string() for k in request.asset_selection or []} == models
        assert gate in (request.asset_check_keys or [])
        # What the sensor daemon launches: the request's assets, of their checks only those
        # requested, and the requested checks of sources (the gate), with the request's tags.
        requested = dg.AssetSelection.assets(
            *(request.asset_selection or [])
        ).without_checks() | dg.AssetSelection.checks(*(request.asset_check_keys or []))
        result = _run(
            definitions, database, data_dir, dbt, requested, instance=instance, tags=request.tags
        )

    evaluation = _evaluation(result, "public/trading_commissions", BLOCKING_GX)
    if faulty:
        assert not evaluation.passed
        assert "commission_amount_not_negative: 1 row(s)" in str(evaluation.description)
        assert not result.success
        assert not _materialized(result) & models  # no dbt process started
        assert set(summarize(result).not_materialized) == models
    else:
        assert evaluation.passed, evaluation.description
        assert result.success, summarize(result).text()
        assert _materialized(result) == models


def test_ingest_jobs_validate_the_recent_days_and_full_runs_every_row(
    definitions: list[Any], database: str, data_dir: Path, dbt: DbtResource
) -> None:
    """The usage fixtures are of January 2026, months before the clock (26 Nov 2026)."""
    _execute(
        database,
        "UPDATE platform_usage_tracking SET usage_value = -1 WHERE id = "
        "(SELECT id FROM platform_usage_tracking ORDER BY created_at, id LIMIT 1)",
    )
    usage_job = next(j for j in ingest.definitions().jobs if j.name == ingest_job_name("usage"))
    pipeline = _with_jobs(definitions, _resources(database, data_dir, dbt), [usage_job])
    check = dg.AssetCheckKey(key("public/platform_usage_tracking"), BLOCKING_GX)

    def ingest_run() -> dg.AssetCheckEvaluation:
        result = pipeline.resolve_job_def(usage_job.name).execute_in_process(raise_on_error=False)
        return _evaluation(result, "public/platform_usage_tracking", BLOCKING_GX)

    def full_run() -> dg.AssetCheckEvaluation:
        result = _run(definitions, database, data_dir, dbt, dg.AssetSelection.checks(check))
        return _evaluation(result, "public/platform_usage_tracking", BLOCKING_GX)

    recent = ingest_run()
    assert recent.passed, recent.description  # the fault is older than the window
    days = Settings().quality_recent_days
    assert recent.metadata["validated"].value == f"created_at in the last {days} days"
    assert f"(rows of the last {days} days)" in str(recent.description)
    full = full_run()
    assert not full.passed
    assert "usage_value_not_negative: 1 row(s)" in str(full.description)
    assert "validated" not in full.metadata

    _execute(
        database,
        "UPDATE platform_usage_tracking SET usage_value = -2, created_at = "
        f"timestamptz '{AS_OF}' - interval '1 day' WHERE id = "
        "(SELECT id FROM platform_usage_tracking ORDER BY created_at DESC, id LIMIT 1)",
    )
    recent = ingest_run()
    assert not recent.passed  # a fault in the window is seen, with its sample
    said = f"{recent.description} {recent.metadata}"
    assert "usage_value_not_negative: 1 row(s)" in said
    assert "-2" in said
    assert "usage_value_not_negative: 2 row(s)" in str(full_run().description)
