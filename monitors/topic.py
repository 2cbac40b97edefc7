"""Relevance: is an article about Japan–North Korea relations?

The definition is data (``topic.toml``), read by the rule engine's matcher
(``engine.py``): one folding, one way of finding terms, for relevance and for
rules alike. A verdict comes with its reason, e.g.
``on-topic (core term) — core: 日朝×3; dprk: 北朝鮮×5; japan: 政府×2``.

Mentions are counted once each: at one place of the text the longest term
wins ("일본인" is one mention, not 일본 and 일본인), and spellings that fold
to one form ("Kim Jong-un", "Kim Jong Un") are one term. Datelines are blanked
first (``engine.prepare``), so "Pyongyang, June 14 (KCNA)" counts for nothing.

An article that an alert rule fires on is relevant too: a summit with North
Korea's leader or the abductees are the beat even when Japan is not named.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from newswatch.textnorm import SENTENCE_BREAK
from monitors.engine import DATELINE, Rule, RuleError, TermGroup, compile_terms, fold_text, load_rules, prepare

TOPIC_FILE = Path(__file__).with_name("topic.toml")
GROUPS = ("core", "dprk", "japan")
OPTIONAL_GROUPS = ("offbeat",)


@dataclass(frozen=True)
class Verdict:
    relevant: bool
    reason: str
    counts: dict[str, Counter]


@dataclass(frozen=True)
class Topic:
    groups: dict[str, TermGroup]
    min_dprk: int
    min_japan: int
    max_offbeat: int | None = None
    rules: tuple[Rule, ...] = ()
    excludes: TermGroup | None = None

    def _folded(self, prepared: str) -> str:
        """*prepared* folded as the rules fold it, excluded names blanked."""
        folded = fold_text(prepared)
        return self.excludes.blank(folded) if self.excludes is not None else folded

    def count(self, text: str) -> dict[str, Counter]:
        """Distinct mentions of each group's terms in *text*, by term."""
        folded = self._folded(prepare(text))
        return {g: Counter(term.label for _, _, term in group.matches(folded)) for g, group in self.groups.items()}

    def from_north(self, text: str) -> bool:
        """Whether *text* was filed by a North Korean agency (its dateline's credit is a dprk term)."""
        for m in DATELINE.finditer(text[:2000]):
            agency = m.group("agency") or m.group("agency_ko")
            if agency and self.groups["dprk"].matches(fold_text(agency)):
                return True
        return False

    def together(self, text: str) -> bool:
        """Whether North Korea and Japan are named in one sentence of *text*, or in two sentences
        that follow each other: a list or an aside that names both far apart is not about them."""
        prepared = prepare(text)
        start, previous = 0, (False, False)
        for end in [m.end() for m in SENTENCE_BREAK.finditer(prepared)] + [len(prepared)]:
            folded = self._folded(prepared[start:end])
            start = end
            if not folded.strip():
                continue  # the blank line between paragraphs
            here = (bool(self.groups["dprk"].matches(folded)), bool(self.groups["japan"].matches(folded)))
            if (here[0] or previous[0]) and (here[1] or previous[1]) and any(here):
                return True
            previous = here
        return False

    def judge(self, title: str | None, text: str | None) -> Verdict:
        counts = self.count(f"{title or ''}\n{title or ''}\n{text or ''}")  # the title counts double
        total = {g: sum(c.values()) for g, c in counts.items()}
        parts = [
            f"{g}: " + ", ".join(f"{t}×{n}" for t, n in c.most_common(4))
            for g, c in counts.items() if c
        ]
        detail = "; ".join(parts) or "no Japan or North Korea terms"
        if total["core"]:
            return Verdict(True, f"on-topic (core term) — {detail}", counts)
        offbeat = self.max_offbeat is not None and total.get("offbeat", 0) > self.max_offbeat
        if total["japan"] >= self.min_japan and not offbeat:
            # North Korea's own agencies speak for it in every sentence.
            if self.from_north(text or ""):
                return Verdict(True, f"on-topic (North Korean source on Japan) — {detail}", counts)
            if total["dprk"] >= self.min_dprk and self.together(f"{title or ''}\n{text or ''}"):
                return Verdict(True, f"on-topic (North Korea and Japan) — {detail}", counts)
        for rule in self.rules:
            match = rule.match(title, text)
            if match is not None:
                return Verdict(True, f"on-topic (rule {rule.id}: {', '.join(match.matched[:4])}) — {detail}", counts)
        return Verdict(False, f"off-topic — {detail}", counts)


def parse_topic(data: dict, rules: tuple[Rule, ...] = ()) -> Topic:
    groups = {g: compile_terms(data.get(g, {}), f"topic: {g}") for g in GROUPS}
    for g, group in groups.items():
        if not group:
            raise RuleError(f"topic: group {g} has no terms")
    groups.update({g: compile_terms(data[g], f"topic: {g}") for g in OPTIONAL_GROUPS if g in data})
    max_offbeat = int(data["max_offbeat"]) if "offbeat" in groups and "max_offbeat" in data else None
    excludes = compile_terms(data.get("exclude", []), "topic: exclude") or None
    return Topic(groups, int(data.get("min_dprk", 2)), int(data.get("min_japan", 2)), max_offbeat, rules, excludes)


@lru_cache(maxsize=4)
def load_topic(path: Path = TOPIC_FILE, with_rules: bool = True) -> Topic:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{path}: {exc}") from None
    return parse_topic(data, load_rules() if with_rules else ())
