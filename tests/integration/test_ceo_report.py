"""The CEO report asset against a real PostgreSQL, and its number formatting.

The marts are the sample of `test_exports.py` (six tenants, 2025-09 .. 2026-10); the report
month is 2026-10, the last full month with data (the sample ends before today's month).
In 2026-10: MRR R$ 3.299,90 (T1 800, T2 300, T3 1.000, T5 199,90, T6 1.000 new; T4 450
churned), 5 active customers, ARPA R$ 659,98, 1 of 5 customers churned (20,0%), NRR 105,0%
(T1, T2, T3 paid 2.000 in 2025-10 and pay 2.100 now).
"""

from __future__ import annotations

import struct
import zlib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
import pytest

from core.settings import Settings
from orchestration.defs.ceo_report import build
from orchestration.defs.ceo_report.assets import (
    build_ceo_report_archive_asset,
    build_ceo_report_asset,
)
from tests.integration.test_exports import LAST, load_sample, resources, sample_marts

CHARTS = (
    "mrr_waterfall.png",
    "mrr_arr.png",
    "churn_nrr.png",
    "revenue_by_type.png",
    "traffic_by_channel.png",
    "usage_by_plan.png",
)
NODE = "reports__ceo"
BRL = build.number_format("BRL")


def materialize(url: str, data_dir: Path, **config: Any) -> dg.ExecuteInProcessResult:
    run_config = {"ops": {NODE: {"config": config}}} if config else None
    result = dg.materialize(
        [build_ceo_report_asset()], resources=resources(url, data_dir), run_config=run_config
    )
    assert result.success
    return result


def metadata(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    event = result.asset_materializations_for_node(NODE)[0]
    return {key: value.value for key, value in event.metadata.items()}


def png_size(path: Path) -> tuple[int, int]:
    """Width and height of a PNG whose signature, IHDR and IDAT chunks check out."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR"
    assert length == 13
    ihdr = data[16:29]
    (crc,) = struct.unpack(">I", data[29:33])
    assert zlib.crc32(kind + ihdr) == crc
    assert b"IDAT" in data
    assert data.endswith(b"IEND\xaeB`\x82")
    width, height = struct.unpack(">II", ihdr[:8])
    return width, height


def report_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def sample_url(migrated_database_url: str) -> str:
    load_sample(migrated_database_url)
    return migrated_database_url


def test_report_from_the_marts(sample_url: str, tmp_path: Path) -> None:
    result = materialize(sample_url, tmp_path)
    folder = tmp_path / "reports" / "ceo"
    index = folder / "index.html"
    html = index.read_text(encoding="utf-8")
    kpis = {row["month"]: row for row in sample_marts()["ceo_kpis_monthly"]}
    october, september = kpis[LAST], kpis[date(2026, 9, 1)]

    # The KPI header of the last full month, formatted in BRL, with its changes.
    assert "CEO report, 2026-10" in html
    assert october["mrr"] == Decimal("3299.90")
    for text in (
        "R$ 3.299,90",  # MRR
        "R$ 39.598,80",  # ARR
        "R$ 659,98",  # ARPA: 3.299,90 / 5
        "20,0%",  # customer churn: 1 of 5
        "105,0%",  # NRR 12 months
        BRL.money(october["net_revenue"]),  # net revenue
        BRL.money(october["mrr"] - september["mrr"], signed=True),  # MRR change
        "2026-09: R$ 2.749,90",  # last month's MRR
    ):
        assert text in html, text
    assert '<div class="value">5</div>' in html  # active customers
    assert "No data yet" not in html
    # The roll-forward table: 2026-10 starts at 2.749,90, +1.000 new, -450 churned.
    assert (
        "<tr><td>2026-10</td><td>R$ 2.749,90</td><td>R$ 1.000,00</td><td>R$ 0,00</td>"
        "<td>R$ 0,00</td><td>R$ 0,00</td><td>-R$ 450,00</td><td>R$ 3.299,90</td>"
    ) in html
    assert "1 revenue row of 2026-10 had no FX rate" in html

    # Every chart beside the page, a real image of a readable size, and embedded in it.
    assert report_files(folder) == sorted([*CHARTS, "index.html"])
    for name in CHARTS:
        path = folder / name
        assert path.stat().st_size > 15_000, name
        width, height = png_size(path)
        assert width >= 1000, (name, width)
        assert height >= 400, (name, height)
        assert f'href="{name}"' in html
    assert html.count('src="data:image/png;base64,') == len(CHARTS)
    assert "<script" not in html
    assert "http://" not in html
    assert "https://" not in html

    meta = metadata(result)
    assert meta["path"] == str(index)
    assert meta["has_data"] is True
    assert meta["month"] == "2026-10"
    assert "| MRR | R$ 3.299,90 | R$ 2.749,90 | +R$ 550,00 | +20,0% |" in meta["kpis"]
    assert meta["charts"] == ", ".join(CHARTS)


def test_rerun_replaces_files_and_empty_marts_say_no_data(sample_url: str, tmp_path: Path) -> None:
    materialize(sample_url, tmp_path)
    folder = tmp_path / "reports" / "ceo"
    first = {name: (folder / name).stat().st_ino for name in report_files(folder)}
    materialize(sample_url, tmp_path)
    assert report_files(folder) == sorted(first)
    assert all((folder / n).stat().st_ino != inode for n, inode in first.items())  # renamed in
    assert report_files(tmp_path / "reports") == ["ceo"]  # no staging left

    # Without plan data the usage chart is by resource; the plan chart goes away.
    with psycopg.connect(sample_url) as conn:
        conn.execute("TRUNCATE marts.usage_plan_limits_monthly")
    materialize(sample_url, tmp_path)
    files = report_files(folder)
    assert "usage_by_resource.png" in files
    assert "usage_by_plan.png" not in files
    assert "Usage by resource, 2026-10" in (folder / "index.html").read_text()

    # Empty marts: a page that says so, and no chart left from before.
    with psycopg.connect(sample_url) as conn:
        for model in sample_marts():
            conn.execute(f"TRUNCATE marts.{model}")
    result = materialize(sample_url, tmp_path)
    assert report_files(folder) == ["index.html"]
    html = (folder / "index.html").read_text()
    assert "No data yet" in html
    assert "R$" not in html
    meta = metadata(result)
    assert meta["has_data"] is False
    assert "No data yet" in meta["kpis"]


def test_no_marts_at_all(migrated_database_url: str, tmp_path: Path) -> None:
    result = materialize(migrated_database_url, tmp_path)
    html = (tmp_path / "reports" / "ceo" / "index.html").read_text()
    assert "No data yet" in html
    assert metadata(result)["has_data"] is False


def test_a_month_asked_for(sample_url: str, tmp_path: Path) -> None:
    result = materialize(sample_url, tmp_path, month="2026-01", history_months=6)
    html = (tmp_path / "reports" / "ceo" / "index.html").read_text()
    assert "CEO report, 2026-01" in html
    assert "compared with 2025-12" in html
    assert metadata(result)["month"] == "2026-01"
    # January 2026: T2 churned (300), so 1 of 4 customers.
    assert "25,0%" in html
    assert "-R$ 300,00" in html
    result = materialize(sample_url, tmp_path, month="2024-01")
    assert metadata(result)["has_data"] is False


def test_the_monthly_archive_keeps_each_months_report(sample_url: str, tmp_path: Path) -> None:
    archive = build_ceo_report_archive_asset(Settings(reporting_tz="America/Sao_Paulo"))
    for month in ("2026-01-01", "2026-10-01"):
        result = dg.materialize(
            [archive], resources=resources(sample_url, tmp_path), partition_key=month
        )
        [event] = result.asset_materializations_for_node("reports__ceo_monthly")
        assert event.metadata["month"].value == month[:7]
    folder = tmp_path / "reports" / "ceo" / "archive"
    assert sorted(p.name for p in folder.iterdir()) == ["2026-01", "2026-10"]
    assert "CEO report, 2026-01" in (folder / "2026-01" / "index.html").read_text()
    assert "CEO report, 2026-10" in (folder / "2026-10" / "index.html").read_text()
    assert report_files(folder / "2026-10") == sorted([*CHARTS, "index.html"])
    assert not (tmp_path / "reports" / "ceo" / "index.html").exists()  # the latest is its own


def test_partial_marts(migrated_database_url: str, tmp_path: Path) -> None:
    """Only the KPIs exist: the header and MRR charts render, the rest say no data yet."""
    from tests.integration.test_exports import create_mart, insert

    create_mart(migrated_database_url, "ceo_kpis_monthly")
    insert(migrated_database_url, "ceo_kpis_monthly", sample_marts()["ceo_kpis_monthly"])
    result = materialize(migrated_database_url, tmp_path)
    folder = tmp_path / "reports" / "ceo"
    assert report_files(folder) == ["churn_nrr.png", "index.html", "mrr_arr.png"]
    html = (folder / "index.html").read_text()
    assert "R$ 3.299,90" in html
    assert html.count("No data yet for this chart") == 4
    assert "not built yet: kpi_restatements, mrr_movements_monthly" in html
    assert "mrr_movements_monthly" in metadata(result)["missing_marts"]


# --- numbers and months (pure) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "value", "text"),
    [
        ("BRL", Decimal("1234567.891"), "R$ 1.234.567,89"),
        ("BRL", Decimal("-0.5"), "-R$ 0,50"),
        ("BRL", Decimal("999.995"), "R$ 1.000,00"),
        ("USD", Decimal("1234.5"), "US$ 1,234.50"),
        ("JPY", 12, "JPY 12.00"),
    ],
)
def test_money(currency: str, value: Decimal, text: str) -> None:
    assert build.number_format(currency).money(value) == text


def test_rates_counts_and_compact_money() -> None:
    assert BRL.percent(Decimal("0.042")) == "4,2%"
    assert BRL.percent(None) == "—"
    assert BRL.points(Decimal("-0.005")) == "-0,5 p.p."
    assert BRL.count(12345, signed=True) == "+12.345"
    assert BRL.money(Decimal("10"), signed=True) == "+R$ 10,00"
    assert BRL.money_compact(12_500) == "R$ 12,5k"
    assert BRL.money_compact(1_250_000) == "R$ 1,3M"
    assert BRL.money_compact(250_000) == "R$ 250k"
    assert BRL.money_compact(0) == "R$ 0"


def test_report_month() -> None:
    months = [date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)]
    today = date(2026, 11, 25)
    assert build.report_month(months, today) == date(2026, 10, 1)  # the current one is partial
    assert build.report_month(months[2:], today) == date(2026, 11, 1)  # nothing else yet
    assert build.report_month([], today) is None
    assert build.report_month(months, today, date(2026, 9, 1)) == date(2026, 9, 1)
    assert build.report_month(months, today, date(2020, 1, 1)) is None
    assert build.parse_month("2026-03") == date(2026, 3, 1)
    assert build.add_months(date(2026, 1, 1), -1) == date(2025, 12, 1)


def test_kpi_deltas_and_waterfall() -> None:
    current = {"mrr": Decimal("110"), "customer_churn_rate": Decimal("0.05"), "nrr_12m": None}
    previous = {"mrr": Decimal("100"), "customer_churn_rate": Decimal("0.04")}
    values = {v.label: v for v in build.kpi_values(current, previous, BRL)}
    assert values["MRR"].delta == "+R$ 10,00"
    assert values["MRR"].delta_relative == "+10,0%"
    assert values["MRR"].tone == "good"
    assert values["Customer churn"].delta == "+1,0 p.p."
    assert values["Customer churn"].tone == "bad"
    assert values["NRR (12 months)"].value == "—"
    assert values["NRR (12 months)"].tone == "none"

    movement = sample_marts()["mrr_movements_monthly"][-1]
    steps = build.waterfall_steps(movement)
    assert [s.label for s in steps] == [
        "Starting", "New", "Expansion", "Reactivation", "Contraction", "Churn", "Ending",
    ]  # fmt: skip
    assert steps[0].amount + sum(s.amount for s in steps[1:-1]) == steps[-1].amount
