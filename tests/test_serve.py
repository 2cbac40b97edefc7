"""`newswatch serve`: scheduled monitor runs on the embedded default, the first cycle at start, the
dashboard, the next run times, plain errors for bad schedules, and a clean stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import re
import time
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from newswatch.demo.server import DemoNewsroom
from newswatch.serve import ScheduleError, check_schedules, every, next_digest, schedule_lines, when

from .conftest import rows

SUMMARY = re.compile(r"^Cycle \S+ finished in [\d.]+s$", re.M)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_serve(tmp_path: Path, *args: str, **env: str) -> subprocess.Popen:
    """`newswatch serve` with its own PREFECT_HOME, its output in tmp_path/serve.log."""
    env = {**os.environ, "NEWSWATCH_HOST_GAP": "0.02", "PREFECT_HOME": str(tmp_path / "prefect-home"), **env}
    env.pop("PREFECT_API_URL", None)
    with open(tmp_path / "serve.log", "w") as log:
        return subprocess.Popen([sys.executable, "-m", "newswatch.cli", "serve", *args],
                                stdout=log, stderr=subprocess.STDOUT, env=env)


def _wait_for_cycles(proc: subprocess.Popen, db: Path, n: int, timeout: float = 240) -> int:
    deadline = time.monotonic() + timeout
    completed = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists():
            completed = rows(db, "SELECT count(*) FROM cycles")[0][0]
            if completed >= n:
                break
        time.sleep(2)
    return completed


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_serve_runs_the_monitor_on_schedule_and_stops_cleanly(newsroom: DemoNewsroom, db: Path, tmp_path: Path) -> None:
    opml = newsroom.write_opml(tmp_path / "feeds.opml")
    port = _free_port()
    proc = _start_serve(tmp_path, "--feeds", str(opml), "--db", str(db), "--outbox", str(tmp_path / "outbox"),
                        "--interval", "5", "--port", str(port))
    try:
        completed = _wait_for_cycles(proc, db, 2)
        assert completed >= 2, (tmp_path / "serve.log").read_text()[-3000:]
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=90)
    finally:
        _stop(proc)
    output = (tmp_path / "serve.log").read_text()
    assert "Serving monitor every 5s" in output and "Stopped." in output
    assert "Traceback" not in output, output[max(0, output.find("Traceback") - 800):][:4000]
    # The first cycle stored the newsroom; later ones found nothing new.
    assert rows(db, "SELECT count(*) FROM articles WHERE NOT is_seed") == [(len(newsroom.index["pages"]),)]
    # The Prefect server it started is gone.
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_the_prefect_server_does_not_outlive_a_killed_serve(db: Path, tmp_path: Path) -> None:
    import httpx

    port = _free_port()
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home")}
    env.pop("PREFECT_API_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "newswatch.cli", "serve", "--db", str(db), "--interval", "3600",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(1)
        else:
            raise AssertionError("the Prefect server never came up")
    finally:
        proc.kill()  # no chance to clean up
        proc.wait()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(1)
    raise AssertionError("the Prefect server outlived the killed serve process")


def test_serve_starts_the_first_cycle_at_once_says_when_the_next_runs_and_serves_the_dashboard(
        newsroom: DemoNewsroom, db: Path, tmp_path: Path) -> None:
    opml = newsroom.write_opml(tmp_path / "feeds.opml")
    port = _free_port()
    proc = _start_serve(tmp_path, "--feeds", str(opml), "--db", str(db), "--outbox", str(tmp_path / "outbox"),
                        "--interval", "3600", "--timezone", "Asia/Tokyo", "--port", str(port), TZ="UTC")
    try:
        completed = _wait_for_cycles(proc, db, 1)
        # The first cycle ran within minutes of the start, not an hour (the interval) later.
        assert completed == 1, (tmp_path / "serve.log").read_text()[-3000:]
        # The dashboard: Prefect's own UI, served by the server serve started, from files in the package.
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=30)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert '<div id="app"></div>' in page.text and "<title>Prefect Server</title>" in page.text
        script = re.search(r'<script type="module" crossorigin src="(/[^"]+\.js)"', page.text).group(1)
        assert httpx.get(f"http://127.0.0.1:{port}{script}", timeout=30).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/ui-settings", timeout=30).json()["api_url"] == \
            f"http://127.0.0.1:{port}/api"  # the browser finds this server's API, not a default port
        # The summary is printed once, when the cycle has finished (by the flow run, with no terminal).
        deadline = time.monotonic() + 60
        while not SUMMARY.search((tmp_path / "serve.log").read_text()) and time.monotonic() < deadline:
            time.sleep(1)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=90)
    finally:
        _stop(proc)
    output = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in output, output[max(0, output.find("Traceback") - 800):][:4000]
    assert f"Dashboard (runs, logs, schedules): http://127.0.0.1:{port}/" in output
    monitor_line = re.search(r"^  monitor  every 1 h: the first cycle starts now; next at "
                             r"(\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?) Asia/Tokyo \((\S+ )?\d\d:\d\d(:\d\d)? UTC here\)$",
                             output, re.M)
    assert monitor_line, output
    assert re.search(r"^  digest   '0 8 \* \* \*': next at \d{4}-\d\d-\d\d 08:00 Asia/Tokyo "
                     r"\(\d{4}-\d\d-\d\d 23:00 UTC here\)$", output, re.M), output
    assert len(SUMMARY.findall(output)) == 1, output
    pages = len(newsroom.index["pages"])
    assert f"fetched pages: {pages}/{pages} (100%)" in output  # plain progress lines: no terminal here
    assert "Finished in state" not in output and "Stopped." in output


def test_schedule_checks_and_the_next_run_times() -> None:
    with pytest.raises(ScheduleError, match="five fields"):
        check_schedules(900, "0 8 * *", "UTC")
    with pytest.raises(ScheduleError, match="IANA name"):
        check_schedules(900, "0 8 * * *", "Asia/Tokio")
    schedules = check_schedules(900, "0 8 * * *", "Asia/Tokyo")
    start = datetime(2026, 11, 30, 3, 0, tzinfo=timezone.utc)  # 12:00 in Tokyo
    digest_at = next_digest(schedules, start)
    assert digest_at == datetime(2026, 11, 30, 23, 0, tzinfo=timezone.utc)  # 08:00 tomorrow in Tokyo
    assert schedule_lines(schedules, start, digest_at, ZoneInfo("Europe/Berlin")) == [
        "  monitor  every 15 min: the first cycle starts now; next at 2026-11-30 12:15 Asia/Tokyo (04:15 CET here)",
        "  digest   '0 8 * * *': next at 2026-12-01 08:00 Asia/Tokyo (00:00 CET here)",
    ]
    # The same zone here and there: said once.
    assert when(digest_at, "UTC", timezone.utc) == "2026-11-30 23:00 UTC"
    assert when(start.replace(second=5), "UTC", ZoneInfo("UTC")) == "2026-11-30 03:00:05 UTC"
    weekdays = check_schedules(60, "30 7 * * 1-5", "Europe/London")
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
    assert next_digest(weekdays, saturday) == datetime(2026, 11, 30, 7, 30, tzinfo=timezone.utc)
    assert [every(s) for s in (5, 60, 600, 3600, 5400, 90)] == \
        ["every 5s", "every 1 min", "every 10 min", "every 1 h", "every 90 min", "every 90s"]
