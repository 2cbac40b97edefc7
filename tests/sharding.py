"""Helpers of the shard tests: a demo newsroom whose feeds fall into both of two shards, and
what a warehouse holds in terms that do not depend on the order things were stored in (the
canonical URLs of its articles, its stories as sets of canonical URLs, its alerts as (rule,
story) pairs): two warehouses filled from the same newsroom, sharded or not, compare equal."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from newswatch.demo.server import DemoNewsroom
from newswatch.shards import Shard

from .conftest import rows


def split_newsroom() -> DemoNewsroom:
    """The demo newsroom, started on ports where both of two shards get some of its feeds."""
    for _ in range(20):
        room = DemoNewsroom().start()
        if all(Shard(k, 2).select(f.url for f in room.feeds()) for k in range(2)):
            return room
        room.stop()
    raise AssertionError("20 newsrooms all had their feeds in one shard")


@dataclass(frozen=True)
class Outcome:
    articles: tuple[str, ...]  # canonical URLs, sorted; a URL stored twice appears twice
    stories: frozenset[frozenset[str]]  # each story: the canonical URLs of its copies
    alerts: tuple[tuple[str, frozenset[str]], ...]  # (rule, story), sorted; an alert raised twice appears twice


def outcome(db: Path) -> Outcome:
    articles = rows(db, "SELECT canonical_url, story_id FROM articles")
    stories: dict[int, set[str]] = {}
    for url, story in articles:
        if story is not None:
            stories.setdefault(story, set()).add(url)
    alerts = sorted((rule, tuple(sorted(stories[story]))) for rule, story in rows(db, "SELECT rule, story_id FROM alerts"))
    return Outcome(tuple(sorted(url for url, _ in articles)), frozenset(frozenset(s) for s in stories.values()),
                   tuple((rule, frozenset(story)) for rule, story in alerts))
