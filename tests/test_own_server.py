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
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from newswatch.demo.server import DemoNewsroom

from .conftest import rows

PROJECT_DIR = Path(__file__).resolve().parent.parent
PREFECT = str(Path(sys.executable).with_name("prefect"))
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _default_sigint() -> None:
    # A process started from a non-interactive shell with `&` inherits SIGINT ignored, and a
    # prefect worker started so does not stop: give the children the default handler back.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=PROJECT_DIR,
                                start_new_session=True, preexec_fn=_default_sigint)


def _stop_group(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        except ProcessLookupError:
            return
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of the group
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


def _kill_marked(marker: str) -> None:
    """SIGKILL every process of ours whose environment carries *marker*."""
    needle = f"NEWSWATCH_TEST_MARKER={marker}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                os.kill(int(entry.name), signal.SIGKILL)
        except (OSError, ValueError):
            continue  # gone meanwhile, or not ours


def _run(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, env=env, cwd=PROJECT_DIR, timeout=timeout,
                          preexec_fn=_default_sigint)


def _wait_healthy(api: str, server: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, f"prefect server exited:\n{log.read_text(errors='replace')[-4000:]}"
        try:
            if httpx.get(f"{api}/health", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(1)
    raise AssertionError(f"the Prefect server was not healthy after {timeout:.0f} s:\n"
                         f"{log.read_text(errors='replace')[-4000:]}")


def _flow_run_logs(api: str, run_id: str) -> str:
    body = {"logs": {"flow_run_id": {"any_": [run_id]}}, "limit": 200, "offset": 0, "sort": "TIMESTAMP_ASC"}
    try:
        return "\n".join(r["message"] for r in httpx.post(f"{api}/logs/filter", json=body, timeout=30).json())
    except (httpx.HTTPError, ValueError, TypeError, KeyError) as exc:
        return f"(logs not available: {exc})"


@pytest.mark.timeout(1200)
def test_deploy_all_and_a_worker_run_the_monitor_on_an_own_server(newsroom: DemoNewsroom, tmp_path: Path) -> None:
    port = _free_port()
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
    server = _start([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env, server_log)
    worker = None
    try:
        _wait_healthy(api, server, server_log, timeout=300)

        pool = _run([PREFECT, "work-pool", "create", "newswatch", "--type", "process"], env)
        assert pool.returncode == 0, pool.stdout + pool.stderr

        deploy = _run([PREFECT, "--no-prompt", "deploy", "--all"], env)
        output = deploy.stdout + deploy.stderr
        assert deploy.returncode == 0, output
        assert "422" not in output and "Traceback" not in output, output
        listed = _run([PREFECT, "deployment", "ls"], env)
        assert listed.returncode == 0, listed.stdout + listed.stderr
        assert "monitor/monitor" in listed.stdout and "digest/digest" in listed.stdout, listed.stdout

        worker = _start([PREFECT, "worker", "start", "--pool", "newswatch"], env, worker_log)

        started = _run([PREFECT, "deployment", "run", "monitor/monitor"], env)
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
            f"flow run state {state}\n--- flow run logs\n{_flow_run_logs(api, run_id)}\n"
            f"--- worker\n{worker_log.read_text(errors='replace')[-4000:]}")
    finally:
        if worker is not None:
            _stop_group(worker)
        _stop_group(server)
        _kill_marked(marker)

    # The run the worker started stored every page of the demo newsroom in the warehouse it was given.
    pages = newsroom.index["pages"]
    assert rows(db, "SELECT count(*) FROM articles WHERE NOT is_seed") == [(len(pages),)]
    assert rows(db, "SELECT count(*) FROM cycles") == [(1,)]
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "the Prefect server outlived the test"
