"""The alert rules: the labelled set's precision and recall, invariances, and the engine's contract."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitors.engine import Hit, RuleError, _fold_unevenly, fold, load_rules, outermost, parse_rule

LABELLED = tomllib.loads((Path(__file__).parent / "rules" / "labelled.toml").read_text("utf-8"))["case"]
RULES = {r.id: r for r in load_rules()}
BAR = 0.95


def scores(rule_id: str, lang: str | None) -> tuple[float, float, int]:
    tp = fp = fn = 0
    for case in LABELLED:
        if lang and case["lang"] != lang:
            continue
        predicted = RULES[rule_id].match(None, case["text"]) is not None
        tp += predicted and case[rule_id]
        fp += predicted and not case[rule_id]
        fn += (not predicted) and case[rule_id]
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, tp + fn


def test_the_labelled_set_is_large_and_covers_every_language_and_kind() -> None:
    assert len(LABELLED) >= 60
    assert len({c["id"] for c in LABELLED}) == len(LABELLED)
    for lang in ("en", "ja", "ko"):
        mine = [c for c in LABELLED if c["lang"] == lang]
        assert sum(c["summit"] for c in mine) >= 5 and sum(c["abductees"] for c in mine) >= 5
        assert sum(c["kind"] == "hard-negative" for c in mine) >= 5


@pytest.mark.parametrize("rule_id", ["summit", "abductees"])
def test_precision_and_recall_on_the_labelled_set(rule_id: str, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [(lang or "all", *scores(rule_id, lang)) for lang in ("en", "ja", "ko", None)]
    with capsys.disabled():
        print(f"\n  rule {rule_id}: " + "; ".join(f"{lang} P={p:.3f} R={r:.3f} (n+={n})" for lang, p, r, n in rows))
    for lang, precision, recall, _ in rows:
        assert precision >= BAR, f"{rule_id}/{lang}: precision {precision:.3f}"
        assert recall >= BAR, f"{rule_id}/{lang}: recall {recall:.3f}"


def test_the_shipped_rules_have_the_documented_ids() -> None:
    assert set(RULES) == {"summit", "abductees"}


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else ("\u3000" if c == " " else c) for c in text)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(LABELLED), st.sampled_from(["upper", "lower", "full-width", "nfd"]))
def test_verdicts_do_not_depend_on_case_width_or_normalisation(case: dict, form: str) -> None:
    import unicodedata

    text = case["text"]
    variant = {"upper": text.upper(), "lower": text.lower(), "full-width": _full_width(text),
               "nfd": unicodedata.normalize("NFD", text)}[form]
    for rule in RULES.values():
        assert (rule.match(None, variant) is None) == (rule.match(None, text) is None), (rule.id, form)


def test_latin_terms_respect_word_boundaries_and_cjk_terms_do_not_need_them() -> None:
    summit, abductees = RULES["summit"], RULES["abductees"]
    assert summit.match(None, "Kimchi exporters will meet buyers at the summitry of food fairs") is None
    assert abductees.match(None, "拉致被害者の家族が会見した") is not None  # no spaces around the term
    assert abductees.match(None, "납북자가족모임이 기자회견을 열었다") is not None
    assert abductees.match(None, "めぐみさんの帰国を願う") is not None and abductees.match(None, "メグミさん") is not None


def test_a_match_explains_itself() -> None:
    m = RULES["summit"].match("Tokyo weighs a face-to-face meeting with Chairman Kim", "body")
    assert m is not None and m.field == "title"
    assert m.matched == ["face-to-face meeting", "Chairman Kim"]
    assert m.snippet == "Tokyo weighs a ⟦face-to-face meeting⟧ with ⟦Chairman Kim⟧"
    assert m.version == RULES["summit"].version and len(m.version) == 12


def test_exclusions_blank_out_traps() -> None:
    assert RULES["summit"].match(None, "At the G7 summit, leaders condemned Kim Jong Un's missile tests.") is None
    assert RULES["summit"].match(None, "Climbers reached the summit of Mount Paektu in North Korea.") is None
    assert RULES["abductees"].match(None, "男を拉致監禁の疑いで逮捕、北朝鮮籍ではない") is None


BASE = {"id": "t", "terms": {"a": {"en": ["alpha"]}, "b": ["beta"]}, "match": {"any": [{"terms": "a"}]}}


def test_a_rule_version_changes_with_its_definition() -> None:
    v1 = parse_rule(BASE).version
    changed = {**BASE, "terms": {"a": {"en": ["alpha", "alef"]}, "b": ["beta"]}}
    assert parse_rule(changed).version != v1
    assert parse_rule(dict(BASE)).version == v1


@pytest.mark.parametrize("broken, message", [
    ({**BASE, "match": {"terms": "nope"}}, "unknown term group"),
    ({**BASE, "match": {"near": ["a"]}}, "near takes two or three"),
    ({**BASE, "match": {"all": [{"terms": "a"}], "any": []}}, "exactly one"),
    ({**BASE, "id": "Bad Id"}, "must be lowercase"),
    ({k: v for k, v in BASE.items() if k != "match"}, "missing 'match'"),
    ({**BASE, "terms": {"a": {"fr": ["x"]}}}, "unknown languages"),
])
def test_malformed_rules_are_refused_with_a_reason(broken: dict, message: str) -> None:
    with pytest.raises(RuleError, match=message):
        parse_rule(broken)


def test_combinators_compose() -> None:
    rule = parse_rule({
        "id": "combo", "terms": {"x": ["alpha"], "y": ["beta"], "z": ["gamma"]},
        "match": {"all": [{"terms": "x"}, {"not": {"terms": "z"}}, {"near": ["x", "y"], "words": 2}]},
    })
    assert rule.match(None, "alpha then beta") is not None
    assert rule.match(None, "alpha then beta and gamma") is None
    assert rule.match(None, "alpha one two three beta") is None


# The fast paths must agree exactly with the plain definitions they replace.
_PIECES = st.sampled_from(["kim", "Kim Jong Un", "jong", "summit", "サミット", "さみっと", "拉致", "납북자", "정상회담",
                           "G7 summit", "ＫＩＭ", "1", "x", " ", "  ", "-", "。", "\u3000", "é", "e\u0301", "½", "㍿"])
_TEXTS = st.lists(st.one_of(_PIECES, st.text(max_size=3)), max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(_TEXTS)
def test_fast_folding_equals_the_mapped_folding(text: str) -> None:
    from monitors.engine import fold, fold_text, prepare

    source = prepare(text)
    folded, index = fold(source)
    assert fold_text(source) == folded
    assert len(index) == len(folded)


@settings(max_examples=300, deadline=None)
@given(_TEXTS)
def test_term_search_finds_what_the_regular_expression_finds(text: str) -> None:
    from monitors.engine import fold_text, prepare

    folded = fold_text(prepare(text))
    for rule in RULES.values():
        for group in [*rule.groups.values(), *([rule.excludes] if rule.excludes else [])]:
            assert [(i, j) for i, j, _ in group.spans(folded)] == [m.span() for m in group.pattern.finditer(folded)]
            assert group.blank(folded) == group.pattern.sub(lambda m: " " * len(m.group()), folded)


# Characters that fold to one (letters, kana, hangul, spaces, punctuation) and to several or
# none (an ellipsis, ß, a half-width kana with its sound mark, a zero-width space).
_FOLD_ALPHABET = list("ab Kim.,!?「」 \n\t\u3000拉致被害者납치정상회담ＡＢ") + ["…", "ß", "ｶﾞ", "\u200b"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_FOLD_ALPHABET), max_size=60).map("".join))
def test_folding_with_its_index_is_the_same_done_one_character_at_a_time(text: str) -> None:
    fold.cache_clear()
    assert fold(text) == _fold_unevenly(text)


@settings(max_examples=300, deadline=None)
@given(st.sets(st.builds(lambda g, a, n, cjk: Hit(g, a, a + n, cjk), st.sampled_from("xyz"),
                         st.integers(0, 20), st.integers(1, 6), st.booleans()), max_size=8))
def test_outermost_hits_are_those_no_other_hit_contains(hits: set) -> None:
    contained = {h for h in hits if any(o != h and o.start <= h.start and h.end <= o.end for o in hits)}
    assert set(outermost(hits)) == hits - contained
