"""`generate`: the whole demo data set, files and database rows, for one seed."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from demo_data import billing as billing_module
from demo_data import finance, operational, tables, webhooks
from demo_data.activity import ActivityGenerator, build_context
from demo_data.files import (
    LandingWriter,
    WrittenFile,
    csv_bytes,
    gzipped,
    parquet_bytes,
    per_source,
)
from demo_data.seeding import stream
from demo_data.traffic import DEFAULT_EVENTS_PER_DAY, TrafficGenerator
from demo_data.world import BRT, Window, World, build_world
from ingestion.parsing.contract import ParseContext

MIN_DAYS = 7
MAX_DAYS = 3660
MAX_TENANTS = 5000
MAX_BAD_RECORDS = 0.2


@dataclass(frozen=True)
class GenerateProgress:
    """One step forward: `step` is billing, tracking, activity, finance, payments, database."""

    step: str
    done: int
    total: int


ProgressCallback = Callable[[GenerateProgress], None]


@dataclass
class GenerationSummary:
    seed: int
    tenants: int
    first_day: date
    last_day: date
    events_per_day: int
    landing_dir: Path
    rows: dict[str, int]  # operational rows generated, per table
    inserted: dict[str, int] | None  # of which new in the database this run (None: no database)
    files: dict[str, int]  # landing files per source
    records: dict[str, int]  # records (lines, rows) per source
    bytes: dict[str, int]
    files_changed: int  # files written (or rewritten) this run; 0 when all were already there
    files_removed: list[str]
    stats: dict[str, Any]
    timings: dict[str, float]
    elapsed_s: float
    context: ParseContext = field(repr=False)
    # False when the last run with these arguments left every file (and row) in place, so
    # nothing was generated: the figures are that run's, from its manifest.
    regenerated: bool = True

    def table(self) -> list[tuple[str, str, str]]:
        """(what, how many, detail) lines for a CLI summary table."""
        lines = [
            (  # the long text last: the table fits 80 columns
                "period",
                f"{(self.last_day - self.first_day).days + 1} days",
                f"{self.first_day} .. {self.last_day}",
            ),
            ("tenants", str(self.tenants), f"seed {self.seed}"),
        ]
        for source in sorted(self.files):
            lines.append(
                (
                    f"landing/{source}",
                    f"{self.records[source]:,} records",
                    f"{self.files[source]} files, {self.bytes[source] / 1e6:.1f} MB",
                )
            )
        for table, count in self.rows.items():
            new = "" if self.inserted is None else f"{self.inserted.get(table, 0):,} new"
            lines.append((f"public.{table}", f"{count:,} rows", new))
        return lines


def _context(world: World) -> ParseContext:
    plans: dict[str, Mapping[str, object]] = {}
    for plan in world.plans.values():
        row = {
            "id": plan.id,
            "slug": plan.slug,
            "stripe_price_id": plan.stripe_price_id,
            "price": plan.price,
            "currency": plan.currency,
            "billing_cycle": plan.cycle,
        }
        plans[plan.slug] = row
        plans[plan.stripe_price_id] = row
    tenants = frozenset([world.house.id, *(t.id for t in world.tenants)])
    users = frozenset(p.id for p in world.people())
    return ParseContext(tenants, users, plans, "BRL")


def generate(
    database_url: str | None,
    landing_dir: Path,
    *,
    tenants: int = 20,
    days: int = 540,
    seed: int = 7,
    events_per_day: int | None = None,
    end_date: date | None = None,
    progress: ProgressCallback | None = None,
    bad_records: float = 0.0,
) -> GenerationSummary:
    """Write the landing files under `landing_dir/<source>/` and the operational rows.

    - `database_url`: a migrated database to insert the operational rows into (idempotent:
      re-running with the same arguments inserts nothing); None writes files only.
    - `tenants` customer tenants, signing up over `days` days ending `end_date`; by default
      the end date of the previous run with the same seed into `landing_dir` (its manifest),
      else yesterday in the reporting time zone (São Paulo). So re-running later changes
      nothing; pass `end_date` to move on.
    - `events_per_day`: average web tracking events per day (default 600: about 325,000
      events for 540 days); scales to tens of millions, in bounded memory (one week).
    - `bad_records`: share of deliberately broken records appended to the CSV and JSON Lines
      files (payments, usage, trading, behaviour, audit, expenses) to exercise the
      quarantine; 0 (the default) writes only records that load.

    When the landing folder's manifest is of a run with the same arguments and generator,
    its files are all there with their recorded sizes and hashes, and (with a database) its
    operational rows are all in the database, nothing is generated: the summary is that
    run's, with `regenerated` False.
    """
    if not 1 <= tenants <= MAX_TENANTS:
        raise ValueError(f"tenants must be between 1 and {MAX_TENANTS}")
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise ValueError(f"days must be between {MIN_DAYS} and {MAX_DAYS}")
    if not 0 <= bad_records <= MAX_BAD_RECORDS:
        raise ValueError(f"bad_records is a share between 0 and {MAX_BAD_RECORDS}")
    started = time.perf_counter()
    timings: dict[str, float] = {}
    rate = DEFAULT_EVENTS_PER_DAY if events_per_day is None else events_per_day
    if rate < 0:
        raise ValueError("events_per_day must be >= 0")
    writer = LandingWriter(Path(landing_dir))
    last = end_date or _previous_end(writer, seed) or default_end_date(datetime.now(BRT))
    window = Window(last - timedelta(days=days - 1), last)
    writer.arguments = {
        "seed": seed,
        "tenants": tenants,
        "days": days,
        "events_per_day": rate,
        "end_date": last.isoformat(),
        "bad_records": bad_records,
    }
    earlier = writer.unchanged()
    if earlier is not None and (
        database_url is None or tables.all_present(database_url, earlier.rows)
    ):
        world = build_world(seed, tenants, window)  # cheap, and the parse context needs it
        return _summary(
            seed, tenants, window, rate, Path(landing_dir), earlier.files,
            rows={table: len(ids) for table, ids in earlier.rows.items()},
            inserted=None if database_url is None else dict.fromkeys(earlier.rows, 0),
            files_changed=0, files_removed=[], stats=earlier.stats,
            timings={"manifest_check": round(time.perf_counter() - started, 3)},
            started=started, context=_context(world), regenerated=False,
        )  # fmt: skip

    def report(step: str, done: int, total: int) -> None:
        if progress is not None:
            progress(GenerateProgress(step, done, total))

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        timings[name] = round(now - since, 3)
        return now

    clock = time.perf_counter()
    world = build_world(seed, tenants, window)
    fx = finance.fx_rates(world)
    simulation = billing_module.Simulation(world)
    billing = simulation.run()
    report("billing", 1, 1)
    clock = lap("world_and_billing", clock)

    faults = _Faults(seed, bad_records, world)
    campaigns = operational.referral_campaigns(world)
    links = [link for campaign in campaigns for link in campaign.links]
    traffic = TrafficGenerator(world, links, rate, seed)
    for name, frame in traffic.weeks(lambda done, total: report("tracking", done, total)):
        writer.write("tracking", name, parquet_bytes(frame), frame.height)
    clock = lap("tracking", clock)

    totals = traffic.totals
    rows = operational.build_rows(
        world,
        billing,
        campaigns,
        traffic.leads,
        totals.referral_clicks,
        totals.referral_conversions,
    )
    leads = [(lead.created_at, lead.id) for lead in traffic.leads]
    context = build_context(world, billing, seed, rows.tickets, leads, rows.lead_changes)
    activity = ActivityGenerator(context, seed)
    commissions: dict[str, Decimal] = {}
    metered: dict[tuple[int, str], tuple[Decimal, Decimal]] = {}
    monthly_active: dict[str, int] = {}
    months = world.window.months()
    for number, (month, result) in enumerate(activity.months(), start=1):
        key = month.strftime("%Y-%m")
        commissions[key] = result.commissions_brl
        for fill_month, (commission, usage) in result.metered.items():
            before = metered.get(fill_month, (Decimal(0), Decimal(0)))
            metered[fill_month] = (before[0] + commission, before[1] + usage)
        monthly_active[key] = result.active_users
        for source, lines in (("behaviour", result.behaviour), ("audit", result.audit)):
            if lines:
                kept = faults.jsonl(source, lines)
                writer.write(
                    source, f"{source}_{key}.jsonl.gz", gzipped(b"\n".join(kept) + b"\n"), len(kept)
                )
        for source, frame, stem in (
            ("trading", result.trading, "fills"),
            ("usage", result.usage, "usage"),
        ):
            if frame is not None and frame.height:
                data = faults.csv(source, csv_bytes(frame))
                writer.write(source, f"{stem}_{key}.csv.gz", gzipped(data), data.count(b"\n") - 1)
        report("activity", number, len(months))
    operational.add_irregularities(rows, world, context.incidents)
    billing = simulation.finish(billing, metered, fx.rate)
    clock = lap("activity", clock)

    for key, frame in fx.files().items():
        writer.write("fx_rates", f"rates_{key}.csv", csv_bytes(frame), frame.height)
    rewards = {
        link.code: campaign.reward_value
        if campaign.reward_type in ("cash", "credit")
        else Decimal(0)
        for campaign in campaigns
        for link in campaign.links
    }
    expense_files = finance.expenses(
        world,
        billing,
        fx,
        totals.paid_clicks,
        totals.referral_conversions_by_month,
        rewards,
    )
    for key, frame in expense_files.items():
        data = faults.csv("expenses", csv_bytes(frame))
        writer.write("expenses", f"expenses_{key}.csv", data, data.count(b"\n") - 1)
    report("finance", 1, 1)
    clock = lap("finance", clock)

    delivered = webhooks.deliveries(billing.events, seed, int(world.window.end.timestamp()))
    files = webhooks.payment_files(delivered)
    for number, (key, body) in enumerate(files.items(), start=1):
        events = faults.jsonl("payments", body.rstrip(b"\n").split(b"\n"))
        writer.write(
            "payments", f"events_{key}.jsonl.gz", gzipped(b"\n".join(events) + b"\n"), len(events)
        )
        report("payments", number, len(files))
    clock = lap("payments", clock)

    inserted = None
    if database_url is not None:
        inserted = tables.write(database_url, rows)
        report("database", 1, 1)
        clock = lap("database", clock)
    stats = _stats(world, billing, traffic, fx, monthly_active, commissions)
    ids = {table: list(tables.iter_ids(rows, table)) for table in rows.tables}
    removed = writer.finish(ids, stats)
    return _summary(
        seed, tenants, window, rate, Path(landing_dir), writer.written,
        rows=rows.counts(), inserted=inserted, files_changed=writer.changed,
        files_removed=removed, stats=stats, timings=timings, started=started,
        context=_context(world), regenerated=True,
    )  # fmt: skip


def _summary(
    seed: int,
    tenants: int,
    window: Window,
    events_per_day: int,
    landing_dir: Path,
    files: Mapping[str, WrittenFile],
    *,
    rows: dict[str, int],
    inserted: dict[str, int] | None,
    files_changed: int,
    files_removed: list[str],
    stats: dict[str, Any],
    timings: dict[str, float],
    started: float,
    context: ParseContext,
    regenerated: bool,
) -> GenerationSummary:
    sources = per_source(files)
    return GenerationSummary(
        seed=seed,
        tenants=tenants,
        first_day=window.first,
        last_day=window.last,
        events_per_day=events_per_day,
        landing_dir=landing_dir,
        rows=rows,
        inserted=inserted,
        files={source: len(entries) for source, entries in sources.items()},
        records={source: sum(e.records for e in entries) for source, entries in sources.items()},
        bytes={source: sum(e.size for e in entries) for source, entries in sources.items()},
        files_changed=files_changed,
        files_removed=files_removed,
        stats=stats,
        timings=timings,
        elapsed_s=round(time.perf_counter() - started, 3),
        context=context,
        regenerated=regenerated,
    )


def default_end_date(now: datetime) -> date:
    """Yesterday on the reporting calendar, whose days the data fills, so no event is after
    `now`: between 00:00 and 03:00 UTC, UTC's yesterday is São Paulo's today."""
    return now.astimezone(BRT).date() - timedelta(days=1)


def _previous_end(writer: LandingWriter, seed: int) -> date | None:
    """The end date of the previous run into this landing folder with the same seed: so a
    re-run on a later day (without an explicit end date) regenerates the same files."""
    previous = writer.previous_arguments()
    if previous.get("seed") != seed or not isinstance(previous.get("end_date"), str):
        return None
    try:
        return date.fromisoformat(str(previous["end_date"]))
    except ValueError:
        return None


def _stats(
    world: World,
    billing: billing_module.BillingResult,
    traffic: TrafficGenerator,
    fx: finance.FxRates,
    monthly_active: Mapping[str, int],
    commissions: Mapping[str, Decimal],
) -> dict[str, Any]:
    months = billing_module.monthly_mrr(world)
    start = sum(m["customers_start"] for m in months)
    churned = sum(m["churned"] for m in months)
    last = months[-1]
    mrr_brl = sum(
        (value * fx.rate(currency, world.window.last) for currency, value in last["mrr"].items()),
        Decimal(0),
    ).quantize(Decimal("0.01"))
    charges = len(billing.charges)
    totals = traffic.totals
    return {
        "customer_churn_rate": round(churned / start, 4) if start else None,
        "churned_customers": churned,
        "reactivations": sum(m["reactivated"] for m in months),
        "customers_end": last["customers_end"],
        "mrr_end_by_currency": {k: str(v) for k, v in last["mrr"].items()},
        "mrr_end_brl": str(mrr_brl),
        "arr_end_brl": str(mrr_brl * 12),
        "successful_charges": charges,
        "refunds": len(billing.refunds),
        "refund_share": round(len(billing.refunds) / charges, 4) if charges else None,
        "partial_refunds": sum(1 for c, amount, _ in billing.refunds if amount < c.amount),
        "disputes": len(billing.disputes),
        "disputes_by_status": {
            status: sum(1 for d in billing.disputes if d[3] == status)
            for status in ("won", "lost", "under_review")
        },
        "failed_payments": len(billing.failed_payments),
        "stripe_events": len(billing.events),
        "tracking_events": totals.events,
        "sessions": totals.sessions,
        "bot_sessions": totals.bot_sessions,
        "sessions_by_channel": dict(sorted(totals.by_channel.items())),
        "leads": len(traffic.leads),
        "referral_clicks": sum(totals.referral_clicks.values()),
        "referral_conversions": sum(totals.referral_conversions.values()),
        "commissions_brl": str(sum(commissions.values(), Decimal(0)).quantize(Decimal("0.01"))),
        "monthly_active_users_last_month": list(monthly_active.values())[-1]
        if monthly_active
        else 0,
        "monthly": [
            {
                "month": m["month"].isoformat(),
                "customers_start": m["customers_start"],
                "new": m["new"],
                "reactivated": m["reactivated"],
                "churned": m["churned"],
                "customers_end": m["customers_end"],
            }
            for m in months
        ],
    }


class _Faults:
    """Deliberately broken records, appended when `bad_records` > 0 (see `generate`)."""

    def __init__(self, seed: int, share: float, world: World) -> None:
        self.share = share
        self.rng = stream(seed, "faults")
        self.tenant = (
            world.tenants[0].id if world.tenants else "00000000-0000-4000-8000-000000000000"
        )
        self.user = world.tenants[0].owner.id if world.tenants else self.tenant
        self.count = 0

    def _how_many(self, records: int) -> int:
        if self.share <= 0 or records == 0:
            return 0
        return max(1, round(self.share * records))

    def jsonl(self, source: str, lines: list[bytes]) -> list[bytes]:
        bad = []
        for _ in range(self._how_many(len(lines))):
            self.count += 1
            kind = int(self.rng.integers(3))
            if kind == 0:  # cut off mid-line
                bad.append(lines[int(self.rng.integers(len(lines)))][:40])
            elif kind == 1:  # an unknown tenant
                record = orjson.loads(lines[int(self.rng.integers(len(lines)))])
                if source == "payments":
                    record["id"] = f"evt_bad{self.count:06d}"
                    record["data"]["object"].setdefault("metadata", {})["tenant_id"] = (
                        "99999999-9999-4999-8999-999999999999"
                    )
                else:
                    record["event_id"] = f"bad-{self.count:06d}"
                    record["tenant_id"] = "99999999-9999-4999-8999-999999999999"
                bad.append(orjson.dumps(record))
            else:  # a required field missing / an amount with a decimal comma
                record = orjson.loads(lines[int(self.rng.integers(len(lines)))])
                if source == "payments":
                    record["id"] = f"evt_bad{self.count:06d}"
                    record["data"]["object"]["amount"] = "12,50"
                    record["type"] = "charge.succeeded"
                    record["data"]["object"]["object"] = "charge"
                else:
                    record.pop("occurred_at", None)
                    record["event_id"] = f"bad-{self.count:06d}"
                bad.append(orjson.dumps(record))
        return lines + bad

    def csv(self, source: str, data: bytes) -> bytes:
        lines = data.rstrip(b"\n").split(b"\n")
        header, body = lines[0], lines[1:]
        names = header.decode().split(",")
        bad = []
        for _ in range(self._how_many(len(body))):
            self.count += 1
            row = dict(
                zip(
                    names,
                    next(
                        iter(
                            pl.read_csv(
                                b"\n".join([header, body[int(self.rng.integers(len(body)))]]),
                                infer_schema=False,
                            ).iter_rows()
                        )
                    ),
                    strict=True,
                )
            )
            key = {"usage": "usage_event_id", "trading": "fill_id", "expenses": "expense_id"}[
                source
            ]
            row[key] = f"bad-{self.count:06d}"
            kind = int(self.rng.integers(3))
            if kind == 0 and "tenant_id" in row:
                row["tenant_id"] = "99999999-9999-4999-8999-999999999999"
            elif kind == 1:
                money = {
                    "usage": "usage_value",
                    "trading": "commission_amount",
                    "expenses": "amount",
                }[source]
                row[money] = "12,50"
            else:
                stamp = {"usage": "recorded_at", "trading": "filled_at", "expenses": "date"}[source]
                row[stamp] = "31/01/2026"
            bad.append(pl.DataFrame([row]).write_csv(include_header=False).rstrip("\n").encode())
        return b"\n".join([header, *body, *bad]) + b"\n"
