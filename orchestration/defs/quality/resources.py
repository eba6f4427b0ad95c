"""The quality resource: what the checks need beyond the pipeline's settings."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import dagster as dg

from core.settings import Settings
from quality.gx_run import GxRunner

DATA_DOCS_DIR = Path("quality") / "data_docs"

_RUNNERS: dict[tuple[str, str, datetime | None], GxRunner] = {}
_RUNNERS_LOCK = threading.Lock()


class QualityResource(dg.ConfigurableResource):
    """`as_of` (ISO 8601 with a zone) fixes "now" for the checks that read the clock (future
    timestamps, volume, freshness), like the dbt resource's `as_of`; unset: the database's."""

    as_of: str | None = None

    def as_of_instant(self) -> datetime | None:
        if self.as_of is None:
            return None
        instant = datetime.fromisoformat(self.as_of.replace("Z", "+00:00"))
        if instant.tzinfo is None:
            raise ValueError(f"quality as_of {self.as_of!r} needs a time zone, e.g. ...Z")
        return instant

    def runner(self, settings: Settings, database_url: str) -> GxRunner:
        """One GX context per process and database: building one costs ~0.5 s."""
        docs = data_docs_dir(settings)
        key = (database_url, str(docs), self.as_of_instant())
        with _RUNNERS_LOCK:
            if key not in _RUNNERS:
                _RUNNERS[key] = GxRunner(database_url, docs, as_of=self.as_of_instant())
            return _RUNNERS[key]


def close_runners() -> None:
    """Close every cached GX context's connections (e.g. before dropping or copying a
    database this process checked)."""
    with _RUNNERS_LOCK:
        for runner in _RUNNERS.values():
            runner.close()
        _RUNNERS.clear()


def data_docs_dir(settings: Settings) -> Path:
    """`<data dir>/quality/data_docs`: the GX Data Docs site (index.html)."""
    return settings.data_dir.resolve() / DATA_DOCS_DIR
