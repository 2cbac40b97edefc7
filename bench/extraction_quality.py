"""How much of the article does extraction keep, on clean pages and inside heavy chrome?

    python bench/extraction_quality.py [--corpus DIR] [--no-feed] [--repeat N] [--json FILE]

Builds pages (bench/pages.py) from labelled texts, extracts them with
``newswatch.extract.extract_page`` and prints, per language and page kind
(clean; heavy with English chrome; heavy with chrome in the page's own
language): token precision (against headline and body: a kept headline is
not chrome) and recall (against the body), the share
of pages whose body was lost (recall below one half), the share where a
fallback extractor was kept, and milliseconds of CPU per page.

Texts: the labelled corpus's {en,ja,ko}*.toml ([[article]] tables with title,
summary and body, paragraphs separated by blank lines) when present, else the
texts of tests/rules/labelled.toml (first sentence as title, no summary).
The extractor is given the title as the headline and the summary as the
feed's summary, as the pipeline does (--no-feed: neither, as for a saved page).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.pages import clean_page, default_date, heavy_page  # noqa: E402
from newswatch.textcheck import content_tokens  # noqa: E402

CORPUS_DIR = ROOT / "bench" / "corpus" / "source"
LABELLED = ROOT / "tests" / "rules" / "labelled.toml"
KINDS = ("clean", "heavy, English chrome", "heavy, own chrome")
LOST_BELOW = 0.5


def token_pr(predicted: str | None, truth: str | None) -> tuple[float, float]:
    """Token precision and recall of *predicted* against *truth*: multisets of Latin words
    (lower-cased) and Japanese/Korean characters, without spaces or punctuation.

    Empty against empty is (1, 1); anything against an empty truth has recall 1;
    an empty prediction has precision 1 only when the truth is empty too.
    """
    pred, true = Counter(content_tokens(predicted or "")), Counter(content_tokens(truth or ""))
    common = sum((pred & true).values())
    n_pred, n_true = sum(pred.values()), sum(true.values())
    precision = common / n_pred if n_pred else (1.0 if not n_true else 0.0)
    recall = common / n_true if n_true else 1.0
    return precision, recall


@dataclass(frozen=True)
class LabelledText:
    language: str
    title: str
    paragraphs: tuple[str, ...]
    summary: str | None = None


_TITLE_SPLIT = re.compile(r"(?<=[.!?])\s+|　")


def load_texts(corpus: Path | None = None) -> dict[str, list[LabelledText]]:
    """language → texts, from the labelled corpus when present, else from the rules' labelled cases."""
    corpus = corpus or CORPUS_DIR
    texts: dict[str, list[LabelledText]] = {}
    if corpus.is_dir():
        for path in sorted(corpus.glob("*.toml")):
            lang = path.stem.split("-")[0]  # en.toml, en-heldout.toml, … are all English
            for a in tomllib.loads(path.read_text(encoding="utf-8")).get("article", []):
                paragraphs = tuple(p.strip() for p in re.split(r"\n\s*\n", a["body"]) if p.strip())
                if paragraphs:
                    texts.setdefault(lang, []).append(
                        LabelledText(lang, a["title"].strip(), paragraphs, (a.get("summary") or "").strip() or None))
        if texts:
            return texts
    for case in tomllib.loads(LABELLED.read_text(encoding="utf-8"))["case"]:
        parts = _TITLE_SPLIT.split(case["text"].strip(), maxsplit=1)
        if len(parts) == 2:
            texts.setdefault(case["lang"], []).append(LabelledText(case["lang"], parts[0], (parts[1],)))
    return texts


def build_page(text: LabelledText, kind: str, seed: int) -> str:
    date = default_date(seed)
    if kind == "clean":
        return clean_page(text.title, text.paragraphs, date, text.language, seed=seed)
    chrome = "en" if kind == "heavy, English chrome" else text.language
    return heavy_page(text.title, text.paragraphs, date, text.language, seed=seed, chrome_language=chrome)


@dataclass
class Row:
    language: str
    kind: str
    pages: int = 0
    precision: float = 0.0
    recall: float = 0.0
    lost: float = 0.0
    fallbacks: float = 0.0
    ms_per_page: float = 0.0
    methods: dict | None = None


def measure(texts: dict[str, list[LabelledText]], extract: Callable[..., object] | None = None, feed: bool = True,
            repeat: int = 1, kinds: Sequence[str] = KINDS) -> list[Row]:
    """One row per language and page kind. *extract*: a function like ``extract_page``."""
    if extract is None:
        from newswatch.extract import extract_page as extract
    rows = []
    for lang in sorted(texts):
        for kind in kinds:
            if lang == "en" and kind == "heavy, own chrome":
                continue  # the same as English chrome
            ps, rs, ts, methods = [], [], [], Counter()
            for r in range(repeat):
                for i, t in enumerate(texts[lang]):
                    seed = 1_000 * r + i
                    html = build_page(t, kind, seed)
                    started = time.process_time()
                    got = extract(html, f"https://news.example/{lang}/{seed}.html",
                                  headline=t.title if feed else None, summary=t.summary if feed else None)
                    ts.append(time.process_time() - started)
                    body = "\n".join(t.paragraphs)
                    # The headline is part of the article: kept, it is not chrome.
                    ps.append(token_pr(got.text, f"{t.title}\n{body}")[0])
                    rs.append(token_pr(got.text, body)[1])
                    methods[got.method_note or "none"] += 1
            n = len(ps)
            rows.append(Row(lang, kind, n, statistics.mean(ps), statistics.mean(rs),
                            sum(r < LOST_BELOW for r in rs) / n,
                            sum(c for m, c in methods.items() if m != "trafilatura") / n,
                            1000 * statistics.mean(ts), dict(methods)))
    return rows


def print_rows(rows: list[Row], out=sys.stdout) -> None:
    print(f"{'language':<9} {'page':<22} {'pages':>5} {'token P':>8} {'token R':>8} {'lost':>6} "
          f"{'fallback':>9} {'ms/page':>8}", file=out)
    for r in rows:
        print(f"{r.language:<9} {r.kind:<22} {r.pages:>5} {r.precision:>8.3f} {r.recall:>8.3f} {r.lost:>6.1%} "
              f"{r.fallbacks:>9.1%} {r.ms_per_page:>8.1f}", file=out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, help="folder with {en,ja,ko}.toml (default: the labelled corpus)")
    parser.add_argument("--no-feed", action="store_true", help="give the extractor no headline and no summary")
    parser.add_argument("--repeat", type=int, default=1, help="build each text's pages N times with other seeds")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = parser.parse_args()
    texts = load_texts(args.corpus)
    corpus = args.corpus or CORPUS_DIR
    source = str(corpus) if any(corpus.glob("*.toml")) else str(LABELLED.relative_to(ROOT))
    print(f"{sum(map(len, texts.values()))} texts ({source}); headline and summary given: {not args.no_feed}")
    rows = measure(texts, feed=not args.no_feed, repeat=args.repeat)
    print_rows(rows)
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in rows], indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
