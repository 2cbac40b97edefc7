"""The rule engine: alert rules are data (``rules/*.toml``); this reads and applies them.

A rule names groups of terms (per language, with aliases) and combines them
with ``any``, ``all``, ``not`` and ``near``. Matching is insensitive to case,
width (full-width forms), Unicode normalisation and kana (hiragana and
katakana are one); Latin terms match whole words only, Japanese and Korean
terms match inside runs of text without spaces. ``exclude`` phrases are
blanked out before matching ("G7 summit", "the summit of Mount Fuji"), so
that a term inside them cannot fire.

A match explains itself: the terms found, where, and a snippet with the
matches marked. A rule's version is a hash of its definition (what it
matches; not how its alerts are delivered).

``delivery`` says how a rule's alerts reach the user: ``"digest"`` (the
default) in the next digest only, or ``"immediate"`` at the end of the cycle
that raised them as well (newswatch/immediate.py).
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from newswatch import PACKAGES_DIR, settings
from newswatch.textnorm import CJK_CHAR, SENTENCE_BREAK, kana_fold

LANGUAGES = ("en", "ja", "ko")
MARK_OPEN, MARK_CLOSE = "⟦", "⟧"
DELIVERIES = ("immediate", "digest")



class RuleError(ValueError):
    """A rule file is malformed."""


# -- folding --------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _fold_char(ch: str) -> str:
    out = []
    for c in kana_fold(unicodedata.normalize("NFKC", ch).casefold()):
        cat = unicodedata.category(c)
        if cat[0] in "PSZC":
            c = " "
        out.append(c)
    return "".join(out)


class _FoldTable(dict):
    """Code point → folded string, filled on first use; ``str.translate`` reads it at C speed.

    ``uneven`` collects the characters met so far that fold to other than one character.
    """

    def __init__(self) -> None:
        super().__init__()
        self.uneven: set[str] = set()

    def __missing__(self, code: int) -> str:
        folded = self[code] = _fold_char(chr(code))
        if len(folded) != 1:
            self.uneven.add(chr(code))
        return folded


_FOLD_TABLE = _FoldTable()
_SPACE_RUN = re.compile(" {2,}")
_DROPPED_SPACES = re.compile(" {2,}|^ ")  # folding keeps the first space of a run, and no leading one


@lru_cache(maxsize=64)  # every rule folds the same title and body: do it once
def fold_text(text: str) -> str:
    """The folded text alone: what ``fold`` returns first, without the position map."""
    return _SPACE_RUN.sub(" ", text.translate(_FOLD_TABLE)).lstrip(" ")


@lru_cache(maxsize=64)
def fold(text: str) -> tuple[str, list[int]]:
    """Folded text, and for each of its characters the index of its source in *text*.

    *text* should be NFC already (``prepare`` does that); one source character
    may fold to several characters or to none. Runs of spaces fold to one, and
    leading spaces to none.
    """
    raw = text.translate(_FOLD_TABLE)  # also fills the table for every character of *text*
    if not _FOLD_TABLE.uneven.isdisjoint(text):
        return _fold_unevenly(text)
    # Each character folds to one: the index is the identity, less the spaces dropped.
    index: list[int] = []
    pos = 0
    for m in _DROPPED_SPACES.finditer(raw):
        start, end = m.span()
        index.extend(range(pos, start if start == 0 else start + 1))
        pos = end
    index.extend(range(pos, len(raw)))
    return fold_text(text), index


def _fold_unevenly(text: str) -> tuple[str, list[int]]:
    """``fold`` one character at a time: for texts with characters that fold to several or none."""
    chars: list[str] = []
    index: list[int] = []
    last_space = True
    for i, ch in enumerate(text):
        for c in _FOLD_TABLE[ord(ch)]:
            if c == " ":
                if last_space:
                    continue
                last_space = True
            else:
                last_space = False
            chars.append(c)
            index.append(i)
    return "".join(chars), index


def fold_term(term: str) -> str:
    return fold(unicodedata.normalize("NFC", term))[0].strip()


# Datelines and agency credits name places and agencies in every item ("Pyongyang,
# June 14 (KCNA) --", "(평양 6월 14일발 조선중앙통신)", "【ソウル共同】"): they say
# where a text was filed, not what it is about. The place and date are blanked
# before matching; the agency's name is kept, once, as the text's source.
DATELINE = re.compile(
    r"(?m)^[ \t]*[A-Z][A-Za-z.' -]{1,40},[ \t]+[A-Z][a-z]{2,9}\.?[ \t]+\d{1,2}(?:,[ \t]*\d{4})?[ \t]*"
    r"\((?P<agency>KCNA|Yonhap|AP|AFP|Reuters|Kyodo|Jiji|Xinhua|UPI|NHK|Tass|TASS)\)[ \t]*(?:--|—|–|-)?"
    r"|\((?:[가-힣]+[ \t]*)?\d{1,2}월[ \t]*\d{1,2}일발[ \t]*(?P<agency_ko>조선중앙통신|로동신문|조선통신|통일신보)\)"
    r"|\([가-힣]+=(?:연합뉴스|뉴스1|뉴시스)\)(?:[ \t]*[가-힣]{2,4}[ \t]*(?:기자|특파원)[ \t]*=)?"
    r"|【[^】\n]{1,16}】|〔[^〕\n]{1,16}〕"
)


def _blank_dateline(m: re.Match[str]) -> str:
    agency = m.group("agency") or m.group("agency_ko")
    if not agency:
        return " " * len(m.group())
    start = m.start("agency" if m.group("agency") else "agency_ko") - m.start()
    return " " * start + agency + " " * (len(m.group()) - start - len(agency))


def strip_datelines(text: str) -> str:
    """*text* with datelines and agency credits blanked (positions are kept), the agency's name left."""
    return DATELINE.sub(_blank_dateline, text)


def prepare(text: str) -> str:
    """What every matcher reads: NFC, datelines blanked."""
    return strip_datelines(unicodedata.normalize("NFC", text or ""))


def _is_cjk(term: str) -> bool:
    return bool(CJK_CHAR.search(term))


_WORD_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class Term:
    """One term of a rule or of the topic, folded, with the characters that may not surround it.

    In a rule file a term is a string, or a table such as
    ``{ term = "日朝", not_after = "0123456789毎同前翌今", not_before = "鮮" }``:
    "2日朝" is a date ("the morning of the 2nd") and "在日朝鮮人" names Korean
    residents of Japan; neither is Japan–North Korea.
    """

    label: str  # as written in the file
    folded: str
    whole_words: bool  # Latin terms match whole words only
    cjk: bool
    not_after: frozenset[str] = frozenset()
    not_before: frozenset[str] = frozenset()

    @classmethod
    def of(cls, spec: Any) -> "Term":
        if isinstance(spec, str):
            spec = {"term": spec}
        if not isinstance(spec, dict) or not isinstance(spec.get("term"), str) \
                or set(spec) - {"term", "not_after", "not_before"}:
            raise RuleError(f"a term is a string or a table with term, not_after and not_before: {spec!r}")
        label = spec["term"]
        guard = {k: frozenset(fold_text(prepare(str(spec.get(k, ""))))) - {" "} for k in ("not_after", "not_before")}
        cjk = _is_cjk(label)
        return cls(label, fold_term(label), not cjk, cjk, guard["not_after"], guard["not_before"])

    def pattern(self) -> str:
        out = re.escape(self.folded)
        before = "0-9a-z" if self.whole_words else ""
        before += "".join(re.escape(c) for c in sorted(self.not_after))
        after = "0-9a-z" if self.whole_words else ""
        after += "".join(re.escape(c) for c in sorted(self.not_before))
        if before:
            out = f"(?<![{before}])" + out
        if after:
            out += f"(?![{after}])"
        return out

    def fits(self, text: str, i: int, j: int) -> bool:
        """Whether the occurrence text[i:j] stands on its own (word boundaries and guards)."""
        prev = text[i - 1] if i > 0 else " "
        nxt = text[j] if j < len(text) else " "
        if self.whole_words and (prev in _WORD_CHARS or nxt in _WORD_CHARS):
            return False
        return prev not in self.not_after and nxt not in self.not_before


@dataclass(frozen=True)
class TermGroup:
    """A group's folded terms, found with plain substring search.

    ``spans`` returns what ``pattern.finditer`` would (leftmost match first, the
    longest term at one position, no overlaps), several times faster: Python's
    regular expressions try every alternative at every position of the text.
    Non-overlapping longest matches also make counts count distinct mentions:
    일본인 is one mention, not 일본 and 일본인.
    """

    terms: tuple[Term, ...]  # longest first

    @classmethod
    def of(cls, specs: list[Any]) -> "TermGroup":
        by_fold: dict[tuple, Term] = {}
        for spec in specs:
            term = Term.of(spec)
            if term.folded:
                by_fold.setdefault((term.folded, term.not_after, term.not_before), term)
        return cls(tuple(sorted(by_fold.values(), key=lambda t: len(t.pattern()), reverse=True)))

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """The same group as one regular expression: the reference ``spans`` is tested against,
        compiled only when asked for (every rule's groups together took 0.2 s at each start)."""
        return re.compile("|".join(sorted({t.pattern() for t in self.terms}, key=len, reverse=True)))

    def __bool__(self) -> bool:
        return bool(self.terms)

    def matches(self, text: str) -> list[tuple[int, int, Term]]:
        """(start, end, term) of each match in *text*, a folded text."""
        found: list[tuple[int, int, int]] = []
        for rank, term in enumerate(self.terms):
            i = text.find(term.folded)
            while i >= 0:
                j = i + len(term.folded)
                if term.fits(text, i, j):
                    found.append((i, rank, j))
                i = text.find(term.folded, i + 1)
        found.sort()
        out, pos = [], 0
        for i, rank, j in found:
            if i >= pos:
                out.append((i, j, self.terms[rank]))
                pos = j
        return out

    def spans(self, text: str) -> list[tuple[int, int, bool]]:
        """(start, end, CJK) of each match in *text*, a folded text."""
        return [(i, j, term.cjk) for i, j, term in self.matches(text)]

    def blank(self, text: str) -> str:
        """*text* with every match replaced by spaces of the same length."""
        spans = self.spans(text)
        if not spans:
            return text
        parts, pos = [], 0
        for i, j, _ in spans:
            parts += [text[pos:i], " " * (j - i)]
            pos = j
        parts.append(text[pos:])
        return "".join(parts)


# -- people ---------------------------------------------------------------------------

# One romanised Korean syllable (Revised, McCune–Reischauer and the DPRK's own
# spellings), so that "Kim Tok Hun" reads as a name and "Kim Meets" does not.
_SYLLABLE = r"(?:kk|tt|pp|ss|jj|tch|ch|sh|ts|[bdghjklmnprst])?[wy]?(?:ae|ai|eo|eu|oe|oi|ou|ui|a|e|i|o|u)(?:ng|[klmnpt])?"
_GIVEN = re.compile(_SYLLABLE)  # names are written a syllable a word: "Kim Tok Hun", "Kim Jong-un"
# English words shaped like one syllable of a Korean name that may follow a surname in prose.
_NOT_GIVEN = frozenset("""
a an he we me be do go no so to up in on at it ok met put got let set sat ran run sang sing hang long man men
yet not but won hit him ten pen
""".split())


@dataclass(frozen=True)
class People:
    """Surnames that start a person's name, and the people a rule is about.

    A surname followed by a given name ("Kim Tok Hun", "Kim Yo Jong") names
    someone; unless that someone is in ``keep``, the name is blanked before
    matching, so that the premier or a textile mill named after a Kim never
    counts as the leader. A surname alone ("Kim said") is left for the rule's
    terms to judge.
    """

    surnames: tuple[str, ...]
    keep: frozenset[str]
    pattern: re.Pattern[str] | None

    @classmethod
    def of(cls, spec: dict[str, Any] | None, rule_id: str) -> "People":
        if not spec:
            return cls((), frozenset(), None)
        if set(spec) - {"surnames", "keep"}:
            raise RuleError(f"rule {rule_id}: people takes surnames and keep")
        surnames = tuple(fold_term(n) for n in spec.get("surnames", []))
        if not all(re.fullmatch(r"[a-z]+", n) for n in surnames):
            raise RuleError(f"rule {rule_id}: people.surnames are single Latin words")
        keep = frozenset(fold_term(n) for n in spec.get("keep", []))
        alternatives = "|".join(map(re.escape, surnames))
        pattern = re.compile(rf"(?<![0-9a-z])(?:{alternatives})((?: [a-z]+){{1,3}})") if surnames else None
        return cls(surnames, keep, pattern)

    def blank_others(self, folded: str) -> str:
        """*folded* with the names of people not kept replaced by spaces."""
        if self.pattern is None:
            return folded
        out, pos = [], 0
        for m in self.pattern.finditer(folded):
            given: list[str] = []
            for word in m.group(1).split():
                if word in _NOT_GIVEN or not _GIVEN.fullmatch(word) or len(given) == 2:
                    break
                given.append(word)
            if not given:
                continue
            surname = m.group(0).split(" ", 1)[0]
            name = " ".join([surname, *given])
            if name in self.keep or any(k.startswith(name + " ") for k in self.keep):
                continue  # the leader (or his name cut short by a missing space in the source)
            end = m.start() + len(name)
            out += [folded[pos:m.start()], " " * (end - m.start())]
            pos = end
        if not out:
            return folded
        out.append(folded[pos:])
        return "".join(out)


# -- matching ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    group: str
    start: int  # in the folded text
    end: int
    cjk: bool
    term: str = field(default="", compare=False)  # the text matched, as written in the source




@dataclass
class _Text:
    source: str
    folded: str  # with excluded phrases and other people's names blanked

    @cached_property
    def index(self) -> list[int]:
        """Source index of each folded character (built only for texts that match)."""
        return fold(self.source)[1]

    @cached_property
    def _sentence_ends(self) -> list[int]:
        return [m.end() for m in SENTENCE_BREAK.finditer(self.source)]

    def sentence(self, hit: Hit) -> int:
        """Which sentence of the source *hit* starts in."""
        return bisect.bisect_right(self._sentence_ends, self.index[hit.start])

    def source_span(self, hit: Hit) -> tuple[int, int]:
        start = self.index[hit.start]
        end = self.index[hit.end - 1] + 1
        return start, end

    def with_term(self, hit: Hit) -> Hit:
        start, end = self.source_span(hit)
        return replace(hit, term=self.source[start:end])


def _near(a: Hit, b: Hit, text: _Text, words: int, chars: int, sentence: bool, ordered: bool = False) -> bool:
    if ordered and a.start > b.start:
        return False
    first, second = (a, b) if a.start <= b.start else (b, a)
    if first.end > second.start:  # overlapping
        return False
    if a.cjk or b.cjk:
        close = second.start - first.end <= chars
    else:  # words between them: folded text has single spaces between words
        close = text.folded.count(" ", first.end, second.start) <= words
    return close and (not sentence or text.sentence(first) == text.sentence(second))


@dataclass(frozen=True)
class Match:
    rule: str
    version: str
    field: str
    hits: tuple[Hit, ...]
    snippet: str

    @property
    def matched(self) -> list[str]:
        seen: list[str] = []
        for h in self.hits:
            if h.term not in seen:
                seen.append(h.term)
        return seen


@dataclass
class Rule:
    id: str
    description: str
    severity: str
    scope: tuple[str, ...]
    version: str
    groups: dict[str, TermGroup]
    excludes: TermGroup | None
    expr: dict[str, Any]
    path: Path | None = None
    people: People = field(default_factory=lambda: People((), frozenset(), None))
    only_with: dict[str, str] = field(default_factory=dict)  # group → group that must also be found
    name: str = ""  # a short name for people ("Summit"); the file's `name`, else made from the id
    delivery: str = "digest"  # "immediate": also sent at the end of the cycle that raised it

    # Expressions evaluate to (truth, hits that made them true).
    def _eval(self, node: dict[str, Any], text: _Text, cache: dict[str, list[Hit]]) -> tuple[bool, list[Hit]]:
        if "terms" in node:
            hits = self._hits(node["terms"], text, cache)
            return bool(hits), hits
        if "any" in node:
            hits: list[Hit] = []
            ok = False
            for child in node["any"]:
                c_ok, c_hits = self._eval(child, text, cache)
                if c_ok:
                    ok = True
                    hits += c_hits
            return ok, hits
        if "all" in node:
            hits = []
            for child in node["all"]:
                c_ok, c_hits = self._eval(child, text, cache)
                if not c_ok:
                    return False, []
                hits += c_hits
            return True, hits
        if "not" in node:
            c_ok, _ = self._eval(node["not"], text, cache)
            return (not c_ok), []
        if "near" in node:
            names = node["near"]
            words, chars = int(node.get("words", 10)), int(node.get("chars", 20))
            sentence, ordered = bool(node.get("sentence", False)), bool(node.get("ordered", False))
            a_hits = self._hits(names[0], text, cache)
            b_hits = self._hits(names[1], text, cache) if a_hits else []
            pairs = [(a, b) for a in a_hits for b in b_hits if _near(a, b, text, words, chars, sentence, ordered)]
            if len(names) == 3 and pairs:
                # The second group's hit is the hinge: near the first (as above) and near the third
                # (within words2/chars2): one meeting, between the leader and his guest.
                words2, chars2 = int(node.get("words2", words)), int(node.get("chars2", chars))
                c_hits = self._hits(names[2], text, cache)
                third = {b: [c for c in c_hits if _near(b, c, text, words2, chars2, sentence)] for _, b in pairs}
                pairs = [(a, b, *third[b][:1]) for a, b in pairs if third[b]]
            hits = [h for pair in pairs for h in pair]
            return bool(pairs), hits
        raise RuleError(f"rule {self.id}: unknown expression {node!r}")

    def _hits(self, group: str, text: _Text, cache: dict[str, list[Hit]]) -> list[Hit]:
        if group not in cache:
            required = self.only_with.get(group)
            if required is not None and not self._hits(required, text, cache):
                cache[group] = []  # "Kim" alone counts only in a text that names the leader
            else:
                cache[group] = [Hit(group, i, j, cjk) for i, j, cjk in self.groups[group].spans(text.folded)]
        return cache[group]

    def _prepare(self, raw: str) -> _Text:
        source = prepare(raw)
        folded = self.people.blank_others(fold_text(source))
        if self.excludes is not None:
            folded = self.excludes.blank(folded)
        return _Text(source, folded)

    def match(self, title: str | None, body: str | None) -> Match | None:
        fields = {"title": title or "", "body": body or ""}
        for name in self.scope:
            text = self._prepare(fields[name])
            ok, hits = self._eval(self.expr, text, {})
            if ok and hits:
                # The snippet is centred on what fired first in the rule's own order (the phrase,
                # not the "North Korea" that an `all` only asks to be somewhere in the text).
                anchor = hits[0]
                # A hit inside a longer one ("kidnapped" in "kidnapped Japanese citizens") adds nothing.
                hits = sorted((text.with_term(h) for h in outermost(set(hits))), key=lambda h: h.start)
                anchor = next((h for h in hits if h.start <= anchor.start and anchor.end <= h.end), hits[0])
                return Match(self.id, self.version, name, tuple(hits), snippet(text, hits, anchor))
        return None


def outermost(hits: set[Hit]) -> list[Hit]:
    """The hits that no other hit contains (two hits over the same span contain each other).

    One pass in order of start, longest first: a hit is contained when an earlier one
    reaches as far as it does.
    """
    spans: dict[tuple[int, int], list[Hit]] = {}
    for h in hits:
        spans.setdefault((h.start, h.end), []).append(h)
    kept: list[Hit] = []
    reach = -1
    for (start, end), same in sorted(spans.items(), key=lambda item: (item[0][0], -item[0][1])):
        if end > reach and len(same) == 1:
            kept += same
        reach = max(reach, end)
    return kept


def snippet(text: _Text, hits: list[Hit], anchor: Hit | None = None, width: int = 90) -> str:
    """Text around *anchor* (default: the first hit), every hit inside it marked ⟦like this⟧."""
    spans = sorted({text.source_span(h) for h in hits})
    first_start, first_end = text.source_span(anchor) if anchor is not None else spans[0]
    lo = max(0, first_start - width)
    hi = min(len(text.source), first_end + width)
    out, pos = [], lo
    for start, end in spans:
        if start < pos or end > hi:
            continue
        out.append(text.source[pos:start])
        out.append(MARK_OPEN + text.source[start:end] + MARK_CLOSE)
        pos = end
    out.append(text.source[pos:hi])
    body = " ".join("".join(out).split())
    return ("…" if lo > 0 else "") + body + ("…" if hi < len(text.source) else "")


def find_snippet(raw: str, terms: TermGroup, width: int = 90, cjk_width: int = 90) -> str | None:
    """*raw* around the first match of *terms* (found as rules find them), every match in it marked.

    *width* characters on each side when that match is in Latin script, *cjk_width* when it is
    Japanese or Korean; None when nothing matches.
    """
    source = prepare(raw)
    text = _Text(source, fold_text(source))
    hits = [Hit("", i, j, cjk) for i, j, cjk in terms.spans(text.folded)]
    if not hits:
        return None
    return snippet(text, hits, width=cjk_width if hits[0].cjk else width)


# -- loading -------------------------------------------------------------------------------


def _terms_of(spec: Any, where: str) -> list[Any]:
    """The terms of a group or an exclude list: a list, or a table of languages."""
    if isinstance(spec, list):
        return spec
    if isinstance(spec, dict):
        unknown = set(spec) - set(LANGUAGES) - {"only_with"}
        if unknown:
            raise RuleError(f"{where} has unknown languages {sorted(unknown)}")
        return [t for lang in LANGUAGES for t in spec.get(lang, [])]
    raise RuleError(f"{where} must be a list or a table of languages")


def compile_terms(spec: Any, where: str) -> TermGroup:
    try:
        group = TermGroup.of(_terms_of(spec, where))
    except RuleError as exc:
        raise RuleError(f"{where}: {exc}") from None
    return group


def _compile_group(name: str, spec: Any, rule_id: str) -> TermGroup:
    group = compile_terms(spec, f"rule {rule_id}: group {name}")
    if not group:
        raise RuleError(f"rule {rule_id}: group {name} has no terms")
    return group  # longest first, so that "kim jong un" wins over "kim"


def _check_expr(node: Any, groups: dict[str, Any], rule_id: str) -> None:
    if not isinstance(node, dict) or len(node.keys() - {"words", "chars", "sentence", "ordered", "words2", "chars2"}) != 1:
        raise RuleError(f"rule {rule_id}: each expression needs exactly one of terms/any/all/not/near: {node!r}")
    if "terms" in node:
        if node["terms"] not in groups:
            raise RuleError(f"rule {rule_id}: unknown term group {node['terms']!r}")
    elif "near" in node:
        if not (isinstance(node["near"], list) and len(node["near"]) in (2, 3)
                and all(g in groups for g in node["near"])):
            raise RuleError(f"rule {rule_id}: near takes two or three known term groups: {node['near']!r}")
    elif "not" in node:
        _check_expr(node["not"], groups, rule_id)
    elif "any" in node or "all" in node:
        for child in node.get("any", node.get("all")):
            _check_expr(child, groups, rule_id)
    else:
        raise RuleError(f"rule {rule_id}: unknown expression {node!r}")


def parse_rule(data: dict[str, Any], path: Path | None = None) -> Rule:
    try:
        rule_id = data["id"]
        groups_spec = data["terms"]
        expr = data["match"]
    except KeyError as exc:
        raise RuleError(f"{path or 'rule'}: missing {exc.args[0]!r}") from None
    if not isinstance(rule_id, str):
        raise RuleError(f"{path or 'rule'}: id must be a string, not {rule_id!r}")
    if not isinstance(groups_spec, dict):
        raise RuleError(f"{path or 'rule'}: terms must be a table of named groups")
    if not re.fullmatch(r"[a-z][a-z0-9_-]*", rule_id):
        raise RuleError(f"{path or 'rule'}: id {rule_id!r} must be lowercase letters, digits, - or _")
    groups = {name: _compile_group(name, spec, rule_id) for name, spec in groups_spec.items()}
    only_with = {name: spec["only_with"] for name, spec in groups_spec.items()
                 if isinstance(spec, dict) and "only_with" in spec}
    for name, required in only_with.items():
        if required not in groups or required == name or required in only_with:
            raise RuleError(f"rule {rule_id}: group {name}: only_with names another plain group, not {required!r}")
    _check_expr(expr, groups_spec, rule_id)
    excludes = compile_terms(data.get("exclude", []), f"rule {rule_id}: exclude") or None
    scope = tuple(data.get("scope", ["title", "body"]))
    if not set(scope) <= {"title", "body"}:
        raise RuleError(f"rule {rule_id}: scope may only name title and body")
    people = People.of(data.get("people"), rule_id)
    name = data.get("name", rule_id.replace("_", " ").replace("-", " ").capitalize())
    if not isinstance(name, str) or not name.strip():
        raise RuleError(f"rule {rule_id}: name must be a non-empty string")
    delivery = data.get("delivery", "digest")
    if delivery not in DELIVERIES:
        raise RuleError(f"{path or f'rule {rule_id}'}: delivery must be \"immediate\" or \"digest\", not {delivery!r}")
    # How alerts are delivered is not part of what the rule matches: changing it keeps the version.
    definition = {k: v for k, v in data.items() if k not in ("delivery", "name")}
    version = hashlib.sha256(json.dumps(definition, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:12]
    return Rule(rule_id, data.get("description", ""), data.get("severity", "normal"), scope, version,
                groups, excludes, expr, path, people, only_with, " ".join(name.split()), delivery)


def load_rule_file(path: Path) -> Rule:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise RuleError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise RuleError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    try:
        return parse_rule(data, path)
    except (TypeError, AttributeError) as exc:  # a value of the wrong kind somewhere inside
        raise RuleError(f"{path}: malformed rule ({exc})") from None


@dataclass(frozen=True)
class RuleSet:
    """The rules of a folder that loaded, and one plain line per file that did not."""

    rules: tuple[Rule, ...]
    problems: tuple[str, ...]  # "monitors/rules/x.toml: what is wrong"


def shown_path(path: Path) -> str:
    """*path* as a user finds it: relative to the project folder (or site-packages) when inside it."""
    try:
        return str(path.resolve().relative_to(PACKAGES_DIR))
    except ValueError:
        return str(path)


def _problem(path: Path, error: RuleError) -> str:
    message = str(error)
    for prefix in (f"{path}: ", f"{path.resolve()}: "):
        if message.startswith(prefix):
            message = message[len(prefix):]
            break
    return f"{shown_path(path)}: {message}"


@lru_cache(maxsize=8)
def _load_folder(rules_dir: Path) -> RuleSet:
    rules: list[Rule] = []
    problems: list[str] = []
    by_id: dict[str, Path] = {}
    if not rules_dir.is_dir():
        return RuleSet((), (f"{shown_path(rules_dir)}: no such rules folder",))
    for path in sorted(rules_dir.glob("*.toml")):
        try:
            rule = load_rule_file(path)
        except RuleError as exc:
            problems.append(_problem(path, exc))
            continue
        if rule.id in by_id:
            problems.append(f"{shown_path(path)}: rule id {rule.id!r} is already used by {by_id[rule.id].name}")
            continue
        by_id[rule.id] = path
        rules.append(rule)
    return RuleSet(tuple(rules), tuple(problems))


def load_rule_set(rules_dir: Path | None = None) -> RuleSet:
    """Every rule of the folder that loads; a broken file is skipped and reported, never fatal."""
    return _load_folder(settings.rules_path(rules_dir).resolve())


def load_rules(rules_dir: Path | None = None) -> tuple[Rule, ...]:
    """The rules that load (see ``rule_problems`` for the files that did not)."""
    return load_rule_set(rules_dir).rules


def rule_problems(rules_dir: Path | None = None) -> list[str]:
    """One plain line per rule file that could not be loaded: "monitors/rules/x.toml: what is wrong"."""
    return list(load_rule_set(rules_dir).problems)
