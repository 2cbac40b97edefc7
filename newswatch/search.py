"""Search tokens that work for English, Japanese and Korean.

DuckDB's fts extension drops every non-Latin character with its default
settings. We index our own token column instead: Latin words as they are
(after NFKC and case folding), and runs of CJK characters as overlapping
character bigrams, since Japanese and Korean have no spaces to split on (and
Korean particles stick to the nouns). A query is tokenised the same way and
all its tokens must match.
"""

from __future__ import annotations

import re
from typing import Any

from monitors.engine import MARK_CLOSE, MARK_OPEN, compile_terms, find_snippet
from newswatch.passages import passage
from newswatch.textnorm import CJK_CHARS, kana_fold, normalize

_CJK_RUN = re.compile(f"[{CJK_CHARS}]+")


def tokens(text: str) -> list[str]:
    out: list[str] = []
    for word in kana_fold(normalize(text)).split():
        if word.isascii():  # no CJK run in it: most words of an English text
            out.append(word)
            continue
        pos = 0
        for m in _CJK_RUN.finditer(word):
            if m.start() > pos:
                out.append(word[pos:m.start()])
            run = m.group()
            out.extend([run] if len(run) == 1 else [run[i:i + 2] for i in range(len(run) - 1)])
            pos = m.end()
        if pos < len(word):
            out.append(word[pos:])
    return out


def document(title: str | None, text: str | None) -> str:
    """The token string stored for an article; the title counts twice."""
    return " ".join(tokens(f"{title or ''}\n{title or ''}\n{text or ''}"))


# -- result snippets ------------------------------------------------------------------------

#: Characters of context the engine gives on each side of the first hit; the passage shown
#: is then cut from it to PASSAGE_UNITS (about 30 English words, 60 Japanese characters).
_CONTEXT = 160


def query_terms(query: str) -> list[str]:
    """The words of a query as it was typed; a run of Japanese or Korean stays whole."""
    return [w for w in query.split() if normalize(w)]


def result_snippet(text: str | None, query: str, title: str | None = None) -> str:
    """A few lines of *text* around the first place the query occurs, each occurrence marked ⟦so⟧.

    The query's words are looked for as the alert rules look for terms (whole words in Latin
    script, inside unspaced text in Japanese and Korean); failing that, its character pairs
    (a Japanese or Korean word split by other characters); failing that (the words are in the
    title only), the text's beginning. A text that begins with its *title* is read after it:
    the headline is shown anyway.
    """
    text = " ".join((text or "").split())
    title = " ".join((title or "").split())
    if title and text.startswith(title):
        text = text[len(title):].lstrip()
    for terms in (query_terms(query), tokens(query)):
        group = compile_terms(terms, "the search query")
        found = find_snippet(text, group, _CONTEXT, _CONTEXT) if group else None
        if found:
            return passage(found)
    return passage(text[:2 * _CONTEXT] + ("…" if len(text) > 2 * _CONTEXT else "")) if text else ""


def plain(snippet: str) -> str:
    """A marked snippet for a terminal: ⟦term⟧ as [term]."""
    return snippet.replace(MARK_OPEN, "[").replace(MARK_CLOSE, "]")


def result_lines(hits: list[dict[str, Any]], query: str) -> list[str]:
    """Search results for a terminal: per hit, its headline, outlet and date, link, and snippet."""
    lines: list[str] = []
    for n, h in enumerate(hits, 1):
        about = [h["source"] or "unknown outlet"]
        if h["published"]:
            about.append(f"{h['published']:%Y-%m-%d}")
        about += [f"story {h['story_id']}", f"score {h['score']:.2f}"]
        if lines:
            lines.append("")
        lines += [f"{n}. {' '.join((h['title'] or '(no headline)').split())}",
                  "   " + " · ".join(about),
                  f"   {h['url']}"]
        snippet = plain(result_snippet(h.get("text"), query, h["title"]))
        if snippet:
            lines.append(f"   {snippet}")
    return lines
