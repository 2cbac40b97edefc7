"""How well stories are grouped: false merges on real text, and syndicated copies found.

    python bench/dedup_quality.py [--kcna FILE] [--corpus DIR] [--json FILE] [--show-merges]

Two measurements, both through the store stage's own decision
(``newswatch.stories.decide``, over an in-memory archive), articles stored one
at a time in order, every one relevant:

1. **Real text** (``--kcna``: a JSON list of articles with ``headline``,
   ``story_text`` and ``date`` in ms since the epoch; used on this machine only,
   never committed). The articles dated 2024-08-01 to 2024-11-30 that have
   text, identical texts once. Every pair of texts that ends up in one story
   is a merge; ``--show-merges`` prints them for review.
2. **Syndicated copies** generated from our own texts (the demo newsroom's
   articles, ``tests/rules/labelled.toml``, and ``bench/corpus/source/*.toml``
   when present): each article twice more, trimmed, reordered, wrapped in
   another site's text (menus, teaser rails of other headlines, footer) under a
   new headline; and pages whose extraction returned only a site's teaser rail.
   Pairwise precision, recall and F1 against the truth (an article and its
   copies belong together, nothing else does), merges of different articles
   about one event, and merges among teaser-rail pages.

``measure()`` returns the figures as a dict; the overall benchmark calls it.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newswatch.stories import Candidate, MemoryArchive, batch_ref  # noqa: E402

#: Groups texts stored in order into stories: text i → its story.
Grouper = Callable[[Sequence[str]], list[int]]

KCNA_FROM = datetime(2024, 8, 1, tzinfo=timezone.utc)
KCNA_TO = datetime(2024, 12, 1, tzinfo=timezone.utc)  # exclusive
CORPUS_DIR = ROOT / "bench" / "corpus" / "source"
LABELLED = ROOT / "tests" / "rules" / "labelled.toml"

_SENTENCE = re.compile(r"(?<=[.!?。！？])\s*(?=\S)")


def stories_in_order(texts: Sequence[str]) -> list[int]:
    """Store *texts* one at a time, as relevant articles, through the story decision; each one's story."""
    archive = MemoryArchive()
    stories: list[int] = []
    for n, text in enumerate(texts):
        c = Candidate(f"text:{n}", None, text, True, "measured")
        (d,) = archive.store([c])
        story = n + 1 if d.story == batch_ref(0) else d.story
        stories.append(story)
    return stories


def merged_pairs(stories: Sequence[int]) -> set[tuple[int, int]]:
    by_story: dict[int, list[int]] = {}
    for i, s in enumerate(stories):
        by_story.setdefault(s, []).append(i)
    return {pair for members in by_story.values() for pair in combinations(members, 2)}


# -- real text ---------------------------------------------------------------------


def kcna_texts(path: Path, start: datetime = KCNA_FROM, end: datetime = KCNA_TO) -> list[dict]:
    """Articles in [start, end) with text, identical texts once, in date order."""
    items = json.loads(Path(path).read_text("utf-8"))
    lo, hi = start.timestamp() * 1000, end.timestamp() * 1000
    chosen = sorted((a for a in items if a.get("story_text") and lo <= a.get("date", 0) < hi),
                    key=lambda a: a["date"])
    seen: set[str] = set()
    out = []
    for a in chosen:
        if a["story_text"] not in seen:
            seen.add(a["story_text"])
            out.append(a)
    return out


def real_text_merges(articles: Sequence[dict], grouper: Grouper = stories_in_order) -> dict:
    texts = [a["story_text"] for a in articles]
    pairs = sorted(merged_pairs(grouper(texts)))
    n = len(texts)
    return {"texts": n, "pairs": n * (n - 1) // 2, "merged_pairs": len(pairs), "merges": pairs}


# -- syndicated copies ----------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    key: str
    lang: str
    title: str
    alt_title: str | None
    paragraphs: tuple[str, ...]
    event: str | None


@dataclass(frozen=True)
class Item:
    text: str
    article: str | None  # the source article it carries (None: a teaser-rail page)
    event: str | None
    kind: str  # original | copy | rail


def load_sources(corpus_dir: Path = CORPUS_DIR, labelled: Path = LABELLED) -> dict[str, list[Source]]:
    """Our own texts, by collection: demo newsroom articles, labelled rule cases, benchmark corpus."""
    from newswatch.demo.build import ARTICLES_DIR, read_article

    out: dict[str, list[Source]] = {"demo": []}
    for path in sorted(ARTICLES_DIR.glob("*.md")):
        meta, paragraphs = read_article(path)
        body = tuple(p for p in paragraphs if not p.startswith("## "))
        out["demo"].append(Source(meta["id"], meta["lang"], meta["title"], None, body, meta["event"]))
    if labelled.exists():
        cases = tomllib.loads(labelled.read_text("utf-8"))["case"]
        out["labelled"] = [Source(c["id"], c["lang"], _headline(c["text"]), None, (c["text"],), None) for c in cases]
    for path in sorted(corpus_dir.glob("*.toml")) if corpus_dir.exists() else []:
        data = tomllib.loads(path.read_text("utf-8"))
        out[f"corpus-{path.stem}"] = [
            Source(a.get("id") or f"{path.stem}-{n}", a.get("lang") or path.stem.split("-")[0], a["title"],
                   a.get("alt_title"), tuple(p.strip() for p in a["body"].split("\n\n") if p.strip()),
                   a.get("event") or None)
            for n, a in enumerate(data.get("article", []))
        ]
    return out


def _headline(text: str) -> str:
    """A labelled case's headline: its first sentence, as a headline is written (short, no full stop)."""
    first = _SENTENCE.split(text.split("\u3000")[0])[0].rstrip(".。!?！？ ")
    words = first.split()
    return " ".join(words[:10]) if len(words) > 1 else first[:30]


_SITE = {
    "en": {"nav": "Home | World | Asia | Politics | Business | Opinion | Video", "related": "Related stories",
           "more": "Most read", "footer": "© 2026 {site}. All rights reserved. Terms | Privacy | Contact us",
           "by": "By staff writers", "share": "Share this article"},
    "ja": {"nav": "トップ | 国際 | 政治 | 経済 | 社会 | 動画", "related": "関連記事", "more": "アクセスランキング",
           "footer": "© 2026 {site} 無断転載を禁じます 利用規約 | お問い合わせ", "by": "編集部", "share": "この記事をシェア"},
    "ko": {"nav": "홈 | 국제 | 정치 | 경제 | 사회 | 영상", "related": "관련 기사", "more": "많이 본 뉴스",
           "footer": "© 2026 {site} 무단 전재 및 재배포 금지 이용약관 | 문의", "by": "편집부", "share": "기사 공유하기"},
}


def _units(src: Source) -> list[str]:
    """Paragraphs, or sentences when the text is a single paragraph."""
    if len(src.paragraphs) > 1:
        return list(src.paragraphs)
    return [s for s in _SENTENCE.split(src.paragraphs[0]) if s.strip()]


def syndicate(src: Source, rng: random.Random, site: str, rail: Sequence[str]) -> str:
    """Another site's copy: trimmed, reordered, under a new headline, inside that site's text."""
    units = _units(src)
    if len(units) > 2:
        keep = max(2, round(len(units) * rng.uniform(0.6, 0.85)))
        units = units[:keep]
        if len(units) > 2:
            i = rng.randrange(1, len(units) - 1)
            units[i], units[i + 1] = units[i + 1], units[i]  # the lede stays first
    elif len(units) == 2 and rng.random() < 0.5:
        units = units[:1]
    words = _SITE.get(src.lang, _SITE["en"])
    headline = src.alt_title or f"{src.title} ({site})"
    lines = [site, words["nav"], headline, words["by"], *units, words["share"], words["related"],
             *rng.sample(list(rail), min(5, len(rail))), words["more"], *rng.sample(list(rail), min(4, len(rail))),
             words["footer"].format(site=site)]
    return "\n".join(lines)


def rail_page(lang: str, rng: random.Random, site: str, rail: Sequence[str]) -> str:
    """What extraction returns from a page that is all teaser rail: the site's list of headlines."""
    words = _SITE.get(lang, _SITE["en"])
    return "\n".join([site, words["nav"], words["more"], *rng.sample(list(rail), min(10, len(rail))),
                      words["footer"].format(site=site)])


def syndicated_items(sources: Sequence[Source], copies: int = 2, rails: int = 6, seed: int = 2026) -> list[Item]:
    rng = random.Random(seed)
    titles = {lang: [s.title for s in sources if s.lang == lang] for lang in {s.lang for s in sources}}
    items: list[Item] = []
    for n, src in enumerate(sources):
        items.append(Item("\n\n".join(src.paragraphs), src.key, src.event, "original"))
        others = [t for t in titles[src.lang] if t != src.title] or [src.title]
        for k in range(copies):
            site = f"Outlet {(n + k) % 7 + 1}"
            items.append(Item(syndicate(src, rng, site, others), src.key, src.event, "copy"))
    for lang, pool in titles.items():
        for k in range(rails if len(pool) >= 4 else 0):
            items.append(Item(rail_page(lang, rng, f"Outlet {k % 2 + 1}", pool), None, None, "rail"))
    order = list(range(len(items)))
    random.Random(seed + 1).shuffle(order)
    order.sort(key=lambda i: items[i].kind != "original")  # originals first, then copies and rails, shuffled
    return [items[i] for i in order]


def copy_scores(items: Sequence[Item], grouper: Grouper = stories_in_order) -> dict:
    stories = grouper([it.text for it in items])
    merged = merged_pairs(stories)
    truth = {(i, j) for i, j in combinations(range(len(items)), 2)
             if items[i].article is not None and items[i].article == items[j].article}
    tp = len(merged & truth)
    precision = tp / len(merged) if merged else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    same_event = {(i, j) for i, j in merged if items[i].article != items[j].article
                  and items[i].event is not None and items[i].event == items[j].event}
    rails = {(i, j) for i, j in merged if "rail" in (items[i].kind, items[j].kind)}
    events = {it.event for it in items if it.event}
    event_pairs = sum(1 for i, j in combinations(range(len(items)), 2)
                      if items[i].event in events and items[i].event == items[j].event
                      and items[i].article != items[j].article)
    return {"items": len(items), "true_pairs": len(truth), "merged_pairs": len(merged), "true_positives": tp,
            "precision": precision, "recall": recall, "f1": f1,
            "same_event_pairs": event_pairs, "same_event_merges": len(same_event),
            "rail_pages": sum(it.kind == "rail" for it in items), "rail_merges": len(rails),
            "missed": sorted({items[i].article for i, j in truth - merged})}


def measure(kcna: Path | None = None, grouper: Grouper = stories_in_order, corpus_dir: Path = CORPUS_DIR,
            labelled: Path = LABELLED) -> dict:
    """Every figure of this benchmark, as numbers."""
    figures: dict = {"copies": {}}
    sources = load_sources(corpus_dir, labelled)
    for name, srcs in sources.items():
        if srcs:
            figures["copies"][name] = copy_scores(syndicated_items(srcs), grouper)
    if kcna is not None:
        articles = kcna_texts(kcna)
        result = real_text_merges(articles, grouper)
        result["merges"] = [{"a": articles[i]["headline"], "b": articles[j]["headline"],
                             "a_date": _day(articles[i]), "b_date": _day(articles[j]), "i": i, "j": j}
                            for i, j in result["merges"]]
        figures["real_text"] = result
    return figures


def _day(article: dict) -> str:
    return datetime.fromtimestamp(article["date"] / 1000, timezone.utc).strftime("%Y-%m-%d")


def report(figures: dict, show_merges: bool = False) -> str:
    lines = ["syndicated copies (pairwise):",
             f"  {'collection':<20}{'items':>6}{'pairs':>7}{'merged':>7}{'P':>7}{'R':>7}{'F1':>7}"
             f"{'same-event merged':>19}{'rail merged':>13}"]
    for name, c in figures["copies"].items():
        lines.append(f"  {name:<20}{c['items']:>6}{c['true_pairs']:>7}{c['merged_pairs']:>7}{c['precision']:>7.3f}"
                     f"{c['recall']:>7.3f}{c['f1']:>7.3f}{c['same_event_merges']:>9} of {c['same_event_pairs']:<6}"
                     f"{c['rail_merges']:>6} ({c['rail_pages']} pages)")
    if "real_text" in figures:
        r = figures["real_text"]
        lines.append(f"real text: {r['texts']} texts, {r['pairs']:,} pairs, {r['merged_pairs']} merged")
        if show_merges:
            for m in r["merges"]:
                lines.append(f"  {m['a_date']} {m['a'][:60]!r}  ~  {m['b_date']} {m['b'][:60]!r}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kcna", type=Path, help="JSON list of real articles (headline, story_text, date in ms)")
    parser.add_argument("--corpus", type=Path, default=CORPUS_DIR,
                        help=f"folder of [[article]] TOML files (default {CORPUS_DIR.relative_to(ROOT)})")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--show-merges", action="store_true", help="list every merged pair of real texts")
    args = parser.parse_args()
    figures = measure(args.kcna, corpus_dir=args.corpus)
    print(report(figures, args.show_merges))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
