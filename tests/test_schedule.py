"""Adaptive polling and feed health: each feed's own rhythm, and the feeds in trouble."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import duckdb

from newswatch.demo.server import DemoNewsroom
from newswatch.digest import deliver_digest
from newswatch.feeds import item_interval, next_poll_delay
from newswatch.fetch import FetchSettings
from newswatch.opml import FeedSource
from newswatch.pipeline import poll_stage

from .conftest import rows

FAST = FetchSettings(min_gap=0.02, retries=0)
NOW = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)


def rss(step: timedelta, n: int = 8, ttl: int | None = None) -> bytes:
    now = datetime.now(timezone.utc)
    items = "".join(
        f"<item><title>i{k}</title><link>http://127.0.0.1:1/{step.total_seconds():.0f}/{k}</link>"
        f"<pubDate>{format_datetime(now - k * step)}</pubDate></item>" for k in range(n)
    )
    ttl_tag = f"<ttl>{ttl}</ttl>" if ttl else ""
    return f"<rss version='2.0'><channel><title>f</title>{ttl_tag}{items}</channel></rss>".encode()


def test_the_rhythm_is_the_median_gap_between_items() -> None:
    hourly = [NOW - timedelta(hours=k) for k in range(6)] + [NOW - timedelta(days=30)]
    assert item_interval(hourly) == 3600
    assert item_interval([NOW]) is None


def test_a_busy_feed_is_due_sooner_than_a_quiet_one_within_bounds() -> None:
    busy = next_poll_delay({"item_interval_s": 3600, "last_new_item_at": NOW}, NOW)
    quiet = next_poll_delay({"item_interval_s": 86400, "last_new_item_at": NOW}, NOW)
    assert busy == timedelta(minutes=30) and quiet == timedelta(hours=12) and busy < quiet
    assert next_poll_delay({"item_interval_s": 30}, NOW) == timedelta(minutes=10)
    assert next_poll_delay({"item_interval_s": 30 * 86400}, NOW) == timedelta(hours=24)
    # Quiet for a long time: back off gradually even if it used to be busy.
    assert next_poll_delay({"item_interval_s": 600, "last_new_item_at": NOW - timedelta(hours=8)}, NOW) == timedelta(hours=2)
    # The server's TTL is a floor.
    assert next_poll_delay({"item_interval_s": 600, "min_interval_s": 3 * 3600}, NOW) == timedelta(hours=3)


def test_polling_schedules_each_feed_from_its_own_history_and_headers(newsroom: DemoNewsroom, db: Path) -> None:
    feeds = {
        "busy": (rss(timedelta(minutes=20)), {}),
        "quiet": (rss(timedelta(days=2)), {}),
        "ttl": (rss(timedelta(minutes=20), ttl=180), {}),
        "maxage": (rss(timedelta(minutes=20)), {"Cache-Control": "public, max-age=7200"}),
    }
    urls = {}
    for name, (body, headers) in feeds.items():
        urls[name] = newsroom.add_route("asia-wire", f"/{name}.xml",
                                        lambda h, b=body, x=headers: (200, {"Content-Type": "application/rss+xml", **x}, b))
    poll_stage(db, [FeedSource(u) for u in urls.values()], FAST)
    wait = {name: rows(db, "SELECT epoch(next_poll_at - last_polled_at) FROM feed WHERE url = ?", [u])[0][0]
            for name, u in urls.items()}
    assert 600 <= wait["busy"] < 3600
    assert wait["quiet"] >= 86400 - 1
    assert wait["busy"] < wait["quiet"]
    assert wait["ttl"] >= 3 * 3600 and wait["maxage"] >= 7200
    # A scheduled cycle right after polls none of them; the server sees nothing.
    before = len(newsroom.requests)
    report = poll_stage(db, [FeedSource(u) for u in urls.values()], FAST)
    assert report.feeds_not_due == 4 and report.feeds_polled == 0 and len(newsroom.requests) == before


def test_failing_and_silent_feeds_are_reported(newsroom: DemoNewsroom, db: Path, tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/feed.xml"
    busy = newsroom.add_route("asia-wire", "/rhythm.xml",
                              lambda h: (200, {"Content-Type": "application/rss+xml"}, rss(timedelta(hours=1))))
    healthy = newsroom.feeds()[0].url
    poll_stage(db, [FeedSource(dead, "Dead feed"), FeedSource(busy, "Hourly feed"), FeedSource(healthy, "Harbor")], FAST)
    # The hourly feed then goes quiet for three days.
    con = duckdb.connect(str(db))
    con.execute("UPDATE feed SET last_new_item_at = now() - INTERVAL 3 DAY WHERE url = ?", [busy])
    con.close()

    status = dict(rows(db, "SELECT url, status FROM feed_health"))
    assert status == {dead: "failing", busy: "silent", healthy: "ok"}

    listing = subprocess.run([sys.executable, "-m", "newswatch.cli", "feeds", "--db", str(db)],
                             capture_output=True, text=True, env=os.environ.copy())
    assert listing.returncode == 0
    lines = {line.split()[0]: line for line in listing.stdout.splitlines()[2:]}
    assert "Dead feed" in lines["failing"] and "connection refused" in lines["failing"]
    assert "Hourly feed" in lines["silent"] and "3d ago" in lines["silent"]
    assert "Harbor" in lines["ok"]

    result = deliver_digest(db, tmp_path / "outbox")
    assert result.status == "sent" and result.alerts == 0
    assert "FEEDS IN TROUBLE" in result.text
    assert "Dead feed: failing (1 in a row): cannot connect" in result.text
    assert "Hourly feed: silent, no new item for 3.0 days" in result.text
    assert "Harbor" not in result.text
