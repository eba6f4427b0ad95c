"""The dbt project without a database: it parses, and its marts keep the promises BI relies on.

`dbt parse` runs once (no connection, no pseudonymisation key needed) into a tmp folder; the
tests read its manifest. The mart names and columns of ../shared/METRICS.md are a contract:
the models must have exactly those columns, in that order, under an enforced dbt contract.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

DBT = str(Path(sys.executable).parent / "dbt")
PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
METRICS = Path(__file__).resolve().parents[3] / "shared" / "METRICS.md"
# Columns that would identify a person in clear; marts show people only as *_pseudonym.
PERSON_COLUMNS = re.compile(r"(^|_)(user_id|email|phone|ip|ip_address)$|^(name|full_name)$")


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    target = tmp_path_factory.mktemp("dbt_parse")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BCF_", "DBT_"))}
    env.update(DBT_SEND_ANONYMOUS_USAGE_STATS="False", BCF_DBT_PORT="1")  # nothing listens
    done = subprocess.run(
        [
            DBT,
            "parse",
            "--no-partial-parse",
            "--project-dir",
            str(PROJECT),
            "--profiles-dir",
            str(PROJECT),
            "--target-path",
            str(target / "target"),
            "--log-path",
            str(target / "logs"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:]
    assert "[WARNING]" not in done.stdout, done.stdout[-4000:]
    return json.loads((target / "target" / "manifest.json").read_text())


def _models(manifest: dict[str, Any], schema: str | None = None) -> dict[str, dict[str, Any]]:
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and schema in (None, node["schema"])
    }


def _contract_marts() -> dict[str, list[str]]:
    """`### marts.<name>` headings of METRICS.md and the backquoted column list under each."""
    if not METRICS.exists():
        pytest.fail(
            f"the metrics contract is missing: {METRICS} (shared/ sits beside the checkout)"
        )
    found = re.findall(r"^### marts\.(\w+)\n`([^`]+)`", METRICS.read_text(), flags=re.MULTILINE)
    return {
        name: [c.strip() for c in columns.replace("\n", " ").split(",")] for name, columns in found
    }


def test_every_mart_of_metrics_md_has_exactly_its_columns(manifest: dict[str, Any]) -> None:
    contract = _contract_marts()
    assert len(contract) == 5
    marts = _models(manifest, "marts")
    for name, columns in contract.items():
        assert name in marts, f"marts.{name} of METRICS.md is not a model"
        assert list(marts[name]["columns"]) == columns, name


def test_marts_are_contracted_documented_and_granted(manifest: dict[str, Any]) -> None:
    marts = _models(manifest, "marts")
    assert len(marts) >= 20
    for name, node in marts.items():
        config = node["config"]
        assert node["config"]["contract"]["enforced"], name
        assert config["materialized"] in ("table", "incremental"), name
        assert config["persist_docs"] == {"relation": True, "columns": True}, name
        assert config["grants"] == {"select": ["bcf_bi_reader"]}, name
        assert node["description"], name
        for column, spec in node["columns"].items():
            assert spec["description"], f"{name}.{column} has no description"
            assert spec["data_type"], f"{name}.{column} has no data_type"
            assert not PERSON_COLUMNS.search(column), f"{name}.{column} names a person in clear"


def test_every_model_and_column_is_described_and_layered(manifest: dict[str, Any]) -> None:
    for name, node in _models(manifest).items():
        layer = {"stg": "staging", "int": "intermediate"}.get(name.split("_")[0], "marts")
        assert node["schema"] == layer, f"{name} lands in {node['schema']}, not {layer}"
        assert node["description"], name
        assert node["columns"], f"{name} documents no columns"
        assert all(spec["description"] for spec in node["columns"].values()), name
        if layer == "staging":
            assert node["config"]["materialized"] == "view", name
            assert len(node["depends_on"]["nodes"]) == 1, f"{name}: one source() per staging model"


def test_large_event_marts_are_incremental_on_their_day(manifest: dict[str, Any]) -> None:
    marts = _models(manifest, "marts")
    for name in (
        "web_traffic_daily",
        "usage_platform_daily",
        "compliance_audit_activity_daily",
        "compliance_personal_data_access",
    ):
        config = marts[name]["config"]
        assert config["materialized"] == "incremental", name
        assert config["incremental_strategy"] == "delete+insert", name
        assert config["unique_key"] == "day", name


def test_metrics_formulas_have_unit_tests(manifest: dict[str, Any]) -> None:
    tested = {test["model"] for test in manifest["unit_tests"].values()}
    for model in (
        "int_subscription_history",
        "int_fx_rates_daily",
        "int_mrr_by_subscription_monthly",
        "int_ledger_movements",
        "int_sessions",
        "mrr_by_tenant_monthly",
        "mrr_movements_monthly",
        "int_metric_tenant_months",
        "revenue_daily",
        "web_traffic_daily",
    ):
        assert model in tested, f"{model} has no unit test"


def test_continuous_sources_declare_freshness(manifest: dict[str, Any]) -> None:
    sources = {s["identifier"]: s for s in manifest["sources"].values()}
    for table in (
        "financial_transactions",
        "subscription_events",
        "fx_rates",
        "visitor_tracking",
        "user_behavior_tracking",
        "audit_logs",
        "platform_usage_tracking",
        "trading_commissions",
    ):
        source = sources[table]
        assert "raw.ingest_batches" in source["loaded_at_query"], table  # arrival
        assert source["freshness"]["warn_after"]["count"], table
