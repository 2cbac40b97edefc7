"""The command line: help everywhere, and the offline run a newcomer may hit first."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from newswatch.cli import build_parser
from newswatch.opml import FeedSource, write_opml

COMMANDS = sorted(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


def newswatch(*args: str, env: dict[str, str] | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "newswatch.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)


def test_there_is_a_help_text_for_the_program() -> None:
    result = newswatch("--help")
    assert result.returncode == 0
    for command in COMMANDS:
        assert command in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = newswatch(command, "--help")
    assert result.returncode == 0
    assert f"usage: newswatch {command}" in result.stdout
    assert len(result.stdout.splitlines()) >= 4


def test_run_offline_loads_the_seeds_and_says_so_plainly(prefect_api: str, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    feeds = tmp_path / "feeds.opml"
    write_opml(feeds, "offline", [FeedSource("https://feeds.example.invalid/rss.xml", "Unresolvable"),
                                  FeedSource(f"http://127.0.0.1:{closed_port}/feed", "Refused")])
    db = tmp_path / "offline.duckdb"
    result = newswatch("run", env={"PREFECT_API_URL": prefect_api, "NEWSWATCH_FEEDS": str(feeds),
                                   "NEWSWATCH_DB": str(db)})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output
    assert "All 2 feeds failed" in result.stdout
    assert "could not be resolved" in result.stdout and "connection refused" in result.stdout
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM articles WHERE is_seed").fetchone() == (5,)
    assert con.execute("SELECT count(*) FROM feeds WHERE consecutive_failures = 1 AND last_error IS NOT NULL").fetchone() == (2,)
    con.close()


def test_a_missing_feed_list_is_an_error_message_not_a_traceback(tmp_path: Path) -> None:
    result = newswatch("run", "--feeds", str(tmp_path / "nope.opml"), "--db", str(tmp_path / "x.duckdb"))
    assert result.returncode == 2
    assert "feed list not found" in result.stderr and "Traceback" not in result.stderr


def test_seed_is_idempotent(tmp_path: Path) -> None:
    db = tmp_path / "seeds.duckdb"
    assert "5 seed articles added" in newswatch("seed", "--db", str(db)).stdout
    assert "0 seed articles added" in newswatch("seed", "--db", str(db)).stdout


@pytest.mark.parametrize("sub", ["list", "test"])
def test_rules_subcommands_have_help(sub: str) -> None:
    result = newswatch("rules", sub, "--help")
    assert result.returncode == 0 and f"usage: newswatch rules {sub}" in result.stdout


def test_rules_test_replays_the_seeds_without_writing(tmp_path: Path) -> None:
    db = tmp_path / "seeds.duckdb"
    newswatch("seed", "--db", str(db))
    before = db.stat().st_mtime_ns
    result = newswatch("rules", "test", "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert "== summit" in result.stdout and "== abductees" in result.stdout
    assert "4 articles, 3 stories would match" in result.stdout  # summit: all seeds but 003
    assert "5 articles, 4 stories would match" in result.stdout  # abductees: every seed
    assert "[seed]" in result.stdout and "nothing was written" in result.stdout
    assert db.stat().st_mtime_ns == before
    assert newswatch("rules", "test", "--db", str(db), "--rule", "nope").returncode == 2
    assert "0 relevant articles replayed since 2030-01-01" in newswatch("rules", "test", "--db", str(db), "--since", "2030-01-01").stdout


def test_digest_command_says_when_there_is_nothing_to_send(prefect_api: str, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    newswatch("seed", "--db", str(db))
    result = newswatch("digest", "--db", str(db), "--outbox", str(tmp_path / "out"), env={"PREFECT_API_URL": prefect_api})
    assert result.returncode == 0, result.stderr
    assert "No undelivered alerts and no feed in trouble: nothing sent." in result.stdout
    assert not (tmp_path / "out").exists()


def test_digest_command_refuses_half_configured_mail(tmp_path: Path) -> None:
    result = newswatch("digest", "--db", str(tmp_path / "w.duckdb"), env={"NEWSWATCH_SMTP_HOST": "127.0.0.1"})
    assert result.returncode == 2 and "NEWSWATCH_MAIL_TO" in result.stderr and "Traceback" not in result.stderr
