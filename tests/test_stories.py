"""The story decision as a pure function: an in-memory archive, no database.

Texts are the demo newsroom's articles (written for this project) and the seeds.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from newswatch.dedup import (_SEEDS, MAX_SIZE_RATIO, _mix, comparable, fingerprint, is_copy, minhash, overlap,
                             shingle_hashes)
from newswatch.demo.build import ARTICLES_DIR, read_article
from newswatch.seeds import load_seeds
from newswatch.stories import Candidate, MemoryArchive, batch_ref, decide
from newswatch.textnorm import normalize


@cache
def article(name: str) -> list[str]:
    """The paragraphs of a demo article (sub-headings left out)."""
    return [p for p in read_article(ARTICLES_DIR / f"{name}.md")[1] if not p.startswith("## ")]


def text(name: str) -> str:
    return "\n\n".join(article(name))


CHROME = {
    "head": ["The Harbor Times", "Home | World | Asia | Politics | Business | Opinion | Video", "By staff writers"],
    "rail": ["Related stories", "Yen slides as exporters rally in Tokyo", "Giants take game four at the Dome",
             "Typhoon season ends early, forecasters say", "Opinion: the long road back to Pyongyang",
             "Our newsletter brings you the day's top stories from Asia every morning, free of charge.",
             "Most read", "Five things to know before the markets open", "Rail strike called off at the last minute"],
    "foot": ["© 2026 The Harbor Times. All rights reserved.", "Terms | Privacy | Contact us"],
}


def syndicated(paragraphs: list[str], headline: str) -> str:
    """Another site's copy: the last paragraphs trimmed, two swapped, a new headline, the site's own text around it."""
    kept = paragraphs[: max(2, len(paragraphs) * 2 // 3)]
    kept[1], kept[2] = kept[2], kept[1]
    return "\n".join(CHROME["head"] + [headline] + kept + CHROME["rail"] + CHROME["foot"])


def teaser_page(titles: list[str]) -> str:
    """What extraction returns from a page that is all teaser rail."""
    return "\n".join(CHROME["head"] + ["Most read"] + titles + CHROME["foot"])


def relevant(url: str, body: str, *, guid: str | None = None) -> Candidate:
    return Candidate(url, guid, body, True, "on-topic (test)")


def off_topic(url: str, body: str) -> Candidate:
    return Candidate(url, None, body, False, "off-topic (test)")


def stories(candidates: list[Candidate], archive: MemoryArchive | None = None) -> list[int | None]:
    """Store *candidates* one at a time; each one's story id (article ids count from 1)."""
    archive = archive or MemoryArchive()
    out = []
    for c in candidates:
        (d,) = archive.store([c])
        new_id = max(archive.articles_by_id)
        out.append(new_id if d.story == batch_ref(0) else d.story)
    return out


# -- the failure classes ---------------------------------------------------------------


def test_a_text_inside_a_much_larger_one_is_not_a_copy() -> None:
    statement = text("en-sanctions-extension")
    report = "\n\n".join([text("en-missile-eez"), text("en-g7-leaders-meeting"), statement,
                          text("en-chongryon-commentary"), text("en-trump-kim-commentary")])
    a, b = comparable(statement), comparable(report)
    o = overlap(a, b)
    assert o.containment > 0.95 and o.large > MAX_SIZE_RATIO * o.small
    # Containment estimated from the signatures alone (|A∩B| = J·(|A|+|B|)/(1+J)) takes it for a copy;
    # the exact sets and the size guard do not.
    fa, fb = fingerprint(statement), fingerprint(report)
    j = float(np.mean(fa.signature == fb.signature))
    assert j * (fa.shingles + fb.shingles) / (1 + j) / min(fa.shingles, fb.shingles) >= 0.8
    assert not is_copy(o)
    first, second = stories([relevant("http://a.example/statement", statement),
                             relevant("http://b.example/report", report)])
    assert first != second


@pytest.mark.parametrize("name", ["en-summit-proposal", "ja-summit-proposal", "ko-summit-proposal",
                                  "en-abductee-families-meeting", "ja-tokutei-shissosha-toyama", "ko-kospi-close"])
def test_a_trimmed_reordered_copy_in_other_site_text_joins_the_story(name: str) -> None:
    original = text(name)
    copy = syndicated(article(name), "A new headline for the same story")
    # Compared whole, as symmetric similarity does, the two texts are far apart.
    whole = [shingle_hashes(normalize(t)) for t in (original, copy)]
    assert len(np.intersect1d(*whole)) / len(np.union1d(*whole)) < 0.7
    first, second = stories([relevant("http://a.example/1", original), relevant("http://b.example/2", copy)])
    assert first == second == 1


def test_pages_that_are_only_teaser_lists_are_never_grouped() -> None:
    titles = CHROME["rail"] + ["Japan extends sanctions on North Korea", "Families of abductees meet the prime minister"]
    same = teaser_page(titles)
    shifted = teaser_page(titles[1:] + ["Markets close higher on chip rally"])
    assert comparable(same) is None and fingerprint(same).chrome
    found = stories([relevant("http://a.example/p1", same), relevant("http://a.example/p2", same),
                     relevant("http://a.example/p3", shifted)])
    assert found == [1, 2, 3]  # not even an equal text makes them one story


def test_a_short_article_in_heavy_chrome_is_still_an_article() -> None:
    body = article("en-sanctions-extension")[:2]
    page = "\n".join(CHROME["head"] + body + CHROME["rail"] + CHROME["foot"])
    assert comparable(page) is not None


@pytest.mark.parametrize("a, b", [("en-summit-proposal", "en-summit-proposal-harbor"),
                                  ("ja-summit-proposal", "ja-summit-analysis"),
                                  ("ko-summit-proposal", "ko-summit-proposal-analysis"),
                                  ("en-missile-eez", "ja-missile-eez-protest")])
def test_different_articles_about_one_event_stay_apart(a: str, b: str) -> None:
    first, second = stories([relevant("http://a.example/1", text(a)), relevant("http://b.example/2", text(b))])
    assert first != second


def test_short_formulaic_items_a_few_words_apart_are_not_copies() -> None:
    arrived = ("Tokyo, November 3 -- A delegation of the Prefectural Assembly's committee on regional exchange, "
               "led by its chairwoman, arrived here by air on Sunday for a four-day visit, officials said.")
    left = ("Tokyo, November 7 -- A delegation of the Prefectural Assembly's committee on regional exchange, "
            "led by its chairwoman, left here by air on Thursday after a four-day visit, officials said.")
    assert overlap(comparable(arrived), comparable(left)).jaccard > 0.6
    assert stories([relevant("http://a.example/1", arrived), relevant("http://a.example/2", left)]) == [1, 2]
    # The same short item again is a copy: equal normalised text.
    assert stories([relevant("http://a.example/1", arrived), relevant("http://b.example/1", arrived.upper())]) == [1, 1]


def test_the_seed_republication_is_found() -> None:
    seeds = load_seeds()
    found = stories([relevant(s.url, s.text) for s in seeds])
    assert found[0] == found[1] == 1
    assert len(set(found)) == 4


# -- the layers and the batch ------------------------------------------------------------


def test_known_urls_and_guids_are_already_stored_in_the_archive_and_in_the_batch() -> None:
    archive = MemoryArchive()
    archive.store([relevant("http://a.example/1", text("en-missile-eez"), guid="g-1")])
    decisions = archive.store([
        relevant("http://a.example/1", "anything"),  # stored URL
        relevant("http://c.example/9", "anything", guid="g-1"),  # stored GUID
        relevant("http://d.example/1", text("en-tokyo-markets"), guid="g-2"),
        relevant("http://d.example/1", text("en-tokyo-markets")),  # same URL earlier in the batch
        relevant("http://e.example/1", "anything", guid="g-2"),  # same GUID earlier in the batch
    ])
    assert [d.already_stored for d in decisions] == [True, True, False, True, True]


def test_copies_within_one_batch_find_each_other() -> None:
    name = "en-abductee-families-meeting"
    batch = [relevant("http://a.example/1", text(name)), relevant("http://b.example/1", text(name).upper()),
             relevant("http://c.example/1", syndicated(article(name), "Families meet the prime minister"))]
    d = decide(batch, MemoryArchive())
    assert [x.story for x in d] == [batch_ref(0)] * 3
    assert d[1].duplicate_of == batch_ref(0) and d[1].duplicate_reason == "same normalised text"
    assert d[2].duplicate_of in (batch_ref(0), batch_ref(1)) and d[2].duplicate_reason.startswith("near-duplicate")


def test_an_off_topic_copy_of_a_relevant_story_is_relevant_and_an_off_topic_text_has_no_story() -> None:
    archive = MemoryArchive()
    archive.store([relevant("http://a.example/1", text("en-summit-proposal"))])
    copy, other = archive.store([off_topic("http://b.example/1", syndicated(article("en-summit-proposal"), "Summit?")),
                                 off_topic("http://b.example/2", text("en-japan-series-game"))])
    assert copy.relevant and copy.story == 1 and copy.reason.startswith("copy of a relevant story; own terms: off-topic")
    assert not other.relevant and other.story is None and not other.banded


def test_an_off_topic_article_is_not_a_story_for_later_copies() -> None:
    archive = MemoryArchive()
    archive.store([off_topic("http://a.example/1", text("en-japan-series-game"))])
    (later,) = archive.store([relevant("http://b.example/1", text("en-japan-series-game"))])
    assert later.story == batch_ref(0) and later.duplicate_of is None


def test_a_candidate_keeps_the_story_it_has_while_it_stays_relevant() -> None:
    archive = MemoryArchive()
    archive.store([relevant("http://a.example/1", text("en-summit-proposal"))])
    kept = Candidate("http://z.example/1", None, text("en-summit-proposal"), False, "off-topic", story=77)
    (d,) = decide([kept], archive, check_stored=False)
    assert d.relevant and d.story == 77 and d.duplicate_of == 1


@pytest.mark.parametrize("name", ["ja-summit-proposal", "ko-summit-proposal"])
def test_a_short_japanese_or_korean_article_is_long_enough_to_find_its_copies(name: str) -> None:
    short = article(name)[:3]
    original = "\n\n".join(short)
    assert len(original) < 500  # in English, this many characters would be a short item
    copy = "\n".join(CHROME["head"] + short[:2] + CHROME["rail"] + CHROME["foot"])
    first, second = stories([relevant("http://a.example/1", original), relevant("http://b.example/2", copy)])
    assert first == second


@pytest.mark.parametrize("size", [1, 5, 17, 2500])
def test_the_blocked_minhash_is_the_whole_matrix_minimum(size: int) -> None:
    # Stored signatures and band keys must not change with how the minimum is computed.
    hashes = np.unique(np.random.default_rng(size).integers(0, 2**63, size=size, dtype=np.uint64))
    assert np.array_equal(minhash(hashes), _mix(hashes[np.newaxis, :] ^ _SEEDS[:, np.newaxis]).min(axis=1))


def test_a_text_keeps_its_signature() -> None:
    # The first values of the signature of a fixed text, as stored by earlier versions.
    sig = fingerprint("The leaders of Japan and North Korea met in Pyongyang on Tuesday. " * 5).signature
    assert [int(x) for x in sig[:3]] == [88631203753771543, 422968909844562824, 49410356594699602]
