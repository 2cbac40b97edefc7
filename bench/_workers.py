"""Processes the benchmark times separately.

    python bench/_workers.py newswatch FEEDS.opml DB GAP [--warm]
    python bench/_workers.py flow FEEDS.opml DB GAP
    python bench/_workers.py naive FEEDS.opml DB

Each prints one JSON line with its counts and its own timings.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

STARTED = time.perf_counter()
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _counts(s) -> dict:
    return {"stored": s.store.articles_stored, "fetched": s.fetch.pages_fetched, "duplicates": s.store.duplicates,
            "off_topic": s.store.off_topic, "alerts": s.alerts.raised, "feeds_polled": s.poll.feeds_polled,
            "feeds_unchanged": s.poll.feeds_unchanged, "bytes": s.poll.bytes_received + s.fetch.bytes_received}


def newswatch_cycle(feeds: str, db: str, gap: float, warm: bool) -> dict:
    """The cycle as plain functions; ``cycle_seconds`` leaves out interpreter start and imports."""
    from newswatch.fetch import FetchSettings
    from newswatch.opml import read_opml
    from newswatch.pipeline import run_cycle

    imported = time.perf_counter()
    s = run_cycle(Path(db), read_opml(feeds), FetchSettings(min_gap=gap), progress=lambda *a: None, force=warm)
    return {**_counts(s), "cycle_seconds": time.perf_counter() - imported, "start_seconds": imported - STARTED}


def flow_cycle(feeds: str, db: str, gap: float) -> dict:
    """The same cycle through the Prefect flow, as ``newswatch run`` runs it (flows/api.py).

    The server is started first (a child process, the API only) and timed apart,
    with a flow that does nothing: a deployment served by ``newswatch serve``
    pays that once, not per cycle. Inside the monitor flow, the time spent in
    the stage functions is measured; the rest of the flow's wall time is
    Prefect's share.
    """
    from newswatch import pipeline, settings

    settings.prefect_defaults()
    from prefect import flow

    import flows.monitor as monitor_flow
    from flows.api import prefect_api

    work = {"seconds": 0.0}

    def timed(fn):
        def run(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                work["seconds"] += time.perf_counter() - t0
        return run

    # The flow's tasks run pipeline.STAGES, whose functions call these by name.
    for name in ("load_seeds_stage", "poll_stage", "fetch_stage", "store_stage", "alert_stage", "immediate_stage",
                 "record_cycle"):
        setattr(pipeline, name, timed(getattr(pipeline, name)))

    @flow(name="warm-up")
    def warm_up() -> None:
        return None

    t0 = time.perf_counter()
    with prefect_api():
        warm_up()
        server = time.perf_counter() - t0
        t0 = time.perf_counter()
        summary = monitor_flow.monitor(feeds=feeds, db=db, host_gap=gap)
        wall = time.perf_counter() - t0
    return {"stored": summary["store"]["articles_stored"], "fetched": summary["fetch"]["pages_fetched"],
            "server_start_seconds": server, "flow_seconds": wall, "stage_seconds": work["seconds"],
            "prefect_seconds": wall - work["seconds"],
            "server_imported": "prefect.server.api.server" in sys.modules}


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
    seen: set[str] = set()
    with httpx.Client(timeout=30) as client:
        for source in read_opml(feeds):
            parsed = feedparser.parse(client.get(source.url).content)
            for entry in parsed.entries:
                if entry.link in seen:  # the same article in two feeds of one site
                    continue
                seen.add(entry.link)
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
    elif kind == "flow":
        result = flow_cycle(args[0], args[1], float(args[2]))
    else:
        result = naive(args[0], args[1])
    print(json.dumps(result))
