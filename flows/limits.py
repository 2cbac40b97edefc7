"""The at-scale mode's locks: Prefect global concurrency limits, shared by every worker of one server.

A limit of 1 slot is a lock that holds across processes and machines. Each is created on first
use (``prefect gcl create NAME --limit 1`` does the same by hand). A slot is leased: the holder
renews the lease while it works; when it dies (a worker killed, a machine gone), the server frees
the slot once the lease runs out (``LEASE_SECONDS``, the server's minimum, plus the server's
lease check, every 15 s by default).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
from prefect.runtime import deployment as runtime_deployment

LEASE_SECONDS = 60.0


def limit_name(lock: str) -> str:
    """The concurrency limit that stands for the lock *lock* (``store`` → ``newswatch-store``)."""
    return lock if lock.startswith("newswatch-") else f"newswatch-{lock}"


def ensure_limit(name: str, slots: int = 1) -> None:
    """Create the global concurrency limit *name* unless it exists (two creators at once are fine)."""
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
            return
        except ObjectNotFound:
            pass
        try:
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=slots))
        except ObjectAlreadyExists:
            pass


def deployment_runs_one_at_a_time() -> bool:
    """Whether this flow run comes from a deployment whose concurrency limit is 1: then the
    deployment itself keeps its runs one at a time (and a run marked crashed frees its slot at
    once, where a concurrency limit's lease must run out first)."""
    deployment_id = runtime_deployment.id
    if not deployment_id:
        return False
    with get_client(sync_client=True) as client:
        limit = client.read_deployment(deployment_id).global_concurrency_limit
    return limit is not None and limit.limit == 1


@contextmanager
def hold(lock: str, timeout: float | None = None) -> Iterator[None]:
    """Wait for the lock *lock* (at most *timeout* seconds: then TimeoutError), hold it inside."""
    name = limit_name(lock)
    ensure_limit(name)
    with concurrency(name, occupy=1, timeout_seconds=timeout, lease_duration=LEASE_SECONDS, strict=True):
        yield
