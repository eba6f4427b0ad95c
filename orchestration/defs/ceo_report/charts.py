"""The CEO report's charts as PNG bytes, drawn headless.

Only `matplotlib.figure.Figure` is used (no pyplot): no global state, no GUI backend, safe in
a Dagster run worker; `savefig` renders with Agg. Every chart carries its own title so the
PNG can be pasted into a deck on its own.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from orchestration.defs.ceo_report.build import (
    NumberFormat,
    Series,
    WaterfallStep,
    month_label,
)

DPI = 110
WIDTH = 10.0
PALETTE = (
    "#2563eb", "#16a34a", "#f59e0b", "#db2777", "#7c3aed",
    "#0891b2", "#64748b", "#ea580c", "#84cc16", "#9f1239",
)  # fmt: skip
TOTAL = "#1e3a8a"
UP = "#16a34a"
DOWN = "#dc2626"
INK = "#0f172a"
MUTED = "#64748b"


def _figure(height: float, rows: int = 1, cols: int = 1, **kwargs: Any) -> tuple[Figure, Any]:
    figure = Figure(figsize=(WIDTH, height), dpi=DPI, layout="constrained")
    axes = figure.subplots(rows, cols, squeeze=False, **kwargs)
    for ax in axes.flat:
        _style(ax)
    return figure, axes


def _style(ax: Axes) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.spines["left"].set_color("#cbd5e1")
    ax.spines["bottom"].set_color("#cbd5e1")
    ax.tick_params(colors=INK, labelsize=9)
    ax.grid(axis="y", color="#e2e8f0", linewidth=0.8)
    ax.set_axisbelow(True)


def _title(figure: Figure, title: str, subtitle: str = "") -> None:
    figure.suptitle(title, x=0.01, ha="left", fontsize=13, fontweight="bold", color=INK)
    if subtitle:  # a figure label, so the constrained layout makes room for it
        figure.supxlabel(subtitle, x=0.01, ha="left", fontsize=8.5, color=MUTED)


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", facecolor="white")
    return buffer.getvalue()


def _money_axis(ax: Axes, fmt: NumberFormat) -> None:
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: fmt.money_compact(value)))


def _percent_axis(ax: Axes, fmt: NumberFormat, places: int = 0) -> None:
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: fmt.percent(value, places)))


def _count_axis(axis: Any, fmt: NumberFormat) -> None:
    axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_major_formatter(FuncFormatter(lambda value, _: fmt.count(value)))


def _month_axis(ax: Axes, months: Sequence[date]) -> None:
    ax.set_xticks(range(len(months)))
    rotate = len(months) > 12
    ax.set_xticklabels(
        [month_label(m) for m in months],
        rotation=45 if rotate else 0,
        ha="right" if rotate else "center",
    )
    ax.set_xlim(-0.6, len(months) - 0.4)


def waterfall(steps: Sequence[WaterfallStep], fmt: NumberFormat, month: date) -> bytes:
    """Starting MRR -> new, expansion, reactivation, contraction, churn -> ending MRR."""
    figure, axes = _figure(4.8)
    ax = axes[0][0]
    bottoms, heights, colors, levels = [], [], [], []
    running = 0.0
    for step in steps:
        amount = float(step.amount)
        if step.total:
            bottoms.append(0.0)
            heights.append(amount)
            colors.append(TOTAL)
            running = amount
        else:
            bottoms.append(running if amount >= 0 else running + amount)
            heights.append(abs(amount))
            colors.append(UP if amount >= 0 else DOWN)
            running += amount
        levels.append(running)
    x = range(len(steps))
    ax.bar(x, heights, bottom=bottoms, color=colors, width=0.62, zorder=2)
    for i in range(len(steps) - 1):
        ax.plot([i + 0.31, i + 0.69], [levels[i], levels[i]], color=MUTED, lw=0.8, zorder=3)
    top, low = max([*levels, 0.0]), min(levels)
    span = top - low
    # Movements of a few % of MRR vanish on an axis from zero: zoom in, and say so.
    zoomed = top > 0 and span < 0.3 * top
    floor = max(0.0, low - max(span, 0.05 * top) * 1.2) if zoomed else min(0.0, low)
    height = (top - floor) or 1.0  # a month without any MRR still gets an axis
    ax.set_ylim(floor, top + height * 0.12)
    pad = height * 0.015
    for i, step in enumerate(steps):
        label = fmt.money(step.amount, signed=not step.total)
        y = bottoms[i] + heights[i] + pad
        ax.text(i, y, label, ha="center", va="bottom", fontsize=9, color=INK)
    ax.set_xticks(list(x))
    ax.set_xticklabels([s.label for s in steps])
    _money_axis(ax, fmt)
    note = "y axis does not start at zero" if zoomed and floor > 0 else ""
    _title(figure, f"MRR movements, {month_label(month)}", note)
    return _png(figure)


def mrr_arr(series: Series, fmt: NumberFormat) -> bytes:
    """MRR by month (left axis) and the same line read as ARR = 12 x MRR (right axis)."""
    figure, axes = _figure(4.6)
    ax = axes[0][0]
    x = list(range(len(series.months)))
    mrr = series.values["mrr"]
    ax.plot(x, mrr, color=PALETTE[0], lw=2.2, marker="o", ms=4, zorder=3)
    ax.fill_between(x, mrr, color=PALETTE[0], alpha=0.08)
    _month_axis(ax, series.months)
    _money_axis(ax, fmt)
    ax.set_ylabel("MRR", color=INK)
    ax.set_ylim(bottom=0)
    arr_axis = ax.secondary_yaxis("right", functions=(lambda v: v * 12, lambda v: v / 12))
    arr_axis.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt.money_compact(v)))
    arr_axis.set_ylabel("ARR (12 × MRR)", color=INK)  # noqa: RUF001 (typography)
    arr_axis.tick_params(labelsize=9, colors=INK)
    last = next((i for i in reversed(x) if not math.isnan(mrr[i])), None)
    if last is not None:
        ax.annotate(
            f"{fmt.money(mrr[last])}\nARR {fmt.money(mrr[last] * 12)}",
            (last, mrr[last]),
            xytext=(-8, 12),
            textcoords="offset points",
            ha="right",
            fontsize=9,
            color=INK,
        )
    _title(figure, "MRR and ARR by month")
    return _png(figure)


def churn_nrr(series: Series, fmt: NumberFormat) -> bytes:
    """Customer churn rate (bars) above, NRR and GRR over 12 months (lines) below."""
    figure, axes = _figure(5.6, 2, 1, sharex=True)
    top, bottom = axes[0][0], axes[1][0]
    x = list(range(len(series.months)))
    churn = series.values["customer_churn_rate"]
    top.bar(x, [0.0 if math.isnan(v) else v for v in churn], color=DOWN, alpha=0.8, width=0.6)
    top.set_title("Customer churn rate", loc="left", fontsize=10, color=INK)
    _percent_axis(top, fmt, 1)
    bottom.axhline(1.0, color=MUTED, lw=0.9, ls="--")
    for name, label, style in (
        ("nrr_12m", "NRR (net: with expansion)", {"color": PALETTE[0], "lw": 2.2, "marker": "o"}),
        ("grr_12m", "GRR (gross: losses only)", {"color": PALETTE[6], "lw": 1.6, "ls": ":",
                                                 "marker": "s"}),
    ):  # fmt: skip
        values = series.values[name]
        bottom.plot(x, values, label=label, ms=5, **style)
        # The latest value written out: with a few months of history a line is only a dot.
        last = next((i for i in reversed(x) if not math.isnan(values[i])), None)
        if last is not None:
            bottom.annotate(
                fmt.percent(values[last], 1), (last, values[last]), xytext=(-8, 0),
                textcoords="offset points", ha="right", va="center", fontsize=8.5,
                color=style["color"],
            )  # fmt: skip
    bottom.set_title("Revenue retention over 12 months", loc="left", fontsize=10)
    bottom.legend(loc="lower left", fontsize=8.5, frameon=False)
    _percent_axis(bottom, fmt, 1)
    _month_axis(bottom, series.months)
    _title(
        figure,
        "Churn and net revenue retention",
        "NRR and GRR start once tenants have 12 months of history",
    )
    return _png(figure)


def stacked_bars(
    series: Series, fmt: NumberFormat, title: str, *, money: bool, subtitle: str = ""
) -> bytes:
    """One stack per month; negative values stack below zero."""
    figure, axes = _figure(4.8)
    ax = axes[0][0]
    x = list(range(len(series.months)))
    positive = [0.0] * len(x)
    negative = [0.0] * len(x)
    for i, (name, values) in enumerate(series.values.items()):
        bottoms = [positive[j] if v >= 0 else negative[j] for j, v in enumerate(values)]
        ax.bar(x, values, bottom=bottoms, width=0.7, label=name, color=PALETTE[i % len(PALETTE)])
        for j, v in enumerate(values):
            if v >= 0:
                positive[j] += v
            else:
                negative[j] += v
    _month_axis(ax, series.months)
    if money:
        _money_axis(ax, fmt)
    else:
        _count_axis(ax.yaxis, fmt)
    if any(negative):
        ax.axhline(0, color=MUTED, lw=0.8)
    ax.margins(y=0.08)
    ax.legend(
        loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=9, title_fontsize=9
    )
    _title(figure, title, subtitle)
    return _png(figure)


def usage_by_plan(rows: Sequence[Mapping[str, Any]], fmt: NumberFormat, month: date) -> bytes:
    """A plan x resource grid: colour = the plan's tenants' average utilisation of their limit
    (red past 100%), text = that utilisation and the use summed over the plan's tenants."""
    resources = sorted({str(r["resource_type"]) for r in rows})
    tenants: dict[str, int] = {}
    for r in rows:
        plan = str(r["plan_slug"])
        tenants[plan] = max(tenants.get(plan, 0), int(r["tenants"] or 0))
    plans = sorted(tenants, key=lambda p: (-tenants[p], p))
    cells = {(str(r["plan_slug"]), str(r["resource_type"])): r for r in rows}
    grid = [
        [
            float(cells[(p, res)]["avg_utilisation"])
            if (p, res) in cells and cells[(p, res)]["avg_utilisation"] is not None
            else float("nan")
            for res in resources
        ]
        for p in plans
    ]
    figure, axes = _figure(max(0.55 * len(plans) + 2.0, 4.2))
    ax = axes[0][0]
    ax.grid(False)
    image = ax.imshow(grid, cmap="RdYlGn_r", vmin=0.0, vmax=1.5, aspect="auto")
    for y, plan in enumerate(plans):
        for x, resource in enumerate(resources):
            cell = cells.get((plan, resource))
            if cell is None:
                continue
            utilisation = cell["avg_utilisation"]
            head = "no limit" if utilisation is None else fmt.percent(utilisation, 0)
            used = fmt.count(float(cell["used"] or 0))
            dark = utilisation is not None and not 0.15 <= utilisation <= 1.25
            ax.text(
                x, y, f"{head}\n{used}", ha="center", va="center", fontsize=8.5,
                color="white" if dark else INK,
            )  # fmt: skip
    ax.set_xticks(range(len(resources)))
    ax.set_xticklabels(
        [
            "{}\n({}, {})".format(
                res, *next((r["aggregation"], r["unit"]) for k, r in cells.items() if k[1] == res)
            )
            for res in resources
        ],
        fontsize=9,
    )
    ax.xaxis.tick_top()
    ax.set_yticks(range(len(plans)))
    ax.set_yticklabels([f"{p} ({tenants[p]})" for p in plans], fontsize=9)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.tick_params(length=0)
    # Cells past the scale keep its darkest red; the bar's arrow says the scale goes on.
    bar = figure.colorbar(image, ax=ax, shrink=0.8, pad=0.01, extend="max")
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt.percent(v, 0)))
    bar.ax.tick_params(labelsize=8)
    bar.set_label("average utilisation of the plan's limit", fontsize=8.5, color=MUTED)
    _title(
        figure,
        f"Usage by plan, {month_label(month)}",
        "Rows: plan (tenants); cells: average utilisation of the limit and use summed over "
        "the plan's tenants (peak day for stock resources, month total for flows)",
    )
    return _png(figure)


def usage_by_resource(rows: Sequence[Mapping[str, Any]], fmt: NumberFormat, month: date) -> bytes:
    """Without plan data: the month's usage count by resource type."""
    figure, axes = _figure(0.45 * max(len(rows), 4) + 1.2)
    ax = axes[0][0]
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color="#e2e8f0", linewidth=0.8)
    names = [str(r["resource_type"]) for r in rows][::-1]
    counts = [float(r["usage_count"] or 0) for r in rows][::-1]
    ax.barh(names, counts, color=PALETTE[0], height=0.6)
    for i, value in enumerate(counts):
        ax.text(value, i, " " + fmt.count(value), va="center", fontsize=9, color=INK)
    _count_axis(ax.xaxis, fmt)
    ax.set_xlim(0, max([*counts, 1.0]) * 1.15)
    _title(figure, f"Usage by resource, {month_label(month)}", "No plan data: usage of all tenants")
    return _png(figure)
