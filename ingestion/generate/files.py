"""Landing files written deterministically and atomically.

- gzip members carry no file name and a zero modification time, so the same content gives
  the same bytes;
- a file is written under a hidden name (`.<name>.part`, which the loader never picks up) and
  renamed into place; a file whose bytes are already there is left untouched (its mtime too,
  so the loader's discovery does not even re-hash it);
- the manifest `<landing>/.generated.json` remembers what the last run wrote and with which
  arguments: a run with other arguments removes the files it no longer produces (and only
  those), and a later run without an explicit end date keeps the previous run's window.
"""

from __future__ import annotations

import gzip
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

MANIFEST = ".generated.json"


def gzipped(data: bytes, level: int = 6) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=level) as z:
        z.write(data)
    return buffer.getvalue()


def csv_bytes(frame: pl.DataFrame) -> bytes:
    return frame.write_csv(include_header=True, line_terminator="\n").encode("utf-8")


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd", compression_level=3, statistics=True)
    return buffer.getvalue()


@dataclass
class LandingWriter:
    """Writes files under `root/<source>/` and counts what it wrote per source."""

    root: Path
    files: dict[str, int] = field(default_factory=dict)
    records: dict[str, int] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)  # bytes per source
    written: list[str] = field(default_factory=list)  # relative paths, this run
    changed: int = 0

    def write(self, source: str, name: str, data: bytes, records: int) -> Path:
        folder = self.root / source
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        self.written.append(f"{source}/{name}")
        self.files[source] = self.files.get(source, 0) + 1
        self.records[source] = self.records.get(source, 0) + records
        self.sizes[source] = self.sizes.get(source, 0) + len(data)
        if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
            return path
        part = folder / f".{name}.part"
        part.write_bytes(data)
        os.replace(part, path)
        self.changed += 1
        return path

    arguments: dict[str, object] = field(default_factory=dict)

    def previous_arguments(self) -> dict[str, object]:
        manifest = self.root / MANIFEST
        try:
            found = json.loads(manifest.read_text(encoding="utf-8")).get("arguments", {})
        except (OSError, ValueError):
            return {}
        return found if isinstance(found, dict) else {}

    def finish(self) -> list[str]:
        """Record this run's files; remove files an earlier run wrote that this one did not."""
        manifest = self.root / MANIFEST
        removed: list[str] = []
        if manifest.is_file():
            try:
                earlier = json.loads(manifest.read_text(encoding="utf-8")).get("files", [])
            except ValueError:
                earlier = []
            keep = set(self.written)
            for relative in earlier:
                if (
                    relative not in keep
                    and not Path(relative).is_absolute()
                    and ".." not in relative
                ):
                    stale = self.root / relative
                    if stale.is_file():
                        stale.unlink()
                        removed.append(relative)
        text = json.dumps({"arguments": self.arguments, "files": sorted(self.written)}, indent=0)
        current = manifest.read_text(encoding="utf-8") if manifest.is_file() else None
        if current != text:
            manifest.write_text(text, encoding="utf-8")
        return removed
