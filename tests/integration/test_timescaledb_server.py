"""The in-memory TimescaleDB test server starts, speaks the wire protocol and makes hypertables."""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa

from tests.support.timescaledb import node_available, running_timescaledb

pytestmark = pytest.mark.timescaledb


def test_timescaledb_extension_and_hypertable() -> None:
    assert node_available(), (
        "node and npm are required for the TimescaleDB test server (tests/timescaledb_server); "
        "install Node.js >= 20 with npm"
    )
    with running_timescaledb() as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
            row = conn.execute(
                "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
            ).fetchone()
            assert row is not None
            assert row[0].startswith("2.")
            conn.execute(
                "CREATE TABLE public.ticks ("
                " id uuid NOT NULL DEFAULT gen_random_uuid(),"
                " created_at timestamptz NOT NULL DEFAULT now(),"
                " price numeric NOT NULL,"
                " PRIMARY KEY (id, created_at))"
            )
            conn.execute(
                "SELECT create_hypertable('public.ticks',"
                " by_range('created_at', INTERVAL '7 days'), create_default_indexes => false)"
            )
            conn.execute(
                "INSERT INTO public.ticks (created_at, price)"
                " SELECT now() - g * INTERVAL '1 day', g FROM generate_series(1, 30) g"
            )
            dims = conn.execute(
                "SELECT hypertable_name, column_name, time_interval"
                " FROM timescaledb_information.dimensions"
            ).fetchall()
            assert [(name, col) for name, col, _ in dims] == [("ticks", "created_at")]
            chunks = conn.execute("SELECT count(*) FROM show_chunks('public.ticks')").fetchone()
            assert chunks is not None
            assert chunks[0] >= 4

        # A second, later connection gets a fresh session on the same database.
        engine = sa.create_engine(
            url.replace("postgresql://", "postgresql+psycopg://", 1), poolclass=sa.NullPool
        )
        try:
            with engine.connect() as conn:
                assert conn.scalar(sa.text("SELECT count(*) FROM public.ticks")) == 30
            assert "ticks" in sa.inspect(engine).get_table_names()
        finally:
            engine.dispose()
