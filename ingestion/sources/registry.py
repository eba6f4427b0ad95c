"""Every landing source by name. Each lives in its own module, imported only when asked for.

A source module exposes its source object as `SOURCE` (or `source`); failing both, the
module-level object whose `name` is the source's name and which has a `parse` method.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ingestion.sources.base import Source

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
    """No source by that name, or its module is not there (yet)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown source"


def source_names() -> tuple[str, ...]:
    return tuple(sorted(SOURCE_MODULES))


def _source_in(module: ModuleType, name: str) -> Source | None:
    for attribute in ("SOURCE", "source"):
        candidate = getattr(module, attribute, None)
        if getattr(candidate, "name", None) == name and callable(getattr(candidate, "parse", None)):
            return candidate
    for candidate in vars(module).values():
        if isinstance(candidate, type):
            continue
        if getattr(candidate, "name", None) == name and callable(getattr(candidate, "parse", None)):
            return candidate
    return None


def get_source(name: str) -> Source:
    """The source called `name`; UnknownSourceError says which names exist."""
    module_name = SOURCE_MODULES.get(name)
    if module_name is None:
        raise UnknownSourceError(
            f"unknown source {name!r}: expected one of {', '.join(source_names())}"
        )
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise
        raise UnknownSourceError(
            f"source {name!r} is not available yet ({module_name} is missing)"
        ) from None
    source = _source_in(module, name)
    if source is None:
        raise UnknownSourceError(f"{module_name} defines no source object named {name!r}")
    return source


def available_sources() -> dict[str, Source]:
    """Every source whose module exists, by name."""
    found = {}
    for name in source_names():
        try:
            found[name] = get_source(name)
        except UnknownSourceError:
            continue
    return found
