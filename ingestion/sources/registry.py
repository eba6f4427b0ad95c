"""Every landing source by name. Each lives in its own module, imported only when asked for.

A source module exposes its source object as `SOURCE`.
"""

from __future__ import annotations

import importlib

from ingestion.parsing.contract import Source

# Source name (also its landing sub-folder) -> module.
SOURCE_MODULES: dict[str, str] = {
    "payments": "ingestion.sources.payments",
    "tracking": "ingestion.sources.tracking",
    "usage": "ingestion.sources.usage",
    "trading": "ingestion.sources.trading",
    "fx_rates": "ingestion.sources.fx_rates",
    "expenses": "ingestion.sources.expenses",
    "behaviour": "ingestion.sources.behaviour",
    "audit": "ingestion.sources.audit",
}


class UnknownSourceError(LookupError):
    """No source by that name."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown source"


def source_names() -> tuple[str, ...]:
    return tuple(sorted(SOURCE_MODULES))


def get_source(name: str) -> Source:
    """The source called `name` (its module's `SOURCE`); UnknownSourceError names the others."""
    module_name = SOURCE_MODULES.get(name)
    if module_name is None:
        raise UnknownSourceError(
            f"unknown source {name!r}: expected one of {', '.join(source_names())}"
        )
    source: Source = importlib.import_module(module_name).SOURCE
    return source


def available_sources() -> dict[str, Source]:
    """Every source, by name."""
    return {name: get_source(name) for name in source_names()}
