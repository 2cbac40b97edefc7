"""What a person sees on the console: progress while a cycle works, one summary, each failing feed once,
Prefect's own chatter only with -v; a bar on a terminal, plain lines elsewhere; the demo's next commands."""

from __future__ import annotations

import os
import pty
import re
import select
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

from newswatch.demo.server import DemoNewsroom
from newswatch.opml import FeedSource
from newswatch.progress import LineProgress, display_for, line_due, line_text

from .conftest import rows

SUMMARY = re.compile(r"^Cycle \S+ finished in [\d.]+s$", re.M)


def newswatch(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "newswatch.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=timeout)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the decisions, without a terminal ------------------------------------------------------


def test_a_terminal_gets_a_bar_and_anything_else_plain_lines() -> None:
    assert display_for(True, "xterm-256color") == "bar"
    assert display_for(True, None) == "bar"
    assert display_for(False, "xterm-256color") == "lines"  # a pipe, a file, a log
    assert display_for(True, "dumb") == "lines"  # a terminal that cannot redraw a line


def test_plain_lines_come_every_tenth_of_the_way_or_after_a_pause() -> None:
    assert line_due(1, 1000, None, 0.0, 0.0)  # the first report
    assert not line_due(2, 1000, 1, 0.0, 1.0)
    assert line_due(100, 1000, 99, 0.0, 1.0)  # a tenth of the way
    assert not line_due(150, 1000, 100, 0.0, 1.0)
    assert line_due(150, 1000, 100, 0.0, 6.0)  # a pause of more than 5 s
    assert line_due(1000, 1000, 999, 0.0, 0.1)  # the last one always
    assert not line_due(5, 1000, 5, 0.0, 60.0)  # nothing new to say


def test_line_progress_says_a_few_lines_per_stage_and_starts_over_for_a_new_pass() -> None:
    said: list[str] = []
    clock = iter(range(10_000))
    report = LineProgress(said.append, clock=lambda: next(clock) * 0.001)
    for done in range(1, 1001):
        report("fetched pages", done, 1000)
    assert said[0] == line_text("fetched pages", 1, 1000) == "fetched pages: 1/1000 (0%)"
    assert said[-1] == "fetched pages: 1000/1000 (100%)"
    assert len(said) == 11  # the first, then each tenth
    said.clear()
    for done in range(1, 4):  # the next cycle
        report("fetched pages", done, 3)
    assert said == ["fetched pages: 1/3 (33%)", "fetched pages: 2/3 (66%)", "fetched pages: 3/3 (100%)"]


# -- whole commands, output not a terminal --------------------------------------------------------


def test_run_shows_progress_then_one_summary_with_each_failing_feed_once(
        prefect_api: str, newsroom: DemoNewsroom, tmp_path: Path) -> None:
    refused = f"http://127.0.0.1:{_closed_port()}/feed"
    missing = newsroom.url("harbor-times", "/nope.xml")
    feeds = newsroom.write_opml(tmp_path / "feeds.opml",
                                extra=[FeedSource(refused, "Refused"), FeedSource(missing, "Missing")])
    db = tmp_path / "w.duckdb"
    env = {"PREFECT_API_URL": prefect_api, "NEWSWATCH_HOST_GAP": "0.02"}
    result = newswatch("run", "--feeds", str(feeds), "--db", str(db), env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output
    pages = len(newsroom.index["pages"])
    # Progress while working (plain lines: this is not a terminal), on stderr.
    assert "polled feeds: 9/9 (100%)" in result.stderr
    assert f"fetched pages: {pages}/{pages} (100%)" in result.stderr
    assert f"stored entries: {pages}/{pages} (100%)" in result.stderr
    # Then one summary, with each failing feed once, and its reason.
    assert len(SUMMARY.findall(output)) == 1, output
    assert SUMMARY.search(result.stdout)
    assert output.count(refused) == 1 and output.count(missing) == 1, output
    assert f"{refused}: cannot connect: connection refused" in result.stdout
    assert f"{missing}: HTTP 404" in result.stdout
    # Prefect's own chatter stays off the console without -v.
    for chatter in ("Finished in state", "Beginning flow run", "docs.prefect.io", "prefect.task_runs"):
        assert chatter not in output, output
    # … but the dashboard still has the run's log (records below the console's level reach the API).
    from prefect import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.settings import PREFECT_API_URL, temporary_settings

    cycle_id = rows(db, "SELECT max(cycle_id) FROM cycles")[0][0]
    with temporary_settings({PREFECT_API_URL: prefect_api}):
        with get_client(sync_client=True) as client:
            runs = client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=20)
            logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[r.id for r in runs])),
                                   limit=200, offset=0)
    messages = [log.message for log in logs]
    assert any(m.startswith(f"Cycle {cycle_id} finished") for m in messages)
    assert any("Finished in state Completed()" in m for m in messages)

    # With -v, Prefect's per-task lines are shown too.
    verbose = newswatch("-v", "run", "--feeds", str(feeds), "--db", str(db), "--all-feeds", env=env)
    assert verbose.returncode == 0, verbose.stderr
    assert "Finished in state Completed()" in verbose.stderr
    assert len(SUMMARY.findall(verbose.stdout + verbose.stderr)) == 1


def test_demo_says_what_to_try_next_on_its_own_warehouse(prefect_api: str, tmp_path: Path) -> None:
    db = tmp_path / "demo.duckdb"
    result = newswatch("demo", "--port", "0", "--db", str(db), env={"PREFECT_API_URL": prefect_api})
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(SUMMARY.findall(result.stdout + result.stderr)) == 1
    assert "python -c" not in result.stdout
    hint = result.stdout.split("Next, on the demo's warehouse:\n", 1)[1].splitlines()
    commands = [shlex.split(line) for line in hint if line.startswith("  ")]
    assert [c[1] for c in commands] == ["search", "rules", "query", "digest"]
    assert all(c[c.index("--db") + 1] == str(db) for c in commands)
    assert commands[3][-1] == "--preview"
    # The first three work on the demo's warehouse and find something.
    for command in commands[:3]:
        done = subprocess.run([sys.executable, "-m", "newswatch.cli", *command[1:]], capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, (command, done.stderr)
        assert len(done.stdout.splitlines()) >= 3, (command, done.stdout)
    assert "== summit" in subprocess.run([sys.executable, "-m", "newswatch.cli", *commands[1][1:]],
                                         capture_output=True, text=True, timeout=120).stdout


# -- in a terminal -----------------------------------------------------------------------


def _run_in_a_terminal(args: list[str], env: dict[str, str], timeout: float) -> tuple[int, str]:
    leader, follower = pty.openpty()
    proc = subprocess.Popen(args, stdin=follower, stdout=follower, stderr=follower, close_fds=True,
                            env={**os.environ, **env, "TERM": "xterm-256color", "COLUMNS": "100"})
    os.close(follower)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the terminal closed: the process is gone
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
        return proc.wait(timeout=30), out.decode("utf-8", "replace")
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(leader)


def test_a_terminal_shows_progress_bars(prefect_api: str, newsroom: DemoNewsroom, tmp_path: Path) -> None:
    feeds = newsroom.write_opml(tmp_path / "feeds.opml")
    code, out = _run_in_a_terminal(
        [sys.executable, "-m", "newswatch.cli", "run", "--feeds", str(feeds), "--db", str(tmp_path / "w.duckdb")],
        {"PREFECT_API_URL": prefect_api, "NEWSWATCH_HOST_GAP": "0.02"}, timeout=300)
    assert code == 0, out
    pages = len(newsroom.index["pages"])
    assert "\x1b[" in out and "━" in out  # rich redraws its bars with control sequences
    assert "fetched pages" in out and f"{pages}/{pages}" in out, out[-2000:]
    assert "polled feeds: " not in out  # no plain lines in a terminal
    assert len(re.findall(r"Cycle \S+ finished in [\d.]+s\r\n", out)) == 1  # after the bars (and a cursor code)


def test_the_summary_says_what_went_out_as_it_happened() -> None:
    from newswatch.immediate import ImmediateReport
    from newswatch.pipeline import CycleSummary, utcnow
    from newswatch.report import summary_text

    summary = CycleSummary("c1", utcnow(), finished_at=utcnow())
    assert "as they happened" not in summary_text(summary, "w.duckdb")
    summary.immediate = ImmediateReport(fixed=2, sent=2, channels=["email", "chat"])
    assert "; 2 messages sent as they happened (email, chat)" in summary_text(summary, "w.duckdb")
    summary.immediate = ImmediateReport(sent=0, pending=1, error="SMTP down")
    assert "; 0 messages sent as they happened (1 to try again next cycle)" in summary_text(summary, "w.duckdb")
