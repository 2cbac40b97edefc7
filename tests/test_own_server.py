"""The README's own-server path, with real processes: `prefect server start`, a process work pool,
`prefect deploy --all` from prefect.yaml, `prefect worker start`, and a monitor run against the
demo newsroom.

Every process started here carries a marker in its environment; at the end the worker's and the
server's process groups are stopped, and then anything still carrying the marker (a flow-run process
the worker started in a session of its own), so nothing outlives the test.
"""

from __future__ import annotations

import os
import re
import socket
import time
import uuid
from pathlib import Path

import httpx
import pytest

from newswatch.demo.server import DemoNewsroom

from .conftest import rows
from .processes import (PREFECT, PROJECT_DIR, TERMINAL, flow_run_logs, free_port, kill_marked, run_command,
                        start, stop_group, wait_healthy)


@pytest.mark.timeout(1200)
def test_deploy_all_and_a_worker_run_the_monitor_on_an_own_server(newsroom: DemoNewsroom, tmp_path: Path) -> None:
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    marker = uuid.uuid4().hex
    db = tmp_path / "warehouse.duckdb"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": api,
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_WORKER_QUERY_SECONDS": "2",
        # The flows come from this checkout, whatever the environment has installed.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_DIR), os.environ.get("PYTHONPATH")])),
        # What prefect.yaml's pull step and the deployments read.
        "NEWSWATCH_PROJECT_DIR": str(PROJECT_DIR),
        "NEWSWATCH_FEEDS": str(newsroom.write_opml(tmp_path / "feeds.opml")),
        "NEWSWATCH_DB": str(db),
        "NEWSWATCH_OUTBOX": str(tmp_path / "outbox"),
        "NEWSWATCH_HOST_GAP": "0.02",
        "NEWSWATCH_TEST_MARKER": marker,
    }
    env.pop("PREFECT_PROFILE", None)
    server_log, worker_log = tmp_path / "server.log", tmp_path / "worker.log"
    server = start([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env, server_log)
    worker = None
    try:
        wait_healthy(api, server, server_log, timeout=300)

        pool = run_command([PREFECT, "work-pool", "create", "newswatch", "--type", "process"], env)
        assert pool.returncode == 0, pool.stdout + pool.stderr

        deploy = run_command([PREFECT, "--no-prompt", "deploy", "--all"], env)
        output = deploy.stdout + deploy.stderr
        assert deploy.returncode == 0, output
        # 422 as a status (not inside a deployment's UUID)
        assert not re.search(r"(?<![\w-])422(?![\w-])", output) and "Traceback" not in output, output
        listed = run_command([PREFECT, "deployment", "ls"], env)
        assert listed.returncode == 0, listed.stdout + listed.stderr
        assert "monitor/monitor" in listed.stdout and "digest/digest" in listed.stdout, listed.stdout

        worker = start([PREFECT, "worker", "start", "--pool", "newswatch"], env, worker_log)

        started = run_command([PREFECT, "deployment", "run", "monitor/monitor"], env)
        assert started.returncode == 0, started.stdout + started.stderr
        found = re.search(r"UUID:\s*([0-9a-f-]{36})", started.stdout)
        assert found, started.stdout
        run_id = found.group(1)

        state = None
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            assert worker.poll() is None, f"the worker exited:\n{worker_log.read_text(errors='replace')[-4000:]}"
            run = httpx.get(f"{api}/flow_runs/{run_id}", timeout=30).json()
            state = (run.get("state") or {}).get("type")
            if state in TERMINAL:
                break
            time.sleep(2)
        assert state == "COMPLETED", (
            f"flow run state {state}\n--- flow run logs\n{flow_run_logs(api, run_id)}\n"
            f"--- worker\n{worker_log.read_text(errors='replace')[-4000:]}")
    finally:
        if worker is not None:
            stop_group(worker)
        stop_group(server)
        kill_marked(marker)

    # The run the worker started stored every page of the demo newsroom in the warehouse it was given.
    pages = newsroom.index["pages"]
    assert rows(db, "SELECT count(*) FROM articles WHERE NOT is_seed") == [(len(pages),)]
    assert rows(db, "SELECT count(*) FROM cycles") == [(1,)]
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "the Prefect server outlived the test"
