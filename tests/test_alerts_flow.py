"""Alerts end to end, with real Prefect runs: the monitor raises them, the digest delivers them."""

from __future__ import annotations

from pathlib import Path

import httpx


from flows.digest import digest
from flows.monitor import monitor
from newswatch.demo.build import SITE_DIR
from newswatch.demo.server import DemoNewsroom
from newswatch.opml import FeedSource

from .conftest import FAST_GAP
from .conftest import rows as q


def with_a_late_copy(newsroom: DemoNewsroom, opml: Path) -> Path:
    """The demo's feed list plus a new outlet's feed carrying a copy of the summit proposal story."""
    page = (SITE_DIR / "asia-wire/news/2026/11/en-summit-proposal.html").read_text("utf-8")
    page = page.replace("Asia Pacific Wire", "The Late Gazette")
    link = newsroom.add_route("harbor-times", "/late/story.html",
                              lambda h: (200, {"Content-Type": "text/html; charset=utf-8"}, page.encode()))
    rss = (f"<rss version='2.0'><channel><title>Late</title><item><title>Late copy</title><link>{link}</link>"
           "</item></channel></rss>").encode()
    late = newsroom.add_route("harbor-times", "/late.rss", lambda h: (200, {"Content-Type": "application/rss+xml"}, rss))
    return newsroom.write_opml(opml, [FeedSource(late, "Late Gazette")])


def test_alerts_only_for_new_relevant_stories_once_per_story(prefect_api: str, newsroom: DemoNewsroom, db: Path, tmp_path: Path) -> None:
    opml = newsroom.write_opml(tmp_path / "feeds.opml")
    first = monitor(feeds=str(opml), db=str(db), host_gap=FAST_GAP)
    raised = first["alerts"]["raised"]
    assert raised > 0
    assert q(db, "SELECT count(*) FROM alerts") == [(raised,)]
    # One alert per (rule, story); every alerted story is relevant, none began as a seed.
    assert q(db, "SELECT count(*) FROM (SELECT DISTINCT rule, story_id FROM alerts)") == [(raised,)]
    assert q(db, """SELECT count(*) FROM alerts al JOIN articles o ON o.article_id = al.story_id
                    WHERE o.is_seed OR NOT o.relevant""") == [(0,)]
    # Both rules fired, in more than one language.
    per_rule = dict(q(db, "SELECT rule, count(DISTINCT a.language) FROM alerts JOIN articles a USING (article_id) GROUP BY rule"))
    assert set(per_rule) == {"summit", "abductees"} and min(per_rule.values()) >= 2
    # Syndicated copies attach to their story's alert instead of raising new ones.
    wire = q(db, """SELECT al.alert_id, al.outlets, count(aa.article_id) FROM alerts al
                    JOIN alert_article aa USING (alert_id) WHERE al.rule = 'summit'
                    GROUP BY ALL ORDER BY al.outlets DESC LIMIT 1""")[0]
    assert wire[1] == 3 and wire[2] == 3
    # Alerts explain themselves.
    for matched, snippet, version in q(db, "SELECT matched, snippet, rule_version FROM alerts"):
        assert matched and "⟦" in snippet and len(version) == 12

    second = monitor(feeds=str(opml), db=str(db), host_gap=FAST_GAP)
    assert second["alerts"]["raised"] == 0
    assert q(db, "SELECT count(*) FROM alerts") == [(raised,)]

    # A later copy from a new outlet joins the alert and raises its count of outlets.
    opml = with_a_late_copy(newsroom, tmp_path / "feeds.opml")
    third = monitor(feeds=str(opml), db=str(db), host_gap=FAST_GAP)
    assert third["store"]["duplicates"] == 1
    assert third["alerts"]["raised"] == 0 and third["alerts"]["attached"] >= 1
    assert q(db, "SELECT outlets FROM alerts WHERE alert_id = ?", [wire[0]]) == [(4,)]


def test_the_digest_flow_writes_the_outbox_once(prefect_api: str, newsroom: DemoNewsroom, db: Path, tmp_path: Path) -> None:
    monitor(feeds=str(newsroom.write_opml(tmp_path / "feeds.opml")), db=str(db), host_gap=FAST_GAP)
    outbox = tmp_path / "outbox"
    result = digest(db=str(db), outbox=str(outbox))
    assert result["status"] == "sent" and result["channels"] == ["outbox"]
    assert sorted(Path(f).suffix for f in result["files"]) == [".html", ".md", ".txt"]
    text = next(outbox.glob("*.txt")).read_text("utf-8")
    assert "[Summit]" in text and "[Abductees]" in text and "Carried by 3 outlets" in text
    assert q(db, "SELECT count(*) FROM alerts WHERE delivered_at IS NULL") == [(0,)]
    body = {"artifacts": {"key": {"any_": ["digest"]}}, "limit": 5, "offset": 0, "sort": "CREATED_DESC"}
    latest = httpx.post(f"{prefect_api}/artifacts/filter", json=body).raise_for_status().json()[0]
    assert latest["type"] == "markdown" and "`Summit`" in latest["data"] and "**Carried by 3 outlets:**" in latest["data"]
    assert digest(db=str(db), outbox=str(outbox))["status"] == "empty"
    assert len(list(outbox.iterdir())) == 3
