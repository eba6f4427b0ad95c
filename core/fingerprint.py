"""A digest of what something is made from, to tell whether it must be made again."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path


def fingerprint(root: Path, files: Iterable[Path], values: Mapping[str, object]) -> str:
    """SHA-256 of `files` (each one's path under `root` and its bytes) and of the named
    `values`, in the order given: it changes when any of them does."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    for name, value in values.items():
        digest.update(f"{name}={value}".encode())
    return digest.hexdigest()
