"""Alerts as they happen: sent at the end of the cycle that raised them, once per story,
again only inside the digest (marked as sent). A real SMTP server on 127.0.0.1, real
DuckDB files, the demo newsroom, and a real Prefect flow run."""

from __future__ import annotations

import os
import re

import signal
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from flows.monitor import monitor
from monitors.engine import RuleError, load_rule_file, load_rules, parse_rule
from newswatch.demo.server import DemoNewsroom
from newswatch.digest import deliver_digest, render
from newswatch.fetch import FetchSettings
from newswatch.immediate import deliver_immediate, plan_messages
from newswatch.pipeline import alert_stage, fetch_stage, load_seeds_stage, poll_stage, run_cycle, store_stage

from .conftest import FAST_GAP, rows
from .test_alerts_flow import with_a_late_copy
from .test_digest import PASSWORD, USER, Inbox, chat_hook, inbox, smtp_port, smtp_server, smtp_settings, start_smtp  # noqa: F401

CRASH = Path(__file__).with_name("crash.py")


def use_smtp(monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    """Mail settings as a user gives them: in the environment (inherited by child processes)."""
    for name, value in {"NEWSWATCH_SMTP_HOST": "127.0.0.1", "NEWSWATCH_SMTP_PORT": str(port),
                        "NEWSWATCH_SMTP_SECURITY": "none", "NEWSWATCH_SMTP_USER": USER,
                        "NEWSWATCH_SMTP_PASSWORD": PASSWORD, "NEWSWATCH_MAIL_TO": "analyst@example.org",
                        "NEWSWATCH_SMTP_TIMEOUT": "5"}.items():
        monkeypatch.setenv(name, value)


def cycle(db: Path, room: DemoNewsroom, outbox: Path, **kw) -> object:
    return run_cycle(db, room.feeds(), FetchSettings(min_gap=0.01), progress=lambda *a: None, outbox=outbox, **kw)


def summit_stories(db: Path) -> set[int]:
    return {s for (s,) in rows(db, "SELECT story_id FROM alerts WHERE rule = 'summit'")}


def sent_ids(inbox: Inbox) -> list[str]:
    return [m["Message-ID"].strip() for m in inbox.messages]


# -- the decision, without a database -------------------------------------------------------


def alert(alert_id: int, story_id: int, rule: str = "summit") -> dict:
    return {"alert_id": alert_id, "story_id": story_id, "rule": rule}


def test_one_message_per_story_of_the_alerts_no_message_holds_yet() -> None:
    pending = [alert(7, 30, "abductees"), alert(5, 30), alert(6, 31), alert(8, 32), alert(9, 33)]
    # 5 and 7 share story 30: one message. 8 is a digest rule's alert (not queued); 9 is already in a message.
    plan = plan_messages(pending, unfixed={5, 6, 7, 11})
    assert [[a["alert_id"] for a in group] for group in plan] == [[5, 7], [6]]
    # 11 is queued but a digest has taken it (it is no longer pending): it goes out there only.
    assert all(a["alert_id"] != 11 for group in plan for a in group)
    assert plan_messages(pending, unfixed=set()) == []
    assert plan_messages(list(reversed(pending)), {5, 6, 7, 11}) == plan  # order of input does not matter


# -- the rule field ------------------------------------------------------------------------------


def test_each_rule_file_chooses_its_delivery(tmp_path: Path) -> None:
    shipped = {r.id: r.delivery for r in load_rules()}
    assert shipped == {"summit": "immediate", "abductees": "digest"}
    base = {"id": "x", "terms": {"a": ["alpha"]}, "match": {"terms": "a"}}
    assert parse_rule(base).delivery == "digest"  # the default
    immediate = parse_rule({**base, "delivery": "immediate"})
    assert immediate.delivery == "immediate"
    assert immediate.version == parse_rule(base).version  # how alerts travel is not what the rule matches
    bad = tmp_path / "bad.toml"
    bad.write_text('id = "x"\ndelivery = "hourly"\nmatch = { terms = "a" }\n[terms]\na = ["alpha"]\n', "utf-8")
    with pytest.raises(RuleError) as err:
        load_rule_file(bad)
    assert str(bad) in str(err.value) and "hourly" in str(err.value) and '"immediate" or "digest"' in str(err.value)


# -- end to end ----------------------------------------------------------------------------------


def test_an_immediate_alert_is_sent_once_at_the_end_of_its_cycle_then_only_in_the_digest(
    prefect_api: str, newsroom: DemoNewsroom, db: Path, tmp_path: Path, smtp_server, inbox: Inbox, smtp_port: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_smtp(monkeypatch, smtp_port)
    outbox = tmp_path / "outbox"
    opml = newsroom.write_opml(tmp_path / "feeds.opml")
    first = monitor(feeds=str(opml), db=str(db), host_gap=FAST_GAP, outbox=str(outbox))

    # (a) One message per story of the immediate rule (summit), sent by this cycle.
    stories = summit_stories(db)
    assert len(stories) >= 5 and first["immediate"]["sent"] == len(stories) == len(inbox.messages)
    fixed = dict(rows(db, "SELECT message_id, story_id FROM immediate_message"))
    assert sorted(sent_ids(inbox)) == sorted(fixed) and set(fixed.values()) == stories
    for msg in inbox.messages:
        assert str(msg["Subject"]).strip().startswith("newswatch summit: ")
        assert len(re.findall(r"^\d+\. ", msg.get_body(("plain",)).get_content(), re.M)) == 1  # one story in each
    started, finished = rows(db, "SELECT started_at, finished_at FROM cycle")[0]
    for created, sent in rows(db, "SELECT created_at, immediate_sent_at FROM alerts WHERE rule = 'summit'"):
        assert created <= sent <= finished and sent >= started
    # It ran in the flow as its own task, after the rules.
    tasks = httpx.post(f"{prefect_api}/task_runs/filter",
                       json={"task_runs": {"name": {"like_": "send-immediate"}}, "sort": "EXPECTED_START_TIME_DESC",
                             "limit": 1}).raise_for_status().json()
    assert tasks and tasks[0]["state"]["type"] == "COMPLETED"
    # (d) The digest-delivery rule sent nothing, and nothing went to the outbox when mail works.
    assert rows(db, "SELECT count(*) FROM alerts WHERE rule = 'abductees' AND immediate_sent_at IS NOT NULL") == [(0,)]
    assert rows(db, "SELECT count(*) FROM alerts WHERE rule = 'abductees'")[0][0] > 0
    assert not outbox.exists()

    # (b) A later copy of an alerted story attaches to its alert and sends nothing new.
    opml = with_a_late_copy(newsroom, tmp_path / "feeds.opml")
    second = monitor(feeds=str(opml), db=str(db), host_gap=FAST_GAP, outbox=str(outbox))
    assert second["store"]["duplicates"] == 1 and second["alerts"]["attached"] >= 1
    assert second["immediate"] == {"fixed": 0, "sent": 0, "pending": 0, "channels": [], "error": None}
    assert len(inbox.messages) == len(stories)

    # (c) The next digest carries every alert, the immediate ones marked as already sent.
    result = deliver_digest(db, outbox, smtp_settings(smtp_port))
    total = rows(db, "SELECT count(*) FROM alerts")[0][0]
    assert result.status == "sent" and result.alerts == total
    digest_text = inbox.messages[-1].get_body(("plain",)).get_content()
    assert digest_text.count("sent as it happened at") == len(stories)
    for block in re.split(r"\n(?=\d+\. )", digest_text):  # one block per story
        if "sent as it happened" in block:
            assert any(title in block for (title,) in rows(
                db, "SELECT o.title FROM alerts a JOIN articles o ON o.article_id = a.story_id WHERE a.rule = 'summit'"))


def test_a_story_matching_two_immediate_rules_is_one_message_and_digest_rules_send_nothing(
    newsroom: DemoNewsroom, db: Path, tmp_path: Path, smtp_server, inbox: Inbox, smtp_port: int,
) -> None:
    load_seeds_stage(db)
    poll_stage(db, newsroom.feeds(), FetchSettings(min_gap=0.01), lambda *a: None)
    fetch_stage(db, FetchSettings(min_gap=0.01), progress=lambda *a: None)
    store_stage(db)
    # (d) With every rule delivered by digest, nothing is queued and nothing is sent.
    digest_only = tuple(replace(r, delivery="digest") for r in load_rules())
    assert alert_stage(db, digest_only).raised > 0
    report = deliver_immediate(db, tmp_path / "outbox", smtp_settings(smtp_port))
    assert (report.fixed, report.sent) == (0, 0) and inbox.messages == [] and not (tmp_path / "outbox").exists()

    # Both rules immediate, on a fresh warehouse: a story both fire on is one message naming both rules.
    db2 = tmp_path / "both.duckdb"
    load_seeds_stage(db2)
    poll_stage(db2, newsroom.feeds(), FetchSettings(min_gap=0.01), lambda *a: None, True)
    fetch_stage(db2, FetchSettings(min_gap=0.01), progress=lambda *a: None)
    store_stage(db2)
    alert_stage(db2, tuple(replace(r, delivery="immediate") for r in load_rules()))
    report = deliver_immediate(db2, tmp_path / "outbox", smtp_settings(smtp_port))
    stories = {s for (s,) in rows(db2, "SELECT story_id FROM alerts")}
    both = {s for (s,) in rows(db2, "SELECT story_id FROM alerts GROUP BY story_id HAVING count(*) = 2")}
    assert both and report.sent == len(stories) == len(inbox.messages)
    by_story = dict(rows(db2, "SELECT message_id, story_id FROM immediate_message"))
    for msg in inbox.messages:
        two = by_story[msg["Message-ID"].strip()] in both
        assert ("abductees, summit" in msg["Subject"] or "summit, abductees" in msg["Subject"]) == two


def test_a_crash_between_send_and_mark_resends_the_same_message_once(
    newsroom: DemoNewsroom, db: Path, tmp_path: Path, smtp_server, inbox: Inbox, smtp_port: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_smtp(monkeypatch, smtp_port)
    feeds = newsroom.write_opml(tmp_path / "feeds.opml")
    done = subprocess.run([sys.executable, str(CRASH), "cycle", "after-immediate-send", str(db), str(feeds)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    assert len(inbox.messages) == 1  # the first message went out; the process died before marking it
    first = inbox.messages[0]["Message-ID"].strip()
    assert rows(db, "SELECT count(*) FROM immediate_message WHERE sent_at IS NOT NULL") == [(0,)]

    summary = cycle(db, newsroom, tmp_path / "outbox")
    stories = summit_stories(db)
    assert summary.immediate.fixed == 0 and summary.immediate.sent == len(stories)  # fixed before the crash
    ids = sent_ids(inbox)
    assert len(ids) == len(stories) + 1 and ids.count(first) == 2  # the same message again, exactly once
    assert len(set(ids)) == len(stories)
    resent = [m for m in inbox.messages if m["Message-ID"].strip() == first]
    assert resent[0].get_body(("plain",)).get_content() == resent[1].get_body(("plain",)).get_content()
    assert rows(db, "SELECT count(*) FROM immediate_message WHERE sent_at IS NULL") == [(0,)]
    assert cycle(db, newsroom, tmp_path / "outbox", force=True).immediate.sent == 0
    assert len(inbox.messages) == len(stories) + 1


def test_with_smtp_down_nothing_is_marked_and_the_next_cycle_sends(
    newsroom: DemoNewsroom, db: Path, tmp_path: Path, inbox: Inbox, smtp_port: int, monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_smtp(monkeypatch, smtp_port)  # nothing listens there yet
    down = cycle(db, newsroom, tmp_path / "outbox")
    stories = summit_stories(db)
    assert down.immediate.sent == 0 and down.immediate.pending == len(stories) and "cannot reach" in down.immediate.error
    assert rows(db, "SELECT count(*) FROM alerts WHERE immediate_sent_at IS NOT NULL") == [(0,)]
    assert rows(db, "SELECT count(*) FROM immediate_message WHERE sent_at IS NULL") == [(len(stories),)]
    assert not (tmp_path / "outbox").exists()  # mail is configured: no fallback to files
    # They are still in the digest, not marked as sent.
    from warehouse import open_warehouse
    from warehouse.alerts import AlertStore

    with open_warehouse(db) as wh:
        pending = AlertStore(wh).pending_alerts()
    assert {a["story_id"] for a in pending if a["rule"] == "summit"} == stories
    assert all(a["immediate_sent_at"] is None for a in pending)
    assert "sent as it happened" not in render(pending, datetime.now(timezone.utc))[1]

    controller = start_smtp(inbox, smtp_port)
    try:
        up = cycle(db, newsroom, tmp_path / "outbox")
        again = cycle(db, newsroom, tmp_path / "outbox", force=True)
    finally:
        controller.stop()
    assert up.immediate.sent == len(stories) == len(inbox.messages) == len(set(sent_ids(inbox)))
    assert again.immediate.sent == 0 and len(inbox.messages) == len(stories)
    assert rows(db, "SELECT min(attempts), max(attempts) FROM immediate_message") == [(1, 2)]


def test_a_message_the_digest_has_carried_is_not_sent_late(
    newsroom: DemoNewsroom, db: Path, tmp_path: Path, inbox: Inbox, smtp_port: int, monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_smtp(monkeypatch, smtp_port)  # down during the cycle
    assert cycle(db, newsroom, tmp_path / "outbox").immediate.pending > 0
    assert deliver_digest(db, tmp_path / "digests").status == "sent"  # the digest carried them (to files)
    controller = start_smtp(inbox, smtp_port)
    try:
        assert cycle(db, newsroom, tmp_path / "outbox", force=True).immediate.sent == 0
    finally:
        controller.stop()
    assert inbox.messages == []


def test_half_configured_mail_is_said_plainly_and_the_alerts_wait(
    newsroom: DemoNewsroom, db: Path, tmp_path: Path, smtp_server, inbox: Inbox, smtp_port: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_smtp(monkeypatch, smtp_port)
    monkeypatch.delenv("NEWSWATCH_MAIL_TO")
    summary = cycle(db, newsroom, tmp_path / "outbox")
    assert summary.store.articles_stored > 0 and summary.finished_at is not None  # the cycle went on
    assert "NEWSWATCH_MAIL_TO" in summary.immediate.error and summary.immediate.sent == 0
    assert inbox.messages == [] and not (tmp_path / "outbox").exists()
    monkeypatch.setenv("NEWSWATCH_MAIL_TO", "analyst@example.org")
    assert cycle(db, newsroom, tmp_path / "outbox").immediate.sent == len(summit_stories(db)) == len(inbox.messages)


def test_without_mail_or_chat_the_messages_are_written_to_the_outbox(
    newsroom: DemoNewsroom, db: Path, tmp_path: Path
) -> None:
    summary = cycle(db, newsroom, tmp_path / "outbox")
    stories = summit_stories(db)
    assert summary.immediate.sent == len(stories) and summary.immediate.channels == ["outbox"]
    texts = sorted((tmp_path / "outbox").glob("*.txt"))
    assert len(texts) == len(stories) and len(list((tmp_path / "outbox").iterdir())) == 3 * len(stories)
    assert all(len(re.findall(r"^\d+\. ", t.read_text("utf-8"), re.M)) == 1 for t in texts)  # one story in each
    assert rows(db, "SELECT DISTINCT channels FROM immediate_message") == [("outbox",)]


def test_outbox_messages_are_marked_together_and_a_crash_before_that_rewrites_the_same_files(
    newsroom: DemoNewsroom, db: Path, tmp_path: Path
) -> None:
    feeds = newsroom.write_opml(tmp_path / "feeds.opml")
    outbox = tmp_path / "outbox"
    done = subprocess.run([sys.executable, str(CRASH), "cycle", "after-immediate-send", str(db), str(feeds)],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "NEWSWATCH_OUTBOX": str(outbox)})
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    stories = summit_stories(db)
    written = {p.name: p.read_bytes() for p in outbox.iterdir()}
    assert len(written) == 3 * len(stories) > 0  # every message written before the one mark
    assert rows(db, "SELECT count(*) FROM immediate_message WHERE sent_at IS NOT NULL") == [(0,)]

    summary = cycle(db, newsroom, outbox)
    assert summary.immediate.fixed == 0 and summary.immediate.sent == len(stories)
    assert {p.name: p.read_bytes() for p in outbox.iterdir()} == written  # the same files, none added
    assert rows(db, "SELECT count(*), min(attempts), max(attempts) FROM immediate_message WHERE sent_at IS NOT NULL") \
        == [(len(stories), 1, 1)]
    assert cycle(db, newsroom, outbox, force=True).immediate.sent == 0


def test_chat_gets_the_whole_message_through_apprise(newsroom: DemoNewsroom, db: Path, tmp_path: Path) -> None:
    url, posts = chat_hook(newsroom)
    load_seeds_stage(db)
    poll_stage(db, newsroom.feeds(), FetchSettings(min_gap=0.01), lambda *a: None)
    fetch_stage(db, FetchSettings(min_gap=0.01), progress=lambda *a: None)
    store_stage(db)
    alert_stage(db)
    report = deliver_immediate(db, tmp_path / "outbox", None, [url])
    stories = summit_stories(db)
    assert report.channels == ["chat"] and report.sent == len(posts) == len(stories)
    assert all(p["title"].startswith("newswatch summit: ") and len(re.findall(r"^\d+\. ", p["message"], re.M)) == 1 for p in posts)
    assert not (tmp_path / "outbox").exists()
