"""New files in the landing folder: what the Dagster sensor (and `bcf ingest`) should load.

The landing folder has one sub-folder per source, named after it (`<landing>/usage/...`);
files anywhere below it that match the source's patterns belong to it. A file is new unless
the ledger has a completed batch of that source with the same content (SHA-256). Hashing
is skipped for a file whose path completed a batch that started after the file was last
modified, so a tick over a large, mostly loaded folder reads almost nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from ingestion.load.files import content_sha256, matching_files
from ingestion.load.loader import Database, connect
from ingestion.parsing.contract import Source
from ingestion.sources.registry import available_sources

# A file modified this close before a batch of it started is hashed again, to be safe.
_CLOCK_SLACK = timedelta(seconds=2)


@dataclass(frozen=True)
class LandingFile:
    source: str
    path: Path
    content_sha256: str

    @property
    def run_key(self) -> str:
        """Stable id of this content for this source (e.g. a Dagster run key)."""
        return f"{self.source}:{self.content_sha256}"


def landing_files(landing_dir: Path, sources: Iterable[Source]) -> list[tuple[Source, Path]]:
    """Every file under `<landing_dir>/<source name>/` matching that source's patterns."""
    found = []
    for source in sources:
        folder = landing_dir / source.name
        if folder.is_dir():
            found += [(source, path) for path in matching_files(folder, source.file_patterns)]
    return found


def find_new_files(
    db: Database, landing_dir: Path, sources: Iterable[Source] | None = None
) -> list[LandingFile]:
    """Files in the landing folder not yet loaded, oldest first within each source."""
    chosen = list(sources) if sources is not None else list(available_sources().values())
    candidates = landing_files(landing_dir, chosen)
    if not candidates:
        return []
    names = sorted({source.name for source, _ in candidates})
    with connect(db) as conn:
        rows = conn.execute(
            "SELECT source, source_file, content_sha256, started_at FROM raw.ingest_batches "
            "WHERE status = 'completed' AND source = ANY(%s)",
            (names,),
        ).fetchall()
    loaded_content = {(source, sha) for source, _, sha, _ in rows}
    loaded_path: dict[tuple[str, str], datetime] = {}
    for source, file, _, started in rows:
        key = (source, file or "")
        loaded_path[key] = max(started, loaded_path.get(key, started))
    new = []
    for source, path in candidates:
        resolved = path.resolve()
        started = loaded_path.get((source.name, str(resolved)))
        if started is not None:
            modified = datetime.fromtimestamp(resolved.stat().st_mtime, tz=started.tzinfo)
            if modified + _CLOCK_SLACK < started:
                continue
        sha = content_sha256(resolved)
        if (source.name, sha) not in loaded_content:
            new.append(LandingFile(source.name, resolved, sha))
    new.sort(key=lambda f: (f.source, f.path.stat().st_mtime, str(f.path)))
    return new
