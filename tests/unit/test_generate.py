"""The demo data generator without a database: determinism, realism bands, and every file
loading through its source's parser with zero rejects.

The default run (20 tenants, 540 days, ~320,000 tracking events) is generated once for the
module; the measures below are taken from what the sources parse out of the files, not from
the generator's own bookkeeping, following METRICS.md's definitions.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from demo_data import GenerateProgress, GenerationSummary, files, generate
from demo_data.billing import ADD_ON_MONTHLY, WELCOME_PERCENT_OFF
from demo_data.catalog import PLANS
from demo_data.run import default_end_date
from ingestion.load.files import iter_chunks
from ingestion.parsing.contract import Parsed
from ingestion.sources.registry import get_source

END = date(2026, 11, 24)
SOURCES = ("audit", "behaviour", "expenses", "fx_rates", "payments", "tracking", "trading", "usage")
SAO_PAULO = ZoneInfo("America/Sao_Paulo")


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[GenerationSummary, Path]:
    root = tmp_path_factory.mktemp("landing")
    steps: list[GenerateProgress] = []
    summary = generate(None, root, end_date=END, progress=steps.append)
    assert {step.step for step in steps} >= {"billing", "tracking", "activity", "payments"}
    return summary, root


def _parse(summary: GenerationSummary, root: Path, source: str) -> Iterator[tuple[Path, Parsed]]:
    parser = get_source(source)
    for path in sorted((root / source).iterdir()):
        for chunk in iter_chunks(path):
            yield path, parser.parse(chunk.data, path.name, summary.context)


@pytest.fixture(scope="module")
def parsed(default_run: tuple[GenerationSummary, Path]) -> dict[str, list[tuple[Path, Parsed]]]:
    summary, root = default_run
    return {source: list(_parse(summary, root, source)) for source in SOURCES}


def _table(parsed: dict[str, list[tuple[Path, Parsed]]], source: str, table: str) -> pl.DataFrame:
    frames = [p.tables[table] for _, p in parsed[source] if table in p.tables]
    return pl.concat(frames, how="vertical")


# --- Determinism ----------------------------------------------------------------------------------
def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    def small(folder: str, seed: int) -> GenerationSummary:
        return generate(
            None, tmp_path / folder, seed=seed, tenants=5, days=75, events_per_day=300, end_date=END
        )

    first = small("a", 11)
    second = small("b", 11)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert a.keys() == b.keys()
    assert set(first.files) == set(SOURCES)
    assert all(a[name] == b[name] for name in a), [n for n in a if a[n] != b[n]][:5]
    assert first.rows == second.rows
    assert first.records == second.records

    again = small("a", 11)  # into the same folder
    assert again.files_changed == 0
    assert again.files_removed == []
    assert _files(tmp_path / "a") == a

    other = small("c", 12)
    c = _files(tmp_path / "c")
    assert other.context.known_tenant_ids.isdisjoint(
        first.context.known_tenant_ids - {_house(first)}
    )
    assert any(c.get(name) != data for name, data in a.items() if not name.startswith("fx"))


def test_a_shorter_run_removes_the_files_it_no_longer_writes(tmp_path: Path) -> None:
    generate(None, tmp_path, tenants=3, days=60, events_per_day=100, end_date=END)
    shorter = generate(None, tmp_path, tenants=3, days=30, events_per_day=100, end_date=END)
    assert shorter.files_removed
    left = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()}
    assert all(not (tmp_path / removed).exists() for removed in shorter.files_removed)
    assert sum(shorter.files.values()) == len(left) - 1  # and the manifest


def _stamps(root: Path) -> dict[str, tuple[bytes, int]]:
    return {name: (data, (root / name).stat().st_mtime_ns) for name, data in _files(root).items()}


def _tiny(
    root: Path,
    *,
    seed: int = 7,
    tenants: int = 3,
    days: int = 30,
    events_per_day: int = 100,
    progress: Callable[[GenerateProgress], None] | None = None,
) -> GenerationSummary:
    return generate(
        None, root, seed=seed, tenants=tenants, days=days, events_per_day=events_per_day,
        end_date=END, progress=progress,
    )  # fmt: skip


def test_the_same_arguments_again_generate_nothing(tmp_path: Path) -> None:
    first = _tiny(tmp_path)
    before = _stamps(tmp_path)
    steps: list[GenerateProgress] = []
    again = _tiny(tmp_path, progress=steps.append)
    assert first.regenerated
    assert not again.regenerated
    assert steps == []
    assert _stamps(tmp_path) == before  # the manifest too: not even rewritten
    assert (again.files, again.records, again.bytes) == (first.files, first.records, first.bytes)
    assert (again.rows, again.stats) == (first.rows, first.stats)
    assert (again.first_day, again.last_day) == (first.first_day, first.last_day)
    assert again.context == first.context
    assert (again.inserted, again.files_changed, again.files_removed) == (None, 0, [])


@pytest.mark.parametrize("damage", ["deleted", "same size, other bytes", "shorter"])
def test_a_missing_or_altered_file_regenerates(tmp_path: Path, damage: str) -> None:
    _tiny(tmp_path)
    before = _files(tmp_path)
    victim = tmp_path / next(name for name in sorted(before) if name.startswith("usage/"))
    data = victim.read_bytes()
    if damage == "deleted":
        victim.unlink()
    elif damage == "shorter":
        victim.write_bytes(data[:-1])
    else:
        victim.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    again = _tiny(tmp_path)
    assert again.regenerated
    assert again.files_changed == 1
    assert _files(tmp_path) == before


@pytest.mark.parametrize(
    "change", [{"seed": 8}, {"tenants": 4}, {"days": 31}, {"events_per_day": 101}]
)
def test_other_arguments_regenerate(tmp_path: Path, change: dict[str, int]) -> None:
    _tiny(tmp_path)
    assert _tiny(tmp_path, **change).regenerated


def test_another_generator_regenerates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tiny(tmp_path)
    monkeypatch.setattr(files, "generator_fingerprint", lambda: "the generator of tomorrow")
    again = _tiny(tmp_path)
    assert again.regenerated
    assert again.files_changed == 0  # the same code in fact: the same bytes


def _house(summary: GenerationSummary) -> str:
    from demo_data.seeding import platform_id

    return str(platform_id("tenant", "house"))


# --- Every file loads -----------------------------------------------------------------------------
def test_every_generated_file_parses_with_zero_rejects(
    default_run: tuple[GenerationSummary, Path], parsed: dict[str, list[tuple[Path, Parsed]]]
) -> None:
    summary, _ = default_run
    assert set(summary.files) == set(SOURCES)
    for source in SOURCES:
        rejects = [(path.name, r.reason) for path, p in parsed[source] for r in p.rejects]
        assert rejects == [], f"{source}: {rejects[:5]}"
        records = sum(p.records_in for _, p in parsed[source])
        assert records == summary.records[source] > 0, source


def test_default_run_sizes(default_run: tuple[GenerationSummary, Path]) -> None:
    summary, _ = default_run
    assert 200_000 <= summary.records["tracking"] <= 500_000
    assert (summary.last_day - summary.first_day).days + 1 == 540
    assert summary.rows["tenants"] == 21  # 20 customers and the platform's own workspace
    for table in (
        "users",
        "tenant_members",
        "leads",
        "support_tickets",
        "support_messages",
        "referral_campaigns",
        "referral_links",
        "user_achievements",
        "irregularity_detection",
        "documents",
        "department_agents",
    ):
        assert summary.rows[table] > 0, table


# --- Subscriptions and money ----------------------------------------------------------------------
def _month_ends(first: date, last: date) -> list[tuple[date, datetime]]:
    ends, month = [], first.replace(day=1)
    while month <= last:
        following = (month + timedelta(days=32)).replace(day=1)
        local_end = datetime.combine(
            min(following, last + timedelta(days=1)), datetime.min.time(), SAO_PAULO
        )
        ends.append((month, local_end.astimezone(UTC) - timedelta(microseconds=1)))
        month = following
    return ends


def _mrr_by_month(events: pl.DataFrame, first: date, last: date) -> list[dict[str, float]]:
    """Each tenant's MRR at each month's last instant, from the subscription event history
    as METRICS.md defines it."""
    rank = pl.col("event_type").replace_strict(
        {"customer.subscription.created": 0, "customer.subscription.deleted": 2}, default=1
    )
    history = (
        events.unique("event_id")
        .with_columns(rank.alias("_rank"))
        .sort("event_created_at", "_rank", "event_id")
    )
    months = {"monthly": 1, "quarterly": 3, "yearly": 12}
    result = []
    for _, end in _month_ends(first, last):
        latest = (
            history.filter(pl.col("event_created_at") <= end).group_by("subscription_id").last()
        )
        live = latest.filter(
            pl.col("status").is_in(["active", "past_due"])
            & (pl.col("ended_at").is_null() | (pl.col("ended_at") > end))
            & ~(pl.col("cancel_at_period_end") & (pl.col("current_period_end") <= end))
        ).with_columns(
            (
                pl.col("unit_amount").cast(pl.Float64)
                * pl.col("quantity")
                / pl.col("billing_cycle").replace_strict(months, return_dtype=pl.Float64)
            ).alias("mrr")
        )
        per_tenant = live.group_by("tenant_id").agg(pl.col("mrr").sum())
        result.append({t: m for t, m in per_tenant.iter_rows() if m > 0})
    return result


def test_customer_churn_is_around_four_percent_a_month(
    default_run: tuple[GenerationSummary, Path], parsed: dict[str, list[tuple[Path, Parsed]]]
) -> None:
    summary, _ = default_run
    events = _table(parsed, "payments", "raw.subscription_events")
    months = _mrr_by_month(events, summary.first_day, summary.last_day)
    start = churned = reactivated = 0
    ever: set[str] = set()
    for previous, current in itertools.pairwise(months):
        ever |= set(previous)
        start += len(previous)
        churned += sum(1 for tenant in previous if tenant not in current)
        reactivated += sum(1 for tenant in current if tenant not in previous and tenant in ever)
    rate = churned / start
    assert 0.03 <= rate <= 0.05, (churned, start)
    assert reactivated >= 1
    assert rate == pytest.approx(summary.stats["customer_churn_rate"], abs=0.006)
    assert len(months[-1]) > len(months[0])  # the business grows


def test_refunds_and_disputes(parsed: dict[str, list[tuple[Path, Parsed]]]) -> None:
    ledger = _table(parsed, "payments", "public.financial_transactions").unique(
        "source_record_id", keep="last"
    )
    payments = ledger.filter(
        (pl.col("transaction_type") == "payment") & (pl.col("status") == "completed")
    )
    refunds = ledger.filter(pl.col("transaction_type") == "refund")
    share = refunds.height / payments.height
    assert 0.015 <= share <= 0.025, (refunds.height, payments.height)
    refunded = payments.join(
        refunds.select(pl.col("stripe_charge_id"), pl.col("amount").alias("refunded")),
        on="stripe_charge_id",
    )
    assert (refunded["refunded"] < refunded["amount"]).any()  # some partial
    assert (refunded["refunded"] == refunded["amount"]).any()  # some full
    chargebacks = ledger.filter(pl.col("transaction_type") == "chargeback")
    funds = chargebacks["metadata"].str.json_path_match("$.dispute_funds")
    assert set(funds) == {"withdrawn", "reinstated"}  # every dispute withdraws; won ones return
    outcomes = chargebacks["metadata"].str.json_path_match("$.stripe_status")
    assert set(outcomes) >= {"lost", "won"}
    # Refunds in the current shape: each refund object once, never again as amount_refunded.
    assert refunds["source_record_id"].str.starts_with("re_").all()
    assert set(ledger["currency"]) == {"BRL", "USD", "EUR"}
    assert (ledger["currency"] == "BRL").mean() > 0.6  # type: ignore[operator]
    failed = ledger.filter(pl.col("status") == "failed")
    assert failed.height > 0


def test_subscription_payments_match_plan_prices(
    parsed: dict[str, list[tuple[Path, Parsed]]],
) -> None:
    ledger = _table(parsed, "payments", "public.financial_transactions").unique(
        "source_record_id", keep="last"
    )
    subscription = ledger.filter(
        (pl.col("transaction_type") == "payment")
        & (pl.col("metadata").str.json_path_match("$.revenue_type") == "subscription")
    )
    prices = {
        (plan.currency, plan.price * q + add_on * plan.months)
        for plan in PLANS.values()
        for q in range(1, 9)
        for add_on in (Decimal(0), ADD_ON_MONTHLY)
    }
    # The welcome coupon: 20 % off, rounded half up to the cent.
    welcome = {
        (
            currency,
            (price * (100 - WELCOME_PERCENT_OFF) / 100).quantize(Decimal("0.01"), ROUND_HALF_UP),
        )
        for currency, price in prices
    }
    discounted = 0
    for currency, amount in subscription.select("currency", "amount").iter_rows():
        assert (currency, Decimal(amount)) in prices | welcome, (currency, amount)
        discounted += (currency, Decimal(amount)) not in prices
    assert discounted > 0
    events = _table(parsed, "payments", "raw.stripe_events")
    assert (events["type"] == "customer.discount.created").sum() > 0
    subscriptions = events.filter(pl.col("type").str.starts_with("customer.subscription."))
    assert subscriptions["payload"].str.contains("prod_BCFStorage").any()  # add-ons
    history = _table(parsed, "payments", "raw.subscription_events")
    for slug, amount, currency in (
        history.select("plan_slug", "unit_amount", "currency").unique().iter_rows()
    ):
        assert PLANS[slug].price == amount
        assert PLANS[slug].currency == currency


def test_commissions_and_metered_usage_are_billed_from_the_fills(
    default_run: tuple[GenerationSummary, Path], parsed: dict[str, list[tuple[Path, Parsed]]]
) -> None:
    ledger = _table(parsed, "payments", "public.financial_transactions").unique(
        "source_record_id", keep="last"
    )
    kind = pl.col("metadata").str.json_path_match("$.revenue_type")
    billed = (
        ledger.filter((kind == "commission") & (pl.col("currency") == "BRL"))
        .with_columns(pl.col("description").str.extract(r"de (\d{4}-\d{2})$").alias("month"))
        .select("tenant_id", "month", pl.col("amount").cast(pl.Float64))
    )
    assert billed.height > 20
    assert set(ledger.filter(pl.col("transaction_type") == "payment").select(kind).to_series()) == {
        "subscription",
        "commission",
        "usage",
        "other",
    }
    fills = (
        _table(parsed, "trading", "public.trading_commissions")
        .with_columns(
            pl.col("trade_date")
            .dt.convert_time_zone("America/Sao_Paulo")
            .dt.strftime("%Y-%m")
            .alias("month"),
            pl.col("commission_amount").cast(pl.Float64),
        )
        .group_by("tenant_id", "month")
        .agg(pl.col("commission_amount").sum())
    )
    joined = billed.join(fills, on=["tenant_id", "month"], how="left")
    assert (joined["amount"] - joined["commission_amount"]).abs().max() < 0.005  # type: ignore[operator]


def test_duplicated_and_out_of_order_webhooks(
    default_run: tuple[GenerationSummary, Path], parsed: dict[str, list[tuple[Path, Parsed]]]
) -> None:
    events = _table(parsed, "payments", "raw.stripe_events")
    assert events.height > events["id"].n_unique()  # some delivered twice
    out_of_order = 0
    for path, _ in parsed["payments"]:
        import gzip
        import json

        created = [
            json.loads(line)["created"] for line in gzip.decompress(path.read_bytes()).splitlines()
        ]
        out_of_order += sum(1 for a, b in itertools.pairwise(created) if b < a)
    assert out_of_order > 0


# --- Usage, activity ------------------------------------------------------------------------------
def test_usage_mostly_within_plan_limits(
    default_run: tuple[GenerationSummary, Path], parsed: dict[str, list[tuple[Path, Parsed]]]
) -> None:
    usage = _table(parsed, "usage", "public.platform_usage_tracking")
    subs = _table(parsed, "payments", "raw.subscription_events")
    plan_of = subs.sort("event_created_at").group_by("tenant_id").agg(pl.col("plan_slug").last())
    monthly = (
        usage.filter(pl.col("resource_type") == "api_calls")
        .with_columns(
            pl.col("period_start")
            .dt.convert_time_zone("America/Sao_Paulo")
            .dt.truncate("1mo")
            .alias("month")
        )
        .group_by("tenant_id", "month")
        .agg(pl.col("usage_count").sum().alias("used"), pl.len().alias("days"))
        .filter(pl.col("days") >= 25)
        .join(plan_of, on="tenant_id")
    )
    limits = {slug: plan.limits()["api_calls"] for slug, plan in PLANS.items()}
    over = monthly.with_columns(
        (pl.col("used") > pl.col("plan_slug").replace_strict(limits, return_dtype=pl.Int64)).alias(
            "over"
        )
    )
    share = over["over"].mean()
    assert share is not None
    assert 0 < share < 0.3, share  # type: ignore[operator]
    assert set(usage["resource_type"]) == {
        "bots",
        "api_calls",
        "storage",
        "bandwidth",
        "users",
        "transactions",
    }


def test_churned_tenants_stop_paying_and_using(
    parsed: dict[str, list[tuple[Path, Parsed]]],
) -> None:
    subs = (
        _table(parsed, "payments", "public.billing_subscriptions")
        .sort("updated_at")
        .unique("stripe_subscription_id", keep="last")
    )
    gone = (
        subs.group_by("tenant_id")
        .agg(
            (pl.col("status") == "cancelled").all().alias("all_cancelled"),
            pl.col("cancelled_at").max().alias("at"),
        )
        .filter(pl.col("all_cancelled"))
    )
    assert gone.height >= 1
    usage = _table(parsed, "usage", "public.platform_usage_tracking")
    behaviour = _table(parsed, "behaviour", "public.user_behavior_tracking")
    payments = _table(parsed, "payments", "public.financial_transactions").filter(
        pl.col("transaction_type") == "payment"
    )
    for tenant, _, at in gone.iter_rows():
        grace = at + timedelta(days=1, hours=12)
        assert (
            usage.filter((pl.col("tenant_id") == tenant) & (pl.col("period_start") > grace)).height
            == 0
        )
        assert (
            behaviour.filter(
                (pl.col("tenant_id") == tenant) & (pl.col("created_at") > grace)
            ).height
            == 0
        )
        # Only the bill in arrears for the last month's trading, early in the next month.
        arrears_due = (at.replace(day=1) + timedelta(days=32)).replace(day=1) + timedelta(days=7)
        late = payments.filter((pl.col("tenant_id") == tenant) & (pl.col("created_at") > grace))
        for description, paid_at in late.select("description", "created_at").iter_rows():
            assert description.startswith(("Comissões de trading", "Uso medido")), description
            assert paid_at < arrears_due


def test_audit_has_personal_data_reads_and_subject_requests(
    parsed: dict[str, list[tuple[Path, Parsed]]],
) -> None:
    audit = _table(parsed, "audit", "public.audit_logs")
    pii = audit.filter(pl.col("metadata").str.json_path_match("$.pii") == "true")
    assert pii.filter(pl.col("action") == "read").height > 100
    assert set(audit["action"]) >= {
        "create",
        "update",
        "delete",
        "read",
        "export",
        "login",
        "erase",
        "purge",
    }
    assert audit.filter(pl.col("tenant_id").is_null()).height > 0  # platform-wide purges
    trading = _table(parsed, "trading", "public.trading_commissions")
    assert set(trading["asset_type"]) == {"crypto", "forex", "stocks", "commodities"}
    assert (trading["commission_amount"] > 0).mean() > 0.8  # type: ignore[operator]
    resources = _table(parsed, "trading", "public.trading_resource_usage")
    assert set(resources["resource_type"]) == {
        "bot_execution",
        "signal_analysis",
        "market_data",
        "paper_trading",
        "backtesting",
    }


# --- Web traffic ----------------------------------------------------------------------------------
def test_tracking_exercises_every_channel_rule_and_enriches(
    default_run: tuple[GenerationSummary, Path], parsed: dict[str, list[tuple[Path, Parsed]]]
) -> None:
    summary, _ = default_run
    events = _table(parsed, "tracking", "public.visitor_tracking")
    c = pl.col
    first = events.sort("created_at").group_by("session_id").first()
    paid = (
        c("gclid").is_not_null()
        | c("fbclid").is_not_null()
        | c("utm_medium").is_in(["cpc", "ppc", "paid", "paidsocial"])
    )
    search = c("referrer").str.contains("google|bing|duckduckgo|yahoo|brave|ecosia|yandex")
    social = c("referrer").str.contains(
        "instagram|facebook|t\\.co|youtube|linkedin|reddit|tiktok|telegram"
    )
    channel = (
        pl.when(paid)
        .then(pl.lit("paid"))
        .when(c("utm_medium") == "email")
        .then(pl.lit("email"))
        .when(c("utm_medium") == "social")
        .then(pl.lit("social"))
        .when(c("utm_medium").is_in(["affiliate", "referral"]))
        .then(pl.lit("affiliate/referral"))
        .when(search)
        .then(pl.lit("organic search"))
        .when(social)
        .then(pl.lit("organic social"))
        .when(c("referrer").is_not_null())
        .then(pl.lit("referral"))
        .otherwise(pl.lit("direct"))
    )
    counts = first.with_columns(channel.alias("channel"))["channel"].value_counts()
    assert set(counts["channel"]) == {
        "paid",
        "email",
        "social",
        "affiliate/referral",
        "organic search",
        "organic social",
        "referral",
        "direct",
    }
    is_bot = c("metadata").str.json_path_match("$.is_bot") == "true"
    bots = first.select(is_bot.mean()).item()
    assert 0.02 <= bots <= 0.08
    assert set(events["device_type"].drop_nulls()) == {"desktop", "mobile", "tablet", "bot"}
    assert set(events["ip_version"]) == {4, 6}
    countries = events.filter(~is_bot)["country"].value_counts(sort=True)
    assert countries["country"][0] == "BR"
    assert countries.height >= 8
    assert events["country"].null_count() / events.height < 0.01
    pages = first.join(events.group_by("session_id").agg(pl.len().alias("n")), on="session_id")
    assert pages["n"].mean() > 2  # type: ignore[operator]
    days = events.group_by(
        c("created_at").dt.convert_time_zone("America/Sao_Paulo").dt.weekday().alias("d")
    ).len()
    weekday = days.filter(c("d") <= 5)["len"].mean()
    weekend = days.filter(c("d") >= 6)["len"].mean()
    assert weekend < 0.85 * weekday  # type: ignore[operator]
    leads = events.filter(c("metadata").str.json_path_match("$.event_name") == "lead")
    assert leads.height == summary.rows["leads"]
    assert leads["metadata"].str.json_path_match("$.lead_id").n_unique() == leads.height
    signups = events.filter(c("metadata").str.json_path_match("$.event_name") == "signup")
    assert signups.height == summary.tenants


def test_fx_rates_are_business_days_at_realistic_levels(
    parsed: dict[str, list[tuple[Path, Parsed]]],
) -> None:
    rates = _table(parsed, "fx_rates", "raw.fx_rates")
    assert set(rates["currency"]) == {"USD", "EUR"}
    assert set(rates["rate_date"].dt.weekday()) <= {1, 2, 3, 4, 5}
    assert date(2025, 12, 25) not in set(rates["rate_date"])
    usd = rates.filter(pl.col("currency") == "USD")["rate"].cast(pl.Float64).to_numpy()
    eur = rates.filter(pl.col("currency") == "EUR")["rate"].cast(pl.Float64).to_numpy()
    assert usd.min() > 4.3
    assert usd.max() < 6.5
    assert (eur > usd).all()
    expenses = _table(parsed, "expenses", "raw.expenses")
    assert {"payroll", "infrastructure", "marketing", "payment_fees", "taxes", "software"} <= set(
        expenses["category"]
    )
    assert set(expenses["currency"]) >= {"BRL", "USD"}


# --- Options --------------------------------------------------------------------------------------
def test_bad_records_flag_injects_a_small_share_of_rejects(tmp_path: Path) -> None:
    summary = generate(
        None, tmp_path, tenants=4, days=45, events_per_day=100, end_date=END, bad_records=0.01
    )
    for source in ("payments", "usage", "trading", "behaviour", "audit", "expenses"):
        results = [p for _, p in _parse(summary, tmp_path, source)]
        rejects = sum(len(p.rejects) for p in results)
        records = sum(p.records_in for p in results)
        assert 0 < rejects <= max(0.05 * records, 3 * len(results)), (source, rejects, records)
    clean = [p for _, p in _parse(summary, tmp_path, "tracking")]
    assert all(not p.rejects for p in clean)


@pytest.mark.parametrize(
    "options",
    [{"tenants": 0}, {"days": 3}, {"bad_records": 0.5}, {"events_per_day": -1}],
)
def test_arguments_are_checked(tmp_path: Path, options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"must|share"):
        generate(None, tmp_path, **options)  # type: ignore[arg-type]


def test_default_end_date_is_yesterday_then_the_previous_runs(tmp_path: Path) -> None:
    summary = generate(None, tmp_path, tenants=1, days=7, events_per_day=10)
    sao_paulo_today = datetime.now(ZoneInfo("America/Sao_Paulo")).date()
    assert summary.last_day == sao_paulo_today - timedelta(days=1)
    moved = generate(None, tmp_path, tenants=1, days=7, events_per_day=10, end_date=END)
    again = generate(None, tmp_path, tenants=1, days=7, events_per_day=10)  # e.g. a day later
    assert again.last_day == moved.last_day == END
    assert again.files_changed == 0
    other_seed = generate(None, tmp_path, tenants=1, days=7, events_per_day=10, seed=99)
    assert other_seed.last_day == summary.last_day


def test_the_default_last_day_is_over_whenever_the_generator_runs() -> None:
    """Every 10 minutes of two days (around midnight UTC too): the default last day has
    ended in São Paulo, whose calendar the data fills, so no generated event is in the future."""
    sao_paulo = ZoneInfo("America/Sao_Paulo")
    start = datetime(2026, 12, 6, tzinfo=UTC)
    for step in range(2 * 24 * 6):
        now = start + timedelta(minutes=10 * step)
        last = default_end_date(now)
        end_of_last_day = datetime.combine(last + timedelta(days=1), datetime.min.time(), sao_paulo)
        assert end_of_last_day <= now
        assert now - end_of_last_day < timedelta(days=1)  # and it is yesterday, not earlier
