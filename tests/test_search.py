"""Full-text search in English, Japanese and Korean over the demo newsroom."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from newswatch.demo.server import DemoNewsroom
from newswatch.fetch import FetchSettings
from newswatch.pipeline import run_cycle
from newswatch.passages import PASSAGE_UNITS, size
from newswatch.search import result_snippet, tokens
from warehouse.search import search


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("search") / "w.duckdb"
    with DemoNewsroom() as room:
        run_cycle(db, room.feeds(), FetchSettings(min_gap=0.02), progress=lambda *a: None)
    return db


def titles(db: Path, text: str) -> list[str]:
    return [h["title"] for h in search(db, tokens(text))]


def test_tokens_keep_cjk_as_bigrams_and_latin_as_words() -> None:
    assert tokens("拉致被害者") == ["拉致", "致被", "被害", "害者"]
    assert tokens("납북자와 Megumi YOKOTA!") == ["납북", "북자", "자와", "megumi", "yokota"]
    assert tokens("ヨコタ") == tokens("よこた")
    assert tokens("ＡＰＥＣ") == ["apec"]


@pytest.mark.parametrize("query, expected_first", [
    ("拉致被害者", "拉致被害者家族会が都内で集会"),
    ("特定失踪者", "「兄は今もどこかに」 特定失踪者の家族"),
    ("납북자", "납북자·국군포로 가족들"),
    ("조일 수뇌회담", "다카이치 총리 \"김정은 위원장과 직접 만날 용의\""),
    ("Chongryon", "Chongryon's narrowing channel"),
    ("sanctions port entry", "Japan extends unilateral sanctions on North Korea"),
])
def test_search_ranks_the_article_about_it_first(archive: Path, query: str, expected_first: str) -> None:
    found = titles(archive, query)
    assert found and found[0].startswith(expected_first), found


def test_every_word_of_the_query_must_match(archive: Path) -> None:
    both = titles(archive, "Megumi Yokota")
    assert both and all("abduct" in t.lower() or "abductees" in t.lower() for t in both)
    assert titles(archive, "Megumi zeppelin") == []
    assert titles(archive, "野球") == []  # off-topic articles are not indexed


def test_the_search_command(archive: Path) -> None:
    run = lambda *a: subprocess.run([sys.executable, "-m", "newswatch.cli", "search", *a, "--db", str(archive)],  # noqa: E731
                                    capture_output=True, text=True, env=os.environ.copy())
    hit = run("拉致")
    assert hit.returncode == 0 and hit.stdout.splitlines()[0].startswith("1. 拉致被害者家族会"), hit.stdout
    miss = run("zzzz")
    assert miss.returncode == 1 and "No article matches" in miss.stderr


def test_search_results_show_the_link_and_a_marked_snippet(archive: Path) -> None:
    run = lambda *a: subprocess.run([sys.executable, "-m", "newswatch.cli", "search", *a, "--db", str(archive)],  # noqa: E731
                                    capture_output=True, text=True, env=os.environ.copy())
    for query, marked in [("拉致被害者", "[拉致被害者]"), ("Chongryon", "[Chongryon]"), ("납북자", "[납북자]")]:
        out = run(query, "--limit", "3")
        assert out.returncode == 0, out.stderr
        results = out.stdout.strip().split("\n\n")
        assert len(results) == len(search(archive, tokens(query), limit=3))
        for n, result in enumerate(results, 1):
            title, about, url, snippet = result.splitlines()
            assert title.startswith(f"{n}. ")
            assert re.fullmatch(r"   .+ · \d{4}-\d{2}-\d{2} · story \d+ · score \d+\.\d\d", about), about
            assert re.fullmatch(r"   http://127\.0\.0\.1:\d+/\S+\.html", url), url  # the canonical link
            assert marked in snippet, result
            assert size(snippet) <= PASSAGE_UNITS, snippet  # about 30 English words, 60 CJK characters


# -- snippets, without a warehouse ------------------------------------------------------------

EN = ("Relatives of the abductees met the prime minister on Tuesday. The delegation was led by "
      "Takuya Yokota, whose sister Megumi Yokota was taken in 1977 at the age of thirteen, and "
      "it asked the government to set a date for talks before the families grow too old to wait.")
JA = ("政府は二十日、北朝鮮による日本人拉致被害者の家族会と首相官邸で面会し、"
      "早期の帰国実現に向けて全力を尽くす考えを改めて伝えた。家族会の代表は、親の世代が高齢になり、"
      "残された時間は少ないと訴えた。")


def test_a_snippet_marks_the_query_and_cuts_between_words() -> None:
    s = result_snippet(EN, "megumi YOKOTA")
    assert "⟦Megumi⟧ ⟦Yokota⟧" in s and "⟦Yokota⟧" in s.split("⟦Megumi⟧")[0]  # every occurrence in the window
    assert s.startswith("…") and s.endswith("…")
    words = set(EN.replace(",", " ").replace(".", " ").split())
    first, last = s[1:].split()[0], s[:-1].split()[-1]
    assert first.strip(",.") in words and last.strip(",.") in words  # no word cut in half at either end
    assert size(s) <= PASSAGE_UNITS


def test_a_japanese_snippet_is_bounded_by_characters() -> None:
    s = result_snippet(JA * 3, "拉致被害者")
    assert "⟦拉致被害者⟧" in s
    assert size(s) <= PASSAGE_UNITS and len(s) <= PASSAGE_UNITS + len("⟦⟧…。") * 2, s
    # Folded as the rules fold: hiragana finds katakana, full-width finds ASCII.
    assert "⟦ヨコタ⟧" in result_snippet("家族会のヨコタ代表は訴えた。", "よこた")
    assert "⟦APEC⟧" in result_snippet("Leaders met at APEC in Gyeongju.", "ＡＰＥＣ")


def test_a_snippet_falls_back_to_character_pairs_then_to_the_beginning() -> None:
    assert "⟦家族⟧" in result_snippet(JA, "拉致家族") and "⟦拉致⟧" in result_snippet(JA, "拉致家族")
    head = result_snippet(EN, "zeppelin")
    assert head.startswith("Relatives of the abductees") and head.endswith("…") and "⟦" not in head
    assert size(head) <= PASSAGE_UNITS
    assert result_snippet(None, "anything") == ""


def test_a_snippet_skips_the_headline_at_the_start_of_the_text() -> None:
    title = "Abductees' relatives meet the prime minister"
    s = result_snippet(f"{title}\n\n{EN}", "prime minister", title)
    assert s.startswith("Relatives of the abductees met the ⟦prime⟧ ⟦minister⟧")
