"""The stages of a cycle: one ordered list for the plain path and the flow (no server, no database)."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from newswatch.pipeline import STAGES, CycleInputs, CycleSummary, run_stages, utcnow


def test_every_stage_runs_once_in_order_and_its_result_goes_to_its_report() -> None:
    seen: list[str] = []

    def call(stage, inputs):
        assert inputs.db_path == Path("w.duckdb")
        seen.append(stage.name)
        return f"result of {stage.name}"

    summary = run_stages(CycleInputs(Path("w.duckdb"), []), CycleSummary("c1", utcnow()), call)
    assert seen == [s.name for s in STAGES]
    assert seen[0] == "load-seeds" and seen[-1] == "send-immediate"
    assert seen.index("store-articles") < seen.index("evaluate-rules") < seen.index("send-immediate")
    for stage in STAGES:
        assert getattr(summary, stage.report) == f"result of {stage.name}"
    assert summary.finished_at is not None


def test_each_report_of_a_cycle_has_exactly_one_stage() -> None:
    reports = [s.report for s in STAGES]
    names = [s.name for s in STAGES]
    assert len(set(reports)) == len(reports) and len(set(names)) == len(names)
    summary_fields = {f.name for f in fields(CycleSummary)}
    assert set(reports) <= summary_fields
    # What is not a stage's report is the cycle's own bookkeeping.
    assert summary_fields - set(reports) == {"cycle_id", "started_at", "finished_at", "rule_problems"}
