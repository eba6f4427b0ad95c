"""What the report assets read from the marts: one aggregate query per input, by month.

Months are the marts' own (`month` columns, or `date_trunc` of their reporting days), so
the reports bucket exactly as the marts do.
"""

from __future__ import annotations

CEO_KPIS = "SELECT * FROM marts.ceo_kpis_monthly ORDER BY month"

# Converted and unconverted (no FX rate: net_amount null) rows apart.
TENANT_REVENUE = """
SELECT
    tenant_id,
    date_trunc('month', day)::date AS month,
    revenue_type,
    currency_original,
    sum(gross_amount_original) AS gross_original,
    sum(gross_amount) AS gross,
    sum(refunded_amount) AS refunds,
    sum(chargeback_amount) AS chargebacks,
    sum(net_amount) AS net,
    sum(transactions)::integer AS transactions
FROM marts.revenue_daily
GROUP BY 1, 2, 3, 4, net_amount IS NULL
ORDER BY 1, 2, 3, 4
"""

TENANT_MRR = """
SELECT tenant_id, month, mrr, previous_mrr, movement
FROM marts.mrr_by_tenant_monthly
ORDER BY tenant_id, month
"""

TENANT_COSTS = """
SELECT
    tenant_id,
    date_trunc('month', day)::date AS month,
    resource_type,
    sum(uses)::integer AS uses,
    sum(units)::bigint AS units,
    sum(usage_seconds)::bigint AS usage_seconds,
    sum(total_cost) AS total_cost
FROM marts.usage_trading_resources_daily
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
"""

AUDIT_ACTIVITY = """
SELECT
    date_trunc('month', day)::date AS month,
    action,
    sum(events)::bigint AS events,
    coalesce(sum(events) FILTER (WHERE is_personal_data), 0)::bigint AS personal_data_events,
    sum(system_events)::bigint AS system_events
FROM marts.compliance_audit_activity_daily
GROUP BY 1, 2
ORDER BY 1, 2
"""

PERSONAL_DATA_ACCESS = """
SELECT
    date_trunc('month', day)::date AS month,
    count(*) AS events,
    count(*) FILTER (WHERE access_kind = 'read') AS reads,
    count(*) FILTER (WHERE access_kind = 'change') AS changes,
    count(*) FILTER (WHERE access_kind = 'erasure') AS erasures,
    count(DISTINCT actor_pseudonym) AS actors,
    count(DISTINCT record_pseudonym) AS records,
    count(*) FILTER (WHERE is_system_actor) AS system_actor_events
FROM marts.compliance_personal_data_access
GROUP BY 1
ORDER BY 1
"""

IRREGULARITIES = """
SELECT
    month,
    irregularity_type,
    severity,
    sum(irregularities)::bigint AS irregularities,
    sum(resolved)::bigint AS resolved,
    sum(unresolved)::bigint AS unresolved,
    sum(avg_hours_to_resolve * resolved) / nullif(sum(resolved) FILTER (
        WHERE avg_hours_to_resolve IS NOT NULL), 0) AS avg_hours_to_resolve
FROM marts.compliance_irregularities_monthly
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
"""

# "Now" of the marts: when the retention backlog was measured (the dbt build's as-of).
AS_OF = "SELECT coalesce(max(measured_at), now()) AS as_of FROM marts.compliance_retention_backlog"

DATA_SUBJECT_REQUESTS = """
WITH as_of AS (
    SELECT coalesce(max(measured_at), now()) AS as_of FROM marts.compliance_retention_backlog
)
SELECT
    date_trunc('month', received_day)::date AS month,
    request_type,
    days_to_answer,
    CASE WHEN answered_at IS NULL
        THEN round((extract(epoch FROM (as_of.as_of - received_at)) / 86400.0)::numeric, 2)
    END AS days_open,
    erasures_carried_out
FROM marts.compliance_data_subject_requests, as_of
ORDER BY received_at, request_id
"""

RETENTION = """
SELECT table_name, retention_period, rows_past_retention, oldest_row_at, measured_at
FROM marts.compliance_retention_backlog
ORDER BY table_name
"""
