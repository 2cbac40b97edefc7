"""Judge the whole archive again with the current topic definition, and record the new verdicts.

The archive is replayed in the order it was stored, as the store stage would
have decided it under today's topic: an article is relevant when its own
terms say so (seeds always are), or when it is a copy of an earlier relevant
article. An article that becomes relevant gets its story (the earlier copy's,
or a story of its own); one that stays relevant keeps the story it has, so
alerts keyed on it stay valid; one that becomes off-topic leaves its story.

Each batch of articles is decided and written in one transaction, so a run
killed at any point and run again finishes the work, and changes nothing
that was already right. Alerts for articles that become relevant are raised
only when asked (``alerts=True``); otherwise they are marked as seen by the
rules, and no later cycle raises them either. A rejudge and a cycle never
run at the same time: both take the warehouse's cycle lock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitors.topic import load_topic
from newswatch.alerts import AlertReport, alert_stage
from newswatch.dedup import fingerprint
from newswatch.pipeline import cycle_lock, own_verdict, utcnow
from newswatch.progress import Progress, logged
from newswatch.search import document as search_document
from newswatch.stories import Candidate, batch_ref, decide
from warehouse import open_warehouse
from warehouse.articles import WarehouseArchive
from warehouse.search import refresh_search_index

log = logging.getLogger(__name__)

BATCH = 500

@dataclass
class RejudgeReport:
    articles: int = 0
    became_relevant: int = 0
    became_off_topic: int = 0
    joined_stories: int = 0  # of those that became relevant: joined an existing story
    reasons_changed: int = 0  # relevance unchanged, reason reworded
    alerts: AlertReport | None = None


_log_progress: Progress = logged(log)


def rejudge(db_path: Path, *, alerts: bool = False, batch: int = BATCH, progress: Progress = _log_progress,
            topic: Any = None) -> RejudgeReport:
    """Apply the current topic definition (or *topic*: anything with ``judge(title, text)``) to every
    stored article, in stored order. Holds the cycle lock: no cycle runs meanwhile (``CycleBusy``)."""
    with cycle_lock(db_path):
        return _rejudge(db_path, alerts, batch, progress, topic or load_topic())


def _rejudge(db_path: Path, alerts: bool, batch: int, progress: Progress, topic: Any) -> RejudgeReport:
    report = RejudgeReport()
    with open_warehouse(db_path) as wh:
        total = wh.scalar("SELECT count(*) FROM article")
    after = None
    while True:
        with open_warehouse(db_path) as wh:
            rows = wh.query(
                """SELECT article_id, canonical_url, guid, title, text, is_seed, relevant, relevance_reason,
                          story_id, duplicate_of, duplicate_reason
                   FROM article WHERE ? IS NULL OR article_id > ? ORDER BY article_id LIMIT ?""",
                [after, after, batch])
        if not rows:
            break
        # The CPU work, without holding the file: verdicts and fingerprints.
        candidates = []
        for r in rows:
            relevant, reason = own_verdict(r, topic.judge(r["title"], r["text"]))
            candidates.append(Candidate(r["canonical_url"], r["guid"], r["text"], relevant, reason,
                                        fingerprint(r["text"]) if r["text"] else None,
                                        story=r["story_id"] if r["relevant"] else None))
        with open_warehouse(db_path) as wh:
            decisions = decide(candidates, WarehouseArchive(wh, before=rows[0]["article_id"]), check_stored=False)
            _record(wh, rows, candidates, decisions, alerts, report)
        report.articles += len(rows)
        after = rows[-1]["article_id"]
        progress("rejudged articles", report.articles, total)
    with open_warehouse(db_path) as wh:
        refresh_search_index(wh)
    if alerts:
        report.alerts = alert_stage(db_path)
    return report


def _record(wh: Any, rows: list[dict[str, Any]], candidates: list[Candidate], decisions: list,
            alerts: bool, report: RejudgeReport) -> None:
    """Write one batch's changed verdicts, stories, fingerprints and search documents in one transaction."""
    ids = {batch_ref(i): r["article_id"] for i, r in enumerate(rows)}

    def resolve(ref: int | None) -> int | None:
        return ids.get(ref, ref) if ref is not None else None

    updates, promoted, demoted, minhashes, band_rows, docs = [], [], [], [], [], []
    for r, c, d in zip(rows, candidates, decisions):
        if d.relevant and r["relevant"]:
            new = {"story_id": r["story_id"], "duplicate_of": r["duplicate_of"],
                   "duplicate_reason": r["duplicate_reason"]}
        elif d.relevant:
            new = {"story_id": resolve(d.story), "duplicate_of": resolve(d.duplicate_of),
                   "duplicate_reason": d.duplicate_reason}
        else:
            new = {"story_id": None, "duplicate_of": None, "duplicate_reason": None}
        new.update(relevant=d.relevant, relevance_reason=d.reason)
        if all(new[k] == r[k] for k in new):
            continue
        updates.append({"article_id": r["article_id"], **new})
        if d.relevant == r["relevant"]:
            report.reasons_changed += 1
            continue
        if d.relevant:
            report.became_relevant += 1
            report.joined_stories += new["duplicate_of"] is not None
            promoted.append(r["article_id"])
            docs.append({"article_id": r["article_id"], "tokens": search_document(r["title"], r["text"])})
            fp = c.fingerprint
            if fp is not None:
                minhashes.append({"article_id": r["article_id"], "shingles": fp.shingles,
                                  "signature": [int(x) for x in fp.signature]})
                if d.banded:
                    band_rows += [(key, r["article_id"]) for key in fp.band_keys()]
            log.info("Article %s is now relevant (%s)", r["article_id"], d.reason)
        else:
            report.became_off_topic += 1
            demoted.append(r["article_id"])
            log.info("Article %s is now off-topic (%s)", r["article_id"], d.reason)
    if updates:
        wh.rejudge_articles(updates, promoted, demoted, minhashes, band_rows, docs, alerts, utcnow())
