"""`bcf demo` from nothing, then again with nothing new: wall time, phases and peak memory.

    uv run python -m benchmarks.demo.run                 # the default scale (20 tenants, 540 days)
    uv run python -m benchmarks.demo.run --scale 2000    # ~1.1M tracking events

Each measurement starts `bcf demo` as a user does (the venv's `bcf`, so dependencies are
installed and uv is not timed) in a fresh data folder with no `BCF_*` URLs: it starts its
own PostgreSQL and Redis there. The first run does everything; the second finds every file in
the ledger. Peak memory is the largest resident set of the `bcf` process and the processes it
waited for (dbt, initdb), from `wait4`; the PostgreSQL and Redis servers are detached
daemons and not counted. The services are stopped and the folder removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from orchestration.local import data_dir_environment

RESULTS = Path(__file__).with_name("results.json")
TIMINGS = re.compile(r"^timings: (.*)$", re.MULTILINE)
SUMMARY = re.compile(r"(\d+) of (\d+) assets materialized; checks: (\d+) passed, (\d+) failed")


@dataclass(frozen=True)
class DemoMeasurement:
    wall_s: float
    peak_rss_mb: float
    phases_s: dict[str, float]
    assets: str
    checks_passed: int
    checks_failed: int


def run_demo(data_dir: Path, arguments: list[str], log: Path) -> DemoMeasurement:
    bcf = Path(sys.executable).parent / "bcf"
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(
            [str(bcf), "demo", *arguments],
            env={**data_dir_environment(data_dir), "COLUMNS": "160"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    output = log.read_text(encoding="utf-8")
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bcf demo failed; its output: {log}\n{output[-3000:]}")
    phases = {
        phase.rsplit(" ", 2)[0]: float(phase.rsplit(" ", 2)[1])
        for phase in TIMINGS.findall(output)[-1].split(", ")
    }
    materialized, total, passed, failed = SUMMARY.findall(output)[-1]
    return DemoMeasurement(
        wall_s=round(wall, 1),
        peak_rss_mb=round(usage.ru_maxrss / 1024, 1),
        phases_s=phases,
        assets=f"{materialized}/{total}",
        checks_passed=int(passed),
        checks_failed=int(failed),
    )


def _tracking_events(data_dir: Path) -> int:
    manifest = json.loads((data_dir / "landing" / ".generated.json").read_text())
    return int(manifest["arguments"]["events_per_day"]) * int(manifest["arguments"]["days"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--days", type=int, default=540)
    parser.add_argument("--scale", type=int, default=None, help="tracking events per day")
    parser.add_argument("--output", type=Path, default=RESULTS)
    options = parser.parse_args()
    arguments = ["--tenants", str(options.tenants), "--days", str(options.days)]
    if options.scale:
        arguments += ["--scale", str(options.scale)]
    data_dir = Path(tempfile.mkdtemp(prefix="bcf-bench-demo-"))
    logs = Path(tempfile.mkdtemp(prefix="bcf-bench-demo-logs-"))
    try:
        first = run_demo(data_dir, arguments, logs / "first.log")
        print(f"first run: {first}", flush=True)
        second = run_demo(data_dir, arguments, logs / "second.log")
        print(f"second run: {second}", flush=True)
        events = _tracking_events(data_dir)
    finally:
        subprocess.run(
            [str(Path(sys.executable).parent / "bcf"), "services", "down"],
            env=data_dir_environment(data_dir),
            capture_output=True,
            check=False,
        )
        shutil.rmtree(data_dir, ignore_errors=True)
    results = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} CPUs, {platform.platform()}, "
        f"Python {platform.python_version()}",
        "arguments": arguments,
        "tracking_events_about": events,
        "first_run": asdict(first),
        "second_run_nothing_new": asdict(second),
        "logs": str(logs),
    }
    options.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
