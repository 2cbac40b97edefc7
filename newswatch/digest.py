"""Digests: undelivered alerts, one entry per story, as text, HTML and Markdown.

Delivery is exactly-once from the user's point of view:

1. A digest is *fixed* first, in one transaction: its alerts, its rendered
   bodies and a stable Message-ID are stored.
2. It is delivered: e-mail when SMTP is configured, then files in the outbox
   (and a short chat summary through Apprise when configured).
3. Only then are its alerts marked delivered.

If the e-mail fails, the digest is released and its alerts wait for the next
one; its files are still written to the outbox, named ``…-not-sent.*`` and
saying so, and replaced by the next attempt (at most one such set exists, and
a digest that goes out removes it). If the process dies between 2 and 3, the
next run finds the unsent digest and sends *it* again, same bodies, same
Message-ID, never a new one.

``preview_digest`` renders what the next digest would send without fixing or
marking anything.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from monitors.engine import MARK_CLOSE, MARK_OPEN, RuleError, load_rules
from newswatch import settings
from newswatch.settings import SmtpSettings
from newswatch.passages import passage
from newswatch.textnorm import detect_language
from newswatch.urls import redact
from warehouse import open_warehouse
from warehouse.alerts import AlertStore

log = logging.getLogger(__name__)



_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class DeliveryError(RuntimeError):
    """A configured channel could not take the digest."""


# -- settings -----------------------------------------------------------------------


# SmtpSettings, smtp_from_env and apprise_urls: in newswatch.settings (imported above).


_MARKED = re.compile(f"({MARK_OPEN}[^{MARK_CLOSE}]*{MARK_CLOSE})")


def _plain(text: str) -> str:
    return text.replace(MARK_OPEN, "[").replace(MARK_CLOSE, "]")


def _html_marked(text: str) -> str:
    return (html.escape(text).replace(MARK_OPEN, "<mark style=\"background: #fff1a8; color: inherit; padding: 0 1px;\">")
            .replace(MARK_CLOSE, "</mark>"))


_MD_ENTITIES = {"&": "&amp;", "<": "&lt;"}  # no raw HTML, in every Markdown dialect


def _md_escape(text: str) -> str:
    """*text* as literal Markdown: escapes that CommonMark and Python-Markdown both read."""
    return "".join(_MD_ENTITIES.get(c) or ("\\" + c if c in "\\`*_{}[]()#+-.!>" else c) for c in text)


def _md_marked(text: str) -> str:
    """Marks as **strong**, with punctuation at a mark's edges moved outside it.

    CommonMark opens ``**`` only where it is followed by a letter (or by
    punctuation after a space), so "의**《랍치문제》**를" would print its stars;
    "의《**랍치문제**》를" renders. Adjacent marks were already merged.
    """
    out = []
    for part in _MARKED.split(text):
        if part.startswith(MARK_OPEN) and part.endswith(MARK_CLOSE):
            lead, core, trail = re.fullmatch(r"(\W*)(.*?)(\W*)", part[1:-1], re.S).groups()
            out.append(_md_escape(lead) + (f"**{_md_escape(core)}**" if core else "") + _md_escape(trail))
        else:
            out.append(_md_escape(part))
    return "".join(out)


def _md_url(url: str) -> str:
    return url.replace(" ", "%20").replace("<", "%3C").replace(">", "%3E")


def _href(url: str | None) -> str | None:
    """*url* when it is a web address a link may point to; None otherwise (javascript:, data:…)."""
    return url if url and url.split(":", 1)[0].lower() in ("http", "https") else None


# -- entries ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleInfo:
    id: str
    name: str
    description: str


def rule_infos(rule_ids: list[str] | None = None) -> list[RuleInfo]:
    """The rules, in rule-file order, with their short names; ids not among them (a rule since
    removed, or one whose file does not load) follow, named after their id."""
    try:
        rules = [RuleInfo(r.id, r.name or r.id, " ".join(r.description.split())) for r in load_rules()]
    except RuleError as exc:  # reported by the rule checks; the digest still goes out
        log.warning("The digest names rules by their ids: %s", exc)
        rules = []
    known = {r.id for r in rules}
    for rid in sorted(set(rule_ids or []) - known):
        rules.append(RuleInfo(rid, rid.replace("_", " ").replace("-", " ").capitalize(), ""))
    return rules


@dataclass(frozen=True)
class Outlet:
    name: str
    url: str


@dataclass(frozen=True)
class Entry:
    """One story, with the alerts it raised (one per rule), as a digest shows it."""
    story_id: int
    title: str
    url: str
    outlet: str
    published_at: datetime | None
    first_seen_at: datetime | None
    outlets: tuple[Outlet, ...]  # every outlet that carried it, the first one first
    alerts: tuple[dict[str, Any], ...]  # in rule order
    labels: tuple[str, ...]


def _outlet_name(source: str | None, url: str) -> str:
    return source or urlsplit(url).hostname or "unknown outlet"


def entries(alerts: list[dict[str, Any]], rules: list[RuleInfo]) -> list[Entry]:
    """One entry per story, newest first (when its latest alert was raised, then published)."""
    order = {r.id: i for i, r in enumerate(rules)}
    names = {r.id: r.name for r in rules}
    by_story: dict[int, list[dict[str, Any]]] = {}
    for a in alerts:
        by_story.setdefault(a["story_id"], []).append(a)
    out = []
    for story_id, items in by_story.items():
        items.sort(key=lambda a: (order.get(a["rule"], len(order)), a["rule"]))
        head = items[0]
        outlets = [Outlet(_outlet_name(head["origin_source"], head["origin_url"]), head["origin_url"])]
        seen = {head["origin_source"] or outlets[0].name}
        for c in head.get("copies") or []:
            name = _outlet_name(c["source"], c["url"])
            if (c["source"] or name) in seen:
                continue
            seen.add(c["source"] or name)
            outlets.append(Outlet(name, c["url"]))
        out.append(Entry(story_id, head["origin_title"] or "(untitled)", head["origin_url"], outlets[0].name,
                         head.get("origin_published_at"), head.get("origin_first_seen_at"), tuple(outlets),
                         tuple(items), tuple(names.get(a["rule"], a["rule"]) for a in items)))
    out.sort(key=lambda e: (max(a["created_at"] for a in e.alerts), e.published_at or _EPOCH, e.story_id), reverse=True)
    return out


def _local(when: datetime, tz: tzinfo) -> datetime:
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).astimezone(tz)


def _day(when: datetime | None, tz: tzinfo) -> str | None:
    return None if when is None else f"{_local(when, tz):%Y-%m-%d}"


def _minute(when: datetime | None, tz: tzinfo, day: bool = True) -> str | None:
    if when is None:
        return None
    local = _local(when, tz)
    return f"{local:%Y-%m-%d %H:%M %Z}" if day else f"{local:%H:%M %Z}"


def _facts(e: Entry, tz: tzinfo) -> list[str]:
    """outlet · published … · first seen …"""
    facts = [e.outlet]
    if e.published_at is not None:
        facts.append(f"published {_day(e.published_at, tz)}")
    if e.first_seen_at is not None:
        facts.append(f"first seen {_minute(e.first_seen_at, tz)}")
    return facts


def _carried(e: Entry) -> str | None:
    n = len(e.outlets)
    return f"Carried by {n} outlets" if n > 1 else None


#: At most this many matched terms are listed on an entry ("… and 3 more").
MATCHED_SHOWN = 8


def _rule_note(a: dict[str, Any], tz: tzinfo) -> str:
    terms = list(a["matched"])
    note = "matched: " + ", ".join(terms[:MATCHED_SHOWN])
    if len(terms) > MATCHED_SHOWN:
        note += f" and {len(terms) - MATCHED_SHOWN} more"
    sent = a.get("immediate_sent_at")
    if sent is not None:
        note += f" · sent as it happened at {_minute(sent, tz, day=False)}"
    return note


def _feed_line(f: dict[str, Any], now: datetime) -> str:
    name = f["title"] or redact(f["url"])
    if f["status"] == "failing":
        return f"{name}: failing ({f['consecutive_failures']} in a row): {redact(f['last_error']) or 'no detail'}"
    if f["last_new_item_at"] is None:
        return f"{name}: silent, no new item seen yet"
    days = (now - f["last_new_item_at"]).total_seconds() / 86400
    return f"{name}: silent, no new item for {days:.1f} days"


def _n(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def subject_line(stories: int, per_rule: list[tuple[str, int]], feeds: int, rule_problems: int, day: str) -> str:
    """"newswatch digest 2026-11-30: 13 stories (summit 6, abductees 9); 1 feed in trouble"."""
    subject = f"newswatch digest {day}: " + (_n(stories, "story", "stories") if stories else "no new stories")
    if per_rule:
        subject += " (" + ", ".join(f"{rid} {n}" for rid, n in per_rule) + ")"
    if feeds:
        subject += f"; {_n(feeds, 'feed', 'feeds')} in trouble"
    if rule_problems:
        subject += f"; {_n(rule_problems, 'rule', 'rules')} in trouble"
    return subject


# -- rendering ----------------------------------------------------------------------------

_FONT = ("-apple-system, 'Segoe UI', Roboto, Arial, 'Hiragino Sans', 'Hiragino Kaku Gothic ProN', "
         "'Noto Sans CJK JP', 'Noto Sans JP', 'Apple SD Gothic Neo', 'Malgun Gothic', 'Noto Sans KR', sans-serif")
_WRAP = "overflow-wrap: anywhere; word-wrap: break-word; word-break: break-word;"
_S = {
    "body": "margin: 0; padding: 0; background: #f3f4f6;",
    "page": f"box-sizing: border-box; max-width: 720px; margin: 0 auto; padding: 16px; background: #ffffff; "
            f"font-family: {_FONT}; font-size: 15px; line-height: 1.5; color: #1f2328; {_WRAP}",
    "h1": "font-size: 20px; line-height: 1.3; margin: 0 0 4px 0;",
    "when": "margin: 0 0 16px 0; color: #59636e; font-size: 13px;",
    "entry": "margin: 0; padding: 14px 0; border-top: 1px solid #d8dee4;",
    "labels": "margin: 0 0 4px 0;",
    "label": "display: inline-block; margin: 0 4px 2px 0; padding: 1px 8px; border-radius: 10px; background: #ddf4ff; "
             "color: #0550ae; font-size: 12px; font-weight: bold; line-height: 1.6;",
    "sent": "display: inline-block; margin: 0 4px 2px 0; padding: 1px 8px; border-radius: 10px; background: #eaeef2; "
            "color: #424a53; font-size: 12px; line-height: 1.6;",
    "h2": "font-size: 17px; line-height: 1.35; margin: 0 0 4px 0; font-weight: bold;",
    "title_link": "color: #0550ae; text-decoration: none;",
    "carried": "margin: 0 0 2px 0; font-size: 14px; font-weight: bold; color: #1a7f37;",
    "outlet_link": "color: #1a7f37; font-weight: normal;",
    "facts": "margin: 0 0 8px 0; font-size: 13px; color: #59636e;",
    "rule": "margin: 8px 0 2px 0; font-size: 12px; font-weight: bold; color: #0550ae;",
    "quote": "margin: 0 0 4px 0; padding: 4px 0 4px 12px; border-left: 3px solid #d0d7de; color: #1f2328;",
    "note": "margin: 0; font-size: 12px; color: #59636e;",
    "h3": "font-size: 16px; margin: 20px 0 6px 0; padding-top: 8px; border-top: 2px solid #d8dee4;",
    "list": "margin: 0; padding: 0 0 0 18px;",
    "item": "margin: 0 0 6px 0;",
    "url": "color: #59636e; font-size: 12px; word-break: break-all;",
    "foot": "margin: 20px 0 0 0; color: #8c959f; font-size: 11px;",
}


def render(alerts: list[dict[str, Any]], now: datetime, feeds: list[dict[str, Any]] | None = None, *,
           tz: tzinfo | str | None = None, rule_problems: list[str] | None = None,
           subject: str | None = None) -> tuple[str, str, str, str]:
    """(subject, text, html, markdown) for a digest of *alerts* (one per rule and story), of *feeds*
    in trouble and of *rule_problems* (one line per rule file that does not load). *subject*
    replaces the digest's own (a message about one story, sent as it happened).

    One entry per story, newest first, labelled with the rules it matched; times in *tz*
    (default: the user's time zone, ``settings.timezone()``).
    """
    tz = settings.timezone() if tz is None else settings.zone(tz) if isinstance(tz, str) else tz
    feeds = [{**f, "url": redact(f["url"])} for f in feeds or []]  # no password leaves in a digest
    problems = [redact(p) for p in rule_problems or []]
    rules = rule_infos([a["rule"] for a in alerts])
    stories = entries(alerts, rules)
    per_rule = [(r.id, sum(1 for a in alerts if a["rule"] == r.id)) for r in rules]
    per_rule = [(rid, n) for rid, n in per_rule if n]
    subject = subject or subject_line(len(stories), per_rule, len(feeds), len(problems), _day(now, tz) or "")
    when = f"{_minute(now, tz)} (times in {tz})"
    text = _render_text(subject, when, stories, feeds, problems, rules, per_rule, now, tz)
    markdown = _render_markdown(subject, when, stories, feeds, problems, rules, per_rule, now, tz)
    html_body = _render_html(subject, when, stories, feeds, problems, rules, per_rule, now, tz)
    return subject, text, html_body, markdown


def _passages(e: Entry) -> list[tuple[str | None, str, list[tuple[str, dict[str, Any]]]]]:
    """[(label, passage, [(rule name, alert)])]: one passage per distinct text, with every rule's marks
    in it; labelled when the story matched several rules."""
    out: list[tuple[str | None, str, list[tuple[str, dict[str, Any]]]]] = []
    for a, name in zip(e.alerts, e.labels):
        shown = passage(a["snippet"])
        for i, (label, p, items) in enumerate(out):
            if _unmarked(p) == _unmarked(shown):
                out[i] = (f"{label} · {name}", _union_marks(p, shown), items + [(name, a)])
                break
        else:
            out.append((name, shown, [(name, a)]))
    if len(e.alerts) == 1:
        out = [(None, p, items) for _, p, items in out]
    return out


def _unmarked(text: str) -> str:
    return text.replace(MARK_OPEN, "").replace(MARK_CLOSE, "")


def _marked_chars(text: str) -> set[int]:
    marked, pos, inside = set(), 0, False
    for ch in text:
        if ch in (MARK_OPEN, MARK_CLOSE):
            inside = ch == MARK_OPEN
            continue
        if inside:
            marked.add(pos)
        pos += 1
    return marked


def _union_marks(a: str, b: str) -> str:
    """The text of *a* and *b* (equal but for their marks), marked wherever either is."""
    marked = _marked_chars(a) | _marked_chars(b)
    out, inside = [], False
    for i, ch in enumerate(_unmarked(a)):
        if (i in marked) != inside:
            out.append(MARK_OPEN if not inside else MARK_CLOSE)
            inside = not inside
        out.append(ch)
    return "".join(out) + (MARK_CLOSE if inside else "")


def _notes(items: list[tuple[str, dict[str, Any]]], tz: tzinfo) -> str:
    """What each rule matched in one passage: "matched: …", or "Summit matched: …; Abductees matched: …"."""
    if len(items) == 1:
        return _rule_note(items[0][1], tz)
    return "; ".join(f"{name} {_rule_note(a, tz)}" for name, a in items)


def _render_text(subject, when, stories, feeds, problems, rules, per_rule, now, tz) -> str:
    lines = [subject, when, ""]
    for k, e in enumerate(stories, 1):
        lines.append(f"{k}. {e.title}")
        lines.append(f"   [{' · '.join(e.labels)}]")
        carried = _carried(e)
        if carried:
            lines.append(f"   {carried}: {', '.join(o.name for o in e.outlets)}")
        lines.append("   " + " · ".join(_facts(e, tz)))
        for label, p, items in _passages(e):
            lines.append("")
            lines.append(f"   {label + ': ' if label else ''}\"{_plain(p)}\"")
            lines.append(f"   {_notes(items, tz)}")
        lines.append("")
        lines += [f"   {e.url}"] if not carried else [f"   {o.name}: {o.url}" for o in e.outlets]
        lines.append("")
    if problems:
        heading = f"Rules in trouble — {len(problems)}"
        lines += [heading.upper(), "=" * len(heading), ""] + [f"* {p}" for p in problems] + [""]
    if feeds:
        heading = f"Feeds in trouble — {len(feeds)}"
        lines += [heading.upper(), "=" * len(heading), ""] + [f"* {_feed_line(f, now)}\n  {f['url']}" for f in feeds] + [""]
    lines += ["RULES", "=====", ""]
    counts = dict(per_rule)
    for r in rules:
        lines.append(f"* {r.name} ({r.id}, {_n(counts.get(r.id, 0), 'story', 'stories')} here): {r.description}".rstrip())
    return "\n".join(lines).rstrip() + "\n"


def _md_link(label: str, url: str) -> str:
    return f"[{_md_escape(label)}](<{_md_url(url)}>)" if _href(url) else _md_escape(label)


def _render_markdown(subject, when, stories, feeds, problems, rules, per_rule, now, tz) -> str:
    md = [f"# {_md_escape(subject)}", "", f"_{_md_escape(when)}_", ""]
    for k, e in enumerate(stories, 1):
        md += [f"### {k}\\. {_md_link(e.title, e.url)}", ""]
        md += [" ".join(f"`{lab}`" for lab in e.labels) + " — " + _md_escape(" · ".join(_facts(e, tz))), ""]
        carried = _carried(e)
        if carried:
            md += [f"**{carried}:** " + " · ".join(_md_link(o.name, o.url) for o in e.outlets), ""]
        for label, p, items in _passages(e):
            md += [f"> {f'**{_md_escape(label)}:** ' if label else ''}{_md_marked(p)}", ""]
            md += [_md_escape(_notes(items, tz)), ""]
        md += ["---", ""]
    if problems:
        md += [f"## Rules in trouble — {len(problems)}", ""] + [f"- {_md_escape(p)}" for p in problems] + [""]
    if feeds:
        md += [f"## Feeds in trouble — {len(feeds)}", ""]
        md += [f"- {_md_escape(_feed_line(f, now))} (<{_md_url(f['url'])}>)" if _href(f["url"])
               else f"- {_md_escape(_feed_line(f, now))} ({_md_escape(f['url'])})" for f in feeds] + [""]
    counts = dict(per_rule)
    md += ["## Rules", ""]
    md += [f"- **{_md_escape(r.name)}** (`{r.id}`, {_n(counts.get(r.id, 0), 'story', 'stories')} here)"
           + (f": {_md_escape(r.description)}" if r.description else "") for r in rules]
    return "\n".join(md).rstrip() + "\n"


def _a(label: str, url: str, style: str) -> str:
    href = _href(url)
    if href is None:
        return html.escape(label)
    return f"<a href=\"{html.escape(href, quote=True)}\" style=\"{style}\">{html.escape(label)}</a>"


def _render_html(subject, when, stories, feeds, problems, rules, per_rule, now, tz) -> str:
    parts = [
        "<!DOCTYPE html>",
        "<html><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        f"<title>{html.escape(subject)}</title></head>",
        f"<body style=\"{_S['body']}\">",
        f"<div style=\"{_S['page']}\">",
        f"<h1 style=\"{_S['h1']}\">{html.escape(subject)}</h1>",
        f"<p style=\"{_S['when']}\">{html.escape(when)}</p>",
    ]
    for e in stories:
        shown = _passages(e)
        lang = detect_language(" ".join([e.title, *(_unmarked(p) for _, p, _ in shown)]))
        # Korean breaks lines between words, not between syllables (the browser's default).
        keep = " word-break: keep-all;" if lang == "ko" else ""
        parts.append(f"<div{f' lang={chr(34)}{lang}{chr(34)}' if lang else ''} style=\"{_S['entry']}{keep}\">")
        sent = [name for name, a in zip(e.labels, e.alerts) if a.get("immediate_sent_at") is not None]
        parts.append(f"<div style=\"{_S['labels']}\">"
                     + "".join(f"<span style=\"{_S['label']}\">{html.escape(lab)}</span>" for lab in e.labels)
                     + "".join(f"<span style=\"{_S['sent']}\">{html.escape(name)} already sent</span>" for name in sent)
                     + "</div>")
        parts.append(f"<h2 style=\"{_S['h2']}\">{_a(e.title, e.url, _S['title_link'])}</h2>")
        carried = _carried(e)
        if carried:
            links = " · ".join(_a(o.name, o.url, _S["outlet_link"]) for o in e.outlets)
            parts.append(f"<p style=\"{_S['carried']}\">{html.escape(carried)}: {links}</p>")
        parts.append(f"<p style=\"{_S['facts']}\">{html.escape(' · '.join(_facts(e, tz)))}</p>")
        for label, p, items in shown:
            if label:
                parts.append(f"<p style=\"{_S['rule']}\">{html.escape(label)}</p>")
            parts.append(f"<blockquote style=\"{_S['quote']}\">{_html_marked(p)}</blockquote>")
            parts.append(f"<p style=\"{_S['note']}\">{html.escape(_notes(items, tz))}</p>")
        parts.append("</div>")
    if problems:
        parts.append(f"<h3 style=\"{_S['h3']}\">{html.escape(f'Rules in trouble — {len(problems)}')}</h3>")
        parts.append(f"<ul style=\"{_S['list']}\">"
                     + "".join(f"<li style=\"{_S['item']}\">{html.escape(p)}</li>" for p in problems) + "</ul>")
    if feeds:
        parts.append(f"<h3 style=\"{_S['h3']}\">{html.escape(f'Feeds in trouble — {len(feeds)}')}</h3>")
        parts.append(f"<ul style=\"{_S['list']}\">" + "".join(
            f"<li style=\"{_S['item']}\">{html.escape(_feed_line(f, now))}"
            + (f"<br><span style=\"{_S['url']}\">{html.escape(f['url'])}</span>" if f["title"] else "")
            + "</li>" for f in feeds) + "</ul>")
    counts = dict(per_rule)
    parts.append(f"<h3 style=\"{_S['h3']}\">Rules</h3>")
    parts.append(f"<ul style=\"{_S['list']}\">" + "".join(
        f"<li style=\"{_S['item']}\"><b>{html.escape(r.name)}</b> "
        f"<span style=\"color: #59636e;\">({html.escape(r.id)}, {_n(counts.get(r.id, 0), 'story', 'stories')} here)</span>"
        + (f": {html.escape(r.description)}" if r.description else "") + "</li>" for r in rules) + "</ul>")
    parts.append(f"<p style=\"{_S['foot']}\">Sent by newswatch.</p>")
    parts.append("</div></body></html>")
    return "\n".join(parts) + "\n"


# -- fixing, delivering, marking ---------------------------------------------------------------


@dataclass(frozen=True)
class DigestResult:
    digest_id: str | None
    alerts: int
    channels: tuple[str, ...]
    status: str  # empty | sent | failed | preview
    error: str | None = None
    files: tuple[Path, ...] = ()
    markdown: str | None = None
    text: str | None = None
    subject: str | None = None


def compose(store: AlertStore, tz: tzinfo | str | None = None,
            rule_problems: list[str] | None = None) -> tuple[dict[str, Any], list[int]] | None:
    """A digest of what is pending (not stored): (its row, its alert ids); None when nothing is."""
    alerts = store.pending_alerts()
    feeds = store.feeds_in_trouble()
    if not alerts and not feeds and not rule_problems:
        return None
    now = datetime.now(timezone.utc)
    ids = sorted(a["alert_id"] for a in alerts)
    digest_id = hashlib.sha256(f"{now.isoformat()}|{','.join(map(str, ids))}".encode()).hexdigest()[:16]
    subject, text, html_body, markdown = render(alerts, now, feeds, tz=tz, rule_problems=rule_problems)
    row = {
        "digest_id": digest_id, "message_id": make_msgid(idstring=digest_id, domain="newswatch.invalid"),
        "created_at": now, "alert_count": len(alerts), "subject": subject, "text_body": text,
        "html_body": html_body, "markdown": markdown,
    }
    return row, ids


def fix_digest(db_path: Path, tz: tzinfo | str | None = None,
               rule_problems: list[str] | None = None) -> dict[str, Any] | None:
    """The unsent digest to (re)send: an earlier unsent one, or a new one; None if nothing is pending."""
    with open_warehouse(db_path) as wh:
        store = AlertStore(wh)
        earlier = store.unsent_digest()
        if earlier is not None:
            log.info("Re-sending digest %s, fixed earlier but never confirmed sent", earlier["digest_id"])
            return earlier
        composed = compose(store, tz, rule_problems)
        if composed is None:
            return None
        row, ids = composed
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


NOT_SENT = "-not-sent"  # the outbox files of a digest whose e-mail failed end with this


def write_outbox(digest: dict[str, Any], outbox: Path, not_sent: str | None = None,
                 replaces_not_sent: bool = True) -> tuple[Path, ...]:
    """The digest as text, HTML and Markdown files in *outbox*.

    With *not_sent* (why the e-mail failed), the files are named ``…-not-sent.*`` and
    say so at the top. Its alerts stay pending, so the next digest carries them
    again: at most one not-sent set is kept (the newest), and a digest that goes
    out removes it (*replaces_not_sent* False: a message of alerts sent as they
    happen, which leaves the digest's set alone).
    """
    outbox.mkdir(parents=True, exist_ok=True)
    stem = f"{digest['created_at']:%Y%m%d-%H%M%S}-{digest['digest_id']}" + (NOT_SENT if not_sent else "")
    bodies = {".txt": digest["text_body"], ".html": digest["html_body"], ".md": digest["markdown"]}
    if not_sent:
        note = f"Not sent by e-mail: {not_sent}. These alerts stay pending and go out with the next digest."
        bodies = {".txt": f"{note}\n\n{bodies['.txt']}", ".md": f"> **{_md_escape(note)}**\n\n{bodies['.md']}",
                  ".html": _html_banner(bodies[".html"], note)}
    if replaces_not_sent:
        _remove_not_sent(outbox)
    files = [_write_file(outbox / f"{stem}{suffix}", body) for suffix, body in bodies.items()]
    return tuple(files)


def _write_file(path: Path, body: str) -> Path:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(body, "utf-8")
    tmp.replace(path)  # a reader never sees half a file
    return path


def _remove_not_sent(outbox: Path) -> None:
    for old in outbox.glob(f"*{NOT_SENT}.*"):
        if old.suffix in (".txt", ".html", ".md"):
            old.unlink(missing_ok=True)


def _html_banner(body: str, note: str) -> str:
    at = body.index(">", body.index("<body")) + 1
    banner = ("<div style=\"box-sizing: border-box; max-width: 720px; margin: 0 auto; padding: 10px 16px; "
              "background: #fff8c5; color: #4d2d00; font-family: Arial, sans-serif; font-size: 14px; "
              f"overflow-wrap: anywhere;\">{html.escape(note)}</div>")
    return body[:at] + banner + body[at:]


def preview_digest(db_path: Path, outbox: Path | None = None, tz: tzinfo | str | None = None,
                   rule_problems: list[str] | None = None) -> DigestResult:
    """What the next digest would send, written to ``preview/`` in the outbox; nothing is fixed or marked.

    An earlier digest that was fixed but never confirmed sent is what goes out next, so
    that is what is shown. The warehouse is only read.
    """
    folder = (outbox or settings.outbox_path()) / "preview"
    with open_warehouse(db_path, read_only=True) as wh:
        store = AlertStore(wh)
        digest = store.unsent_digest()
        if digest is None:
            composed = compose(store, tz, rule_problems)
            digest = composed[0] if composed else None
    if digest is None:
        return DigestResult(None, 0, (), "empty")
    folder.mkdir(parents=True, exist_ok=True)
    files = tuple(_write_file(folder / f"digest{suffix}", body) for suffix, body in
                  ((".txt", digest["text_body"]), (".html", digest["html_body"]), (".md", digest["markdown"])))
    return DigestResult(None, digest["alert_count"], (), "preview", None, files, digest["markdown"],
                        digest["text_body"], digest["subject"])


def notify_chat(urls: list[str], title: str, body: str) -> bool:
    """One notification to every Apprise URL; whether it went out."""
    import apprise

    notifier = apprise.Apprise()
    for url in urls:
        notifier.add(url)
    return bool(notifier.notify(title=title, body=body))


def push_chat(digest: dict[str, Any], urls: list[str]) -> bool:
    """A digest's first line and id to chat (the whole digest is in the mail and the outbox)."""
    first_line = digest["text_body"].splitlines()[0]
    return notify_chat(urls, "newswatch", f"{first_line}\nFull digest: {digest['digest_id']}")


def deliver_digest(db_path: Path, outbox: Path | None = None, smtp: SmtpSettings | None = None,
                   chat_urls: list[str] | None = None, tz: tzinfo | str | None = None,
                   rule_problems: list[str] | None = None) -> DigestResult:
    """Fix, deliver and mark one digest. See the module docstring for the guarantees."""
    outbox = outbox or settings.outbox_path()
    digest = fix_digest(db_path, tz, rule_problems)
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
            files = write_outbox(digest, outbox, not_sent=str(exc))
            return DigestResult(digest["digest_id"], digest["alert_count"], (), "failed", str(exc), files,
                                digest["markdown"], digest["text_body"], digest["subject"])
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
                        digest["markdown"], digest["text_body"], digest["subject"])
