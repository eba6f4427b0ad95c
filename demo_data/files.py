"""Landing files written deterministically and atomically, and skipped when already there.

- gzip members carry no file name and a zero modification time, so the same content gives
  the same bytes;
- a file is written under a hidden name (`.<name>.part`, which the loader never picks up) and
  renamed into place; a file whose bytes are already there is left untouched (its mtime too,
  so the loader's discovery does not even re-hash it);
- the manifest `<landing>/.generated.json` remembers what the last run wrote and with which
  arguments: each file's size, SHA-256 and records, the ids of the operational rows, the
  run's statistics, and a fingerprint of the generator (its code and the libraries that draw
  and encode the data). A run with other arguments removes the files it no longer produces
  (and only those), and a later run without an explicit end date keeps the previous run's
  window. A run whose arguments and generator are the manifest's, with every file there at
  its recorded size and hash, need not generate anything (`LandingWriter.unchanged`).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import zlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import polars as pl

from core.fingerprint import fingerprint
from ingestion.load.files import content_sha256

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


def generator_fingerprint() -> str:
    """Changes when the bytes the same arguments give may change: the generator's code, and
    the libraries that draw (NumPy) and encode (Polars, orjson, zlib) the data."""
    package = Path(__file__).parent
    libraries = {library: version(library) for library in ("numpy", "polars", "orjson")}
    return fingerprint(
        package, sorted(package.glob("*.py")), {**libraries, "zlib": zlib.ZLIB_RUNTIME_VERSION}
    )


@dataclass(frozen=True)
class WrittenFile:
    """A file as a run wrote it."""

    size: int
    sha256: str
    records: int

    @classmethod
    def of(cls, data: bytes, records: int) -> WrittenFile:
        return cls(len(data), hashlib.sha256(data).hexdigest(), records)

    def is_at(self, path: Path) -> bool:
        """Whether `path` holds these bytes (the size first: it costs no read)."""
        if not path.is_file() or path.stat().st_size != self.size:
            return False
        return content_sha256(path) == self.sha256


@dataclass(frozen=True)
class Manifest:
    """What a run wrote, and with which arguments and generator."""

    arguments: dict[str, object]
    generator: str
    files: dict[str, WrittenFile]  # by path under the landing folder, `<source>/<name>`
    rows: dict[str, list[str]]  # ids of the operational rows, per table
    stats: dict[str, Any]

    @classmethod
    def read(cls, root: Path) -> Manifest | None:
        """None when there is none, or it is of an older layout or damaged."""
        try:
            found = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
            return cls(
                arguments=dict(found["arguments"]),
                generator=str(found["generator"]),
                files={path: WrittenFile(**entry) for path, entry in found["files"].items()},
                rows={table: list(ids) for table, ids in found["rows"].items()},
                stats=dict(found["stats"]),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def text(self) -> str:
        return json.dumps(
            {
                "arguments": self.arguments,
                "generator": self.generator,
                "files": {path: asdict(entry) for path, entry in self.files.items()},
                "rows": self.rows,
                "stats": self.stats,
            },
            indent=0,
        )


def per_source(files: Mapping[str, WrittenFile]) -> dict[str, list[WrittenFile]]:
    """The files of each source, sources in name order."""
    grouped: dict[str, list[WrittenFile]] = {}
    for path, entry in sorted(files.items()):
        grouped.setdefault(path.split("/", 1)[0], []).append(entry)
    return grouped


@dataclass
class LandingWriter:
    """Writes files under `root/<source>/` and records them for the manifest."""

    root: Path
    arguments: dict[str, object] = field(default_factory=dict)
    written: dict[str, WrittenFile] = field(default_factory=dict)  # this run's, by path
    changed: int = 0

    def write(self, source: str, name: str, data: bytes, records: int) -> Path:
        folder = self.root / source
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        self.written[f"{source}/{name}"] = WrittenFile.of(data, records)
        if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
            return path
        part = folder / f".{name}.part"
        part.write_bytes(data)
        os.replace(part, path)
        self.changed += 1
        return path

    def previous_arguments(self) -> dict[str, object]:
        manifest = self.root / MANIFEST
        try:
            found = json.loads(manifest.read_text(encoding="utf-8")).get("arguments", {})
        except (OSError, ValueError):
            return {}
        return found if isinstance(found, dict) else {}

    def unchanged(self) -> Manifest | None:
        """The last run's manifest when this run would write what is already there: the same
        arguments and generator, every file it recorded at its size and hash. Else None."""
        earlier = Manifest.read(self.root)
        if (
            earlier is None
            or earlier.arguments != self.arguments
            or earlier.generator != generator_fingerprint()
        ):
            return None
        intact = all(
            _inside(relative) and entry.is_at(self.root / relative)
            for relative, entry in earlier.files.items()
        )
        return earlier if intact else None

    def finish(self, rows: dict[str, list[str]], stats: dict[str, Any]) -> list[str]:
        """Record this run's files, rows and statistics; remove files an earlier run wrote
        that this one did not."""
        manifest = self.root / MANIFEST
        removed: list[str] = []
        if manifest.is_file():
            try:
                # Manifests from before sizes and hashes were recorded list the paths alone.
                earlier = list(json.loads(manifest.read_text(encoding="utf-8")).get("files", []))
            except ValueError:
                earlier = []
            for relative in earlier:
                if relative not in self.written and _inside(relative):
                    stale = self.root / relative
                    if stale.is_file():
                        stale.unlink()
                        removed.append(relative)
        text = Manifest(
            self.arguments, generator_fingerprint(), dict(sorted(self.written.items())), rows, stats
        ).text()
        current = manifest.read_text(encoding="utf-8") if manifest.is_file() else None
        if current != text:
            manifest.write_text(text, encoding="utf-8")
        return removed


def _inside(relative: str) -> bool:
    """Whether a path read from the manifest stays inside the landing folder."""
    return not Path(relative).is_absolute() and ".." not in relative
