"""MetricFlow on the project's metrics (dbt_project/models/semantic/) and the pipeline's database.

MetricFlow reads the semantic manifest dbt writes when it parses the project, and its SQL runs
on the pipeline's database through psycopg, the connection `bcf dbt` uses. Used by
`bcf metrics` (bcf/metrics.py) and the tests that compare it with the marts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from metricflow.data_table.mf_table import MetricFlowDataTable
    from metricflow.engine.metricflow_engine import MetricFlowEngine
    from metricflow.sql.render.sql_plan_renderer import SqlPlanRenderer
    from metricflow_semantics.sql.sql_bind_parameters import SqlBindParameterSet

    from core.settings import Settings


class PsycopgSqlClient:
    """MetricFlow's SqlClient on a PostgreSQL connection (psycopg 3), read-only."""

    def __init__(self, conninfo: str) -> None:
        import psycopg

        self._conn = psycopg.connect(conninfo, autocommit=True)
        self._conn.read_only = True

    @property
    def sql_engine_type(self) -> Any:
        from metricflow.protocols.sql_client import SqlEngine

        return SqlEngine.POSTGRES

    @property
    def sql_plan_renderer(self) -> SqlPlanRenderer:
        from metricflow.sql.render.postgres import PostgresSQLSqlPlanRenderer

        return PostgresSQLSqlPlanRenderer()

    def query(
        self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet | None = None
    ) -> MetricFlowDataTable:
        from metricflow.data_table.mf_table import MetricFlowDataTable

        cursor = self._conn.execute(stmt, self._parameters(sql_bind_parameter_set))
        names = [column.name for column in cursor.description or ()]
        return MetricFlowDataTable.create_from_rows(column_names=names, rows=cursor.fetchall())

    def execute(self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet | None = None) -> None:
        self._conn.execute(stmt, self._parameters(sql_bind_parameter_set))

    def dry_run(self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet | None = None) -> None:
        self._conn.execute(f"EXPLAIN {stmt}", self._parameters(sql_bind_parameter_set))

    def close(self) -> None:
        self._conn.close()

    def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
        return f"%({bind_parameter_key})s"

    @staticmethod
    def _parameters(parameters: SqlBindParameterSet | None) -> dict[str, Any] | None:
        if parameters is None or not parameters.param_dict:
            return None
        return dict(parameters.param_dict)


def semantic_manifest(settings: Settings, database: str) -> str:
    """The project's semantic manifest (JSON) for `database`: `dbt parse` writes it into
    `<data dir>/dbt/metrics`, again only when a project file or the database changed (it names
    the database in every table it reads)."""
    import hashlib
    import subprocess

    from sqlalchemy.engine import make_url

    from orchestration.local import TELEMETRY_OFF

    project = Path(__file__).resolve().parents[1] / "dbt_project"
    folder = settings.data_dir.resolve() / "dbt" / "metrics"
    manifest = folder / "semantic_manifest.json"
    stamp = folder / "bcf_semantic_manifest_stamp"
    digest = hashlib.sha256(make_url(database).render_as_string(hide_password=True).encode())
    for path in sorted(project.rglob("*")):
        if path.is_file() and path.relative_to(project).parts[0] not in ("target", "logs"):
            state = path.stat()
            digest.update(f"{path}:{state.st_mtime_ns}:{state.st_size}\n".encode())
    fingerprint = digest.hexdigest()
    if manifest.exists() and stamp.exists() and stamp.read_text(encoding="utf-8") == fingerprint:
        return manifest.read_text(encoding="utf-8")
    from orchestration.defs.dbt.project import dbt_env, dbt_executable

    folder.mkdir(parents=True, exist_ok=True)
    command = [dbt_executable(), "parse", "--quiet", "--project-dir", str(project),
               "--profiles-dir", str(project), "--target-path", str(folder),
               "--log-path", str(folder)]  # fmt: skip
    environment = {**os.environ, **TELEMETRY_OFF, **dbt_env(settings, database)}
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stdout.strip() or done.stderr.strip() or "no output").splitlines()[-1]
        raise ValueError(f"dbt parse failed (see {folder / 'dbt.log'}): {last}")
    stamp.write_text(fingerprint, encoding="utf-8")
    return manifest.read_text(encoding="utf-8")


def metric_engine(settings: Settings, database: str) -> MetricFlowEngine:
    """MetricFlow on the project's semantic manifest and the pipeline's database."""
    from metricflow.engine.metricflow_engine import MetricFlowEngine
    from metricflow_semantics.model.dbt_manifest_parser import (
        parse_manifest_from_dbt_generated_manifest,
    )
    from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup

    from core.db.engine import libpq_url

    manifest = parse_manifest_from_dbt_generated_manifest(semantic_manifest(settings, database))
    return MetricFlowEngine(
        semantic_manifest_lookup=SemanticManifestLookup(manifest),
        sql_client=PsycopgSqlClient(libpq_url(database)),
    )


def metric_units(engine: MetricFlowEngine) -> dict[str, str]:
    """Each metric's unit (meta.unit in _metrics.yml): money, rate or count."""
    return {
        metric.name: str((metric.config.meta if metric.config else {}).get("unit", "money"))
        for metric in engine.list_metrics(include_dimensions=False)
    }
