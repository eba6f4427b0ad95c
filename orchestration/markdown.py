"""Markdown for asset metadata (previews in the Dagster UI)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


def _cell(value: Any) -> str:
    return "-" if value is None else str(value).replace("|", "\\|")


def markdown_table(header: Sequence[str], lines: Iterable[Sequence[Any]]) -> str:
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    rows += ["| " + " | ".join(_cell(v) for v in line) + " |" for line in lines]
    return "\n".join(rows)
