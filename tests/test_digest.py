"""Digests: a real SMTP server on 127.0.0.1, the outbox, and delivered-once under failure."""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from newswatch.demo.server import DemoNewsroom
from monitors.engine import MARK_CLOSE, MARK_OPEN, parse_rule
from newswatch import settings
from newswatch.digest import deliver_digest, preview_digest, render, rule_infos
from newswatch.fetch import FetchSettings
from newswatch.passages import PASSAGE_UNITS, passage
from newswatch.pipeline import run_cycle
from newswatch.settings import SmtpSettings
from warehouse.alerts import AlertStore

USER, PASSWORD = "newsdesk", "s3cret-pass"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's naming
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(msg)
        return "250 OK"


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: Ports held for an SMTP server not started yet: bound, not listening, so a connection is
#: refused at once (a mail server that is down) and no other test process can take the port.
_HELD: dict[int, socket.socket] = {}


def release_port(port: int) -> None:
    """Let go of a held port, for the server about to listen on it."""
    held = _HELD.pop(port, None)
    if held is not None:
        held.close()


@pytest.fixture
def smtp_port() -> Iterator[int]:
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    port = held.getsockname()[1]
    _HELD[port] = held
    yield port
    release_port(port)


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


def start_smtp(inbox: Inbox, port: int) -> Controller:
    release_port(port)
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=_authenticator,
                            auth_require_tls=False, auth_required=True)
    controller.start()
    return controller


@pytest.fixture
def smtp_server(inbox: Inbox, smtp_port: int) -> Iterator[Controller]:
    controller = start_smtp(inbox, smtp_port)
    yield controller
    controller.stop()


def smtp_settings(port: int, password: str = PASSWORD) -> SmtpSettings:
    return SmtpSettings("127.0.0.1", port, "none", USER, password, "newswatch@example.org",
                        ("analyst@example.org",), timeout=5)


@pytest.fixture
def alerted_db(newsroom: DemoNewsroom, db: Path) -> Path:
    summary = run_cycle(db, newsroom.feeds(), FetchSettings(min_gap=0.02), progress=lambda *a: None)
    assert summary.alerts.raised > 0
    return db


def rows_of(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def pending(db: Path) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM alerts WHERE delivered_at IS NULL").fetchone()[0]
    finally:
        con.close()


def parts(msg: email.message.EmailMessage) -> dict[str, str]:
    return {p.get_content_type(): p.get_content() for p in msg.walk() if not p.is_multipart()}


def test_the_digest_reaches_a_real_smtp_server_grouped_and_linked(
    alerted_db: Path, smtp_server: Controller, inbox: Inbox, smtp_port: int, tmp_path: Path
) -> None:
    total = pending(alerted_db)
    result = deliver_digest(alerted_db, tmp_path / "outbox", smtp_settings(smtp_port))
    assert result.status == "sent" and result.alerts == total and result.channels == ("email", "outbox")
    assert len(inbox.messages) == 1
    msg = inbox.messages[0]
    assert msg.get_content_type() == "multipart/alternative"
    body = parts(msg)
    assert set(body) == {"text/plain", "text/html"}
    text, html = body["text/plain"], body["text/html"]
    assert msg["Message-ID"] and msg["To"] == "analyst@example.org"
    # One entry per story: a story both rules matched is counted once.
    stories = rows_of(alerted_db, "SELECT count(DISTINCT story_id) FROM alert")[0][0]
    per_rule = dict(rows_of(alerted_db, "SELECT rule, count(*) FROM alert GROUP BY rule"))
    assert stories < total  # the demo has stories that matched both rules
    today = datetime.now(ZoneInfo("Asia/Tokyo")).strftime("%Y-%m-%d")
    assert msg["Subject"] == (f"newswatch digest {today}: {stories} stories "
                              f"(abductees {per_rule['abductees']}, summit {per_rule['summit']})")
    headlines = [line for line in text.splitlines() if re.match(r"\d+\. ", line)]
    assert len(headlines) == stories == html.count("<h2 ")
    assert "[Abductees · Summit]" in text
    # The wire story carried by three outlets, with a link to each, right under its headline.
    assert "Carried by 3 outlets: The Harbor Times, Asia Pacific Wire, Northeast Asia Policy Review" in text
    assert "Carried by 3 outlets" in html
    assert html.count('<a href="http://127.0.0.1:') >= stories
    assert "<mark " in html and "http" not in html.split("<body")[0]  # no remote assets in the head
    assert "src=" not in html
    # The same digest was written to the outbox, in three forms.
    assert sorted(p.suffix for p in (tmp_path / "outbox").iterdir()) == [".html", ".md", ".txt"]
    assert pending(alerted_db) == 0
    # Nothing new: the next digest is empty and sends nothing.
    assert deliver_digest(alerted_db, tmp_path / "outbox", smtp_settings(smtp_port)).status == "empty"
    assert len(inbox.messages) == 1


def test_with_smtp_down_alerts_stay_pending_and_go_out_once_later(
    alerted_db: Path, inbox: Inbox, smtp_port: int, tmp_path: Path
) -> None:
    total = pending(alerted_db)
    outbox = tmp_path / "outbox"
    down = deliver_digest(alerted_db, outbox, smtp_settings(smtp_port))
    assert down.status == "failed" and "cannot reach SMTP server" in down.error
    assert pending(alerted_db) == total
    assert rows_of(alerted_db, "SELECT count(*) FROM digest") == [(0,)]  # released
    # The outbox still gets the digest, named and headed as not sent.
    first_try = sorted(p.name for p in outbox.iterdir())
    assert [Path(n).suffix for n in first_try] == [".html", ".md", ".txt"] and set(down.files) == set(outbox.iterdir())
    assert all(n.endswith("-not-sent" + Path(n).suffix) for n in first_try)
    text = (outbox / first_try[2]).read_text("utf-8")
    assert text.startswith("Not sent by e-mail: cannot reach SMTP server") and "stay pending" in text
    assert "Not sent by e-mail" in (outbox / first_try[0]).read_text("utf-8")

    # The server answers but refuses the login: the newer attempt replaces the older files.
    controller = start_smtp(inbox, smtp_port)
    try:
        refused = deliver_digest(alerted_db, outbox, smtp_settings(smtp_port, password="wrong-password"))
        second_try = sorted(p.name for p in outbox.iterdir())
        second_text = (outbox / second_try[2]).read_text("utf-8")
        up = deliver_digest(alerted_db, outbox, smtp_settings(smtp_port))
        again = deliver_digest(alerted_db, outbox, smtp_settings(smtp_port))
    finally:
        controller.stop()
    assert refused.status == "failed" and "login refused" in refused.error
    assert len(second_try) == 3 and not set(second_try) & set(first_try)
    assert all("-not-sent." in n for n in second_try)
    assert second_text.startswith("Not sent by e-mail: SMTP login refused")
    assert up.status == "sent" and up.alerts == total
    assert again.status == "empty"
    assert len(inbox.messages) == 1 and pending(alerted_db) == 0
    # Once delivered, only the delivered digest is left: no stale not-sent copy of the same alerts.
    assert sorted(outbox.iterdir()) == sorted(up.files) and not any("not-sent" in p.name for p in up.files)
    delivered_text = next(p for p in up.files if p.suffix == ".txt").read_text("utf-8")
    assert delivered_text == parts(inbox.messages[0])["text/plain"].replace("\r\n", "\n")


def test_an_smtp_server_that_never_answers_times_out_and_alerts_stay_pending(alerted_db: Path, tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts connections, never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        settings = SmtpSettings("127.0.0.1", port, "none", USER, PASSWORD, "newswatch@example.org",
                                ("analyst@example.org",), timeout=1)
        total = pending(alerted_db)
        result = deliver_digest(alerted_db, tmp_path / "outbox", settings)
    assert result.status == "failed"
    assert result.error == f"SMTP server 127.0.0.1:{port} did not answer within 1s"
    assert pending(alerted_db) == total
    assert sorted(p.name.split("-not-sent")[1] for p in (tmp_path / "outbox").iterdir()) == [".html", ".md", ".txt"]
    assert rows_of(alerted_db, "SELECT count(*) FROM alert WHERE digest_id IS NOT NULL") == [(0,)]


def test_a_refused_login_keeps_alerts_pending_and_hides_the_password(
    alerted_db: Path, smtp_server: Controller, inbox: Inbox, smtp_port: int, tmp_path: Path
) -> None:
    result = deliver_digest(alerted_db, tmp_path / "outbox", smtp_settings(smtp_port, password="wrong-password"))
    assert result.status == "failed" and "login refused" in result.error
    assert "wrong-password" not in result.error and "wrong-password" not in repr(smtp_settings(smtp_port, "wrong-password"))
    assert pending(alerted_db) > 0 and inbox.messages == []


def test_a_crash_between_send_and_mark_resends_the_same_digest(
    alerted_db: Path, smtp_server: Controller, inbox: Inbox, smtp_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_mark = AlertStore.mark_sent

    def crash(*args, **kwargs):
        raise RuntimeError("killed before marking")

    monkeypatch.setattr(AlertStore, "mark_sent", crash)
    with pytest.raises(RuntimeError):
        deliver_digest(alerted_db, tmp_path / "outbox", smtp_settings(smtp_port))
    monkeypatch.setattr(AlertStore, "mark_sent", real_mark)
    assert len(inbox.messages) == 1 and pending(alerted_db) > 0

    result = deliver_digest(alerted_db, tmp_path / "outbox", smtp_settings(smtp_port))
    assert result.status == "sent"
    first, second = inbox.messages
    assert first["Message-ID"] == second["Message-ID"]
    assert parts(first) == parts(second) and first["Subject"] == second["Subject"]
    assert pending(alerted_db) == 0
    assert deliver_digest(alerted_db, tmp_path / "outbox", smtp_settings(smtp_port)).status == "empty"
    assert len(inbox.messages) == 2


def chat_hook(newsroom: DemoNewsroom) -> tuple[str, list[dict]]:
    """An Apprise json:// URL served by the newsroom, and the posts it receives."""
    posts: list[dict] = []

    def hook(h):
        posts.append(json.loads(h.body))
        return 200, {"Content-Type": "application/json"}, b"{}"

    return newsroom.add_route("asia-wire", "/hook", hook).replace("http://", "json://"), posts


def test_a_chat_summary_goes_to_a_configured_apprise_url(alerted_db: Path, newsroom: DemoNewsroom, tmp_path: Path) -> None:
    url, posts = chat_hook(newsroom)
    result = deliver_digest(alerted_db, tmp_path / "outbox", None, [url])
    assert result.channels == ("outbox", "chat")
    assert len(posts) == 1 and "newswatch digest" in posts[0]["message"]


def test_hostile_headlines_are_escaped_in_html() -> None:
    now = datetime(2026, 11, 20, tzinfo=timezone.utc)
    hostile = {
        "alert_id": 1, "rule": "summit", "severity": "high", "matched": ["<b>Kim</b>"], "created_at": now,
        "story_id": 1, "rule_version": "x", "field": "title",
        "snippet": 'He said "⟦<script>alert(1)</script>⟧" & 日朝首脳会談 \'quoted\'',
        "origin_title": '<script>alert("x")</script> "Kim" & 金正恩 <img src=x onerror=alert(1)>',
        "origin_source": "<i>Outlet</i>", "origin_url": 'http://example.org/a?b=1&c="2"><script>',
        "origin_published_at": None,
        "copies": [{"title": "t", "source": "<svg onload=alert(1)>", "url": "javascript:alert(1)\"><x"}],
    }
    subject, text, html, md = render([hostile], now)
    assert "<script>" not in html and "<img" not in html and "<svg" not in html and "<b>Kim" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "金正恩" in html and "日朝首脳会談" in html
    assert re.search(r"<mark[^>]*>&lt;script&gt;alert\(1\)&lt;/script&gt;</mark>", html)
    assert 'href="http://example.org/a?b=1&amp;c=&quot;2&quot;&gt;&lt;script&gt;"' in html
    assert 'href="javascript' not in html and "(<javascript" not in md  # only web addresses become links
    assert "<script>" in text  # plain text is plain


def test_the_smtp_password_can_come_from_a_prefect_secret_block(prefect_api: str) -> None:
    from prefect.blocks.system import Secret

    from newswatch.settings import smtp_from_env

    Secret(value="from-the-block").save("newswatch-smtp-test", overwrite=True)
    smtp = smtp_from_env({"NEWSWATCH_SMTP_HOST": "127.0.0.1", "NEWSWATCH_MAIL_TO": "a@example.org, b@example.org",
                          "NEWSWATCH_SMTP_USER": "u", "NEWSWATCH_SMTP_PASSWORD_BLOCK": "newswatch-smtp-test"})
    assert smtp is not None and smtp.password == "from-the-block"
    assert smtp.recipients == ("a@example.org", "b@example.org") and smtp.port == 587 and smtp.security == "starttls"
    assert "from-the-block" not in repr(smtp)
    assert smtp_from_env({}) is None


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_mail_goes_over_tls_with_login(security: str, alerted_db: Path, inbox: Inbox, smtp_port: int, tmp_path: Path) -> None:
    import ssl
    from dataclasses import replace

    cert, key = _self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    release_port(smtp_port)
    if security == "ssl":
        controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port, ssl_context=server_tls,
                                authenticator=_authenticator, auth_require_tls=False, auth_required=True)
    else:
        controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port, tls_context=server_tls,
                                require_starttls=True, authenticator=_authenticator, auth_required=True)
    controller.start()
    try:
        settings = replace(smtp_settings(smtp_port), security=security)
        untrusted = deliver_digest(alerted_db, tmp_path / "outbox", settings)
        trusted = deliver_digest(alerted_db, tmp_path / "outbox", replace(settings, ca_file=str(cert)))
    finally:
        controller.stop()
    assert untrusted.status == "failed" and "certificate" in untrusted.error.lower()
    assert trusted.status == "sent" and len(inbox.messages) == 1


# -- the entry: passages, labels, times ---------------------------------------------------------

NOW = datetime(2026, 11, 29, 23, 0, tzinfo=timezone.utc)  # 08:00 on 30 November in Tokyo


def alert(alert_id: int, rule: str, story_id: int, snippet: str, **extra) -> dict:
    base = {
        "alert_id": alert_id, "rule": rule, "severity": "high", "matched": ["term"], "created_at": NOW,
        "story_id": story_id, "rule_version": "v", "field": "body", "snippet": snippet,
        "origin_title": f"Story {story_id}", "origin_source": "The Harbor Times",
        "origin_url": f"http://news.example/{story_id}", "origin_published_at": None, "copies": [],
    }
    return {**base, **extra}


def marks(text: str) -> list[str]:
    return re.findall(f"{MARK_OPEN}([^{MARK_CLOSE}]*){MARK_CLOSE}", text)


ENGLISH = ("…g public expectations that Japan would ⟦meet⟧ ⟦Kim⟧ in person soon, officials said on Tuesday, adding "
           "that no date had been set and that the talks would be held in a third country if at all possible.…")
JAPANESE = ("…政府関係者によると、首相は来月にも平壌を訪問し、⟦金正恩⟧総書記との⟦首脳会談⟧に臨む方向で最終調整している。"
            "拉致問題の解決に向けた具体的な進展を引き出したい考えだ。会談では核・ミサイル問題も議題となる見通しで、関係国との連携も…")
KOREAN = ("…는 북한이 이른바 ⟦《랍치문제》⟧를 다시 거론하며 일본 정부를 비난했다고 전했다. 조선중앙통신은 이날 논평에서 일본이 "
          "과거 죄악을 덮기 위해 문제를 부풀리고 있다고 주장했다. 통신은 또…")


def test_an_english_passage_is_cut_between_whole_words() -> None:
    shown = passage(ENGLISH)
    assert shown.startswith("…public expectations") and shown.endswith("…")  # "g" was half a word
    assert marks(shown) == ["meet", "Kim"]
    words = shown.strip("…").split()
    assert len(words) <= PASSAGE_UNITS // 2 and len(words) >= PASSAGE_UNITS // 2 - 3
    source_words = set(re.sub("[⟦⟧…]", "", ENGLISH).split()) - {"g"}  # "g" is the tail of a word cut off
    assert all(re.sub("[⟦⟧]", "", w) in source_words for w in words)  # whole words only


def test_a_japanese_passage_is_bounded_by_characters_and_starts_at_a_clause() -> None:
    shown = passage(JAPANESE)
    body = shown.replace(MARK_OPEN, "").replace(MARK_CLOSE, "").strip("…")
    assert len(body) <= PASSAGE_UNITS and len(body) >= PASSAGE_UNITS - 15
    assert body.startswith("首相は来月にも")  # after "、", not in the middle of 政府関係者
    assert marks(shown) == ["金正恩", "首脳会談"]
    assert shown.startswith("…") and shown.endswith("…")


def test_a_korean_passage_is_cut_between_words() -> None:
    shown = passage(KOREAN)
    assert shown.startswith("…북한이 ")  # the half word "는" is left out
    body = shown.strip("…")
    source_words = set(re.sub("[⟦⟧…]", "", KOREAN).split())
    assert all(w in source_words for w in re.sub("[⟦⟧]", "", body).split())
    assert marks(shown) == ["《랍치문제》"]
    assert len(re.findall("[가-힣]", body)) <= PASSAGE_UNITS


def test_a_short_snippet_is_shown_whole_and_adjacent_marks_become_one() -> None:
    title = "⟦拉致被害者⟧⟦家族会⟧が都内で集会 首相に「一刻も早い帰国を」と要望"
    assert passage(title) == "⟦拉致被害者家族会⟧が都内で集会 首相に「一刻も早い帰国を」と要望"
    assert passage("Japan ready to ⟦meet⟧ ⟦Kim⟧ in person, officials say") == \
        "Japan ready to ⟦meet⟧ ⟦Kim⟧ in person, officials say"


def test_a_long_marked_term_is_never_cut() -> None:
    snippet = "…words " * 10 + "⟦" + "the Kim Jong Un summit " * 8 + "⟧ and more words after it.…"
    shown = passage(snippet)
    assert len(marks(shown)) == 1 and marks(shown)[0].count("summit") == 8


def test_one_entry_per_story_with_its_rules_as_labels_and_times_in_the_users_zone() -> None:
    published = datetime(2026, 11, 29, 20, 30, tzinfo=timezone.utc)  # already 30 November in Tokyo
    seen = datetime(2026, 11, 29, 21, 5, tzinfo=timezone.utc)
    copies = [{"title": "t", "source": "Asia Pacific Wire", "url": "http://wire.example/1"},
              {"title": "t", "source": "The Harbor Times", "url": "http://news.example/1?page=2"},
              {"title": "t", "source": None, "url": "http://review.example/1"}]
    both = dict(origin_published_at=published, origin_first_seen_at=seen, copies=copies)
    alerts = [
        alert(1, "summit", 1, "Japan ready to ⟦meet⟧ ⟦Kim⟧ in person", matched=["meet", "Kim"], **both,
              immediate_sent_at=seen + timedelta(minutes=2)),
        alert(2, "abductees", 1, "families of the ⟦abductees⟧ met the prime minister", matched=["abductees"], **both),
        alert(3, "abductees", 2, "the ⟦abduction issue⟧ was raised", created_at=NOW - timedelta(days=1)),
    ]
    subject, text, html, md = render(alerts, NOW, tz="Asia/Tokyo")
    assert subject == "newswatch digest 2026-11-30: 2 stories (abductees 2, summit 1)"
    entry = text.split("\n1. ")[1].split("\n2. ")[0]
    assert entry.startswith("Story 1\n   [Abductees · Summit]\n   Carried by 3 outlets: The Harbor Times, "
                            "Asia Pacific Wire, review.example\n")
    assert "The Harbor Times · published 2026-11-30 · first seen 2026-11-30 06:05 JST" in entry
    assert "Summit: \"Japan ready to [meet] [Kim] in person\"" in entry
    assert "matched: meet, Kim · sent as it happened at 06:07 JST" in entry
    assert "Abductees: \"families of the [abductees] met the prime minister\"" in entry
    assert "http://wire.example/1" in entry and "http://review.example/1" in entry
    assert "\n2. Story 2\n   [Abductees]\n" in text  # older: second
    assert "Summit already sent" in html
    # The same times in another zone.
    _, text_utc, _, _ = render(alerts, NOW, tz="UTC")
    assert "published 2026-11-29 · first seen 2026-11-29 21:05 UTC" in text_utc
    assert "2026-11-29 23:00 UTC (times in UTC)" in text_utc
    # The legend names every rule with its description.
    assert "* Summit (summit, 1 story here): A summit or leaders' meeting" in text
    assert "* Abductees (abductees, 2 stories here): People abducted by North Korea" in text


def test_feeds_and_rules_in_trouble_are_in_the_subject_and_their_sections() -> None:
    feeds = [{"url": "https://user:secret@feeds.example/rss.xml", "title": "Example feed", "status": "failing",
              "consecutive_failures": 3, "last_error": "HTTP 503", "last_new_item_at": None}]
    problems = ["monitors/rules/missiles.toml: line 3: expected '='"]
    subject, text, html, md = render([], NOW, feeds, tz="Asia/Tokyo", rule_problems=problems)
    assert subject == "newswatch digest 2026-11-30: no new stories; 1 feed in trouble; 1 rule in trouble"
    assert "RULES IN TROUBLE — 1" in text and problems[0] in text and "missiles.toml: line 3: expected" in html
    assert "FEEDS IN TROUBLE — 1" in text and "secret" not in text + html + md


def test_rule_names_come_from_the_rule_files() -> None:
    assert [(r.id, r.name) for r in rule_infos()] == [("abductees", "Abductees"), ("summit", "Summit")]
    assert [r.name for r in rule_infos(["north-korea_missiles"])][-1] == "North korea missiles"
    spec = {"id": "missile-tests", "terms": {"a": ["missile"]}, "match": {"terms": "a"}}
    assert parse_rule(spec).name == "Missile tests"
    assert parse_rule({**spec, "name": "Missiles  launched"}).name == "Missiles launched"


def test_the_time_zone_setting_takes_a_flag_then_the_environment_then_the_schedules_default(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSWATCH_TIMEZONE", raising=False)
    assert settings.timezone_name() == settings.DEFAULT_TIMEZONE == "Asia/Tokyo"
    monkeypatch.setenv("NEWSWATCH_TIMEZONE", "Europe/Paris")
    assert settings.timezone_name() == "Europe/Paris" and settings.timezone_name("UTC") == "UTC"
    for bad in ("Mars/Base", "Asia", "../../etc/passwd"):
        with pytest.raises(ValueError, match=f"unknown time zone '{re.escape(bad)}': give an IANA name"):
            settings.timezone(bad)


def test_the_schedules_use_the_one_default_time_zone() -> None:
    import yaml

    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "prefect.yaml").read_text())
    zones = {s["timezone"] for d in config["deployments"] for s in d["schedules"]}
    assert zones == {settings.DEFAULT_TIMEZONE}


# -- Markdown, rendered by Markdown libraries --------------------------------------------------------


def _markdown_sample() -> str:
    alerts = [
        alert(1, "abductees", 1, "⟦拉致被害者⟧⟦家族会⟧が都内で集会 首相に「一刻も早い帰国を」と要望",
              origin_title="拉致被害者家族会が都内で集会 [速報] *注目*", matched=["拉致被害者", "家族会"],
              copies=[{"title": "t", "source": "東京日報デジタル", "url": "http://tokyo.example/a_(1)"}]),
        alert(2, "abductees", 2, "…는 북한이 이른바 ⟦《랍치문제》⟧를 다시 거론하며 일본 정부를 비난했다고 전했다.…",
              origin_title="북 매체, 《랍치문제》 다시 거론", origin_source="한반도일보"),
        alert(3, "summit", 3, 'He proposed "⟦a summit⟧." to ⟦Kim_Jong_Un⟧ (the *leader*)', origin_title="A summit?"),
        alert(4, "abductees", 3, "the ⟦abductees⟧ first", origin_title="A summit?"),
    ]
    return render(alerts, NOW, tz="Asia/Tokyo")[3]


def _check_rendered_markdown(html_out: str) -> None:
    import lxml.html

    tree = lxml.html.fromstring(f"<div>{html_out}</div>")
    text = tree.text_content()
    assert "**" not in text and "\\" not in text
    strong = [s.text_content() for s in tree.iter("strong")]
    assert "拉致被害者家族会" in strong  # two adjacent marks: one highlight, no ****
    assert "랍치문제" in strong and "a summit" in strong and "Kim_Jong_Un" in strong
    quotes = tree.findall(".//blockquote")
    assert len(quotes) == 4  # one per passage; story 3's two rules have two different passages
    for q in quotes:  # the passage alone: the matched line and the outlets are outside it
        assert "matched" not in q.text_content() and "Carried by" not in q.text_content()
    assert any("《" in q.text_content() and "》를" in q.text_content() for q in quotes)
    paragraphs = [p.text_content() for p in tree.iter("p")]
    assert any(p.startswith("matched: 拉致被害者, 家族会") for p in paragraphs)
    assert any(p.startswith("Carried by 2 outlets:") for p in paragraphs)
    links = {a.text_content(): a.get("href") for a in tree.iter("a")}
    assert links["拉致被害者家族会が都内で集会 [速報] *注目*"] == "http://news.example/1"
    assert links["東京日報デジタル"] == "http://tokyo.example/a_(1)"
    headings = [h.text_content() for h in tree.iter("h3")]
    assert len(headings) == 3 and headings[0].startswith("1. ")


def test_markdown_renders_right_with_markdown_it() -> None:
    from markdown_it import MarkdownIt

    _check_rendered_markdown(MarkdownIt("commonmark").render(_markdown_sample()))


def test_markdown_renders_right_with_python_markdown() -> None:
    import markdown

    _check_rendered_markdown(markdown.markdown(_markdown_sample()))


def test_the_html_is_styled_inline_and_fits_narrow_screens() -> None:
    alerts = [alert(1, "summit", 1, "a ⟦summit⟧", origin_url="http://news.example/" + "very-long-path/" * 30)]
    html = render(alerts, NOW, tz="Asia/Tokyo")[2]
    assert "<style" not in html and "class=" not in html and "<link" not in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "max-width: 720px" in html and "overflow-wrap: anywhere" in html and "box-sizing: border-box" in html


# -- preview --------------------------------------------------------------------------------------


def test_a_preview_marks_nothing_and_a_later_digest_sends_everything(
    alerted_db: Path, smtp_server: Controller, inbox: Inbox, smtp_port: int, tmp_path: Path
) -> None:
    total = pending(alerted_db)
    outbox = tmp_path / "outbox"
    preview = preview_digest(alerted_db, outbox, "Asia/Tokyo")
    assert preview.status == "preview" and preview.alerts == total
    assert sorted(p.name for p in (outbox / "preview").iterdir()) == ["digest.html", "digest.md", "digest.txt"]
    assert pending(alerted_db) == total
    assert rows_of(alerted_db, "SELECT count(*) FROM digest") == [(0,)]
    assert rows_of(alerted_db, "SELECT count(*) FROM alert WHERE digest_id IS NOT NULL") == [(0,)]
    assert preview_digest(alerted_db, outbox, "Asia/Tokyo").alerts == total  # again: the same

    sent = deliver_digest(alerted_db, outbox, smtp_settings(smtp_port), tz="Asia/Tokyo")
    assert sent.status == "sent" and sent.alerts == total and len(inbox.messages) == 1
    assert inbox.messages[0]["Subject"] == preview.subject
    assert pending(alerted_db) == 0
    assert preview_digest(alerted_db, outbox).status == "empty"


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "newswatch.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def test_digest_preview_on_the_command_line(alerted_db: Path, tmp_path: Path) -> None:
    total = pending(alerted_db)
    result = _cli("digest", "--preview", "--db", str(alerted_db), "--outbox", str(tmp_path / "out"),
                  "--timezone", "Europe/Paris", env={"NEWSWATCH_SMTP_HOST": "127.0.0.1"})  # mail is not needed
    assert result.returncode == 0, result.stderr
    assert "Preview of the next digest (nothing marked delivered): newswatch digest " in result.stdout
    text = (tmp_path / "out" / "preview" / "digest.txt").read_text("utf-8")
    assert str(tmp_path / "out" / "preview" / "digest.txt") in result.stdout
    assert "(times in Europe/Paris)" in text and pending(alerted_db) == total
    bad = _cli("digest", "--preview", "--db", str(alerted_db), "--timezone", "Mars/Base")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip() == ("newswatch: unknown time zone 'Mars/Base': give an IANA name such as "
                                  "Asia/Tokyo, Europe/Paris or UTC")
    missing = _cli("digest", "--preview", "--db", str(tmp_path / "missing.duckdb"))
    assert missing.returncode == 2 and "no warehouse at" in missing.stderr and not (tmp_path / "missing.duckdb").exists()


@pytest.mark.parametrize("library", ["markdown-it", "python-markdown"])
def test_hostile_text_stays_text_in_markdown(library: str) -> None:
    import lxml.html

    title = '<script>alert("x")</script> A|B ~x~ & <b>bold</b> 1. #2 [link](javascript:alert(1)) *_`'
    md = render([alert(1, "summit", 1, "a ⟦<i>summit</i>⟧ & more", origin_title=title,
                       origin_source="<svg onload=alert(1)>")], NOW, tz="UTC")[3]
    if library == "markdown-it":
        from markdown_it import MarkdownIt

        out = MarkdownIt("commonmark").render(md)
    else:
        import markdown

        out = markdown.markdown(md)
    tree = lxml.html.fromstring(f"<div>{out}</div>")
    assert not tree.findall(".//script") and not tree.findall(".//b") and not tree.findall(".//svg")
    assert not tree.findall(".//i")
    heading = tree.find(".//h3").text_content()
    assert heading == f"1. {title}"
    assert [a.get("href") for a in tree.iter("a")] == ["http://news.example/1"]
    assert tree.find(".//blockquote").text_content().strip() == "a <i>summit</i> & more"
    assert tree.find(".//blockquote//strong").text_content() == "i>summit</i"  # edge punctuation outside
