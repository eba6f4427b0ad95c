"""End-to-end ingest benchmark: `python -m benchmarks.ingest.run` (see run.py)."""
