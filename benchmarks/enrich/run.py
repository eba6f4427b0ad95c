"""Events/s of web-event enrichment and of the tracking source's parse, with and without it.

    .venv/bin/python benchmarks/enrich/run.py [--events 1000000] [--visitors 50000] [--seed 7]
        [--chunk-records 100000]

Synthetic but realistic traffic: a few hundred distinct user agents with a long-tailed mix
(Chrome/Safari/Samsung Internet on Android and iOS, desktop Chrome/Edge/Firefox/Safari,
tablets, in-app browsers, ~3 % bots and HTTP tools), one address per visitor drawn from
Brazilian ISP blocks (IPv4 and ~30 % IPv6) with some US/EU traffic, ~20 events per visitor.

Measured, each in this process and reported as events/s:
1. `enrich_events` on a frame of (ip_address, user_agent): cold (first call: databases
   loading and every distinct value resolved), warm (the cross-batch caches hit), and off.
2. `tracking.parse_file` of the same events as JSONL bytes (decode, validate, enrich,
   shape the visitor_tracking frame): enrichment on with cold caches (a fresh process),
   on with warm caches (the next batch of a long-running process), and off.
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ingestion.enrich import enrich_events, parse_user_agent
from ingestion.enrich.geo import GeoIp, default_geoip
from ingestion.sources.tracking import parse_file

ANDROID_MODELS = [
    "SM-S918B", "SM-S911B", "SM-A546B", "SM-A145M", "SM-A346M", "SM-G991B", "SM-A536M",
    "Pixel 7", "Pixel 8", "moto g(60)", "moto g52", "moto g84 5G", "M2101K6G", "23021RAAEG",
    "2201117TG", "K",
]  # fmt: skip
IOS_VERSIONS = ["16_6", "16_7_8", "17_0", "17_1_2", "17_2_1", "17_3_1", "17_4", "17_4_1", "17_5"]
CHROME = [f"{major}.0.0.0" for major in range(118, 126)]
BOTS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/124.0.6367.201 Mobile Safari/537.36 (compatible; Googlebot/2.1; "
    "+http://www.google.com/bot.html)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; "
    "+http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; "
    "+https://openai.com/gptbot)",
    "curl/8.5.0",
    "python-requests/2.31.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/120.0.0.0 Safari/537.36",
]


def user_agents() -> list[str]:
    """A few hundred distinct, real-world-shaped user agents, most common first."""
    agents: list[str] = []
    for model in ANDROID_MODELS:
        for android in ("12", "13", "14"):
            for chrome in CHROME[-5:]:
                agents.append(
                    f"Mozilla/5.0 (Linux; Android {android}; {model}) AppleWebKit/537.36 "
                    f"(KHTML, like Gecko) Chrome/{chrome} Mobile Safari/537.36"
                )
    for ios in IOS_VERSIONS:
        dotted = ios.replace("_", ".")
        agents.append(
            f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 "
            f"(KHTML, like Gecko) Version/{dotted} Mobile/15E148 Safari/604.1"
        )
        agents.append(
            f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 "
            f"(KHTML, like Gecko) Mobile/15E148 Instagram 327.0.0.30.120 (iPhone15,3; iOS {ios}; "
            "pt_BR; pt; scale=3.00; 1290x2796; 580355447)"
        )
        agents.append(
            f"Mozilla/5.0 (iPad; CPU OS {ios} like Mac OS X) AppleWebKit/605.1.15 "
            f"(KHTML, like Gecko) Version/{dotted} Mobile/15E148 Safari/604.1"
        )
    for chrome in CHROME:
        agents.append(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{chrome} Safari/537.36"
        )
        agents.append(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like "
            f"Gecko) Chrome/{chrome} Safari/537.36"
        )
        agents.append(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{chrome} Safari/537.36 Edg/{chrome[:3]}.0.2478.67"
        )
        agents.append(
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{chrome} Safari/537.36"
        )
    for firefox in range(118, 126):
        agents.append(
            f"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{firefox}.0) Gecko/20100101 "
            f"Firefox/{firefox}.0"
        )
        agents.append(
            f"Mozilla/5.0 (Android 14; Mobile; rv:{firefox}.0) Gecko/{firefox}.0 "
            f"Firefox/{firefox}.0"
        )
    for safari in ("16.6", "17.0", "17.2", "17.3", "17.4", "17.5"):
        agents.append(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
            f"Gecko) Version/{safari} Safari/605.1.15"
        )
    for samsung in ("23.0", "24.0", "25.0"):
        for model in ("SM-A546B", "SM-S918B", "SM-A145M"):
            agents.append(
                f"Mozilla/5.0 (Linux; Android 14; SAMSUNG {model}) AppleWebKit/537.36 (KHTML, "
                f"like Gecko) SamsungBrowser/{samsung} Chrome/117.0.0.0 Mobile Safari/537.36"
            )
    for tablet in ("SM-X700", "SM-T220", "SM-X200", "Lenovo TB-X606F"):
        agents.append(
            f"Mozilla/5.0 (Linux; Android 13; {tablet}) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/124.0.0.0 Safari/537.36"
        )
    return agents


# LACNIC blocks held mostly by Brazilian ISPs, then some US/EU access networks.
V4_BLOCKS = [
    "177.72.0.0/13", "179.96.0.0/13", "186.192.0.0/11", "187.0.0.0/11", "189.0.0.0/11",
    "191.0.0.0/12", "200.128.0.0/10", "201.0.0.0/12", "152.240.0.0/12", "143.0.0.0/13",
    "24.0.0.0/12", "73.0.0.0/11", "81.0.0.0/12", "88.0.0.0/12", "2.0.0.0/12",
]  # fmt: skip
V6_BLOCKS = ["2804:14c::/32", "2804:7f0::/32", "2804:431::/32", "2804:d41::/32", "2600:1700::/28"]


def addresses(rng: random.Random, count: int) -> list[str]:
    networks4 = [ipaddress.ip_network(block) for block in V4_BLOCKS]
    networks6 = [ipaddress.ip_network(block) for block in V6_BLOCKS]
    out: list[str] = []
    for _ in range(count):
        if rng.random() < 0.3:
            net6 = rng.choice(networks6)
            out.append(str(net6[rng.randrange(net6.num_addresses)]))
        else:
            net4 = networks4[min(int(rng.expovariate(0.35)), len(networks4) - 1)]
            out.append(str(net4[rng.randrange(1, net4.num_addresses - 1)]))
    return out


PAGES = ["/", "/precos", "/bots", "/bots/grid", "/blog/dca-bitcoin", "/cadastro", "/login"]
TRAFFIC_SOURCES: list[dict[str, str]] = [
    {},
    {},
    {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "brand", "gclid": "Cj0K"},
    {"utm_source": "facebook", "utm_medium": "paidsocial", "fbclid": "IwAR2x"},
    {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "nov"},
    {"referrer": "https://www.google.com/"},
]


def iter_events(count: int, visitors: int, seed: int) -> Iterator[dict[str, Any]]:
    """The synthetic traffic, one event at a time (bounded memory for large counts)."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    agents = user_agents()
    rng.shuffle(agents)
    weights = [1 / (rank + 1) ** 0.9 for rank in range(len(agents))]
    ips = addresses(rng, visitors)
    visitor_agents = rng.choices(agents, weights=weights, k=visitors)
    for visitor in range(visitors):
        if rng.random() < 0.03:
            visitor_agents[visitor] = rng.choice(BOTS)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    made = 0
    while made < count:
        visitor = rng.randrange(visitors)
        session = uuid.UUID(int=rng.getrandbits(128)).hex[:16]
        at = start + timedelta(seconds=rng.randrange(24 * 3600 * 24))
        source = rng.choice(TRAFFIC_SOURCES)
        for step in range(min(1 + int(rng.expovariate(0.25)), count - made)):
            event: dict[str, Any] = {
                "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "occurred_at": (at + timedelta(seconds=40 * step)).isoformat(),
                "session_id": session,
                "visitor_id": f"v{visitor}",
                "ip": ips[visitor],
                "user_agent": visitor_agents[visitor],
                "page_url": "https://botcriptofy.com.br" + rng.choice(PAGES),
                "page_title": "BotCriptoFy",
                "screen_resolution": "1920x1080",
                "visit_duration": rng.randrange(300),
                **(source if step == 0 else {}),
            }
            if rng.random() < 0.01:
                event.update(event_type="conversion", event_name="signup", conversion_value=49.9)
            made += 1
            yield event


def events(count: int, visitors: int, seed: int) -> list[dict[str, Any]]:
    return list(iter_events(count, visitors, seed))


def timed(label: str, rows: int, action: Callable[[], object], results: list[str]) -> float:
    began = time.perf_counter()
    action()
    seconds = time.perf_counter() - began
    line = f"{label:<44} {seconds:7.2f} s  {rows / seconds:>10,.0f} events/s"
    results.append(line)
    print(line, flush=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--visitors", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--chunk-records",
        type=int,
        default=100_000,
        help="records per parse call, as the loader chunks files (0: the whole file at once)",
    )
    args = parser.parse_args()

    print(f"generating {args.events:,} events from {args.visitors:,} visitors ...", flush=True)
    generated = events(args.events, args.visitors, args.seed)
    frame = pl.DataFrame(
        {
            "ip_address": [e["ip"] for e in generated],
            "user_agent": [e["user_agent"] for e in generated],
        }
    )
    step = args.chunk_records or len(generated)
    chunks = [
        b"\n".join(orjson.dumps(e) for e in generated[start : start + step]) + b"\n"
        for start in range(0, len(generated), step)
    ]
    jsonl_bytes = sum(map(len, chunks))
    del generated
    n = frame.height
    print(
        f"{n:,} events, {frame['user_agent'].n_unique():,} distinct user agents, "
        f"{frame['ip_address'].n_unique():,} distinct IPs, "
        f"{jsonl_bytes / 2**20:,.0f} MiB JSONL in {len(chunks)} parse calls"
    )

    results: list[str] = []
    timed("geo databases load (once per process)", n, default_geoip, results)
    enriched: dict[str, pl.DataFrame] = {}
    timed(
        "enrich_events, cold caches",
        n,
        lambda: enriched.setdefault("cold", enrich_events(frame)),
        results,
    )
    timed("enrich_events, warm caches", n, lambda: enrich_events(frame), results)
    timed("enrich_events, enabled=False", n, lambda: enrich_events(frame, enabled=False), results)
    parse_user_agent.cache_clear()
    fresh = GeoIp()  # an empty address cache (its loading is not timed)
    timed(
        "parse_file JSONL, enrichment on, cold caches",
        n,
        lambda: [parse_file(chunk, "b.jsonl", geoip=fresh) for chunk in chunks],
        results,
    )
    timed(
        "parse_file JSONL, enrichment on, warm caches",
        n,
        lambda: [parse_file(chunk, "b.jsonl", geoip=fresh) for chunk in chunks],
        results,
    )
    timed(
        "parse_file JSONL, enrichment off",
        n,
        lambda: [parse_file(chunk, "b.jsonl", enrich=False) for chunk in chunks],
        results,
    )
    out = enriched["cold"]
    bots = out.filter(pl.col("is_bot")).height
    kinds = out.group_by("device_type").len().sort("len", descending=True)
    mix = ", ".join(
        f"{kind} {count:,}"
        for kind, count in zip(kinds["device_type"].to_list(), kinds["len"].to_list(), strict=True)
    )
    print(
        f"bots flagged: {bots:,} ({bots / n:.1%}); device types: {mix}; "
        f"with country: {1 - out['country'].null_count() / n:.1%}, "
        f"with city: {1 - out['city'].null_count() / n:.1%}"
    )


if __name__ == "__main__":
    main()
