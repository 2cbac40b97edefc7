"""Feed polling: conditional GET, a body hash, feedparser, and backoff.

The charset of a feed is settled by ``newswatch.charset``, as for pages; when
feedparser would read the bytes otherwise, it is handed the text as UTF-8.

``poll_feed`` turns one feed's stored state and one HTTP exchange into the
feed's new state and the entries it lists. Nothing here touches the
warehouse; the caller stores the results in one transaction.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import feedparser

from newswatch import charset
from newswatch.fetch import TRANSIENT, UNREACHABLE, Fetcher
from newswatch.opml import FeedSource
from newswatch.urls import canonical_url, feed_url_problem, redact

log = logging.getLogger(__name__)

BACKOFF_BASE = timedelta(minutes=5)
BACKOFF_MAX = timedelta(hours=24)
POLL_MIN = timedelta(minutes=10)
POLL_MAX = timedelta(hours=24)
DEFAULT_ITEM_INTERVAL = timedelta(hours=1)
MAX_ENTRIES_PER_FEED = 2000
FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/rdf+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"

_TAG = re.compile(r"<[^>]+>")
# feedparser's complaints about the charset: settled by newswatch.charset instead, and noted.
_CHARSET_BOZO = (feedparser.CharacterEncodingOverride, feedparser.CharacterEncodingUnknown)


@dataclass
class PollResult:
    url: str
    state: dict[str, Any]  # the feed row to store
    entries: list[dict[str, Any]] = field(default_factory=list)
    outcome: str = "ok"  # ok | unchanged | failed
    warning: str | None = None
    failure: str | None = None  # when failed: bad-url | network (no answer at all) | feed (an answer, not a feed)


def parse_feed(body: bytes, content_type: str, location: str | None = None) -> tuple[Any, str | None]:
    """feedparser's reading of a feed, in the charset ``newswatch.charset`` settles on.

    A feed whose bytes feedparser reads as its declarations say, and the same
    as we do, is parsed as it is. Otherwise (no declaration and not UTF-8, a
    declaration that does not fit the bytes, UTF-8 declared as something else)
    feedparser is handed our text as UTF-8, declared as such. Returns the
    parsed feed and a note when the charset was not simply the declared one
    ("charset not declared; detected Shift_JIS"), else None.
    """
    decoded = charset.decode(body, content_type, markup="xml")
    headers = {"content-type": content_type}
    if location:
        headers["content-location"] = location
    if not decoded.detected:
        parsed = feedparser.parse(body, response_headers=headers)
        if charset.reading(body, parsed.get("encoding")) == decoded.text:
            if isinstance(parsed.get("bozo_exception"), _CHARSET_BOZO):
                parsed["bozo"], parsed["bozo_exception"] = False, None
            return parsed, decoded.note
    utf8_headers = {**headers, "content-type": charset.with_charset(content_type, "utf-8")}
    parsed = feedparser.parse(charset.as_utf8_xml(decoded.text), response_headers=utf8_headers)
    return parsed, decoded.note


def html_to_text(value: str | None) -> str:
    if not value:
        return ""
    text = _TAG.sub(" ", value)
    text = html.unescape(text)
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


def _entry_time(entry: Any) -> datetime | None:
    # dict.get: feedparser's own get() maps a missing updated_parsed to published_parsed, with a warning.
    parsed = dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")
    if not parsed:
        return None
    try:
        when = datetime.fromtimestamp(calendar.timegm(parsed), tz=timezone.utc)
    except (OverflowError, ValueError, OSError):
        return None
    # A date far in the future is a publisher's mistake, not a fact.
    if when > datetime.now(timezone.utc) + timedelta(days=2):
        return None
    return when


def entry_rows(parsed: Any, feed_url: str, now: datetime) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for entry in parsed.entries[:MAX_ENTRIES_PER_FEED]:
        link = (entry.get("link") or "").strip() or None
        guid = (entry.get("id") or "").strip() or None
        if not link and not guid:
            log.info("Skipping an entry without link or id in %s: %r", redact(feed_url), entry.get("title"))
            continue
        canonical = canonical_url(link) if link else None
        content = ""
        if entry.get("content"):
            content = max((html_to_text(c.get("value")) for c in entry.content), key=len, default="")
        summary = html_to_text(entry.get("summary"))
        rows.append(
            {
                "entry_key": canonical or f"guid:{guid}",
                "feed_url": feed_url,
                "guid": guid,
                "link": link,
                "canonical_url": canonical,
                "title": html_to_text(entry.get("title")) or None,
                "author": entry.get("author") or None,
                "summary": (content if len(content) > len(summary) else summary) or None,
                "published_at": _entry_time(entry),
                "discovered_at": now,
            }
        )
    return rows


def item_interval(dates: list[datetime]) -> float | None:
    """The median gap between a feed's entry dates, in seconds (None: too few dates)."""
    ordered = sorted(set(dates))
    gaps = [(b - a).total_seconds() for a, b in zip(ordered, ordered[1:])]
    gaps = [g for g in gaps if g > 0]
    if len(gaps) < 2:
        return None
    gaps.sort()
    return gaps[len(gaps) // 2]


def _max_age(cache_control: str | None) -> float | None:
    for part in (cache_control or "").split(","):
        name, _, value = part.strip().partition("=")
        if name.lower() == "max-age" and value.strip().isdigit():
            return float(value)
    return None


def server_min_interval(parsed: Any, headers: dict[str, str]) -> float | None:
    """The longest wait the server asks for: RSS <ttl> (minutes) or Cache-Control max-age."""
    waits = []
    ttl = str(parsed.feed.get("ttl") or "").strip() if parsed is not None else ""
    if ttl.isdigit():
        waits.append(float(ttl) * 60)
    max_age = _max_age(headers.get("cache-control"))
    if max_age:
        waits.append(max_age)
    return max(waits) if waits else None


def next_poll_delay(state: dict[str, Any], now: datetime) -> timedelta:
    """When to poll a healthy feed again, from its own rhythm, within bounds.

    Half the feed's usual gap between items, longer when it has been quiet
    for a while, never sooner than its TTL or max-age, between 10 minutes
    and a day.
    """
    interval = state.get("item_interval_s") or DEFAULT_ITEM_INTERVAL.total_seconds()
    delay = interval / 2
    last_new = state.get("last_new_item_at")
    if last_new is not None:
        delay = max(delay, (now - last_new).total_seconds() / 4)
    if state.get("min_interval_s"):
        delay = max(delay, state["min_interval_s"])
    return min(POLL_MAX, max(POLL_MIN, timedelta(seconds=delay)))


def backoff(failures: int) -> timedelta:
    return min(BACKOFF_MAX, BACKOFF_BASE * (2 ** max(0, failures - 1)))


async def poll_feed(fetcher: Fetcher, source: FeedSource, state: dict[str, Any] | None) -> PollResult:
    state = dict(state or {})
    now = datetime.now(timezone.utc)
    new_state = {
        "url": source.url,
        "title": state.get("title") or source.title,
        "etag": state.get("etag"),
        "last_modified": state.get("last_modified"),
        "body_hash": state.get("body_hash"),
        "last_polled_at": now,
        "last_success_at": state.get("last_success_at"),
        "last_new_item_at": state.get("last_new_item_at"),
        "last_status": None,
        "consecutive_failures": state.get("consecutive_failures") or 0,
        "last_error": None,
        "next_poll_at": None,
        "item_interval_s": state.get("item_interval_s"),
        "min_interval_s": state.get("min_interval_s"),
        "polls": (state.get("polls") or 0) + 1,
        "charset_note": state.get("charset_note"),  # kept until the feed is read again
    }
    headers = {"Accept": FEED_ACCEPT}
    if state.get("etag"):
        headers["If-None-Match"] = state["etag"]
    if state.get("last_modified"):
        headers["If-Modified-Since"] = state["last_modified"]

    def failed(error: str, *, retry_after: float | None = None, kind: str = "feed") -> PollResult:
        failures = new_state["consecutive_failures"] + 1
        wait = backoff(failures)
        if retry_after is not None:
            wait = max(wait, min(timedelta(seconds=retry_after), BACKOFF_MAX))
        error = redact(error)
        new_state.update(consecutive_failures=failures, last_error=error, next_poll_at=now + wait)
        # Info, not a warning: the cycle's summary lists each failing feed once, with this reason.
        log.info("Feed %s failed (%d in a row): %s", redact(source.url), failures, error)
        return PollResult(source.url, new_state, outcome="failed", failure=kind)

    bad_url = feed_url_problem(source.url)
    if bad_url:
        return failed(f"bad feed URL: {bad_url}", kind="bad-url")
    result = await fetcher.get(source.url, headers=headers, max_bytes=fetcher.settings.max_feed_bytes,
                               origin=source.url)
    new_state["last_status"] = result.status
    if result.error:
        network = result.status is None and result.error_kind in (TRANSIENT, UNREACHABLE)
        return failed(result.error, retry_after=result.retry_after, kind="network" if network else "feed")
    if result.status == 304:
        new_state.update(consecutive_failures=0, last_success_at=now,
                         min_interval_s=server_min_interval(None, result.headers) or new_state["min_interval_s"])
        return PollResult(source.url, new_state, outcome="unchanged")
    if result.status != 200:
        return failed(f"unexpected HTTP {result.status}")

    body = result.body or b""
    digest = hashlib.sha256(body).hexdigest()
    new_state.update(
        etag=result.headers.get("etag"),
        last_modified=result.headers.get("last-modified"),
        body_hash=digest,
    )
    if digest == state.get("body_hash"):
        new_state.update(consecutive_failures=0, last_success_at=now,
                         min_interval_s=server_min_interval(None, result.headers) or new_state["min_interval_s"])
        return PollResult(source.url, new_state, outcome="unchanged")
    if not body.strip():
        return failed("empty response body")

    parsed, charset_note = parse_feed(body, result.headers.get("content-type", "application/xml"), result.final_url)
    if not parsed.entries and (parsed.bozo or not parsed.version):
        if not parsed.version and result.content_type in ("text/html", "application/xhtml+xml"):
            return failed(f"not a feed: {result.content_type} page at {result.final_url}")
        reason = parsed.get("bozo_exception")
        return failed(f"malformed feed: {reason}" if reason else "not an RSS or Atom feed")
    notes = []
    if parsed.bozo:
        notes.append(f"feed parsed despite errors: {parsed.get('bozo_exception')}")
    if len(parsed.entries) > MAX_ENTRIES_PER_FEED:
        notes.append(f"the feed lists {len(parsed.entries)} entries; only the first {MAX_ENTRIES_PER_FEED} are read")
    warning = "; ".join(notes) or None
    if warning:
        log.info("Feed %s: %s", redact(source.url), warning)
    if charset_note:
        log.info("Feed %s: %s", redact(source.url), charset_note)
    title = html_to_text(parsed.feed.get("title")) or None
    entries = entry_rows(parsed, source.url, now)
    new_state.update(
        title=source.title or title or new_state["title"],
        consecutive_failures=0,
        last_success_at=now,
        last_error=warning,
        item_interval_s=item_interval([e["published_at"] for e in entries if e["published_at"]])
        or new_state["item_interval_s"],
        min_interval_s=server_min_interval(parsed, result.headers),
        charset_note=charset_note,
    )
    return PollResult(source.url, new_state, entries=entries, warning=warning)
