"""Relevance: is an article about Japan–North Korea relations?

The definition is data (``topic.toml``); this module compiles it and returns
a verdict with its reason, e.g. ``core: 日朝×3; dprk: 北朝鮮×5; japan: 政府×2``.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from newswatch.textnorm import normalize

TOPIC_FILE = Path(__file__).with_name("topic.toml")
_LATIN = re.compile(r"^[\x00-\x7f–-]+$")


@dataclass(frozen=True)
class Verdict:
    relevant: bool
    reason: str
    counts: dict[str, Counter]


def _pattern(term: str) -> tuple[str, str, str | None]:
    """(label, regular expression, literal that every match contains) for one term of topic.toml."""
    label, sep, regex = term.partition("=re:")
    if sep:
        return label, regex, None
    norm = normalize(term)
    escaped = re.escape(norm)
    if _LATIN.match(norm):
        return term, rf"(?<![\w]){escaped}(?![\w])", norm
    return term, escaped, norm


@dataclass(frozen=True)
class Topic:
    groups: dict[str, list[tuple[str, re.Pattern[str], str | None]]]
    min_dprk: int
    min_japan: int

    def count(self, text: str) -> dict[str, Counter]:
        norm = normalize(text)
        out: dict[str, Counter] = {}
        for group, terms in self.groups.items():
            c: Counter = Counter()
            for label, pattern, literal in terms:
                if literal is not None and literal not in norm:
                    continue  # a substring test is far cheaper than a regex scan
                n = len(pattern.findall(norm))
                if n:
                    c[label] += n
            out[group] = c
        return out

    def judge(self, title: str | None, text: str | None) -> Verdict:
        counts = self.count(f"{title or ''}\n{title or ''}\n{text or ''}")
        total = {g: sum(c.values()) for g, c in counts.items()}
        parts = [
            f"{g}: " + ", ".join(f"{t}×{n}" for t, n in c.most_common(4))
            for g, c in counts.items() if c
        ]
        detail = "; ".join(parts) or "no Japan or North Korea terms"
        if total["core"]:
            return Verdict(True, f"on-topic (core term) — {detail}", counts)
        if total["dprk"] >= self.min_dprk and total["japan"] >= self.min_japan:
            return Verdict(True, f"on-topic (North Korea and Japan) — {detail}", counts)
        return Verdict(False, f"off-topic — {detail}", counts)


@lru_cache(maxsize=4)
def load_topic(path: Path = TOPIC_FILE) -> Topic:
    data = tomllib.loads(path.read_text("utf-8"))
    groups: dict[str, list[tuple[str, re.Pattern[str], str | None]]] = {}
    for group in ("core", "dprk", "japan"):
        terms = [t for lang in ("en", "ja", "ko") for t in data.get(group, {}).get(lang, [])]
        groups[group] = [(label, re.compile(rx), literal) for label, rx, literal in map(_pattern, terms)]
    return Topic(groups, int(data.get("min_dprk", 2)), int(data.get("min_japan", 2)))
