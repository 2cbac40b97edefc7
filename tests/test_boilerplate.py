"""Chrome found by structure: teaser rails, record lists, control boxes, and what must stay.

Every page here is written below or built by bench/pages.py; the texts are ours.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from lxml import html as lxml_html

from bench.extraction_quality import token_pr
from bench.pages import heavy_page
from newswatch.boilerplate import chrome_blocks, prune_chrome
from newswatch.extract import PRIMARY, extract_page
from tests.test_extract import ARTICLES

WHEN = datetime(2026, 11, 3, 8, tzinfo=timezone.utc)

# Other stories, with the words alert rules look for, about other events.
TEASERS = {
    "en": ["Nigeria's police free pupils after school abduction", "G7 leaders end summit with climate pledge",
           "Central bank raises rates for first time in years", "Typhoon makes landfall in Kyushu"],
    "ja": ["ナイジェリア警察、学校拉致事件で生徒解放", "G7首脳、気候で合意し首脳会談閉幕", "日銀、数年ぶりに利上げ",
           "台風10号、九州に上陸"],
    "ko": ["나이지리아 경찰 학교 납치 사건 학생 석방", "G7 정상 기후 합의하고 정상회의 폐막", "한국은행 수년 만에 금리 인상",
           "태풍 하이선 규슈 상륙"],
}
BLURB = {"en": "Officials said the decision followed weeks of talks.", "ja": "関係者によると、月曜日に決定した。",
         "ko": "관계자는 월요일 결정했다고 밝혔다."}


def _page(body: str, lang: str = "en") -> str:
    return f"<!DOCTYPE html><html lang='{lang}'><head><title>Page</title></head><body>{body}</body></html>"


def _rail(lang: str, heading: str = "More stories", wrapped: bool = True) -> str:
    """A rail of teaser cards under neutral class names: link-wrapped headings with blurbs."""
    items = "".join(f"<li class='x1'><a href='/n/{k}.html'><h3>{t}</h3></a><p>{BLURB[lang]}</p></li>"
                    for k, t in enumerate(TEASERS[lang]))
    rail = f"<h2>{heading}</h2><ul>{items}</ul>"
    return f"<div class='q7'>{rail}</div>" if wrapped else rail


def _comments(n: int = 4) -> str:
    return "<section class='k2'><h3>Comments</h3>" + "".join(
        f"<div class='k3'><div><b>reader{k}</b><time>{k + 1} hours ago</time></div><p>Thanks for the clear write-up.</p>"
        f"<div><button>Reply</button><button>Like</button></div></div>" for k in range(n)) + "</section>"


NEWSLETTER = "<div class='z9'><p>Get the morning briefing in your inbox</p><button>Subscribe</button></div>"


def _article(lang: str, extra: str = "") -> str:
    title, paragraphs = ARTICLES[lang]
    return f"<div class='s1'><h1>{title}</h1><div class='s2'>" + "".join(f"<p>{p}</p>" for p in paragraphs) + \
        f"</div>{extra}</div>"


def _text_after_pruning(page: str) -> str:
    tree = lxml_html.fromstring(page)
    prune_chrome(tree)
    return " ".join(tree.body.text_content().split())


# -- what is found ----------------------------------------------------------------------------


@pytest.mark.parametrize("lang", sorted(ARTICLES))
def test_a_rail_after_the_article_goes_with_its_heading(lang: str) -> None:
    heading = "関連記事" if lang == "ja" else "More stories"
    page = _page(_article(lang, NEWSLETTER + _rail(lang, heading, wrapped=False)) + _comments(), lang)
    reasons = [b.reason for b in chrome_blocks(lxml_html.fromstring(page))]
    assert reasons == ["control box", "heading of removed block", "teaser rail", "record list"]
    left = _text_after_pruning(page)
    assert all(p in left for p in ARTICLES[lang][1]) and ARTICLES[lang][0] in left  # the headline stays
    assert not any(t in left for t in TEASERS[lang])
    assert "More stories" not in left and "関連記事" not in left  # the rail's heading
    assert "briefing" not in left and "Thanks for" not in left and "Comments" not in left


def test_a_container_left_with_labels_only_goes_and_the_article_container_stays() -> None:
    rail = "<div class='r'><h3>Most read</h3>" + _rail("en").replace("<h2>More stories</h2>", "") + \
           "<h3>Latest</h3><ul>" + "".join(f"<li><a href='/l/{k}'>{t}</a><time>09:0{k}</time></li>"
                                            for k, t in enumerate(TEASERS["en"])) + "</ul></div>"
    blocks = chrome_blocks(lxml_html.fromstring(_page(_article("en") + rail)))
    assert [b.reason for b in blocks] == ["left with labels only"]
    assert blocks[0].element.get("class") == "r"


def test_cards_after_the_text_in_the_same_block_go_and_the_paragraphs_stay() -> None:
    """Related cards appended to the article's own body: the run after the last paragraph goes."""
    title, paragraphs = ARTICLES["en"]
    cards = "".join(f"<div class='c'><a href='/n/{k}'><h4>{t}</h4></a><span>{BLURB['en']}</span></div>"
                    for k, t in enumerate(TEASERS["en"]))
    body = f"<div class='b'><h1>{title}</h1>" + "".join(f"<p>{p}</p>" for p in paragraphs) + cards + "</div>"
    blocks = chrome_blocks(lxml_html.fromstring(_page(body)))
    assert [b.reason for b in blocks] == ["teaser rail"] * len(TEASERS["en"])
    left = _text_after_pruning(_page(body))
    assert all(p in left for p in paragraphs) and not any(t in left for t in TEASERS["en"])


def test_cards_between_paragraphs_are_left_to_the_extractor() -> None:
    title, paragraphs = ARTICLES["en"]
    cards = "".join(f"<div class='c'><a href='/n/{k}'><h4>{t}</h4></a></div>" for k, t in enumerate(TEASERS["en"]))
    body = f"<div class='b'><h1>{title}</h1><p>{paragraphs[0]}</p>{cards}<p>{paragraphs[1]}</p></div>"
    assert chrome_blocks(lxml_html.fromstring(_page(body))) == []


DOCUMENTS = {
    "en": ["Statement by the families' association", "Transcript of the minister's remarks",
           "Timeline of the abduction cases", "Resolution adopted by the rally"],
    "ja": ["家族会の声明", "大臣発言の記録", "拉致事件の年表", "集会の決議文"],
    "ko": ["가족회 성명", "장관 발언록", "납북 사건 연표", "집회 결의문"],
}


@pytest.mark.parametrize("lang", sorted(ARTICLES))
def test_the_articles_own_list_of_links_inside_its_text_is_kept(lang: str) -> None:
    """A list of documents, each a bare link, between two paragraphs: content, not chrome
    (Japanese and Korean paragraphs are short in characters, and still prose)."""
    title, paragraphs = ARTICLES[lang]
    docs = DOCUMENTS[lang]
    listing = "<ul>" + "".join(f"<li><a href='/docs/{k}.pdf'>{d}</a></li>" for k, d in enumerate(docs)) + "</ul>"
    article = f"<article><h1>{title}</h1><p>{paragraphs[0]}</p>{listing}<p>{paragraphs[1]}</p></article>"
    left = _text_after_pruning(_page(article + _rail(lang), lang))
    assert all(d in left for d in docs) and all(p in left for p in paragraphs)
    assert not any(t in left for t in TEASERS[lang])
    # Extraction then gives what it gives on the page without the rail, pruned or not.
    page = extract_page(_page(article + _rail(lang), lang), "https://news.example/docs.html", headline=title)
    alone = extract_page(_page(article, lang), "https://news.example/docs.html", headline=title, prune=False)
    assert page.text == alone.text
    assert lang != "en" or all(d in page.text for d in docs)  # trafilatura drops the short Japanese and Korean links


def test_a_list_whose_items_are_sentences_with_links_is_kept() -> None:
    items = [f"<li>The <a href='/p/{k}'>{w}</a> said on Monday that the talks had made no progress this year.</li>"
             for k, w in enumerate(["ministry", "association", "embassy", "committee"])]
    page = _page(_article("en", "<ul>" + "".join(items) + "</ul>"))
    assert chrome_blocks(lxml_html.fromstring(page)) == []


def test_tables_are_never_rails_even_when_every_row_is_a_link() -> None:
    rows = "".join(f"<tr><td><a href='/r/{k}'>{t}</a></td><td>{k + 3}</td></tr>" for k, t in enumerate(TEASERS["en"]))
    page = _page(_article("en", f"<table><tbody>{rows}</tbody></table>"))
    assert chrome_blocks(lxml_html.fromstring(page)) == []
    assert all(t in _text_after_pruning(page) for t in TEASERS["en"])


def test_comments_whose_controls_are_links_go_by_their_shared_label() -> None:
    title, paragraphs = ARTICLES["en"]
    comments = "<ol class='v'>" + "".join(
        f"<li><div><cite>reader{k}</cite> <span>says:</span></div><p>{c}</p><a href='#r{k}'>Reply</a></li>"
        for k, c in enumerate(["Not sure anything will change after this.", "Good reporting, as always.",
                               "Why does nobody ask the obvious question about the summit?"])) + "</ol>"
    page = _page(_article("en") + "<h3>3 responses</h3>" + comments)
    assert [b.reason for b in chrome_blocks(lxml_html.fromstring(page))] == ["heading of removed block", "record list"]
    left = _text_after_pruning(page)
    assert all(p in left for p in paragraphs) and "summit" not in left and "responses" not in left


def test_a_list_of_steps_inside_the_text_is_kept() -> None:
    """Items sharing a label ("Step") inside the article's text are content: the label alone is weak evidence."""
    title, paragraphs = ARTICLES["en"]
    steps = "<ol>" + "".join(f"<li><b>Step</b> <span>{k + 1}</span><p>{p}</p></li>" for k, p in enumerate(
        ["Register with the association by Friday.", "Collect the signature sheets from the office.",
         "Return the sheets before the rally."])) + "</ol>"
    page = _page(f"<div><h1>{title}</h1><p>{paragraphs[0]}</p>{steps}<p>{paragraphs[1]}</p></div>")
    assert chrome_blocks(lxml_html.fromstring(page)) == []


def test_repeated_paragraph_wrappers_are_not_records() -> None:
    """Some sites wrap each paragraph in its own block: the same shape repeated, but no controls, no links."""
    title, paragraphs = ARTICLES["en"]
    wrapped = "".join(f"<div class='p'><p>{p}</p></div>" for p in paragraphs * 3)
    assert chrome_blocks(lxml_html.fromstring(_page(f"<h1>{title}</h1><div>{wrapped}</div>"))) == []


def test_a_form_around_the_whole_page_is_not_a_control_box() -> None:
    """Some sites wrap the whole page in one form: only a form's little text makes it a box."""
    body = f"<form action='/p'><input type='hidden' name='v'>{_article('en')}</form>"
    assert _text_after_pruning(_page(body)).startswith(ARTICLES["en"][0])


def test_pruning_keeps_the_text_after_a_removed_block() -> None:
    first, second = ARTICLES["en"][1]
    tree = lxml_html.fromstring(_page(f"<div><p>{first}</p>{NEWSLETTER}{second}</div>"))
    assert [b.reason for b in prune_chrome(tree)] == ["control box"]
    assert " ".join(tree.body.text_content().split()) == f"{first}{second}"


# -- through extraction ------------------------------------------------------------------------


@pytest.mark.parametrize("lang,chrome", [("en", "en"), ("ja", "en"), ("ja", "ja"), ("ko", "en"), ("ko", "ko")])
def test_heavy_pages_keep_the_article_and_nothing_of_the_chrome(lang: str, chrome: str) -> None:
    title, paragraphs = ARTICLES[lang]
    body = "\n".join(paragraphs)
    leaked = 0
    for seed in range(12):  # named and neutral class names, with and without related lists in the article
        html = heavy_page(title, paragraphs, WHEN, lang, seed=seed, chrome_language=chrome)
        page = extract_page(html, "https://news.example/a.html", headline=title, summary=paragraphs[0])
        precision, recall = token_pr(page.text, f"{title}\n{body}")
        assert recall == 1.0 and precision >= 0.97, (seed, page.method_note, page.text)
        assert page.method == PRIMARY
        before = extract_page(html, "https://news.example/a.html", headline=title, summary=paragraphs[0], prune=False)
        leaked += token_pr(before.text, f"{title}\n{body}")[0] < 0.97
    assert leaked >= 6  # without pruning, the chrome did leak on these pages


def test_an_article_that_looks_like_a_rail_is_kept_by_the_whole_page_fallback() -> None:
    """A round-up made only of linked headlines with blurbs: pruned away, the check fails, and
    the last fallback extracts the whole page."""
    title = "Five reads on the abduction issue this week"
    items = "".join(f"<li><a href='/r/{k}'><h2>{t}</h2></a><p>{BLURB['en']} It is worth reading in full.</p></li>"
                    for k, t in enumerate(["Families rally in Tokyo", "The issue at the United Nations",
                                           "A mother's forty-year wait", "What the summit of 2002 changed",
                                           "Abduction issue in school textbooks"]))
    page = extract_page(_page(f"<article><h1>{title}</h1><ol>{items}</ol></article>"), "https://news.example/r.html",
                        headline=title)
    assert page.method == "trafilatura-whole" and "A mother's forty-year wait" in page.text
