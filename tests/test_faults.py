"""Hostile and broken input, served by real local servers: each case must leave a
recorded reason, and the rest of the run must go on."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from newswatch.demo.server import DemoNewsroom
from newswatch.fetch import FetchSettings
from newswatch.opml import FeedSource
from newswatch.pipeline import fetch_stage, poll_stage, store_stage

from .conftest import rows

ROOT = Path(__file__).resolve().parent.parent
FAST = FetchSettings(min_gap=0.01, retries=0, retry_backoff=0.01)
OUTLET = "harbor-times"
ARTICLE = (
    "<html><head><title>Families of abductees meet the minister</title></head><body><article>"
    "<h1>Families of abductees meet the minister</h1>"
    + "".join(f"<p>Paragraph {i}: relatives of Japanese citizens abducted by North Korea asked Tokyo to press "
              f"Pyongyang for a summit on their return, and the minister promised to raise the issue.</p>"
              for i in range(8))
    + "</article></body></html>"
).encode()


def rss(items: str, *, declaration: str = "<?xml version='1.0' encoding='utf-8'?>") -> bytes:
    return f"{declaration}<rss version='2.0'><channel><title>Faults</title>{items}</channel></rss>".encode()


def item(title: str, link: str | None = None, *, guid: str | None = None, date: str | None = None,
         description: str = "A short teaser.") -> str:
    parts = [f"<title>{title}</title>"]
    if link is not None:
        parts.append(f"<link>{link}</link>")
    if guid is not None:
        parts.append(f"<guid isPermaLink='false'>{guid}</guid>")
    if date is not None:
        parts.append(f"<pubDate>{date}</pubDate>")
    parts.append(f"<description>{description}</description>")
    return "<item>" + "".join(parts) + "</item>"


def serve(room: DemoNewsroom, path: str, body, ctype: str = "application/rss+xml", status: int = 200,
          headers: dict[str, str] | None = None, outlet: str = OUTLET) -> str:
    return room.add_route(outlet, path, lambda h: (status, {"Content-Type": ctype, **(headers or {})},
                                                   body() if callable(body) else body))


def feed_state(db: Path, url: str) -> tuple[int, str | None]:
    return rows(db, "SELECT consecutive_failures, last_error FROM feeds WHERE url = ?", [url])[0]


def entries(db: Path) -> list[dict]:
    con_rows = rows(db, "SELECT entry_key, link, title, status, error, published_at FROM entry ORDER BY entry_key")
    return [dict(zip(("key", "link", "title", "status", "error", "published_at"), r)) for r in con_rows]


def in_child(code: str) -> dict:
    """Run *code* in a fresh interpreter and return its JSON result with its peak memory (MB)."""
    wrapped = (
        "import json, resource, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "result = {}\n" + code +
        "\nresult['peak_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(json.dumps(result, default=str))\n"
    )
    done = subprocess.run([sys.executable, "-c", wrapped], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def stages_in_child(db: Path, feed: str, *, fetch: bool) -> dict:
    """Poll *feed* (and fetch its pages) in a fresh interpreter: its reports and peak memory."""
    return in_child(
        "from pathlib import Path\nfrom newswatch.fetch import FetchSettings\nfrom newswatch.opml import FeedSource\n"
        "from newswatch.pipeline import fetch_stage, poll_stage\n"
        f"db, s = Path({str(db)!r}), FetchSettings(min_gap=0.01, retries=0)\n"
        f"result['feeds_failed'] = poll_stage(db, [FeedSource({feed!r})], s).feeds_failed\n"
        + ("r = fetch_stage(db, s)\nresult['failed'], result['extracted'] = r.failed, r.extracted\n" if fetch else "")
    )


@pytest.fixture(scope="module")
def baseline_mb() -> float:
    """Peak memory of a child that imports the pipeline and polls nothing."""
    return in_child("import newswatch.pipeline, newswatch.extract, trafilatura\n")["peak_mb"]


# -- feeds -----------------------------------------------------------------------------------


def test_malformed_empty_and_html_feeds_are_recorded_and_the_good_feed_still_counts(newsroom: DemoNewsroom, db: Path) -> None:
    page = serve(newsroom, "/a/good.html", ARTICLE, "text/html; charset=utf-8")
    good = serve(newsroom, "/good.rss", rss(item("Good", page)))
    cases = {
        serve(newsroom, "/broken.rss", b"<rss version='2.0'><channel><title>Broken</titl"): "malformed feed",
        serve(newsroom, "/empty.rss", b""): "empty response body",
        serve(newsroom, "/page.rss", b"<html><body><p>Not a feed</p></body></html>", "text/html"): "not a feed",
    }
    report = poll_stage(db, [FeedSource(good), *map(FeedSource, cases)], FAST)
    assert report.feeds_failed == 3 and report.new_entries == 1
    for url, reason in cases.items():
        failures, error = feed_state(db, url)
        assert failures == 1 and reason in error
    assert feed_state(db, good) == (0, None)


def test_a_feed_without_items_is_fine(newsroom: DemoNewsroom, db: Path) -> None:
    url = serve(newsroom, "/quiet.rss", rss(""))
    report = poll_stage(db, [FeedSource(url)], FAST)
    assert report.feeds_failed == 0 and report.new_entries == 0
    assert feed_state(db, url) == (0, None)


@pytest.mark.parametrize("declared, body_encoding", [
    ("iso-8859-1", "utf-8"),  # a lying declaration
    (None, "utf-8"),  # none at all
    ("shift_jis", "shift_jis"),  # a true, non-UTF-8 one
])
def test_charsets_wrong_absent_or_true_keep_the_japanese_title(newsroom: DemoNewsroom, db: Path, declared: str | None,
                                                              body_encoding: str) -> None:
    title = "拉致被害者の家族が首相と面会"
    declaration = f"<?xml version='1.0' encoding='{declared}'?>" if declared else "<?xml version='1.0'?>"
    body = rss(item(title, guid="cs-1"), declaration="").decode()
    url = serve(newsroom, "/charset.rss", (declaration + body).encode(body_encoding), "application/rss+xml")
    poll_stage(db, [FeedSource(url)], FAST)
    assert [e["title"] for e in entries(db)] == [title]


def test_entity_expansion_and_external_entities_are_not_expanded(newsroom: DemoNewsroom, db: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-TOKEN")
    laughs = "".join(f"<!ENTITY l{i} '{('&l%d;' % (i - 1)) * 10}'>" for i in range(1, 10))
    bomb = (f"<?xml version='1.0'?><!DOCTYPE rss [<!ENTITY l0 'lol'>{laughs}]>"
            "<rss version='2.0'><channel><title>Bomb</title>" + item("&l9;", guid="bomb-1") + "</channel></rss>")
    xxe = (f"<?xml version='1.0'?><!DOCTYPE rss [<!ENTITY xxe SYSTEM 'file://{secret}'>]>"
           "<rss version='2.0'><channel><title>XXE</title>" + item("Leak &xxe;", guid="xxe-1") + "</channel></rss>")
    urls = [serve(newsroom, "/bomb.rss", bomb.encode()), serve(newsroom, "/xxe.rss", xxe.encode())]
    started = time.monotonic()
    poll_stage(db, list(map(FeedSource, urls)), FAST)
    assert time.monotonic() - started < 30
    stored = dict(rows(db, "SELECT guid, title FROM entry"))
    assert stored == {"bomb-1": "&l9;", "xxe-1": "Leak"}  # read, with the entities left unexpanded
    # The parser's amplification limit is what stopped the bomb, and it is on record.
    failures, note = feed_state(db, urls[0])
    assert failures == 0 and "limit on input amplification factor" in note
    assert not any("TOP-SECRET" in str(v) for r in rows(db, "SELECT * FROM entry") for v in r)


def test_a_50_mb_feed_is_refused_by_size_with_memory_bounded(newsroom: DemoNewsroom, tmp_path: Path, baseline_mb: float) -> None:
    chunk = item("Filler", guid="x", description="y" * 4000).encode()

    def huge() -> Iterator[bytes]:
        yield b"<?xml version='1.0'?><rss version='2.0'><channel><title>Huge</title>"
        for _ in range(50_000_000 // len(chunk)):
            yield chunk
        yield b"</channel></rss>"

    url = serve(newsroom, "/huge.rss", huge)
    db = tmp_path / "w.duckdb"
    result = stages_in_child(db, url, fetch=False)
    assert result["feeds_failed"] == 1
    assert "too large" in feed_state(db, url)[1]
    assert result["peak_mb"] - baseline_mb < 100, result


def test_ten_thousand_entries_are_capped_and_the_cap_is_recorded(newsroom: DemoNewsroom, db: Path) -> None:
    from newswatch.feeds import MAX_ENTRIES_PER_FEED

    url = serve(newsroom, "/long.rss", rss("".join(item(f"Item {i}", guid=f"long-{i}") for i in range(10_000))))
    report = poll_stage(db, [FeedSource(url)], FAST)
    assert report.new_entries == MAX_ENTRIES_PER_FEED
    failures, note = feed_state(db, url)
    assert failures == 0 and "10000 entries" in note and str(MAX_ENTRIES_PER_FEED) in note


def test_duplicate_guids_missing_links_and_dates_and_relative_links(newsroom: DemoNewsroom, db: Path) -> None:
    page = serve(newsroom, "/rel/story.html", ARTICLE, "text/html; charset=utf-8")
    long_text = "Relatives of abductees taken by North Korea rallied in Tokyo for their return. " * 4
    items = (
        item("First copy", guid="dup-1", description=long_text)
        + item("Second copy, same guid", guid="dup-1", description=long_text)
        + item("No link, no date", guid="nolink-1", description=long_text)
        + item("Relative link", "/rel/story.html", date="Mon, 23 Nov 2026 08:00:00 +0900")
        + item("Odd date", guid="odd-1", date="the day after tomorrow", description=long_text)
        + item("Future date", guid="future-1", date="Sat, 01 Jan 2039 00:00:00 GMT", description=long_text)
    )
    url = serve(newsroom, "/mixed.rss", rss(items))
    poll_stage(db, [FeedSource(url)], FAST)
    fetch_stage(db, FAST)
    got = {e["title"]: e for e in entries(db)}
    assert "Second copy, same guid" not in got and got["First copy"]["key"] == "guid:dup-1"
    assert got["No link, no date"]["link"] is None and got["No link, no date"]["published_at"] is None
    assert got["No link, no date"]["status"] == "extracted"  # from the feed's own text
    assert got["No link, no date"]["error"] == "entry has no link; using the feed's text"
    assert got["Relative link"]["link"] == page and got["Relative link"]["status"] == "extracted"
    assert got["Odd date"]["published_at"] is None and got["Future date"]["published_at"] is None


def test_validators_that_change_on_every_request_do_not_re_add_entries(newsroom: DemoNewsroom, db: Path) -> None:
    counter = {"n": 0}

    def route(h):
        counter["n"] += 1
        return 200, {"Content-Type": "application/rss+xml", "ETag": f'"v{counter["n"]}"',
                     "Last-Modified": f"Mon, 23 Nov 2026 00:00:{counter['n'] % 60:02d} GMT"}, rss(item("Same", guid="s-1"))

    url = newsroom.add_route(OUTLET, "/shifty.rss", route)
    first = poll_stage(db, [FeedSource(url)], FAST, force=True)
    second = poll_stage(db, [FeedSource(url)], FAST, force=True)
    assert first.new_entries == 1 and second.new_entries == 0 and second.feeds_unchanged == 1


# -- pages -------------------------------------------------------------------------------------


def page_errors(newsroom: DemoNewsroom, db: Path, pages: dict[str, str], settings: FetchSettings = FAST) -> dict[str, dict]:
    """Serve a feed linking to *pages* (name → URL), run poll and fetch, return name → entry."""
    items = "".join(item(name, link, description="Short teaser.") for name, link in pages.items())
    feed = serve(newsroom, "/pages.rss", rss(items))
    poll_stage(db, [FeedSource(feed)], settings)
    fetch_stage(db, settings)
    return {e["title"]: e for e in entries(db)}


def test_http_errors_content_types_and_redirect_chains_are_recorded(newsroom: DemoNewsroom, db: Path) -> None:
    pages = {
        "missing": serve(newsroom, "/p/404.html", b"no", "text/html", 404),
        "gone": serve(newsroom, "/p/410.html", b"gone", "text/html", 410),
        # On hosts of their own: a long Retry-After defers the rest of that host's pages.
        "busy": serve(newsroom, "/p/503.html", b"busy", "text/html", 503, {"Retry-After": "120"}, outlet="asia-wire"),
        "slow down": serve(newsroom, "/p/429.html", b"slow", "text/html", 429, {"Retry-After": "90"},
                           outlet="policy-review"),
        "broken": serve(newsroom, "/p/500.html", b"oops", "text/html", 500),
        "pdf": serve(newsroom, "/p/doc.pdf", b"%PDF-1.4 ...", "application/pdf"),
        "image": serve(newsroom, "/p/photo.jpg", b"\xff\xd8\xff\xe0", "image/jpeg"),
        "chain": serve(newsroom, "/p/hop0", b"", "text/html", 302, {"Location": "/p/hop1"}),
    }
    for i in range(1, 12):
        serve(newsroom, f"/p/hop{i}", b"", "text/html", 302, {"Location": f"/p/hop{i + 1}"})
    got = page_errors(newsroom, db, pages)
    assert got["missing"]["error"] == "HTTP 404" and got["missing"]["status"] == "failed"
    assert got["gone"]["error"] == "HTTP 410"
    assert got["busy"]["error"] == "HTTP 503 (Retry-After 120s)" and got["busy"]["status"] == "pending"
    assert got["slow down"]["error"] == "HTTP 429 (Retry-After 90s)" and got["slow down"]["status"] == "pending"
    assert got["broken"]["error"] == "HTTP 500" and got["broken"]["status"] == "pending"
    assert got["pdf"]["error"] == "unsupported content type application/pdf"
    assert got["image"]["error"] == "unsupported content type image/jpeg"
    assert got["chain"]["error"] == "more than 5 redirects"
    # Every failed page left a row in the failures view with its reason.
    assert rows(db, "SELECT count(*) FROM fetch_failures WHERE error IS NOT NULL")[0][0] == len(pages)


def test_slow_drip_and_endless_bodies_are_cut_at_the_deadline(newsroom: DemoNewsroom, db: Path) -> None:
    def drip() -> Iterator[bytes]:
        for _ in range(600):
            yield b"<"
            time.sleep(1)

    def endless() -> Iterator[bytes]:
        while True:
            yield b"<p>more</p>" * 50
            time.sleep(0.05)

    pages = {"drip": serve(newsroom, "/p/drip.html", drip, "text/html"),
             "endless": serve(newsroom, "/p/endless.html", endless, "text/html")}
    settings = FetchSettings(min_gap=0.01, retries=0, deadline=3, read_timeout=2, max_page_bytes=50_000_000)
    started = time.monotonic()
    got = page_errors(newsroom, db, pages, settings)
    elapsed = time.monotonic() - started
    assert elapsed < 3 + 5, f"the fetch took {elapsed:.1f}s with a 3 s deadline"
    assert got["drip"]["error"] == "no complete response within 3s"
    assert got["endless"]["error"] == "no complete response within 3s"


def test_a_gzip_bomb_is_stopped_at_the_size_cap_with_memory_bounded(newsroom: DemoNewsroom, tmp_path: Path,
                                                                    baseline_mb: float) -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * (1 << 20)
    bomb = b"".join(packer.compress(zeros) for _ in range(512)) + packer.flush()  # 512 MB unpacked
    assert len(bomb) < 5_000_000
    link = serve(newsroom, "/p/bomb.html", bomb, "text/html", headers={"Content-Encoding": "gzip"})
    feed = serve(newsroom, "/bomb.rss", rss(item("bomb", link)))
    db = tmp_path / "w.duckdb"
    result = stages_in_child(db, feed, fetch=True)
    assert result["failed"] == 1
    (error,) = rows(db, "SELECT error FROM entry")[0]
    assert error.startswith("too large: body exceeds")
    assert result["peak_mb"] - baseline_mb < 100, result


def test_invalid_utf8_and_pages_without_an_article(newsroom: DemoNewsroom, db: Path) -> None:
    broken = ARTICLE.replace(b"Paragraph 3", b"Paragraph \xff\xfe 3")
    pages = {"invalid utf-8": serve(newsroom, "/p/bad-utf8.html", broken, "text/html; charset=utf-8"),
             "no article": serve(newsroom, "/p/empty.html", b"<html><body><nav><a href='/'>Home</a></nav></body></html>",
                                 "text/html")}
    got = page_errors(newsroom, db, pages)
    assert got["invalid utf-8"]["status"] == "extracted"
    text = rows(db, "SELECT text FROM entry WHERE title = 'invalid utf-8'")[0][0]
    assert "Paragraph 7" in text and "relatives of Japanese citizens" in text
    assert got["no article"]["status"] == "failed"
    assert got["no article"]["error"] == "no article text on the page, and the feed's text is too short to use"


def test_a_long_retry_after_defers_the_hosts_other_pages_to_the_next_cycle(newsroom: DemoNewsroom, db: Path) -> None:
    pages = {"busy": serve(newsroom, "/p/busy.html", b"busy", "text/html", 503, {"Retry-After": "3600"}),
             **{f"later {i}": serve(newsroom, f"/p/later{i}.html", ARTICLE, "text/html") for i in range(4)}}
    settings = FetchSettings(min_gap=0.01, retries=0, per_host=1)
    started = time.monotonic()
    got = page_errors(newsroom, db, pages, settings)
    assert time.monotonic() - started < 20  # not an hour
    deferred = [g for name, g in got.items() if name != "busy" and g["error"]
                and g["error"].startswith("deferred: the host asked us to wait")]
    assert deferred and all(g["status"] == "pending" for g in deferred)


def test_a_page_with_a_100000_node_dom_is_bounded(newsroom: DemoNewsroom, tmp_path: Path, baseline_mb: float) -> None:
    filler = "".join(f"<div class='c'><span>{i}</span><a href='/x/{i}'>link</a><i>.</i><b>.</b></div>"
                     for i in range(20_000))  # 100,000 elements
    body = ARTICLE.replace(b"</article>", b"</article>" + filler.encode())
    link = serve(newsroom, "/p/dom.html", body, "text/html; charset=utf-8")
    feed = serve(newsroom, "/dom.rss", rss(item("dom", link)))
    db = tmp_path / "w.duckdb"
    result = stages_in_child(db, feed, fetch=True)
    assert result["extracted"] == 1
    assert "relatives of Japanese citizens" in rows(db, "SELECT text FROM entry")[0][0]
    assert result["peak_mb"] - baseline_mb < 400, result


def test_links_to_private_addresses_on_other_hosts_are_refused(newsroom: DemoNewsroom, db: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # The feed is on 127.0.0.1; its links point to (or redirect to) 127.0.0.2, another
    # host on a loopback address: refused, unless the user allows it.
    target = serve(newsroom, "/internal/secret.html", ARTICLE, "text/html")
    other_host = target.replace("127.0.0.1", "127.0.0.2")
    pages = {"direct": other_host,
             "redirected": serve(newsroom, "/p/jump", b"", "text/html", 302, {"Location": other_host})}
    got = page_errors(newsroom, db, pages)
    for name in pages:
        assert got[name]["status"] == "failed"
        assert got[name]["error"] == ("refused: 127.0.0.2 resolves to the non-public address 127.0.0.2; "
                                      "add it to NEWSWATCH_ALLOW_PRIVATE to allow it")
    assert not [r for r in newsroom.requests_for(OUTLET, "/internal/secret.html")]

    # Allowed: the same link reaches a server listening on 127.0.0.2.
    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(ARTICLE)))
            self.end_headers()
            self.wfile.write(ARTICLE)

        def log_message(self, *args: object) -> None:
            pass

    with ThreadingHTTPServer(("127.0.0.2", 0), Page) as internal:
        threading.Thread(target=internal.serve_forever, daemon=True).start()
        link = f"http://127.0.0.2:{internal.server_address[1]}/secret.html"
        monkeypatch.setenv("NEWSWATCH_ALLOW_PRIVATE", "127.0.0.0/8")
        db2 = db.with_name("allowed.duckdb")
        allowed = page_errors(newsroom, db2, {"allowed": link}, FetchSettings(min_gap=0.01, retries=0))
        internal.shutdown()
    assert allowed["allowed"]["status"] == "extracted"


def test_the_rest_of_the_run_goes_on(newsroom: DemoNewsroom, db: Path) -> None:
    """Every hostile page at once, next to a good one: the good one is stored."""
    good = serve(newsroom, "/p/good.html", ARTICLE, "text/html; charset=utf-8")
    pages = {"good": good,
             "missing": serve(newsroom, "/p/404.html", b"no", "text/html", 404),
             "pdf": serve(newsroom, "/p/doc.pdf", b"%PDF", "application/pdf"),
             "loop": serve(newsroom, "/p/loop", b"", "text/html", 302, {"Location": "/p/loop"})}
    page_errors(newsroom, db, pages)
    report = store_stage(db)
    assert report.articles_stored == 1
    assert rows(db, "SELECT url FROM articles") == [(good,)]


# -- secrets --------------------------------------------------------------------------------------


def test_credentials_in_feed_urls_stay_out_of_logs_reports_digests_and_errors(
        newsroom: DemoNewsroom, db: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from newswatch.digest import fix_digest
    from newswatch.pipeline import run_cycle
    from newswatch.report import summary_markdown, summary_text
    from newswatch.urls import redact

    assert redact("http://reader:hunter2@host/a?api_key=k3y&x=1") == "http://reader:***@host/a?api_key=***&x=1"
    locked = serve(newsroom, "/private.rss", b"members only", "text/plain", 401)
    secret_feed = locked.replace("http://", "http://reader:hunter2@") + "?token=t0ken-value"
    # A redirect whose target carries a secret, to a loop: the error names the URL.
    looping = serve(newsroom, "/looping.rss", b"", "text/html", 302,
                    {"Location": "/looping.rss?access_token=t0ken-value"})
    serve(newsroom, "/looping.rss?access_token=t0ken-value", b"", "text/html", 302, {"Location": "/looping.rss"})
    with caplog.at_level(logging.DEBUG):
        summary = run_cycle(db, [FeedSource(secret_feed, None), FeedSource(looping, None)],
                            FetchSettings(min_gap=0.01, retries=0), progress=lambda *a: None)
    assert summary.poll.feeds_failed == 2
    said = [caplog.text, summary_text(summary, str(db)), summary_markdown(summary, str(db)),
            json.dumps(rows(db, "SELECT last_error FROM feeds"), default=str)]
    digest = fix_digest(db)
    assert digest is not None
    said += [digest["text_body"], digest["html_body"], digest["markdown"]]
    for text in said:
        assert "hunter2" not in text and "t0ken-value" not in text
    assert any("reader:***@" in text for text in said)
    assert "HTTP 401" in rows(db, "SELECT last_error FROM feeds WHERE url = ?", [secret_feed])[0][0]
