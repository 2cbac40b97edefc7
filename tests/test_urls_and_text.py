"""Property tests for the cheap invariants: URL canonicalisation, normalisation, fingerprints."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from newswatch.dedup import comparable, fingerprint, is_copy, overlap
from newswatch.textnorm import normalize, text_hash
from newswatch.urls import canonical_url

# Raw white space is not part of a URL (feeds pad links with it; canonical_url strips it).
segment = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), max_size=12)
hosts = st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z]{2,5}){1,2}", fullmatch=True)
params = st.lists(st.tuples(st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True), segment), max_size=5)


@st.composite
def urls(draw) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "Https"]))
    host = draw(hosts)
    if draw(st.booleans()):
        host = host.upper()
    port = draw(st.sampled_from(["", ":80", ":443", ":8080"]))
    path = "/".join(draw(st.lists(segment, max_size=4)))
    query = "&".join(f"{k}={v}" for k, v in draw(params))
    fragment = draw(st.sampled_from(["", "#top", "#comments"]))
    return f"{scheme}://{host}{port}/{path}" + (f"?{query}" if query else "") + fragment


@given(urls())
def test_canonical_url_is_idempotent(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url(once) == once


@given(urls(), st.sampled_from(["utm_source=rss", "utm_medium=feed", "fbclid=abc123", "gclid=x"]))
def test_tracking_parameters_do_not_change_the_canonical_url(url: str, tracking: str) -> None:
    base = url.split("#")[0]
    sep = "&" if "?" in base else "?"
    assert canonical_url(f"{base}{sep}{tracking}") == canonical_url(base)


def test_canonical_url_examples() -> None:
    assert canonical_url("HTTPS://Example.COM:443/a/b?b=2&a=1&utm_source=x#frag") == "https://example.com/a/b?a=1&b=2"
    assert canonical_url("http://example.com") == "http://example.com/"
    assert canonical_url("http://example.com:8080/%7Euser") == "http://example.com:8080/~user"
    assert canonical_url("seed:000_abc") == "seed:000_abc"
    # Parameters that name the page survive.
    assert canonical_url("https://news.example/view?id=42&utm_campaign=a") == "https://news.example/view?id=42"


texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)


@given(texts)
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=80))
def test_normalize_ignores_full_width_forms_and_case(text: str) -> None:
    wide = "".join(chr(ord(c) + 0xFEE0) for c in text)  # ASCII → full-width forms
    assert normalize(wide) == normalize(text) == normalize(text.upper()) == normalize(text.lower())


@given(texts)
def test_text_hash_ignores_spacing_and_punctuation(text: str) -> None:
    spaced = "  " + text.replace(" ", "   \n") + " !! "
    assert text_hash(spaced) == text_hash(text)


def test_normalize_folds_half_width_kana_and_compatibility_forms() -> None:
    assert normalize("ﾆｯﾁｮｳ") == normalize("ニッチョウ")
    assert normalize("㈱日朝") == normalize("(株)日朝")
    assert normalize(unicodedata.normalize("NFD", "납북자")) == normalize("납북자")


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=1, max_size=2000))
def test_a_text_is_always_a_near_duplicate_of_itself(text: str) -> None:
    a, b = fingerprint(text), fingerprint(text)
    assert a.text_hash == b.text_hash and (a.signature == b.signature).all() and a.chrome == b.chrome
    mine = comparable(text)
    if mine is not None:
        o = overlap(mine, mine)
        assert o.jaccard == o.containment == 1.0
        assert is_copy(o) == o.substantial  # shorter texts are grouped by their text hash only
