"""Main-text extraction with trafilatura, with a fallback to the feed's text.

Pages are decoded before they get here, by ``newswatch.charset``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone

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
    method: str | None
    error: str | None = None


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


def extract_page(html: str, url: str, *, fast: bool = False) -> Extracted:
    """trafilatura's main text and metadata for one page."""
    import trafilatura  # imported on first use (0.4 s): a cycle with nothing new never needs it

    try:
        doc = trafilatura.bare_extraction(
            html, url=url, with_metadata=True, include_comments=False, include_tables=False,
            favor_precision=True, fast=fast,
        )
    except (ValueError, TypeError, RecursionError) as exc:  # lxml chokes on some markup
        return Extracted(None, None, None, None, None, None, None, error=f"extraction failed: {exc}")
    if doc is None:
        return Extracted(None, None, None, None, None, None, None, error="no main text found")
    text = (doc.text or "").strip() or None
    language = doc.language
    if not language:
        m = _LANG_ATTR.search(html[:2048].encode("utf-8", "ignore"))
        language = m.group(1).decode().lower() if m else None
    if text and not language:
        language = detect_language(text)
    return Extracted(
        text=text, title=doc.title, author=doc.author, date=_parse_date(doc.date),
        site_name=doc.sitename, language=language, method="trafilatura" if text else None,
    )


def choose_text(page: Extracted | None, feed_text: str | None) -> tuple[str | None, str | None]:
    """(text, method): the page's text when substantial, else the longer of page and feed text."""
    page_text = page.text if page else None
    if substantial(page_text):
        return page_text, "trafilatura"
    candidates = [(page_text, "trafilatura"), (feed_text, "feed-content")]
    candidates = [(t, m) for t, m in candidates if t]
    if not candidates:
        return None, None
    text, method = max(candidates, key=lambda c: len(c[0]))
    return text, method
