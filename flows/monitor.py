"""The monitoring cycle as a Prefect flow: one task per stage, never per article."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from monitors.engine import rule_problems
from newswatch import pipeline, progress, settings
from newswatch.fetch import FetchSettings
from newswatch.opml import read_opml
from newswatch.report import summary_line, summary_markdown, summary_text


def _as_task(stage: pipeline.Stage):
    return task(stage.run, name=stage.name, cache_policy=NO_CACHE, retries=stage.retries,
                retry_delay_seconds=stage.retry_delay)


#: One Prefect task per stage of pipeline.STAGES, never one per article.
TASKS = {stage.name: _as_task(stage) for stage in pipeline.STAGES}


@flow(name="monitor", description="Poll the feeds, fetch new articles, deduplicate and store them, raise alerts "
                                  "and send those of immediate rules.")
def monitor(feeds: str | None = None, db: str | None = None, host_gap: float | None = None,
            all_feeds: bool = False, outbox: str | None = None, dask: str | None = None) -> dict:
    """One cycle: seeds → poll → fetch and extract → judge, deduplicate, append → alert rules
    → alerts of immediate rules sent (to *outbox* when no mail or chat is configured).

    Only feeds that are due are polled; ``all_feeds`` polls every feed that is
    not backing off after a failure. ``dask`` (else NEWSWATCH_DASK) is a Dask
    scheduler's address: pages are extracted there, in batches.

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
    inputs = pipeline.CycleInputs(Path(db_file), sources, FetchSettings(min_gap=gap, dask=settings.dask_address(dask)),
                                  progress=progress.reporter(),
                                  force=all_feeds, outbox=Path(outbox_dir))
    try:
        with pipeline.cycle_lock(Path(db_file)):
            summary = pipeline.CycleSummary(pipeline.new_cycle_id(), pipeline.utcnow(),
                                            rule_problems=rule_problems())  # rules checked before any fetch
            pipeline.run_stages(inputs, summary, call=lambda stage, inputs: TASKS[stage.name](inputs))
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
