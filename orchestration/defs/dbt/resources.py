"""The dbt resource: dagster-dbt's CLI with the pipeline's settings as dbt's environment."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg
from dagster_dbt import DbtCliInvocation, DbtCliResource

from core.db.engine import database_url
from core.settings import Settings
from orchestration.defs.dbt.project import PROJECT_DIR, dbt_env, dbt_executable, environment


class DbtResource(dg.ConfigurableResource):
    """Runs dbt for the assets; the database, key and reporting settings come from `bcf`.

    Unset fields leave dbt's own defaults (or the `BCF_DBT_*` variables, when set).
    """

    as_of: str | None = None  # BCF_DBT_AS_OF: fixes "now" (tests, backfills of a past day)
    threads: int | None = None  # BCF_DBT_THREADS
    role: str | None = None  # BCF_DBT_ROLE, e.g. bcf_pipeline (owner of the dbt schemas)

    def env(self, settings: Settings, test_window_days: int | None = None) -> dict[str, str]:
        return dbt_env(
            settings,
            database_url(settings),
            as_of=self.as_of,
            threads=self.threads,
            role=self.role,
            test_window_days=test_window_days,
        )

    def cli(
        self,
        args: Sequence[str],
        *,
        settings: Settings,
        context: dg.AssetExecutionContext | None = None,
        raise_on_error: bool = True,
        test_window_days: int | None = None,
    ) -> DbtCliInvocation:
        """Start `dbt <args>` (for the selection of `context`, inside `@dbt_assets`).

        `test_window_days`: the event models' data tests read only their last N days.
        """
        cli = DbtCliResource(
            project_dir=str(PROJECT_DIR),
            profiles_dir=str(PROJECT_DIR),
            dbt_executable=dbt_executable(),
        )
        # dagster-dbt copies os.environ when it starts dbt (and loads the profile for its
        # adapter): the settings are in the environment only for that moment.
        with environment(self.env(settings, test_window_days)):
            return cli.cli(args, context=context, raise_on_error=raise_on_error)
