"""Digests: a real SMTP server on 127.0.0.1, the outbox, and delivered-once under failure."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from newswatch.demo.server import DemoNewsroom
from newswatch.digest import SmtpSettings, deliver_digest, render
from newswatch.fetch import FetchSettings
from newswatch.pipeline import run_cycle
from warehouse.db import AlertStore

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


@pytest.fixture
def smtp_port() -> int:
    return _free_port()


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


def start_smtp(inbox: Inbox, port: int) -> Controller:
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
    assert f"{total} new stories" in msg["Subject"]
    # Grouped by rule (abductees first, as in monitors/rules), then by story.
    assert text.index("ABDUCTEES") < text.index("SUMMIT")
    # The wire story carried by three outlets: its origin, and "also in 2 outlets" with links.
    assert "also in 2 outlets" in text and "also in 2 outlets" in html
    assert html.count('<a href="http://127.0.0.1:') >= total
    assert "<mark>" in html and "http" not in html.split("<body")[0]  # no remote assets in the head
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
    down = deliver_digest(alerted_db, tmp_path / "outbox", smtp_settings(smtp_port))
    assert down.status == "failed" and "cannot reach SMTP server" in down.error
    assert pending(alerted_db) == total
    assert not (tmp_path / "outbox").exists()  # nothing half-delivered

    controller = start_smtp(inbox, smtp_port)
    try:
        up = deliver_digest(alerted_db, tmp_path / "outbox", smtp_settings(smtp_port))
        again = deliver_digest(alerted_db, tmp_path / "outbox", smtp_settings(smtp_port))
    finally:
        controller.stop()
    assert up.status == "sent" and up.alerts == total
    assert again.status == "empty"
    assert len(inbox.messages) == 1 and pending(alerted_db) == 0


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
    assert pending(alerted_db) == total and not (tmp_path / "outbox").exists()
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


def test_a_chat_summary_goes_to_a_configured_apprise_url(alerted_db: Path, newsroom: DemoNewsroom, tmp_path: Path) -> None:
    posts: list[dict] = []

    def hook(h):
        posts.append(json.loads(h.body))
        return 200, {"Content-Type": "application/json"}, b"{}"

    url = newsroom.add_route("asia-wire", "/hook", hook).replace("http://", "json://")
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
    assert "<mark>&lt;script&gt;alert(1)&lt;/script&gt;</mark>" in html
    assert 'href="http://example.org/a?b=1&amp;c=&quot;2&quot;&gt;&lt;script&gt;"' in html
    assert "<script>" in text  # plain text is plain


def test_the_smtp_password_can_come_from_a_prefect_secret_block(prefect_api: str) -> None:
    from prefect.blocks.system import Secret

    from newswatch.digest import smtp_from_env

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
