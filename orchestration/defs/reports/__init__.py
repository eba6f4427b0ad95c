"""Reports: the marts written back into ceo_dashboard_metrics, financial_reports and
compliance_reports, idempotently per period. They run in the dbt concern's jobs (the daily
schedule and the after-ingest sensor select group "reports" with the models)."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.reports.assets import report_assets


def definitions() -> dg.Definitions:
    return dg.Definitions(assets=report_assets())
