"""Progress of long stages (poll, fetch and extract, store, rejudge), shown in one place.

A stage reports ``progress(stage, done, total)``; what a person sees depends on
where the work runs:

- A command that someone watches (``newswatch run``, ``demo``, ``rejudge``)
  opens ``watching()``: a progress bar (rich) when its output is a terminal,
  plain lines (about every tenth of the way, or every few seconds) when it is
  not. The monitor flow runs in the same process and reports to it.
- A flow run with no command watching in its process (under ``serve``, or a
  Prefect worker) reports plain lines on stderr.
- A plain function called on its own (benchmarks, tests) logs the same lines.

No Prefect here.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

Progress = Callable[[str, int, int], None]

LINE_EVERY_SECONDS = 5.0
LINE_EVERY_FRACTION = 0.1


def display_for(isatty: bool, term: str | None) -> str:
    """``"bar"`` for a terminal that can redraw a line, ``"lines"`` for anything else (a pipe, a file, a log)."""
    return "bar" if isatty and (term or "").lower() not in ("dumb", "unknown") else "lines"


def line_due(done: int, total: int, last_done: int | None, last_at: float, now: float,
             every_seconds: float = LINE_EVERY_SECONDS, every_fraction: float = LINE_EVERY_FRACTION) -> bool:
    """Whether a plain progress line is due: the first report, the last, each tenth of the way, or after a pause."""
    if last_done is None or done >= total:
        return True
    if done <= last_done:
        return False
    step = max(1, math.ceil(total * every_fraction))
    return done // step > last_done // step or now - last_at >= every_seconds


def line_text(stage: str, done: int, total: int) -> str:
    return f"{stage}: {done}/{total} ({100 * done // max(total, 1)}%)"


class LineProgress:
    """Plain progress lines, a few per stage, through *emit* (print to a stream, or a logger)."""

    def __init__(self, emit: Callable[[str], None], clock: Callable[[], float] = time.monotonic) -> None:
        self._emit = emit
        self._clock = clock
        self._last: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = self._clock()
        with self._lock:
            last_done, last_at = self._last.get(stage, (None, 0.0))
            if last_done is not None and (done < last_done or last_done >= total):
                last_done = None  # the stage runs again (a retry, the next cycle)
            if not line_due(done, total, last_done, last_at, now):
                return
            self._last[stage] = (done, now)
        self._emit(line_text(stage, done, total))


class BarProgress:
    """One rich progress bar per stage, drawn on a terminal."""

    def __init__(self, stream: IO[str]) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, TimeElapsedColumn

        self._bars = RichProgress(TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), console=Console(file=stream), redirect_stdout=True,
                                  redirect_stderr=True)
        self._tasks: dict[str, Any] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        self._bars.start()

    def stop(self) -> None:
        self._bars.stop()

    def __call__(self, stage: str, done: int, total: int) -> None:
        with self._lock:
            task = self._tasks.get(stage)
            if task is None or (done < self._bars.tasks[task].completed):  # a new pass of this stage
                task = self._tasks[stage] = self._bars.add_task(stage, total=total)
        self._bars.update(task, completed=done, total=total)


_watching: Progress | None = None


def watched() -> bool:
    """Whether a command in this process shows progress and the outcome itself."""
    return _watching is not None


@contextmanager
def watching(stream: IO[str] | None = None) -> Iterator[Progress]:
    """For a command someone watches: progress as a bar on a terminal, as plain lines otherwise."""
    global _watching
    stream = stream or sys.stderr
    isatty = getattr(stream, "isatty", lambda: False)()
    if display_for(isatty, os.environ.get("TERM")) == "bar":
        bar = BarProgress(stream)
        bar.start()
        reporter: Progress = bar
    else:
        bar = None
        reporter = LineProgress(lambda line: print(line, file=stream, flush=True))
    previous, _watching = _watching, reporter
    try:
        yield reporter
    finally:
        _watching = previous
        if bar is not None:
            bar.stop()


def reporter() -> Progress:
    """Where a flow's stages report: the watching command's display, or plain lines on stderr."""
    return _watching or LineProgress(lambda line: print(line, file=sys.stderr, flush=True))


def logged(logger: logging.Logger) -> Progress:
    """Plain progress lines as log records (the default of the plain stage functions)."""
    return LineProgress(logger.info)
