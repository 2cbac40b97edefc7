"""Near-duplicate detection: MinHash over character 5-grams, with LSH, confirmed on exact shingle sets.

Character shingles work for English, Japanese and Korean alike (no word
splitting needed). A new text is compared only with the stored texts that
share at least one LSH band with it, so a lookup does not scan the archive.

Texts are compared on their prose lines (``comparable_text``): menu, teaser
and footer lines that extraction let through are left out, and a text that is
mostly such lines (a page whose extraction returned a teaser list) is never
compared at all.

The MinHash signature only finds candidates. Whether two texts are copies is
decided on their exact shingle sets and paragraphs (``overlap``, ``is_copy``),
when both are long enough to tell (``MIN_CHARS`` of prose, ``MIN_CHARS_CJK``
in Japanese or Korean) and the larger is at most ``MAX_SIZE_RATIO`` times the
smaller (a statement inside a long report that quotes it is not a copy of it):

* their Jaccard similarity is at least ``JACCARD_MIN``: the same text, edited;
* or at least ``CONTAINMENT_MIN`` of the smaller's shingles are in the larger:
  a republication with paragraphs trimmed, or inside other site text;
* or at least ``MIN_SHARED_PARAGRAPHS`` paragraphs, ``PARAGRAPH_SHARE_MIN`` of
  the shorter text, appear verbatim in both: a copy trimmed, reordered and
  wrapped in another site's text, which lowers both measures above.

Short formulaic items (a delegation "arrived" / "left", a few words apart) are
as similar as copies by any shingle measure; the minimum sizes keep them apart,
and shorter texts are grouped only when their normalised texts are equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from newswatch.textnorm import ends_sentence, normalize, strip_plaintext_chrome, substantial, text_hash

SHINGLE = 5
PERMUTATIONS = 128
BANDS = 32
ROWS = PERMUTATIONS // BANDS
JACCARD_MIN = 0.7
CONTAINMENT_MIN = 0.9
#: Paragraphs carried over verbatim: at least two, and this share of the shorter text.
MIN_SHARED_PARAGRAPHS = 2
PARAGRAPH_SHARE_MIN = 0.5
MIN_PARAGRAPH_CHARS = 40
#: Texts shorter than this (characters of prose; Japanese and Korean say more per character) are
#: grouped only when their normalised texts are equal.
MIN_CHARS = 300
MIN_CHARS_CJK = 150
MAX_SIZE_RATIO = 3.0
#: A text is site chrome when at least this many of its lines are not prose …
CHROME_MIN_LINES = 4
#: … and its prose lines hold less than this share of its characters (a short article in heavy chrome is still an article).
CHROME_MAX_PROSE = 0.25

#: How a sentence ends: a full stop, in any script, perhaps inside quotes or brackets (or KCNA's "-0-").

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)
_SEEDS = np.random.default_rng(0x4E57_2026).integers(
    0, 2**63, size=PERMUTATIONS, dtype=np.uint64
)
_PRIME = np.uint64(1_000_003)


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, vectorised: a stable 64-bit scrambling."""
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


#: Permutations computed at once by ``minhash``: a block of shingle hashes that stays in the
#: processor's cache (the whole 128 × n matrix does not, and took twice as long).
_BLOCK = 16
_C1, _C2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)


def minhash(hashes: np.ndarray) -> np.ndarray:
    """The MinHash signature of a set of shingle hashes: for each seed, the least ``_mix(hash ^ seed)``.

    The same as ``_mix(hashes ^ seeds[:, None]).min(axis=1)``, computed _BLOCK seeds at a time
    in two preallocated buffers.
    """
    out = np.empty(PERMUTATIONS, dtype=np.uint64)
    z = np.empty((_BLOCK, len(hashes)), dtype=np.uint64)
    t = np.empty_like(z)
    with np.errstate(over="ignore"):
        for k in range(0, PERMUTATIONS, _BLOCK):
            np.bitwise_xor(hashes[np.newaxis, :], _SEEDS[k:k + _BLOCK, np.newaxis], out=z)
            np.right_shift(z, _S30, out=t)
            z ^= t
            z *= _C1
            np.right_shift(z, _S27, out=t)
            z ^= t
            z *= _C2
            np.right_shift(z, _S31, out=t)
            z ^= t
            z.min(axis=1, out=out[k:k + _BLOCK])
    return out


def comparable_text(text: str) -> str | None:
    """The part of *text* that copies are compared on; None when it is mostly site chrome.

    Its prose lines are kept: lines that ``strip_plaintext_chrome`` keeps and
    that end like a sentence (headlines in teaser rails are often long, but
    rarely end with a full stop). A text with no such line and few lines (a
    one-line summary) is compared whole. A text with many other lines and
    less than half its characters in prose is a teaser list or a menu, not an
    article: pages of one site share it, and it must never make them one story.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    kept = [p for p in strip_plaintext_chrome(text).split("\n\n") if ends_sentence(p)]
    other_lines = len(lines) - len(kept)
    total = sum(len(line) for line in lines)
    if other_lines >= CHROME_MIN_LINES and sum(len(p) for p in kept) < CHROME_MAX_PROSE * total:
        return None
    return "\n\n".join(kept) or text


def shingle_hashes(normalized: str) -> np.ndarray:
    """Distinct 64-bit hashes of the character 5-grams of *normalized*, sorted."""
    codes = np.frombuffer(normalized.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    n = len(codes) - SHINGLE + 1
    if n <= 0:
        codes = np.pad(codes, (0, SHINGLE - len(codes)))
        n = 1
    h = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(SHINGLE):
            h = h * _PRIME + codes[k : k + n]
    return np.unique(h)


@dataclass(frozen=True)
class Comparable:
    """What two texts are compared on: the exact shingle set and the paragraphs of the comparable part."""

    shingles: np.ndarray  # sorted distinct shingle hashes
    paragraphs: dict[str, int]  # normalised paragraph → its length in characters
    length: int  # characters of the normalised comparable text
    substantial: bool  # long enough for near-duplicate evidence (MIN_CHARS, MIN_CHARS_CJK)


def comparable(text: str) -> Comparable | None:
    """The exact shingles and paragraphs copies are confirmed on; None for site chrome."""
    part = comparable_text(text)
    if part is None:
        return None
    paragraphs = {}
    for line in part.splitlines():
        norm = normalize(line)
        if len(norm) >= MIN_PARAGRAPH_CHARS:
            paragraphs[norm] = len(norm)
    norm = normalize(part)
    return Comparable(shingle_hashes(norm), paragraphs, len(norm),
                      substantial(part, min_latin=MIN_CHARS, min_cjk=MIN_CHARS_CJK))


@dataclass(frozen=True)
class Fingerprint:
    text_hash: str
    shingles: int
    signature: np.ndarray  # uint64[PERMUTATIONS]
    chrome: bool = False  # mostly site chrome: never grouped, never banded

    @cached_property
    def _band_keys(self) -> tuple[int, ...]:
        rows = self.signature.reshape(BANDS, ROWS)
        keys = _mix(np.arange(1, BANDS + 1, dtype=np.uint64))
        for r in range(ROWS):
            keys = _mix(keys ^ rows[:, r])
        return tuple(keys.view(np.int64).tolist())

    def band_keys(self) -> list[int]:
        """One signed 64-bit key per LSH band (band index mixed in); computed once."""
        return list(self._band_keys)


def fingerprint(text: str) -> Fingerprint:
    """Hash of the whole normalised text; MinHash signature of its comparable part
    (of the whole text when it is chrome: such texts are never banded)."""
    comparable = comparable_text(text)
    hashes = shingle_hashes(normalize(comparable if comparable is not None else text))
    return Fingerprint(text_hash(text), int(len(hashes)), minhash(hashes), comparable is None)


@dataclass(frozen=True)
class Overlap:
    """How two comparable texts overlap, exactly."""

    jaccard: float
    containment: float  # share of the smaller shingle set found in the larger
    shared_paragraphs: int  # paragraphs found verbatim (normalised) in both
    paragraph_share: float  # their characters, as a share of the shorter text
    small: int  # shingles of the smaller set
    large: int
    substantial: bool  # both texts long enough for near-duplicate evidence


def overlap(a: Comparable, b: Comparable) -> Overlap:
    """Exact overlap of two comparable texts."""
    small, large = sorted((len(a.shingles), len(b.shingles)))
    enough = a.substantial and b.substantial
    if small == 0:
        return Overlap(0.0, 0.0, 0, 0.0, small, large, enough)
    inter = len(np.intersect1d(a.shingles, b.shingles, assume_unique=True))
    shared = a.paragraphs.keys() & b.paragraphs.keys()
    share = sum(a.paragraphs[p] for p in shared) / max(1, min(a.length, b.length))
    return Overlap(inter / (small + large - inter), inter / small, len(shared), share, small, large, enough)


def is_copy(o: Overlap) -> bool:
    """Whether an exact overlap shows two copies of one text (see the module's docstring)."""
    if not o.substantial or o.small == 0 or o.large > MAX_SIZE_RATIO * o.small:
        return False
    return (o.jaccard >= JACCARD_MIN or o.containment >= CONTAINMENT_MIN
            or (o.shared_paragraphs >= MIN_SHARED_PARAGRAPHS and o.paragraph_share >= PARAGRAPH_SHARE_MIN))
