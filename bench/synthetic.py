"""A synthetic news web for benchmarks: H hosts on loopback addresses, each with RSS and Atom
feeds (two main feeds and three section feeds) and article pages of realistic weight (30–200 KB: menus, scripts, related
links, comments), a share of syndicated copies across hosts and of off-topic
items, and a configurable latency per request.

Pages are generated on request, deterministically from (seed, article number),
from sentences of the demo newsroom's articles and the seeds, so the text is
real English, Japanese and Korean prose about the beat (or off it).
"""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import os
import random
import re
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from bench.pages import Teaser, heavy_page
from newswatch.demo.build import ARTICLES_DIR, read_article
from newswatch.opml import FeedSource, write_opml
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


FEEDS = ("rss", "atom", "politics", "world", "asia")  # per host: 40 hosts, 200 feeds
SECTIONS = FEEDS[2:]


def host_address(h: int) -> str:
    """The loopback address of synthetic host *h*."""
    return f"127.0.{1 + h // 250}.{1 + h % 250}"


def host_name(h: int) -> str:
    """The name of synthetic host *h*, under the .test domain reserved for testing (RFC 6761)."""
    return f"news{h:03d}.test"


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
        self._responses: dict[tuple[int, str], tuple[str, bytes, str]] = {}
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
        """A news page as publishers serve them: the article is a small part of the markup.

        The chrome (bench/pages.py's ``heavy_page``, in English) shows the host's
        other stories in its rails, cards and inline state, and brings the page to
        a weight of 30–200 KB.
        """
        teasers = [Teaser(o.title, o.paragraphs[0], f"/news/{o.number}.html", o.published)
                   for o in self.by_host.get(a.host, []) or [a]]
        return heavy_page(a.title, a.paragraphs, a.published, a.lang, seed=self.seed * 7_919 + a.number,
                          chrome_language="en", teasers=teasers, site=f"Synthetic Host {a.host}",
                          url=f"/news/{a.number}.html").encode()

    def feed(self, host: int, kind: str, base: str) -> bytes:
        """The host's main feeds split its articles (RSS: even, Atom: odd); each section
        feed (RSS) repeats a third of them, as section feeds do on real sites."""
        mine = self.by_host.get(host, [])
        if kind in SECTIONS:
            items = [a for k, a in enumerate(mine) if k % len(SECTIONS) == SECTIONS.index(kind)]
        else:
            items = [a for k, a in enumerate(mine) if (k % 2 == 0) == (kind == "rss")]
        if kind != "atom":
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

    def _render(self, base: dict[int, str]) -> None:
        """Every response, gzipped (as news sites serve them), made before any request:
        the server's own CPU time should not weigh on what is measured."""
        def entry(ctype: str, body: bytes) -> tuple[str, bytes, str]:
            return ctype, gzip.compress(body, 6, mtime=0), '"' + hashlib.sha1(body).hexdigest()[:16] + '"'

        for h in range(self.hosts):
            for kind in FEEDS:
                self._responses[(h, f"/{kind}.xml")] = entry("application/xml", self.feed(h, kind, base[h]))
        for a in self.articles:
            self._responses[(a.host, f"/news/{a.number}.html")] = entry("text/html; charset=utf-8", self.page(a))

    def start(self) -> "SyntheticWeb":
        web = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                host = self.server.host_index  # type: ignore[attr-defined]
                if web.latency:
                    time.sleep(max(0.0, web.latency + random.uniform(-web.jitter, web.jitter)))
                found = web._responses.get((host, urlsplit(self.path).path))
                status, ctype, body, etag = (200, *found) if found else (404, "text/plain", b"not found", None)
                gzipped = found is not None and "gzip" in self.headers.get("Accept-Encoding", "")
                if found and not gzipped:
                    body = gzip.decompress(body)
                if etag and self.headers.get("If-None-Match") == etag:
                    status, body = 304, b""
                with web._lock:
                    web.requests += 1
                    web.bytes_sent += len(body)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                if etag:
                    self.send_header("ETag", etag)
                if gzipped and body:
                    self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        for h in range(self.hosts):
            # One name and loopback address per host (all of 127.0.0.0/8 is loopback),
            # so that every tool sees distinct hosts, as on the real web.
            srv = ThreadingHTTPServer((host_address(h), 0), Handler)
            srv.daemon_threads = True
            srv.host_index = h  # type: ignore[attr-defined]
            srv.base = f"http://{host_name(h)}:{srv.server_address[1]}"  # type: ignore[attr-defined]
            self.servers.append(srv)
        self._render({h: srv.base for h, srv in enumerate(self.servers)})  # type: ignore[attr-defined]
        for srv in self.servers:
            threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.25}, daemon=True).start()
        return self

    def stop(self) -> None:
        for srv in self.servers:
            srv.shutdown()
            srv.server_close()

    def __enter__(self) -> "SyntheticWeb":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def body(self, a: Article) -> bytes:
        """The page of article *a* as served (rendered once, at start), uncompressed."""
        return gzip.decompress(self._responses[(a.host, f"/news/{a.number}.html")][1])

    def host_table(self) -> dict[str, str]:
        """Host name → loopback address, for bench/_hosts/sitecustomize.py."""
        return {host_name(h): host_address(h) for h in range(self.hosts)}

    def feeds(self) -> list[FeedSource]:
        return [FeedSource(f"{srv.base}/{kind}.xml", f"Host {i} {kind}")  # type: ignore[attr-defined]
                for i, srv in enumerate(self.servers) for kind in FEEDS]

    @classmethod
    @contextmanager
    def served(cls, hosts: int, articles: int, latency: float) -> Iterator[tuple["SyntheticWeb", Path, Path, dict[str, str]]]:
        """A web of *articles* on *hosts* served for the block (each request *latency* s, jitter half of it),
        with its files in a temporary folder: (web, folder, feed list, environment for measured processes)."""
        print(f"building the synthetic web ({articles} articles on {hosts} hosts) …", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory() as tmp, cls(hosts, articles, latency, latency / 2) as web:
            folder = Path(tmp)
            opml, resolving = web.write_files(folder)
            yield web, folder, opml, resolving

    def write_files(self, folder: Path) -> tuple[Path, dict[str, str]]:
        """The feed list (``folder/feeds.opml``), and the environment variables with which a
        measured process resolves the synthetic host names (bench/_hosts/sitecustomize.py) and
        writes its messages to ``folder/outbox``."""
        opml = folder / "feeds.opml"
        write_opml(opml, "synthetic", self.feeds())
        hosts_file = folder / "hosts.json"
        hosts_file.write_text(json.dumps(self.host_table()))
        path = os.pathsep.join(filter(None, [str(Path(__file__).parent / "_hosts"), os.environ.get("PYTHONPATH")]))
        return opml, {"PYTHONPATH": path, "NEWSWATCH_BENCH_HOSTS": str(hosts_file),
                      "NEWSWATCH_OUTBOX": str(folder / "outbox")}
