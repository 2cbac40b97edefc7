"""Whether a one-shot command has anything to do, decided before anything heavy starts.

A monitoring cycle or a digest runs as a Prefect flow, whose embedded server
takes seconds to start. When no feed is due and nothing waits in the
warehouse, or no alert is pending and no feed is in trouble, the command
answers at once instead. Each check reads the warehouse once, read-only
(never creating it), and decides over plain data: no Prefect, no network.

The decisions (``cycle_work``, ``digest_work``) are pure functions over the
snapshots (``CycleSnapshot``, ``DigestSnapshot``) that ``cycle_snapshot`` and
``digest_snapshot`` read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

MAX_FETCH_ATTEMPTS = 3  # a page that failed for a passing reason is tried in this many cycles


def is_due(state: dict[str, Any] | None, now: datetime, *, force: bool = False) -> bool:
    """Whether to poll a feed now. *force* overrides its schedule, never a failure's backoff
    or the server's Retry-After."""
    if not state or state.get("next_poll_at") is None or state["next_poll_at"] <= now:
        return True
    return force and not state.get("consecutive_failures")


def _schema_current(wh: Any) -> bool:
    """Whether every migration has been applied to the open warehouse."""
    from warehouse.connection import migrations

    if not wh.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migration'"):
        return False
    return wh.scalar("SELECT max(version) FROM schema_migration") == max(m.version for m in migrations())


# -- a cycle ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CycleSnapshot:
    """What a cycle would find in the warehouse (None for the whole snapshot: no warehouse yet)."""

    schema_current: bool  # every migration applied
    seeds_missing: int  # seed articles not stored yet
    feed_states: dict[str, dict[str, Any]]  # url → stored feed row
    entries_to_fetch: int  # pages still to fetch (new, or to retry)
    entries_to_store: int  # extracted pages not stored yet
    articles_unchecked: int  # stored articles the alert rules have not seen


def cycle_work(snapshot: CycleSnapshot | None, feed_urls: Sequence[str], now: datetime,
               force: bool = False) -> list[str]:
    """Why a cycle should run now: one reason a line; empty when it has nothing to do."""
    if snapshot is None:
        return ["no warehouse yet"]
    reasons = []
    if not snapshot.schema_current:
        reasons.append("the warehouse's schema is to be upgraded")
    if snapshot.seeds_missing:
        reasons.append(f"{snapshot.seeds_missing} seed articles to load")
    due = sum(is_due(snapshot.feed_states.get(url), now, force=force) for url in feed_urls)
    if due:
        reasons.append(f"{due} feeds due")
    if snapshot.entries_to_fetch:
        reasons.append(f"{snapshot.entries_to_fetch} pages to fetch")
    if snapshot.entries_to_store:
        reasons.append(f"{snapshot.entries_to_store} extracted pages to store")
    if snapshot.articles_unchecked:
        reasons.append(f"{snapshot.articles_unchecked} articles for the alert rules")
    return reasons


def next_feed(snapshot: CycleSnapshot, feed_urls: Sequence[str]) -> tuple[str, datetime] | None:
    """The feed polled next and when: (title or URL, next poll time)."""
    polls = [(row["next_poll_at"], row.get("title") or url) for url in feed_urls
             if (row := snapshot.feed_states.get(url)) and row.get("next_poll_at") is not None]
    if not polls:
        return None
    when, name = min(polls)
    return name, when


def cycle_snapshot(db_path: Path, seed_urls: Sequence[str]) -> CycleSnapshot | None:
    """Read what ``cycle_work`` decides on, read-only; None when there is no warehouse."""
    if not db_path.exists():
        return None
    from warehouse.alerts import AlertStore
    from warehouse.connection import open_warehouse

    with open_warehouse(db_path, read_only=True) as wh:
        if not _schema_current(wh):  # an older schema: the cycle upgrades it first, nothing else to read
            return CycleSnapshot(False, 0, {}, 0, 0, 0)
        return CycleSnapshot(
            schema_current=True,
            seeds_missing=len(set(seed_urls) - wh.stored_canonical_urls(list(seed_urls))),
            feed_states=wh.feed_states(),
            entries_to_fetch=len(wh.entries_to_fetch(MAX_FETCH_ATTEMPTS)),
            entries_to_store=len(wh.entries_to_store(limit=1)),
            articles_unchecked=len(AlertStore(wh).unchecked_articles()),
        )


# -- a digest -------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestSnapshot:
    schema_current: bool
    unsent_digest: bool  # a digest fixed earlier and never confirmed sent
    pending_alerts: int
    feeds_in_trouble: int


def digest_work(snapshot: DigestSnapshot, rule_problems: Sequence[str] = ()) -> list[str]:
    """Why a digest should go out now: one reason a line; empty when there is nothing to send."""
    reasons = []
    if not snapshot.schema_current:
        reasons.append("the warehouse's schema is to be upgraded")
    if snapshot.unsent_digest:
        reasons.append("a digest to send again")
    if snapshot.pending_alerts:
        reasons.append(f"{snapshot.pending_alerts} alerts pending")
    if snapshot.feeds_in_trouble:
        reasons.append(f"{snapshot.feeds_in_trouble} feeds in trouble")
    if rule_problems:
        reasons.append(f"{len(rule_problems)} rule files that could not be loaded")
    return reasons


def digest_snapshot(db_path: Path) -> DigestSnapshot:
    """Read what ``digest_work`` decides on, read-only (the warehouse must exist)."""
    from warehouse.alerts import AlertStore
    from warehouse.connection import open_warehouse

    with open_warehouse(db_path, read_only=True) as wh:
        if not _schema_current(wh):
            return DigestSnapshot(False, False, 0, 0)
        store = AlertStore(wh)
        return DigestSnapshot(True, store.unsent_digest() is not None, len(store.pending_alerts()),
                              len(store.feeds_in_trouble()))
