"""Landing files: hashing, formats, chunks of whole records, discovery; the source registry."""

from __future__ import annotations

import gzip
import hashlib
import io
from pathlib import Path

import polars as pl
import pytest

from ingestion.load.files import (
    content_sha256,
    file_format,
    iter_chunks,
    matches,
    matching_files,
)
from ingestion.parsing.contract import Source
from ingestion.sources.registry import UnknownSourceError, get_source, source_names


def test_formats_look_through_gzip():
    assert file_format(Path("a.CSV")) == "csv"
    assert file_format(Path("a.csv.gz")) == "csv"
    assert file_format(Path("a.jsonl.gz")) == "lines"
    assert file_format(Path("a.ndjson")) == "lines"
    assert file_format(Path("a.parquet")) == "parquet"
    assert file_format(Path("a.json")) == "whole"


def test_hash_is_of_the_stored_bytes(tmp_path: Path):
    path = tmp_path / "a.csv.gz"
    path.write_bytes(gzip.compress(b"x\n1\n"))
    assert content_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("zipped", [False, True])
def test_csv_chunks_repeat_the_header_and_number_lines(tmp_path: Path, zipped: bool):
    body = b"h1,h2\n" + b"".join(f"{i},x\n".encode() for i in range(1, 8))
    path = tmp_path / ("a.csv.gz" if zipped else "a.csv")
    path.write_bytes(gzip.compress(body) if zipped else body)
    chunks = list(iter_chunks(path, max_records=3))
    assert [c.data for c in chunks] == [
        b"h1,h2\n1,x\n2,x\n3,x\n",
        b"h1,h2\n4,x\n5,x\n6,x\n",
        b"h1,h2\n7,x\n",
    ]
    # The chunk's line 2 (its first data line) is the file's line 2, 5, 8.
    assert [c.record_offset + 2 for c in chunks] == [2, 5, 8]
    assert chunks[-1].bytes_done == path.stat().st_size


def test_line_chunks_and_byte_bound(tmp_path: Path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"{}\n" * 5)
    chunks = list(iter_chunks(path, max_records=100, max_bytes=6))
    assert [c.data for c in chunks] == [b"{}\n{}\n", b"{}\n{}\n", b"{}\n"]
    assert [c.record_offset for c in chunks] == [0, 2, 4]


def test_empty_and_header_only_files(tmp_path: Path):
    empty = tmp_path / "e.csv"
    empty.write_bytes(b"")
    assert list(iter_chunks(empty)) == []
    header = tmp_path / "h.csv"
    header.write_bytes(b"a,b")
    assert list(iter_chunks(header)) == []


def test_parquet_chunks_are_parquet_slices(tmp_path: Path):
    path = tmp_path / "t.parquet"
    pl.DataFrame({"n": range(10)}).write_parquet(path)
    chunks = list(iter_chunks(path, max_records=4))
    assert [pl.read_parquet(io.BytesIO(c.data))["n"].to_list() for c in chunks] == [
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [8, 9],
    ]
    assert [c.record_offset for c in chunks] == [0, 4, 8]


def test_matching_files_skips_hidden_and_other_names(tmp_path: Path):
    for name in ("a.csv", "b.CSV.gz", "c.txt", ".d.csv", "sub/e.csv", ".tmp/f.csv"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    found = matching_files(tmp_path, ("*.csv", "*.csv.gz"))
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["a.csv", "b.CSV.gz", "sub/e.csv"]
    assert matches(Path("X.JSONL"), ("*.jsonl",))


@pytest.mark.parametrize("name", ["usage", "trading", "fx_rates", "expenses", "behaviour", "audit"])
def test_registry_finds_each_source_by_name(name: str):
    source: Source = get_source(name)
    assert source.name == name
    assert source.file_patterns
    assert source.primary.table
    assert name in source_names()


def test_registry_names_the_known_sources():
    with pytest.raises(UnknownSourceError, match="unknown source 'nope': expected one of audit"):
        get_source("nope")
