"""Digests: undelivered alerts, grouped by rule then story, as text, HTML and Markdown.

Delivery is exactly-once from the user's point of view:

1. A digest is *fixed* first, in one transaction: its alerts, its rendered
   bodies and a stable Message-ID are stored.
2. It is delivered: e-mail when SMTP is configured, then files in the outbox
   (and a short chat summary through Apprise when configured).
3. Only then are its alerts marked delivered.

If the send fails, the digest is released and its alerts wait for the next
one. If the process dies between 2 and 3, the next run finds the unsent
digest and sends *it* again, same bodies, same Message-ID, never a new one.
"""

from __future__ import annotations

import hashlib
import html
import logging
import os
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from monitors.engine import MARK_CLOSE, MARK_OPEN, load_rules
from newswatch import settings
from newswatch.urls import redact
from warehouse import open_warehouse
from warehouse.db import AlertStore

log = logging.getLogger(__name__)



_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class DeliveryError(RuntimeError):
    """A configured channel could not take the digest."""


# -- settings -----------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # starttls | ssl | none
    user: str | None
    password: str | None
    sender: str
    recipients: tuple[str, ...]
    timeout: float = 30.0
    ca_file: str | None = None  # a private CA to trust, besides the system's

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)

    def __repr__(self) -> str:  # never show the password
        return f"SmtpSettings(host={self.host!r}, port={self.port}, security={self.security!r}, user={self.user!r})"


def smtp_from_env(env: dict[str, str] | None = None) -> SmtpSettings | None:
    """SMTP settings from NEWSWATCH_SMTP_* variables; None when no host is set.

    The password comes from NEWSWATCH_SMTP_PASSWORD, or from the Prefect
    Secret block named in NEWSWATCH_SMTP_PASSWORD_BLOCK. NEWSWATCH_SMTP_CA_FILE
    adds a CA to trust (a company mail server with a private certificate).
    """
    env = dict(os.environ if env is None else env)
    host = env.get("NEWSWATCH_SMTP_HOST")
    if not host:
        return None
    security = env.get("NEWSWATCH_SMTP_SECURITY", "starttls").lower()
    if security not in ("starttls", "ssl", "none"):
        raise ValueError(f"NEWSWATCH_SMTP_SECURITY must be starttls, ssl or none, not {security!r}")
    port = int(env.get("NEWSWATCH_SMTP_PORT") or {"starttls": 587, "ssl": 465, "none": 25}[security])
    recipients = tuple(r.strip() for r in env.get("NEWSWATCH_MAIL_TO", "").split(",") if r.strip())
    if not recipients:
        raise ValueError("NEWSWATCH_SMTP_HOST is set but NEWSWATCH_MAIL_TO names no recipient")
    password = env.get("NEWSWATCH_SMTP_PASSWORD")
    block = env.get("NEWSWATCH_SMTP_PASSWORD_BLOCK")
    if block and not password:
        from prefect.blocks.system import Secret

        password = Secret.load(block).get()
    return SmtpSettings(host, port, security, env.get("NEWSWATCH_SMTP_USER") or None, password,
                        env.get("NEWSWATCH_MAIL_FROM", f"newswatch@{host}"), recipients,
                        float(env.get("NEWSWATCH_SMTP_TIMEOUT", "30")), env.get("NEWSWATCH_SMTP_CA_FILE") or None)


def apprise_urls(env: dict[str, str] | None = None) -> list[str]:
    env = dict(os.environ if env is None else env)
    return [u for u in env.get("NEWSWATCH_APPRISE_URLS", "").replace(",", " ").split() if u]


# -- rendering ----------------------------------------------------------------------------


def _plain(snippet: str) -> str:
    return snippet.replace(MARK_OPEN, "[").replace(MARK_CLOSE, "]")


def _html_snippet(snippet: str) -> str:
    return html.escape(snippet).replace(MARK_OPEN, "<mark>").replace(MARK_CLOSE, "</mark>")


def _md_escape(text: str) -> str:
    return "".join("\\" + c if c in "\\`*_{}[]()#+-.!|<>" else c for c in text)


def _md_snippet(snippet: str) -> str:
    return _md_escape(snippet).replace(MARK_OPEN, "**").replace(MARK_CLOSE, "**")


def group_alerts(alerts: list[dict[str, Any]]) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """[(rule id, rule description, alerts newest first)] in rule-file order."""
    rules = {r.id: r for r in load_rules()}
    order = {rid: i for i, rid in enumerate(rules)}
    grouped: dict[str, list[dict[str, Any]]] = {}
    for a in alerts:
        grouped.setdefault(a["rule"], []).append(a)
    out = []
    for rid in sorted(grouped, key=lambda r: (order.get(r, len(order)), r)):
        # Newest first: when the alert was raised, then when its story was published.
        items = sorted(grouped[rid], key=lambda a: (a["created_at"], a["origin_published_at"] or _EPOCH, a["alert_id"]),
                       reverse=True)
        desc = rules[rid].description.split(":")[0] if rid in rules else rid
        out.append((rid, desc, items))
    return out


def _outlets(copies: list[dict[str, Any]] | None, origin_source: str | None) -> list[dict[str, Any]]:
    """One entry per other outlet that carried the story."""
    seen = {origin_source}
    out = []
    for c in copies or []:
        if c["source"] in seen:
            continue
        seen.add(c["source"])
        out.append(c)
    return out


def _feed_line(f: dict[str, Any], now: datetime) -> str:
    name = f["title"] or redact(f["url"])
    if f["status"] == "failing":
        return f"{name}: failing ({f['consecutive_failures']} in a row): {redact(f['last_error']) or 'no detail'}"
    if f["last_new_item_at"] is None:
        return f"{name}: silent, no new item seen yet"
    days = (now - f["last_new_item_at"]).total_seconds() / 86400
    return f"{name}: silent, no new item for {days:.1f} days"


def render(alerts: list[dict[str, Any]], now: datetime,
           feeds: list[dict[str, Any]] | None = None) -> tuple[str, str, str, str]:
    """(subject, text, html, markdown) for a digest of *alerts*, and of *feeds* in trouble."""
    feeds = [{**f, "url": redact(f["url"])} for f in feeds or []]  # no password leaves in a digest
    groups = group_alerts(alerts)
    n_stories = len(alerts)
    counts = ", ".join(f"{rid} {len(items)}" for rid, _, items in groups)
    subject = f"newswatch digest: {n_stories} new {'story' if n_stories == 1 else 'stories'}"
    subject += f" ({counts})" if counts else ""
    if feeds:
        subject += f"; {len(feeds)} {'feed' if len(feeds) == 1 else 'feeds'} in trouble"
    when = now.strftime("%Y-%m-%d %H:%M UTC")

    text = [subject, f"{when}", ""]
    md = [f"# {_md_escape(subject)}", "", f"_{when}_", ""]
    parts = [
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\">",
        f"<title>{html.escape(subject)}</title></head>",
        "<body style=\"font-family: Arial, Helvetica, sans-serif; max-width: 720px; margin: 0 auto; color: #222;\">",
        f"<h1 style=\"font-size: 20px;\">{html.escape(subject)}</h1>",
        f"<p style=\"color: #666;\">{html.escape(when)}</p>",
    ]
    for rid, desc, items in groups:
        heading = f"{rid} — {len(items)} {'story' if len(items) == 1 else 'stories'}"
        text += [heading.upper(), "=" * len(heading), ""]
        md += [f"## {_md_escape(heading)}", ""]
        parts.append(f"<h2 style=\"font-size: 17px; border-bottom: 1px solid #ccc;\">{html.escape(heading)}</h2>")
        for a in items:
            title = a["origin_title"] or "(untitled)"
            source = a["origin_source"] or "unknown outlet"
            others = _outlets(a["copies"], a["origin_source"])
            matched = ", ".join(a["matched"])
            text += [f"* {title}", f"  {source} — {a['origin_url']}", f"  {_plain(a['snippet'])}",
                     f"  matched: {matched}"]
            md += [f"- **[{_md_escape(title)}](<{a['origin_url']}>)** — {_md_escape(source)}",
                   f"  > {_md_snippet(a['snippet'])}", f"  matched: {_md_escape(matched)}"]
            parts += [
                "<div style=\"margin: 0 0 16px 0;\">",
                f"<p style=\"margin: 0; font-weight: bold;\"><a href=\"{html.escape(a['origin_url'], quote=True)}\">"
                f"{html.escape(title)}</a></p>",
                f"<p style=\"margin: 0; color: #666;\">{html.escape(source)}</p>",
                f"<p style=\"margin: 4px 0;\">{_html_snippet(a['snippet'])}</p>",
                f"<p style=\"margin: 0; color: #666; font-size: 12px;\">matched: {html.escape(matched)}</p>",
            ]
            if a.get("immediate_sent_at"):
                sent = f"sent as it happened at {a['immediate_sent_at'].astimezone(timezone.utc):%H:%M} UTC"
                text.append(f"  {sent}")
                md.append(f"  _{_md_escape(sent)}_")
                parts.append(f"<p style=\"margin: 0; color: #666; font-size: 12px;\">{html.escape(sent)}</p>")
            if others:
                n = len(others)
                label = f"also in {n} {'outlet' if n == 1 else 'outlets'}"
                text.append(f"  {label}: " + "; ".join(f"{c['source'] or '?'} {c['url']}" for c in others))
                md.append(f"  {label}: " + ", ".join(f"[{_md_escape(c['source'] or '?')}](<{c['url']}>)" for c in others))
                links = ", ".join(
                    f"<a href=\"{html.escape(c['url'], quote=True)}\">{html.escape(c['source'] or '?')}</a>" for c in others
                )
                parts.append(f"<p style=\"margin: 0; font-size: 12px;\">{html.escape(label)}: {links}</p>")
            parts.append("</div>")
            text.append("")
            md.append("")
    if feeds:
        heading = f"Feeds in trouble — {len(feeds)}"
        text += [heading.upper(), "=" * len(heading), ""] + [f"* {_feed_line(f, now)}\n  {f['url']}" for f in feeds] + [""]
        md += [f"## {_md_escape(heading)}", ""] + [f"- {_md_escape(_feed_line(f, now))} (<{f['url']}>)" for f in feeds] + [""]
        parts.append(f"<h2 style=\"font-size: 17px; border-bottom: 1px solid #ccc;\">{html.escape(heading)}</h2><ul>")
        parts += [f"<li>{html.escape(_feed_line(f, now))}<br><span style=\"color: #666; font-size: 12px;\">"
                  f"{html.escape(f['url'])}</span></li>" for f in feeds]
        parts.append("</ul>")
    parts.append("<p style=\"color: #999; font-size: 11px;\">Sent by newswatch.</p></body></html>")
    return subject, "\n".join(text).rstrip() + "\n", "\n".join(parts) + "\n", "\n".join(md).rstrip() + "\n"


# -- fixing, delivering, marking ---------------------------------------------------------------


@dataclass(frozen=True)
class DigestResult:
    digest_id: str | None
    alerts: int
    channels: tuple[str, ...]
    status: str  # empty | sent | failed
    error: str | None = None
    files: tuple[Path, ...] = ()
    markdown: str | None = None
    text: str | None = None


def fix_digest(db_path: Path) -> dict[str, Any] | None:
    """The unsent digest to (re)send: an earlier unsent one, or a new one; None if nothing is pending."""
    with open_warehouse(db_path) as wh:
        store = AlertStore(wh)
        earlier = store.unsent_digest()
        if earlier is not None:
            log.info("Re-sending digest %s, fixed earlier but never confirmed sent", earlier["digest_id"])
            return earlier
        alerts = store.pending_alerts()
        feeds = store.feeds_in_trouble()
        if not alerts and not feeds:
            return None
        now = datetime.now(timezone.utc)
        ids = sorted(a["alert_id"] for a in alerts)
        digest_id = hashlib.sha256(f"{now.isoformat()}|{','.join(map(str, ids))}".encode()).hexdigest()[:16]
        subject, text, html_body, markdown = render(alerts, now, feeds)
        row = {
            "digest_id": digest_id, "message_id": make_msgid(idstring=digest_id, domain="newswatch.invalid"),
            "created_at": now, "alert_count": len(alerts), "subject": subject, "text_body": text,
            "html_body": html_body, "markdown": markdown,
        }
        store.create_digest(row, ids)
        return row


def build_message(digest: dict[str, Any], smtp: SmtpSettings) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = digest["subject"]
    msg["From"] = smtp.sender
    msg["To"] = ", ".join(smtp.recipients)
    msg["Date"] = format_datetime(digest["created_at"])
    msg["Message-ID"] = digest["message_id"]
    msg.set_content(digest["text_body"])
    msg.add_alternative(digest["html_body"], subtype="html")
    return msg


def send_email(digest: dict[str, Any], smtp: SmtpSettings) -> None:
    msg = build_message(digest, smtp)
    try:
        if smtp.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout,
                                                   context=smtp.tls_context())
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        with client:
            if smtp.security == "starttls":
                client.starttls(context=smtp.tls_context())
            if smtp.user:
                try:
                    client.login(smtp.user, smtp.password or "")
                except smtplib.SMTPServerDisconnected:
                    # Some servers hang up after refused credentials instead of answering 535.
                    raise DeliveryError(f"SMTP login refused by {smtp.host}:{smtp.port} (connection closed)") from None
            client.send_message(msg)
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(f"SMTP login refused by {smtp.host}:{smtp.port} (code {exc.smtp_code})") from None
    except smtplib.SMTPServerDisconnected as exc:
        if "timed out" in str(exc):  # smtplib reports a read timeout as a disconnection
            raise DeliveryError(f"SMTP server {smtp.host}:{smtp.port} did not answer within {smtp.timeout:g}s") from None
        raise DeliveryError(f"SMTP server {smtp.host}:{smtp.port} closed the connection") from None
    except smtplib.SMTPException as exc:
        raise DeliveryError(f"SMTP error from {smtp.host}:{smtp.port}: {type(exc).__name__}") from None
    except ssl.SSLError as exc:
        raise DeliveryError(f"TLS with {smtp.host}:{smtp.port} failed: {exc.reason or exc}") from None
    except TimeoutError:
        raise DeliveryError(f"SMTP server {smtp.host}:{smtp.port} did not answer within {smtp.timeout:g}s") from None
    except OSError as exc:
        raise DeliveryError(f"cannot reach SMTP server {smtp.host}:{smtp.port}: {exc.strerror or type(exc).__name__}") from None


def write_outbox(digest: dict[str, Any], outbox: Path) -> tuple[Path, ...]:
    outbox.mkdir(parents=True, exist_ok=True)
    stem = f"{digest['created_at']:%Y%m%d-%H%M%S}-{digest['digest_id']}"
    files = []
    for suffix, body in ((".txt", digest["text_body"]), (".html", digest["html_body"]), (".md", digest["markdown"])):
        path = outbox / f"{stem}{suffix}"
        tmp = path.with_suffix(suffix + ".part")
        tmp.write_text(body, "utf-8")
        tmp.replace(path)  # a reader never sees half a file
        files.append(path)
    return tuple(files)


def push_chat(digest: dict[str, Any], urls: list[str]) -> bool:
    import apprise

    notifier = apprise.Apprise()
    for url in urls:
        notifier.add(url)
    first_line = digest["text_body"].splitlines()[0]
    return bool(notifier.notify(title="newswatch", body=f"{first_line}\nFull digest: {digest['digest_id']}"))


def deliver_digest(db_path: Path, outbox: Path | None = None, smtp: SmtpSettings | None = None,
                   chat_urls: list[str] | None = None) -> DigestResult:
    """Fix, deliver and mark one digest. See the module docstring for the guarantees."""
    outbox = outbox or settings.outbox_path()
    digest = fix_digest(db_path)
    if digest is None:
        log.info("No undelivered alerts and no feed in trouble: no digest sent")
        return DigestResult(None, 0, (), "empty")
    channels: list[str] = []
    if smtp is not None:
        try:
            send_email(digest, smtp)
        except DeliveryError as exc:
            log.warning("Digest %s not sent; its %d alerts stay pending: %s", digest["digest_id"], digest["alert_count"], exc)
            with open_warehouse(db_path) as wh:
                AlertStore(wh).release_digest(digest["digest_id"])
            return DigestResult(digest["digest_id"], digest["alert_count"], (), "failed", str(exc))
        channels.append("email")
    files = write_outbox(digest, outbox)
    channels.append("outbox")
    if chat_urls:
        if push_chat(digest, chat_urls):
            channels.append("chat")
        else:
            log.warning("The chat summary of digest %s could not be pushed", digest["digest_id"])
    with open_warehouse(db_path) as wh:
        AlertStore(wh).mark_sent(digest["digest_id"], ",".join(channels), datetime.now(timezone.utc))
    log.info("Digest %s delivered (%s): %d alerts", digest["digest_id"], ", ".join(channels), digest["alert_count"])
    return DigestResult(digest["digest_id"], digest["alert_count"], tuple(channels), "sent", None, files,
                        digest["markdown"], digest["text_body"])
