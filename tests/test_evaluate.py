"""The labelled corpus and the evaluation command that scores relevance and rules on it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from monitors.engine import load_rules
from monitors.evaluate import EvalInputError, Labelled, checks_of, disagreements, parse_record, run, score
from monitors.topic import load_topic

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "bench" / "corpus" / "corpus.jsonl"
ROWS = [json.loads(line) for line in CORPUS.read_text("utf-8").splitlines()]
ORIGINALS = [r for r in ROWS if r["variant"] == "original"]


def newswatch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "newswatch.cli", *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


def test_the_corpus_is_what_the_build_script_makes() -> None:
    sys.path.insert(0, str(ROOT / "bench" / "corpus"))
    try:
        import build
    finally:
        sys.path.pop(0)
    assert CORPUS.read_text("utf-8") == build.render(build.records()), "stale: run python bench/corpus/build.py"


def test_the_corpus_is_large_and_covers_every_language_label_and_kind() -> None:
    assert len(ORIGINALS) >= 200
    for lang in ("en", "ja", "ko"):
        mine = [r for r in ORIGINALS if r["language"] == lang]
        for split in ("tune", "held-out"):
            part = [r for r in mine if r["split"] == split]
            assert part, (lang, split)
        assert sum(r["summit"] for r in mine) >= 10 and sum(r["abductees"] for r in mine) >= 10
        kinds = Counter(r["kind"] for r in mine)
        assert {"positive", "indirect", "related", "trap", "off-topic"} <= set(kinds)
        assert len({r["trap"] for r in mine if r["trap"]}) >= 7
    # syndication groups and same-event pairs
    variants = Counter(r["variant"] for r in ROWS)
    assert {"new-headline", "trimmed", "reordered", "wrapped", "trimmed-wrapped"} <= set(variants)
    events = Counter(r["event"] for r in ORIGINALS if r["event"])
    assert len(events) >= 15 and set(events.values()) == {2}
    # a story never straddles the splits
    splits: dict[str, set[str]] = {}
    for r in ROWS:
        splits.setdefault(r["event"] or r["group"], set()).add(r["split"])
    assert all(len(s) == 1 for s in splits.values())


def test_scores_and_disagreements_are_computed_from_the_labels() -> None:
    rules = load_rules()
    items = [
        Labelled("a", "Takaichi seeks a summit with Kim Jong Un", "The prime minister wants to meet Kim Jong Un.",
                 "en", {"relevant": True, "summit": True, "abductees": True}),
        Labelled("b", "Rain", "2日朝、雨が降った。", "ja", {"relevant": False, "summit": True}),
    ]
    outcomes = run(items, load_topic(), rules)
    report = score(outcomes, checks_of(rules))
    summit = report.scores[("summit", "all")]
    assert (summit.tp, summit.fp, summit.fn) == (1, 0, 1)
    assert report.scores[("abductees", "en")].fn == 1 and ("abductees", "ja") not in report.scores
    wrong = {(o.item.id, check, kind) for o, check, kind in disagreements(outcomes, checks_of(rules))}
    assert wrong == {("a", "abductees", "missed"), ("b", "summit", "missed")}


@pytest.mark.parametrize("record, message", [
    ({"title": 1}, "needs a title or a body"),
    ({"title": "x", "summit": "yes"}, "must be true or false"),
    ([1, 2], "expected a JSON object"),
])
def test_bad_records_are_refused_with_a_reason(record: object, message: str) -> None:
    with pytest.raises(EvalInputError, match=message):
        parse_record(record, "f.jsonl:3", ["summit"])


def test_eval_prints_a_table_and_every_disagreement(tmp_path: Path) -> None:
    path = tmp_path / "labelled.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"id": "hit", "title": "Takaichi seeks summit with Kim Jong Un", "body": "She wants a summit with Kim Jong Un.",
         "language": "en", "relevant": True, "summit": True, "abductees": False},
        {"id": "trap", "title": "翌日朝の天気", "body": "2日朝、東京で雨が降った。", "language": "ja",
         "relevant": True, "summit": False, "abductees": False},
    ]), "utf-8")
    done = newswatch("eval", str(path))
    assert done.returncode == 0, done.stderr
    assert "relevant    ja" in done.stdout and "summit      en" in done.stdout
    assert "1 disagreements" in done.stdout and "- trap [ja] relevant missed" in done.stdout


def test_eval_without_labels_lists_what_fires(tmp_path: Path) -> None:
    path = tmp_path / "plain.jsonl"
    path.write_text(json.dumps({"title": "拉致被害者の家族が会見", "body": "横田めぐみさんの帰国を求めた。"},
                               ensure_ascii=False) + "\n", "utf-8")
    done = newswatch("eval", str(path))
    assert done.returncode == 0, done.stderr
    assert "abductees" in done.stdout and "no labels" in done.stdout


@pytest.mark.parametrize("content, message", [
    (None, "cannot read"), ("{not json}\n", "not JSON"), ("", "no texts"),
])
def test_eval_errors_are_one_plain_line(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "x.jsonl"
    if content is not None:
        path.write_text(content, "utf-8")
    done = newswatch("eval", str(path))
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_eval_runs_on_the_whole_corpus() -> None:
    done = newswatch("eval", str(CORPUS))
    assert done.returncode == 0, done.stderr
    assert f"{len(ROWS)} labelled texts" in done.stdout
