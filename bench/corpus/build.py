"""Build the labelled development corpus (corpus.jsonl) from the articles we wrote.

    python bench/corpus/build.py        # rewrites bench/corpus/corpus.jsonl

``source/{en,ja,ko}.toml`` and ``source/{en,ja,ko}-2.toml`` (the tuning part;
the second batch was first a held-out part, measured once, then tuned on)
and ``source/{en,ja,ko}-heldout.toml`` (the held-out part, written
separately and never used to tune anything) hold original articles written
for newswatch, with
labels (relevant, summit, abductees), a kind (positive, indirect, related,
trap, off-topic), the trap they set, and an ``event`` shared by two different
articles about one event. This script adds syndicated copies of the relevant
ones, as papers and wires make them: a new headline, the last paragraph
trimmed, paragraphs reordered, wrapped in the republisher's own lines, and
trimmed and wrapped at once. Each record says its ``group`` (the story it is
a copy of) and its ``split`` (``tune`` or ``held-out``, from the file it
comes from).

Every record is a line of JSON that ``newswatch eval`` reads directly.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "source"
CORPUS = HERE / "corpus.jsonl"
LANGUAGES = ("en", "ja", "ko")
SPLITS = {"": "tune", "-2": "tune", "-3": "tune", "-heldout": "held-out"}
LABELS = ("relevant", "summit", "abductees")
VARIANTS = ("new-headline", "trimmed", "reordered", "wrapped", "trimmed-wrapped")

# What republishers add around a copy: written for newswatch, one pair per language.
WRAP = {
    "en": ("The following report is republished from a partner news service. Minor edits were made for style.",
           "Copyright of the original publisher. For licensing and reprint requests, contact our syndication desk. "
           "Readers may send corrections to the editors at any time."),
    "ja": ("この記事は提携する通信社の配信を、表記を一部改めて掲載しています。",
           "記事の無断転載を禁じます。内容に関するお問い合わせは編集部までお寄せください。購読のお申し込みは販売局へ。"),
    "ko": ("이 기사는 제휴 통신사가 제공한 기사를 표기만 일부 고쳐 그대로 싣습니다.",
           "무단 전재 및 재배포 금지. 기사에 관한 문의는 편집국으로 보내 주십시오. 구독 신청은 독자서비스센터에서 받습니다."),
}


def paragraphs(body: str) -> list[str]:
    return [" ".join(p.split()) if not any("\u3040" <= c <= "\ud7af" for c in p) else p.strip()
            for p in body.strip().split("\n\n") if p.strip()]


def read_source(path: Path) -> list[dict]:
    articles = tomllib.loads(path.read_text("utf-8"))["article"]
    for a in articles:
        missing = [k for k in ("id", "title", "body", "kind", *LABELS) if k not in a]
        if missing:
            raise SystemExit(f"{path}: article {a.get('id', '?')} lacks {missing}")
        if (a["summit"] or a["abductees"]) and not a["relevant"]:
            raise SystemExit(f"{path}: {a['id']} is a summit or abductee story but not labelled relevant")
    return articles


def variant(article: dict, kind: str, lang: str) -> tuple[str, list[str]]:
    paras = paragraphs(article["body"])
    title = article.get("alt_title") or article["title"]
    head, foot = WRAP[lang]
    if kind == "new-headline":
        return title, paras
    if kind == "trimmed":
        return article["title"], paras[:-1] if len(paras) > 2 else paras
    if kind == "reordered":
        return title, [paras[0], *reversed(paras[1:])]
    if kind == "wrapped":
        return article["title"], [head, *paras, foot]
    return title, [head, *(paras[:-1] if len(paras) > 2 else paras), foot]  # trimmed and wrapped


def records() -> list[dict]:
    out: list[dict] = []
    for lang in LANGUAGES:
        articles = [(a, split) for suffix, split in SPLITS.items()
                    if (path := SOURCE / f"{lang}{suffix}.toml").exists() for a in read_source(path)]
        for n, (a, split) in enumerate(articles):
            base = {
                "language": lang, "group": a["id"], "event": a.get("event") or None, "split": split,
                "kind": a["kind"], "trap": a.get("trap") or None, "summary": a.get("summary") or None,
                **{k: bool(a[k]) for k in LABELS},
            }
            out.append({"id": a["id"], "variant": "original", "title": a["title"],
                        "body": "\n\n".join(paragraphs(a["body"])), **base})
            if not a["relevant"]:
                continue
            # Two copies of every relevant story, the kinds taking turns across the corpus.
            for kind in (VARIANTS[n % len(VARIANTS)], VARIANTS[(n + 2) % len(VARIANTS)]):
                title, paras = variant(a, kind, lang)
                out.append({"id": f"{a['id']}~{kind}", "variant": kind, "title": title,
                            "body": "\n\n".join(paras), **base})
    return out


def render(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)


def main() -> int:
    rows = records()
    CORPUS.write_text(render(rows), "utf-8")
    originals = [r for r in rows if r["variant"] == "original"]
    held = sum(r["split"] == "held-out" for r in originals)
    print(f"wrote {CORPUS}: {len(rows)} texts ({len(originals)} articles, {len(rows) - len(originals)} copies); "
          f"{held} articles held out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
