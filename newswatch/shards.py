"""Which shard a feed belongs to: a stable assignment, the same in every process and on every machine.

A sharded cycle (``newswatch run --shard K/N``, the ``monitor-shard-K`` deployments) polls only
the feeds of its shard, and fetches and stores only the entries of those feeds. A feed belongs to
shard ``stable_hash(feed url) % N``. The hash is BLAKE2b of the URL exactly as the feed list
gives it (entries carry that same string as their ``feed_url``), never Python's ``hash()``, which
changes from one process to the next.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass


def stable_hash(text: str) -> int:
    """A 64-bit hash of *text* that every process and machine computes alike."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


def shard_of(feed_url: str, shards: int) -> int:
    """The shard (0 … shards-1) that polls *feed_url* and handles its entries."""
    if shards < 1:
        raise ValueError(f"the number of shards must be at least 1, not {shards}")
    return stable_hash(feed_url) % shards


@dataclass(frozen=True)
class Shard:
    """Shard *index* of *count*: ``Shard(0, 2)`` is written ``0/2``."""
    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"no shard {self.index}/{self.count}: a shard is K/N with 0 ≤ K < N")

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, feed_url: str) -> bool:
        return shard_of(feed_url, self.count) == self.index

    def select(self, feed_urls: Iterable[str]) -> list[str]:
        """The URLs among *feed_urls* that this shard handles, in their order."""
        return [u for u in feed_urls if self.owns(u)]

    @property
    def lock_name(self) -> str:
        """The name of this shard's lock (a Prefect concurrency limit at scale)."""
        return f"newswatch-shard-{self.index}-of-{self.count}"


def parse_shard(text: str) -> Shard:
    """``"K/N"`` → ``Shard(K, N)``; a ValueError that says what is wrong otherwise."""
    found = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not found:
        raise ValueError(f"--shard takes K/N (shard K of N, counted from 0), not {text!r}")
    return Shard(int(found.group(1)), int(found.group(2)))


def shard_from(shard: int | None, shards: int | None) -> Shard | None:
    """The flow's two parameters as a Shard; both or neither must be given."""
    if shard is None and shards is None:
        return None
    if shard is None or shards is None:
        raise ValueError("a sharded run needs both shard and shards (shard K of N)")
    return Shard(shard, shards)
