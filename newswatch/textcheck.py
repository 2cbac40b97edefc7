"""Does an extracted text look like the article it should be? A pure check, no HTML.

Extractors fail on real pages in a few recognisable ways: on a page whose
article is short in characters (Japanese, Korean) inside heavy chrome they
return a rail of other stories' headlines and blurbs; with strict settings
they keep only a reprint or copyright notice. Both outputs have little to do
with the headline and the feed's summary of the entry, and a teaser rail has
the shape of a list: many short lines that read like headlines.

``check_text`` says whether a candidate passes, and why not; its score ranks
candidates that all fail.

Tokens: Latin words lower-cased; Japanese and Korean characters one by one
(``content_tokens``, used for measuring overlap), or as character pairs
(``key_tokens``, used to relate a text to its headline, since single kana or
Hangul syllables are in every text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitors.engine import fold_text
from newswatch.textnorm import CJK_CHAR, CJK_CHARS, is_list_item, is_prose_line

_TOKEN = re.compile(f"[{CJK_CHARS}]|[^\\W{CJK_CHARS}_]+", re.UNICODE)
_KEY = re.compile(f"[{CJK_CHARS}]+|[^\\W{CJK_CHARS}_]+", re.UNICODE)
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.I)

#: Short function words that relate any two English texts.
_STOP = frozenset("""the and for with that this from are was were has have had its his her their our you your
not but all can will would been into out over after before about than then them they she him who what when
where which while why how more most also just new says said say""".split())

#: Thresholds, set by measurement (bench/extraction_quality.py and the article-extraction benchmark).
MIN_RELATED = 0.2  # share of the headline's (or summary's) key tokens found in the text
TEASER_LINES = 4  # a teaser list has at least this many lines…
TEASER_SHARE = 0.4  # …of which at least this share read like headlines


def _fold(text: str) -> str:
    """The rules' folding (case, width, kana, Unicode forms; punctuation to spaces)."""
    return fold_text(text)


def content_tokens(text: str) -> list[str]:
    """Latin words (lower-cased) and single Japanese/Korean characters; no spaces, no punctuation."""
    return _TOKEN.findall(_fold(text))


def key_tokens(text: str) -> set[str]:
    """Distinct words of three letters or more (minus function words) and CJK character pairs; web
    addresses left out (a notice's link can spell out the headline)."""
    keys: set[str] = set()
    for run in _KEY.findall(_fold(_URL.sub(" ", text))):
        if CJK_CHAR.match(run):
            keys.update([run] if len(run) == 1 else (run[i:i + 2] for i in range(len(run) - 1)))
        elif len(run) >= 3 and run not in _STOP and not run.isdigit():
            keys.add(run)
    return keys


def coverage(part: str | None, whole_keys: set[str]) -> float | None:
    """Share of *part*'s key tokens found among *whole_keys* (None when *part* has none)."""
    keys = key_tokens(part or "")
    if not keys:
        return None
    return len(keys & whole_keys) / len(keys)


def _headline_like(line: str) -> bool:
    """A list item, or a line that does not read as prose: how teasers and labels look."""
    return is_list_item(line) or not is_prose_line(line)


@dataclass(frozen=True)
class TextCheck:
    ok: bool
    reason: str | None  # why it fails: no text, headline only, teaser list, unrelated to the headline
    related: float | None  # the better of headline and summary coverage (None: nothing to relate to)
    headline_lines: float  # share of lines that read like headlines
    lines: int

    @property
    def score(self) -> float:
        """For ranking candidates that all fail: related, and not list-shaped."""
        related = 0.5 if self.related is None else self.related
        return related - (0.5 * self.headline_lines if self.lines >= TEASER_LINES else 0.0)


def check_text(text: str | None, headline: str | None = None, summary: str | None = None) -> TextCheck:
    """Whether *text* reads as the article that *headline* and the feed's *summary* announce.

    Fails as "headline only" when every key token of *text* is in *headline*
    (a page whose body was lost); as "teaser list" when the text is list-shaped (at least four lines, 40%
    of them list items or short and without a sentence's end) and less than
    twice ``MIN_RELATED`` of the headline's or summary's key tokens are in it;
    as "unrelated to the headline" when less than ``MIN_RELATED`` (a fifth) are.
    With neither headline nor summary, only the shape is checked.
    """
    lines = [ln for ln in (text or "").splitlines() if ln.strip()]
    if not lines:
        return TextCheck(False, "no text", None, 0.0, 0)
    share = sum(map(_headline_like, lines)) / len(lines)
    keys = key_tokens(text or "")
    if headline and keys and keys <= key_tokens(headline):
        return TextCheck(False, "headline only", 1.0, share, len(lines))
    found = [c for c in (coverage(headline, keys), coverage(summary, keys)) if c is not None]
    related = max(found) if found else None
    list_shaped = len(lines) >= TEASER_LINES and share >= TEASER_SHARE
    if list_shaped and (related is None or related < 2 * MIN_RELATED):
        return TextCheck(False, "teaser list", related, share, len(lines))
    if related is not None and related < MIN_RELATED:
        return TextCheck(False, "unrelated to the headline", related, share, len(lines))
    return TextCheck(True, None, related, share, len(lines))

