"""How soon an alert "as it happens" reaches the user, under `newswatch serve`.

    python3 bootstrap.py latency [--interval 20] [--items 20] [--feeds 4] [--window 180]

Serves a small synthetic news web on 127.0.0.1 (one feed per host, each on
its own loopback address) whose feeds carry a steady stream of off-topic
items and, at random times, items that the `summit` rule (delivery
"immediate") fires on; runs the real `newswatch serve` command against it
with a short monitor interval, and a real SMTP server on 127.0.0.1 receiving
what it sends. For each summit item it measures the delay from the moment the
item appears in its feed to the moment its message reaches the SMTP server,
and prints a table: items, median and maximum delay, the polling interval,
and median and maximum as a fraction of the interval.

The run is the default schedule compressed in time: the monitor runs every
``--interval`` seconds instead of 15 minutes, and the feed scheduler's bounds
(a feed is polled at most every 10 minutes, a failure backs off 5 minutes…)
are divided by the same factor (900 / interval), through
bench/_hosts/sitecustomize.py. Feeds publish every ``--feed-gap`` seconds
(default 1.5 intervals: about every 22 minutes on the real schedule). Prefect's
own timing (its scheduler and the runner's polling for due runs, a new process
per flow run) is not compressed: at short intervals it weighs more than it
does at 15 minutes.

Writes bench/results/latency.json.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiosmtpd.controller import Controller  # noqa: E402

from bench.pages import clean_page  # noqa: E402
from bench.synthetic import corpus  # noqa: E402
from newswatch.opml import FeedSource, write_opml  # noqa: E402

DEFAULT_INTERVAL = 900.0  # `newswatch serve`'s monitor interval, which the run compresses
LEADERS = ("Prime Minister Sanae Takaichi", "President Donald Trump", "President Vladimir Putin",
           "President Xi Jinping", "President Lee Jae-myung", "Foreign envoys for Prime Minister Takaichi")
PLACES = ("Pyongyang", "Vladivostok", "Panmunjom", "Ulaanbaatar", "Singapore", "Beijing", "Tokyo")
_ITEM = re.compile(r"/news/(\d+)\.html")


@dataclass(frozen=True)
class Item:
    number: int
    feed: int
    offset: float  # seconds after the start of the window (summit items) or absolute time (stream)
    summit: bool
    title: str
    paragraphs: tuple[str, ...]


def summit_item(n: int, feed: int, offset: float) -> Item:
    rng = random.Random(n)
    leader, place = rng.choice(LEADERS), rng.choice(PLACES)
    title = f"Report {n}: {leader} proposes a summit with Kim Jong Un in {place}"
    lead = (f"{leader} is ready to hold a summit with Kim Jong Un in {place}, officials said in report {n}, "
            f"the first such proposal since talks stalled.")
    pool = corpus()[("en", "on")]
    body = [" ".join(rng.choice(pool) for _ in range(rng.randint(2, 4))) for _ in range(rng.randint(5, 8))]
    return Item(n, feed, offset, True, title, (lead, *body))


def stream_item(n: int, feed: int, at: float) -> Item:
    rng = random.Random(n)
    pool = corpus()[("en", "off")]
    body = [" ".join(rng.choice(pool) for _ in range(rng.randint(2, 4))) for _ in range(rng.randint(5, 8))]
    return Item(n, feed, at, False, f"Report {n}: {rng.choice(pool)[:90]}", tuple(body))


class TimedWeb:
    """One feed per host; an item shows in its feed from its time on. Logs every feed request."""

    def __init__(self, feeds: int, summit: list[Item], stream: list[Item]):
        self.n_feeds = feeds
        self.summit, self.stream = summit, stream
        self.items = {i.number: i for i in summit + stream}
        self.window_start: float | None = None  # set when the first cycle has begun
        self.feed_requests: list[tuple[int, float]] = []
        self.lock = threading.Lock()
        self.servers: list[ThreadingHTTPServer] = []

    def appears_at(self, item: Item) -> float | None:
        if not item.summit:
            return item.offset
        return None if self.window_start is None else self.window_start + item.offset

    def visible(self, feed: int, now: float) -> list[tuple[float, Item]]:
        shown = [(t, i) for i in self.items.values() if i.feed == feed
                 and (t := self.appears_at(i)) is not None and t <= now]
        return sorted(shown, key=lambda x: -x[0])[:30]

    def feed_xml(self, feed: int, now: float) -> bytes:
        base = self.base(feed)
        entries = "".join(
            f"<item><title>{escape(i.title)}</title><link>{base}/news/{i.number}.html</link>"
            f"<guid isPermaLink='false'>lat-{i.number}</guid>"
            f"<pubDate>{format_datetime(datetime.fromtimestamp(t, timezone.utc))}</pubDate>"
            f"<description>{escape(i.paragraphs[0][:200])}</description></item>" for t, i in self.visible(feed, now))
        return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Feed {feed}</title>"
                f"<link>{base}/</link>{entries}</channel></rss>").encode()

    def page(self, item: Item) -> bytes:
        date = datetime.fromtimestamp(self.appears_at(item) or time.time(), timezone.utc)
        return clean_page(item.title, item.paragraphs, date, "en", seed=item.number, site=f"Host {item.feed}").encode()

    def base(self, feed: int) -> str:
        host, port = self.servers[feed].server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "TimedWeb":
        web = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                feed, now, path = self.server.feed, time.time(), urlsplit(self.path).path  # type: ignore[attr-defined]
                status, ctype, body = 404, "text/plain", b"not found"
                if path == "/feed.xml":
                    with web.lock:
                        web.feed_requests.append((feed, now))
                    status, ctype, body = 200, "application/rss+xml", web.feed_xml(feed, now)
                elif (m := _ITEM.fullmatch(path)) and int(m.group(1)) in web.items:
                    status, ctype, body = 200, "text/html; charset=utf-8", web.page(web.items[int(m.group(1))])
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        for f in range(self.n_feeds):
            srv = ThreadingHTTPServer((f"127.0.3.{1 + f}", 0), Handler)
            srv.daemon_threads = True
            srv.feed = f  # type: ignore[attr-defined]
            self.servers.append(srv)
            threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.25}, daemon=True).start()
        return self

    def stop(self) -> None:
        for srv in self.servers:
            srv.shutdown()
            srv.server_close()

    def sources(self) -> list[FeedSource]:
        return [FeedSource(f"{self.base(f)}/feed.xml", f"Latency feed {f}") for f in range(self.n_feeds)]


class Mailbox:
    def __init__(self) -> None:
        self.received: list[tuple[float, str, str]] = []  # (time, Message-ID, plain text)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's naming
        at = time.time()
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = msg.get_body(("plain",))
        with self.lock:
            self.received.append((at, str(msg["Message-ID"]).strip(), body.get_content() if body else ""))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interval", type=float, default=20.0, help="monitor interval in seconds (default 20)")
    parser.add_argument("--items", type=int, default=20, help="summit items appearing at random times (default 20)")
    parser.add_argument("--feeds", type=int, default=4, help="feeds, one per host (default 4)")
    parser.add_argument("--window", type=float, default=180.0, help="seconds over which they appear (default 180)")
    parser.add_argument("--feed-gap", type=float, default=None,
                        help="seconds between a feed's items (default 1.5 intervals)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    scale = DEFAULT_INTERVAL / args.interval
    gap = args.feed_gap or 1.5 * args.interval
    rng = random.Random(args.seed)

    started = time.time()
    horizon = args.window + 600.0
    stream, n = [], 10_000
    for f in range(args.feeds):  # a steady stream per feed, from well before the start
        t = started - 8 * gap + rng.uniform(0, gap)
        while t < started + horizon:
            stream.append(stream_item(n, f, t))
            n += 1
            t += gap * rng.uniform(0.7, 1.3)
    summit = [summit_item(k, rng.randrange(args.feeds), rng.uniform(0, args.window)) for k in range(args.items)]

    work = Path(tempfile.mkdtemp(prefix="newswatch-latency-"))
    web = TimedWeb(args.feeds, summit, stream).start()
    mailbox = Mailbox()
    smtp_port = _free_port()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    opml = work / "feeds.opml"
    write_opml(opml, "latency", web.sources())
    db = work / "latency.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API_URL", "NEWSWATCH_"))}
    env.update({
        "PREFECT_HOME": str(work / "prefect-home"),
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "bench" / "_hosts")]),
        "NEWSWATCH_BENCH_TIME_SCALE": f"{scale:g}",
        "NEWSWATCH_SMTP_HOST": "127.0.0.1", "NEWSWATCH_SMTP_PORT": str(smtp_port),
        "NEWSWATCH_SMTP_SECURITY": "none", "NEWSWATCH_MAIL_TO": "analyst@example.org",
    })
    log_path = work / "serve.log"
    print(f"Serving {args.feeds} feeds; `newswatch serve --interval {args.interval:g}` "
          f"(time scale 1:{scale:g}); log: {log_path}", flush=True)
    with open(log_path, "wb") as log:
        serve = subprocess.Popen([sys.executable, "-m", "newswatch.cli", "serve", "--feeds", str(opml), "--db", str(db),
                                  "--outbox", str(work / "outbox"), "--interval", f"{args.interval:g}"],
                                 stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True)
    try:
        deadline = time.time() + 300
        while not web.feed_requests:
            if serve.poll() is not None or time.time() > deadline:
                raise SystemExit(f"serve never polled the feeds (exit {serve.poll()}); see {log_path}")
            time.sleep(0.5)
        web.window_start = time.time() + 5
        print(f"First cycle began {web.feed_requests[0][1] - started:.0f}s after start; "
              f"{args.items} summit items appear over the next {args.window:g}s", flush=True)
        end = web.window_start + args.window + 6 * args.interval + 60
        while time.time() < end:
            if len({_item(text) for _, _, text in mailbox.received} & set(range(args.items))) == args.items:
                time.sleep(args.interval)  # let the cycle that sent the last one finish and record itself
                break
            time.sleep(1)
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        try:
            serve.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
        smtp.stop()
        web.stop()

    delivered: dict[int, list[float]] = {}
    for at, _, text in mailbox.received:
        delivered.setdefault(_item(text), []).append(at)
    rows = []
    for item in summit:
        appeared = web.appears_at(item)
        polls = [t for f, t in web.feed_requests if f == item.feed and t >= appeared]
        got = delivered.get(item.number)
        rows.append({"item": item.number, "feed": item.feed, "appeared_s": round(appeared - web.window_start, 1),
                     "seen_by_poll_s": round(polls[0] - appeared, 1) if polls else None,
                     "poll_to_delivery_s": round(got[0] - polls[0], 1) if got and polls else None,
                     "delay_s": round(got[0] - appeared, 1) if got else None, "messages": len(got or [])})
    delays = [r["delay_s"] for r in rows if r["delay_s"] is not None]
    cycles = _cycles(db)
    result = {
        "interval_s": args.interval, "time_scale": scale, "feeds": args.feeds, "feed_gap_s": gap,
        "items": args.items, "delivered": len(delays),
        "duplicates": sum(max(0, r["messages"] - 1) for r in rows),
        "unexpected_messages": sum(len(v) for k, v in delivered.items() if k not in range(args.items)),
        "median_delay_s": statistics.median(delays) if delays else None, "max_delay_s": max(delays) if delays else None,
        "median_wait_for_poll_s": _median(r["seen_by_poll_s"] for r in rows),
        "median_poll_to_delivery_s": _median(r["poll_to_delivery_s"] for r in rows),
        "cycles": cycles, "items_detail": rows,
    }
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "latency.json").write_text(json.dumps(result, indent=1) + "\n", "utf-8")
    _print(result)
    return 0 if len(delays) == args.items and result["duplicates"] == 0 else 1


def _median(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _item(text: str) -> int:
    m = _ITEM.search(text)
    return int(m.group(1)) if m else -1


def _cycles(db: Path) -> dict:
    import duckdb

    if not db.exists():
        return {"count": 0}
    con = duckdb.connect(str(db), read_only=True)
    try:
        secs = [r[0] for r in con.execute(
            "SELECT epoch(finished_at - started_at) FROM cycle WHERE finished_at IS NOT NULL ORDER BY started_at").fetchall()]
        starts = [r[0] for r in con.execute("SELECT started_at FROM cycle ORDER BY started_at").fetchall()]
    finally:
        con.close()
    gaps = [(b - a).total_seconds() for a, b in zip(starts, starts[1:])]
    return {"count": len(secs), "median_s": round(statistics.median(secs), 1) if secs else None,
            "median_gap_between_starts_s": round(statistics.median(gaps), 1) if gaps else None}


def _print(r: dict) -> None:
    iv = r["interval_s"]
    med, mx = r["median_delay_s"], r["max_delay_s"]
    print()
    print("| items | delivered | median delay | max delay | interval | median / interval | max / interval |")
    print("|---|---|---|---|---|---|---|")
    if med is None:
        print(f"| {r['items']} | 0 | – | – | {iv:g} s | – | – |")
    else:
        print(f"| {r['items']} | {r['delivered']} | {med:.1f} s | {mx:.1f} s | {iv:g} s | {med / iv:.2f} | {mx / iv:.2f} |")
    c = r["cycles"]
    print(f"\nTime scale 1:{r['time_scale']:g} (the feed scheduler's bounds divided by it); feeds publish every "
          f"{r['feed_gap_s']:g}s on average.")
    print(f"Cycles: {c['count']}, median {c.get('median_s')}s each, started every {c.get('median_gap_between_starts_s')}s "
          f"(median). Median from appearance to the poll that saw it: {r['median_wait_for_poll_s']}s; "
          f"from that poll to the SMTP server: {r['median_poll_to_delivery_s']}s.")
    print(f"Duplicate messages: {r['duplicates']}; messages for other items: {r['unexpected_messages']}.")


if __name__ == "__main__":
    sys.exit(main())
