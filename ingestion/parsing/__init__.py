"""The parsing toolkit the sources share, below both the sources and the loader.

- `contract`: what a source is and what it returns (`Source`, `Target`, `Parsed`, `Reject`,
  `ParseContext`): the contract between a landing source and the loader.
- `records`: CSV / JSON Lines readers into frames of strings, refusing what cannot be read.
- `validate`: Polars checks with reasons a person can act on, and the conversions after them.

It imports neither `ingestion.sources` nor `ingestion.load`; the sources never import the
loader (tests/unit/test_package_layering.py).
"""
