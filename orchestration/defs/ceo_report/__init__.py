"""CEO report: an HTML page with PNG charts of the marts, rebuilt after them (group
"reports", so it runs in the dbt concern's build job)."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.ceo_report.assets import build_ceo_report_asset


def definitions() -> dg.Definitions:
    return dg.Definitions(assets=[build_ceo_report_asset()])
