"""A marked passage cut to a size people read at a glance, by script.

The rules' engine (``monitors.engine.snippet``) gives a window of text around
what matched, with each term marked ⟦like this⟧ and cut at a character. A
digest entry and a search result show a part of it: as many marked terms as
fit in a budget counted per script, cut between words in English and Korean,
between characters (at a clause when one is near) in Japanese, never inside a
marked term.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitors.engine import MARK_CLOSE, MARK_OPEN
from newswatch.textnorm import CJK_CHAR, UNSPACED_CHARS, ends_sentence

#: How much of the matched passage an entry shows, in units: a word of Latin script
#: counts 2, a Japanese or Chinese character 1, a Korean syllable 1. That is about 30
#: words of English, 60 characters of Japanese, or 60 syllables (15–20 words) of Korean.
PASSAGE_UNITS = 60
_LATIN_WORD_UNITS = 2
#: A Japanese passage may start or end at a clause this many units inside its window.
_CLAUSE_SLACK = 15

_BREAKABLE_CHARS = UNSPACED_CHARS + "\u3000-\u303f\uff00-\uffef"  # scripts that break between any two characters
_BREAKABLE = re.compile(f"[{_BREAKABLE_CHARS}]")
_TOKEN = re.compile(f"{MARK_OPEN}[^{MARK_CLOSE}]*{MARK_CLOSE}|\\s+|[{_BREAKABLE_CHARS}]"
                    f"|[^\\s{_BREAKABLE_CHARS}{MARK_OPEN}{MARK_CLOSE}]+|.", re.S)
_OPENING = set("「『（〈《【〔［｛“‘(")  # never end a line after these
_CLOSING = set("、。，．」』）〉》】〕］｝！？ー々ぁぃぅぇぉっゃゅょァィゥェォッャュョ”’)")  # never start one with these
_CLAUSE_END = set("、。，」』！？")
_WORD_RUN = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class _Atom:
    """The smallest piece a passage is cut into: a word, or one character of unspaced script."""
    start: int
    end: int
    units: int
    marked: bool


def _atoms(text: str) -> list[_Atom]:
    tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text)]
    groups: list[list[tuple[int, int, str]]] = []
    prev: str | None = None
    for start, end, tok in tokens:
        if tok.isspace():
            prev = None
            continue
        glued = prev is not None and not (
            (_BREAKABLE.fullmatch(prev) or _BREAKABLE.fullmatch(tok) or _unspaced_mark(prev) or _unspaced_mark(tok))
            and tok[0] not in _CLOSING and prev[-1] not in _OPENING
        )
        if glued:
            groups[-1].append((start, end, tok))
        else:
            groups.append([(start, end, tok)])
        prev = tok
    atoms = []
    for g in groups:
        piece = text[g[0][0]:g[-1][1]]
        cjk = len(CJK_CHAR.findall(piece))
        words = len(_WORD_RUN.findall(CJK_CHAR.sub(" ", piece)))
        atoms.append(_Atom(g[0][0], g[-1][1], max(1, cjk + _LATIN_WORD_UNITS * words), MARK_OPEN in piece))
    return atoms


def _unspaced_mark(tok: str) -> bool:
    """A marked term in unspaced script: a line may break on either side of it."""
    return tok.startswith(MARK_OPEN) and bool(_BREAKABLE.search(tok))


def passage(snippet: str, units: int = PASSAGE_UNITS) -> str:
    """The part of *snippet* (marked ⟦like this⟧) that an entry shows.

    At most *units* (see PASSAGE_UNITS) around as many marked terms as fit;
    cut between words in spaced scripts (English, Korean) and between
    characters, at a clause where one is near, in Japanese; never inside a
    marked term; "…" where text was left out. Adjacent marks become one.
    """
    text = " ".join(snippet.split()).replace(MARK_CLOSE + MARK_OPEN, "")
    cut_start, cut_end = text.startswith("…"), text.endswith("…")
    text = text.strip("…").strip()
    atoms = _atoms(text)
    if not atoms:
        return text
    lo, hi = 0, len(atoms)  # what may be shown
    # The snippet was cut at a character: its first and last words may be partial.
    if cut_start and not _BREAKABLE.match(text[atoms[0].start]) and not atoms[0].marked and hi - lo > 1:
        lo += 1
    if cut_end and not _BREAKABLE.match(text[atoms[-1].end - 1]) and not atoms[-1].marked and hi - lo > 1:
        hi -= 1
    marked = [i for i in range(lo, hi) if atoms[i].marked] or [lo]
    # The run of marks that fits best: the most marks, the earliest.
    best = (0, marked[0], marked[0])
    for k, first in enumerate(marked):
        used, last = 0, first
        for i in marked[k:]:
            used = sum(a.units for a in atoms[first:i + 1])
            if used > units and i != first:
                break
            last = i
        count = sum(1 for i in marked if first <= i <= last)
        if count > best[0]:
            best = (count, first, last)
    _, a, b = best
    used = sum(x.units for x in atoms[a:b + 1])
    # Context: a third before, the rest after, then whatever side still has text.
    before = (units - used) // 3
    while a > lo and used + atoms[a - 1].units <= units and before - atoms[a - 1].units >= 0:
        a -= 1
        used += atoms[a].units
        before -= atoms[a].units
    while b + 1 < hi and used + atoms[b + 1].units <= units:
        b += 1
        used += atoms[b].units
    while a > lo and used + atoms[a - 1].units <= units:
        a -= 1
        used += atoms[a].units
    first_mark = min((i for i in range(a, b + 1) if atoms[i].marked), default=a)
    last_mark = max((i for i in range(a, b + 1) if atoms[i].marked), default=b)
    # Japanese: start after, and end at, a clause boundary when one is close.
    if a > 0 and _BREAKABLE.match(text[atoms[a].start]):
        dropped = 0
        for i in range(a, first_mark):
            dropped += atoms[i].units
            if dropped > _CLAUSE_SLACK:
                break
            if text[atoms[i].end - 1] in _CLAUSE_END:
                a = i + 1
                break
    if b < len(atoms) - 1 and _BREAKABLE.match(text[atoms[b].end - 1]):
        dropped = 0
        for i in range(b, last_mark, -1):
            if text[atoms[i].end - 1] in _CLAUSE_END:
                b = i
                break
            dropped += atoms[i].units
            if dropped > _CLAUSE_SLACK:
                break
    shown = text[atoms[a].start:atoms[b].end]
    # No "…" where whole sentences were left out.
    lead = (a > 0 or cut_start) and not (a > 0 and ends_sentence(text[:atoms[a].start].rstrip()))
    trail = (b < len(atoms) - 1 or cut_end) and not ends_sentence(shown)
    return ("…" if lead else "") + shown + ("…" if trail else "")



def size(text: str) -> int:
    """How much of a passage's budget *text* takes (see PASSAGE_UNITS)."""
    text = " ".join(text.split()).strip("…")
    return sum(a.units for a in _atoms(text))
