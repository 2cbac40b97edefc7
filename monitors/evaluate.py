"""Evaluate relevance and the alert rules on labelled texts.

Input is JSON Lines, one text a line::

    {"id": "ja-001", "title": "…", "body": "…", "language": "ja",
     "relevant": true, "summit": false, "abductees": true}

``language`` is optional (guessed from the script when missing); every label
is optional. With labels, ``score`` gives precision, recall and F1 per check
and per language, and ``disagreements`` every text where a check and its
label differ, with the terms that made it fire. Without labels, the outcomes
are simply what fires. Pure functions: no database, no server.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitors.engine import Rule
from monitors.topic import Topic
from newswatch.textnorm import detect_language

RELEVANCE = "relevant"


class EvalInputError(ValueError):
    """A labelled file cannot be read."""


@dataclass(frozen=True)
class Labelled:
    id: str
    title: str
    body: str
    language: str
    labels: dict[str, bool]


@dataclass(frozen=True)
class Outcome:
    item: Labelled
    predicted: dict[str, bool]
    why: dict[str, str]  # check → matched terms, or the relevance reason


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, predicted: bool, label: bool) -> None:
        if predicted and label:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif label:
            self.fn += 1
        else:
            self.tn += 1


def parse_record(record: Any, where: str, checks: Sequence[str]) -> Labelled:
    if not isinstance(record, dict):
        raise EvalInputError(f"{where}: expected a JSON object, got {type(record).__name__}")
    title, body = record.get("title") or "", record.get("body") or record.get("text") or ""
    if not isinstance(title, str) or not isinstance(body, str) or not (title or body):
        raise EvalInputError(f"{where}: needs a title or a body (text)")
    labels: dict[str, bool] = {}
    for check in checks:
        if check in record and record[check] is not None:
            if not isinstance(record[check], bool):
                raise EvalInputError(f"{where}: label {check!r} must be true or false, not {record[check]!r}")
            labels[check] = record[check]
    language = record.get("language") or record.get("lang") or detect_language(f"{title}\n{body}") or "?"
    return Labelled(str(record.get("id") or where), title, body, str(language), labels)


def read_jsonl(path: Path, checks: Sequence[str]) -> list[Labelled]:
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalInputError(f"cannot read {path}: {exc}") from None
    items = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalInputError(f"{path}:{n}: not JSON ({exc.msg})") from None
        items.append(parse_record(record, f"{path.name}:{n}", checks))
    if not items:
        raise EvalInputError(f"{path}: no texts in it")
    return items


def checks_of(rules: Iterable[Rule]) -> list[str]:
    return [RELEVANCE, *(r.id for r in rules)]


def run(items: Iterable[Labelled], topic: Topic, rules: Sequence[Rule]) -> list[Outcome]:
    outcomes = []
    for item in items:
        verdict = topic.judge(item.title, item.body)
        predicted, why = {RELEVANCE: verdict.relevant}, {RELEVANCE: verdict.reason}
        for rule in rules:
            match = rule.match(item.title, item.body)
            predicted[rule.id] = match is not None
            why[rule.id] = (", ".join(match.matched) + f" — {match.snippet}") if match else ""
        outcomes.append(Outcome(item, predicted, why))
    return outcomes


@dataclass
class Report:
    checks: list[str]
    languages: list[str]
    scores: dict[tuple[str, str], Score] = field(default_factory=dict)  # (check, language or "all")


def score(outcomes: Sequence[Outcome], checks: Sequence[str]) -> Report:
    languages = sorted({o.item.language for o in outcomes})
    report = Report(list(checks), languages)
    for o in outcomes:
        for check in checks:
            if check not in o.item.labels:
                continue
            for lang in (o.item.language, "all"):
                report.scores.setdefault((check, lang), Score()).add(o.predicted[check], o.item.labels[check])
    return report


def disagreements(outcomes: Sequence[Outcome], checks: Sequence[str]) -> list[tuple[Outcome, str, str]]:
    """(outcome, check, "missed" or "false alarm") for every label a check got wrong."""
    out = []
    for o in outcomes:
        for check in checks:
            if check in o.item.labels and o.predicted[check] != o.item.labels[check]:
                out.append((o, check, "missed" if o.item.labels[check] else "false alarm"))
    return out


def format_report(report: Report) -> str:
    header = f"{'check':<12}{'language':<10}{'n':>5}{'pos':>5}{'TP':>5}{'FP':>5}{'FN':>5}{'P':>7}{'R':>7}{'F1':>7}"
    lines = [header, "-" * len(header)]
    for check in report.checks:
        for lang in [*report.languages, "all"]:
            s = report.scores.get((check, lang))
            if s is None:
                continue
            n = s.tp + s.fp + s.fn + s.tn
            lines.append(f"{check:<12}{lang:<10}{n:>5}{s.tp + s.fn:>5}{s.tp:>5}{s.fp:>5}{s.fn:>5}"
                         f"{s.precision:>7.3f}{s.recall:>7.3f}{s.f1:>7.3f}")
    return "\n".join(lines)
