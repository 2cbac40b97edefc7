"""Charsets: decoding rules as pure functions, then feeds in legacy East Asian charsets, served
by a real local server, read correctly, with the charset note recorded where it is due."""

from __future__ import annotations

import codecs
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswatch.charset import as_utf8_xml, decode, decode_html, display_name, with_charset
from newswatch.demo.server import DemoNewsroom
from newswatch.feeds import parse_feed
from newswatch.fetch import FetchSettings
from newswatch.opml import FeedSource
from newswatch.pipeline import poll_stage

from .charsets import make
from .conftest import rows

FIXTURES = Path(make.__file__).parent
FAST = FetchSettings(min_gap=0.01, retries=0, retry_backoff=0.01)
CASES = {case.name: case for case in make.CASES}
JA_TITLE = "拉致被害者家族会、首相に早期帰国の実現を要望"


def feed(title: str, *, declaration: str | None = None) -> str:
    head = f"<?xml version='1.0' encoding='{declaration}'?>" if declaration else ""
    return (f"{head}<rss version='2.0'><channel><title>T</title><item><title>{title}</title>"
            f"<link>https://news.example.org/1</link></item></channel></rss>")


# -- decoding rules (pure functions) ------------------------------------------------------


def test_a_byte_order_mark_settles_the_charset_whatever_is_declared() -> None:
    body = codecs.BOM_UTF16_LE + feed(JA_TITLE, declaration="shift_jis").encode("utf-16-le")
    got = decode(body, "application/xml; charset=iso-8859-1", markup="xml")
    assert (got.text, got.source, got.note) == (feed(JA_TITLE, declaration="shift_jis"), "bom", None)


def test_valid_utf8_is_utf8_and_a_declaration_against_it_is_noted() -> None:
    got = decode(feed(JA_TITLE, declaration="iso-8859-1").encode(), "application/rss+xml", markup="xml")
    assert got.text == feed(JA_TITLE, declaration="iso-8859-1") and got.source == "utf-8"
    assert got.note == "declared ISO-8859-1, but the bytes are UTF-8"
    # ASCII agrees with every such declaration: nothing to note.
    assert decode(feed("Summit", declaration="iso-8859-1").encode(), markup="xml").note is None


def test_a_declaration_that_fits_is_used_and_the_header_comes_first() -> None:
    body = feed(JA_TITLE, declaration="shift_jis").encode("shift_jis")
    got = decode(body, "text/xml", markup="xml")
    assert (got.text, got.source, got.note) == (feed(JA_TITLE, declaration="shift_jis"), "xml", None)
    korean = "북일 정상회담"
    got = decode(feed(korean, declaration="euc-kr").encode("euc-kr"), "text/xml; charset=EUC-KR", markup="xml")
    assert (got.source, got.encoding) == ("http", "EUC-KR") and korean in got.text


def test_a_declaration_that_does_not_fit_gives_way_to_the_next_and_is_noted() -> None:
    body = feed(JA_TITLE, declaration="shift_jis").encode("shift_jis")
    got = decode(body, "application/rss+xml; charset=utf-8", markup="xml")
    assert got.source == "xml" and JA_TITLE in got.text
    assert got.note == "bytes are not the declared UTF-8; read as Shift_JIS (XML declaration)"


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.declaration is None and c.encoding != "utf-8"
                                  and "charset=" not in c.content_type])
def test_undeclared_legacy_bytes_are_detected(name: str) -> None:
    case = CASES[name]
    got = decode((FIXTURES / f"{name}.xml").read_bytes(), case.content_type, markup="xml")
    assert got.detected and got.note == f"charset not declared; detected {display_name(case.encoding)}"
    assert all(title in got.text and summary in got.text for title, summary in case.items)


def test_pages_use_the_meta_charset_and_the_vendor_superset() -> None:
    # 髙 and ① exist only in CP932, the Shift_JIS that pages labelled "Shift_JIS" really use.
    page = "<html><head><meta charset='Shift_JIS'></head><body>髙橋①</body></html>"
    text, encoding = decode_html(page.encode("cp932"), "text/html")
    assert text == page and encoding == "Shift_JIS"
    assert decode(page.encode("cp932"), "text/html").note is None


@given(st.text().filter(lambda t: not t.startswith("\ufeff")))
def test_any_text_survives_utf8(text: str) -> None:
    got = decode(text.encode("utf-8"), "text/html; charset=iso-8859-1")
    assert (got.text, got.source) == (text, "utf-8")


def test_a_feed_is_handed_on_as_utf8_declared_as_such() -> None:
    assert as_utf8_xml(feed("é", declaration="euc-jp")) == feed("é", declaration="utf-8").encode()
    assert as_utf8_xml("<rss/>") == b"<?xml version='1.0' encoding='utf-8'?>\n<rss/>"
    assert with_charset("application/rss+xml; charset=euc-jp; q=1", "utf-8") == "application/rss+xml; q=1; charset=utf-8"
    assert with_charset("", "utf-8") == "application/xml; charset=utf-8"


def test_feedparser_complaining_about_a_charset_it_read_right_is_not_an_error() -> None:
    # text/xml without a charset means US-ASCII to feedparser, which then reads the UTF-8 anyway.
    parsed, note = parse_feed(feed(JA_TITLE, declaration="utf-8").encode(), "text/xml")
    assert parsed.entries[0].title == JA_TITLE and not parsed.bozo and note is None


def test_a_feed_feedparser_would_misread_after_its_own_charset_override_is_read_again() -> None:
    # 髙 is CP932, outside strict Shift_JIS: feedparser gives up on the declaration and falls back to
    # windows-1252 (mojibake, with a CharacterEncodingOverride); the declared charset's superset fits.
    title = "髙市首相、日朝首脳会談に意欲"
    body = feed(title, declaration="shift_jis").encode("cp932")
    parsed, note = parse_feed(body, "application/rss+xml")
    assert parsed.entries[0].title == title and not parsed.bozo and note is None


# -- feeds served over HTTP -------------------------------------------------------------------


def test_the_fixtures_are_what_the_script_writes(tmp_path: Path) -> None:
    written = make.write(tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in FIXTURES.glob("*.xml"))
    for path in written:
        assert path.read_bytes() == (FIXTURES / path.name).read_bytes(), path.name


def serve_fixture(room: DemoNewsroom, name: str, path: str | None = None) -> str:
    body = (FIXTURES / f"{name}.xml").read_bytes()
    content_type = re.search(rb"^Header:\s+Content-type:\s*(.*)$", body, re.M).group(1).decode().strip()
    return room.add_route("harbor-times", path or f"/{name}.xml", lambda h: (200, {"Content-Type": content_type}, body))


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_fixture_is_read_correctly_and_noted_when_due(newsroom: DemoNewsroom, db: Path, name: str) -> None:
    case = CASES[name]
    url = serve_fixture(newsroom, name)
    report = poll_stage(db, [FeedSource(url)], FAST)
    assert report.feeds_failed == 0 and report.new_entries == len(case.items)
    stored = rows(db, "SELECT title, summary FROM entry WHERE feed_url = ? ORDER BY link", [url])
    assert [tuple(r) for r in stored] == case.items
    assert rows(db, "SELECT title, status, charset_note, last_error FROM feed_health WHERE url = ?", [url]) == [
        (name, "ok", case.note, None)]
    assert rows(db, "SELECT charset_note FROM feeds WHERE url = ?", [url]) == [(case.note,)]


def test_the_note_stays_while_the_feed_is_unchanged_and_goes_once_it_is_declared(newsroom: DemoNewsroom, db: Path) -> None:
    state = {"body": (FIXTURES / "ja-shift_jis-undeclared.xml").read_bytes()}
    url = newsroom.add_route("harbor-times", "/changing.xml",
                             lambda h: (200, {"Content-Type": "application/rss+xml"}, state["body"]))
    note = [("charset not declared; detected Shift_JIS",)]
    poll_stage(db, [FeedSource(url)], FAST)
    assert rows(db, "SELECT charset_note FROM feed_health") == note
    report = poll_stage(db, [FeedSource(url)], FAST, force=True)
    assert report.feeds_unchanged == 1 and rows(db, "SELECT charset_note FROM feed_health") == note
    state["body"] = b'<?xml version="1.0" encoding="shift_jis"?>\n' + state["body"]
    poll_stage(db, [FeedSource(url)], FAST, force=True)
    assert rows(db, "SELECT charset_note FROM feed_health") == [(None,)]


def test_newswatch_feeds_prints_the_note(newsroom: DemoNewsroom, db: Path) -> None:
    poll_stage(db, [FeedSource(serve_fixture(newsroom, "zh-big5-undeclared"), "Big5 wire"),
                    FeedSource(serve_fixture(newsroom, "ja-utf8-undeclared"), "UTF-8 wire")], FAST)
    listing = subprocess.run([sys.executable, "-m", "newswatch.cli", "feeds", "--db", str(db)],
                             capture_output=True, text=True, env=os.environ.copy())
    assert listing.returncode == 0, listing.stderr
    lines = {line.split()[1]: line for line in listing.stdout.splitlines()[2:]}
    assert "charset" in listing.stdout.splitlines()[0]
    assert lines["Big5"].rstrip().endswith("charset not declared; detected Big5")
    assert "detected" not in lines["UTF-8"]


def test_the_charset_benchmark_runs_over_a_fixture_folder(tmp_path: Path) -> None:
    out = tmp_path / "charsets.json"
    result = subprocess.run([sys.executable, str(FIXTURES.parent.parent / "bench" / "feed_charsets.py"),
                             "--fixtures", str(FIXTURES), "--json", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    undeclared = [n for n, c in CASES.items() if c.declaration is None and c.encoding != "utf-8"
                  and "charset=" not in c.content_type]
    assert re.search(rf"Chinese/Japanese/Korean, no declared charset: read correctly +{len(undeclared)} / {len(undeclared)}",
                     result.stdout)
    figures = json.loads(out.read_text("utf-8"))["runs"]["after"]
    assert sorted(figures["correct_CJK"]) == sorted(f"{n}.xml" for n in undeclared)
    assert figures["outcomes"] == {"ok": len(CASES)}
    assert len(figures["notes"]) == sum(1 for c in CASES.values() if c.note)
