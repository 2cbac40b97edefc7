"""The stages of a monitoring cycle, as plain functions (no Prefect here).

Each stage opens the warehouse only to read its input and to write its
output, never across network waits, and writes in one transaction per
batch. Every stage can be re-run after a crash: work already committed is
skipped by key, work not committed is redone.

    seeds → poll feeds → fetch & extract pages → judge, deduplicate, append → alert rules
"""

from __future__ import annotations

import asyncio
import fcntl
import itertools
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from monitors.engine import rule_problems
from monitors.topic import Verdict, load_topic
from newswatch.alerts import AlertReport, alert_stage
from newswatch.analysis import ANALYSIS_COLUMNS, process_page
from newswatch.dedup import Fingerprint, fingerprint
from newswatch.extract import HTML_TYPES, choose_text
from newswatch.feeds import PollResult, next_poll_delay, poll_feed
from newswatch.fetch import PERMANENT, Fetcher, FetchSettings
from newswatch.immediate import ImmediateReport, immediate_stage
from newswatch.opml import FeedSource
from newswatch.progress import Progress, logged
from newswatch.search import document as search_document
from newswatch.seeds import SEEDS_DIR, load_seeds
from newswatch.shards import Shard
from newswatch.stories import Candidate, batch_ref, decide
from newswatch.textnorm import detect_language
from newswatch.urls import canonical_url, host_of, redact
from newswatch.work import MAX_FETCH_ATTEMPTS, is_due
from warehouse import open_warehouse
from warehouse.search import refresh_search_index

log = logging.getLogger(__name__)

PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"
MIN_FALLBACK_CHARS = 80
WRITE_BATCH = 100
STORE_BATCH = 1000

_log_progress: Progress = logged(log)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# -- reports ------------------------------------------------------------------


@dataclass
class PollReport:
    feeds_total: int = 0
    feeds_polled: int = 0
    feeds_failed: int = 0
    feeds_unreachable: int = 0  # failed without any answer (no network, no such host, timeouts)
    feeds_bad_url: int = 0  # failed because the address in the feed list cannot be a feed's
    feeds_unchanged: int = 0
    feeds_not_due: int = 0
    new_entries: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    requests: int = 0
    bytes_received: int = 0


@dataclass
class FetchReport:
    pages_fetched: int = 0
    extracted: int = 0
    fallbacks: int = 0
    failed: int = 0
    retry_later: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    requests: int = 0
    bytes_received: int = 0


@dataclass
class StoreReport:
    articles_stored: int = 0
    new_stories: int = 0
    duplicates: int = 0
    off_topic: int = 0
    already_stored: int = 0


# -- seeds ----------------------------------------------------------------------


def load_seeds_stage(db_path: Path, seeds_dir: Path = SEEDS_DIR) -> StoreReport:
    """Store the seed articles once; re-running adds nothing."""
    now = utcnow()
    candidates = [
        {
            "url": seed.url,
            "canonical_url": canonical_url(seed.url),
            "final_url": None,
            "guid": None,
            "feed_url": None,
            "title": seed.title,
            "author": seed.author,
            "source": seed.outlet,
            "language": seed.language,
            "published_at": seed.published_at,
            "first_seen_at": now,
            "text": seed.text,
            "method": "seed-file",
            "is_seed": True,
            "entry_key": None,
        }
        for seed in load_seeds(seeds_dir)
    ]
    with open_warehouse(db_path) as wh:
        report = store_candidates(wh, candidates)
        refresh_search_index(wh)
        return report


# -- polling --------------------------------------------------------------------


async def _poll_all(sources: Sequence[FeedSource], states: dict[str, dict], settings: FetchSettings,
                    progress: Progress) -> tuple[list[PollResult], int, int]:
    results: list[PollResult] = []
    async with Fetcher(settings) as fetcher:
        tasks = [asyncio.create_task(poll_feed(fetcher, s, states.get(s.url))) for s in sources]
        for done, task in enumerate(asyncio.as_completed(tasks), start=1):
            results.append(await task)
            progress("polled feeds", done, len(tasks))
        return results, fetcher.requests, fetcher.bytes_received


def poll_stage(db_path: Path, sources: Sequence[FeedSource], settings: FetchSettings | None = None,
               progress: Progress = _log_progress, force: bool = False) -> PollReport:
    """Poll every due feed (every feed not backing off, with *force*); store feed
    states and new entries in one transaction."""
    settings = settings or FetchSettings()
    now = utcnow()
    with open_warehouse(db_path) as wh:
        states = wh.feed_states()
    due = [s for s in sources if is_due(states.get(s.url), now, force=force)]
    report = PollReport(feeds_total=len(sources), feeds_not_due=len(sources) - len(due))
    for s in sources:
        if s not in due:
            log.debug("Feed %s is not due until %s", s.url, states[s.url]["next_poll_at"])
    results, report.requests, report.bytes_received = asyncio.run(_poll_all(due, states, settings, progress))
    by_url = {r.url: r for r in results}
    results = [by_url[s.url] for s in due]  # file order, for a stable first-seen order
    report.feeds_polled = len(results)

    entries: list[dict[str, Any]] = []
    for r in results:
        if r.outcome == "failed":
            report.feeds_failed += 1
            report.feeds_unreachable += r.failure == "network"
            report.feeds_bad_url += r.failure == "bad-url"
            report.failures.append((r.url, r.state["last_error"]))
        elif r.outcome == "unchanged":
            report.feeds_unchanged += 1
        entries.extend(r.entries)

    with open_warehouse(db_path) as wh:
        keys = [e["entry_key"] for e in entries]
        guids = [e["guid"] for e in entries if e["guid"]]
        seen_keys, seen_guids = wh.known_entries(keys, guids)
        fresh: list[dict[str, Any]] = []
        batch_keys: set[str] = set()
        batch_guids: set[str] = set()
        new_per_feed: dict[str, int] = {}
        for e in entries:
            if e["entry_key"] in seen_keys or e["entry_key"] in batch_keys:
                continue
            if e["guid"] and (e["guid"] in seen_guids or e["guid"] in batch_guids):
                continue
            batch_keys.add(e["entry_key"])
            if e["guid"]:
                batch_guids.add(e["guid"])
            fresh.append(e)
            new_per_feed[e["feed_url"]] = new_per_feed.get(e["feed_url"], 0) + 1
        for r in results:
            if new_per_feed.get(r.url):
                r.state["last_new_item_at"] = now
            if r.outcome != "failed":
                polled = r.state["last_polled_at"]
                r.state["next_poll_at"] = polled + next_poll_delay(r.state, polled)
        report.new_entries = wh.save_poll([r.state for r in results], fresh)
    return report


# -- fetching and extraction ----------------------------------------------------------


async def _fetch_entry(fetcher: Fetcher, entry: dict[str, Any], max_attempts: int,
                       pool: Executor | None = None) -> tuple[dict[str, Any], bool]:
    """Fetch and extract one entry; returns (update row, whether a page was fetched)."""
    update: dict[str, Any] = {
        "entry_key": entry["entry_key"], "status": "failed", "error": None, "final_url": None,
        "http_status": None, "content_type": None, "fetched_at": None, "page_title": None,
        "page_author": None, "page_date": None, "site_name": None, "language": None,
        "text": None, "method": None, **dict.fromkeys(ANALYSIS_COLUMNS),
    }
    page = None
    text = method = analysis = None
    page_error: str | None = None
    transient = False
    fetched = False
    if entry["link"]:
        result = await fetcher.get(entry["link"], headers={"Accept": PAGE_ACCEPT}, check_robots=True,
                                   origin=entry["feed_url"])
        fetched = result.status is not None
        update.update(final_url=result.final_url, http_status=result.status,
                      content_type=result.content_type or None, fetched_at=result.fetched_at)
        if result.error:
            page_error = result.error
            transient = result.error_kind != PERMANENT
        elif result.content_type not in HTML_TYPES:
            page_error = f"unsupported content type {result.content_type}"
        else:
            page, text, method, analysis = await asyncio.get_running_loop().run_in_executor(
                pool, process_page, result.body or b"", result.headers.get("content-type", ""), result.final_url,
                entry["title"], entry["summary"])
            page_error = page.error
    else:
        page_error = "entry has no link; using the feed's text"
    if page is None:
        text, method = choose_text(None, entry["summary"])
    else:
        update.update(page_title=page.title, page_author=page.author, page_date=page.date,
                      site_name=page.site_name, language=page.language)
    from_page = method is not None and method != "feed-content"
    usable = bool(text) and (from_page or len(text) >= MIN_FALLBACK_CHARS)
    if page_error is None and method == "feed-content":
        page_error = ("page yielded too little text; used the feed's text" if usable
                      else "no article text on the page, and the feed's text is too short to use")
    elif page_error is None and not usable:
        page_error = "no article text on the page"
    update["error"] = redact(page_error)
    if usable:
        update.update(status="extracted", text=text, method=method, **(analysis or {}))
        if not update["language"]:
            update["language"] = detect_language(text)
    elif transient and entry["attempts"] + 1 < max_attempts:
        update["status"] = "pending"  # try again next cycle
    if update["status"] == "failed":
        # Info, not a warning: the cycle's summary lists the pages that could not be used.
        log.info("Could not use %s: %s", redact(entry["link"] or entry["entry_key"]), update["error"] or "no text")
    return update, fetched


@contextmanager
def extraction_pool(pages: int, settings: FetchSettings) -> Iterator[Executor | None]:
    """Where pages are extracted: the Dask cluster at ``settings.dask`` when one is configured
    (pages sent in batches, ``newswatch.daskpool``; an unreachable scheduler is one warning and
    the local path below); else worker processes for trafilatura when the batch is large enough
    to repay their start (None: extract in the event loop's default thread pool)."""
    if settings.dask and pages:
        from newswatch import daskpool  # dask is imported only when configured

        try:
            cluster = daskpool.connect(settings.dask)
        except daskpool.DaskUnavailable as exc:
            log.warning("%s; extracting on this machine instead", exc)
        else:
            with cluster:
                yield cluster
            return
    workers = settings.extract_workers or os.cpu_count() or 1
    if pages < settings.pool_threshold or workers < 2:
        yield None
        return
    # forkserver: workers start clean, not as forks of a process that runs threads.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver")) as pool:
        yield pool


async def _fetch_all(entries: list[dict[str, Any]], settings: FetchSettings, max_attempts: int,
                     progress: Progress, sink: Callable[[list[dict[str, Any]]], None], report: FetchReport) -> None:
    pending: list[dict[str, Any]] = []
    by_host: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        by_host.setdefault(host_of(e["link"] or ""), []).append(e)
    # Hosts take turns in the queue, and only so many pages are held between
    # their request and their extraction: memory stays bounded when extraction
    # falls behind the network, and no host waits behind another's backlog.
    entries = [e for turn in itertools.zip_longest(*by_host.values()) for e in turn if e is not None]
    held = asyncio.Semaphore(max(2 * settings.max_concurrency, 4 * settings.per_host * len(by_host)))

    async def one(entry: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        async with held:
            return await _fetch_entry(fetcher, entry, max_attempts, pool)

    with extraction_pool(len(entries), settings) as pool:
        async with Fetcher(settings) as fetcher:
            tasks = [asyncio.create_task(one(e)) for e in entries]
            for done, task in enumerate(asyncio.as_completed(tasks), start=1):
                update, fetched = await task
                report.pages_fetched += fetched
                if update["status"] == "extracted":
                    report.extracted += 1
                    report.fallbacks += update["method"] == "feed-content"
                elif update["status"] == "pending":
                    report.retry_later += 1
                else:
                    report.failed += 1
                if update["error"] and update["status"] != "extracted":
                    report.failures.append((update["final_url"] or update["entry_key"], update["error"]))
                pending.append(update)
                if len(pending) >= WRITE_BATCH:
                    sink(pending)
                    pending = []
                progress("fetched pages", done, len(tasks))
            if pending:
                sink(pending)
            report.requests, report.bytes_received = fetcher.requests, fetcher.bytes_received


def shard_feeds(wh: Any, shard: Shard | None, status: str) -> list[str] | None:
    """The feeds whose entries in *status* a sharded run handles; None (every feed) unsharded."""
    return None if shard is None else shard.select(wh.entry_feeds(status))


def fetch_stage(db_path: Path, settings: FetchSettings | None = None, max_attempts: int = MAX_FETCH_ATTEMPTS,
                progress: Progress = _log_progress, shard: Shard | None = None) -> FetchReport:
    """Fetch and extract every pending entry (of the shard's feeds); results are written in batches."""
    settings = settings or FetchSettings()
    with open_warehouse(db_path) as wh:
        entries = wh.entries_to_fetch(max_attempts, shard_feeds(wh, shard, "pending"))
    report = FetchReport()
    if not entries:
        return report

    def sink(rows: list[dict[str, Any]]) -> None:
        with open_warehouse(db_path) as wh:
            wh.save_fetches(rows)

    asyncio.run(_fetch_all(entries, settings, max_attempts, progress, sink, report))
    return report


# -- judging, deduplication and append ------------------------------------------------


def store_stage(db_path: Path, batch: int = STORE_BATCH, progress: Progress = _log_progress,
                shard: Shard | None = None) -> StoreReport:
    """Judge, deduplicate and append every extracted entry (of the shard's feeds), one transaction per batch.

    Each batch sees the batches before it in the warehouse, so copies are found
    across batches, and across shards: sharded runs store one at a time (the
    stage's ``serial`` lock); memory stays bounded however many entries wait.
    """
    report = StoreReport()
    total = done = 0
    feeds: list[str] | None = None
    while True:
        with open_warehouse(db_path) as wh:
            if not total:
                feeds = shard_feeds(wh, shard, "extracted")
                total = wh.count_entries_to_store(feeds)
            rows = wh.entries_to_store(batch, feeds)
        if not rows:
            break
        candidates = [_candidate(r) for r in rows]
        prepared = prepare_candidates(candidates)  # the CPU work, without holding the file
        with open_warehouse(db_path) as wh:
            stored = store_candidates(wh, candidates, prepared)
        for f in fields(StoreReport):
            setattr(report, f.name, getattr(report, f.name) + getattr(stored, f.name))
        done += len(rows)
        progress("stored entries", done, max(total, done))
    with open_warehouse(db_path) as wh:
        refresh_search_index(wh)
    return report


def _candidate(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": r["link"] or r["entry_key"],
        "canonical_url": r["canonical_url"] or r["entry_key"],
        "final_url": r["final_url"],
        "guid": r["guid"],
        "feed_url": r["feed_url"],
        "title": r["title"] or r["page_title"],
        "author": r["page_author"] or r["author"],
        "source": r["site_name"],
        "language": r["language"],
        "published_at": r["published_at"] or r["page_date"],
        "first_seen_at": r["discovered_at"],
        "text": r["text"],
        "method": r["method"],
        "is_seed": False,
        "entry_key": r["entry_key"],
        "analysis": {k: r[k] for k in ANALYSIS_COLUMNS} if r["relevant"] is not None else None,
    }


@dataclass(frozen=True)
class Prepared:
    verdicts: list[Verdict]
    fingerprints: dict[int, Fingerprint]  # candidate index → fingerprint (texts only)


def prepare_candidates(candidates: list[dict[str, Any]]) -> Prepared:
    """Relevance verdicts and fingerprints: pure CPU work, done before the warehouse is opened.

    Entries analysed by the fetch stage's workers (``analysis``) are not analysed again.
    """
    topic = load_topic()
    verdicts: list[Verdict] = []
    fingerprints: dict[int, Fingerprint] = {}
    for i, c in enumerate(candidates):
        done = c.get("analysis")
        if done:
            verdicts.append(Verdict(done["relevant"], done["relevance_reason"], {}))
            fingerprints[i] = stored_fingerprint(done["text_hash"], done["shingles"], done["signature"],
                                                 done["chrome"])
            continue
        verdicts.append(topic.judge(c["title"], c["text"]))
        if c["text"]:
            fingerprints[i] = fingerprint(c["text"])
    return Prepared(verdicts, fingerprints)


def stored_fingerprint(text_hash: str, shingles: int, signature: bytes | list[int], chrome: bool | None) -> Fingerprint:
    """A fingerprint as the warehouse keeps it (signature as little-endian bytes or a list)."""
    sig = (np.frombuffer(signature, dtype="<u8").astype(np.uint64) if isinstance(signature, bytes)
           else np.asarray(signature, dtype=np.uint64))
    return Fingerprint(text_hash, shingles, sig, bool(chrome))


def own_verdict(candidate: dict[str, Any], verdict: Verdict) -> tuple[bool, str]:
    """An article's own relevance: the topic's verdict, except that seeds are always relevant."""
    if candidate["is_seed"] and not verdict.relevant:
        return True, f"seed (reference corpus); rule says {verdict.reason}"
    return verdict.relevant, verdict.reason


def store_candidates(wh: Any, candidates: list[dict[str, Any]], prepared: Prepared | None = None) -> StoreReport:
    """Judge relevance, find each candidate's story, and append, atomically.

    The story decision is ``newswatch.stories.decide`` over the warehouse's
    lookups. Every article keeps its text, on the beat or not. Relevant
    articles' fingerprints are kept and indexed for later copies to find;
    off-topic ones are not (``newswatch rejudge`` computes them from the text).
    """
    report = StoreReport()
    prepared = prepared or prepare_candidates(candidates)
    placing = []
    for i, c in enumerate(candidates):
        relevant, reason = own_verdict(c, prepared.verdicts[i])
        placing.append(Candidate(c["canonical_url"], c["guid"], c["text"], relevant, reason,
                                 prepared.fingerprints.get(i)))
    decisions = decide(placing, wh.archive())
    fresh = [i for i, d in enumerate(decisions) if not d.already_stored]
    ids = dict(zip((batch_ref(i) for i in fresh), wh.next_article_ids(len(fresh))))

    def resolve(ref: int | None) -> int | None:
        return ids.get(ref, ref) if ref is not None else None

    articles, minhashes, band_rows, entry_updates, docs = [], [], [], [], []
    for i, (c, d) in enumerate(zip(candidates, decisions)):
        if d.already_stored:
            report.already_stored += 1
            if c["entry_key"]:
                entry_updates.append({"entry_key": c["entry_key"], "article_id": None})
            continue
        article_id = ids[batch_ref(i)]
        fp = prepared.fingerprints.get(i)
        if fp is not None and d.relevant:
            minhashes.append({"article_id": article_id, "shingles": fp.shingles, "signature": fp.signature})
            if d.banded:
                band_rows += [(key, article_id) for key in fp.band_keys()]
        if d.duplicate_of is not None:
            report.duplicates += 1
        elif d.relevant:
            report.new_stories += 1
        if not d.relevant:
            report.off_topic += 1
        articles.append({
            "article_id": article_id,
            **{k: c[k] for k in ("url", "canonical_url", "final_url", "guid", "feed_url", "title", "author",
                                 "source", "language", "published_at", "first_seen_at", "method", "is_seed",
                                 "text")},
            "text_hash": fp.text_hash if fp is not None else None,
            "relevant": d.relevant,
            "relevance_reason": d.reason,
            "story_id": resolve(d.story),
            "duplicate_of": resolve(d.duplicate_of),
            "duplicate_reason": d.duplicate_reason,
        })
        if d.relevant:
            tokens = (c.get("analysis") or {}).get("search_tokens")
            docs.append({"article_id": article_id, "tokens": tokens or search_document(c["title"], c["text"])})
        if c["entry_key"]:
            entry_updates.append({"entry_key": c["entry_key"], "article_id": article_id})
    report.articles_stored = wh.append_articles(articles, minhashes, band_rows, entry_updates, docs)
    return report


# -- one whole cycle ----------------------------------------------------------------


@dataclass
class CycleSummary:
    cycle_id: str
    started_at: datetime
    finished_at: datetime | None = None
    seeds_loaded: int = 0
    poll: PollReport = field(default_factory=PollReport)
    fetch: FetchReport = field(default_factory=FetchReport)
    store: StoreReport = field(default_factory=StoreReport)
    alerts: AlertReport = field(default_factory=AlertReport)
    rule_problems: list[str] = field(default_factory=list)  # rule files skipped: "monitors/rules/x.toml: …"
    immediate: ImmediateReport = field(default_factory=ImmediateReport)

    @property
    def seconds(self) -> float:
        end = self.finished_at or utcnow()
        return (end - self.started_at).total_seconds()

    def row(self) -> dict[str, Any]:
        return {
            "cycle_id": self.cycle_id, "started_at": self.started_at, "finished_at": self.finished_at,
            "seeds_loaded": self.seeds_loaded, "feeds_polled": self.poll.feeds_polled,
            "feeds_failed": self.poll.feeds_failed, "feeds_unchanged": self.poll.feeds_unchanged,
            "new_entries": self.poll.new_entries, "pages_fetched": self.fetch.pages_fetched,
            "fetch_failures": self.fetch.failed, "articles_stored": self.store.articles_stored,
            "duplicates": self.store.duplicates, "off_topic": self.store.off_topic,
            "alerts_raised": self.alerts.raised,
        }

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def record_cycle(db_path: Path, summary: CycleSummary) -> None:
    with open_warehouse(db_path) as wh:
        wh.record_cycle(summary.row())


def new_cycle_id(shard: Shard | None = None) -> str:
    """When the cycle started, to the microsecond; a sharded cycle's names its shard too."""
    started = utcnow().strftime("%Y%m%dT%H%M%S.%fZ")
    return started if shard is None else f"{started}-shard-{shard.index}-of-{shard.count}"


class CycleBusy(RuntimeError):
    """Another cycle holds the warehouse's cycle lock."""


def lock_path(db_path: Path, name: str) -> Path:
    """The file beside the warehouse whose ``flock`` is the lock *name* on one machine."""
    return Path(f"{db_path}.{name}.lock")


@contextmanager
def cycle_lock(db_path: Path, shard: Shard | None = None) -> Iterator[None]:
    """One cycle at a time per warehouse (per shard, for a sharded run); a second one exits at
    once with a clear reason.

    Two cycles would not corrupt anything (every write is keyed and atomic), but
    they would fetch the same pages twice. The lock is ``flock`` on a file next to
    the warehouse, so it is released when its holder dies, even by SIGKILL. Runs of
    different shards proceed side by side; the stages they must not run at the same
    time take ``serial_lock``. At scale (runs on several machines) both locks are
    Prefect concurrency limits instead (flows/monitor.py).
    """
    path = lock_path(db_path, "cycle" if shard is None else shard.lock_name.removeprefix("newswatch-"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            what = "another cycle" if shard is None else f"another cycle of shard {shard}"
            raise CycleBusy(f"{what} is already running on {db_path} ({holder}); "
                            "this one stops without doing anything") from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}, started {utcnow():%Y-%m-%d %H:%M:%S} UTC")
        f.flush()
        try:
            yield
        finally:
            f.seek(0)
            f.truncate()
            fcntl.flock(f, fcntl.LOCK_UN)


@contextmanager
def serial_lock(db_path: Path, name: str) -> Iterator[None]:
    """Wait for, then hold, the machine-wide lock *name* of this warehouse (``flock``: released
    when its holder dies). Sharded runs on one machine take it around their ``serial`` stages."""
    path = lock_path(db_path, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# -- the stages, in order ---------------------------------------------------------------------
#
# One list, read by run_cycle (plain functions) and by flows/monitor.py (one Prefect
# task per stage): adding, removing or moving a stage is done here only.


@dataclass(frozen=True)
class CycleInputs:
    """What the stages of one cycle work with."""
    db_path: Path
    sources: Sequence[FeedSource]
    settings: FetchSettings | None = None
    seeds_dir: Path = SEEDS_DIR
    progress: Progress = _log_progress
    force: bool = False  # poll every feed not backing off, not only the due ones
    outbox: Path | None = None  # where messages of immediate rules go when no mail or chat is set
    shard: Shard | None = None  # a sharded run: only this shard's feeds and their entries

    def feeds(self) -> Sequence[FeedSource]:
        """The feeds this run polls: all of them, or its shard's."""
        return self.sources if self.shard is None else [s for s in self.sources if self.shard.owns(s.url)]


def _load_seeds(c: CycleInputs) -> int:
    return load_seeds_stage(c.db_path, c.seeds_dir).articles_stored


def _poll(c: CycleInputs) -> PollReport:
    return poll_stage(c.db_path, c.feeds(), c.settings, c.progress, c.force)


def _fetch(c: CycleInputs) -> FetchReport:
    return fetch_stage(c.db_path, c.settings, progress=c.progress, shard=c.shard)


def _store(c: CycleInputs) -> StoreReport:
    return store_stage(c.db_path, progress=c.progress, shard=c.shard)


def _alerts(c: CycleInputs) -> AlertReport:
    return alert_stage(c.db_path)


def _immediate(c: CycleInputs) -> ImmediateReport:
    return immediate_stage(c.db_path, c.outbox)


@dataclass(frozen=True)
class Stage:
    name: str  # also the Prefect task's name
    report: str  # the CycleSummary field its result goes to
    run: Callable[[CycleInputs], Any]
    retries: int = 0  # under Prefect: how often a failed stage is tried again (each stage is idempotent)
    retry_delay: float = 0.0
    # The lock a stage runs under while other shards' cycles run: the story decision and the
    # alerts ("store": near-duplicates across shards meet, one alert per rule and story), and
    # sending ("send": a message goes out once). None: shards run it side by side.
    serial: str | None = None


STAGES: tuple[Stage, ...] = (
    Stage("load-seeds", "seeds_loaded", _load_seeds, serial="store"),
    Stage("poll-feeds", "poll", _poll, retries=1, retry_delay=5),
    Stage("fetch-pages", "fetch", _fetch, retries=2, retry_delay=10),
    Stage("store-articles", "store", _store, retries=1, retry_delay=5, serial="store"),
    Stage("evaluate-rules", "alerts", _alerts, retries=1, retry_delay=5, serial="store"),
    Stage("send-immediate", "immediate", _immediate, serial="send"),
)

Hold = Callable[[str], AbstractContextManager[Any]]


def run_stages(inputs: CycleInputs, summary: CycleSummary,
               call: Callable[[Stage, CycleInputs], Any] = lambda stage, inputs: stage.run(inputs),
               hold: Hold | None = None) -> CycleSummary:
    """Every stage in order, each result into *summary*; *call* runs one (the flow: as a task).

    With *hold* (sharded runs), a stage with a ``serial`` lock runs inside ``hold(stage.serial)``.
    """
    for stage in STAGES:
        with hold(stage.serial) if hold is not None and stage.serial else nullcontext():
            setattr(summary, stage.report, call(stage, inputs))
    summary.finished_at = utcnow()
    return summary


def run_cycle(db_path: Path, sources: Sequence[FeedSource], settings: FetchSettings | None = None,
              seeds_dir: Path = SEEDS_DIR, progress: Progress = _log_progress, force: bool = False,
              outbox: Path | None = None, shard: Shard | None = None) -> CycleSummary:
    """One whole cycle without Prefect: the stages of STAGES in order, under the cycle lock
    (the shard's, with the serial stages under this machine's ``serial_lock``)."""
    inputs = CycleInputs(db_path, sources, settings, seeds_dir, progress, force, outbox, shard)
    with cycle_lock(db_path, shard):
        summary = CycleSummary(new_cycle_id(shard), utcnow(), rule_problems=rule_problems())
        t0 = time.perf_counter()
        run_stages(inputs, summary, hold=None if shard is None else lambda name: serial_lock(db_path, name))
        record_cycle(db_path, summary)
    log.debug("cycle took %.2fs", time.perf_counter() - t0)
    return summary
