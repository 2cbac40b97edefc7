"""The warehouse schema as a whole: migrations from an empty file and the views users query."""

from __future__ import annotations

from pathlib import Path

import duckdb

from warehouse import open_warehouse
from warehouse.connection import migrations

EXPECTED_VIEWS = {
    "articles": ["article_id", "url", "final_url", "title", "source", "language", "published_at",
                 "first_seen_at", "text", "story_id", "relevant", "is_seed"],
    "stories": ["story_id", "origin_article_id", "first_seen_at", "copies"],
    "feeds": ["url", "title", "last_polled_at", "last_status", "consecutive_failures", "last_error"],
    "alerts": ["alert_id", "rule", "article_id", "story_id", "severity", "matched", "snippet", "created_at",
               "delivered_at", "rule_version", "field", "digest_id", "outlets", "delivery", "immediate_sent_at"],
}


def test_migrations_apply_to_an_empty_file_and_are_recorded(db: Path) -> None:
    assert not db.exists()
    with open_warehouse(db) as wh:
        applied = wh.query("SELECT version, name, checksum FROM schema_migration ORDER BY version")
    expected = [(m.version, m.name, m.checksum) for m in migrations()]
    assert [(r["version"], r["name"], r["checksum"]) for r in applied] == expected
    assert len(expected) >= 2
    # Opening again applies nothing new and changes nothing.
    with open_warehouse(db) as wh:
        assert wh.scalar("SELECT count(*) FROM schema_migration") == len(expected)


def test_views_have_the_documented_columns_in_order(db: Path) -> None:
    with open_warehouse(db):
        pass
    con = duckdb.connect(str(db), read_only=True)
    try:
        for view, columns in EXPECTED_VIEWS.items():
            kind = con.execute(
                "SELECT table_type FROM information_schema.tables WHERE table_name = ?", [view]
            ).fetchone()
            assert kind == ("VIEW",), view
            actual = [r[0] for r in con.execute(f"DESCRIBE {view}").fetchall()]
            assert actual[: len(columns)] == columns, view
    finally:
        con.close()


def test_a_read_only_open_does_not_migrate(db: Path) -> None:
    duckdb.connect(str(db)).close()  # an empty DuckDB file
    with open_warehouse(db, read_only=True) as wh:
        assert wh.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = 'article'") == 0
