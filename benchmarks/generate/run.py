"""Benchmark of `demo_data`: wall time and peak memory, files only (no database).

    .venv/bin/python benchmarks/generate/run.py                 # the default demo run
    .venv/bin/python benchmarks/generate/run.py --events 10000000

`--events N` sets events_per_day so the tracking source totals about N events over `--days`.
Peak memory is the process's maximum resident set size (getrusage), so run one case per
process. Output: one JSON line with the timings per step and the sizes written.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from demo_data import GenerateProgress, generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--days", type=int, default=540)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--events", type=int, default=None, help="total tracking events wanted")
    parser.add_argument(
        "--out", type=Path, default=None, help="landing folder (default: a temp one)"
    )
    args = parser.parse_args()
    per_day = None if args.events is None else max(1, round(args.events / args.days))
    out = args.out or Path(tempfile.mkdtemp(prefix="bcf-generate-"))
    last = [0.0]

    def progress(step: GenerateProgress) -> None:
        now = time.perf_counter()
        if step.step == "tracking" and (now - last[0] > 10 or step.done == step.total):
            last[0] = now
            print(f"  tracking day {step.done}/{step.total}", file=sys.stderr)

    started = time.perf_counter()
    summary = generate(
        None,
        out,
        tenants=args.tenants,
        days=args.days,
        seed=args.seed,
        events_per_day=per_day,
        end_date=date(2026, 11, 24),
        progress=progress,
    )
    wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "tenants": args.tenants,
                "days": args.days,
                "events_per_day": summary.events_per_day,
                "tracking_events": summary.records["tracking"],
                "tracking_events_per_s": round(
                    summary.records["tracking"] / summary.timings["tracking"]
                ),
                "wall_s": round(wall, 1),
                "peak_rss_mb": round(peak_mb),
                "timings_s": summary.timings,
                "records": summary.records,
                "mb_written": round(sum(summary.bytes.values()) / 1e6, 1),
                "landing": str(out),
            }
        )
    )


if __name__ == "__main__":
    main()
