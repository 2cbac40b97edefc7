"""The LSH band keys in a real DuckDB file: looked up without an index (migration 011).

The band table is scanned by one hash join per batch instead of an ART index that every
checkpoint rewrote. These tests hold the lookup to the in-memory archive's answers, and an
archive written under the old layout to finding its copies after the upgrade.
"""

from __future__ import annotations

import random
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from monitors.topic import Verdict
from newswatch.dedup import fingerprint
from newswatch.pipeline import Prepared, store_candidates
from newswatch.stories import Candidate, MemoryArchive
from warehouse import open_warehouse
from warehouse.articles import Warehouse, WarehouseArchive
from warehouse.connection import migrations

from .conftest import rows
from .test_stories import article, syndicated, text

NAMES = ["en-summit-proposal", "ja-summit-proposal", "ko-summit-proposal", "en-abductee-families-meeting",
         "ja-tokutei-shissosha-toyama", "ko-kospi-close"]


def row(url: str, body: str) -> dict:
    return {"url": url, "canonical_url": url, "final_url": None, "guid": None, "feed_url": None, "title": "t",
            "author": None, "source": url.split("/")[2], "language": None, "published_at": None,
            "first_seen_at": datetime.now(timezone.utc), "text": body, "method": "test", "is_seed": False,
            "entry_key": None}


def store(wh: Warehouse, batch: list[tuple[str, str]]) -> None:
    """Store (url, text) pairs as relevant articles through the pipeline's store step."""
    rows_ = [row(u, t) for u, t in batch]
    store_candidates(wh, rows_, Prepared([Verdict(True, "on-topic (test)", {}) for _ in rows_],
                                         {i: fingerprint(t) for i, (_, t) in enumerate(batch)}))


def originals() -> list[tuple[str, str]]:
    return [(f"http://a.example/{name}", text(name)) for name in NAMES]


def copies() -> list[tuple[str, str]]:
    return [(f"http://b.example/{name}", syndicated(article(name), "Another headline")) for name in NAMES]


def test_no_index_is_left_on_the_band_table(db: Path) -> None:
    with open_warehouse(db):
        pass
    assert rows(db, "SELECT index_name FROM duckdb_indexes() WHERE table_name = 'minhash_band'") == []


def test_the_band_lookup_answers_as_the_memory_archive_for_a_batch_of_any_size(db: Path) -> None:
    memory = MemoryArchive()
    memory.store([Candidate(u, None, t, True, "on-topic (test)") for u, t in originals()])
    with open_warehouse(db) as wh:
        store(wh, originals())
    wanted = [k for _, t in copies() for k in fingerprint(t).band_keys()]
    wanted += [k for _, t in originals() for k in fingerprint(t).band_keys()]
    rng = random.Random(11)
    wanted += [rng.randrange(-2**63, 2**63) for _ in range(6000)]  # more than a statement's IN list used to hold
    rng.shuffle(wanted)
    urls_in_memory = {i: c.canonical_url for c, i in zip(
        [Candidate(u, None, t, True, "") for u, t in originals()], sorted(memory.articles_by_id))}
    expected = {k: {urls_in_memory[i] for i in ids} for k, ids in memory.by_band_keys(wanted).items()}
    with open_warehouse(db) as wh:
        urls = dict(wh.con.execute("SELECT article_id, canonical_url FROM article").fetchall())
        found = WarehouseArchive(wh).by_band_keys(wanted)
        # Every original's 32 keys, and the copies' keys that they share, nothing else.
        assert {k: {urls[i] for i in ids} for k, ids in found.items()} == expected
        assert len(expected) >= 32 * len(NAMES)
        # An archive replayed in order (rejudge) sees only the articles stored before.
        first, second = sorted(urls)[:2]
        seen = WarehouseArchive(wh, before=second).by_band_keys(wanted)
        assert {i for ids in seen.values() for i in ids} == {first}
        assert WarehouseArchive(wh).by_band_keys([]) == {}


def old_warehouse(db: Path) -> None:
    """A warehouse as migration 010 left it: band keys under an ART index."""
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE schema_migration (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                "checksum TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)")
    for m in migrations():
        if m.version <= 10:
            con.execute(m.sql)
            con.execute("INSERT INTO schema_migration VALUES (?, ?, ?, now())", [m.version, m.name, m.checksum])
    store(Warehouse(con), originals())
    con.close()


def test_an_older_warehouse_upgrades_and_its_stored_articles_find_their_copies(db: Path) -> None:
    old_warehouse(db)
    assert rows(db, "SELECT index_name FROM duckdb_indexes() WHERE table_name = 'minhash_band'") == \
        [("minhash_band_key_idx",)]
    before = rows(db, "SELECT band_key, article_id FROM minhash_band ORDER BY ALL")
    assert len(before) == 32 * len(NAMES)
    with open_warehouse(db) as wh:
        store(wh, copies())
    assert rows(db, "SELECT index_name FROM duckdb_indexes() WHERE table_name = 'minhash_band'") == []
    assert rows(db, "SELECT band_key, article_id FROM minhash_band WHERE article_id IN "
                    "(SELECT article_id FROM article WHERE canonical_url LIKE 'http://a.example/%') ORDER BY ALL") == before
    grouped = rows(db, """SELECT o.canonical_url, c.canonical_url, c.duplicate_reason
                          FROM article c JOIN article o ON c.story_id = o.article_id
                          WHERE c.canonical_url LIKE 'http://b.example/%' ORDER BY 1""")
    assert [(o, c) for o, c, _ in grouped] == sorted((u, u.replace("a.example", "b.example")) for u, _ in originals())
    assert all(reason.startswith("near-duplicate") for _, _, reason in grouped)
