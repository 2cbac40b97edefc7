"""Which story an article belongs to: the decision, as a pure function over plain data.

Layers, cheapest first:

1. the canonical URL or the GUID of a stored article, or of an earlier
   candidate in the batch: the article is already stored, nothing to add;
2. the same normalised text as a relevant stored article: a copy;
3. near-duplicates: relevant articles that share an LSH band with it are
   candidates, and each is confirmed on the exact shingle sets of both texts
   (``dedup.is_copy``); the closest confirmed one wins.

Texts that are mostly site chrome (teaser lists, menus) are never grouped,
not even by an equal text hash. A copy of a relevant story is relevant; a
relevant article that copies nothing starts a story of its own. Candidates are
decided in order, and each sees the ones before it in the batch.

The archive is reached through ``Archive``, a small lookup interface: the
warehouse implements it (``warehouse.articles.WarehouseArchive``), and so does
``MemoryArchive`` here, for tests and measurements.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

from newswatch.dedup import Comparable, Fingerprint, Overlap, comparable, fingerprint, is_copy, overlap


@dataclass(frozen=True)
class Candidate:
    """An article to place. ``relevant`` and ``reason`` are its own verdict (seeds: forced)."""

    canonical_url: str
    guid: str | None
    text: str | None
    relevant: bool
    reason: str
    fingerprint: Fingerprint | None = None  # of ``text``; computed when missing
    story: int | None = None  # the story it already belongs to, kept while it stays relevant (rejudge)


@dataclass(frozen=True)
class StoredArticle:
    """What verification needs of a stored article."""

    article_id: int
    story_id: int | None
    text: str | None


class Archive(Protocol):
    """Lookups into the stored articles. Only relevant articles have a story and band keys."""

    def stored_urls(self, urls: Sequence[str]) -> set[str]:
        """Which of these canonical URLs are stored."""
        ...

    def stored_guids(self, guids: Sequence[str]) -> set[str]:
        """Which of these GUIDs are stored."""
        ...

    def by_text_hash(self, hashes: Sequence[str]) -> dict[str, StoredArticle]:
        """text hash → the first stored article with a story and that text."""
        ...

    def by_band_keys(self, keys: Sequence[int]) -> dict[int, set[int]]:
        """band key → ids of the stored articles indexed under it."""
        ...

    def articles(self, ids: Iterable[int]) -> dict[int, StoredArticle]:
        """The stored articles with these ids (story and text)."""
        ...


@dataclass(frozen=True)
class Decision:
    """Where a candidate goes. Negative ids name candidates of the same batch: ``-1 - index``."""

    already_stored: bool = False
    relevant: bool = False
    reason: str = ""
    story: int | None = None  # its story (a stored story id, or -1-i: the one candidate i starts)
    duplicate_of: int | None = None  # the copy it matched (stored id, or -1-i)
    duplicate_reason: str | None = None
    chrome: bool = False  # mostly site chrome: never grouped
    banded: bool = False  # to be indexed (relevant and not chrome): later copies can find it


@dataclass
class _Known:
    """One article the decision can match: stored, or placed earlier in this batch."""

    ref: int
    story: int | None
    text: str | None

    @cached_property
    def comparable(self) -> Comparable | None:
        """What it is compared on, computed when first needed; None for chrome or no text."""
        return comparable(self.text) if self.text else None


def batch_ref(index: int) -> int:
    """The id that stands for candidate *index* of the batch until it has an article id."""
    return -1 - index


def decide(candidates: Sequence[Candidate], archive: Archive, *, check_stored: bool = True) -> list[Decision]:
    """Place each candidate, in order: already stored, a copy of a story, a new story, or off-topic.

    With ``check_stored=False`` the URL and GUID layer is skipped: the
    candidates are stored articles being judged again.
    """
    fps = [c.fingerprint or (fingerprint(c.text) if c.text else None) for c in candidates]
    stored_urls = archive.stored_urls([c.canonical_url for c in candidates]) if check_stored else set()
    stored_guids = archive.stored_guids([c.guid for c in candidates if c.guid]) if check_stored else set()
    by_hash: dict[str, _Known] = {
        h: _Known(a.article_id, a.story_id, a.text)
        for h, a in archive.by_text_hash([fp.text_hash for fp in fps if fp is not None]).items()
        if a.story_id is not None
    }
    bands: dict[int, set[int]] = {
        k: set(ids) for k, ids in archive.by_band_keys(
            sorted({k for fp in fps if fp is not None for k in fp.band_keys()})).items()
    }
    known: dict[int, _Known] = {
        a.article_id: _Known(a.article_id, a.story_id, a.text)
        for a in archive.articles({i for ids in bands.values() for i in ids}).values() if a.story_id is not None
    }
    seen_urls: set[str] = set()
    seen_guids: set[str] = set()
    decisions: list[Decision] = []
    for i, (c, fp) in enumerate(zip(candidates, fps)):
        if check_stored:
            if (c.canonical_url in stored_urls or c.canonical_url in seen_urls
                    or (c.guid and (c.guid in stored_guids or c.guid in seen_guids))):
                decisions.append(Decision(already_stored=True))
                continue
            seen_urls.add(c.canonical_url)
            if c.guid:
                seen_guids.add(c.guid)
        own = _Known(batch_ref(i), None, c.text)
        chrome = fp is not None and fp.chrome
        match: tuple[_Known, str] | None = None
        if fp is not None and not chrome:
            match = _find(fp, own, by_hash, bands, known)
        relevant = c.relevant or match is not None
        reason = c.reason if c.relevant or match is None else f"copy of a relevant story; own terms: {c.reason}"
        story = None
        if relevant:
            story = c.story if c.story is not None else match[0].story if match else batch_ref(i)
        banded = relevant and fp is not None and not chrome
        if banded:
            own.story = story
            by_hash.setdefault(fp.text_hash, own)
            known[own.ref] = own
            for key in fp.band_keys():
                bands.setdefault(key, set()).add(own.ref)
        decisions.append(Decision(
            relevant=relevant, reason=reason, story=story,
            duplicate_of=match[0].ref if match else None, duplicate_reason=match[1] if match else None,
            chrome=chrome, banded=banded,
        ))
    return decisions


def _find(fp: Fingerprint, own: _Known, by_hash: dict[str, _Known], bands: dict[int, set[int]],
          known: dict[int, _Known]) -> tuple[_Known, str] | None:
    """The stored or earlier article this text copies, with the reason; None when it copies none."""
    same = by_hash.get(fp.text_hash)
    if same is not None:
        return same, "same normalised text"
    refs = sorted({r for key in fp.band_keys() for r in bands.get(key, ())})
    mine = own.comparable if refs else None  # computed only when some article shares a band
    if mine is None:
        return None
    best: tuple[tuple[float, float], _Known, Overlap] | None = None
    for ref in refs:
        other = known.get(ref)
        theirs = other.comparable if other is not None else None
        if theirs is None:
            continue
        o = overlap(mine, theirs)
        if is_copy(o) and (best is None or (o.jaccard, o.containment) > best[0]):
            best = ((o.jaccard, o.containment), other, o)
    if best is None:
        return None
    o = best[2]
    return best[1], f"near-duplicate (Jaccard {o.jaccard:.2f}, containment {o.containment:.2f})"


@dataclass
class MemoryArchive:
    """An ``Archive`` held in memory: for tests and measurements, and the same answers as the warehouse's."""

    articles_by_id: dict[int, StoredArticle] = field(default_factory=dict)
    urls: set[str] = field(default_factory=set)
    guids: set[str] = field(default_factory=set)
    hashes: dict[str, int] = field(default_factory=dict)
    bands: dict[int, set[int]] = field(default_factory=dict)

    def add(self, article_id: int, candidate: Candidate, decision: Decision, story: int | None) -> None:
        """Record a decided candidate under *article_id* (with its story resolved to an id)."""
        self.urls.add(candidate.canonical_url)
        if candidate.guid:
            self.guids.add(candidate.guid)
        self.articles_by_id[article_id] = StoredArticle(article_id, story, candidate.text)
        if decision.banded:
            fp = candidate.fingerprint or fingerprint(candidate.text or "")
            self.hashes.setdefault(fp.text_hash, article_id)
            for key in fp.band_keys():
                self.bands.setdefault(key, set()).add(article_id)

    def store(self, candidates: Sequence[Candidate]) -> list[Decision]:
        """Decide a batch and record it, article ids following on from the stored ones."""
        decisions = decide(candidates, self)
        ids: dict[int, int] = {}
        for i, (c, d) in enumerate(zip(candidates, decisions)):
            if d.already_stored:
                continue
            ids[batch_ref(i)] = max(self.articles_by_id, default=0) + 1
            story = ids.get(d.story, d.story) if d.story is not None else None
            self.add(ids[batch_ref(i)], c, d, story)
        return decisions

    def stored_urls(self, urls: Sequence[str]) -> set[str]:
        return self.urls.intersection(urls)

    def stored_guids(self, guids: Sequence[str]) -> set[str]:
        return self.guids.intersection(guids)

    def by_text_hash(self, hashes: Sequence[str]) -> dict[str, StoredArticle]:
        return {h: self.articles_by_id[self.hashes[h]] for h in hashes if h in self.hashes}

    def by_band_keys(self, keys: Sequence[int]) -> dict[int, set[int]]:
        return {k: set(self.bands[k]) for k in keys if k in self.bands}

    def articles(self, ids: Iterable[int]) -> dict[int, StoredArticle]:
        return {i: self.articles_by_id[i] for i in ids if i in self.articles_by_id}
