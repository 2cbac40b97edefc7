"""The Prefect API of a command's flow runs (flows/api.py): without PREFECT_API_URL, a server of
its own in a child process, and none of Prefect's server code in the flow's process."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from flows.api import needs_server

from .processes import PROJECT_DIR

CHILD = textwrap.dedent("""
    import json, os, sys
    from newswatch import settings

    settings.prefect_defaults()
    from prefect import flow, get_run_logger

    from flows.api import prefect_api

    @flow(name="memory-probe")
    def probe() -> dict:
        get_run_logger().info("probe ran on %s", os.environ["PREFECT_API_URL"])
        return {"server code in this process": "prefect.server.api.server" in sys.modules}

    with prefect_api() as url:
        inside = probe()
    print(json.dumps({"url": url, "inside": inside, "api_after": os.environ.get("PREFECT_API_URL"),
                      "server code at the end": "prefect.server.api.server" in sys.modules}))
""")


def test_a_server_is_needed_only_without_an_api_url() -> None:
    assert needs_server({})
    assert needs_server({"PREFECT_API_URL": ""})
    assert not needs_server({"PREFECT_API_URL": "http://127.0.0.1:4200/api"})


def test_without_an_api_url_a_flow_runs_on_a_server_of_its_own_without_its_code(tmp_path: Path) -> None:
    home = tmp_path / "prefect-home"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(PREFECT_HOME=str(home), PYTHONPATH=str(PROJECT_DIR))
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["url"].startswith("http://127.0.0.1:") and out["url"].endswith("/api")
    # The flow ran, and neither then nor after did its process import Prefect's server.
    assert out["inside"] == {"server code in this process": False}
    assert out["server code at the end"] is False
    assert out["api_after"] is None  # the address of a stopped server is not left behind
    assert "Error logging to API" not in done.stderr  # logs were sent before the server stopped
    # The run and its log line are in the server's database, in PREFECT_HOME.
    with sqlite3.connect(home / "prefect.db") as con:
        runs = con.execute("SELECT state_type FROM flow_run WHERE name IS NOT NULL").fetchall()
        lines = [m for (m,) in con.execute("SELECT message FROM log")]
    assert runs == [("COMPLETED",)]
    assert any(line == f"probe ran on {out['url']}" for line in lines), lines
