"""The fetcher and the feed poller against real local servers: politeness and failures."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import duckdb

from newswatch.demo.server import DemoNewsroom
from newswatch.feeds import poll_feed
from newswatch.fetch import PERMANENT, Fetcher, FetchSettings, parse_retry_after
from newswatch.opml import FeedSource
from newswatch.pipeline import fetch_stage, poll_stage

from .conftest import rows

FAST = FetchSettings(min_gap=0.02, retries=0)

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>One</title><link>{link}</link><guid>g-1</guid><description>Short.</description></item>
</channel></rss>"""


def fetch(url: str, settings: FetchSettings = FAST, **kw):
    async def go():
        async with Fetcher(settings) as f:
            return await f.get(url, **kw)

    return asyncio.run(go())


def test_validators_are_sent_back_exactly_as_received(newsroom: DemoNewsroom) -> None:
    odd_etag = 'W/"odd etag, with comma"'
    odd_date = "Sun, 06 Nov 1994 08:49:37 GMT"
    seen: list[tuple[str | None, str | None]] = []

    def route(h):
        seen.append((h.headers.get("If-None-Match"), h.headers.get("If-Modified-Since")))
        return 200, {"Content-Type": "application/rss+xml", "ETag": odd_etag, "Last-Modified": odd_date}, RSS.replace(b"{link}", b"http://127.0.0.1:1/a")

    url = newsroom.add_route("asia-wire", "/odd.xml", route)

    async def twice():
        async with Fetcher(FAST) as f:
            first = await poll_feed(f, FeedSource(url), None)
            return first, await poll_feed(f, FeedSource(url), first.state)

    first, second = asyncio.run(twice())
    assert seen == [(None, None), (odd_etag, odd_date)]
    # The server ignored the validators and sent the same body: the body hash says "unchanged".
    assert first.outcome == "ok" and second.outcome == "unchanged" and second.entries == []


def test_requests_to_one_host_keep_the_gap_and_the_limit(newsroom: DemoNewsroom) -> None:
    in_flight = {"now": 0, "max": 0}
    starts: list[float] = []

    def slow(h):
        in_flight["now"] += 1
        in_flight["max"] = max(in_flight["max"], in_flight["now"])
        starts.append(time.monotonic())
        time.sleep(0.3)
        in_flight["now"] -= 1
        return 200, {"Content-Type": "text/html"}, b"<html><body><p>x</p></body></html>"

    url = newsroom.add_route("policy-review", "/slow", slow)
    settings = FetchSettings(min_gap=0.1, per_host=2, retries=0, respect_robots=False)

    async def many():
        async with Fetcher(settings) as f:
            return await asyncio.gather(*(f.get(f"{url}?n={i}") for i in range(6)))

    results = asyncio.run(many())
    assert all(r.ok for r in results)
    assert in_flight["max"] == 2
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert min(gaps) >= 0.09


def test_retry_after_holds_the_feed_back(newsroom: DemoNewsroom, db: Path) -> None:
    url = newsroom.add_route("asia-wire", "/busy.xml", lambda h: (429, {"Retry-After": "3600"}, b"slow down"))
    report = poll_stage(db, [FeedSource(url)], FAST)
    assert report.feeds_failed == 1
    con = duckdb.connect(str(db), read_only=True)
    status, error, wait = con.execute(
        "SELECT last_status, last_error, epoch(next_poll_at - last_polled_at) FROM feed WHERE url = ?", [url]
    ).fetchone()
    con.close()
    assert status == 429 and "Retry-After 3600" in error and wait >= 3600
    # Not due yet: the next cycle leaves it alone, and the server sees no request.
    hits = len(newsroom.requests_for("asia-wire", "/busy.xml"))
    assert poll_stage(db, [FeedSource(url)], FAST).feeds_not_due == 1
    assert len(newsroom.requests_for("asia-wire", "/busy.xml")) == hits


def test_parse_retry_after_accepts_seconds_and_dates() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("soon") is None


def test_page_failures_are_recorded_with_their_reason(newsroom: DemoNewsroom, db: Path) -> None:
    big = b"<html><body>" + b"<p>word</p>" * 200_000 + b"</body></html>"
    routes = {
        "/robots-blocked": "/private/story.html",
        "/pdf": newsroom.add_route("harbor-times", "/doc.pdf", lambda h: (200, {"Content-Type": "application/pdf"}, b"%PDF-1.4")),
        "/gone": newsroom.add_route("harbor-times", "/gone.html", lambda h: (410, {"Content-Type": "text/html"}, b"gone")),
        "/huge": newsroom.add_route("harbor-times", "/huge.html", lambda h: (200, {"Content-Type": "text/html"}, big)),
        "/loop": newsroom.add_route("harbor-times", "/loop", lambda h: (302, {"Location": "/loop2"}, b"")),
    }
    newsroom.add_route("harbor-times", "/loop2", lambda h: (302, {"Location": "/loop"}, b""))
    links = [newsroom.url("harbor-times", "/private/story.html")] + [v for k, v in routes.items() if k != "/robots-blocked"]
    items = "".join(f"<item><title>t{i}</title><link>{link}</link><description>short</description></item>" for i, link in enumerate(links))
    feed = newsroom.add_route("harbor-times", "/faults.rss", lambda h: (200, {"Content-Type": "application/rss+xml"},
                                                                        f"<rss version='2.0'><channel><title>F</title>{items}</channel></rss>".encode()))
    poll_stage(db, [FeedSource(feed)], FAST)
    report = fetch_stage(db, FetchSettings(min_gap=0.02, retries=0, max_page_bytes=1_000_000))
    assert report.failed == len(links) and report.extracted == 0
    con = duckdb.connect(str(db), read_only=True)
    errors = dict(con.execute("SELECT link, error FROM entry").fetchall())
    failures = con.execute("SELECT count(*) FROM fetch_failures").fetchone()[0]
    con.close()
    assert failures == len(links)
    assert errors[links[0]] == "disallowed by robots.txt"
    assert errors[routes["/pdf"]] == "unsupported content type application/pdf"
    assert errors[routes["/gone"]] == "HTTP 410"
    assert errors[routes["/huge"]].startswith("too large")
    assert "redirect loop" in errors[routes["/loop"]]


def test_a_permanent_failure_is_not_fetched_again(newsroom: DemoNewsroom, db: Path) -> None:
    page = newsroom.add_route("harbor-times", "/missing.html", lambda h: (404, {"Content-Type": "text/html"}, b"no"))
    feed = newsroom.add_route("harbor-times", "/one.rss", lambda h: (200, {"Content-Type": "application/rss+xml"}, RSS.replace(b"{link}", page.encode())))
    poll_stage(db, [FeedSource(feed)], FAST)
    fetch_stage(db, FAST)
    fetch_stage(db, FAST)
    assert len(newsroom.requests_for("harbor-times", "/missing.html")) == 1


def test_a_transient_failure_is_retried_next_cycle_then_given_up(newsroom: DemoNewsroom, db: Path) -> None:
    page = newsroom.add_route("harbor-times", "/flaky.html", lambda h: (503, {"Content-Type": "text/html"}, b"busy"))
    feed = newsroom.add_route("harbor-times", "/flaky.rss", lambda h: (200, {"Content-Type": "application/rss+xml"}, RSS.replace(b"{link}", page.encode())))
    poll_stage(db, [FeedSource(feed)], FAST)
    for _ in range(4):
        fetch_stage(db, FAST, max_attempts=3)
    assert len(newsroom.requests_for("harbor-times", "/flaky.html")) == 3
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT status, attempts, error FROM entry").fetchone() == ("failed", 3, "HTTP 503")
    con.close()


def test_unreachable_hosts_fail_fast_and_clearly() -> None:
    async def go():
        async with Fetcher(FetchSettings(retries=2, retry_backoff=5)) as f:
            return await f.get("http://no-such-host.invalid/feed.xml"), f.requests

    result, attempts = asyncio.run(go())
    assert result.error and "could not be resolved" in result.error
    assert attempts == 1  # no in-run retries for a name that does not resolve
    assert result.error_kind != PERMANENT  # but the next cycle tries again


def test_an_entry_seen_by_guid_or_canonical_link_is_not_taken_twice(newsroom: DemoNewsroom, db: Path) -> None:
    def feed(link: str, guid: str) -> bytes:
        return (f"<rss version='2.0'><channel><title>F</title><item><title>t</title><link>{link}</link>"
                f"<guid isPermaLink='false'>{guid}</guid></item></channel></rss>").encode()

    base = newsroom.url("asia-wire", "/story.html")
    a = newsroom.add_route("asia-wire", "/a.rss", lambda h: (200, {"Content-Type": "application/rss+xml"}, feed(base, "wire-1")))
    # Same GUID, another link: a mirror of the same entry.
    b = newsroom.add_route("asia-wire", "/b.rss", lambda h: (200, {"Content-Type": "application/rss+xml"},
                                                           feed(newsroom.url("asia-wire", "/mirror/story.html"), "wire-1")))
    # Same page with tracking parameters and a fragment, another GUID.
    c = newsroom.add_route("asia-wire", "/c.rss", lambda h: (200, {"Content-Type": "application/rss+xml"},
                                                           feed(base + "?utm_source=x&amp;fbclid=y#top", "other-2")))
    report = poll_stage(db, [FeedSource(a), FeedSource(b), FeedSource(c)], FAST)
    assert report.new_entries == 1
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT link, guid FROM entry").fetchall() == [(base, "wire-1")]
    con.close()


def test_extraction_in_worker_processes_gives_the_same_articles(newsroom: DemoNewsroom, tmp_path: Path) -> None:
    from dataclasses import replace

    results = {}
    for mode, settings in {"thread": replace(FAST, pool_threshold=10_000),
                           "processes": replace(FAST, pool_threshold=1, extract_workers=2)}.items():
        db = tmp_path / f"{mode}.duckdb"
        poll_stage(db, newsroom.feeds(), FAST)
        report = fetch_stage(db, settings)
        assert report.extracted == len(newsroom.index["pages"])
        results[mode] = rows(db, "SELECT entry_key, method, language, md5(text) FROM entry ORDER BY entry_key")
    # Links differ by port only in the newsroom's address; compare everything else.
    strip = lambda rs: [(k.split("/", 3)[3], m, lang, h) for k, m, lang, h in rs]  # noqa: E731
    assert strip(results["thread"]) == strip(results["processes"])
