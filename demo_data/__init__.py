"""Demo data: realistic, deterministic landing files and operational rows (`bcf generate`).

`generate(database_url, landing_dir, tenants=20, days=540, seed=7, ...)` writes, for one
seed, the same bytes every time:

- operational rows into a migrated database (`operational`, `support`, `irregularities`;
  written by `tables`): subscription plans, tenants, users and members, departments and
  their agents, referral campaigns and links, achievements, the platform's sales leads,
  support tickets and messages, irregularities, documents;
- landing files under `<landing_dir>/<source>/` in each source's format: `payments` (Stripe
  webhook events, `billing`, `charges`, `webhooks`), `tracking` (web events, `traffic`),
  `behaviour`, `audit`, `trading`, `usage` (`activity`), `fx_rates` and `expenses`
  (`finance`).

Everything follows one story (`world`): tenants sign up over the window, pay for plans in
BRL (some in USD or EUR), per seat on the larger plans, some with a storage add-on item
(until their plan changes) or a welcome coupon (20 % for three months), upgrade, downgrade
and churn (about 4 % of paying customers a month, some coming back); some charges are
refunded (in Stripe's current shape) or disputed (won and lost); their usage, trading,
logins and support tickets follow their subscription; the website's traffic grows and brings
the leads and the signups.
"""

from demo_data.run import GenerateProgress, GenerationSummary, ProgressCallback, generate
from demo_data.tables import GenerationConflictError

__all__ = [
    "GenerateProgress",
    "GenerationConflictError",
    "GenerationSummary",
    "ProgressCallback",
    "generate",
]
