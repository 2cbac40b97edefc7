"""The monitoring cycle as a Prefect flow: one task per stage, never per article."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from monitors.engine import rule_problems
from newswatch import pipeline, progress, settings
from newswatch.alerts import AlertReport, alert_stage
from newswatch.fetch import FetchSettings
from newswatch.immediate import ImmediateReport, immediate_stage
from newswatch.opml import read_opml
from newswatch.report import summary_line, summary_markdown, summary_text


@task(name="load-seeds", cache_policy=NO_CACHE)
def load_seeds(db: str) -> pipeline.StoreReport:
    return pipeline.load_seeds_stage(Path(db))


@task(name="poll-feeds", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def poll_feeds(db: str, feeds: str, host_gap: float, force: bool) -> pipeline.PollReport:
    return pipeline.poll_stage(Path(db), read_opml(feeds), FetchSettings(min_gap=host_gap), progress.reporter(), force)


@task(name="fetch-pages", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=10)
def fetch_pages(db: str, host_gap: float) -> pipeline.FetchReport:
    return pipeline.fetch_stage(Path(db), FetchSettings(min_gap=host_gap), progress=progress.reporter())


@task(name="store-articles", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def store_articles(db: str) -> pipeline.StoreReport:
    return pipeline.store_stage(Path(db), progress=progress.reporter())


@task(name="evaluate-rules", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def evaluate_rules(db: str) -> AlertReport:
    return alert_stage(Path(db))


@task(name="send-immediate", cache_policy=NO_CACHE)
def send_immediate(db: str, outbox: str) -> ImmediateReport:
    return immediate_stage(Path(db), Path(outbox))


@flow(name="monitor", description="Poll the feeds, fetch new articles, deduplicate and store them, raise alerts "
                                  "and send those of immediate rules.")
def monitor(feeds: str | None = None, db: str | None = None, host_gap: float | None = None,
            all_feeds: bool = False, outbox: str | None = None) -> dict:
    """One cycle: seeds → poll → fetch and extract → judge, deduplicate, append → alert rules
    → alerts of immediate rules sent (to *outbox* when no mail or chat is configured).

    Only feeds that are due are polled; ``all_feeds`` polls every feed that is
    not backing off after a failure.

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
    read_opml(feeds_file)  # fail early, with a clear message, on a bad feed list
    try:
        with pipeline.cycle_lock(Path(db_file)):
            summary = pipeline.CycleSummary(pipeline.new_cycle_id(), pipeline.utcnow(),
                                            rule_problems=rule_problems())  # rules checked before any fetch
            summary.seeds_loaded = load_seeds(db_file).articles_stored
            summary.poll = poll_feeds(db_file, feeds_file, gap, all_feeds)
            summary.fetch = fetch_pages(db_file, gap)
            summary.store = store_articles(db_file)
            summary.alerts = evaluate_rules(db_file)
            summary.immediate = send_immediate(db_file, outbox_dir)
            summary.finished_at = pipeline.utcnow()
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
