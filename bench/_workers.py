"""Processes the benchmark times separately: a newswatch cycle, and a naive baseline.

    python bench/_workers.py newswatch FEEDS.opml DB GAP [--warm]
    python bench/_workers.py naive FEEDS.opml DB

Each prints one JSON line with its counts.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def newswatch_cycle(feeds: str, db: str, gap: float, warm: bool) -> dict:
    from newswatch.fetch import FetchSettings
    from newswatch.opml import read_opml
    from newswatch.pipeline import run_cycle

    s = run_cycle(Path(db), read_opml(feeds), FetchSettings(min_gap=gap), progress=lambda *a: None, force=warm)
    return {"stored": s.store.articles_stored, "fetched": s.fetch.pages_fetched, "duplicates": s.store.duplicates,
            "off_topic": s.store.off_topic, "alerts": s.alerts.raised, "feeds_unchanged": s.poll.feeds_unchanged,
            "bytes": s.poll.bytes_received + s.fetch.bytes_received}


def naive(feeds: str, db: str) -> dict:
    """What a user might write first: one feed, one page, one INSERT at a time."""
    import duckdb
    import feedparser
    import httpx
    import trafilatura

    from newswatch.opml import read_opml

    con = duckdb.connect(db)
    con.execute("CREATE TABLE IF NOT EXISTS articles (url TEXT, title TEXT, text TEXT)")
    stored = 0
    with httpx.Client(timeout=30) as client:
        for source in read_opml(feeds):
            parsed = feedparser.parse(client.get(source.url).content)
            for entry in parsed.entries:
                page = client.get(entry.link)
                text = trafilatura.extract(page.text, url=entry.link)
                con.execute("INSERT INTO articles VALUES (?, ?, ?)", [entry.link, entry.get("title"), text])
                stored += 1
    con.close()
    return {"stored": stored}


if __name__ == "__main__":
    kind, *args = sys.argv[1:]
    if kind == "newswatch":
        result = newswatch_cycle(args[0], args[1], float(args[2]), "--warm" in args)
    else:
        result = naive(args[0], args[1])
    print(json.dumps(result))
