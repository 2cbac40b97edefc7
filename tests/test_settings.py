"""Run-time settings live in one module: newswatch/settings.py."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from newswatch import settings
from newswatch.fetch import FetchSettings

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("newswatch", "flows", "monitors", "warehouse")


def _environment_reads(path: Path) -> list[str]:
    """Where *path* looks up a NEWSWATCH_* name: ``….get("NEWSWATCH_…")``, ``getenv(…)``, ``…["NEWSWATCH_…"]``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        key = None
        if isinstance(node, ast.Call) and node.args:
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in ("get", "getenv", "pop", "setdefault"):
                key = node.args[0]
        elif isinstance(node, ast.Subscript):
            key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value.startswith("NEWSWATCH_"):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {key.value}")
    return found


def test_only_settings_reads_newswatch_variables() -> None:
    reads = [r for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
             if path != ROOT / "newswatch" / "settings.py" for r in _environment_reads(path)]
    assert reads == []
    # The check itself finds what it looks for.
    assert len(_environment_reads(ROOT / "newswatch" / "settings.py")) >= 10


def test_allowed_private_hosts() -> None:
    assert settings.allowed_private({}) == ()
    assert settings.allowed_private({"NEWSWATCH_ALLOW_PRIVATE": "News.Intranet, 10.0.0.0/8  wiki"}) == (
        "news.intranet", "10.0.0.0/8", "wiki")


def test_fetching_reads_allowed_private_hosts_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSWATCH_ALLOW_PRIVATE", "127.0.0.0/8,Intranet.example")
    assert FetchSettings().allow_private == ("127.0.0.0/8", "intranet.example")
    monkeypatch.delenv("NEWSWATCH_ALLOW_PRIVATE")
    assert FetchSettings().allow_private == ()


def test_smtp_settings_and_chat_urls() -> None:
    env = {"NEWSWATCH_SMTP_HOST": "mail.example.org", "NEWSWATCH_SMTP_SECURITY": "SSL",
           "NEWSWATCH_MAIL_TO": "desk@example.org", "NEWSWATCH_SMTP_TIMEOUT": "12.5"}
    smtp = settings.smtp_from_env(env)
    assert (smtp.port, smtp.security, smtp.timeout, smtp.sender) == (465, "ssl", 12.5, "newswatch@mail.example.org")
    assert settings.smtp_from_env({**env, "NEWSWATCH_SMTP_PORT": "2525"}).port == 2525
    assert settings.apprise_urls({"NEWSWATCH_APPRISE_URLS": "json://127.0.0.1:9/a, mailto://x@example.org"}) == [
        "json://127.0.0.1:9/a", "mailto://x@example.org"]
    assert settings.apprise_urls({}) == []


@pytest.mark.parametrize("name, value, message", [
    ("NEWSWATCH_SMTP_PORT", "smtp", "NEWSWATCH_SMTP_PORT must be a port number, not 'smtp'"),
    ("NEWSWATCH_SMTP_PORT", "-25", "NEWSWATCH_SMTP_PORT must be a port number, not '-25'"),
    ("NEWSWATCH_SMTP_TIMEOUT", "soon", "NEWSWATCH_SMTP_TIMEOUT must be a number of seconds, not 'soon'"),
    ("NEWSWATCH_SMTP_SECURITY", "tls", "NEWSWATCH_SMTP_SECURITY must be starttls, ssl or none, not 'tls'"),
    ("NEWSWATCH_MAIL_TO", " , ", "NEWSWATCH_SMTP_HOST is set but NEWSWATCH_MAIL_TO names no recipient"),
])
def test_a_bad_mail_setting_is_a_plain_message(name: str, value: str, message: str) -> None:
    env = {"NEWSWATCH_SMTP_HOST": "mail.example.org", "NEWSWATCH_MAIL_TO": "desk@example.org", name: value}
    with pytest.raises(ValueError) as exc:
        settings.smtp_from_env(env)
    assert str(exc.value) == message
