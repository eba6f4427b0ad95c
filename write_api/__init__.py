"""The write API: a small HTTP API for the operational tables and the tracking collector.

`create_app` builds the FastAPI application (every route under `/v1`); `bcf api` serves it
with uvicorn. See docs/api.md.
"""
