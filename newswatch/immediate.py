"""Alerts as they happen: rules with ``delivery = "immediate"`` are sent at the end of the cycle.

The alert stage queues the alerts of immediate rules in the transaction that
raises them. At the end of the cycle they go out, one message per story (a
story that matched two immediate rules is one message), by e-mail when SMTP
is configured and by chat when Apprise URLs are; with neither, the message is
written to the outbox. A later copy of the story attaches to its alert and
sends nothing. The alerts still appear in the next digest, marked as sent.

Delivery is exactly-once from the user's point of view, as for digests
(newswatch/digest.py):

1. The messages are *fixed* first, in one transaction: each one's alerts, its
   rendered bodies and a stable Message-ID.
2. Each is sent.
3. Only then is it marked sent.

A failed send leaves the message to be tried again at the end of the next
cycle (until a digest has carried all its alerts). If the process dies
between 2 and 3, the next cycle sends the *same* message again, same bodies,
same Message-ID, never a new one.

Messages sent by e-mail or chat are marked one at a time. Messages written to
the outbox only (no channel configured) are all written, then marked in one
transaction: writing one again gives the same files under the same names.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import make_msgid
from pathlib import Path
from typing import Any

from newswatch import digest as digests
from newswatch import settings
from warehouse import open_warehouse
from warehouse.alerts import AlertStore

log = logging.getLogger(__name__)

_ENV = object()  # "read the channel from the environment"


@dataclass
class ImmediateReport:
    fixed: int = 0  # messages fixed in this cycle
    sent: int = 0  # messages sent (new ones, and earlier ones sent again)
    pending: int = 0  # messages left to try again at the end of the next cycle
    channels: list[str] = field(default_factory=list)
    error: str | None = None


# -- the decision ---------------------------------------------------------------------------


def plan_messages(pending: Iterable[Mapping[str, Any]], unfixed: Collection[int]) -> list[list[Mapping[str, Any]]]:
    """The messages to fix now: one per story, of the alerts in *unfixed*.

    *pending* are the alerts still waiting for a digest (``AlertStore.pending_alerts()``);
    *unfixed* the ids of alerts of immediate rules that no message holds yet. An
    alert a digest has already taken is not in *pending*, and goes out there
    only. Stories come in the order of their first alert; within a story,
    alerts in id order.
    """
    stories: dict[int, list[Mapping[str, Any]]] = {}
    for alert in pending:
        if alert["alert_id"] in unfixed:
            stories.setdefault(alert["story_id"], []).append(alert)
    groups = [sorted(alerts, key=lambda a: a["alert_id"]) for alerts in stories.values()]
    return sorted(groups, key=lambda g: g[0]["alert_id"])


def message_key(alerts: Iterable[Mapping[str, Any]]) -> str:
    """A message's key: its story and a hash of its alerts."""
    alerts = list(alerts)
    ids = ",".join(str(a["alert_id"]) for a in sorted(alerts, key=lambda a: a["alert_id"]))
    return f"alert-{alerts[0]['story_id']}-{hashlib.sha256(ids.encode()).hexdigest()[:10]}"


def subject(alerts: Iterable[Mapping[str, Any]]) -> str:
    alerts = list(alerts)
    rules = ", ".join(dict.fromkeys(a["rule"] for a in alerts))
    return f"newswatch {rules}: {alerts[0]['origin_title'] or '(untitled)'}"


# -- fixing, sending, marking -----------------------------------------------------------------


def fix_messages(db_path: Path, now: datetime | None = None) -> tuple[int, list[dict[str, Any]]]:
    """Fix a message for each story with new immediate alerts, in one transaction.

    Returns how many were fixed now, and every message to send: those, and
    earlier ones never confirmed sent.
    """
    now = now or datetime.now(timezone.utc)
    with open_warehouse(db_path) as wh:
        store = AlertStore(wh)
        unfixed = store.unfixed_immediate()
        groups = plan_messages(store.pending_alerts(), unfixed) if unfixed else []
        messages, members = [], {}
        for alerts in groups:
            key = message_key(alerts)
            title, text, html_body, markdown = digests.render(list(alerts), now, subject=subject(alerts))
            messages.append({
                "message_key": key, "story_id": alerts[0]["story_id"],
                "message_id": make_msgid(idstring=key, domain="newswatch.invalid"), "created_at": now,
                "subject": title, "text_body": text, "html_body": html_body, "markdown": markdown,
                "attempts": 0, "last_error": None, "sent_at": None, "channels": None,
            })
            members.update({a["alert_id"]: key for a in alerts})
        if messages:
            store.fix_immediate(messages, members)
        return len(messages), store.unsent_immediate()


def send_message(message: Mapping[str, Any], smtp: settings.SmtpSettings | None, chat_urls: list[str],
                 outbox: Path) -> list[str]:
    """Send one message through every configured channel; the channels that took it.

    E-mail failing, or chat failing when it is the only channel, raises
    DeliveryError: the message stays unsent. With no channel configured the
    message is written to the outbox.
    """
    channels = []
    if smtp is not None:
        digests.send_email(message, smtp)
        channels.append("email")
    if chat_urls:
        if digests.notify_chat(chat_urls, message["subject"], message["text_body"]):  # the whole message
            channels.append("chat")
        elif not channels:
            raise digests.DeliveryError("no chat service took the message")
        else:
            log.warning("Alert message %s went by e-mail but not to chat", message["message_key"])
    if not channels:
        digests.write_outbox({**message, "digest_id": message["message_key"]}, outbox, replaces_not_sent=False)
        channels.append("outbox")
    return channels


def deliver_immediate(db_path: Path, outbox: Path | None = None, smtp: settings.SmtpSettings | None = None,
                      chat_urls: list[str] | None = None) -> ImmediateReport:
    """Fix, send and mark the messages of immediate alerts. See the module docstring.

    A message that went out by e-mail or chat is marked sent at once, in a
    transaction of its own. With neither configured, the messages are files in
    the outbox: all are written, then all are marked in one transaction, since
    a crash in between only writes the same files again under the same names.
    """
    outbox = outbox or settings.outbox_path()
    report = ImmediateReport()
    report.fixed, messages = fix_messages(db_path)
    mark_each = smtp is not None or bool(chat_urls)
    unmarked: list[str] = []  # keys of the messages written to the outbox, not marked yet
    for i, message in enumerate(messages):
        try:
            channels = send_message(message, smtp, chat_urls or [], outbox)
        except digests.DeliveryError as exc:
            # The next message would meet the same server: all of them wait for the next cycle.
            report.pending, report.error = len(messages) - i, str(exc)
            log.warning("%d alert %s not sent; tried again at the end of the next cycle: %s", report.pending,
                        "message" if report.pending == 1 else "messages", exc)
            with open_warehouse(db_path) as wh:
                AlertStore(wh).immediate_failed(message["message_key"], str(exc))
            break
        if mark_each:
            _mark_sent(db_path, [message["message_key"]], channels)
        else:
            unmarked.append(message["message_key"])
        report.sent += 1
        report.channels = sorted(set(report.channels) | set(channels))
        log.info("Alert sent as it happened (%s): %s", ", ".join(channels), message["subject"])
    if unmarked:
        _mark_sent(db_path, unmarked, ["outbox"])
    return report


def _mark_sent(db_path: Path, keys: list[str], channels: list[str]) -> None:
    with open_warehouse(db_path) as wh:
        AlertStore(wh).mark_immediate_sent(keys, ",".join(channels), datetime.now(timezone.utc))


def immediate_stage(db_path: Path, outbox: Path | None = None, smtp: Any = _ENV, chat_urls: Any = _ENV) -> ImmediateReport:
    """The cycle's last stage: channels from the environment unless given."""
    try:
        smtp = settings.smtp_from_env() if smtp is _ENV else smtp
    except ValueError as exc:
        # A half-configured mail server: say so, keep the alerts for when it is fixed.
        log.warning("Alerts to send as they happen wait: %s", exc)
        return ImmediateReport(error=str(exc))
    chat_urls = settings.apprise_urls() if chat_urls is _ENV else chat_urls
    return deliver_immediate(db_path, outbox, smtp, chat_urls)
