"""Byte counts as people read them."""

from __future__ import annotations


def human_size(n: int) -> str:
    """`512 B`, `1.5 KB`, `3.2 MB`, `12.0 GB` (binary multiples)."""
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"
