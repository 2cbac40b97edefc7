"""Child of bench/feed_charsets.py: poll a list of feed URLs with whichever newswatch
is importable (PYTHONPATH) and write what the reader made of each, as JSON.

Besides the entries the reader keeps (those with a link or an id), it records
what feedparser read for the reader, every entry included: the last parse of
each feed is the one the reader used.

    python bench/_read_feeds.py URLS.json OUT.json
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys


async def read_all(urls: list[str]) -> dict[str, dict]:
    import feedparser

    from newswatch.feeds import html_to_text, poll_feed
    from newswatch.fetch import Fetcher, FetchSettings
    from newswatch.opml import FeedSource

    parsed: dict[str, dict] = {}
    parse = feedparser.parse

    def recording_parse(data, *args, **kwargs):
        result = parse(data, *args, **kwargs)
        headers = kwargs.get("response_headers") or {}
        parsed[headers.get("content-location")] = {
            "feed_title": html_to_text(result.feed.get("title")) or None,
            "entries": [[html_to_text(e.get("title")), html_to_text(e.get("summary"))] for e in result.entries],
        }
        return result

    feedparser.parse = recording_parse

    settings = FetchSettings(min_gap=0.0, retries=0, per_host=8, respect_robots=False)
    async with Fetcher(settings) as fetcher:
        results = await asyncio.gather(*(poll_feed(fetcher, FeedSource(url), None) for url in urls))
    return {
        r.url: {
            "outcome": r.outcome,
            "error": r.state.get("last_error"),
            "charset_note": r.state.get("charset_note"),
            "feed_title": r.state.get("title"),
            "entries": [[e["title"], e["summary"]] for e in r.entries],
            "parsed": parsed.get(r.url),  # served without redirects: the final URL is the URL
        }
        for r in results
    }


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    urls = json.loads(open(sys.argv[1], encoding="utf-8").read())
    with open(sys.argv[2], "w", encoding="utf-8") as out:
        json.dump(asyncio.run(read_all(urls)), out, ensure_ascii=False)


if __name__ == "__main__":
    main()
