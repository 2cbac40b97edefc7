"""The Prefect API that flows run from a command report to.

Without PREFECT_API_URL, Prefect's embedded mode starts a server in a child
process, but it imports that server's whole code (its web framework, its
database layer, its models) into the process that runs the flow, to start it:
about 80 MB that the flow's process then carries for the whole cycle, on top
of the server's own process. ``prefect_api()`` starts the same server (the API
only, no services, no dashboard; its database in PREFECT_HOME) as a command of
its own, so the flow's process holds Prefect's client only, as a flow run
started by ``newswatch serve`` or a worker does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


def needs_server(env: dict[str, str] | None = None) -> bool:
    """Whether a flow run from this process needs a server started for it: no PREFECT_API_URL."""
    return not (os.environ if env is None else env).get("PREFECT_API_URL")


@contextmanager
def prefect_api() -> Iterator[str | None]:
    """For the block, PREFECT_API_URL: the configured one, else a server started for the block
    (yields its URL, None when one was configured). Before the server stops, the logs and events
    of the block's runs are sent to it."""
    if not needs_server():
        yield None
        return
    from newswatch.serve import prefect_server

    with prefect_server(schedules=False) as url:
        os.environ["PREFECT_API_URL"] = url  # for processes this one starts
        from prefect.settings import PREFECT_API_URL, temporary_settings

        try:
            with temporary_settings({PREFECT_API_URL: url}):
                try:
                    yield url
                finally:
                    _send_pending()
        finally:
            os.environ.pop("PREFECT_API_URL", None)


def _send_pending(timeout: float = 10.0) -> None:
    """Send the log lines and events still queued in this process to the API while it is up."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=timeout)
    EventsWorker.drain_all(timeout=timeout)
