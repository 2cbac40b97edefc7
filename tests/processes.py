"""Real processes in tests: `prefect server start`, `prefect worker start`, the CLI; started in a
session of their own, stopped with their whole process group, and anything left over found by a
marker in its environment (a flow-run process a worker started in a session of its own).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

PROJECT_DIR = Path(__file__).resolve().parent.parent  # the checkout: the tests run from it

PREFECT = str(Path(sys.executable).with_name("prefect"))
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def default_sigint() -> None:
    # A process started from a non-interactive shell with `&` inherits SIGINT ignored, and a
    # prefect worker started so does not stop: give the children the default handler back.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=PROJECT_DIR,
                                start_new_session=True, preexec_fn=default_sigint)


def stop_group(proc: subprocess.Popen) -> None:
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


def marked(value: str, name: str = "NEWSWATCH_TEST_MARKER") -> list[int]:
    """The processes (other than this one) whose environment has *name*=*value*."""
    needle = f"{name}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue  # gone meanwhile, or not ours
    return found


def kill_marked(value: str, name: str = "NEWSWATCH_TEST_MARKER") -> None:
    """SIGKILL every process of ours whose environment has *name*=*value*."""
    for pid in marked(value, name):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def run_command(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, env=env, cwd=PROJECT_DIR, timeout=timeout,
                          preexec_fn=default_sigint)


def wait_healthy(api: str, server: subprocess.Popen, log: Path, timeout: float) -> None:
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


def flow_run_logs(api: str, run_id: str) -> str:
    body = {"logs": {"flow_run_id": {"any_": [run_id]}}, "limit": 200, "offset": 0, "sort": "TIMESTAMP_ASC"}
    try:
        return "\n".join(r["message"] for r in httpx.post(f"{api}/logs/filter", json=body, timeout=30).json())
    except (httpx.HTTPError, ValueError, TypeError, KeyError) as exc:
        return f"(logs not available: {exc})"
