"""Tracking events end to end through `load_file`, next to `psql \\copy` of the same rows.

    uv run python -m benchmarks.ingest.run [--events 1000000] [--database-url URL]
        [--repeat 3] [--visitors 50000] [--seed 7] [--work-dir DIR] [--profile]

Without `--database-url` it starts a private PostgreSQL (`LocalPostgres` in a temporary
folder, as the tests do) and stops and deletes it at the end; with an admin URL
(e.g. postgresql://postgres@127.0.0.1:5432/postgres) it creates and drops its own databases
there. Either way every measured load goes into a fresh database cloned from a template
migrated once with `core.db.migrate.upgrade`, on the same server, in the same run.

1. Generates N synthetic tracking events (the traffic model of `benchmarks/enrich/run.py`: a
   few hundred distinct user agents with a long tail and ~3 % bots, ~50k visitors each on
   one address from Brazilian ISP blocks with ~30 % IPv6 and some US/EU, sessions of ~4.5
   events, UTM/gclid/fbclid/referrer mixes, 1 % conversions) into `events.jsonl`, the same
   events with one line moved (a new file: new content hash, every event a duplicate) into
   `events-again.jsonl`, and the rows the tracking source makes of them, enriched, as
   `visitor_tracking.csv` with exactly the table's columns (`ingest_batch_id` a constant).
2. Reference: `psql \\copy public.visitor_tracking (...) FROM 'visitor_tracking.csv' CSV`.
3. `load_file(url, TrackingSource(enrich=False), events.jsonl)`.
4. The same with `TrackingSource(enrich=True)`.
5. A second `load_file` of `events-again.jsonl` into the database step 4 filled.

Runs are interleaved (copy, off, on + again) `--repeat` times and the median wall time is
reported. Each load runs in a fresh Python process (so enrichment starts with cold caches and
its geo databases unloaded, as a new worker would); its time is `load_file`'s own wall time
(the interpreter's start-up and imports are not counted; `process_s` in the JSON has them),
and its peak memory is the process's RSS high-water mark (VmHWM, see `_hwm_kib`). `\\copy`'s time
is psql's whole wall time. With the private server, CPU seconds are reported too: the loading
process's during `load_file`, and the server's (reaped backends plus background processes)
during the run. A `CHECKPOINT` precedes every measured run. Inside the loading
process the loader's functions are wrapped with timers (a few hundred calls in all) to
split its time into phases; the code under test is not changed.

Writes the results to `benchmarks/ingest/results.json` (`--output`) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.databases import create_database, database_url, drop_database
from benchmarks.enrich.run import iter_events

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results.json"
TABLE = "public.visitor_tracking"
RESULT_MARK = "@@BENCH_RESULT@@ "
GENERATE_BATCH = 100_000
TARGET_OFF = 0.9  # of the \copy rate, enrichment off (issue 18)
TARGET_ON = 0.6  # with enrichment on
TARGET_AGAIN = 1.2  # all duplicates, enrichment on


def generate(
    work: Path, count: int, visitors: int, seed: int, columns: list[str]
) -> dict[str, Any]:
    """events.jsonl, events-again.jsonl and visitor_tracking.csv; returns what they hold."""
    import orjson
    import polars as pl

    from ingestion.sources.tracking import parse_file

    jsonl, again, csv = (
        work / "events.jsonl",
        work / "events-again.jsonl",
        work / "visitor_tracking.csv",
    )
    batch_id = str(uuid.uuid4())
    agents: set[str] = set()
    addresses: set[str] = set()
    sessions: set[str] = set()
    rows = bots = with_utm = 0
    began = time.perf_counter()
    with jsonl.open("wb") as lines_out, csv.open("wb") as csv_out:
        batch: list[bytes] = []

        def flush() -> None:
            nonlocal rows, bots, with_utm
            data = b"\n".join(batch) + b"\n"
            lines_out.write(data)
            parsed = parse_file(data, "events.jsonl", enrich=True)
            if parsed.rejects:
                raise RuntimeError(f"generated events were refused: {parsed.rejects[:3]}")
            frame = parsed.tables[TABLE].with_columns(pl.lit(batch_id).alias("ingest_batch_id"))
            missing = set(columns) ^ set(frame.columns)
            if missing:
                raise RuntimeError(f"the CSV would not have visitor_tracking's columns: {missing}")
            # The loader's own encoding (ingestion.load.loader._Merger._copy): COPY's csv.
            frame.select(columns).write_csv(csv_out, include_header=False)
            agents.update(frame.get_column("user_agent").drop_nulls().unique().to_list())
            addresses.update(frame.get_column("ip_address").unique().to_list())
            sessions.update(frame.get_column("session_id").unique().to_list())
            rows += frame.height
            bots += frame.filter(pl.col("device_type") == "bot").height
            with_utm += frame.filter(pl.col("utm_source").is_not_null()).height
            batch.clear()
            print(f"  generated {rows:,} / {count:,}", end="\r", flush=True)

        for event in iter_events(count, visitors, seed):
            batch.append(orjson.dumps(event))
            if len(batch) >= GENERATE_BATCH:
                flush()
        if batch:
            flush()
    print()
    # The same events as another file: first line moved to the end (a new content hash).
    with jsonl.open("rb") as source, again.open("wb") as out:
        first = source.readline()
        shutil.copyfileobj(source, out, 16 * 2**20)
        out.write(first)
    return {
        "events": rows,
        "distinct_user_agents": len(agents),
        "distinct_ips": len(addresses),
        "sessions": len(sessions),
        "bot_events": bots,
        "events_with_utm_source": with_utm,
        "jsonl_mib": round(jsonl.stat().st_size / 2**20, 1),
        "csv_mib": round(csv.stat().st_size / 2**20, 1),
        "generate_s": round(time.perf_counter() - began, 1),
    }


# ---------------------------------------------------------------------------------------
# The loading process: `python -m benchmarks.ingest.run --child-load SPEC`
# ---------------------------------------------------------------------------------------


def _hwm_kib(pid: int | str = "self") -> int | None:
    """The RSS high-water mark (VmHWM) of a process's current memory image, in KiB.

    Not `getrusage(...).ru_maxrss`: Linux carries ru_maxrss across exec, so a child
    forked (or vforked) from this driver, which holds the generator's data, reports at least
    the driver's own size. VmHWM belongs to the address space exec created.
    """
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


class _HwmWatch:
    """Polls a child's VmHWM until it exits (the last reading is its peak)."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        import threading

        self.pid, self.interval, self.peak = pid, interval, 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._done.is_set():
            reading = _hwm_kib(self.pid)
            if reading is not None:
                self.peak = max(self.peak, reading)
            self._done.wait(self.interval)

    def stop(self) -> int:
        self._done.set()
        self._thread.join()
        return self.peak


class _Phases:
    """Wall seconds spent in wrapped callables, by name (nested names overlap)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        self.seconds.setdefault(name, 0.0)
        self.calls.setdefault(name, 0)

        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - began
                self.calls[name] += 1

        return timed

    def wrap_iterator(
        self, name: str, function: Callable[..., Iterator[Any]]
    ) -> Callable[..., Any]:
        self.seconds.setdefault(name, 0.0)
        self.calls.setdefault(name, 0)

        def timed(*args: Any, **kwargs: Any) -> Iterator[Any]:
            iterator = function(*args, **kwargs)
            while True:
                began = time.perf_counter()
                try:
                    item = next(iterator)
                except StopIteration:
                    return
                finally:
                    self.seconds[name] += time.perf_counter() - began
                self.calls[name] += 1
                yield item

        return timed


def _instrument(source: Any) -> _Phases:
    """Timers around the loader's steps; behaviour is unchanged."""
    import polars as pl
    import psycopg
    from psycopg import sql

    from ingestion.load import loader
    from ingestion.sources import tracking_rows

    phases = _Phases()
    loader.content_sha256 = phases.wrap("hash file", loader.content_sha256)
    loader.iter_chunks = phases.wrap_iterator("read chunks", loader.iter_chunks)
    parse = "parse (decode, validate, shape, enrich)"
    source.parse = phases.wrap(parse, source.parse)
    if hasattr(source, "parse_unfinished"):  # enrichment moves into the merge, new rows only
        source.parse_unfinished = phases.wrap(parse, source.parse_unfinished)
    tracking_rows.enrich_events = phases.wrap(
        "  of which enrich_events", tracking_rows.enrich_events
    )
    merger = loader._Merger
    merger.merge = phases.wrap("merge (dedupe, stage, COPY, INSERT)", merger.merge)  # type: ignore[method-assign]
    if hasattr(source, "finish"):
        source.finish = phases.wrap("  of which finish (enrich the rows to write)", source.finish)
    merger._stage = phases.wrap("  of which create/truncate stage", merger._stage)  # type: ignore[method-assign]
    merger._stored_rows = phases.wrap("  of which key probe", merger._stored_rows)  # type: ignore[method-assign]
    merger._copy = phases.wrap("  of which COPY (to the table or the stage)", merger._copy)  # type: ignore[method-assign]
    pl.DataFrame.write_csv = phases.wrap("    of which write_csv", pl.DataFrame.write_csv)  # type: ignore[method-assign]
    merger._insert = phases.wrap("  of which INSERT ON CONFLICT", merger._insert)  # type: ignore[method-assign]

    execute = psycopg.Connection.execute
    sessions = phases.wrap("sessions SQL (derived_sql)", execute)

    def routed(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(query, sql.SQL) and "visitor_sessions" in query.as_string():
            return sessions(self, query, *args, **kwargs)
        return execute(self, query, *args, **kwargs)

    psycopg.Connection.execute = routed  # type: ignore[method-assign]
    return phases


def child_load(spec: dict[str, Any]) -> None:
    from ingestion.load.loader import load_file
    from ingestion.sources.tracking import TrackingSource

    source = TrackingSource(enrich=spec["enrich"])
    phases = _instrument(source)
    rss_before = _hwm_kib()
    profiler = None
    if spec.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    began, cpu_began = time.perf_counter(), time.process_time()
    chunking = {"chunk_records": spec["chunk_records"]} if spec.get("chunk_records") else {}
    result = load_file(spec["url"], source, spec["path"], **chunking)
    seconds, client_cpu = time.perf_counter() - began, time.process_time() - cpu_began
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(spec["profile"])
    accounted = sum(v for k, v in phases.seconds.items() if not k.startswith(" "))
    out = {
        "seconds": seconds,
        "client_cpu_s": client_cpu,  # this process, all threads, during load_file
        "rows_in": result.rows_in,
        "rows_loaded": result.rows_loaded,
        "rows_duplicate": result.rows_duplicate,
        "rows_quarantined": result.rows_quarantined,
        "already_loaded": result.already_loaded,
        "rss_after_imports_kib": rss_before,
        "peak_rss_kib": _hwm_kib(),
        "phases_s": {
            **phases.seconds,
            "other (ledger, reference data, commit)": seconds - accounted,
        },
        "phase_calls": phases.calls,
    }
    print(RESULT_MARK + json.dumps(out), flush=True)


# ---------------------------------------------------------------------------------------
# The driver
# ---------------------------------------------------------------------------------------


def _wait(process: subprocess.Popen[bytes]) -> tuple[int, int, float]:
    """(exit code, peak RSS in KiB by polling VmHWM, CPU seconds) of a child."""
    watch = _HwmWatch(process.pid)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, watch.stop(), usage.ru_utime + usage.ru_stime


class Server:
    """Databases on one PostgreSQL server: a migrated template and fresh clones of it."""

    def __init__(self, admin_url: str, postmaster_pid: int | None = None) -> None:
        from core.db.engine import libpq_url

        self.admin_url = libpq_url(admin_url)
        self.postmaster_pid = postmaster_pid  # known for the private server: CPU accounting
        self.tag = uuid.uuid4().hex[:8]
        self.template = f"bench_ingest_template_{self.tag}"
        self.created: list[str] = []

    def url(self, database: str) -> str:
        return database_url(self.admin_url, database)

    def admin(self, statement: str) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            cursor = conn.execute(statement)
            return cursor.fetchall() if cursor.description else []

    def query(self, database: str, statement: str) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            return conn.execute(statement).fetchall()

    def make_template(self) -> None:
        from core.db import migrate

        url = create_database(self.admin_url, self.template)
        self.created.append(self.template)
        migrate.upgrade(url)

    def fresh(self, kind: str) -> str:
        name = f"bench_ingest_{kind}_{self.tag}_{uuid.uuid4().hex[:6]}"
        create_database(self.admin_url, name, template=self.template)
        self.created.append(name)
        return name

    def drop(self, name: str) -> None:
        drop_database(self.admin_url, name)
        if name in self.created:
            self.created.remove(name)

    def drop_all(self) -> None:
        for name in list(reversed(self.created)):
            try:
                self.drop(name)
            except Exception as error:  # best effort on the way out
                print(f"could not drop {name}: {error}", file=sys.stderr)

    def cpu(self) -> tuple[float, float] | None:
        """CPU seconds so far of (exited backends, live server processes), private server only.

        Backends that ended were reaped by the postmaster: their time is in its children's
        times. Live ones are the background processes (checkpointer, WAL writer, ...) and any
        backend still open.
        """
        if self.postmaster_pid is None:
            return None
        import psutil

        time.sleep(0.3)  # let the postmaster reap the backend that just disconnected
        postmaster = psutil.Process(self.postmaster_pid)
        times = postmaster.cpu_times()
        live = times.user + times.system
        for child in postmaster.children():
            try:
                child_times = child.cpu_times()
            except psutil.Error:
                continue
            live += child_times.user + child_times.system
        return times.children_user + times.children_system, live

    def checkpoint(self) -> None:
        try:
            self.admin("CHECKPOINT")
        except Exception as error:  # not superuser on a given server: measured without
            print(f"(no CHECKPOINT before the run: {error})", file=sys.stderr)

    def facts(self) -> dict[str, Any]:
        settings = dict(
            self.admin(
                "SELECT name, setting || coalesce(unit, '') FROM pg_settings WHERE name IN "
                "('fsync', 'synchronous_commit', 'shared_buffers', 'max_wal_size', 'wal_level', "
                "'temp_buffers', 'work_mem', 'full_page_writes', 'wal_compression')"
            )
        )
        version = self.admin("SHOW server_version")[0][0]
        timescale = self.admin(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'"
        )[0][0]
        indexes = self.query(
            self.template,
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
            "AND tablename = 'visitor_tracking' ORDER BY indexname",
        )
        return {
            "server_version": version,
            "timescaledb_available": bool(timescale),
            "settings": settings,
            "visitor_tracking_indexes": [definition for _, definition in indexes],
        }

    def columns(self) -> list[str]:
        rows = self.query(
            self.template,
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name = 'visitor_tracking' ORDER BY ordinal_position",
        )
        return [name for (name,) in rows]

    def fingerprint(self, database: str) -> dict[str, Any]:
        """Enough aggregates to tell that two loads stored the same rows."""
        (row,) = self.query(
            database,
            "SELECT count(*), count(DISTINCT session_id), count(browser), count(country), "
            "count(city), count(*) FILTER (WHERE device_type = 'bot'), sum(visit_duration), "
            "count(*) FILTER (WHERE metadata ? 'is_bot'), "
            "md5(string_agg(id::text, ',' ORDER BY id)) FROM public.visitor_tracking",
        )
        keys = (
            "rows", "sessions", "with_browser", "with_country", "with_city", "bots",
            "sum_visit_duration", "with_is_bot", "md5_of_ids",
        )  # fmt: skip
        return dict(zip(keys, [int(v) if isinstance(v, int) else v for v in row], strict=True))

    def count(self, database: str, table: str = TABLE) -> int:
        return int(self.query(database, f"SELECT count(*) FROM {table}")[0][0])


def _cpu_delta(
    before: tuple[float, float] | None, after: tuple[float, float] | None
) -> dict[str, float]:
    if before is None or after is None:
        return {}
    backends = after[0] - before[0]
    return {"server_backend_cpu_s": backends, "server_cpu_s": backends + after[1] - before[1]}


def _loadavg() -> float:
    return round(os.getloadavg()[0], 2)


def run_copy(server: Server, csv: Path, columns: list[str], expected: int) -> dict[str, Any]:
    database = server.fresh("copy")
    try:
        server.checkpoint()
        command = f"\\copy {TABLE} ({', '.join(columns)}) FROM '{csv}' CSV"
        load_before = _loadavg()
        cpu_before = server.cpu()
        began = time.perf_counter()
        process = subprocess.Popen(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", server.url(database), "-c", command]
        )
        code, rss, client_cpu = _wait(process)
        seconds = time.perf_counter() - began
        server_cpu = _cpu_delta(cpu_before, server.cpu())
        if code != 0:
            raise RuntimeError(f"psql \\copy failed with exit code {code}")
        stored = server.count(database)
        if stored != expected:
            raise RuntimeError(f"\\copy stored {stored:,} rows, expected {expected:,}")
        return {
            "seconds": seconds,
            "peak_rss_kib": rss,
            "client_cpu_s": client_cpu,
            **server_cpu,
            "loadavg_before": load_before,
            "loadavg_after": _loadavg(),
            "database": database,
        }
    except BaseException:
        server.drop(database)
        raise


def run_load(
    server: Server,
    database: str,
    path: Path,
    *,
    enrich: bool,
    profile: Path | None = None,
    root: Path = PROJECT_ROOT,
    chunk_records: int | None = None,
) -> dict[str, Any]:
    """`load_file` of `path` in a fresh process of the checkout at `root` (its code first on
    the path, this venv)."""
    spec: dict[str, Any] = {"url": server.url(database), "path": str(path), "enrich": enrich}
    if chunk_records:
        spec["chunk_records"] = chunk_records
    if profile is not None:
        spec["profile"] = str(profile)
    server.checkpoint()
    load_before = _loadavg()
    with tempfile.TemporaryFile() as captured:
        cpu_before = server.cpu()
        began = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.ingest.run", "--child-load", json.dumps(spec)],
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
            stdout=captured,
        )
        code, rss, _ = _wait(process)
        process_seconds = time.perf_counter() - began
        server_cpu = _cpu_delta(cpu_before, server.cpu())
        captured.seek(0)
        output = captured.read().decode("utf-8", "replace")
    if code != 0:
        raise RuntimeError(f"load_file failed (exit {code}):\n{output[-3000:]}")
    marked = [line for line in output.splitlines() if line.startswith(RESULT_MARK)]
    result = json.loads(marked[-1][len(RESULT_MARK) :])
    result.update(
        peak_rss_kib=max(rss, result["peak_rss_kib"] or 0),
        process_s=process_seconds,
        **server_cpu,
        loadavg_before=load_before,
        loadavg_after=_loadavg(),
    )
    return result


def _check_load(result: dict[str, Any], expected: int, *, duplicates: bool) -> None:
    loaded, dupes = result["rows_loaded"], result["rows_duplicate"]
    want = (0, expected) if duplicates else (expected, 0)
    if (loaded, dupes) != want or result["rows_quarantined"] or result["already_loaded"]:
        raise RuntimeError(f"unexpected load counts: {result}")


def _summary(
    name: str, runs: list[dict[str, Any]], rows: int, copy_rate: float | None
) -> dict[str, Any]:
    seconds = [run["seconds"] for run in runs]
    median = statistics.median(seconds)
    rate = rows / median
    summary: dict[str, Any] = {
        "name": name,
        "runs_s": [round(s, 2) for s in seconds],
        "median_s": round(median, 2),
        "rows_per_s": round(rate),
        "ratio_to_copy": round(rate / copy_rate, 3) if copy_rate else 1.0,
        "peak_rss_mib": round(max(run["peak_rss_kib"] for run in runs) / 1024, 1),
        "client_cpu_median_s": round(statistics.median(r["client_cpu_s"] for r in runs), 1),
        "loadavg_1min": [[run["loadavg_before"], run["loadavg_after"]] for run in runs],
    }
    if "server_cpu_s" in runs[0]:
        for key in ("server_cpu_s", "server_backend_cpu_s"):
            median_key = f"{key.removesuffix('_s')}_median_s"
            summary[median_key] = round(statistics.median(r[key] for r in runs), 1)
        cpu = summary["client_cpu_median_s"] + summary["server_cpu_median_s"]
        summary["rows_per_cpu_s"] = round(rows / cpu)
    if "phases_s" in runs[0]:
        summary["rss_after_imports_mib"] = round(
            max(run["rss_after_imports_kib"] for run in runs) / 1024, 1
        )
        summary["process_median_s"] = round(statistics.median(r["process_s"] for r in runs), 2)
        summary["phases_median_s"] = {
            phase: round(statistics.median(run["phases_s"][phase] for run in runs), 2)
            for phase in runs[0]["phases_s"]
        }
    return summary


def _table(results: dict[str, Any]) -> str:
    lines = [
        "| run | median s (runs) | rows/s | × `\\copy` | peak RSS MiB | CPU s client + server |",  # noqa: RUF001
        "|---|---|---|---|---|---|",
    ]
    for item in results["measurements"]:
        runs = ", ".join(f"{s:.1f}" for s in item["runs_s"])
        lines.append(
            f"| {item['name']} | {item['median_s']:.1f} ({runs}) | {item['rows_per_s']:,} | "
            f"{item['ratio_to_copy']:.2f} | {item['peak_rss_mib']:,.0f} | "
            f"{item['client_cpu_median_s']:.1f} + "
            f"{item.get('server_cpu_median_s', float('nan')):.1f} |"
        )
    compared = [m for m in results["measurements"] if "speedup_of_current_by_round" in m]
    if compared:
        lines += ["", "| this checkout's speed-up over | by round (variant's s / this one's s) |"]
        lines.append("|---|---|")
        for item in compared:
            rounds = ", ".join(f"{x:.2f}" for x in item["speedup_of_current_by_round"])
            lines.append(f"| {item['short']} | {rounds} |")
    phased = [m for m in results["measurements"] if "phases_median_s" in m]
    if phased:
        lines += ["", "| phase (median s) | " + " | ".join(m["short"] for m in phased) + " |"]
        lines.append("|---" * (len(phased) + 1) + "|")
        for phase in dict.fromkeys(p for m in phased for p in m["phases_median_s"]):
            # A variant's loader may have other phases: "-" where it lacks this one.
            cells = " | ".join(
                f"{m['phases_median_s'][phase]:.1f}" if phase in m["phases_median_s"] else "-"
                for m in phased
            )
            depth = (len(phase) - len(phase.lstrip())) // 2
            lines.append(f"| {'· ' * depth}{phase.strip()} | {cells} |")
    return "\n".join(lines)


def _machine(server: Server) -> dict[str, Any]:
    import polars as pl
    import psutil
    import psycopg

    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "polars": pl.__version__,
        "psycopg": psycopg.__version__,
        "psql": subprocess.run(
            ["psql", "--version"], capture_output=True, text=True
        ).stdout.strip(),
        **server.facts(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _profile_top(path: Path, count: int = 25) -> list[str]:
    import io
    import pstats

    buffer = io.StringIO()
    stats = pstats.Stats(str(path), stream=buffer)
    stats.sort_stats("tottime").print_stats(count)
    return [line for line in buffer.getvalue().splitlines() if line.strip()]


def _variant(text: str) -> tuple[str, Path]:
    label, _, folder = text.partition("=")
    root = Path(folder).resolve()
    if not label or not (root / "ingestion" / "load").is_dir():
        raise SystemExit(f"--variant {text}: expected LABEL=DIR, DIR a checkout with ingestion/")
    return label, root


def _load_round(
    server: Server,
    label: str,
    root: Path,
    jsonl: Path,
    again: Path,
    rows: int,
    runs: dict[str, list[dict[str, Any]]],
    fingerprints: dict[str, dict[str, Any]],
    chunk_records: int | None = None,
) -> None:
    """One round of the loads of one checkout: enrichment off, on, then all duplicates."""
    suffix = f"@{label}" if label else ""
    database = server.fresh("off")
    try:
        result = run_load(
            server, database, jsonl, enrich=False, root=root, chunk_records=chunk_records
        )
        _check_load(result, rows, duplicates=False)
        if "off" + suffix not in fingerprints:
            fingerprints["off" + suffix] = server.fingerprint(database)
    finally:
        server.drop(database)
    runs["off" + suffix].append(result)
    print(f"  load{suffix}, enrichment off  {result['seconds']:7.1f} s", flush=True)

    database = server.fresh("on")
    try:
        result = run_load(
            server, database, jsonl, enrich=True, root=root, chunk_records=chunk_records
        )
        _check_load(result, rows, duplicates=False)
        if "on" + suffix not in fingerprints:
            fingerprints["on" + suffix] = server.fingerprint(database)
            fingerprints["on" + suffix]["visitor_sessions"] = server.count(
                database, "public.visitor_sessions"
            )
        runs["on" + suffix].append(result)
        print(f"  load{suffix}, enrichment on   {result['seconds']:7.1f} s", flush=True)
        result = run_load(
            server, database, again, enrich=True, root=root, chunk_records=chunk_records
        )
        _check_load(result, rows, duplicates=True)
        if server.count(database) != rows:
            raise RuntimeError("the all-duplicates load changed the row count")
        runs["again" + suffix].append(result)
        print(f"  load{suffix}, all duplicates  {result['seconds']:7.1f} s", flush=True)
    finally:
        server.drop(database)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument(
        "--database-url", help="an admin URL of a server to use (default: a private one)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement (median)")
    parser.add_argument("--visitors", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work-dir", type=Path, help="where the files go (default: a temp dir)")
    parser.add_argument("--keep-files", action="store_true", help="keep the generated files")
    parser.add_argument("--profile", action="store_true", help="also one cProfile'd load per mode")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="LABEL=DIR",
        help="another checkout (a git worktree of a baseline commit) whose loader is measured "
        "beside this one's, in every round, the two taking turns",
    )
    parser.add_argument(
        "--chunk-records",
        type=int,
        help="load_file's chunk_records (default: the loader's); variants whose benchmark "
        "predates this option use their default",
    )
    parser.add_argument("--child-load", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_load:
        child_load(json.loads(args.child_load))
        return

    sys.path.insert(0, str(PROJECT_ROOT))
    os.chdir(PROJECT_ROOT)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    local = None
    server: Server | None = None
    try:
        if args.database_url:
            admin_url = args.database_url
        else:
            from core.services import LocalPostgres

            local = LocalPostgres(
                Path(tempfile.mkdtemp(prefix="bench-ingest-pg-")),
                os_user=os.environ.get("BCF_SERVICES_OS_USER", "bcf"),
            )
            print(local.start(), flush=True)
            admin_url = local.url("postgres")
        server = Server(admin_url, local._postmaster_pid() if local else None)
        print("migrating the template database ...", flush=True)
        server.make_template()
        columns = server.columns()
        machine = _machine(server)
        print(
            f"PostgreSQL {machine['server_version']}, {machine['cpu_count']} cores, "
            f"load average {os.getloadavg()}",
            flush=True,
        )

        print(f"generating {args.events:,} events into {work} ...", flush=True)
        data = generate(work, args.events, args.visitors, args.seed, columns)
        rows = data["events"]
        print(json.dumps(data), flush=True)
        jsonl, again, csv = (
            work / "events.jsonl",
            work / "events-again.jsonl",
            work / "visitor_tracking.csv",
        )

        loaders = [("", PROJECT_ROOT), *map(_variant, args.variant)]
        runs: dict[str, list[dict[str, Any]]] = {
            f"{mode}{label and '@' + label}": []
            for mode in ("copy", "off", "on", "again")
            for label, _ in (loaders if mode != "copy" else loaders[:1])
        }
        fingerprints: dict[str, dict[str, Any]] = {}
        for round_number in range(1, args.repeat + 1):
            print(f"round {round_number}/{args.repeat}", flush=True)
            copied = run_copy(server, csv, columns, rows)
            if "copy" not in fingerprints:
                fingerprints["copy"] = server.fingerprint(copied["database"])
            server.drop(copied.pop("database"))
            runs["copy"].append(copied)
            print(f"  \\copy                {copied['seconds']:7.1f} s", flush=True)

            # The checkouts take turns, in the opposite order every other round.
            order = loaders if round_number % 2 else loaders[::-1]
            for label, root in order:
                _load_round(
                    server, label, root, jsonl, again, rows, runs, fingerprints, args.chunk_records
                )

        for label, _ in loaders:
            stored = fingerprints[f"on{label and '@' + label}"]
            same = {k: v for k, v in stored.items() if k != "visitor_sessions"}
            if same != fingerprints["copy"]:
                raise RuntimeError(
                    f"the loader{label and ' ' + label} and \\copy stored different rows: "
                    f"{stored} vs {fingerprints['copy']}"
                )
            if stored["visitor_sessions"] != fingerprints["on"]["visitor_sessions"]:
                raise RuntimeError(f"the loader {label} made other sessions: {stored}")

        copy_summary = _summary("`psql \\copy` CSV (reference)", runs["copy"], rows, None)
        copy_rate = copy_summary["rows_per_s"]
        measurements = [
            copy_summary,
            {
                **_summary("`load_file` JSONL, enrichment off", runs["off"], rows, copy_rate),
                "short": "off",
            },
            {
                **_summary("`load_file` JSONL, enrichment on", runs["on"], rows, copy_rate),
                "short": "on",
            },
            {
                **_summary(
                    "`load_file` again, all duplicates (enrichment on)",
                    runs["again"],
                    rows,
                    copy_rate,
                ),
                "short": "all duplicates",
            },
        ]
        for label, _ in loaders[1:]:
            for mode, name in (("off", "enrichment off"), ("on", "enrichment on"),
                               ("again", "all duplicates")):  # fmt: skip
                measurements.append(
                    {
                        **_summary(
                            f"`load_file` of {label}, {name}",
                            runs[f"{mode}@{label}"],
                            rows,
                            copy_rate,
                        ),
                        "short": f"{mode}@{label}",
                        # Wall time of the variant over this checkout's, round by round.
                        "speedup_of_current_by_round": [
                            round(theirs["seconds"] / ours["seconds"], 3)
                            for ours, theirs in zip(
                                runs[mode], runs[f"{mode}@{label}"], strict=True
                            )
                        ],
                    }
                )
        profiles: dict[str, list[str]] = {}
        if args.profile:
            for mode, enrich in (("off", False), ("on", True)):
                database = server.fresh(f"profile_{mode}")
                target = work / f"load-{mode}.pstats"
                try:
                    run_load(server, database, jsonl, enrich=enrich, profile=target)
                finally:
                    server.drop(database)
                profiles[mode] = _profile_top(target)
                print(f"cProfile, enrichment {mode}: {target}")
                print("\n".join(profiles[mode]))

        off, on, again = (measurements[i]["ratio_to_copy"] for i in (1, 2, 3))
        results = {
            "benchmark": "benchmarks/ingest",
            "events": rows,
            "repeat": args.repeat,
            "method": (
                "median wall time of --repeat interleaved runs, each into a fresh database "
                "cloned from a template migrated to head (visitor_tracking with its primary key, "
                "created_at index, lineage unique index and session index), CHECKPOINT before "
                "each run; loads in a fresh Python process each, timed around load_file; "
                "\\copy timed as psql's whole wall time; the all-duplicates load goes into the "
                "database the enrichment-on load just filled"
            ),
            "data": data,
            "machine": machine,
            "measurements": measurements,
            "targets": {
                "enrichment_off": {"target": TARGET_OFF, "ratio": off, "met": off >= TARGET_OFF},
                "enrichment_on": {"target": TARGET_ON, "ratio": on, "met": on >= TARGET_ON},
                "all_duplicates": {
                    "target": TARGET_AGAIN,
                    "ratio": again,
                    "met": again >= TARGET_AGAIN,
                },
            },
            "fingerprints": fingerprints,
            "raw_runs": runs,
            "profiles": profiles,
        }
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(results, indent=2, default=str) + "\n")
        print()
        print(_table(results))
        print()
        for name, target in results["targets"].items():
            verdict = "met" if target["met"] else "MISSED"
            print(
                f"{name}: {target['ratio']:.2f} of \\copy (target {target['target']:.2f}) {verdict}"
            )
        print(f"results: {args.output}")
    finally:
        if server is not None:
            server.drop_all()
        if local is not None:
            try:
                local.stop()
            finally:
                local.delete()
                shutil.rmtree(local.root.parents[1], ignore_errors=True)
        if not args.keep_files and not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
