"""Full-text search in English, Japanese and Korean over the demo newsroom."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from newswatch.demo.server import DemoNewsroom
from newswatch.fetch import FetchSettings
from newswatch.pipeline import run_cycle
from newswatch.search import tokens
from warehouse.db import search


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
    assert hit.returncode == 0 and "拉致被害者家族会" in hit.stdout.splitlines()[2]
    miss = run("zzzz")
    assert miss.returncode == 1 and "No article matches" in miss.stderr
