"""Checks parametrised over every fixture: the seeds and every page of the demo newsroom."""

from __future__ import annotations

import json

import pytest

from monitors.topic import load_topic
from newswatch.charset import decode_html
from newswatch.demo.build import ARTICLES_DIR, DECOY_TEASERS, OUTLETS, SITE_DIR, build, read_article
from newswatch.extract import extract_page
from newswatch.seeds import load_seeds

INDEX = json.loads((SITE_DIR / "index.json").read_text("utf-8"))
PAGES = [p for p in INDEX["pages"] if not p["thin"]]
ARTICLES = sorted(ARTICLES_DIR.glob("*.md"))


def test_the_site_is_what_the_build_script_makes(tmp_path) -> None:
    build(tmp_path / "site")
    for path in sorted((tmp_path / "site").rglob("*")):
        if path.is_file():
            rel = path.relative_to(tmp_path / "site")
            assert (SITE_DIR / rel).read_bytes() == path.read_bytes(), f"{rel} is stale: run python -m newswatch.demo.build"


@pytest.mark.parametrize("seed", load_seeds(), ids=lambda s: s.name)
def test_every_seed_is_on_topic_by_the_rule(seed) -> None:
    verdict = load_topic().judge(seed.title, seed.text)
    assert verdict.relevant, verdict.reason


@pytest.mark.parametrize("path", ARTICLES, ids=lambda p: p.stem)
def test_relevance_agrees_with_every_written_article_label(path) -> None:
    meta, paragraphs = read_article(path)
    verdict = load_topic().judge(meta["title"], "\n\n".join(paragraphs))
    assert verdict.relevant == (meta["topic"] == "on"), verdict.reason


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p["id"])
def test_extraction_keeps_the_article_and_drops_the_chrome(page) -> None:
    outlet = OUTLETS[page["outlet"]]
    raw = (SITE_DIR / page["outlet"] / page["path"].lstrip("/")).read_bytes()
    header = f"text/html; charset={outlet.charset}" if outlet.header_charset else "text/html"
    html, _ = decode_html(raw, header)
    result = extract_page(html.replace("{{BASE}}", "http://127.0.0.1:1"), "http://127.0.0.1:1" + page["path"])
    assert result.text, result.error
    assert result.language == page["lang"]
    for decoy in DECOY_TEASERS[page["lang"]]:
        assert decoy not in result.text, f"chrome leaked into the text: {decoy}"
    if page["copy_of"] is None:
        meta, paragraphs = read_article(ARTICLES_DIR / f"{page['id']}.md")
        body = [p for p in paragraphs if not p.startswith("## ")]
        assert body[0][:40] in result.text and body[-1][-40:] in result.text
