"""Extraction that checks itself: the check, the choice among extractors, pages we built, the CLI.

Every page here is built by bench/pages.py or written below; the texts are ours.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bench.extraction_quality import LabelledText, build_page, measure, token_pr
from bench.pages import clean_page, heavy_page
from newswatch.cli import main
from newswatch.extract import PRIMARY, extract_page, keep_best
from newswatch.textcheck import check_text, content_tokens

WHEN = datetime(2026, 11, 3, 8, tzinfo=timezone.utc)

ARTICLES = {
    "ja": ("拉致被害者家族会が都内で集会、早期帰国を訴え",
           ["北朝鮮による拉致被害者の家族会は３日、東京都内で集会を開き、全ての被害者の早期帰国を政府に求めた。",
            "集会には約８００人が参加し、家族会の代表は「時間がない」と述べた。"]),
    "ko": ("납북자 가족회, 서울서 집회…조속한 송환 촉구",
           ["납북자 가족회는 3일 서울 도심에서 집회를 열고 정부에 조속한 송환 노력을 촉구했다.",
            "집회에는 약 800명이 참석했으며 가족회 대표는 시간이 없다고 말했다."]),
    "en": ("Abductees' families rally in Tokyo, urge swift return",
           ["Families of Japanese citizens abducted by North Korea held a rally in central Tokyo on Monday, "
            "urging the government to bring every victim home without delay.",
            "About 800 people attended, and the head of the families' association said time was running out."]),
}

TEASER_LIST = "\n".join([
    "Most read",
    "- Nigeria's police frees pupils after school abduction",
    "Police said three people had been detained for questioning.",
    "- G7 leaders ends summit with climate pledge",
    "- Kim Min-jae signs transfer to Bayern Munich",
    "- Toyota cuts growth forecast",
    "Analysts said the figures were better than expected.",
    "Latest news",
])
NOTICE = ("This copy is for your personal, non-commercial use only. To order presentation-ready copies for "
          "distribution, visit https://reprints.example/abductees-families-rally-in-tokyo-urge-swift-return")


def _body(lang: str) -> str:
    return "\n".join(ARTICLES[lang][1])


# -- the check ------------------------------------------------------------------------


@pytest.mark.parametrize("lang", sorted(ARTICLES))
def test_the_article_passes_the_check(lang: str) -> None:
    title, paragraphs = ARTICLES[lang]
    verdict = check_text(f"{title}\n" + "\n".join(paragraphs), title, paragraphs[0])
    assert verdict.ok and verdict.reason is None
    assert check_text("\n".join(paragraphs), title).ok  # the headline need not be in the text


def test_a_teaser_list_fails_as_teaser_list() -> None:
    verdict = check_text(TEASER_LIST, ARTICLES["en"][0], ARTICLES["en"][1][0])
    assert not verdict.ok and verdict.reason == "teaser list"
    # Without a headline or summary, the shape alone decides.
    assert check_text(TEASER_LIST).reason == "teaser list"
    assert check_text("\n".join(ARTICLES["en"][1])).ok


@pytest.mark.parametrize("lang", ["ja", "ko"])
def test_a_teaser_list_sharing_trap_words_with_the_headline_fails(lang: str) -> None:
    # Other stories about a summit or an abduction elsewhere share words with the headline.
    teasers = {
        "ja": ["ナイジェリア警察、学校拉致事件で生徒解放", "G7首脳、気候で合意し首脳会談閉幕", "日銀、数年ぶりに利上げ",
               "トヨタ、成長見通しを下方修正", "台風10号、九州に上陸"],
        "ko": ["나이지리아 경찰 학교 납치 사건 학생 석방", "G7 정상 기후 합의하고 정상회의 폐막", "한국은행 수년 만에 금리 인상",
               "삼성전자 분기 최대 실적", "태풍 하이선 규슈 상륙"],
    }[lang]
    verdict = check_text("\n".join(teasers), ARTICLES[lang][0], ARTICLES[lang][1][0])
    assert not verdict.ok and verdict.reason == "teaser list"


def test_a_reprint_notice_alone_is_unrelated_to_the_headline() -> None:
    # Its link spells out the headline: web addresses do not count.
    verdict = check_text(NOTICE, ARTICLES["en"][0])
    assert not verdict.ok and verdict.reason == "unrelated to the headline"
    assert check_text("", ARTICLES["en"][0]).reason == "no text"


def test_a_headline_alone_fails_as_headline_only() -> None:
    title, paragraphs = ARTICLES["en"]
    assert check_text(title, title).reason == "headline only"
    assert check_text(f"{title}\n{title.upper()}", title, paragraphs[0]).reason == "headline only"
    assert check_text(f"{title}\n{paragraphs[1]}", title).ok
    assert check_text(title).ok  # nothing to compare with


def test_the_check_ignores_case_and_width() -> None:
    title, paragraphs = ARTICLES["en"]
    shouted = "\n".join(paragraphs).upper()
    assert check_text(shouted, title).ok
    assert check_text("\n".join(ARTICLES["ja"][1]), ARTICLES["ja"][0].replace("、", "，")).ok


# -- choosing among candidates ----------------------------------------------------------


def test_keep_best_rejects_a_notice_only_text_for_the_next_candidate() -> None:
    title, paragraphs = ARTICLES["en"]
    method, text, reason = keep_best([(PRIMARY, NOTICE), ("trafilatura-recall", "\n".join(paragraphs))], title, None)
    assert (method, reason) == ("trafilatura-recall", "unrelated to the headline")
    assert text.startswith("Families of Japanese citizens")


def test_keep_best_draws_fallbacks_only_when_needed() -> None:
    drawn = []

    def candidates():
        yield PRIMARY, "\n".join(ARTICLES["en"][1])
        drawn.append("fallback")
        yield "trafilatura-recall", "anything"

    assert keep_best(candidates(), ARTICLES["en"][0], None)[0] == PRIMARY
    assert drawn == []


def test_keep_best_keeps_the_first_when_nothing_passes() -> None:
    method, text, reason = keep_best([(PRIMARY, TEASER_LIST), ("trafilatura-baseline", TEASER_LIST)],
                                     ARTICLES["en"][0], None)
    assert (method, text, reason) == (PRIMARY, TEASER_LIST, "teaser list; no candidate passed")


# -- pages we built ------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["ja", "ko"])
def test_a_short_cjk_article_in_english_chrome_is_not_replaced_by_teasers(lang: str) -> None:
    """On heavy pages with neutral class names and their chrome left in, trafilatura alone
    sometimes keeps a block of chrome instead of a short Japanese or Korean article; the
    check catches it and a fallback finds the article."""
    title, paragraphs = ARTICLES[lang]
    body = "\n".join(paragraphs)
    first_failed = 0
    for seed in range(40):
        html = heavy_page(title, paragraphs, WHEN, lang, seed=seed, chrome_language="en")
        alone = extract_page(html, "https://news.example/a.html", fallbacks=(), prune=False)
        page = extract_page(html, "https://news.example/a.html", headline=title, prune=False)
        assert token_pr(page.text, body)[1] >= 0.9, (seed, page.method_note, page.text[:300])
        if token_pr(alone.text, body)[1] < 0.5:
            first_failed += 1
            assert page.method != PRIMARY and page.fallback_reason in ("teaser list", "unrelated to the headline")
            assert "abduction" not in page.text and "summit" not in page.text
    assert first_failed >= 1  # the failure this guards against did happen on these pages


def test_an_article_laid_out_in_a_table_is_kept() -> None:
    title, paragraphs = ARTICLES["en"]
    cells = "".join(f"<tr><td class='txt'>{p}</td></tr>" for p in paragraphs)
    html = (f"<html lang='en'><head><title>{title}</title></head><body><table width='100%'><tr><td>"
            f"<a href='/'>Home</a> | <a href='/news'>News</a></td></tr><tr><td><h1>{title}</h1>"
            f"<table>{cells}</table></td></tr><tr><td>© 2026 Example</td></tr></table></body></html>")
    page = extract_page(html, "https://news.example/t.html", headline=title)
    assert token_pr(page.text, "\n".join(paragraphs))[1] >= 0.95
    import trafilatura  # tables left out, as before: the article is lost

    assert token_pr(trafilatura.extract(html, include_tables=False, favor_precision=True), "\n".join(paragraphs))[1] < 0.5
    assert page.method == PRIMARY and page.fallback_reason is None


@pytest.mark.parametrize("lang", sorted(ARTICLES))
def test_clean_pages_keep_the_article_with_the_first_extractor(lang: str) -> None:
    title, paragraphs = ARTICLES[lang]
    page = extract_page(clean_page(title, paragraphs, WHEN, lang, seed=3), "https://news.example/c.html",
                        headline=title, summary=paragraphs[0])
    precision, recall = token_pr(page.text, f"{title}\n" + "\n".join(paragraphs))
    assert recall == 1.0 and precision >= 0.95
    assert (page.method, page.fallback_reason, page.language) == (PRIMARY, None, lang)


# -- the page builder and the measure ------------------------------------------------------------


def test_pages_are_deterministic_by_seed_and_carry_trap_words() -> None:
    title, paragraphs = ARTICLES["ja"]
    a = heavy_page(title, paragraphs, WHEN, "ja", seed=5, chrome_language="en")
    assert a == heavy_page(title, paragraphs, WHEN, "ja", seed=5, chrome_language="en")
    assert a != heavy_page(title, paragraphs, WHEN, "ja", seed=6, chrome_language="en")
    own = heavy_page(title, paragraphs, WHEN, "ja", seed=5)
    assert "Most read" in a and "アクセスランキング" in own and "Most read" not in own
    assert any(w in own for w in ("拉致", "首脳"))
    assert 30_000 <= len(a.encode()) <= 220_000
    assert len(heavy_page(title, paragraphs, WHEN, "ja", seed=5, weight=60_000).encode()) >= 60_000


def test_token_precision_and_recall() -> None:
    assert content_tokens("Kim's SUMMIT, 首脳会談!") == ["kim", "s", "summit", "首", "脳", "会", "談"]
    assert token_pr("a b c", "a b c") == (1.0, 1.0)
    assert token_pr("a b", "a b c d") == (1.0, 0.5)
    assert token_pr("拉致 問題 です", "拉致問題") == (4 / 6, 1.0)
    assert token_pr("", "x") == (0.0, 0.0) and token_pr("", "") == (1.0, 1.0)


def test_the_quality_measure_reports_every_kind() -> None:
    texts = {lang: [LabelledText(lang, title, tuple(paragraphs), paragraphs[0])]
             for lang, (title, paragraphs) in ARTICLES.items()}
    rows = measure(texts)
    assert {(r.language, r.kind) for r in rows} == {
        ("en", "clean"), ("en", "heavy, English chrome"), ("ja", "clean"), ("ja", "heavy, English chrome"),
        ("ja", "heavy, own chrome"), ("ko", "clean"), ("ko", "heavy, English chrome"), ("ko", "heavy, own chrome")}
    assert all(r.pages == 1 and 0 <= r.precision <= 1 and r.recall == 1.0 for r in rows)
    assert "首脳" not in build_page(texts["ja"][0], "clean", 1)


# -- the command line -----------------------------------------------------------------------


def test_cli_extract_prints_text_and_method(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    title, paragraphs = ARTICLES["ko"]
    page = tmp_path / "ko.html"
    page.write_text(clean_page(title, paragraphs, WHEN, "ko", seed=1), encoding="utf-8")
    assert main(["extract", str(page)]) == 0
    out = capsys.readouterr().out
    assert f"== {page}" in out and paragraphs[0] in out
    assert "language:        ko" in out and f"method:          {PRIMARY}" in out and "fallback reason: -" in out


def test_cli_extract_json_and_bad_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    title, paragraphs = ARTICLES["ja"]
    good = tmp_path / "ja.html"
    shift_jis = clean_page(title, paragraphs, WHEN, "ja").replace('charset="utf-8"', 'charset="shift_jis"')
    good.write_bytes(shift_jis.encode("cp932", "xmlcharrefreplace"))
    code = main(["extract", "--json", str(tmp_path / "missing.html"), str(tmp_path), str(good)])
    captured = capsys.readouterr()
    assert code == 1
    errors = captured.err.strip().splitlines()
    assert len(errors) == 2 and all(e.startswith("newswatch: cannot read ") for e in errors)
    assert "Traceback" not in captured.err
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert len(records) == 1 and records[0]["file"] == str(good)
    assert paragraphs[1] in records[0]["text"] and records[0]["language"] == "ja"
    assert records[0]["method"] == PRIMARY and records[0]["fallback_reason"] is None


def test_cli_extract_lists_the_chrome_it_removed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    title, paragraphs = ARTICLES["ja"]
    page = tmp_path / "heavy.html"
    page.write_text(heavy_page(title, paragraphs, WHEN, "ja", seed=3, chrome_language="en"), encoding="utf-8")
    assert main(["extract", "--json", str(page)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["removed"] and any(r.startswith("teaser rail: ") for r in record["removed"])
    assert paragraphs[0] in record["text"]
    assert main(["extract", str(page)]) == 0
    assert f"chrome removed:  {len(record['removed'])} block(s)" in capsys.readouterr().out
