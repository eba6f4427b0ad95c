"""The write API under load, next to pgbench doing the same single-row insert (the ceiling).

    uv run python -m benchmarks.api.run [--clients 16] [--duration 15] [--workers 2]
        [--database-url ADMIN_URL] [--redis-url URL] [--driver auto|wrk|python]

In one run, on one fresh database (migrated to head) of one server:

1. **pgbench**: `INSERT INTO public.leads (tenant_id, name, email, source) VALUES (...)`, one
   row per transaction, `--clients` connections, prepared statements, `--duration` seconds;
   per-transaction latencies from its log.
2. **pgbench doing the API's create**: the API's own statements for a lead (the role and
   tenant set locally, the insert with its audit row), pipelined to one Sync, a transaction
   per create: what the database alone does for the same work.
3. **API single create**: `POST /v1/leads` (a new lead each time), `--clients` concurrent
   keep-alive connections, `--duration` seconds. Each request: key check (cached), rate
   limit (Redis, leased in blocks), the insert and its audit row as `bcf_api` with the
   tenant set, in one round trip, committed together with the creates that wait with it.
   **API keyed create**: the same with an `Idempotency-Key` no other request has, as a
   client retrying safely sends: its record in Redis, and in the database the key's claim
   and the create (which records its row as the key's answer) in the group commit's shared
   transaction.
4. **API tracking**: `POST /v1/track` with `--batch-events` (100) events per call, distinct
   event ids, the same connections and duration: validation by the tracking source, one
   XADD per call.

The API runs as `uvicorn --workers N` (uvloop, httptools) in its own processes. The load
comes from `wrk` (C, like pgbench's client; `apt-get install wrk`), else from this process
(asyncio, raw HTTP/1.1): `--driver`. One keep-alive connection per client, on the same
machine: client, API, PostgreSQL and Redis share its cores, as pgbench and PostgreSQL do in
steps 1 and 2. Without `--database-url`/`--redis-url`, private servers are started in a
temporary folder and removed at the end.

Writes `benchmarks/api/results.json` (`--output`) and prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg

from benchmarks.databases import scratch_database
from core.db import migrate
from core.services import LocalPostgres, LocalRedis, free_port
from write_api.keys import create_key
from write_api.resources import BY_PATH
from write_api.runtime import ACT_AS_API
from write_api.statements import insert_statement

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results.json"
PGBENCH = Path("/usr/lib/postgresql/15/bin/pgbench")
TARGET_CREATE_SHARE = 0.40  # of pgbench's rate (issue 18)
TARGET_KEYED_OVER_PLAIN = 0.5  # keyed creates against creates without a key
TARGET_EVENTS_PER_SECOND = 60_000
CURRENT = "current"  # this checkout's API; others are `--variant` labels
PGBENCH_SCRIPT = """\\set n random(1, 1000000000)
INSERT INTO public.leads (tenant_id, name, email, source)
VALUES (CAST(:tenant AS uuid), 'Bench', 'pgbench-' || CAST(:n AS text) || '@example.com',
        'organic');
"""


def _pgbench_binary() -> str:
    for candidate in (os.environ.get("PGBENCH"), "pgbench", str(PGBENCH)):
        if candidate and (Path(candidate).is_file() or shutil.which(candidate)):
            return candidate
    raise SystemExit("pgbench not found: set PGBENCH or install postgresql-client")


def _percentiles(latencies_s: list[float]) -> dict[str, float]:
    if not latencies_s:
        return {"p50_ms": float("nan"), "p99_ms": float("nan")}
    ordered = sorted(latencies_s)
    return {
        "p50_ms": round(ordered[len(ordered) // 2] * 1000, 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
    }


def tree_cpu_seconds(root: int) -> float:
    """CPU (user + system) used so far by `root` and its descendants, exited ones included
    (a parent's reaped children are counted in its `children_*` times)."""
    total = 0.0
    try:
        processes = [psutil.Process(root)]
        processes += processes[0].children(recursive=True)
    except psutil.Error:
        return total
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.Error:  # exited meanwhile: counted by its parent from now on
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def own_cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


class CpuMeter:
    """CPU seconds per component (process trees, this process, reaped children) over a run."""

    def __init__(self, roots: dict[str, int | None]) -> None:
        self.roots = {name: pid for name, pid in roots.items() if pid is not None}

    def read(self) -> dict[str, float]:
        readings = {name: tree_cpu_seconds(pid) for name, pid in self.roots.items()}
        # This process drives the load itself or through a child (pgbench, wrk).
        readings["load_generator"] = own_cpu_seconds() + own_cpu_seconds(resource.RUSAGE_CHILDREN)
        return readings

    @staticmethod
    def per_request(
        before: dict[str, float], after: dict[str, float], requests: int
    ) -> dict[str, float]:
        """Milliseconds of CPU per request, per component that used any."""
        spent = {name: after[name] - before[name] for name in after}
        return {
            name: round(1000 * seconds / max(requests, 1), 3)
            for name, seconds in spent.items()
            if seconds > 0.005
        }


def api_transaction_script() -> str:
    """The API's own create of a lead as a pgbench script: its role-and-tenant statement and
    its insert with the audit row, pipelined to one Sync as `round_trip` sends them."""
    literals = {
        "name": "'Bench'",
        "email": "'pgbench-api-' || CAST(:n AS text) || '@example.com'",
        "source": "'organic'",
        "tenant_id": ":tenant",
        "tenant": ":tenant",
        "_tenant": ":tenant",
        "_ip": "'127.0.0.1'",
        "_ua": "'pgbench'",
        "_meta": '\'{"api_key_name": "pgbench"}\'',
    }

    def pgbench_sql(statement: str) -> str:
        return re.sub(
            r"%\((\w+)\)s|%%", lambda m: literals[m.group(1)] if m.group(1) else "%", statement
        )

    insert = insert_statement(BY_PATH["leads"], ("name", "email", "source", "tenant_id"))
    return (
        "\\set n random(1, 1000000000)\n\\startpipeline\n"
        f"{pgbench_sql(ACT_AS_API)};\n{pgbench_sql(insert)};\n\\endpipeline\n"
    )


def run_pgbench(
    url: str, tenant: uuid.UUID, clients: int, duration: int, work: Path, script_text: str
) -> dict[str, Any]:
    script = work / "pgbench.sql"
    script.write_text(script_text)
    logs = work / "pgbench-logs"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir()
    command = [
        _pgbench_binary(), "--no-vacuum", "--protocol=prepared", f"--client={clients}",
        f"--jobs={min(clients, os.cpu_count() or 2)}", f"--time={duration}",
        f"--define=tenant={tenant}", f"--file={script}", "--log",
        f"--log-prefix={logs / 'pgbench'}", url,
    ]  # fmt: skip
    finished = subprocess.run(command, capture_output=True, text=True, check=True)
    tps = float(re.search(r"tps = ([\d.]+)", finished.stdout).group(1))  # type: ignore[union-attr]
    latencies = []
    for log in logs.glob("pgbench*"):
        for line in log.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3:
                latencies.append(int(fields[2]) / 1_000_000)  # microseconds
    return {"requests_per_s": round(tps, 1), "requests": len(latencies), **_percentiles(latencies)}


PLACEHOLDER = b"{n}"  # in a body: replaced by a number no other request of the run gets

WRK_SCRIPT = """\
-- Bodies from the file of this thread, cycled; {n} becomes a number unique in the run.
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_API_KEY")
wrk.headers["Content-Type"] = "application/json"
-- With a key prefix, each request carries an Idempotency-Key no other request has.
local key_prefix = os.getenv("BENCH_IDEMPOTENCY_PREFIX") or ""
local headers = {}
for name, value in pairs(wrk.headers) do headers[name] = value end
-- thread_number: a global, set in each thread's state by setup.
local made, bodies, templated, position, sent = 0, {}, false, 0, 0
function setup(thread)
  made = made + 1
  thread:set("thread_number", made)
end
function init(args)
  for line in io.lines(args[1] .. "-" .. thread_number .. ".txt") do
    bodies[#bodies + 1] = line
    templated = templated or line:find("{n}", 1, true) ~= nil
  end
end
function request()
  position = position % #bodies + 1
  sent = sent + 1
  local body = bodies[position]
  if templated then
    body = body:gsub("{n}", thread_number .. "-" .. sent)
  end
  if key_prefix ~= "" then
    headers["Idempotency-Key"] = key_prefix .. thread_number .. "-" .. sent
  end
  return wrk.format(nil, nil, headers, body)
end
function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, '
    .. '"p50_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass(frozen=True)
class Load:
    """`clients` keep-alive connections POSTing `bodies` (cycled) to the API's `path` for
    `duration` seconds; with an `idempotency_prefix`, each request has a key of its own."""

    port: int
    path: str
    api_key: str
    bodies: list[bytes]
    clients: int
    duration: float
    idempotency_prefix: str = ""


def run_wrk(load: Load, work: Path) -> dict[str, Any]:
    """The load from wrk: its connections over min(clients, cores) threads, each thread
    cycling its share of the bodies."""
    port, path, bodies, clients = load.port, load.path, load.bodies, load.clients
    threads = min(clients, os.cpu_count() or 2)
    script = work / "api.lua"
    script.write_text(WRK_SCRIPT)
    stem = work / f"bodies{path.replace('/', '-')}"
    for thread in range(threads):
        share = bodies[thread::threads] or bodies
        Path(f"{stem}-{thread + 1}.txt").write_bytes(b"\n".join(share) + b"\n")
    seconds = max(1, round(load.duration))  # wrk takes whole seconds
    command = [
        "wrk", f"--threads={threads}", f"--connections={clients}", f"--duration={seconds}s",
        "--timeout=10s", f"--script={script}", f"http://127.0.0.1:{port}{path}", "--", str(stem),
    ]  # fmt: skip
    environment = {
        **os.environ,
        "BENCH_API_KEY": load.api_key,
        "BENCH_IDEMPOTENCY_PREFIX": load.idempotency_prefix,
    }
    finished = subprocess.run(command, capture_output=True, text=True, env=environment)
    if finished.returncode != 0:
        raise SystemExit(f"wrk failed: {finished.stderr.strip() or finished.stdout.strip()}")
    line = next(x for x in finished.stdout.splitlines() if x.startswith("WRK_RESULT "))
    measured = json.loads(line.removeprefix("WRK_RESULT "))
    answered = measured["requests"] - measured["non_2xx"]
    return {
        "requests_per_s": round(measured["requests"] / (measured["duration_us"] / 1e6), 1),
        "requests": measured["requests"],
        "statuses": {"2xx": answered, "other": measured["non_2xx"]},
        "socket_errors": measured["socket_errors"],
        "p50_ms": round(measured["p50_us"] / 1000, 2),
        "p99_ms": round(measured["p99_us"] / 1000, 2),
    }


async def _client(
    load: Load,
    bodies: Callable[[], tuple[bytes, str]],
    until: float,
    latencies: list[float],
    statuses: Counter[int],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", load.port)
    head = (
        f"POST {load.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {load.api_key}\r\n"
        "Content-Type: application/json\r\n"
    )
    try:
        while time.perf_counter() < until:
            body, extra_headers = bodies()
            started = time.perf_counter()
            writer.write(
                f"{head}{extra_headers}Content-Length: {len(body)}\r\n\r\n".encode() + body
            )
            status = int((await reader.readline()).split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses[status] += 1
    finally:
        writer.close()


def run_load(load: Load) -> dict[str, Any]:
    """The load from this process: its connections as asyncio clients."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    cycle, numbers = itertools.cycle(load.bodies), itertools.count()

    def next_body() -> tuple[bytes, str]:
        body, number = next(cycle), next(numbers)
        if PLACEHOLDER in body:
            body = body.replace(PLACEHOLDER, str(number).encode())
        if load.idempotency_prefix:
            return body, f"Idempotency-Key: {load.idempotency_prefix}{number}\r\n"
        return body, ""

    async def everyone() -> float:
        until = time.perf_counter() + load.duration
        started = time.perf_counter()
        await asyncio.gather(
            *(_client(load, next_body, until, latencies, statuses) for _ in range(load.clients))
        )
        return time.perf_counter() - started

    elapsed = asyncio.run(everyone())
    return {
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "requests": len(latencies),
        "statuses": {str(code): count for code, count in sorted(statuses.items())},
        **_percentiles(latencies),
    }


def lead_bodies() -> list[bytes]:
    """One body whose email differs on every request: a new lead each time."""
    run = uuid.uuid4().hex[:8]
    return [b'{"name":"Bench","email":"api-%s-{n}@example.com","source":"organic"}' % run.encode()]


def track_bodies(batch_events: int, distinct: int) -> list[bytes]:
    """`distinct` prepared bodies of `batch_events` events each; ids differ per body."""
    import orjson

    agents = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1",
    ]
    prepared = []
    for b in range(distinct):
        events = [
            {
                "event_id": str(uuid.uuid4()),
                "occurred_at": f"2026-11-2{b % 5}T{i % 24:02d}:{b % 60:02d}:00Z",
                "session_id": f"s-{b}-{i // 5}",
                "visitor_id": f"v-{b}-{i // 10}",
                "ip": f"177.72.{b % 250}.{i % 250}",
                "user_agent": agents[i % 2],
                "page_url": f"https://botcriptofy.com.br/p/{i % 7}",
                "referrer": "https://www.google.com/",
                "utm_source": "google",
                "visit_duration": i % 90,
            }
            for i in range(batch_events)
        ]
        prepared.append(orjson.dumps({"events": events}))
    return prepared


def start_api(
    database_url: str, redis_url: str, workers: int, root: Path = PROJECT_ROOT
) -> tuple[subprocess.Popen[bytes], int]:
    """The API of the checkout at `root` (its `write_api` first on the path, this venv)."""
    port = free_port()
    environment = {
        **os.environ,
        "PYTHONPATH": str(root),
        "BCF_DATABASE_URL": database_url,
        "BCF_REDIS_URL": redis_url,
        "BCF_API_RATE_LIMIT_PER_MINUTE": str(10**9),
        "BCF_ENV": "development",
    }
    command = [
        sys.executable, "-m", "uvicorn", "write_api.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--loop", "uvloop", "--http", "httptools", "--log-level", "warning", "--no-access-log",
        "--no-server-header",
    ]  # fmt: skip
    process = subprocess.Popen(command, env=environment, cwd=root)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return process, port
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise SystemExit("the API did not become ready within 60 s")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=int, default=15, help="Seconds per measurement.")
    parser.add_argument("--warmup", type=float, default=3.0, help="Seconds before each API run.")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes.")
    parser.add_argument("--batch-events", type=int, default=100)
    parser.add_argument("--database-url", help="An admin URL; default: a private server.")
    parser.add_argument("--redis-url", help="Default: a private redis-server.")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--repeat", type=int, default=1, help="Rounds of every step, interleaved; medians."
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="LABEL=DIR",
        help="Another checkout (a git worktree of a baseline commit) whose API is measured "
        "beside this one's, alternating with it in every round of every API step.",
    )
    parser.add_argument(
        "--steps",
        default=",".join(LABELS),
        help=f"The steps to run, comma-separated (default all: {','.join(LABELS)}).",
    )
    parser.add_argument(
        "--driver",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="The API's load generator: wrk (C, like pgbench's client), this process, or "
        "wrk when it is on PATH (auto).",
    )
    args = parser.parse_args(argv)
    driver = args.driver
    if driver == "auto":
        driver = "wrk" if shutil.which("wrk") else "python"
    elif driver == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk not found: apt-get install wrk, or --driver python")
    print(f"API load from {driver}", flush=True)

    # The folder outlives the servers in it: they stop (ExitStack) before it is deleted.
    with tempfile.TemporaryDirectory(prefix="bench-api-") as folder, ExitStack() as stack:
        work = Path(folder)
        # CPU is counted per server only for private ones (a shared server serves others too).
        server_pids: dict[str, int | None] = {"postgres": None, "redis": None}
        admin_url = args.database_url
        if admin_url is None:
            postgres = LocalPostgres(work, os_user=os.environ.get("BCF_SERVICES_OS_USER", "bcf"))
            print(postgres.start(), flush=True)
            stack.callback(postgres.stop)
            admin_url = postgres.url("postgres")
            server_pids["postgres"] = postgres.status().pid
        redis_url = args.redis_url
        if redis_url is None:
            redis_server = LocalRedis(work)
            print(redis_server.start(), flush=True)
            stack.callback(redis_server.stop)
            redis_url = redis_server.url()
            server_pids["redis"] = redis_server.status().pid
        url = stack.enter_context(scratch_database(admin_url, f"bench_api_{uuid.uuid4().hex[:8]}"))
        print("migrating ...", flush=True)
        migrate.upgrade(url)
        tenant = uuid.uuid4()
        with psycopg.connect(url) as conn:
            conn.execute(
                "INSERT INTO public.tenants (id, name, slug, type) "
                "VALUES (%s, 'Bench', %s, 'empresa')",
                (tenant, f"bench-{tenant.hex[:8]}"),
            )
        _, key = create_key(url, "bench", tenant_id=tenant, scopes=("read", "write", "track"))

        steps = args.steps.split(",")
        unknown = set(steps) - set(LABELS)
        if unknown:
            raise SystemExit(f"unknown steps: {', '.join(sorted(unknown))}")
        apis: list[tuple[str, int, CpuMeter]] = []
        for name, root in [(CURRENT, PROJECT_ROOT), *map(_variant, args.variant)]:
            api, port = start_api(url, redis_url, args.workers, root)
            stack.callback(api.wait, 30)
            stack.callback(api.terminate)
            apis.append((name, port, CpuMeter({"api": api.pid, **server_pids})))
        pgbench_scripts = {
            "pgbench_insert": PGBENCH_SCRIPT,
            "pgbench_api_transaction": api_transaction_script(),
        }
        creates, tracks = lead_bodies(), track_bodies(args.batch_events, 2000)
        scenarios = (
            ("api_create", "/v1/leads", creates, False),
            ("api_create_idempotent", "/v1/leads", creates, True),
            ("api_track", "/v1/track", tracks, False),
        )

        def measure(
            port: int, path: str, bodies: list[bytes], seconds: float, keyed: bool
        ) -> dict[str, Any]:
            # Keys unique to each load, so a measured run replays nothing of its warm-up.
            prefix = f"bench-{uuid.uuid4().hex[:8]}-" if keyed else ""
            load = Load(port, path, key, bodies, args.clients, seconds, prefix)
            return run_wrk(load, work) if driver == "wrk" else run_load(load)

        runs: dict[str, list[dict[str, Any]]] = {}
        server_meter = CpuMeter(server_pids)
        for round_number in range(args.repeat):
            for label, script_text in pgbench_scripts.items():
                if label not in steps:
                    continue
                print(f"{label}: {args.clients} clients, {args.duration} s ...", flush=True)
                before = server_meter.read()
                ran = run_pgbench(url, tenant, args.clients, args.duration, work, script_text)
                ran["cpu_ms_per_request"] = server_meter.per_request(
                    before, server_meter.read(), ran["requests"]
                )
                ran["load_average_1m_after"] = round(os.getloadavg()[0], 2)
                runs.setdefault(label, []).append(ran)
                print(f"  {ran}", flush=True)
            # The APIs take turns, in the opposite order every other round (drift cancels).
            order = apis if round_number % 2 == 0 else apis[::-1]
            for label, path, bodies, keyed in scenarios:
                if label not in steps:
                    continue
                for name, port, meter in order:
                    shown = label if name == CURRENT else f"{label}@{name}"
                    measure(port, path, bodies, args.warmup, keyed)
                    print(f"{shown}: {args.clients} clients, {args.duration} s ...", flush=True)
                    before = meter.read()
                    ran = measure(port, path, bodies, args.duration, keyed)
                    ran["cpu_ms_per_request"] = meter.per_request(
                        before, meter.read(), ran["requests"]
                    )
                    ran["load_average_1m_after"] = round(os.getloadavg()[0], 2)
                    if label == "api_track":
                        ran["events_per_s"] = round(ran["requests_per_s"] * args.batch_events)
                    runs.setdefault(shown, []).append(ran)
                    print(f"  {ran}", flush=True)
        results = {label: _medians(measured) for label, measured in runs.items()}
        with psycopg.connect(url) as conn:
            audited = conn.execute(
                "SELECT count(*) FROM public.audit_logs "
                "WHERE resource = 'leads' AND new_values->>'email' LIKE 'api-%'"
            ).fetchone()
            api_leads = conn.execute(
                "SELECT count(*) FROM public.leads WHERE email LIKE 'api-%'"
            ).fetchone()
        summary = _summary(results, runs, [name for name, _, _ in apis])
        summary["leads_created_by_the_api"] = api_leads[0] if api_leads else None
        summary["audit_rows_of_those_leads"] = audited[0] if audited else None
    report = {
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {**{k: str(v) for k, v in vars(args).items()}, "driver": driver},
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "results": results,
        "summary": summary,
    }
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    _print_table(report)
    return report


LABELS = (
    "pgbench_insert",
    "pgbench_api_transaction",
    "api_create",
    "api_create_idempotent",
    "api_track",
)


def _variant(text: str) -> tuple[str, Path]:
    label, _, folder = text.partition("=")
    root = Path(folder).resolve()
    if not label or label == CURRENT or not (root / "write_api").is_dir():
        raise SystemExit(f"--variant {text}: expected LABEL=DIR, DIR a checkout with write_api/")
    return label, root


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One step's rounds: the median of each figure (CPU per part too), and every run."""
    figures = ("requests_per_s", "p50_ms", "p99_ms", "events_per_s", "load_average_1m_after")
    medians: dict[str, Any] = {
        name: round(_median([run[name] for run in runs]), 2) for name in figures if name in runs[0]
    }
    parts = {part for run in runs for part in run["cpu_ms_per_request"]}
    medians["cpu_ms_per_request"] = {
        part: round(_median([run["cpu_ms_per_request"].get(part, 0.0) for run in runs]), 3)
        for part in sorted(parts)
    }
    medians["requests"] = sum(run["requests"] for run in runs)
    medians["runs"] = runs
    return medians


def _round_ratios(
    runs: dict[str, list[dict[str, Any]]], numerator: str, denominator: str
) -> list[float]:
    """requests/s of `numerator` over `denominator`, round by round (measured minutes apart)."""
    return [
        round(top["requests_per_s"] / bottom["requests_per_s"], 3)
        for top, bottom in zip(runs[numerator], runs[denominator], strict=True)
    ]


def _summary(
    results: dict[str, Any], runs: dict[str, list[dict[str, Any]]], apis: list[str]
) -> dict[str, Any]:
    """Per API: its shares of pgbench and keyed over plain creates, as medians of the rounds'
    ratios; and this checkout's rates over each variant's, step by step."""
    summary: dict[str, Any] = {}
    for name in apis:
        suffix = "" if name == CURRENT else f"@{name}"
        entry: dict[str, Any] = {}
        pairs = (
            ("create_share_of_pgbench", f"api_create{suffix}", "pgbench_insert"),
            (
                "create_share_of_pgbench_api_transaction",
                f"api_create{suffix}",
                "pgbench_api_transaction",
            ),
            ("keyed_create_share_of_pgbench", f"api_create_idempotent{suffix}", "pgbench_insert"),
            ("keyed_over_plain_create", f"api_create_idempotent{suffix}", f"api_create{suffix}"),
        )
        for figure, numerator, denominator in pairs:
            if numerator in runs and denominator in runs:
                ratios = _round_ratios(runs, numerator, denominator)
                entry[figure] = {"median": round(_median(ratios), 3), "rounds": ratios}
        if f"api_track{suffix}" in results:
            entry["track_events_per_s"] = results[f"api_track{suffix}"]["events_per_s"]
        summary[name] = entry
    for name in apis[1:]:
        summary[f"{CURRENT}_over_{name}"] = {
            label: {"median": round(_median(ratios), 3), "rounds": ratios}
            for label in LABELS
            if f"{label}@{name}" in runs
            for ratios in [_round_ratios(runs, label, f"{label}@{name}")]
        }
    return summary


def _print_table(report: dict[str, Any]) -> None:
    rows = report["results"]
    print(f"\n{'':<36}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'events/s':>11}  (medians)")
    for label, row in rows.items():
        events = row.get("events_per_s", "")
        print(
            f"{label:<36}{row['requests_per_s']:>10}{row['p50_ms']:>10}{row['p99_ms']:>10}"
            f"{events!s:>11}"
        )
    print("\nCPU ms per request (median of the rounds, all processes of each part):")
    for label, row in rows.items():
        parts = row["cpu_ms_per_request"]
        total = sum(parts.values())
        print(f"  {label:<34}{total:>7.3f}  " + ", ".join(f"{k} {v}" for k, v in parts.items()))
    summary = report["summary"]
    print("\nRatios (median of the rounds' own ratios; each round measures both sides):")
    targets = {
        "create_share_of_pgbench": TARGET_CREATE_SHARE,
        "keyed_over_plain_create": TARGET_KEYED_OVER_PLAIN,
    }
    for name, entry in summary.items():
        if not isinstance(entry, dict):
            continue
        for figure, value in entry.items():
            if isinstance(value, dict):
                target = f" (target {targets[figure]})" if figure in targets else ""
                print(f"  {name:<22}{figure:<42}{value['median']:>7}{target}  {value['rounds']}")
            else:
                print(f"  {name:<22}{figure:<42}{value:>7,}")
    if summary.get("leads_created_by_the_api") is not None:
        audited = summary["audit_rows_of_those_leads"] == summary["leads_created_by_the_api"]
        print(
            f"{summary['leads_created_by_the_api']:,} leads created through the API, "
            + ("each with its audit row" if audited else "NOT each with its audit row")
        )


if __name__ == "__main__":
    main()
