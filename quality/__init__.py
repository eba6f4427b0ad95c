"""Data quality: the expectation suites of every ingested table and key mart (as data), their
evaluation by Great Expectations inside PostgreSQL, and the SQL checks GX is not the tool for
(volume against the same weekdays of the weeks before, reconciliations across tables).

Everything here runs as SQL in the database: results come back as counts and a few sample
rows, never as whole tables. `orchestration/defs/quality/` turns it into Dagster asset checks.
"""
