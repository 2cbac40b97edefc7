"""Extraction on a Dask cluster, in batches of pages (the at-scale mode; imported only when configured).

``BatchExecutor`` is a ``concurrent.futures.Executor``: the fetch stage hands it
one page at a time, exactly as it hands pages to a local process pool, and
gets one future per page. Pages are gathered into batches (``BATCH`` pages, or
fewer when their markup reaches ``BATCH_BYTES``, or after ``LINGER``
seconds without a full batch) and each batch is one
Dask task, so the scheduler's bookkeeping is paid per batch, never per page.
Each page's future resolves as its batch completes, so the stage keeps writing
results while later pages are still being fetched.

Guarantees:

- A worker that dies mid-batch: the scheduler runs the batch again on another
  worker (Dask reschedules tasks of a lost worker; a task that kills
  ``distributed.scheduler.allowed-failures`` workers, 3 by default, is given
  up). Each page's future is set once, from the one result the client
  receives, so no page is lost or doubled.
- A batch the cluster cannot finish (given up after dead workers, or the
  scheduler went away): its pages are extracted here instead, with one
  warning, and so is every later page once the client has lost the scheduler.
- A page whose extraction raises fails alone, as it would locally: the
  exception reaches that page's future, not its batch's.

The code that runs on the workers is newswatch's own (``newswatch.analysis.
process_page``, pickled by reference): the workers and the scheduler need
newswatch installed, the same version as the flow's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

log = logging.getLogger(__name__)

BATCH = 25  # pages per Dask task
BATCH_BYTES = 8_000_000  # …or fewer, when their markup reaches this size (Dask warns of tasks over 10 MB)
LINGER = 0.25  # seconds a partial batch waits for more pages before it is sent
CONNECT_TIMEOUT = 5.0  # seconds to reach the scheduler
WORKER_TIMEOUT = 10.0  # seconds to wait for a first worker when the scheduler has none


class DaskUnavailable(Exception):
    """The scheduler could not be reached, or has no worker; the message says which, plainly."""


def run_batch(fn: Callable[..., Any], calls: Sequence[tuple]) -> list[tuple[bool, Any]]:
    """Run *fn* on each argument tuple (on a Dask worker): (True, result) or (False, exception) per call."""
    out: list[tuple[bool, Any]] = []
    for args in calls:
        try:
            out.append((True, fn(*args)))
        except Exception as exc:  # noqa: BLE001 - the page's own failure, handed to its own future
            out.append((False, exc))
    return out


def connect(address: str, timeout: float = CONNECT_TIMEOUT) -> "BatchExecutor":
    """A batch executor on the Dask scheduler at *address* (``tcp://host:8786``), with a worker ready.

    Raises ``DaskUnavailable`` with a plain message when the scheduler cannot be
    reached in *timeout* seconds, or has no worker within ``WORKER_TIMEOUT``.
    """
    from distributed import Client

    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise DaskUnavailable(f"cannot reach the Dask scheduler at {address}: {_first_line(exc)}") from None
    try:
        client.wait_for_workers(1, timeout=WORKER_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        client.close()
        raise DaskUnavailable(f"the Dask scheduler at {address} has no worker ({_first_line(exc)})") from None
    return BatchExecutor(client)


def _why_lost(exc: BaseException) -> str:
    if type(exc).__name__ == "KilledWorker":  # its own message is a paragraph
        return "every worker that ran it died"
    return _first_line(exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


class BatchExecutor(Executor):
    """Sends calls to a Dask client in batches; one ``concurrent.futures.Future`` per call."""

    def __init__(self, client: Any, batch: int = BATCH, linger: float = LINGER, close_client: bool = True,
                 batch_bytes: int = BATCH_BYTES):
        self.client = client
        self.batch = batch
        self.batch_bytes = batch_bytes
        self._bytes: dict[Callable[..., Any], int] = {}
        self.linger = linger
        self.close_client = close_client
        self.batches_sent = 0
        self.batches_local = 0
        self._lock = threading.Lock()
        self._pending: dict[Callable[..., Any], list[tuple[tuple, Future]]] = {}
        self._generation = 0  # bumped at each flush: a timer for an already sent batch does nothing
        self._timers: list[threading.Timer] = []
        self._running: set[Any] = set()  # Dask futures not done yet
        self._done = threading.Condition(self._lock)
        self._local: ThreadPoolExecutor | None = None
        self._lost: str | None = None  # why the cluster is no longer used, once it is not
        self._closed = False

    # -- Executor -------------------------------------------------------------

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        if kwargs:
            raise TypeError("BatchExecutor.submit takes positional arguments only")
        future: Future = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot submit to a shut-down BatchExecutor")
            if self._lost is not None:
                self._run_here([(args, future)], fn)
                return future
            calls = self._pending.setdefault(fn, [])
            calls.append((args, future))
            size = self._bytes[fn] = self._bytes.get(fn, 0) + sum(
                len(a) for a in args if isinstance(a, (bytes, str)))
            if len(calls) >= self.batch or size >= self.batch_bytes:
                self._flush_locked(fn)
            elif len(calls) == 1:
                timer = threading.Timer(self.linger, self._flush_after_linger, (fn, self._generation))
                timer.daemon = True
                self._timers = [t for t in self._timers if t.is_alive()] + [timer]
                timer.start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
            for fn in list(self._pending):
                self._flush_locked(fn)
            for timer in self._timers:
                timer.cancel()
            if wait:
                while self._running:
                    self._done.wait()
        if self._local is not None:
            self._local.shutdown(wait=wait)
        if self.close_client:
            self.client.close()

    # -- batches --------------------------------------------------------------

    def _flush_after_linger(self, fn: Callable[..., Any], generation: int) -> None:
        with self._lock:
            if generation == self._generation and self._pending.get(fn):
                self._flush_locked(fn)

    def _flush_locked(self, fn: Callable[..., Any]) -> None:
        calls = self._pending.pop(fn, [])
        self._bytes.pop(fn, None)
        self._generation += 1
        if not calls:
            return
        if self._lost is not None:
            self._run_here(calls, fn)
            return
        try:
            task = self.client.submit(run_batch, fn, [args for args, _ in calls], pure=False)
        except Exception as exc:  # noqa: BLE001 - the client is closed or broken: extract here
            self._give_up(exc)
            self._run_here(calls, fn)
            return
        self.batches_sent += 1
        self._running.add(task)
        task.add_done_callback(lambda t: self._batch_done(t, fn, calls))

    def _batch_done(self, task: Any, fn: Callable[..., Any], calls: list[tuple[tuple, Future]]) -> None:
        try:
            results = task.result()
        except Exception as exc:  # noqa: BLE001 - lost by the cluster (KilledWorker, scheduler gone…)
            with self._lock:
                log.warning("The Dask cluster could not extract a batch of %d pages (%s); extracting them here",
                            len(calls), _why_lost(exc))
                if self.client.status not in ("running", "connecting"):
                    self._give_up(exc)
                self._run_here(calls, fn)
                self._finished(task)
            return
        for (_, future), (ok, value) in zip(calls, results, strict=True):
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
        with self._lock:
            self._finished(task)

    def _finished(self, task: Any) -> None:
        self._running.discard(task)
        self._done.notify_all()

    def _give_up(self, exc: BaseException) -> None:
        if self._lost is None:
            self._lost = _first_line(exc)
            log.warning("Lost the Dask cluster (%s); the remaining pages are extracted here", self._lost)

    def _run_here(self, calls: list[tuple[tuple, Future]], fn: Callable[..., Any]) -> None:
        """Extract *calls* in this process (the cluster lost their batch, or is gone)."""
        if self._local is None:
            self._local = ThreadPoolExecutor(1, thread_name_prefix="extract-here")
        self.batches_local += 1
        for args, future in calls:
            here = self._local.submit(fn, *args)
            here.add_done_callback(lambda h, f=future: _copy(h, f))


def _copy(source: Future, target: Future) -> None:
    exc = source.exception()
    if exc is not None:
        target.set_exception(exc)
    else:
        target.set_result(source.result())

