"""`newswatch serve`: scheduled monitor runs on the embedded default, and a clean stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from newswatch.demo.server import DemoNewsroom

from .conftest import rows


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_runs_the_monitor_on_schedule_and_stops_cleanly(newsroom: DemoNewsroom, db: Path, tmp_path: Path) -> None:
    opml = newsroom.write_opml(tmp_path / "feeds.opml")
    port = _free_port()
    env = {**os.environ, "NEWSWATCH_HOST_GAP": "0.02", "PREFECT_HOME": str(tmp_path / "prefect-home")}
    env.pop("PREFECT_API_URL", None)
    log = open(tmp_path / "serve.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "newswatch.cli", "serve", "--feeds", str(opml), "--db", str(db),
         "--outbox", str(tmp_path / "outbox"), "--interval", "5", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    try:
        deadline = time.monotonic() + 240
        completed = 0
        while time.monotonic() < deadline and proc.poll() is None:
            if db.exists():
                completed = rows(db, "SELECT count(*) FROM cycles")[0][0]
                if completed >= 2:
                    break
            time.sleep(2)
        assert completed >= 2, (tmp_path / "serve.log").read_text()[-3000:]
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    output = (tmp_path / "serve.log").read_text()
    assert "Serving monitor every 5s" in output and "Stopped." in output
    assert "Traceback" not in output, output[max(0, output.find("Traceback") - 800):][:4000]
    # The first scheduled cycle stored the newsroom; later ones found nothing new.
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
