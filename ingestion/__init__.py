"""Data in, and only that: landing files and the tracking stream into the database.

- `parsing`: the toolkit the sources share (the source contract, record readers, checks).
- `sources`: one module per landing source (`registry` names them), built on `parsing`.
- `enrich`: user-agent and IP enrichment of web events, used by the tracking source.
- `load`: the loader (ledger, quarantine, COPY, merge) and what is waiting in landing/.
- `stream`: the Redis stream of tracking events and its consumer.

Imports point down: load -> (sources, parsing), sources -> (parsing, enrich); nothing here
imports the packages above (quality, demo_data, write_api, orchestration, bcf).
"""
