"""Feeds, entries, articles and their fingerprints: what the cycle's stages and ``rejudge`` write and read.

``Warehouse`` is the connection a stage holds (``warehouse.connection.open_warehouse``);
``WarehouseArchive`` answers the story decision's lookups from it. Statements are in
``queries/articles/``; inline stay the feed upsert's conflict clause (built from the column
list), the entry update's SET list (built from the fetch results' columns) and the LIMIT
of ``entries_to_store``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from warehouse.sql import sql
from warehouse.tables import Tables

if TYPE_CHECKING:  # the story module brings numpy: not loaded by readers that never decide stories
    from newswatch.stories import StoredArticle

FEED_COLUMNS = ("url", "title", "etag", "last_modified", "body_hash", "last_polled_at", "last_success_at",
                "last_new_item_at", "last_status", "consecutive_failures", "last_error", "next_poll_at",
                "item_interval_s", "min_interval_s", "polls", "charset_note")

#: Band keys looked up per scan of ``minhash_band``: a batch's keys (32 per article) at once.
BAND_KEYS_PER_SCAN = 100_000


def _listed(feeds: Sequence[str] | None) -> list[str] | None:
    """A feed filter as the entry queries bind it: None for every feed."""
    return None if feeds is None else list(feeds)


class Warehouse(Tables):
    """The article pipeline's operations over one open connection."""

    #: DuckDB's fts index is built whole, by the writer, after each stage that stores.
    rebuilds_search_index = True

    # -- feeds --------------------------------------------------------------

    def feed_states(self) -> dict[str, dict[str, Any]]:
        return {r["url"]: r for r in self.query(sql("articles/feed_states"))}

    def save_poll(self, feed_rows: Iterable[dict[str, Any]], entries: Iterable[dict[str, Any]]) -> int:
        """Record feed states and new entries in one transaction; returns entries added."""
        feed_rows, entries = list(feed_rows), list(entries)
        with self.transaction():
            self.bulk_insert("feed", [{c: row[c] for c in FEED_COLUMNS} for row in feed_rows],
                             conflict="(url) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in FEED_COLUMNS[1:]))
            before = self.scalar(sql("articles/count_entries"))
            self.bulk_insert("entry", [{**e, "status": "pending"} for e in entries])
            return self.scalar(sql("articles/count_entries")) - before

    def known_entries(self, keys: Sequence[str], guids: Sequence[str]) -> tuple[set[str], set[str]]:
        """Which of these entry keys and GUIDs have been seen before (in any feed)."""
        seen_keys = {r[0] for r in self.con.execute(sql("articles/known_entry_keys"), [list(keys)]).fetchall()}
        seen_keys |= {r[0] for r in self.con.execute(sql("articles/known_article_urls"), [list(keys)]).fetchall()}
        seen_guids = {r[0] for r in self.con.execute(sql("articles/known_entry_guids"), [list(guids)]).fetchall()}
        return seen_keys, seen_guids

    # -- entries through fetch and extraction -------------------------------

    def entries_to_fetch(self, max_attempts: int, feeds: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Pending entries (of *feeds* only, when given: a shard's)."""
        return self.query(sql("articles/entries_to_fetch"), [max_attempts, _listed(feeds)])

    def entry_feeds(self, status: str) -> list[str]:
        """The feeds that have entries in *status* (``pending``, ``extracted``…)."""
        return [r[0] for r in self.con.execute(sql("articles/entry_feeds"), [status]).fetchall()]

    def save_fetches(self, results: Iterable[dict[str, Any]]) -> None:
        results = list(results)
        if not results:
            return
        with self.transaction():
            columns = [c for c in results[0] if c != "entry_key"]
            self.bulk_update("entry", "entry_key", results,
                             ", ".join(f"{c} = u.{c}" for c in columns) + ", attempts = entry.attempts + 1")

    def entries_to_store(self, limit: int | None = None, feeds: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Extracted entries not stored yet, oldest first (at most *limit*; of *feeds* only, when given)."""
        return self.query(sql("articles/entries_to_store") + (f" LIMIT {int(limit)}" if limit else ""),
                          [_listed(feeds)])

    def count_entries_to_store(self, feeds: Sequence[str] | None = None) -> int:
        return self.con.execute(sql("articles/count_entries_to_store"), [_listed(feeds)]).fetchone()[0]

    # -- articles -----------------------------------------------------------

    def next_article_ids(self, n: int) -> list[int]:
        return self.next_ids(sql("articles/next_article_ids"), n)

    def stored_canonical_urls(self, urls: Sequence[str]) -> set[str]:
        return {r[0] for r in self.lookup(sql("articles/stored_canonical_urls"), urls)}

    def append_articles(
        self,
        articles: Sequence[dict[str, Any]],
        minhashes: Sequence[dict[str, Any]],
        bands: Sequence[tuple[int, int]],
        entry_updates: Sequence[dict[str, Any]],
        search_docs: Sequence[dict[str, Any]] = (),
    ) -> int:
        """Insert articles with their fingerprints and search documents, and close their entries, atomically."""
        with self.transaction():
            before = self.scalar(sql("articles/count_articles"))
            # Each ON CONFLICT names its key: without one, DuckDB (1.5) checks the 100 rows of a
            # batch against the article table's two unique indexes at a cost that grows with
            # the archive (1.8 s of CPU at 2,000,000 stories, against 30 ms with the key named).
            # Ids come from the sequence; a canonical URL already stored is the conflict to skip.
            self.bulk_insert("article", articles, conflict="(canonical_url) DO NOTHING")
            self._insert_fingerprints(minhashes, bands)
            self.bulk_update("entry", "entry_key", entry_updates, "status = 'stored', article_id = u.article_id")
            self.bulk_insert("article_search", list(search_docs), conflict="(article_id) DO NOTHING")
            return self.scalar(sql("articles/count_articles")) - before

    def _insert_fingerprints(self, minhashes: Sequence[dict[str, Any]], bands: Sequence[tuple[int, int]]) -> None:
        """Signatures and band keys, handed to DuckDB as numpy columns of a registered view:
        lists of Python ints are converted one value at a time (128 values per signature)."""
        import numpy as np  # not loaded by readers

        if minhashes:
            signatures = np.stack([np.asarray(m["signature"], dtype=np.uint64) for m in minhashes])
            width = signatures.shape[1]
            self._with_view("new_minhash_values", {
                "article_id": np.repeat(np.array([m["article_id"] for m in minhashes], dtype=np.int64), width),
                "shingles": np.repeat(np.array([m["shingles"] for m in minhashes], dtype=np.int32), width),
                "pos": np.tile(np.arange(width, dtype=np.int32), len(minhashes)),
                "value": signatures.reshape(-1),
            }, sql("articles/insert_minhashes"))
        if bands:
            keys, ids = zip(*bands)
            self._with_view("new_bands", {"band_key": np.array(keys, dtype=np.int64),
                                          "article_id": np.array(ids, dtype=np.int64)}, sql("articles/insert_bands"))

    def _with_view(self, name: str, columns: dict[str, Any], statement: str) -> None:
        """Run *statement*, which reads the view *name* over *columns* (numpy arrays)."""
        self.con.register(name, columns)
        try:
            self.con.execute(statement)
        finally:
            self.con.unregister(name)

    def archive(self) -> "WarehouseArchive":
        """The story decision's lookups (``newswatch.stories.Archive``) into this warehouse."""
        return WarehouseArchive(self)

    def rejudge_articles(self, updates: Sequence[dict[str, Any]], promoted: Sequence[int], demoted: Sequence[int],
                         minhashes: Sequence[dict[str, Any]], bands: Sequence[tuple[int, int]],
                         search_docs: Sequence[dict[str, Any]], alerts: bool, now: datetime) -> None:
        """Record new verdicts and stories (``newswatch rejudge``), atomically.

        Articles that became relevant get their fingerprint indexed and a search
        document; with *alerts* the rules will look at them again, otherwise they
        are marked as seen by the rules. Articles that became off-topic leave the
        index and the search.
        """
        with self.transaction():
            self.bulk_update("article", "article_id", updates)
            if demoted:
                self.in_ids(sql("articles/delete_bands"), demoted)
                self.in_ids(sql("articles/delete_search_docs"), demoted)
            self._insert_fingerprints(minhashes, bands)
            self.bulk_insert("article_search", list(search_docs), conflict="(article_id) DO NOTHING")
            if promoted and alerts:
                self.in_ids(sql("articles/delete_rule_checks"), promoted)
            elif promoted:
                self.bulk_insert("rule_check", [{"article_id": a, "checked_at": now} for a in promoted])

    # -- cycles -------------------------------------------------------------

    def record_cycle(self, row: dict[str, Any]) -> None:
        self.insert_row("cycle", row, conflict="(cycle_id) DO NOTHING")


class WarehouseArchive:
    """The story decision's lookups (``newswatch.stories.Archive``), answered from the warehouse.

    With *before*, only articles with smaller ids are seen: ``newswatch rejudge``
    replays the archive in the order it was stored.
    """

    def __init__(self, wh: Warehouse, before: int | None = None):
        self.wh = wh
        self.before = before

    def _visible(self, column: str = "article_id") -> str:
        return "" if self.before is None else f" AND {column} < {int(self.before)}"

    def stored_urls(self, urls: Sequence[str]) -> set[str]:
        return self.wh.stored_canonical_urls(urls)

    def stored_guids(self, guids: Sequence[str]) -> set[str]:
        return {r[0] for r in self.wh.lookup(sql("articles/stored_guids"), guids)}

    def by_text_hash(self, hashes: Sequence[str]) -> dict[str, StoredArticle]:
        from newswatch.stories import StoredArticle

        first: dict[str, StoredArticle] = {}
        for h, a, s in self.wh.lookup(sql("articles/stories_by_text_hash") + self._visible(), hashes):
            if h not in first or a < first[h].article_id:
                first[h] = StoredArticle(a, s, None)
        return first

    def by_band_keys(self, keys: Sequence[int]) -> dict[int, set[int]]:
        # The band table has no index (migration 011): a long IN list is one hash join over
        # the scanned key column, so a whole batch's keys go in one statement, not in chunks.
        found: dict[int, set[int]] = {}
        for key, article_id in self.wh.lookup(sql("articles/articles_by_band_key") + self._visible(),
                                              [int(k) for k in keys], chunk=BAND_KEYS_PER_SCAN):
            found.setdefault(key, set()).add(article_id)
        return found

    def articles(self, ids: Iterable[int]) -> dict[int, StoredArticle]:
        from newswatch.stories import StoredArticle

        rows = self.wh.lookup(sql("articles/articles_by_id"), [int(i) for i in ids])
        return {a: StoredArticle(a, s, t) for a, s, t in rows}
