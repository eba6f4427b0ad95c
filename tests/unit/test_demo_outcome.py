"""The demo's account of a run, read back from the Dagster instance as `bcf demo` reports an
earlier build: what was materialized and the file it wrote, every check in the order the run
evaluated it, the steps that failed, whether it loaded anything."""

from __future__ import annotations

import dagster as dg

from orchestration.demo import earlier_run, rebuilt_since


@dg.asset(
    check_specs=[
        dg.AssetCheckSpec("complete", asset="report"),
        dg.AssetCheckSpec("small", asset="report"),
    ]
)
def report() -> dg.MaterializeResult:
    return dg.MaterializeResult(
        metadata={"path": "/data/reports/index.html"},
        check_results=[
            dg.AssetCheckResult(check_name="complete", passed=True),
            dg.AssetCheckResult(check_name="small", passed=False, description="2 row(s) too large"),
        ],
    )


@dg.asset
def broken() -> None:
    raise RuntimeError("no data")


def test_a_run_is_told_from_its_event_log() -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([report, broken], instance=instance, raise_on_error=False)
        run = earlier_run(instance, result.run_id)
    assert run is not None
    assert not run.success
    assert run.materialized == {"report"}
    assert run.asset_paths == {"report": "/data/reports/index.html"}
    assert [(c.asset, c.check, c.passed, c.description) for c in run.checks] == [
        ("report", "complete", True, None),
        ("report", "small", False, "2 row(s) too large"),
    ]
    assert run.failed_steps == ["broken"]


@dg.asset
def nothing_new() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows_loaded": 0})


@dg.asset
def merged_nothing() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"files": 0})


@dg.asset
def new_rows() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows_loaded": 3})


def test_a_run_loaded_anything_when_one_materialization_changed_its_table() -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        empty = dg.materialize([nothing_new, merged_nothing], instance=instance)
        loaded = dg.materialize([nothing_new, new_rows], instance=instance)
        runs = [earlier_run(instance, result.run_id) for result in (empty, loaded)]
    assert [run.loaded_anything if run else None for run in runs] == [False, True]


@dg.asset
def revenue_mart() -> None:
    pass


@dg.asset
def traffic_mart() -> None:
    pass


def test_a_build_stops_being_current_once_another_run_rebuilds_one_of_its_assets() -> None:
    keys = [revenue_mart.key, traffic_mart.key]
    with dg.DagsterInstance.ephemeral() as instance:
        build = dg.materialize([revenue_mart, traffic_mart], instance=instance)
        current = rebuilt_since(instance, keys, build.run_id)
        from_the_ui = dg.materialize([traffic_mart], instance=instance)
        superseded = rebuilt_since(instance, keys, build.run_id)
        latest = rebuilt_since(instance, [traffic_mart.key], from_the_ui.run_id)
    assert (current, superseded, latest) == (None, from_the_ui.run_id, None)
