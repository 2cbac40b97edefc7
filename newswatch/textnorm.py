"""Text normalisation shared by deduplication, relevance and (later) rules.

``normalize`` folds Unicode compatibility forms (full-width letters, half-width
kana), letter case, punctuation and white space, so that two copies of one
text that differ only in such details normalise to the same string.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
#: Kana and CJK ideographs: Japanese and Chinese, written without spaces between words.
UNSPACED_CHARS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
#: Hangul: Korean, whose words are separated by spaces.
HANGUL_CHARS = "\uac00-\ud7af\u1100-\u11ff\u3130-\u318f"
#: Kana, CJK ideographs and Hangul.
CJK_CHARS = UNSPACED_CHARS + HANGUL_CHARS
#: One character of those scripts.
CJK_CHAR = re.compile(f"[{CJK_CHARS}]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(f"[{HANGUL_CHARS}]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """NFKC, case-folded, punctuation to spaces, white space collapsed; idempotent."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    # casefold can produce new compatibility sequences; normalise once more.
    folded = unicodedata.normalize("NFKC", folded)
    return " ".join(_NON_WORD.sub(" ", folded).split())


_KATAKANA_TO_HIRAGANA = {code: code - 0x60 for code in range(0x30A1, 0x30F7)}


def kana_fold(text: str) -> str:
    """Katakana to hiragana, so that ヨコタ and よこた are one word."""
    return text.translate(_KATAKANA_TO_HIRAGANA)


def text_hash(text: str) -> str:
    """sha256 of the normalised text: equal for copies that differ in form only."""
    return hashlib.sha256(normalize(text).encode("utf-8")).hexdigest()


def detect_language(text: str) -> str | None:
    """Guess en, ja or ko from the script of *text*; None when it cannot tell."""
    sample = text[:5000]
    kana = len(_KANA.findall(sample))
    hangul = len(_HANGUL.findall(sample))
    cjk = len(CJK_CHAR.findall(sample))
    latin = len(_LATIN_WORD.findall(sample))
    if hangul >= 20 and hangul >= kana:
        return "ko"
    if kana >= 10 or (cjk >= 50 and hangul < 20):
        return "ja"
    if latin >= 20:
        return "en"
    return None


def cjk_ratio(text: str) -> float:
    """Share of CJK characters among the non-space characters of *text*."""
    if text.isascii() or not CJK_CHAR.search(text, 0, 5000):  # most lines of an English text
        return 0.0
    sample = _SPACE.sub("", text[:5000])
    if not sample:
        return 0.0
    return len(CJK_CHAR.findall(sample)) / len(sample)


def substantial(text: str | None, *, min_latin: int = 400, min_cjk: int = 150) -> bool:
    """Whether *text* is long enough to be an article rather than a teaser."""
    if not text:
        return False
    stripped = text.strip()
    limit = min_cjk if cjk_ratio(stripped) > 0.3 else min_latin
    return len(stripped) >= limit


#: Where one sentence ends and the next may begin (the end of a line always ends one). A full
#: stop after an initial or a common abbreviation ("U.S.", "Mr.", "Sept.") ends nothing. The
#: lookahead first keeps the lookbehinds to the few positions before a stop (20 times faster).
_ABBREVIATIONS = ("Mr", "Mrs", "Ms", "Dr", "St", "No", "Gen", "Lt", "Col", "Sgt", "Rep", "Sen", "Gov", "Prof",
                  "Jr", "Sr", "vs", "Jan", "Feb", "Mar", "Apr", "Aug", "Sept", "Sep", "Oct", "Nov", "Dec")
SENTENCE_BREAK = re.compile(
    r"(?=[.!?。！？])(?<!\.[A-Z])(?<!\b[A-Z])" + "".join(rf"(?<!\b{a})" for a in _ABBREVIATIONS)
    + r"[.!?。！？]+(?=[\s\"”’')\]」』]|$)|[。！？\n]"
)
_ENDS_SENTENCE = re.compile(r"(?:[.!?。！？…]|-0-)[\s\"'”’」』)）]*$|[\"'”’]$")
_LIST_MARK = re.compile(r"^\s*(?:[-–—•·*]|\d{1,2}[.)])\s+")


def ends_sentence(line: str) -> bool:
    """Whether *line* ends as a sentence does (closing quotes and brackets allowed after the stop)."""
    return bool(_ENDS_SENTENCE.search(line))


def is_list_item(line: str) -> bool:
    return bool(_LIST_MARK.match(line))


def is_prose_line(line: str) -> bool:
    """Whether a line of plain text reads as prose rather than a menu item, a label or a teaser.

    Prose is long enough (12 words, or 40 CJK characters) or a sentence of at
    least 6 words (15 CJK characters). List markers are ignored.
    """
    line = _LIST_MARK.sub("", line.strip()).strip()
    if not line:
        return False
    if cjk_ratio(line) > 0.3:
        return len(line) >= 40 or (len(line) >= 15 and ends_sentence(line))
    words = len(line.split())
    return words >= 12 or (words >= 6 and ends_sentence(line))


def strip_plaintext_chrome(text: str) -> str:
    """Drop menu, teaser and footer lines from a plain-text page capture.

    Seed files are saved pages, site chrome included; a line is kept when it
    reads as prose (``is_prose_line``). Order is preserved.
    """
    lines = (_LIST_MARK.sub("", line.strip()).strip() for line in text.splitlines())
    return "\n\n".join(line for line in lines if is_prose_line(line))
