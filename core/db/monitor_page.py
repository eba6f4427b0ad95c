"""The monitor's HTML page: the report's tables with bar charts, one self-contained file.

Charts are inline SVG (no JavaScript, no network), so the page opens anywhere, offline.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.db.monitor import MonitorReport

PAGE = Path("reports") / "monitor" / "index.html"  # under the data folder
_BAR_WIDTH = 420
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; max-width: 1100px; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.85rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.warn { background: #fff4e5; border-left: 4px solid #e8a33d; padding: 0.4rem 0.8rem; }
.ok { background: #eef8ee; border-left: 4px solid #4a9d4a; padding: 0.4rem 0.8rem; }
svg text { font-size: 12px; }
"""


def size(n: float | int | None) -> str:
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def bar_chart(title: str, bars: Sequence[tuple[str, float]], unit: str = "") -> str:
    """Horizontal bars, longest first as given; labels escaped."""
    if not bars:
        return f"<p><em>{html.escape(title)}: nothing to chart.</em></p>"
    top = max(value for _, value in bars) or 1
    row_height, label_width = 20, 260
    height = row_height * len(bars) + 24
    parts = [
        f'<svg width="{label_width + _BAR_WIDTH + 120}" height="{height}" role="img" '
        f'aria-label="{html.escape(title)}"><text x="0" y="14" font-weight="bold">'
        f"{html.escape(title)}</text>"
    ]
    for i, (label, value) in enumerate(bars):
        y = 24 + i * row_height
        width = max(1, int(_BAR_WIDTH * value / top))
        shown = html.escape(label if len(label) <= 40 else label[:39] + "…")
        parts.append(
            f'<text x="0" y="{y + 13}">{shown}</text>'
            f'<rect x="{label_width}" y="{y + 2}" width="{width}" height="{row_height - 6}" '
            f'fill="#4c78a8"/><text x="{label_width + width + 6}" y="{y + 13}">'
            f"{html.escape(_number(value))}{html.escape(unit)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def table(rows: Sequence[dict[str, Any]], empty: str = "none") -> str:
    if not rows:
        return f"<p><em>{html.escape(empty)}</em></p>"
    columns = list(rows[0])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for column in columns:
            value = row[column]
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            text = _number(value) if isinstance(value, float) else str(value)
            cells.append(f'<td class="{"n" if numeric else ""}">{html.escape(text)}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def render(report: MonitorReport) -> str:
    findings = (
        "".join(f'<p class="warn">{html.escape(f.message)}</p>' for f in report.findings)
        or '<p class="ok">No threshold crossed.</p>'
    )
    cache = report.cache.get("ratio")
    ratio = report.compression_ratio
    lag = report.replica_lag_seconds
    summary = [
        {
            "database": report.database,
            "server": report.server_version,
            "role": "standby" if report.in_recovery else "primary",
            "TimescaleDB": report.timescaledb or "not installed",
            "cache hit ratio": "-" if cache is None else f"{float(cache):.2%}",
            "connections": f"{report.connections.get('connections')} of "
            f"{report.connections.get('max_connections')}",
            "compression ratio": "-" if ratio is None else f"{ratio}x",
            "replica lag": "-" if lag is None else f"{lag:.1f} s",
        }
    ]
    sizes = [
        (f"{t['schema']}.{t['table']}", float(t["total_bytes"]) / 1024**2)
        for t in report.table_sizes
    ]
    statements = [(str(s["query"]), float(s["total_ms"])) for s in report.top_statements]
    dead = [(f"{t['schema']}.{t['table']}", float(t["dead_rows"])) for t in report.dead_tuples]
    hypertables = [
        {
            **h,
            "total_bytes": size(h["total_bytes"]),
            "before_bytes": size(h["before_bytes"]),
            "after_bytes": size(h["after_bytes"]),
        }
        for h in report.hypertables
    ]
    sections = [
        f"<h1>Database monitor: {html.escape(report.database)}</h1>",
        f"<p>Collected {html.escape(report.collected_at)}.</p>",
        "<h2>Warnings</h2>", findings,
        "<h2>Summary</h2>", table(summary),
        "<h2>Top statements by total time</h2>",
        bar_chart("total execution time", statements, " ms"),
        table(report.top_statements, report.statements_note or "no statements recorded"),
        "<h2>Largest tables</h2>", bar_chart("total size (table + indexes)", sizes, " MB"),
        table([{**t, "table_bytes": size(t["table_bytes"]), "index_bytes": size(t["index_bytes"]),
                "total_bytes": size(t["total_bytes"])} for t in report.table_sizes]),
        "<h2>Hypertables: chunks and compression</h2>",
        table(hypertables, "no hypertables (plain PostgreSQL, or TimescaleDB not installed)"),
        "<h2>Dead tuples</h2>", bar_chart("dead rows", dead),
        table(report.dead_tuples, "no dead tuples"),
        "<h2>Unused indexes (never scanned since the statistics were reset)</h2>",
        table(report.unused_indexes),
        "<h2>Replicas</h2>", table(report.replicas, "no streaming replica attached"),
        "<h2>Usage per tenant (the platform design's query)</h2>", table(report.tenant_usage),
        "<h2>Column statistics of schema public (the platform design's pg_stats query)</h2>",
        table(report.column_stats, "no statistics yet: ANALYZE has not run"),
    ]  # fmt: skip
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Database monitor: {html.escape(report.database)}</title>"
        f"<style>{_STYLE}</style></head><body>{''.join(sections)}</body></html>\n"
    )


def write_page(report: MonitorReport, data_dir: Path) -> Path:
    page = data_dir.resolve() / PAGE
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(render(report), encoding="utf-8")
    return page
