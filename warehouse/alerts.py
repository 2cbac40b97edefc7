"""Alerts, digests and messages sent as alerts happen (``newswatch.alerts``, ``digest``, ``immediate``).

Statements are in ``queries/alerts/``; inline stays the digest's INSERT, whose column
list is the row the digest module builds (``Tables.insert_row``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from warehouse.articles import Warehouse
from warehouse.sql import sql


class AlertStore:
    """Alert and digest operations (kept apart from the article pipeline's)."""

    def __init__(self, wh: Warehouse):
        self.wh = wh
        self.con = wh.con

    def unchecked_articles(self) -> list[dict[str, Any]]:
        """Stored articles the rules have not seen, oldest first, with their story's origin."""
        return self.wh.query(sql("alerts/unchecked_articles"))

    def alerts_for_stories(self, story_ids: Sequence[int]) -> dict[tuple[str, int], int]:
        rows = self.con.execute(sql("alerts/alerts_for_stories"), [list(story_ids)]).fetchall()
        return {(r, s): a for r, s, a in rows}

    def next_alert_ids(self, n: int) -> list[int]:
        return self.wh.next_ids(sql("alerts/next_alert_ids"), n)

    def save_alerts(self, alerts: Sequence[dict[str, Any]], attachments: Sequence[dict[str, Any]],
                    checked: Sequence[int], now: datetime, immediate: Sequence[int] = ()) -> int:
        """Store new alerts, their copies and the articles checked; queue the *immediate* ones to send."""
        with self.wh.transaction():
            before = self.wh.scalar(sql("alerts/count_alerts"))
            self.wh.bulk_insert("alert", alerts)
            self.wh.bulk_insert("alert_article", attachments)
            self.wh.bulk_insert("immediate_alert", [{"alert_id": a} for a in immediate])
            self.wh.bulk_insert("rule_check", [{"article_id": a, "checked_at": now} for a in checked])
            return self.wh.scalar(sql("alerts/count_alerts")) - before

    # -- digests ----------------------------------------------------------------

    def unsent_digest(self) -> dict[str, Any] | None:
        rows = self.wh.query(sql("alerts/unsent_digest"))
        return rows[0] if rows else None

    def pending_alerts(self) -> list[dict[str, Any]]:
        """Undelivered alerts not yet in a digest, with what a digest shows of their story.

        ``immediate_sent_at`` is when the alert went out as it happened (None if it did not).
        """
        return self.wh.query(sql("alerts/pending_alerts"))

    def feeds_in_trouble(self) -> list[dict[str, Any]]:
        return self.wh.query(sql("alerts/feeds_in_trouble"))

    def create_digest(self, row: dict[str, Any], alert_ids: Sequence[int]) -> None:
        with self.wh.transaction():
            self.wh.insert_row("digest", row)
            self.con.execute(sql("alerts/assign_digest"), [row["digest_id"], list(alert_ids)])

    def release_digest(self, digest_id: str) -> None:
        """Undo a digest that could not be delivered: its alerts wait for the next one."""
        with self.wh.transaction():
            self.con.execute(sql("alerts/release_digest_alerts"), [digest_id])
            self.con.execute(sql("alerts/delete_unsent_digest"), [digest_id])

    def mark_sent(self, digest_id: str, channels: str, now: datetime) -> int:
        with self.wh.transaction():
            self.con.execute(sql("alerts/mark_digest_sent"), [now, channels, digest_id])
            self.con.execute(sql("alerts/mark_digest_alerts_delivered"), [now, digest_id])
            return self.wh.scalar(sql("alerts/count_digest_alerts"), [digest_id])

    # -- immediate delivery (newswatch/immediate.py) ------------------------------------

    def unfixed_immediate(self) -> set[int]:
        """Queued immediate alerts that no message holds yet and no digest has taken."""
        return {r[0] for r in self.con.execute(sql("alerts/unfixed_immediate")).fetchall()}

    def fix_immediate(self, messages: Sequence[dict[str, Any]], members: dict[int, str]) -> None:
        """Store messages and tie each alert to its message (alert id → message key), atomically."""
        with self.wh.transaction():
            self.wh.bulk_insert("immediate_message", messages, conflict="(message_key) DO NOTHING")
            self.wh.bulk_update("immediate_alert", "alert_id",
                                [{"alert_id": a, "message_key": k} for a, k in members.items()])

    def unsent_immediate(self) -> list[dict[str, Any]]:
        """Fixed messages not confirmed sent, oldest first, while a digest has not yet carried all their alerts."""
        return self.wh.query(sql("alerts/unsent_immediate"))

    def immediate_failed(self, message_key: str, error: str) -> None:
        self.con.execute(sql("alerts/immediate_failed"), [error, message_key])

    def mark_immediate_sent(self, message_keys: Sequence[str], channels: str, now: datetime) -> None:
        """Mark messages sent through *channels* ("email,chat"), in one statement."""
        self.con.execute(sql("alerts/mark_immediate_sent"), [now, channels, list(message_keys)])
