"""Loading landing files: one transaction per file, idempotent merges, a ledger, a quarantine.

- `load_file(db, source, path, settings)` -> `BatchResult`: the loader (`loader.py`).
- `find_new_files(db, landing_dir)` -> `[LandingFile]`: what is waiting (`discover.py`).
- `files`: hashing, gzip, chunking. The checks and readers the sources share are in
  `ingestion.parsing`.
"""

from ingestion.load.discover import LandingFile, find_new_files, landing_files
from ingestion.load.loader import (
    BatchResult,
    Database,
    LoadError,
    LoadProgress,
    ProgressCallback,
    SourceContractError,
    completed_batch,
    load_file,
    read_parse_context,
)

__all__ = [
    "BatchResult",
    "Database",
    "LandingFile",
    "LoadError",
    "LoadProgress",
    "ProgressCallback",
    "SourceContractError",
    "completed_batch",
    "find_new_files",
    "landing_files",
    "load_file",
    "read_parse_context",
]
