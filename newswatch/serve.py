"""`newswatch serve`: both deployments on their schedules, in one process, no set-up.

Prefect's ephemeral server never runs schedules, so when no PREFECT_API_URL
is configured this starts a real Prefect server as a child process (on
127.0.0.1, its database in PREFECT_HOME), waits until it is healthy, serves
the `monitor` and `digest` deployments from this process, and stops the
server again on Ctrl-C or SIGTERM. Every stage commits in its own
transaction, so stopping mid-cycle leaves no half-written rows; the next
cycle picks up what was not committed.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import httpx

from newswatch import PROJECT_DIR, settings

log = logging.getLogger(__name__)


class ServeError(RuntimeError):
    """The Prefect server could not be started."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def prefect_server(port: int | None = None, timeout: float = 180.0) -> Iterator[str]:
    """A Prefect server in a child process; yields its API URL."""
    port = port or _free_port()
    env = {**os.environ, "PREFECT_UI_ENABLED": "false",
           # Schedule new runs promptly after start and after each run.
           "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": os.environ.get("PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS", "10")}
    env.pop("PREFECT_API_URL", None)
    cmd = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    log_path = Path(env.get("PREFECT_HOME", Path.home() / ".prefect")).expanduser() / "newswatch-server.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as server_log:
        child = subprocess.Popen(cmd, stdout=server_log, stderr=subprocess.STDOUT, env=env,
                                 start_new_session=True, preexec_fn=_die_with_parent)
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if child.poll() is not None:
                raise ServeError(f"the Prefect server exited with code {child.returncode}; see {log_path}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise ServeError(f"the Prefect server did not answer within {timeout:.0f}s; see {log_path}")
            time.sleep(0.5)
        log.info("Prefect server ready at %s (log: %s)", url, log_path)
        yield url
    finally:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def _die_with_parent() -> None:
    """On Linux, have the server terminated if this process dies without cleaning up (SIGKILL)."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _term_as_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _sigterm_as_interrupt(runner: object, *args: object, **kwargs: object) -> None:
    raise KeyboardInterrupt


class _QuietCancelledCallbacks(logging.Filter):
    """Python 3.11's asyncio logs an error when a stream callback finds its task
    cancelled, which is exactly what shutting down does; nothing to report."""

    def filter(self, record: logging.LogRecord) -> bool:
        import asyncio

        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, asyncio.CancelledError)


def serve(feeds: str | None, db: str | None, outbox: str | None, interval: float, digest_cron: str,
          timezone: str, port: int | None = None) -> None:
    settings.prefect_defaults()
    signal.signal(signal.SIGTERM, _term_as_interrupt)
    os.chdir(PROJECT_DIR)  # the deployments' entrypoints are relative to the project folder

    def run_deployments() -> None:
        from prefect import serve as prefect_serve
        from prefect.runner.runner import Runner
        from prefect.schedules import Cron, Interval

        # Prefect's own SIGTERM handler calls sys.exit() inside the event loop, and
        # asyncio then logs tracebacks for the cancelled connections of running
        # flows. Treat SIGTERM as Ctrl-C instead, whose path shuts down cleanly.
        Runner.handle_sigterm = _sigterm_as_interrupt  # type: ignore[method-assign]
        logging.getLogger("asyncio").addFilter(_QuietCancelledCallbacks())

        from flows.digest import digest
        from flows.monitor import monitor

        monitor_params = {k: v for k, v in {"feeds": feeds, "db": db, "outbox": outbox}.items() if v}
        digest_params = {k: v for k, v in {"db": db, "outbox": outbox}.items() if v}
        deployments = [
            monitor.to_deployment(name="monitor", schedules=[Interval(timedelta(seconds=interval))],
                                  parameters=monitor_params, concurrency_limit=1),
            digest.to_deployment(name="digest", schedules=[Cron(digest_cron, timezone=timezone)],
                                 parameters=digest_params, concurrency_limit=1),
        ]
        print(f"Serving monitor every {interval:g}s and digest at '{digest_cron}' ({timezone}). Ctrl-C stops.",
              flush=True)
        prefect_serve(*deployments, pause_on_shutdown=False, print_starting_message=False)

    try:
        if os.environ.get("PREFECT_API_URL"):
            run_deployments()
        else:
            print("Starting a Prefect server for the schedules (the first start can take half a minute)…", flush=True)
            with prefect_server(port) as url:
                os.environ["PREFECT_API_URL"] = url
                from prefect.settings import PREFECT_API_URL, temporary_settings

                with temporary_settings({PREFECT_API_URL: url}):
                    run_deployments()
    except (KeyboardInterrupt, SystemExit):  # Ctrl-C; Prefect's runner exits on SIGTERM
        pass
    print("Stopped.", flush=True)
