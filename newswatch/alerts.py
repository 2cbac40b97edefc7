"""Alerts: run the rules over newly stored articles; replay them over the archive.

One alert per (rule, story). A later copy of a story that already has an
alert for a rule attaches to it (raising its count of outlets) instead of
raising another. Seeds, and copies of stories that began as a seed, never
alert: they are the reference corpus, not news. An alert of a rule with
``delivery = "immediate"`` is queued, in the same transaction, to be sent at
the end of the cycle (newswatch/immediate.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from monitors.engine import Match, Rule, load_rules
from warehouse import open_warehouse
from warehouse.alerts import AlertStore

log = logging.getLogger(__name__)


@dataclass
class AlertReport:
    checked: int = 0
    raised: int = 0
    attached: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)


def alert_stage(db_path: Path, rules: tuple[Rule, ...] | None = None) -> AlertReport:
    """Evaluate the rules on articles they have not seen; store alerts in one transaction."""
    rules = rules if rules is not None else load_rules()
    now = datetime.now(timezone.utc)
    report = AlertReport()
    with open_warehouse(db_path) as wh:
        store = AlertStore(wh)
        articles = store.unchecked_articles()
        existing = store.alerts_for_stories(sorted({a["story_id"] for a in articles if a["story_id"] is not None}))
        found: list[tuple[Rule, Match, dict[str, Any]]] = []  # new alerts, numbered below
        attachments: list[dict[str, Any]] = []
        for art in articles:
            report.checked += 1
            if not art["relevant"] or art["story_id"] is None or art["is_seed"] or art["origin_is_seed"]:
                continue
            for rule in rules:
                key = (rule.id, art["story_id"])
                if key in existing:
                    attachments.append({"alert_id": existing[key], "article_id": art["article_id"], "added_at": now})
                    report.attached += 1
                    continue
                match = rule.match(art["title"], art["text"])
                if match is None:
                    continue
                existing[key] = -1 - len(found)  # a placeholder until the ids are drawn
                found.append((rule, match, art))
                attachments.append({"alert_id": existing[key], "article_id": art["article_id"], "added_at": now})
                report.by_rule[rule.id] = report.by_rule.get(rule.id, 0) + 1
                log.info("Alert %s on story %s: %s", rule.id, art["story_id"], ", ".join(match.matched))
        ids = store.next_alert_ids(len(found))
        new_alerts = [_alert_row(alert_id, rule, match, art, now) for alert_id, (rule, match, art) in zip(ids, found)]
        for a in attachments:
            if a["alert_id"] < 0:
                a["alert_id"] = ids[-1 - a["alert_id"]]
        immediate = [alert_id for alert_id, (rule, _, _) in zip(ids, found) if rule.delivery == "immediate"]
        report.raised = store.save_alerts(new_alerts, attachments, [a["article_id"] for a in articles], now, immediate)
    return report


def _alert_row(alert_id: int, rule: Rule, match: Match, art: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "alert_id": alert_id, "rule": rule.id, "rule_version": rule.version, "story_id": art["story_id"],
        "article_id": art["article_id"], "severity": rule.severity, "matched": match.matched,
        "field": match.field, "snippet": match.snippet, "created_at": now,
    }


@dataclass(frozen=True)
class BacktestHit:
    rule: str
    article_id: int
    story_id: int | None
    title: str | None
    source: str | None
    is_seed: bool
    first_seen_at: datetime
    match: Match


def backtest(db_path: Path, rule_id: str | None = None, since: datetime | None = None,
             rules: tuple[Rule, ...] | None = None) -> tuple[list[Rule], list[BacktestHit], int]:
    """What the rules would fire on over the archive (seeds included); writes nothing."""
    rules_all = rules if rules is not None else load_rules()
    chosen = [r for r in rules_all if rule_id is None or r.id == rule_id]
    if rule_id is not None and not chosen:
        known = ", ".join(r.id for r in rules_all)
        raise KeyError(f"no rule {rule_id!r} (rules: {known})")
    with open_warehouse(db_path, read_only=True) as wh:
        articles = wh.query(
            """SELECT article_id, story_id, title, text, source, is_seed, first_seen_at
               FROM article WHERE relevant AND (? IS NULL OR coalesce(published_at, first_seen_at) >= ?)
               ORDER BY coalesce(published_at, first_seen_at) DESC, article_id DESC""",
            [since, since],
        )
    hits = []
    for art in articles:
        for rule in chosen:
            m = rule.match(art["title"], art["text"])
            if m:
                hits.append(BacktestHit(rule.id, art["article_id"], art["story_id"], art["title"], art["source"],
                                        art["is_seed"], art["first_seen_at"], m))
    return chosen, hits, len(articles)
