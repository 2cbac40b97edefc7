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
