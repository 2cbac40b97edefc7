"""Every article keeps its text, and `newswatch rejudge` applies a new topic definition to the archive.

A warehouse is filled through the store stage under one topic definition
(``SUMMITS``) and judged again under another (``SUMMITS_AND_ABDUCTEES``): the
G7 article leaves the beat, the abductee families' article and its copy join
it, as one story. Real DuckDB files, real alert rules.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from newswatch.alerts import alert_stage
from newswatch.dedup import fingerprint
from newswatch.pipeline import Prepared, store_candidates
from newswatch.rejudge import rejudge
from warehouse import open_warehouse
from warehouse.connection import migrations

from .conftest import rows
from .test_stories import article, syndicated, text
from .topics import SUMMITS, SUMMITS_AND_ABDUCTEES

CRASH = Path(__file__).with_name("crash.py")

ARCHIVE = [  # (url, text), in the order they are stored
    ("http://asia-wire.example/summit", text("en-summit-proposal")),
    ("http://harbor.example/g7", text("en-g7-leaders-meeting")),
    ("http://asia-wire.example/families", text("en-abductee-families-meeting")),
    ("http://policy.example/families-copy",
     syndicated(article("en-abductee-families-meeting"), "Abductees' families take their plea to the prime minister")),
    ("http://harbor.example/markets", text("en-tokyo-markets")),
    ("http://policy.example/summit-copy", syndicated(article("en-summit-proposal"), "Tokyo repeats its summit offer")),
]


def candidate(url: str, body: str) -> dict:
    return {"url": url, "canonical_url": url, "final_url": None, "guid": None, "feed_url": None,
            "title": None, "author": None, "source": url.split("/")[2], "language": "en", "published_at": None,
            "first_seen_at": datetime(2026, 11, 20, tzinfo=timezone.utc), "text": body, "method": "test",
            "is_seed": False, "entry_key": None}


def fill(db: Path) -> None:
    """Store the archive under the old topic, one article per batch, and run the rules as a cycle would."""
    for url, body in ARCHIVE:
        c = candidate(url, body)
        with open_warehouse(db) as wh:
            store_candidates(wh, [c], Prepared([SUMMITS.judge(None, body)], {0: fingerprint(body)}))
    alert_stage(db)


def state(db: Path) -> dict:
    """Everything rejudge may change, by URL."""
    ids = dict(rows(db, "SELECT article_id, url FROM article"))
    url = lambda a: ids.get(a)  # noqa: E731
    return {
        "articles": sorted((u, rel, reason, url(story), url(dup)) for u, rel, reason, story, dup in
                           rows(db, "SELECT url, relevant, relevance_reason, story_id, duplicate_of FROM article")),
        "banded": sorted(url(a) for (a,) in rows(db, "SELECT DISTINCT article_id FROM minhash_band")),
        "search": sorted(url(a) for (a,) in rows(db, "SELECT article_id FROM article_search")),
        "alerts": sorted((r, url(s)) for r, s in rows(db, "SELECT rule, story_id FROM alert")),
        "attached": sorted((url(a),) for (a,) in rows(db, "SELECT article_id FROM alert_article")),
        "checked": rows(db, "SELECT count(*) FROM rule_check")[0][0],
    }


@pytest.fixture
def archive(db: Path) -> Path:
    fill(db)
    return db


def by_url(db: Path) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in rows(db, "SELECT url, article_id, relevant, story_id, text IS NOT NULL FROM article")}


def test_every_article_keeps_its_text_but_only_relevant_ones_are_fingerprinted(archive: Path) -> None:
    got = by_url(archive)
    assert all(has_text for *_, has_text in got.values())
    off = [u for u, (_, relevant, story, _) in got.items() if not relevant]
    assert sorted(off) == ["http://asia-wire.example/families", "http://harbor.example/markets",
                           "http://policy.example/families-copy"]
    assert all(got[u][2] is None for u in off)
    banded = {a for (a,) in rows(archive, "SELECT DISTINCT article_id FROM minhash_band")}
    assert banded == {got[u][0] for u in got if u not in off}
    assert {a for (a,) in rows(archive, "SELECT article_id FROM article_minhash")} == banded
    # The copy of the summit story joined it.
    assert got["http://policy.example/summit-copy"][2] == got["http://asia-wire.example/summit"][0]


def test_rejudge_records_new_verdicts_and_stories_without_alerts(archive: Path) -> None:
    alerts_before = state(archive)["alerts"]
    report = rejudge(archive, topic=SUMMITS_AND_ABDUCTEES, batch=2)
    assert (report.articles, report.became_relevant, report.became_off_topic) == (len(ARCHIVE), 2, 1)
    assert report.joined_stories == 1 and report.alerts is None
    got = by_url(archive)
    families = got["http://asia-wire.example/families"][0]
    # The families' article starts its story; its copy, stored later, joins it.
    assert got["http://asia-wire.example/families"][1:3] == (True, families)
    assert got["http://policy.example/families-copy"][1:3] == (True, families)
    # The G7 article left the beat: no story, not indexed, not searchable.
    g7 = got["http://harbor.example/g7"]
    assert g7[1:3] == (False, None)
    s = state(archive)
    assert "http://harbor.example/g7" not in s["banded"] and "http://harbor.example/g7" not in s["search"]
    assert {"http://asia-wire.example/families", "http://policy.example/families-copy"} <= set(s["banded"]) & set(s["search"])
    reason = rows(archive, "SELECT relevance_reason FROM article WHERE url = ?", ["http://asia-wire.example/families"])
    assert reason == [("on-topic (summits and abductees): Yokota",)]
    # Unchanged articles keep their stories; no alert was raised, now or by a later cycle's rules.
    assert got["http://policy.example/summit-copy"][2] == got["http://asia-wire.example/summit"][0]
    assert s["alerts"] == alerts_before
    assert alert_stage(archive).raised == 0
    # Judging again changes nothing.
    again = rejudge(archive, topic=SUMMITS_AND_ABDUCTEES)
    assert (again.became_relevant, again.became_off_topic, again.reasons_changed) == (0, 0, 0)
    assert state(archive) == s


def test_rejudge_with_alerts_raises_each_alert_once(archive: Path) -> None:
    before = state(archive)["alerts"]
    report = rejudge(archive, topic=SUMMITS_AND_ABDUCTEES, alerts=True)
    new = sorted(set(state(archive)["alerts"]) - set(before))
    assert ("abductees", "http://asia-wire.example/families") in new
    assert {story for _, story in new} == {"http://asia-wire.example/families"}  # the copy raised none of its own
    assert report.alerts.raised == len(new) and report.alerts.attached >= 1  # the copy attaches to them
    s = state(archive)
    assert ("http://policy.example/families-copy",) in s["attached"]
    rejudge(archive, topic=SUMMITS_AND_ABDUCTEES, alerts=True)
    assert state(archive) == s


def test_an_article_that_leaves_the_beat_and_returns_gets_its_story_back(archive: Path) -> None:
    story = by_url(archive)["http://harbor.example/g7"][2]
    rejudge(archive, topic=SUMMITS_AND_ABDUCTEES)
    assert by_url(archive)["http://harbor.example/g7"][2] is None
    rejudge(archive, topic=SUMMITS)
    assert by_url(archive)["http://harbor.example/g7"][1:3] == (True, story)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """What one uninterrupted ``rejudge --alerts`` leaves."""
    db = tmp_path_factory.mktemp("reference") / "w.duckdb"
    fill(db)
    rejudge(db, topic=SUMMITS_AND_ABDUCTEES, alerts=True, batch=2)
    return state(db)


@pytest.mark.parametrize("point", ["mid-batch", "after-batch", "before-alerts"])
def test_a_rejudge_killed_and_rerun_leaves_every_article_and_alert_once(point: str, archive: Path,
                                                                     reference: dict) -> None:
    done = subprocess.run([sys.executable, str(CRASH), "rejudge", point, str(archive)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == -signal.SIGKILL, f"exit {done.returncode}: {done.stderr[-2000:]}"
    rejudge(archive, topic=SUMMITS_AND_ABDUCTEES, alerts=True, batch=2)
    assert state(archive) == reference
    assert rows(archive, "SELECT count(*), count(DISTINCT canonical_url) FROM article") == [(len(ARCHIVE), len(ARCHIVE))]


def test_an_older_warehouse_gets_its_off_topic_texts_back(db: Path) -> None:
    """Before migration 008, off-topic articles were stored without text; their entries still had it."""
    import duckdb

    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE schema_migration (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                "checksum TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)")
    for m in migrations():
        if m.version < 8:
            con.execute(m.sql)
            con.execute("INSERT INTO schema_migration VALUES (?, ?, ?, now())", [m.version, m.name, m.checksum])
    con.execute("""INSERT INTO entry (entry_key, feed_url, discovered_at, status, text, article_id)
                   VALUES ('http://x.example/1', 'http://x.example/feed', now(), 'stored', 'The full text.', 1)""")
    con.execute("""INSERT INTO article (article_id, url, canonical_url, first_seen_at, text, relevant, relevance_reason)
                   VALUES (1, 'http://x.example/1', 'http://x.example/1', now(), NULL, false, 'off-topic')""")
    con.close()
    with open_warehouse(db):
        pass
    assert rows(db, "SELECT text FROM article WHERE article_id = 1") == [("The full text.",)]


def test_the_rejudge_command(tmp_path: Path) -> None:
    from .test_cli import newswatch

    db = tmp_path / "w.duckdb"
    assert newswatch("rejudge", "--db", str(db)).returncode == 2
    newswatch("seed", "--db", str(db))
    copy = tmp_path / "copy.duckdb"
    shutil.copy(db, copy)
    result = newswatch("rejudge", "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert "5 articles judged again: 0 became relevant" in result.stdout
    assert "rejudged articles: 5/5" in result.stderr
    assert rows(db, "SELECT url, relevant, story_id FROM article ORDER BY 1") == \
        rows(copy, "SELECT url, relevant, story_id FROM article ORDER BY 1")
