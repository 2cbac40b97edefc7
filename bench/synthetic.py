"""A synthetic news web for benchmarks: H hosts on 127.0.0.1, each with RSS and Atom
feeds and article pages of realistic weight (30–200 KB: menus, scripts, related
links, comments), a share of syndicated copies across hosts and of off-topic
items, and a configurable latency per request.

Pages are generated on request, deterministically from (seed, article number),
from sentences of the demo newsroom's articles and the seeds, so the text is
real English, Japanese and Korean prose about the beat (or off it).
"""

from __future__ import annotations

import hashlib
import html
import random
import re
import threading
import time
from dataclasses import dataclass
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from newswatch.demo.build import ARTICLES_DIR, read_article
from newswatch.opml import FeedSource
from newswatch.seeds import load_seeds

_SENTENCE = re.compile(r"(?<=[.!?。！？다])\s+")


@lru_cache(maxsize=1)
def corpus() -> dict[tuple[str, str], list[str]]:
    """(language, on|off) → sentences."""
    pools: dict[tuple[str, str], list[str]] = {}
    for path in sorted(ARTICLES_DIR.glob("*.md")):
        meta, paragraphs = read_article(path)
        for p in paragraphs:
            if p.startswith("## "):
                continue
            for s in _SENTENCE.split(p):
                if len(s) > 20:
                    pools.setdefault((meta["lang"], meta["topic"]), []).append(s.strip())
    for seed in load_seeds():
        for s in _SENTENCE.split(seed.text.replace("\n\n", " ")):
            if len(s) > 40:
                pools.setdefault(("en", "on"), []).append(s.strip())
    return pools


@dataclass(frozen=True)
class Article:
    number: int
    host: int
    lang: str
    topic: str
    title: str
    paragraphs: tuple[str, ...]
    published: datetime
    copy_of: int | None = None  # the original's number, for syndicated copies


class SyntheticWeb:
    def __init__(self, hosts: int = 40, articles: int = 1000, latency: float = 0.1, jitter: float = 0.05,
                 syndicated: float = 0.15, off_topic: float = 0.3, seed: int = 7):
        self.hosts, self.n, self.latency, self.jitter = hosts, articles, latency, jitter
        self.syndicated, self.off_topic, self.seed = syndicated, off_topic, seed
        self.servers: list[ThreadingHTTPServer] = []
        self.requests = 0
        self.bytes_sent = 0
        self._lock = threading.Lock()
        self.articles = [self._article(i) for i in range(articles)]
        self.by_host: dict[int, list[Article]] = {}
        for a in self.articles:
            self.by_host.setdefault(a.host, []).append(a)

    # -- content -----------------------------------------------------------------

    def _article(self, i: int) -> Article:
        rng = random.Random(self.seed * 1_000_003 + i)
        host = i % self.hosts
        published = datetime(2026, 11, 20, tzinfo=timezone.utc) - timedelta(minutes=17 * i)
        if i > 10 and rng.random() < self.syndicated:
            orig = self._article(rng.randrange(0, i))
            if orig.copy_of is None and orig.host != host:
                body = orig.paragraphs[:-1] if len(orig.paragraphs) > 3 else orig.paragraphs
                return Article(i, host, orig.lang, orig.topic, f"{orig.title} (republished)", body, published, orig.number)
        lang = rng.choices(["en", "ja", "ko"], weights=[70, 15, 15])[0]
        topic = "off" if rng.random() < self.off_topic else "on"
        pool = corpus().get((lang, topic)) or corpus()[("en", topic)]
        paragraphs = []
        for _ in range(rng.randint(6, 12)):
            paragraphs.append(" ".join(rng.choice(pool) for _ in range(rng.randint(2, 4))))
        lead = f"Report {i}: " if lang == "en" else f"第{i}報 " if lang == "ja" else f"제{i}보 "
        paragraphs[0] = lead + paragraphs[0]
        title = (lead + rng.choice(pool))[:110]
        return Article(i, host, lang, topic, title, tuple(paragraphs), published)

    def page(self, a: Article) -> bytes:
        rng = random.Random(self.seed * 7_919 + a.number)
        target = rng.randint(30_000, 200_000)
        others = self.by_host.get(a.host, [])
        nav = "".join(f'<li><a href="/section/{k}">Section {k}</a></li>' for k in range(rng.randint(20, 60)))
        teasers = "".join(f'<li><a href="/news/{o.number}.html">{html.escape(o.title)}</a></li>'
                          for o in rng.sample(others, min(8, len(others))))
        body = "".join(f"<p>{html.escape(p)}</p>" for p in a.paragraphs)
        comments = "".join(f'<div class="comment"><b>reader{k}</b><p>{html.escape(rng.choice(corpus()[("en", "off")]))}</p></div>'
                           for k in range(rng.randint(3, 15)))
        head = (f'<!DOCTYPE html><html lang="{a.lang}"><head><meta charset="utf-8"><title>{html.escape(a.title)}</title>'
                f'<meta property="og:site_name" content="Synthetic Host {a.host}">'
                f'<meta property="article:published_time" content="{a.published.isoformat()}"></head><body>'
                f'<header><nav><ul>{nav}</ul></nav></header><main><article><h1>{html.escape(a.title)}</h1>{body}</article>'
                f'<aside><h3>Most read</h3><ul>{teasers}</ul></aside><section class="comments">{comments}</section></main>'
                f'<footer><p>© 2026 Synthetic Host {a.host}</p></footer>')
        filler = max(0, target - len(head) - 40)
        blob = hashlib.sha256(str(a.number).encode()).hexdigest() * (filler // 64 + 1)
        return (head + f'<script>window.__STATE__="{blob[:filler]}";</script></body></html>').encode()

    def feed(self, host: int, kind: str, base: str) -> bytes:
        items = [a for k, a in enumerate(self.by_host.get(host, [])) if (k % 2 == 0) == (kind == "rss")]
        if kind == "rss":
            entries = "".join(
                f"<item><title>{html.escape(a.title)}</title><link>{base}/news/{a.number}.html</link>"
                f"<guid isPermaLink='false'>syn-{a.number}</guid><pubDate>{format_datetime(a.published)}</pubDate>"
                f"<description>{html.escape(a.paragraphs[0][:200])}</description></item>" for a in items)
            return f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Host {host}</title>{entries}</channel></rss>".encode()
        entries = "".join(
            f"<entry><title>{html.escape(a.title)}</title><link href='{base}/news/{a.number}.html'/>"
            f"<id>tag:syn,2026:{a.number}</id><updated>{a.published.isoformat()}</updated>"
            f"<summary>{html.escape(a.paragraphs[0][:200])}</summary></entry>" for a in items)
        return (f"<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'><title>Host {host}</title>"
                f"<id>tag:syn,2026:{host}</id><updated>2026-11-20T00:00:00Z</updated>{entries}</feed>").encode()

    # -- serving -------------------------------------------------------------------

    def start(self) -> "SyntheticWeb":
        web = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                host = self.server.host_index  # type: ignore[attr-defined]
                base = self.server.base  # type: ignore[attr-defined]
                if web.latency:
                    time.sleep(max(0.0, web.latency + random.uniform(-web.jitter, web.jitter)))
                path = urlsplit(self.path).path
                status, ctype, body = 404, "text/plain", b"not found"
                if path in ("/rss.xml", "/atom.xml"):
                    status, ctype, body = 200, "application/xml", web.feed(host, path[1:-4], base)
                elif path.startswith("/news/") and path.endswith(".html"):
                    number = int(path[6:-5]) if path[6:-5].isdigit() else -1
                    if 0 <= number < web.n and web.articles[number].host == host:
                        status, ctype, body = 200, "text/html; charset=utf-8", web.page(web.articles[number])
                etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                if status == 200 and self.headers.get("If-None-Match") == etag:
                    status, body = 304, b""
                with web._lock:
                    web.requests += 1
                    web.bytes_sent += len(body)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        for h in range(self.hosts):
            srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            srv.daemon_threads = True
            srv.host_index = h  # type: ignore[attr-defined]
            srv.base = f"http://127.0.0.1:{srv.server_address[1]}"  # type: ignore[attr-defined]
            threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
            self.servers.append(srv)
        return self

    def stop(self) -> None:
        for srv in self.servers:
            srv.shutdown()
            srv.server_close()

    def __enter__(self) -> "SyntheticWeb":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def feeds(self) -> list[FeedSource]:
        return [FeedSource(f"{srv.base}/{kind}.xml", f"Host {i} {kind}")  # type: ignore[attr-defined]
                for i, srv in enumerate(self.servers) for kind in ("rss", "atom")]

    def page_urls(self) -> list[str]:
        return [f"{self.servers[a.host].base}/news/{a.number}.html" for a in self.articles]  # type: ignore[attr-defined]
