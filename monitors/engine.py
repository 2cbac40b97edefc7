"""The rule engine: alert rules are data (``rules/*.toml``); this reads and applies them.

A rule names groups of terms (per language, with aliases) and combines them
with ``any``, ``all``, ``not`` and ``near``. Matching is insensitive to case,
width (full-width forms), Unicode normalisation and kana (hiragana and
katakana are one); Latin terms match whole words only, Japanese and Korean
terms match inside runs of text without spaces. ``exclude`` phrases are
blanked out before matching ("G7 summit", "the summit of Mount Fuji"), so
that a term inside them cannot fire.

A match explains itself: the terms found, where, and a snippet with the
matches marked. A rule's version is a hash of its definition.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from newswatch.textnorm import CJK_CHARS, kana_fold

RULES_DIR = Path(__file__).with_name("rules")
LANGUAGES = ("en", "ja", "ko")
MARK_OPEN, MARK_CLOSE = "⟦", "⟧"

_CJK = re.compile(f"[{CJK_CHARS}]")


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
    """Code point → folded string, filled on first use; ``str.translate`` reads it at C speed."""

    def __missing__(self, code: int) -> str:
        folded = self[code] = _fold_char(chr(code))
        return folded


_FOLD_TABLE = _FoldTable()
_SPACE_RUN = re.compile(" {2,}")


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


def prepare(text: str) -> str:
    return unicodedata.normalize("NFC", text or "")


def _is_cjk(term: str) -> bool:
    return bool(_CJK.search(term))


def _term_pattern(term: str) -> str:
    folded = re.escape(fold_term(term))
    if _is_cjk(term):
        return folded
    return rf"(?<![0-9a-z]){folded}(?![0-9a-z])"


_WORD_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class TermGroup:
    """A group's folded terms, found with plain substring search.

    ``spans`` returns what ``pattern.finditer`` would (leftmost match first, the
    longest term at one position, no overlaps), several times faster: Python's
    regular expressions try every alternative at every position of the text.
    """

    terms: tuple[tuple[str, bool, bool], ...]  # (folded term, whole words only, CJK), longest first
    pattern: re.Pattern[str]  # the same group as one regular expression (the reference)

    @classmethod
    def of(cls, terms: list[str]) -> "TermGroup":
        folded = {fold_term(t): t for t in terms}
        ordered = sorted(folded.items(), key=lambda kv: len(_term_pattern(kv[1])), reverse=True)
        patterns = sorted({_term_pattern(t) for t in terms}, key=len, reverse=True)
        return cls(tuple((f, not _is_cjk(t), _is_cjk(t)) for f, t in ordered), re.compile("|".join(patterns)))

    def spans(self, text: str) -> list[tuple[int, int, bool]]:
        """(start, end, CJK) of each match in *text*, a folded text."""
        found: list[tuple[int, int, int, bool]] = []
        for rank, (term, whole_words, cjk) in enumerate(self.terms):
            i = text.find(term)
            while i >= 0:
                j = i + len(term)
                if not whole_words or ((i == 0 or text[i - 1] not in _WORD_CHARS)
                                       and (j == len(text) or text[j] not in _WORD_CHARS)):
                    found.append((i, rank, j, cjk))
                i = text.find(term, i + 1)
        found.sort()
        out, pos = [], 0
        for i, _, j, cjk in found:
            if i >= pos:
                out.append((i, j, cjk))
                pos = j
        return out

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
    folded: str  # with excluded phrases blanked

    @cached_property
    def index(self) -> list[int]:
        """Source index of each folded character (built only for texts that match)."""
        return fold(self.source)[1]

    def source_span(self, hit: Hit) -> tuple[int, int]:
        start = self.index[hit.start]
        end = self.index[hit.end - 1] + 1
        return start, end

    def with_term(self, hit: Hit) -> Hit:
        start, end = self.source_span(hit)
        return replace(hit, term=self.source[start:end])


def _near(a: Hit, b: Hit, text: _Text, words: int, chars: int) -> bool:
    first, second = (a, b) if a.start <= b.start else (b, a)
    if first.end > second.start:  # overlapping
        return False
    if a.cjk or b.cjk:
        return second.start - first.end <= chars
    # Words between them: folded text has single spaces between words.
    return text.folded.count(" ", first.end, second.start) <= words


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
            a_name, b_name = node["near"]
            words, chars = int(node.get("words", 10)), int(node.get("chars", 20))
            a_hits = self._hits(a_name, text, cache)
            b_hits = self._hits(b_name, text, cache)
            pairs = [(a, b) for a in a_hits for b in b_hits if _near(a, b, text, words, chars)]
            hits = []
            for a, b in pairs:
                hits += [a, b]
            return bool(pairs), hits
        raise RuleError(f"rule {self.id}: unknown expression {node!r}")

    def _hits(self, group: str, text: _Text, cache: dict[str, list[Hit]]) -> list[Hit]:
        if group not in cache:
            cache[group] = [Hit(group, i, j, cjk) for i, j, cjk in self.groups[group].spans(text.folded)]
        return cache[group]

    def _prepare(self, raw: str) -> _Text:
        source = prepare(raw)
        folded = fold_text(source)
        if self.excludes is not None:
            folded = self.excludes.blank(folded)
        return _Text(source, folded)

    def match(self, title: str | None, body: str | None) -> Match | None:
        fields = {"title": title or "", "body": body or ""}
        for name in self.scope:
            text = self._prepare(fields[name])
            ok, hits = self._eval(self.expr, text, {})
            if ok and hits:
                unique = set(hits)
                # A hit inside a longer one ("kidnapped" in "kidnapped Japanese citizens") adds nothing.
                hits = sorted(
                    (text.with_term(h) for h in unique
                     if not any(o != h and o.start <= h.start and h.end <= o.end for o in unique)),
                    key=lambda h: h.start,
                )
                return Match(self.id, self.version, name, tuple(hits), snippet(text, hits))
        return None


def snippet(text: _Text, hits: list[Hit], width: int = 90) -> str:
    """Text around the first hit, every hit inside it marked ⟦like this⟧."""
    spans = sorted({text.source_span(h) for h in hits})
    first_start, first_end = spans[0]
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


# -- loading -------------------------------------------------------------------------------


def _compile_group(name: str, spec: Any, rule_id: str) -> TermGroup:
    if isinstance(spec, list):
        terms = spec
    elif isinstance(spec, dict):
        unknown = set(spec) - set(LANGUAGES)
        if unknown:
            raise RuleError(f"rule {rule_id}: group {name} has unknown languages {sorted(unknown)}")
        terms = [t for lang in LANGUAGES for t in spec.get(lang, [])]
    else:
        raise RuleError(f"rule {rule_id}: group {name} must be a list or a table of languages")
    terms = [t for t in terms if fold_term(t)]
    if not terms:
        raise RuleError(f"rule {rule_id}: group {name} has no terms")
    return TermGroup.of(terms)  # longest first, so that "kim jong un" wins over "kim"


def _check_expr(node: Any, groups: dict[str, Any], rule_id: str) -> None:
    if not isinstance(node, dict) or len(node.keys() - {"words", "chars"}) != 1:
        raise RuleError(f"rule {rule_id}: each expression needs exactly one of terms/any/all/not/near: {node!r}")
    if "terms" in node:
        if node["terms"] not in groups:
            raise RuleError(f"rule {rule_id}: unknown term group {node['terms']!r}")
    elif "near" in node:
        if not (isinstance(node["near"], list) and len(node["near"]) == 2 and all(g in groups for g in node["near"])):
            raise RuleError(f"rule {rule_id}: near takes two known term groups: {node['near']!r}")
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
    if not re.fullmatch(r"[a-z][a-z0-9_-]*", rule_id):
        raise RuleError(f"{path or 'rule'}: id {rule_id!r} must be lowercase letters, digits, - or _")
    groups = {name: _compile_group(name, spec, rule_id) for name, spec in groups_spec.items()}
    _check_expr(expr, groups_spec, rule_id)
    exclude_terms = data.get("exclude", {})
    if isinstance(exclude_terms, dict):
        exclude_terms = [t for lang in LANGUAGES for t in exclude_terms.get(lang, [])]
    exclude_terms = [t for t in exclude_terms if fold_term(t)]
    excludes = TermGroup.of(exclude_terms) if exclude_terms else None
    scope = tuple(data.get("scope", ["title", "body"]))
    if not set(scope) <= {"title", "body"}:
        raise RuleError(f"rule {rule_id}: scope may only name title and body")
    version = hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:12]
    return Rule(rule_id, data.get("description", ""), data.get("severity", "normal"), scope, version,
                groups, excludes, expr, path)


def load_rule_file(path: Path) -> Rule:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{path}: {exc}") from None
    return parse_rule(data, path)


@lru_cache(maxsize=8)
def load_rules(rules_dir: Path = RULES_DIR) -> tuple[Rule, ...]:
    rules = tuple(load_rule_file(p) for p in sorted(rules_dir.glob("*.toml")))
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise RuleError(f"duplicate rule ids in {rules_dir}: {ids}")
    return rules
