/*
    MRR of each subscription in each month, measured at the month's last instant in the
    reporting time zone (for the current month: now, var as_of).

    One row per subscription and month in which it is live at that instant: its state then
    has Stripe status active, past_due or trialing and service has not ended
    (int_subscription_history.service_ends_at). Trialing rows count 0.

    mrr = unit price normalised to a month (monthly ×1, quarterly ÷3, yearly ÷12) × quantity,
    converted to the reporting currency at the FX rate of the measured day, to the cent.
    Without a rate for that day mrr is null and fx_missing is true (flagged, not dropped).
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
    case when live.is_revenue_status then live.monthly_amount_original else 0 end
        as mrr_original,
    case when live.currency = '{{ var("reporting_currency") }}' then 1 else fx.rate end::numeric(18, 8)
        as fx_rate,
    case
        when not live.is_revenue_status then 0
        else {{ to_reporting_currency("live.monthly_amount_original", "live.currency", "fx.rate") }}
    end::numeric(15, 2) as mrr,
    live.is_revenue_status
        and live.currency <> '{{ var("reporting_currency") }}'
        and fx.rate is null as fx_missing
from live
left join fx
    on fx.currency = live.currency
    and fx.day = live.measured_day
