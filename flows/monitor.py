"""The monitoring cycle as a Prefect flow: one task per stage, never per article."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows import limits
from monitors.engine import rule_problems
from newswatch import pipeline, progress, settings
from newswatch.fetch import FetchSettings
from newswatch.opml import read_opml
from newswatch.report import summary_line, summary_markdown, summary_text
from newswatch.shards import Shard, shard_from

#: At scale, how long a run waits for its shard's lock before it stops without doing anything:
#: long enough for the lease of a killed run to run out (flows/limits.py).
SHARD_WAIT_SECONDS = 150.0


def _as_task(stage: pipeline.Stage):
    return task(stage.run, name=stage.name, cache_policy=NO_CACHE, retries=stage.retries,
                retry_delay_seconds=stage.retry_delay)


#: One Prefect task per stage of pipeline.STAGES, never one per article.
TASKS = {stage.name: _as_task(stage) for stage in pipeline.STAGES}


@contextmanager
def _scale_cycle_lock(shard: Shard | None) -> Iterator[None]:
    """At scale, one run of a shard at a time: the deployment's own limit when it runs one at a
    time (prefect-scale.yaml), else (a run started by hand) the global limit of the shard."""
    if limits.deployment_runs_one_at_a_time():
        yield
        return
    name = shard.lock_name if shard is not None else "newswatch-cycle"
    try:
        with limits.hold(name, timeout=SHARD_WAIT_SECONDS):
            yield
    except TimeoutError:
        what = "another cycle" if shard is None else f"another cycle of shard {shard}"
        raise pipeline.CycleBusy(f"{what} held the concurrency limit {name} for {SHARD_WAIT_SECONDS:.0f} s; "
                                 "this one stops without doing anything") from None


def cycle_locks(db: Path, shard: Shard | None, scale: bool
                ) -> tuple[AbstractContextManager[None], pipeline.Hold | None]:
    """The cycle's lock and the serial stages' locks: files beside the warehouse on one machine
    (no serial locks for an unsharded run, which runs alone), Prefect concurrency limits at scale."""
    if scale:
        return _scale_cycle_lock(shard), limits.hold
    if shard is None:
        return pipeline.cycle_lock(db), None
    return pipeline.cycle_lock(db, shard), lambda name: pipeline.serial_lock(db, name)


@flow(name="monitor", description="Poll the feeds, fetch new articles, deduplicate and store them, raise alerts "
                                  "and send those of immediate rules.")
def monitor(feeds: str | None = None, db: str | None = None, host_gap: float | None = None,
            all_feeds: bool = False, outbox: str | None = None, shard: int | None = None,
            shards: int | None = None, dask: str | None = None) -> dict:
    """One cycle: seeds → poll → fetch and extract → judge, deduplicate, append → alert rules
    → alerts of immediate rules sent (to *outbox* when no mail or chat is configured).

    Only feeds that are due are polled; ``all_feeds`` polls every feed that is
    not backing off after a failure. With ``shard`` K and ``shards`` N, only the
    feeds of shard K of N are polled, and only their entries fetched and stored
    (newswatch/shards.py); other shards' runs proceed at the same time, the story
    decision, the alerts and sending one run at a time (``Stage.serial``). Under
    NEWSWATCH_SCALE those locks are Prefect concurrency limits (flows/limits.py).
    ``dask`` (else NEWSWATCH_DASK) is a Dask scheduler's address: pages are
    extracted there, in batches.

    What a person sees: progress while the stages work, then one summary. When
    a command in this process shows them (``newswatch run``), the flow leaves
    that to it; otherwise (under ``serve`` or a worker) it prints them itself.
    The dashboard gets one log line and the summary as an artifact.
    """
    logger = get_run_logger()
    feeds_file = str(settings.feeds_path(feeds))
    db_file = str(settings.db_path(db))
    gap = settings.host_gap(host_gap)
    outbox_dir = str(settings.outbox_path(outbox))
    sources = read_opml(feeds_file)  # read once, before the lock: a bad feed list fails early, with a clear message
    part = shard_from(shard, shards)
    inputs = pipeline.CycleInputs(Path(db_file), sources, FetchSettings(min_gap=gap, dask=settings.dask_address(dask)), progress=progress.reporter(),
                                  force=all_feeds, outbox=Path(outbox_dir), shard=part)
    lock, hold = cycle_locks(Path(db_file), part, settings.scale_mode())
    try:
        with lock:
            summary = pipeline.CycleSummary(pipeline.new_cycle_id(part), pipeline.utcnow(),
                                            rule_problems=rule_problems())  # rules checked before any fetch
            pipeline.run_stages(inputs, summary, call=lambda stage, inputs: TASKS[stage.name](inputs), hold=hold)
            pipeline.record_cycle(Path(db_file), summary)
    except pipeline.CycleBusy as exc:
        # A watching command says so itself; otherwise this warning is the one message.
        (logger.info if progress.watched() else logger.warning)("Skipped: %s", exc)
        return {"skipped": str(exc)}
    logger.info(summary_line(summary))
    if not progress.watched():
        print(summary_text(summary, db_file), flush=True)
    create_markdown_artifact(
        key="monitor-summary", markdown=summary_markdown(summary, db_file),
        description="What the last monitoring cycle did",
    )
    return summary.as_dict()
