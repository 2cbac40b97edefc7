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

from newswatch.textnorm import CJK_CHARS, kana_fold, normalize

_CJK_RUN = re.compile(f"[{CJK_CHARS}]+")


def tokens(text: str) -> list[str]:
    out: list[str] = []
    for word in kana_fold(normalize(text)).split():
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
