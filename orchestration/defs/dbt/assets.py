"""The dbt project as one subsettable multi-asset: `dbt build` of whatever is selected.

Selecting some models (a sensor request, a click in the UI) runs `dbt build --select` of just
those models and their tests; every model's materialization carries its row count and its
column schema as built, every test its asset-check result.
"""

# No `from __future__ import annotations`: Dagster reads the resource types from the
# signature at definition time.
import os
from collections.abc import Iterator
from typing import Any

import dagster as dg
import psycopg
from dagster_dbt import DbtProject, dbt_assets
from psycopg import sql
from sqlalchemy.engine import make_url

from core.db.engine import database_url, libpq_url
from core.settings import Settings
from orchestration.defs.dbt.project import keep_parse_state, prune_run_folders
from orchestration.defs.dbt.resources import DbtResource
from orchestration.defs.dbt.sensors import TEST_WINDOW_TAG
from orchestration.defs.dbt.translator import BcfDbtTranslator
from orchestration.executor import DBT_QUEUE, queue_tag
from orchestration.markdown import markdown_table
from orchestration.resources import PipelineSettings

DBT_OP_NAME = "dbt_models"
# Runs of the dbt models share this pool: with a pool limit of 1 in the instance settings
# (concurrency.pools), two dbt builds never write the same tables at once.
DBT_POOL = "dbt"
# The after-ingest runs (those with a test window) leave out dbt's unit tests: they check the
# models' SQL against fixed rows, not the new data, so every run of one deployment gives the
# same answer; the daily schedule's runs and CI still run them. Measured in benchmarks/README.md.
AFTER_INGEST_BUILD_ARGS = ("--exclude-resource-type", "unit_test")
PREVIEW_SCHEMA = "marts"
PREVIEW_ROWS = 10


def build_dbt_assets(project: DbtProject) -> dg.AssetsDefinition:
    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        name=DBT_OP_NAME,
        dagster_dbt_translator=BcfDbtTranslator(),
        pool=DBT_POOL,
        op_tags=queue_tag(DBT_QUEUE),
    )
    def dbt_models(
        context: dg.AssetExecutionContext, dbt: DbtResource, bcf: PipelineSettings
    ) -> Iterator[Any]:
        settings = bcf.settings()
        _warn_if_parsed_for_another_database(context, settings)
        window = context.run.tags.get(TEST_WINDOW_TAG)
        invocation = dbt.cli(
            ["build", *(AFTER_INGEST_BUILD_ARGS if window else ())],
            settings=settings,
            context=context,
            test_window_days=int(window) if window else None,
        )
        events = invocation.stream().fetch_row_counts().fetch_column_metadata()
        working_folder = os.getcwd()
        try:
            with psycopg.connect(libpq_url(database_url(settings)), autocommit=True) as conn:
                for event in events:
                    yield with_preview(context, event, conn)
        finally:
            # dagster-dbt fetches column metadata in threads that each step into the dbt
            # project and back (pushd) at once: the last one out can leave the whole process
            # there, and a relative data folder then means another folder.
            os.chdir(working_folder)
        keep_parse_state(settings, invocation.target_path)
        prune_run_folders(settings, DBT_OP_NAME)

    return dbt_models


def with_preview(context: dg.AssetExecutionContext, event: Any, conn: psycopg.Connection) -> Any:
    """A mart's materialization with its latest rows as a table, for the asset page."""
    if not isinstance(event, dg.Output):
        return event
    key = context.asset_key_for_output(event.output_name)
    if key.path[0] != PREVIEW_SCHEMA:
        return event
    cursor = conn.execute(
        sql.SQL("SELECT * FROM {}.{} ORDER BY 1 DESC LIMIT {}").format(
            sql.Identifier(PREVIEW_SCHEMA), sql.Identifier(key.path[-1]), PREVIEW_ROWS
        )
    )
    header = [column.name for column in cursor.description or ()]
    preview = f"Latest {PREVIEW_ROWS} rows (by the first column)\n\n" + markdown_table(
        header, cursor.fetchall()
    )
    return event.with_metadata({**event.metadata, "preview": dg.MetadataValue.md(preview)})


def _warn_if_parsed_for_another_database(
    context: dg.AssetExecutionContext, settings: Settings
) -> None:
    """dagster-dbt finds the tables it measures by the database named in the manifest."""
    database = make_url(database_url(settings)).database
    for spec in context.assets_def.specs:
        relation = str(spec.metadata.get("dagster/relation_identifier", ""))
        if relation:
            if relation.split(".")[0] != database:
                context.log.warning(
                    f"the manifest was parsed for database {relation.split('.')[0]!r}, this run "
                    f"builds in {database!r}: row counts and column schemas will be missing "
                    "(load the definitions with the same BCF_DATABASE_URL as the runs)"
                )
            return
