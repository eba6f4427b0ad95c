"""Running the suites with Great Expectations (GX Core 1.x) against PostgreSQL.

GX's SQL data source compiles every expectation to SQL that runs in the database (counts,
aggregates, `LIMIT`-ed samples); no table is read into Python. One ephemeral GX context per
`GxRunner` holds the data source, the suites and the validation results; each validation goes
through a Checkpoint whose action rebuilds the Data Docs site under `docs_dir`, so the
results can be read as HTML (`file://` links in the check metadata).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, make_url, text

from core.db.engine import create_db_engine, sqlalchemy_url
from quality.suites import (
    NOW,
    TABLE_RULES,
    Between,
    Expectation,
    InSet,
    NotNull,
    OfType,
    RowCount,
    Rows,
    TableSuite,
    Unique,
)

# Before GX is imported: no usage statistics leave the machine.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

DATASOURCE = "bcf"
SITE_NAME = "bcf_quality"
SAMPLE_SIZE = 5
_LOCK = threading.Lock()


@dataclass(frozen=True)
class ExpectationOutcome:
    name: str
    blocking: bool
    success: bool
    description: str
    unexpected_count: int | None
    observed: str | None
    sample: list[Any]
    error: str | None = None


@dataclass(frozen=True)
class SuiteOutcome:
    table: str
    outcomes: list[ExpectationOutcome]
    docs_url: str | None
    rows: int | None
    # The rows validated: those of the last N days (by the suite's time column), or every row.
    recent_days: int | None = None

    def part(self, *, blocking: bool) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if o.blocking == blocking]


def now_sql(as_of: datetime | None) -> str:
    """SQL for "now": the database's clock, or the fixed instant `as_of`."""
    if as_of is None:
        return "now()"
    if as_of.tzinfo is None:
        raise ValueError(f"as_of {as_of} needs a time zone")
    return f"timestamptz '{as_of.isoformat()}'"


def query_at(expectation: Rows, as_of: datetime | None) -> str:
    return expectation.query.replace(NOW, now_sql(as_of))


def recent_rows_query(suite: TableSuite, days: int, as_of: datetime | None) -> str:
    """The rows of the suite's table whose time column is within `days` days before now."""
    if suite.time_column is None:
        raise ValueError(f"{suite.qualified} has no time column to select its recent rows by")
    return (
        f'SELECT * FROM "{suite.schema}"."{suite.table}" WHERE "{suite.time_column}" '
        f">= {now_sql(as_of)} - make_interval(days => {days})"
    )


def _gx_expectation(expectation: Expectation, as_of: datetime | None) -> Any:
    import great_expectations.expectations as gxe

    meta = {"bcf_name": expectation.name, "blocking": expectation.blocking}
    match expectation:
        case NotNull(column=column):
            return gxe.ExpectColumnValuesToNotBeNull(column=column, meta=meta)
        case Unique(columns=(column,)):
            return gxe.ExpectColumnValuesToBeUnique(column=column, meta=meta)
        case Unique(columns=columns):
            return gxe.ExpectCompoundColumnsToBeUnique(column_list=list(columns), meta=meta)
        case InSet(column=column, values=values):
            return gxe.ExpectColumnValuesToBeInSet(column=column, value_set=list(values), meta=meta)
        case Between(column=column, min_value=low, max_value=high, strict_min=strict):
            return gxe.ExpectColumnValuesToBeBetween(
                column=column,
                min_value=low,
                max_value=high,
                strict_min=strict,
                meta=meta,
            )
        case OfType(column=column, type_name=type_name):
            return gxe.ExpectColumnValuesToBeOfType(column=column, type_=type_name, meta=meta)
        case RowCount(min_value=low, max_value=high):
            return gxe.ExpectTableRowCountToBeBetween(min_value=low, max_value=high, meta=meta)
        case Rows(description=description):
            return gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=query_at(expectation, as_of),
                description=description,
                meta=meta,
            )
    raise TypeError(f"no GX expectation for {expectation!r}")


def describe(expectation: Expectation) -> str:
    match expectation:
        case NotNull(column=column):
            return f"{column} is not null"
        case Unique(columns=columns):
            return f"({', '.join(columns)}) is unique"
        case InSet(column=column, values=values):
            shown = ", ".join(map(str, values[:8])) + (", ..." if len(values) > 8 else "")
            return f"{column} is one of {shown}"
        case Between(column=column, min_value=low, max_value=high, strict_min=strict):
            bounds = []
            if low is not None:
                bounds.append(f"{'>' if strict else '>='} {low}")
            if high is not None:
                bounds.append(f"<= {high}")
            return f"{column} {' and '.join(bounds)}"
        case OfType(column=column, type_name=type_name):
            return f"{column} is {type_name}"
        case RowCount(min_value=low, max_value=high):
            return f"between {low} and {high} rows"
        case Rows(description=description):
            return description
    return expectation.name


class GxRunner:
    """Validates suites against one database; Data Docs go to `docs_dir`."""

    def __init__(self, database_url: str, docs_dir: Path, *, as_of: datetime | None = None) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.database_url = database_url
        self.as_of = as_of
        self.docs_dir = docs_dir
        docs_dir.mkdir(parents=True, exist_ok=True)
        self._engine: Engine = create_db_engine(database_url)
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        # Only our site: the ephemeral context's default one is a temporary folder (removed).
        for name in list(context.config.data_docs_sites or {}):
            site = context.config.data_docs_sites.pop(name)  # type: ignore[union-attr]
            default_folder = site.get("store_backend", {}).get("base_directory")
            if default_folder and Path(default_folder).is_relative_to(tempfile.gettempdir()):
                shutil.rmtree(default_folder, ignore_errors=True)
        context.add_data_docs_site(
            SITE_NAME,
            {
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
        self._context = context
        self._datasources: dict[str, Any] = {}

    def close(self) -> None:
        """Close this runner's connections (its own and GX's)."""
        self._engine.dispose()
        for datasource in self._datasources.values():
            datasource.get_engine().dispose()
            # GX validates through an engine of its own, built from the same connection string.
            datasource.get_execution_engine().close()

    def _datasource(self, schema: str) -> Any:
        """The GX data source of `schema`'s tables. A table asset takes its schema from its
        data source (its own `schema_name` is deprecated since GX 1.14), and a PostgreSQL data
        source has no schema but its connection's search_path: one data source per schema."""
        if schema not in self._datasources:
            url = make_url(sqlalchemy_url(self.database_url))
            options = f"{url.query.get('options', '')} -c search_path={schema}".strip()
            self._datasources[schema] = self._context.data_sources.add_postgres(
                f"{DATASOURCE}_{schema}",
                connection_string=url.update_query_dict({"options": options}).render_as_string(
                    hide_password=False
                ),
            )
        return self._datasources[schema]

    @property
    def index_url(self) -> str:
        return (self.docs_dir / "index.html").resolve().as_uri()

    def validate(
        self,
        suite: TableSuite,
        expectations: Sequence[Expectation] | None = None,
        *,
        recent_days: int | None = None,
    ) -> SuiteOutcome:
        """Run `expectations` (default: the whole suite) on the suite's table, in the database.

        Two passes: every expectation with BOOLEAN_ONLY results (GX folds them into a few
        aggregate queries), then only the failed ones with SUMMARY results (counts and a
        sample). A passing expectation so costs no "first 20 offending values" query, which
        on a large table that has none is a full scan per expectation: half the time of the
        visitor_tracking suite at 10M rows.

        `recent_days`: only the rows of the last N days by the suite's time column, and so only
        the rules about rows (`TABLE_RULES` are the whole table's); None: every row.
        """
        chosen = list(suite.expectations if expectations is None else expectations)
        if recent_days is not None:
            chosen = [e for e in chosen if not isinstance(e, TABLE_RULES)]
        by_name = {e.name: e for e in chosen}
        with _LOCK:  # a GX context is not thread-safe
            asset = self._asset(suite, recent_days)
            first, first_url = self._run(asset, chosen, "BOOLEAN_ONLY")
            failed = [by_name[_name(item)] for item in first.results if not item.success]
            detailed, detailed_url = self._run(asset, failed, "SUMMARY") if failed else (None, None)
        details = {_name(item): item for item in (detailed.results if detailed else [])}
        outcomes = []
        rows = None
        for item in first.results:
            expectation = by_name[_name(item)]
            item = details.get(expectation.name, item)
            if isinstance(expectation, RowCount) and item.result:
                rows = int(item.result.get("observed_value") or 0)
            outcomes.append(self._outcome(suite, expectation, item, recent_days))
        return SuiteOutcome(
            table=suite.qualified,
            outcomes=outcomes,
            docs_url=detailed_url or first_url,
            rows=rows,
            recent_days=recent_days,
        )

    def _asset(self, suite: TableSuite, recent_days: int | None) -> Any:
        """The GX data asset of the rows validated: the table, or a query of its recent rows."""
        name = (
            suite.qualified if recent_days is None else f"{suite.qualified}.last_{recent_days}_days"
        )
        datasource = self._datasource(suite.schema)
        try:
            return datasource.get_asset(name)
        except LookupError:
            if recent_days is None:
                return datasource.add_table_asset(name, table_name=suite.table)
            return datasource.add_query_asset(
                name, query=recent_rows_query(suite, recent_days, self.as_of)
            )

    def _run(
        self, asset: Any, expectations: Sequence[Expectation], result_format: str
    ) -> tuple[Any, str | None]:
        """One checkpoint run (Data Docs updated): the validation result and its page."""
        import great_expectations as gx

        name = asset.name
        batch_definition = next(
            iter(asset.batch_definitions), None
        ) or asset.add_batch_definition_whole_table("whole_table")
        gx_suite = self._context.suites.add_or_update(
            gx.ExpectationSuite(
                name=name, expectations=[_gx_expectation(e, self.as_of) for e in expectations]
            )
        )
        validation = self._context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=name, data=batch_definition, suite=gx_suite)
        )
        checkpoint = self._context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=name,
                validation_definitions=[validation],
                actions=[
                    gx.checkpoint.UpdateDataDocsAction(name="data_docs", site_names=[SITE_NAME])
                ],
                result_format={
                    "result_format": result_format,
                    "partial_unexpected_count": SAMPLE_SIZE,
                },
            )
        )
        result = checkpoint.run()
        [(identifier, validation_result)] = result.run_results.items()
        urls = self._context.get_docs_sites_urls(
            resource_identifier=identifier, site_name=SITE_NAME
        )
        return validation_result, (urls[0]["site_url"] if urls else None)

    def _outcome(
        self, suite: TableSuite, expectation: Expectation, item: Any, recent_days: int | None
    ) -> ExpectationOutcome:
        result = item.result or {}
        error = None
        if item.exception_info and item.exception_info.get("raised_exception"):
            error = str(item.exception_info.get("exception_message"))
        observed = result.get("observed_value")
        unexpected = result.get("unexpected_count")
        sample: list[Any] = list(result.get("partial_unexpected_list") or [])[:SAMPLE_SIZE]
        if isinstance(expectation, Rows):
            unexpected = int(observed or 0) if error is None else None
            observed = None
            if not item.success and error is None:
                sample = self._sample(suite, expectation, recent_days)
        return ExpectationOutcome(
            name=expectation.name,
            blocking=expectation.blocking,
            success=bool(item.success),
            description=describe(expectation),
            unexpected_count=unexpected,
            observed=None if observed is None else str(observed),
            sample=[_plain(v) for v in sample],
            error=error,
        )

    def _sample(self, suite: TableSuite, expectation: Rows, recent_days: int | None) -> list[Any]:
        """A few of the rows the query returns (GX reports only their number)."""
        batch = (
            f'"{suite.schema}"."{suite.table}"'
            if recent_days is None
            else f"({recent_rows_query(suite, recent_days, self.as_of)}) AS recent"
        )
        query = query_at(expectation, self.as_of).format(batch=batch)
        with self._engine.connect() as conn:
            rows = conn.execute(text(f"SELECT * FROM ({query}) AS offending LIMIT {SAMPLE_SIZE}"))
            return [dict(row._mapping) for row in rows]


def _name(item: Any) -> str:
    """The suite's name of the expectation a GX result is for."""
    assert item.expectation_config is not None  # GX sets it on every result
    return str(item.expectation_config.meta["bcf_name"])


def _plain(value: Any) -> Any:
    """JSON-friendly: Dagster metadata and the summary print it."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
