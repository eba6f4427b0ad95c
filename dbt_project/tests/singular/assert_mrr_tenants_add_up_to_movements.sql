-- Dagster shows this test as an asset check on mrr_movements_monthly (it reads several models).
{{ config(meta={'dagster': {'ref': {'name': 'mrr_movements_monthly'}}}) }}

-- The monthly roll-forward is the sum of its tenants: ending MRR and customers of
-- mrr_movements_monthly equal those of mrr_by_tenant_monthly, and the CEO's MRR equals both.
with tenants as (
    select
        month,
        sum(mrr) as mrr,
        count(*) filter (where mrr > 0) as customers
    from {{ ref('mrr_by_tenant_monthly') }}
    group by month
)

select
    movements.month,
    movements.ending_mrr,
    tenants.mrr as tenants_mrr,
    kpis.mrr as kpis_mrr,
    movements.customers_end,
    tenants.customers as tenants_customers
from {{ ref('mrr_movements_monthly') }} as movements
full outer join tenants on tenants.month = movements.month
left join {{ ref('ceo_kpis_monthly') }} as kpis on kpis.month = coalesce(movements.month, tenants.month)
where movements.ending_mrr is distinct from tenants.mrr
    or movements.customers_end is distinct from tenants.customers
    or kpis.mrr is distinct from movements.ending_mrr
