/*
    MRR of each subscription in each month, measured at the month's last instant in the
    reporting time zone (for the current month: now, var as_of).

    One row per subscription and month in which it is live at that instant: its state then
    has Stripe status active, past_due or trialing and service has not ended
    (int_subscription_history.service_ends_at). Trialing rows count 0.

    mrr = the items' price × quantity normalised to a month (int_subscription_history), less
    the discounts that apply at the measured instant (METRICS.md; int_subscription_discounts):
    each percent_off takes its share of what is left, then each amount_off (per billing
    period, ÷ billing_months) is subtracted, never below 0; a once coupon changes nothing.
    A discount applies to the subscription it names while starts_at <= t < ends_at and
    before it was deleted; when the state lists its discounts, only those listed.
    Converted to the reporting currency at the FX rate of the measured day (the latest on or
    before it, int_fx_rates_daily), to the cent. Without a rate mrr is null and fx_missing
    is true (flagged, not dropped).
*/
with history as (
    select * from {{ ref('int_subscription_history') }}
),

months as (
    select
        month::date as month,
        least(
            {{ day_start("month::date + interval '1 month'") }} - interval '1 microsecond',
            {{ as_of() }}
        ) as measured_at
    from generate_series(
        (select min({{ reporting_month('valid_from') }}) from history)::timestamp,
        {{ as_of_month() }}::timestamp,
        interval '1 month'
    ) as month
),

state_at_month_end as (
    select
        months.month,
        months.measured_at,
        history.*
    from months
    inner join history
        on history.valid_from <= months.measured_at
        and (history.valid_to is null or months.measured_at < history.valid_to)
),

live as (
    select
        *,
        {{ reporting_day('measured_at') }} as measured_day
    from state_at_month_end
    where status in ('active', 'past_due', 'trialing')
        and (service_ends_at is null or measured_at < service_ends_at)
),

discounts as (
    select * from {{ ref('int_subscription_discounts') }}
),

applied as (
    select
        live.month,
        live.subscription_id,
        bool_or(discounts.percent_off >= 100) as fully_off,
        -- The product of (1 − percent_off ÷ 100), to 10 decimals so 20 % is exactly 0.8.
        round(exp(sum(ln(1 - discounts.percent_off / 100)) filter (
            where discounts.percent_off < 100
        )), 10) as percent_factor,
        sum(discounts.amount_off / live.billing_months) as amount_off_monthly
    from live
    inner join discounts
        on (
            discounts.subscription_id = live.subscription_id
            or live.listed_discount_ids ? discounts.discount_id
        )
        and (live.listed_discount_ids is null or live.listed_discount_ids ? discounts.discount_id)
        and discounts.changes_mrr
        and discounts.starts_at <= live.measured_at
        and (discounts.ends_at is null or live.measured_at < discounts.ends_at)
        and (discounts.deleted_at is null or live.measured_at < discounts.deleted_at)
    group by live.month, live.subscription_id
),

discounted as (
    select
        live.*,
        greatest(
            0,
            case when applied.fully_off then 0 else live.monthly_amount_original * coalesce(applied.percent_factor, 1) end
            - coalesce(applied.amount_off_monthly, 0)
        ) as net_monthly_amount_original
    from live
    left join applied
        on applied.month = live.month
        and applied.subscription_id = live.subscription_id
),

fx as (
    select * from {{ ref('int_fx_rates_daily') }}
)

select
    live.month,
    live.subscription_id,
    live.tenant_id,
    live.status,
    live.plan_slug,
    live.billing_cycle,
    live.quantity,
    live.unit_amount,
    live.currency as currency_original,
    live.measured_at,
    live.measured_day,
    live.status = 'trialing' as is_trialing,
    case when live.is_revenue_status then round(live.net_monthly_amount_original, 8) else 0 end
        as mrr_original,
    case when live.currency = '{{ var("reporting_currency") }}' then 1 else fx.rate end::numeric(18, 8)
        as fx_rate,
    case
        when not live.is_revenue_status then 0
        else {{ to_reporting_currency("live.net_monthly_amount_original", "live.currency", "fx.rate") }}
    end::numeric(15, 2) as mrr,
    live.is_revenue_status
        and live.currency <> '{{ var("reporting_currency") }}'
        and fx.rate is null as fx_missing
from discounted as live
left join fx
    on fx.currency = live.currency
    and fx.day = live.measured_day
