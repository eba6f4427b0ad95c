"""The demo's account of a run, read back from the Dagster instance as `bcf demo` reports an
earlier build: what was materialized and the file it wrote, every check in the order the run
evaluated it, the steps that failed."""

from __future__ import annotations

import dagster as dg

from orchestration.demo import earlier_run


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
