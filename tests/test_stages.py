"""The stages of a cycle: one ordered list for the plain path and the flow (no server, no database)."""

from __future__ import annotations

from contextlib import contextmanager
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


def test_with_a_hold_the_serial_stages_run_inside_their_lock_and_the_others_outside() -> None:
    events: list[str] = []

    @contextmanager
    def hold(name: str):
        events.append(f"take {name}")
        yield
        events.append(f"give {name}")

    run_stages(CycleInputs(Path("w.duckdb"), []), CycleSummary("c1", utcnow()),
               lambda stage, inputs: events.append(stage.name), hold=hold)
    expected: list[str] = []
    for stage in STAGES:
        expected += [f"take {stage.serial}", stage.name, f"give {stage.serial}"] if stage.serial else [stage.name]
    assert events == expected
    serial = {s.name: s.serial for s in STAGES}
    assert serial["store-articles"] == serial["evaluate-rules"] == serial["load-seeds"] == "store"
    assert serial["send-immediate"] == "send" and serial["poll-feeds"] is serial["fetch-pages"] is None
