"""Signal quality on our labelled corpus: relevance, the alert rules, story grouping, extraction.

    python3 bootstrap.py quality [--split held-out|tune|all] [--kcna PATH] [--json FILE]

Reads bench/corpus/corpus.jsonl (written by bench/corpus/build.py from the
articles we wrote) and measures, separately for the tuning part and the
held-out part that nothing is tuned on:

1. **text**: relevance and every rule on the articles' own text
   (what ``newswatch eval`` prints), per language;
2. **pipeline**: every article and syndicated copy served as pages by real
   HTTP servers on 127.0.0.1, with an RSS feed per outlet, and run through a
   whole cycle (poll, fetch, extract, judge, group into stories, append,
   alert) into a fresh DuckDB file, twice: as **clean** pages and inside
   **heavy** chrome (menus, teaser rails and "most read" boxes; English
   chrome around half the Japanese and Korean pages, the page's own language
   around the rest). From the warehouse it scores, per language:
   relevance and each rule (an article counts as alerted when its story has
   that rule's alert), story grouping (pairwise over the texts that went
   into stories: precision, recall, F1, and merges of two different
   articles about one event), and extraction (token precision of the extracted text
   against the article's headline and body, recall against its body).

With ``--kcna PATH`` (a clone of stiles/north-korea-news) it adds each
rule's firings and precision on real KCNA items against our verdicts
(bench/kcna.py). Prints tables and writes bench/results/quality.json.
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import combinations
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.extraction_quality import token_pr  # noqa: E402
from bench.pages import clean_page, heavy_page  # noqa: E402
from monitors.engine import load_rules  # noqa: E402
from monitors.evaluate import Labelled, Score, checks_of, run, score  # noqa: E402
from monitors.topic import load_topic  # noqa: E402
from newswatch.fetch import FetchSettings  # noqa: E402
from newswatch.opml import FeedSource  # noqa: E402

CORPUS = ROOT / "bench" / "corpus" / "corpus.jsonl"
RESULTS = ROOT / "bench" / "results" / "quality.json"
LANGUAGES = ("en", "ja", "ko")
MODES = ("clean", "heavy")
OUTLETS = ("origin", "wire", "reprint")  # originals on the first; copies spread over the others


def load_corpus(path: Path = CORPUS) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def paragraphs(body: str) -> list[str]:
    return [p for p in body.split("\n\n") if p.strip()]


# -- the text alone -------------------------------------------------------------------


def text_scores(rows: list[dict]) -> dict[str, dict[str, dict]]:
    """check → language → figures, on the articles' own text (originals only: each story once)."""
    rules = load_rules()
    checks = checks_of(rules)
    items = [Labelled(r["id"], r["title"], r["body"], r["language"], {c: r[c] for c in checks})
             for r in rows if r["variant"] == "original"]
    report = score(run(items, load_topic(), rules), checks)
    return {c: {lang: _figures(s) for (check, lang), s in report.scores.items() if check == c} for c in checks}


def _figures(s: Score) -> dict:
    return {"n": s.tp + s.fp + s.fn + s.tn, "positives": s.tp + s.fn, "tp": s.tp, "fp": s.fp, "fn": s.fn,
            "precision": round(s.precision, 4), "recall": round(s.recall, 4), "f1": round(s.f1, 4)}


# -- the web ----------------------------------------------------------------------------


@dataclass
class CorpusWeb:
    """The corpus as outlets on 127.0.0.1: one server per outlet, an RSS feed each."""

    rows: list[dict]
    mode: str
    servers: list[ThreadingHTTPServer] = field(default_factory=list)
    pages: dict[tuple[int, str], tuple[str, bytes]] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)  # corpus id → page URL

    def outlet_of(self, row: dict, n: int) -> str:
        if row["variant"] == "original":
            return f"{row['language']}-origin"
        return f"{row['language']}-{OUTLETS[1 + n % (len(OUTLETS) - 1)]}"

    def page(self, row: dict, n: int, when: datetime) -> str:
        paras = paragraphs(row["body"])
        if self.mode == "clean":
            return clean_page(row["title"], paras, when, row["language"], seed=n)
        chrome = "en" if row["language"] != "en" and n % 2 == 0 else row["language"]
        return heavy_page(row["title"], paras, when, row["language"], seed=n, chrome_language=chrome)

    def start(self) -> "CorpusWeb":
        web = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                found = web.pages.get((self.server.server_address[1], urlsplit(self.path).path))
                status, (ctype, body) = (200, found) if found else (404, ("text/plain", b"not found"))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        outlets = sorted({self.outlet_of(r, n) for n, r in enumerate(self.rows)})
        base: dict[str, tuple[int, str]] = {}
        for name in outlets:
            srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            srv.daemon_threads = True
            self.servers.append(srv)
            port = srv.server_address[1]
            base[name] = (port, f"http://127.0.0.1:{port}")
        items: dict[str, list[str]] = defaultdict(list)
        start = datetime(2026, 11, 1, tzinfo=timezone.utc)
        for n, row in enumerate(self.rows):
            outlet = self.outlet_of(row, n)
            port, root = base[outlet]
            when = start + timedelta(minutes=7 * n)
            path = f"/news/{row['id'].replace('~', '-')}.html"
            self.urls[row["id"]] = root + path
            self.pages[(port, path)] = ("text/html; charset=utf-8", self.page(row, n, when).encode())
            summary = row.get("summary") or paragraphs(row["body"])[0][:200]
            items[outlet].append(
                f"<item><title>{html.escape(row['title'])}</title><link>{root}{path}</link>"
                f"<guid isPermaLink='true'>{root}{path}</guid><pubDate>{format_datetime(when)}</pubDate>"
                f"<description>{html.escape(summary)}</description></item>")
        for outlet, (port, _root) in base.items():
            feed = (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{outlet}</title>"
                    + "".join(items[outlet]) + "</channel></rss>")
            self.pages[(port, "/feed.xml")] = ("application/rss+xml", feed.encode())
        for srv in self.servers:
            threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
        self.feeds = [FeedSource(f"{root}/feed.xml", name) for name, (_port, root) in base.items()]
        return self

    def stop(self) -> None:
        for srv in self.servers:
            srv.shutdown()
            srv.server_close()


# -- through the pipeline -----------------------------------------------------------------


def run_pipeline(rows: list[dict], mode: str, workdir: Path) -> dict:
    """One cycle over the corpus served in *mode*; returns what the warehouse holds, by corpus id."""
    from newswatch.pipeline import run_cycle
    from warehouse.connection import connect

    seeds = workdir / "no-seeds"
    seeds.mkdir(parents=True, exist_ok=True)
    (seeds / "manifest.toml").write_text("seed = []\n", "utf-8")
    db = workdir / f"quality-{mode}.duckdb"
    web = CorpusWeb(rows, mode).start()
    try:
        t0 = time.perf_counter()
        settings = FetchSettings(min_gap=0.0, per_host=4, retries=0)
        run_cycle(db, web.feeds, settings, seeds_dir=seeds, progress=lambda *a: None)
        seconds = time.perf_counter() - t0
    finally:
        web.stop()
    con = connect(db, read_only=True)
    try:
        stored = {url: (relevant, story, text) for url, relevant, story, text in con.execute(
            "SELECT coalesce(final_url, url), relevant, story_id, text FROM article").fetchall()}
        # What extraction kept of each page (on-topic or not), from the entry it came from.
        extracted = dict(con.execute("SELECT link, text FROM entry").fetchall())
        alerted = defaultdict(set)
        for rule, story in con.execute("SELECT rule, story_id FROM alerts").fetchall():
            alerted[story].add(rule)
    finally:
        con.close()
    out = {}
    for row in rows:
        url = web.urls[row["id"]]
        relevant, story, _text = stored.get(url, (None, None, None))
        out[row["id"]] = {"stored": url in stored, "relevant": relevant, "story": story,
                          "text": extracted.get(url), "rules": sorted(alerted.get(story, ()))}
    return {"seconds": seconds, "articles": out}


def pipeline_scores(rows: list[dict], result: dict) -> dict[str, dict]:
    """Per language: relevance and rules (originals), grouping (relevant stories' copies), extraction (all)."""
    arts = result["articles"]
    rules = [r.id for r in load_rules()]
    out: dict[str, dict] = {}
    for lang in (*LANGUAGES, "all"):
        mine = [r for r in rows if lang == "all" or r["language"] == lang]
        if not mine:
            continue
        checks: dict[str, Score] = defaultdict(Score)
        for r in (r for r in mine if r["variant"] == "original"):
            a = arts[r["id"]]
            checks["relevant"].add(bool(a["relevant"]), r["relevant"])
            for rule in rules:
                checks[rule].add(rule in a["rules"], r[rule])
        figures: dict = {c: _figures(s) for c, s in checks.items()}
        # Story grouping: every pair of texts that both went into stories (judged relevant), so that a
        # relevance miss is not counted twice; a pair is a copy pair when it shares a group.
        pairs = Score()
        event_merges = 0
        grouped = [r for r in mine if arts[r["id"]]["story"] is not None]
        for a, b in combinations(grouped, 2):
            sa, sb = arts[a["id"]]["story"], arts[b["id"]]["story"]
            merged = sa == sb
            same = a["group"] == b["group"]
            pairs.add(merged, same)
            if merged and not same and a["event"] and a["event"] == b["event"]:
                event_merges += 1
        figures["grouping"] = {**_figures(pairs), "same_event_merges": event_merges}
        precisions, recalls, lost = [], [], 0
        for r in mine:
            p, _ = token_pr(arts[r["id"]]["text"], f"{r['title']}\n{r['body']}")  # a kept headline is no chrome
            _, rc = token_pr(arts[r["id"]]["text"], r["body"])
            precisions.append(p)
            recalls.append(rc)
            lost += rc < 0.5
        figures["extraction"] = {"pages": len(mine), "precision": round(sum(precisions) / len(mine), 4),
                                 "recall": round(sum(recalls) / len(mine), 4), "lost": lost}
        out[lang] = figures
    return out


# -- report -------------------------------------------------------------------------------


def print_tables(results: dict) -> None:
    for split, res in results["splits"].items():
        print(f"\n== {split}: {res['articles']} articles, {res['texts']} texts with copies")
        print(f"{'':<26}" + "".join(f"{lang:>22}" for lang in (*LANGUAGES, "all")))
        print(f"{'':<26}" + "".join(f"{'P     R     F1':>22}" for _ in (*LANGUAGES, "all")))
        for check in res["text"]:
            cells = [res["text"][check].get(lang) for lang in (*LANGUAGES, "all")]
            print(f"{'text   ' + check:<26}" + "".join(_cell(c) for c in cells))
        for mode in MODES:
            if mode not in res["pipeline"]:
                continue
            figs = res["pipeline"][mode]["scores"]
            langs = [lang if lang in figs else None for lang in (*LANGUAGES, "all")]
            for check in [*res["text"], "grouping"]:
                print(f"{mode + ' ' + check:<26}" + "".join(_cell(figs[lang].get(check) if lang else None) for lang in langs))
            print(f"{mode + ' same-event merges':<26}"
                  + "".join(f"{figs[lang]['grouping']['same_event_merges'] if lang else '-':>22}" for lang in langs))
            print(f"{mode + ' extraction P/R':<26}"
                  + "".join(f"{figs[lang]['extraction']['precision']:>13.3f} {figs[lang]['extraction']['recall']:.3f}"
                            if lang else f"{'-':>22}" for lang in langs))
            print(f"{mode + ' bodies lost':<26}"
                  + "".join(f"{figs[lang]['extraction']['lost'] if lang else '-':>22}" for lang in langs))
    if "kcna" in results:
        print("\n== KCNA (real items, our verdicts)")
        k = results["kcna"]
        print(f"{k['texts']} distinct texts; relevance passes {k['relevant']}")
        for rule, f in k["rules"].items():
            print(f"  {rule:<12} fired {f['fired']:>4}  right {f['right']:>4}  wrong {f['wrong']:>4}  "
                  f"unreviewed {f['unreviewed']:>4}  precision {f['precision']}")


def _cell(c: dict | None) -> str:
    if not c:
        return f"{'-':>22}"
    return f"{c['precision']:>10.3f} {c['recall']:.3f} {c['f1']:.3f}"


def kcna_figures(source: Path) -> dict:
    import tomllib

    from bench.kcna import VERDICTS, key_of, load_items

    items = load_items(source)
    verdicts = tomllib.loads(VERDICTS.read_text("utf-8"))
    out: dict = {"texts": len(items), "rules": {}}
    for rule in load_rules():
        mine = verdicts.get(rule.id, {})
        fired = [i for i in items if rule.match(i.get("headline"), i["story_text"])]
        right = sum(mine.get(key_of(i), {}).get("right") is True for i in fired)
        wrong = sum(mine.get(key_of(i), {}).get("right") is False for i in fired)
        out["rules"][rule.id] = {"fired": len(fired), "right": right, "wrong": wrong,
                                 "unreviewed": len(fired) - right - wrong,
                                 "precision": round(right / (right + wrong), 4) if right + wrong else None}
    topic = load_topic()
    out["relevant"] = sum(topic.judge(i.get("headline"), i["story_text"]).relevant for i in items)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=["held-out", "tune", "all"], default="all",
                        help="which part of the corpus to measure (default: both, reported apart)")
    parser.add_argument("--modes", default="clean,heavy", help="page kinds to serve (default clean,heavy)")
    parser.add_argument("--no-pipeline", action="store_true", help="only the text-level scores (seconds, not minutes)")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="the labelled corpus (JSON Lines)")
    parser.add_argument("--kcna", type=Path, metavar="PATH", help="a clone of stiles/north-korea-news (optional)")
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"where to write the figures (default {RESULTS})")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    rows = load_corpus(args.corpus)
    splits = ["tune", "held-out"] if args.split == "all" else [args.split]
    modes = [m for m in args.modes.split(",") if m in MODES]
    results: dict = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "splits": {}}
    with tempfile.TemporaryDirectory(prefix="newswatch-quality-") as tmp:
        for split in splits:
            part = [r for r in rows if r["split"] == split]
            res: dict = {"articles": sum(r["variant"] == "original" for r in part), "texts": len(part),
                         "text": text_scores(part), "pipeline": {}}
            if not args.no_pipeline:
                for mode in modes:
                    print(f"{split}: serving {len(part)} texts as {mode} pages and running a cycle…",
                          file=sys.stderr, flush=True)
                    outcome = run_pipeline(part, mode, Path(tmp) / split)
                    res["pipeline"][mode] = {"seconds": round(outcome["seconds"], 1),
                                             "scores": pipeline_scores(part, outcome)}
            results["splits"][split] = res
    if args.kcna:
        results["kcna"] = kcna_figures(args.kcna)
    print_tables(results)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False), "utf-8")
    print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
