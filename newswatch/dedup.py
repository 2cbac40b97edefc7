"""Near-duplicate detection: MinHash over character 5-grams, with LSH.

Character shingles work for English, Japanese and Korean alike (no word
splitting needed). A new text is compared only with the stored texts that
share at least one LSH band with it, so a lookup does not scan the archive.

Two texts are copies of one story when their estimated Jaccard similarity is
at least ``JACCARD_MIN``, or when the smaller one is mostly contained in the
larger (``CONTAINMENT_MIN``): republications trim paragraphs and add site
chrome, which lowers Jaccard but not containment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from newswatch.textnorm import normalize, text_hash

SHINGLE = 5
PERMUTATIONS = 128
BANDS = 32
ROWS = PERMUTATIONS // BANDS
JACCARD_MIN = 0.7
CONTAINMENT_MIN = 0.8
MIN_SHINGLES_FOR_CONTAINMENT = 100

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


def shingle_hashes(normalized: str) -> np.ndarray:
    """Distinct 64-bit hashes of the character 5-grams of *normalized*."""
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
class Fingerprint:
    text_hash: str
    shingles: int
    signature: np.ndarray  # uint64[PERMUTATIONS]

    def band_keys(self) -> list[int]:
        """One signed 64-bit key per LSH band (band index mixed in)."""
        rows = self.signature.reshape(BANDS, ROWS)
        keys = _mix(np.arange(1, BANDS + 1, dtype=np.uint64))
        for r in range(ROWS):
            keys = _mix(keys ^ rows[:, r])
        return keys.view(np.int64).tolist()


def fingerprint(text: str) -> Fingerprint:
    norm = normalize(text)
    hashes = shingle_hashes(norm)
    # (PERMUTATIONS, n) matrix of permuted hashes; min along each row.
    permuted = _mix(hashes[np.newaxis, :] ^ _SEEDS[:, np.newaxis])
    return Fingerprint(text_hash(text), int(len(hashes)), permuted.min(axis=1))


def similarity(a: Fingerprint, b: Fingerprint) -> tuple[float, float]:
    """Estimated (Jaccard, containment of the smaller set in the larger)."""
    j = float(np.mean(a.signature == b.signature))
    small, large = sorted((a.shingles, b.shingles))
    if small == 0:
        return j, 0.0
    # |A∩B| = J·(|A|+|B|)/(1+J)
    inter = j * (small + large) / (1.0 + j)
    return j, min(1.0, inter / small)


def same_story(a: Fingerprint, b: Fingerprint) -> tuple[bool, float, float]:
    j, c = similarity(a, b)
    contained = c >= CONTAINMENT_MIN and min(a.shingles, b.shingles) >= MIN_SHINGLES_FOR_CONTAINMENT
    return (j >= JACCARD_MIN or contained), j, c
