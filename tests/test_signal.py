"""Signal quality on hostile text: each failure class found on real news, on sentences we wrote."""

from __future__ import annotations

import pytest

from monitors.engine import load_rules, parse_rule
from monitors.topic import load_topic

RULES = {r.id: r for r in load_rules()}
TOPIC = load_topic()


def fires(rule: str, text: str, title: str | None = None) -> bool:
    return RULES[rule].match(title, text) is not None


@pytest.mark.parametrize("text", [
    "Premier Kim Tok Hun met the visiting delegation and held talks with its head, President of the Chamber Lee.",
    "Workers of the Kim Jong Suk Textile Mill held a meeting. Kim Jong Un sent them thanks.",
    "Vice-minister Kim Son Gyong met the ambassador. The prime minister's letter was handed over.",
    "Kim Jong Un chaired a meeting of the Political Bureau and met leading cadres of the party.",
    "Kim Jong Un met the players and coaches of the women's football team and held talks with them.",
    "Pyongyang, June 14 (KCNA) -- A world summit on peace opened in Geneva with delegates from 40 countries.",
    "At the G7 summit, leaders condemned Kim Jong Un's missile tests.",
    "KIM JONG UN MEETS FARMERS. Kim Jong Un met farmers at a cooperative farm and talked with them.",
])
def test_the_summit_rule_ignores_other_kims_own_meetings_and_datelines(text: str) -> None:
    assert not fires("summit", text), RULES["summit"].match(None, text)


@pytest.mark.parametrize("text", [
    "Putin and Kim Sign Defence Pact. Kim Jong Un welcomed the Russian president; Putin and Kim held talks.",
    "Kim Jong Un and President Putin held talks at the Vostochny cosmodrome.",
    "Takaichi said she was ready to meet Kim without preconditions; Kim Jong Un has not answered.",
    "조미 수뇌회담에서 채택된 공동성명은 여전히 유효하다고 조선중앙통신이 전했다.",
    "북남 수뇌상봉 6돐을 맞아 평양에서 보고회가 열렸다.",
    "석파 총리는 김정은 국무위원장과 마주 앉을 용의가 있다고 말했다.",
    "高市首相は金正恩総書記との首脳会談の早期実現を目指すと述べた。",
])
def test_the_summit_rule_finds_leaders_meetings_in_each_usage(text: str) -> None:
    assert fires("summit", text)


@pytest.mark.parametrize("text", [
    "The south Korean puppets abducted our citizens and must return them, the DPRK spokesman said.",
    "Imperial Japan was guilty of forcibly drafting and abducting Koreans, KCNA said in Pyongyang.",
    "The abductees and missing persons of the war number in the hundreds of thousands, the DPRK institute said.",
    "A Japanese tourist was kidnapped in Mexico on Monday, police said.",
    "남조선 괴뢰들이 우리 공민들을 납치하였다고 평양에서 대변인이 밝혔다.",
    "男を拉致監禁の疑いで逮捕、北朝鮮籍ではない",
])
def test_the_abductees_rule_ignores_other_abductions(text: str) -> None:
    assert not fires("abductees", text), RULES["abductees"].match(None, text)


@pytest.mark.parametrize("text", [
    "The DPRK said the so-called 'issue of abduction' had already been resolved.",
    "Pyongyang again claimed there were no more missing Japanese in the DPRK.",
    "The DPRK dismissed the suspected kidnapping case as a fabrication by Tokyo.",
    "Families of those taken to the North in the 1970s met the prime minister.",
    "북한은 \"행방불명된 일본인\"은 더 이상 없다고 주장했다.",
])
def test_the_abductees_rule_finds_north_koreas_own_phrasing(text: str) -> None:
    assert fires("abductees", text)


def test_relevance_counts_each_mention_once() -> None:
    counts = TOPIC.count("Kim Jong-un spoke. 일본인 관광객")
    assert sum(counts["dprk"].values()) == 1
    assert sum(counts["japan"].values()) == 1


def test_a_dateline_counts_once_for_its_agency_and_not_for_its_place() -> None:
    counts = TOPIC.count("Pyongyang, June 14 (KCNA) -- The harvest was good this year.")
    assert counts["dprk"] == {"kcna": 1}
    counts = TOPIC.count("(평양 6월 14일발 조선중앙통신) 올해 농사가 잘되였다.")
    assert counts["dprk"] == {"조선중앙통신": 1}
    assert not TOPIC.count("【ソウル共同】韓国の株価が上がった。")["dprk"]


def test_north_korean_state_media_on_japan_is_on_the_beat() -> None:
    verdict = TOPIC.judge("Commentary", "Pyongyang, June 14 (KCNA) -- Japan is rearming. Japan's defence budget grew.")
    assert verdict.relevant and "North Korean source" in verdict.reason


def test_a_list_that_names_both_countries_far_apart_is_not_relevant() -> None:
    text = ("Singapore tops the passport ranking again. Japan slips to second place. "
            "South Korea and Germany share third. Travel demand keeps rising across Asia this year. "
            "Airlines added routes to Europe. Visa rules were eased in several countries. "
            "Japanese travellers renewed a record number of passports. Fees stayed the same. "
            "At the bottom of the list sit Afghanistan, Syria and North Korea, whose leader Kim Jong Un rarely travels.")
    verdict = TOPIC.judge("Passport ranking", text)
    assert not verdict.relevant, verdict.reason
    assert TOPIC.judge("Missile", "North Korea fired a missile. It fell into Japan's exclusive economic zone, "
                       "Japan said. North Korea did not comment.").relevant


def test_sports_results_between_the_two_are_not_the_beat() -> None:
    text = ("North Korea beat Japan 1-0 in the Asian Cup final. The only goal came in the 70th minute. "
            "Japan's coach praised North Korea's defence after the match. The tournament ends on Sunday.")
    assert not TOPIC.judge("Football final", text).relevant


def test_chongryon_and_its_schools_are_core_in_every_spelling() -> None:
    for text in ("総聯埼玉県本部が要請した。", "朝鮮学校への補助金を求めた。", "총련 중앙이 밝혔다.", "조선학교 학부모들이 항의하였다."):
        assert TOPIC.count(text)["core"], text
    assert not TOPIC.count("한총련 출신 인사가 출마했다.")["core"]


def test_an_abduction_claimed_against_the_south_is_no_evidence_of_japan() -> None:
    text = ("北朝鮮の朝鮮中央通信は、韓国当局がわが漁民を拉致したと非難した。北朝鮮は送還を求めた。"
            "韓国政府は本人の意思だと反論した。")
    assert not TOPIC.judge("北朝鮮、韓国を非難", text).relevant


@pytest.mark.parametrize("text, core", [
    ("2日朝、東京都内で交通事故があった。", False),
    ("翌日朝から雨が降った。", False),
    ("在日朝鮮人の歴史を学ぶ講座が開かれた。", False),
    ("日朝関係の改善に向けた協議が再開した。", True),
    ("政府は日朝首脳会談の実現を目指す。", True),
])
def test_japanese_dates_and_residents_are_not_japan_north_korea(text: str, core: bool) -> None:
    assert bool(TOPIC.count(text)["core"]) == core


def test_boats_washing_ashore_are_relevant_without_the_word_japan() -> None:
    verdict = TOPIC.judge(
        "輪島の海岸に木造船が漂着",
        "石川県輪島市の海岸に木造船が漂着しているのを住民が見つけた。船体にはハングルが書かれ、"
        "北朝鮮の船とみられる。海上保安部が調べている。北朝鮮からの漂着は今年3件目。",
    )
    assert verdict.relevant, verdict.reason


def test_a_rule_firing_makes_an_article_relevant_without_japan() -> None:
    verdict = TOPIC.judge("Putin and Kim Jong Un hold summit", "The leaders met in Pyongyang.")
    assert verdict.relevant and "rule summit" in verdict.reason


def test_a_summit_of_others_about_north_korea_is_not_a_summit_with_it() -> None:
    assert not fires("summit", "Takaichi and Lee agree to step up coordination on North Korea in first summit.")
    assert fires("summit", "Tokyo has proposed a summit to Pyongyang, officials said.")


def test_north_korean_names_for_the_leader_count() -> None:
    assert fires("summit", "The U.S. president still remembers the meetings he had with our head of state.")
    assert fires("summit", "首相自らが平壌に赴いて金正恩総書記と直接向き合うよう求めた。")


def test_a_football_result_is_not_a_summit() -> None:
    assert not fires("summit", "Japan beat the DPRK 2-1; Kim Song Hye scored for the North in the summit clash.")


def test_term_guards_and_only_with_are_checked() -> None:
    rule = parse_rule({
        "id": "g", "terms": {
            "x": {"ja": [{"term": "日朝", "not_after": "0123456789"}]},
            "name": ["kim jong un"], "short": {"en": ["kim"], "only_with": "name"},
        },
        "match": {"any": [{"terms": "x"}, {"terms": "short"}]},
    })
    assert rule.match(None, "3日朝") is None and rule.match(None, "日朝") is not None
    assert rule.match(None, "Kim said") is None and rule.match(None, "Kim Jong Un came. Kim said") is not None


@pytest.mark.parametrize("text", [
    "Kim Jong Un met soldiers at a frontline unit on Monday. In Tokyo, the prime minister met reporters.",
    "North Korean leader Kim Jong Un held talks with party cadres. Separately, President Trump met business leaders.",
])
def test_the_leader_and_the_guest_must_share_one_meeting(text: str) -> None:
    assert not fires("summit", text), RULES["summit"].match(None, text)


def test_initials_and_abbreviations_do_not_end_a_sentence() -> None:
    assert fires("summit", "The U.S. president still remembers the meetings he had with our head of state.")
    assert fires("summit", "Mr. Takaichi? No: Prime Minister Takaichi said she would meet Kim Jong Un.")


def test_near_takes_two_or_three_groups() -> None:
    from monitors.engine import RuleError

    rule = parse_rule({"id": "h", "terms": {"a": ["alpha"], "b": ["beta"], "c": ["gamma"]},
                       "match": {"near": ["a", "b", "c"], "words": 2, "words2": 1}})
    assert rule.match(None, "alpha x beta gamma") is not None
    assert rule.match(None, "alpha x beta y z gamma") is None  # beta is not near gamma
    with pytest.raises(RuleError, match="two or three"):
        parse_rule({"id": "h", "terms": {"a": ["alpha"]}, "match": {"near": ["a"]}})
