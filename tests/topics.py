"""Topic definitions for tests: a relevance verdict from a plain predicate over the text."""

from __future__ import annotations

from collections.abc import Callable

from monitors.topic import Verdict


class PredicateTopic:
    """Relevant when *terms* finds anything in the title and text; the reason names what it found."""

    def __init__(self, name: str, terms: Callable[[str], list[str]]):
        self.name = name
        self.terms = terms

    def judge(self, title: str | None, text: str | None) -> Verdict:
        found = self.terms(f"{title or ''}\n{text or ''}")
        if found:
            return Verdict(True, f"on-topic ({self.name}): {', '.join(found)}", {})
        return Verdict(False, f"off-topic ({self.name})", {})


#: Before: anything that mentions a summit.
SUMMITS = PredicateTopic("summits", lambda t: ["summit"] if "summit" in t.lower() else [])
#: After: summits but not the G7's, and the abductee Megumi Yokota.
SUMMITS_AND_ABDUCTEES = PredicateTopic(
    "summits and abductees",
    lambda t: ([w for w in ("summit",) if w in t.lower() and "G7" not in t] + [w for w in ("Yokota",) if w in t]),
)
