"""`newswatch serve`: both deployments on their schedules, in one process, no set-up.

Prefect's ephemeral server never runs schedules, so when no PREFECT_API_URL
is configured this starts a real Prefect server as a child process (on
127.0.0.1, its database in PREFECT_HOME, its dashboard enabled), waits until
it is healthy, serves the `monitor` and `digest` deployments from this
process, and stops the server again on Ctrl-C or SIGTERM. Every stage
commits in its own transaction, so stopping mid-cycle leaves no half-written
rows; the next cycle picks up what was not committed.

At start it says where the dashboard is and when each deployment runs next
(in the schedule's time zone and in local time), and it starts the first
monitor cycle at once: the interval schedule is anchored at the start, so
the next scheduled cycle follows one interval later.
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
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone as dt_timezone, tzinfo
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo

import httpx

from newswatch import PACKAGES_DIR, settings

log = logging.getLogger(__name__)


class ServeError(RuntimeError):
    """The Prefect server could not be started."""


class ScheduleError(ValueError):
    """A schedule given on the command line is not valid (a plain message, before anything starts)."""


@dataclass(frozen=True)
class Schedules:
    interval: float  # seconds between monitor cycles
    digest_cron: str
    timezone: str


def check_schedules(interval: float, digest_cron: str, timezone: str) -> Schedules:
    """The schedules, or a ScheduleError that says what is wrong and what is expected."""
    if not interval > 0:
        raise ScheduleError(f"--interval must be a positive number of seconds, not {interval:g}")
    try:
        settings.zone(timezone)
    except ValueError as exc:
        raise ScheduleError(f"--timezone: {exc}") from None
    from prefect.server.schemas.schedules import CronSchedule
    from pydantic import ValidationError

    try:
        CronSchedule(cron=digest_cron, timezone=timezone)  # Prefect's own check, as its scheduler will read it
    except ValidationError:
        raise ScheduleError(f"--digest-cron {digest_cron!r} is not a cron expression; it needs five fields: "
                            "minute hour day-of-month month day-of-week, e.g. '0 8 * * *' (08:00 daily) "
                            "or '30 7 * * 1-5' (07:30 on weekdays)") from None
    return Schedules(interval, digest_cron, timezone)


def next_digest(schedules: Schedules, after: datetime) -> datetime:
    """When the digest schedule fires next after *after*, in the schedule's time zone (Prefect's own rule)."""
    import asyncio

    from prefect.server.schemas.schedules import CronSchedule

    cron = CronSchedule(cron=schedules.digest_cron, timezone=schedules.timezone)
    return asyncio.run(cron.get_dates(n=1, start=after))[0]


def every(seconds: float) -> str:
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"every {seconds / size:g} {unit}"
    return f"every {seconds:g}s"


def when(at: datetime, zone: str, local: tzinfo | None = None) -> str:
    """A time in the schedule's zone, and in local time when that differs: '2026-12-01 08:00 Asia/Tokyo (23:00 UTC here)'."""
    there = at.astimezone(ZoneInfo(zone))
    here = at.astimezone(local) if local is not None else at.astimezone()
    clock = "%H:%M:%S" if there.second else "%H:%M"
    text = f"{there.strftime('%Y-%m-%d ' + clock)} {zone}"
    if here.utcoffset() != there.utcoffset():
        day = clock if here.date() == there.date() else "%Y-%m-%d " + clock
        text += f" ({here.strftime(day)} {here.tzname()} here)"
    return text


def schedule_lines(schedules: Schedules, start: datetime, digest_at: datetime, local: tzinfo | None = None) -> list[str]:
    """What serve says at start about each deployment's next runs."""
    first_scheduled = start + timedelta(seconds=schedules.interval)
    return [
        f"  monitor  {every(schedules.interval)}: the first cycle starts now; "
        f"next at {when(first_scheduled, schedules.timezone, local)}",
        f"  digest   '{schedules.digest_cron}': next at {when(digest_at, schedules.timezone, local)}",
    ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def prefect_server(port: int | None = None, timeout: float = 180.0, schedules: bool = True) -> Iterator[str]:
    """A Prefect server in a child process; yields its API URL.

    With *schedules* (``serve``): its services (the scheduler among them) and its dashboard.
    Without: the API only, as Prefect's embedded server runs it, for the runs of one command.
    """
    port = port or _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_UI_ENABLED": "true",  # the dashboard, where the runs' log links point
           "PREFECT_UI_API_URL": url,  # where the dashboard in the browser finds the API
           # Schedule new runs promptly after start and after each run.
           "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": os.environ.get("PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS", "10")}
    env.pop("PREFECT_API_URL", None)
    cmd = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    if not schedules:
        env["PREFECT_UI_ENABLED"] = "false"
        cmd += ["--no-services", "--no-ui"]
    log_path = Path(env.get("PREFECT_HOME", Path.home() / ".prefect")).expanduser() / "newswatch-server.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as server_log:
        child = subprocess.Popen(cmd, stdout=server_log, stderr=subprocess.STDOUT, env=env,
                                 start_new_session=True, preexec_fn=_die_with_parent)
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
          timezone: str | None, port: int | None = None) -> None:
    timezone = settings.timezone_name(timezone)  # the schedule's zone is the digest's too
    schedules = check_schedules(interval, digest_cron, timezone)
    settings.prefect_defaults()
    signal.signal(signal.SIGTERM, _term_as_interrupt)
    # The flows' runs start in the folder of the deployments' entrypoints (flows/…): the
    # project folder, or site-packages when installed. Their files are settled here first,
    # where a relative path or an installed newswatch's default means the folder serve started in.
    feeds, db, outbox = (str(path.absolute()) for path in (settings.feeds_path(feeds), settings.db_path(db),
                                                            settings.outbox_path(outbox)))
    os.chdir(PACKAGES_DIR)

    def run_deployments(dashboard: str | None) -> None:
        import asyncio

        from prefect.deployments import run_deployment
        from prefect.runner.runner import Runner
        from prefect.schedules import Cron, Interval

        # Prefect's own SIGTERM handler calls sys.exit() inside the event loop, and
        # asyncio then logs tracebacks for the cancelled connections of running
        # flows. Treat SIGTERM as Ctrl-C instead, whose path shuts down cleanly.
        Runner.handle_sigterm = _sigterm_as_interrupt  # type: ignore[method-assign]
        logging.getLogger("asyncio").addFilter(_QuietCancelledCallbacks())

        from flows.digest import digest
        from flows.monitor import monitor

        start = datetime.now(dt_timezone.utc)
        monitor_params = {k: v for k, v in {"feeds": feeds, "db": db, "outbox": outbox}.items() if v}
        digest_params = {k: v for k, v in {"db": db, "outbox": outbox, "timezone": timezone}.items() if v}
        # Anchored at the start: the scheduler creates runs from one interval on, and the
        # first cycle is started at once below instead of an interval later.
        monitor_schedule = Interval(timedelta(seconds=interval), anchor_date=start, timezone=timezone)
        runner = Runner(pause_on_shutdown=False)
        monitor_id = runner.add_deployment(monitor.to_deployment(
            name="monitor", schedules=[monitor_schedule], parameters=monitor_params, concurrency_limit=1))
        runner.add_deployment(digest.to_deployment(
            name="digest", schedules=[Cron(digest_cron, timezone=timezone)], parameters=digest_params,
            concurrency_limit=1))
        run_deployment(monitor_id, timeout=0, as_subflow=False)
        print(f"Serving monitor {every(interval)} and digest at '{digest_cron}' ({timezone}). Ctrl-C stops.")
        print("\n".join(schedule_lines(schedules, start, next_digest(schedules, start))))
        if dashboard:
            print(f"Dashboard (runs, logs, schedules): {dashboard}")
        sys.stdout.flush()
        asyncio.run(runner.start())

    try:
        if os.environ.get("PREFECT_API_URL"):
            from prefect.settings import PREFECT_UI_URL

            run_deployments(PREFECT_UI_URL.value())
        else:
            print("Starting a Prefect server for the schedules (the first start can take half a minute)…", flush=True)
            with prefect_server(port) as url:
                os.environ["PREFECT_API_URL"] = url
                from prefect.settings import PREFECT_API_URL, temporary_settings

                with temporary_settings({PREFECT_API_URL: url}):
                    run_deployments(url.removesuffix("/api") + "/")
    except (KeyboardInterrupt, SystemExit):  # Ctrl-C; Prefect's runner exits on SIGTERM
        pass
    print("Stopped.", flush=True)
