{{ config(severity='warn') }}
-- A closed month's KPI moved in this build (kpi_restatements): WARN, since late data is
-- real, but an analyst must hear that a figure already reported has changed.
select *
from {{ ref('kpi_restatements') }}
where restated_at = '{{ run_started_at.isoformat() }}'::timestamptz
