"""Main-text extraction with trafilatura, with a fallback to the feed's text.

Pages are decoded before they get here, by ``newswatch.charset``; their chrome
is removed by structure (``newswatch.boilerplate``) before trafilatura runs.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from newswatch.boilerplate import Chrome, prune_chrome
from newswatch.textcheck import TextCheck, check_text
from newswatch.textnorm import detect_language, substantial

log = logging.getLogger(__name__)

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", ""})
_LANG_ATTR = re.compile(rb"""<html[^>]*\blang\s*=\s*["']?([A-Za-z]{2})""", re.I)


@dataclass(frozen=True)
class Extracted:
    text: str | None
    title: str | None
    author: str | None
    date: datetime | None
    site_name: str | None
    language: str | None
    method: str | None  # the extractor whose text was kept: trafilatura, trafilatura-recall, …
    error: str | None = None
    fallback_reason: str | None = None  # why the first extractor's text was not kept (or kept anyway)
    removed: tuple[str, ...] = ()  # with explain=True: each block of chrome removed, why, and how it began

    @property
    def method_note(self) -> str | None:
        """The method with the reason for a fallback, as stored: "trafilatura-recall (teaser list)"."""
        if self.method and self.fallback_reason:
            return f"{self.method} ({self.fallback_reason})"
        return self.method


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when


#: The first extractor, then those tried in order when its text fails the check.
#: favor_precision and tables kept: the best of trafilatura's settings on the
#: article-extraction benchmark (README, "Extraction quality"). All run on the
#: page without its chrome (``newswatch.boilerplate``) but the last, which runs
#: on the whole page: a net for a page whose article itself looked like chrome.
PRIMARY = "trafilatura"
FALLBACKS = ("trafilatura-recall", "trafilatura-baseline", "trafilatura-whole")
_OPTIONS = {
    "trafilatura": {"favor_precision": True},
    "trafilatura-whole": {"favor_precision": True},
    "trafilatura-default": {},
    "trafilatura-recall": {"favor_recall": True},
}


def _candidate(page: object, url: str, method: str, fast: bool) -> str | None:
    """One extractor's text of *page* (markup, or a parsed tree that is left unchanged)."""
    import trafilatura

    if method == "trafilatura-baseline":
        _, text, _ = trafilatura.baseline(page)
    else:
        text = trafilatura.extract(page, url=url, include_comments=False, include_tables=True, fast=fast,
                                   with_metadata=False, **_OPTIONS[method])
    return (text or "").strip() or None


def keep_best(candidates: Iterable[tuple[str, str | None]], headline: str | None,
              summary: str | None) -> tuple[str, str, str | None]:
    """(method, text, reason for a fallback) from (method, text) candidates in order of preference.

    The first candidate is kept when it passes ``check_text``; otherwise the next
    ones are drawn (lazily: a generator runs extractors only when needed) until
    one passes. When none does, the best by the check's score is kept, the
    earliest on a tie, and the reason says so.
    """
    best: tuple[TextCheck, str, str] | None = None
    first_reason = None
    for method, text in candidates:
        text = (text or "").strip()
        verdict = check_text(text, headline, summary)
        if best is None:
            first_reason = verdict.reason
            if verdict.ok:
                return method, text, None
        if verdict.ok:
            return method, text, first_reason
        if best is None or verdict.score > best[0].score:
            best = (verdict, method, text)
    if best is None:
        return PRIMARY, "", None
    return best[1], best[2], f"{first_reason}; no candidate passed"


def extract_page(html: str, url: str, *, headline: str | None = None, summary: str | None = None,
                 fast: bool = False, fallbacks: tuple[str, ...] = FALLBACKS, prune: bool = True,
                 explain: bool = False) -> Extracted:
    """The main text and metadata of one page, checked against its headline and the feed's summary.

    The page is parsed once and its chrome removed (``newswatch.boilerplate``;
    *prune* False keeps it). trafilatura runs first (favor_precision, tables
    kept). Its text is checked (``newswatch.textcheck.check_text``) against
    *headline* (the feed entry's title, else the page's own) and *summary*;
    when it fails, the *fallbacks* are tried in order and the first that
    passes is kept; when none passes, the best by the check's score (the first
    extractor on a tie). ``fallback_reason`` says why the first text was not
    kept, or that no candidate passed. "trafilatura-whole" runs on the page
    with its chrome, and only when something was removed.
    """
    import trafilatura  # imported on first use (0.4 s): a cycle with nothing new never needs it
    from trafilatura.utils import load_html

    try:
        tree = load_html(html)  # parsed once, pruned here; each extractor works on its own copy
        removed = prune_chrome(tree) if tree is not None and prune else []
        page = tree if tree is not None else html
        doc = trafilatura.bare_extraction(
            page, url=url, with_metadata=True, include_comments=False, include_tables=True, fast=fast,
            **_OPTIONS[PRIMARY],
        )
        headline = headline or (doc.title if doc is not None else None)
        first = (doc.text if doc is not None else None) or ""
        others = ((m, _candidate(html if m == "trafilatura-whole" else page, url, m, fast))
                  for m in fallbacks if removed or m != "trafilatura-whole")  # run only when needed
        method, text, reason = keep_best(itertools.chain([(PRIMARY, first)], others), headline, summary)
        if reason:
            log.debug("%s: %s text failed the check (%s); kept %s", url, PRIMARY, reason, method)
    except (ValueError, TypeError, RecursionError) as exc:  # lxml chokes on some markup
        return Extracted(None, None, None, None, None, None, None, error=f"extraction failed: {exc}")
    text = text.strip() or None
    if doc is None and text is None:
        return Extracted(None, None, None, None, None, None, None, error="no main text found")
    language = doc.language if doc is not None else None
    if not language:
        m = _LANG_ATTR.search(html[:2048].encode("utf-8", "ignore"))
        language = m.group(1).decode().lower() if m else None
    if text and not language:
        language = detect_language(text)
    return Extracted(
        text=text, title=doc.title if doc is not None else None, author=doc.author if doc is not None else None,
        date=_parse_date(doc.date) if doc is not None else None, site_name=doc.sitename if doc is not None else None,
        language=language, method=method if text else None, fallback_reason=reason if text else None,
        removed=tuple(_describe(block) for block in removed) if explain else (),
    )


def _describe(block: Chrome) -> str:
    """"teaser rail: G7 leaders meet in …": a removed block, for people reading what was kept."""
    words = " ".join(" ".join(block.element.itertext()).split())
    return f"{block.reason}: {words[:70] + '…' if len(words) > 70 else words or '(no text)'}"


def choose_text(page: Extracted | None, feed_text: str | None) -> tuple[str | None, str | None]:
    """(text, method): the page's text when substantial, else the longer of page and feed text.

    The method is the page's ``method_note`` (extractor and fallback reason) or "feed-content".
    """
    page_text = page.text if page else None
    page_method = page.method_note if page else None
    if substantial(page_text):
        return page_text, page_method
    candidates = [(page_text, page_method), (feed_text, "feed-content")]
    candidates = [(t, m) for t, m in candidates if t]
    if not candidates:
        return None, None
    text, method = max(candidates, key=lambda c: len(c[0]))
    return text, method
