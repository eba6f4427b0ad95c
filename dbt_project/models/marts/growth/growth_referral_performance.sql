/*
    Referral campaigns and how they perform, one row per campaign, from the links' current
    counters (clicks and conversions are running totals kept by the platform).
      rewards_earned   = conversions, capped at max_rewards when the campaign has a cap
      reward_liability = rewards_earned × reward_value (in the reporting currency; for
                         discount rewards the value of one discount)
      conversion_rate  = conversions / clicks (null without clicks)
*/
with links as (
    select
        campaign_id,
        count(*) as links,
        count(*) filter (where is_active) as active_links,
        count(distinct referrer_user_id) as referrers,
        sum(click_count) as clicks,
        sum(conversion_count) as conversions
    from {{ ref('stg_platform__referral_links') }}
    group by campaign_id
),

campaigns as (
    select
        campaigns.*,
        coalesce(links.links, 0) as links,
        coalesce(links.active_links, 0) as active_links,
        coalesce(links.referrers, 0) as referrers,
        coalesce(links.clicks, 0) as clicks,
        coalesce(links.conversions, 0) as conversions
    from {{ ref('stg_platform__referral_campaigns') }} as campaigns
    left join links on links.campaign_id = campaigns.campaign_id
)

select
    campaign_id,
    tenant_id,
    campaign_name::varchar(255) as campaign_name,
    reward_type::varchar(50) as reward_type,
    reward_value::numeric(15, 2) as reward_value,
    max_rewards,
    is_active,
    {{ reporting_day('starts_at') }} as start_day,
    {{ reporting_day('ends_at') }} as end_day,
    links::integer as links,
    active_links::integer as active_links,
    referrers::integer as referrers,
    clicks::bigint as clicks,
    conversions::bigint as conversions,
    {{ safe_divide('conversions', 'clicks', 4) }}::numeric(7, 4) as conversion_rate,
    (case when max_rewards is null then conversions else least(conversions, max_rewards) end)::bigint
        as rewards_earned,
    ((case when max_rewards is null then conversions else least(conversions, max_rewards) end)
        * reward_value)::numeric(15, 2) as reward_liability
from campaigns
