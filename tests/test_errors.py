"""Bad input gives one plain message and a non-zero exit, never a traceback; a broken rule
file is skipped and reported while the other rules work; a one-shot command with nothing
to do answers without starting Prefect's server."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from monitors.engine import load_rule_set, load_rules, rule_problems
from newswatch.cli import error_message
from newswatch.demo.server import DemoNewsroom
from newswatch.digest import deliver_digest
from newswatch.fetch import FetchSettings
from newswatch.opml import FeedSource, write_opml
from newswatch.pipeline import load_seeds_stage, poll_stage, run_cycle
from newswatch.report import offline_hint
from newswatch.urls import feed_url_problem
from newswatch.work import CycleSnapshot, DigestSnapshot, cycle_work, digest_work

from .conftest import FAST_GAP, rows

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_RULES = ROOT / "monitors" / "rules"
FAST = FetchSettings(min_gap=FAST_GAP, retries=0)


def newswatch(*args: str, env: dict[str, str | None] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """The command as a user runs it: a new process, from the project folder (None in *env*: unset)."""
    merged = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "newswatch.cli", *args], capture_output=True, text=True,
                          env={k: v for k, v in merged.items() if v is not None}, cwd=ROOT, timeout=timeout)


def plain_failure(result: subprocess.CompletedProcess, message: str, code: int = 2) -> None:
    """One plain message on stderr, the exit code, no traceback and no misplaced hint."""
    assert result.returncode == code, result.stdout + result.stderr
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "disk full" not in result.stderr


def rules_folder(tmp_path: Path, **broken: str) -> Path:
    """The shipped rules plus broken files (name → content) in a folder of their own."""
    folder = tmp_path / "rules"
    folder.mkdir()
    for path in SHIPPED_RULES.glob("*.toml"):
        shutil.copy(path, folder / path.name)
    for name, text in broken.items():
        (folder / f"{name}.toml").write_text(text, "utf-8")
    return folder


BROKEN_TOML = 'id = "broken"\nterms = { a = ["x"]\n'  # an inline table never closed


# -- bad input on the command line -----------------------------------------------------------


def test_empty_sql_is_a_plain_error(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    load_seeds_stage(db)
    plain_failure(newswatch("query", "", "--db", str(db)), "no SQL given")
    plain_failure(newswatch("query", "   ", "--db", str(db)), "no SQL given")
    # A statement without a result (only a comment) is no error: an empty result.
    result = newswatch("query", "-- nothing", "--db", str(db))
    assert result.returncode == 0 and "Traceback" not in result.stderr


@pytest.mark.parametrize("option, value, message", [
    ("--digest-cron", "bad cron", "--digest-cron 'bad cron' is not a cron expression"),
    ("--digest-cron", "0 8 * *", "is not a cron expression; it needs five fields"),
    ("--timezone", "Mars/Base", "unknown time zone 'Mars/Base': give an IANA name"),
    ("--interval", "0", "--interval must be a positive number"),
])
def test_serve_checks_its_schedule_before_starting_anything(tmp_path: Path, option: str, value: str,
                                                             message: str) -> None:
    home = tmp_path / "prefect-home"
    result = newswatch("serve", option, value, "--db", str(tmp_path / "w.duckdb"),
                       env={"PREFECT_HOME": str(home), "PREFECT_API_URL": None})
    plain_failure(result, message)
    assert not (home / "newswatch-server.log").exists()  # no Prefect server was started
    assert not (tmp_path / "w.duckdb").exists()


def test_an_outbox_that_is_a_file_is_a_plain_error(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    load_seeds_stage(db)
    outbox = tmp_path / "outbox"
    outbox.write_text("not a folder")
    plain_failure(newswatch("digest", "--db", str(db), "--outbox", str(outbox)), "is a file; --outbox names a folder")


@pytest.mark.parametrize("command", [["query", "SELECT 1"], ["feeds"], ["search", "abductees"], ["digest"],
                                     ["rules", "test"], ["run"]])
def test_a_folder_as_warehouse_is_named_as_such(tmp_path: Path, command: list[str]) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    plain_failure(newswatch(*command, "--db", str(folder)), "is a folder, not a warehouse file")


@pytest.mark.parametrize("command", [["query", "SELECT 1"], ["feeds"], ["search", "abductees"], ["rules", "test"],
                                     ["digest"], ["run"]])
def test_a_file_that_is_not_duckdb_is_named_as_such(tmp_path: Path, command: list[str]) -> None:
    db = tmp_path / "notes.duckdb"
    db.write_text("these are my notes, not a warehouse\n" * 200)
    plain_failure(newswatch(*command, "--db", str(db)), "is not a DuckDB warehouse")
    assert db.read_text().startswith("these are my notes")


@pytest.mark.parametrize("command", [["query", "SELECT 1"], ["feeds"], ["search", "abductees"], ["digest"],
                                     ["rules", "test"]])
def test_read_only_commands_never_create_a_warehouse(tmp_path: Path, command: list[str]) -> None:
    db = tmp_path / "missing.duckdb"
    plain_failure(newswatch(*command, "--db", str(db), env={"PREFECT_HOME": str(tmp_path / "prefect-home")}),
                  f"no warehouse at {db}; run a cycle first")
    assert not db.exists() and not Path(f"{db}.wal").exists()
    assert not (tmp_path / "prefect-home" / "prefect.db").exists()


@pytest.mark.parametrize("exc, wanted, hint", [
    (OSError(errno.ENOSPC, "No space left on device", "/data/w.duckdb"), "could not write /data/w.duckdb", True),
    (OSError(errno.EROFS, "Read-only file system", "/ro/w.duckdb"), "could not write /ro/w.duckdb", True),
    (IsADirectoryError(errno.EISDIR, "Is a directory", "/tmp/x"), "/tmp/x is a folder where a file was expected", False),
    (FileExistsError(errno.EEXIST, "File exists", "out"), "out: a file is in the way", False),
    (PermissionError(errno.EACCES, "Permission denied", "/etc/w.duckdb"), "permission denied: /etc/w.duckdb", False),
    (duckdb.IOException('IO Error: Could not read from file "/tmp/adir": Is a directory'), "/tmp/adir is a folder", False),
    (duckdb.IOException('IO Error: The file "/tmp/n.duckdb" exists, but it is not a valid DuckDB database file!'),
     "/tmp/n.duckdb is not a DuckDB warehouse", False),
])
def test_file_errors_get_their_own_message_and_the_disk_hint_only_where_it_applies(
        exc: BaseException, wanted: str, hint: bool) -> None:
    message, code = error_message(exc)
    assert wanted in message
    assert ("disk full" in message) is hint
    assert code != 0


def test_a_bug_is_not_dressed_up_as_a_file_error() -> None:
    assert error_message(KeyError("x")) is None


# -- bad feed URLs ---------------------------------------------------------------------------


@pytest.mark.parametrize("url, problem", [
    ("ftp://example.com/feed.xml", "ftp:// is not supported"),
    ("not a url", "not a web address"),
    ("feeds.example.com/rss", "not a web address"),
    ("http:///rss.xml", "no host name"),
    ("https://example.com:99999/rss", "port"),
])
def test_feed_urls_that_cannot_be_feeds(url: str, problem: str) -> None:
    assert problem in feed_url_problem(url)


@pytest.mark.parametrize("url", ["https://example.com/rss.xml", "http://127.0.0.1:8701/feed", "HTTP://Example.com"])
def test_feed_urls_that_can_be_feeds(url: str) -> None:
    assert feed_url_problem(url) is None


def test_bad_feed_urls_are_recorded_per_feed_and_the_rest_of_the_poll_goes_on(newsroom: DemoNewsroom,
                                                                             db: Path) -> None:
    sources = [FeedSource("ftp://example.com/feed.xml", "FTP"), FeedSource("not a url", "Typo"), *newsroom.feeds()[:1]]
    report = poll_stage(db, sources, FAST)
    assert report.feeds_failed == 2 and report.feeds_bad_url == 2 and report.feeds_unreachable == 0
    assert report.new_entries > 0  # the good feed was read
    errors = dict(rows(db, "SELECT url, last_error FROM feeds WHERE consecutive_failures > 0"))
    assert errors["ftp://example.com/feed.xml"].startswith("bad feed URL: ftp:// is not supported")
    assert errors["not a url"].startswith("bad feed URL: not a web address")
    assert offline_hint({"poll": report.__dict__}) is None


def _poll(polled: int, failed: int, unreachable: int, bad_url: int) -> dict:
    return {"poll": {"feeds_polled": polled, "feeds_failed": failed, "feeds_unreachable": unreachable,
                     "feeds_bad_url": bad_url}}


@pytest.mark.parametrize("poll, offline", [
    (_poll(2, 2, 2, 0), True),  # nothing answered: maybe offline
    (_poll(3, 3, 2, 1), True),  # every feed with a usable URL got no answer
    (_poll(2, 2, 0, 2), False),  # only bad URLs
    (_poll(3, 3, 1, 0), False),  # two answered (with errors): the network works
    (_poll(3, 1, 1, 0), False),
    (_poll(0, 0, 0, 0), False),
])
def test_the_offline_hint_only_when_feeds_failed_for_network_reasons(poll: dict, offline: bool) -> None:
    assert (offline_hint(poll) is not None) is offline


def test_a_run_with_bad_feed_urls_reports_them_as_such(prefect_api: str, tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.opml"
    write_opml(feeds, "bad", [FeedSource("ftp://example.com/feed.xml", "FTP"), FeedSource("not a url", "Typo")])
    result = newswatch("run", "--feeds", str(feeds), "--db", str(tmp_path / "w.duckdb"),
                       env={"PREFECT_API_URL": prefect_api})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "ftp://example.com/feed.xml: bad feed URL: ftp:// is not supported" in result.stdout
    assert "not a url: bad feed URL: not a web address" in result.stdout
    assert "offline" not in result.stdout + result.stderr


# -- rule files --------------------------------------------------------------------------------


def test_one_broken_rule_file_does_not_disable_the_others(tmp_path: Path) -> None:
    folder = rules_folder(tmp_path, a_broken=BROKEN_TOML,
                          b_nomatch='id = "nomatch"\nterms = { a = ["x"] }\n',
                          c_types='id = "types"\nterms = ["x"]\nmatch = { terms = "a" }\n',
                          d_group='id = "group"\nterms = { a = ["x"] }\nmatch = { terms = "b" }\n',
                          z_dup='id = "summit"\nterms = { a = ["x"] }\nmatch = { terms = "a" }\n',
                          f_fine='id = "fine"\nterms = { a = ["yokota"] }\nmatch = { terms = "a" }\n')
    rule_set = load_rule_set(folder)
    assert [r.id for r in rule_set.rules] == ["abductees", "fine", "summit"]
    problems = dict(p.split(": ", 1) for p in rule_set.problems)
    assert sorted(Path(p).name for p in problems) == ["a_broken.toml", "b_nomatch.toml", "c_types.toml",
                                                      "d_group.toml", "z_dup.toml"]
    by_name = {Path(p).name: why for p, why in problems.items()}
    assert by_name["a_broken.toml"].startswith("not valid TOML")
    assert "missing 'match'" in by_name["b_nomatch.toml"]
    assert "terms must be a table" in by_name["c_types.toml"]
    assert "unknown term group 'b'" in by_name["d_group.toml"]
    assert "already used by summit.toml" in by_name["z_dup.toml"]
    assert rule_problems(folder) == list(rule_set.problems)
    assert load_rules(folder) == rule_set.rules


def test_the_shipped_rules_load_without_problems() -> None:
    assert rule_problems() == [] and {r.id for r in load_rules()} == {"summit", "abductees"}


def test_problems_name_the_file_as_the_user_knows_it(tmp_path: Path) -> None:
    folder = rules_folder(tmp_path, broken=BROKEN_TOML)
    assert rule_problems(folder)[0].startswith(f"{folder / 'broken.toml'}: not valid TOML")


def test_rules_list_shows_the_broken_files(tmp_path: Path) -> None:
    folder = rules_folder(tmp_path, broken=BROKEN_TOML)
    result = newswatch("rules", "list", env={"NEWSWATCH_RULES": str(folder)})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    # Each good rule with its name and how its alerts are delivered.
    assert "summit: Summit  (severity high, sent as it happens and in the digest," in result.stdout
    assert "abductees: Abductees  (severity high, in the digest," in result.stdout
    assert "1 rule file could not be loaded" in result.stdout and "broken.toml: not valid TOML" in result.stdout


def test_a_broken_rule_file_is_reported_before_any_fetch_and_the_other_rules_still_alert(
        prefect_api: str, newsroom: DemoNewsroom, tmp_path: Path) -> None:
    folder = rules_folder(tmp_path, broken=BROKEN_TOML)
    feeds = newsroom.write_opml(tmp_path / "feeds.opml")
    db = tmp_path / "w.duckdb"
    env = {"PREFECT_API_URL": prefect_api, "NEWSWATCH_RULES": str(folder), "NEWSWATCH_HOST_GAP": str(FAST_GAP)}
    result = newswatch("run", "--feeds", str(feeds), "--db", str(db), env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output
    skipped = f"rule file skipped (the other rules work): {folder / 'broken.toml'}: not valid TOML"
    assert skipped in result.stderr
    assert result.stderr.index(skipped) < result.stderr.index("Polling")  # before anything is fetched
    assert "Rule files skipped (the other rules ran):" in result.stdout  # and in the cycle's summary
    by_rule = dict(rows(db, "SELECT rule, count(*) FROM alerts GROUP BY rule"))
    assert by_rule.get("summit", 0) > 0 and by_rule.get("abductees", 0) > 0

    # The digest carries the problem in its trouble section.
    outbox = tmp_path / "outbox"
    result = newswatch("digest", "--db", str(db), "--outbox", str(outbox), env=env)
    assert result.returncode == 0, result.stderr
    text = next(outbox.glob("*.txt")).read_text("utf-8")
    assert "broken.toml: not valid TOML" in text


# -- nothing to do: no wait -------------------------------------------------------------------


def _snapshot(**changes: object) -> CycleSnapshot:
    quiet = {"url": "http://a.test/rss", "next_poll_at": NOW + timedelta(minutes=20), "consecutive_failures": 0}
    base = dict(schema_current=True, seeds_missing=0, feed_states={"http://a.test/rss": quiet},
                entries_to_fetch=0, entries_to_store=0, articles_unchecked=0)
    return CycleSnapshot(**{**base, **changes})


NOW = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)
URLS = ["http://a.test/rss"]


def test_a_cycle_has_nothing_to_do_only_when_nothing_is_due_or_waiting() -> None:
    assert cycle_work(_snapshot(), URLS, NOW) == []
    assert cycle_work(None, URLS, NOW) == ["no warehouse yet"]
    assert cycle_work(_snapshot(), URLS + ["http://b.test/new"], NOW) == ["1 feeds due"]  # never polled
    assert cycle_work(_snapshot(), URLS, NOW + timedelta(minutes=21)) == ["1 feeds due"]
    assert cycle_work(_snapshot(), URLS, NOW, force=True) == ["1 feeds due"]
    assert cycle_work(_snapshot(schema_current=False), URLS, NOW) == ["the warehouse's schema is to be upgraded"]
    assert cycle_work(_snapshot(seeds_missing=5), URLS, NOW) == ["5 seed articles to load"]
    assert cycle_work(_snapshot(entries_to_fetch=2), URLS, NOW) == ["2 pages to fetch"]
    assert cycle_work(_snapshot(entries_to_store=1), URLS, NOW) == ["1 extracted pages to store"]
    assert cycle_work(_snapshot(articles_unchecked=3), URLS, NOW) == ["3 articles for the alert rules"]


def test_a_feed_backing_off_is_not_due_even_with_all_feeds() -> None:
    failing = {"url": URLS[0], "next_poll_at": NOW + timedelta(minutes=5), "consecutive_failures": 2}
    assert cycle_work(_snapshot(feed_states={URLS[0]: failing}), URLS, NOW, force=True) == []


def test_a_digest_has_nothing_to_send_only_when_nothing_is_pending() -> None:
    empty = DigestSnapshot(True, False, 0, 0)
    assert digest_work(empty) == []
    assert digest_work(DigestSnapshot(True, False, 3, 0)) == ["3 alerts pending"]
    assert digest_work(DigestSnapshot(True, False, 0, 1)) == ["1 feeds in trouble"]
    assert digest_work(DigestSnapshot(True, True, 0, 0)) == ["a digest to send again"]
    assert digest_work(DigestSnapshot(False, False, 0, 0)) == ["the warehouse's schema is to be upgraded"]
    assert digest_work(empty, ["monitors/rules/x.toml: not valid TOML"]) == ["1 rule files that could not be loaded"]


def test_run_and_digest_with_nothing_to_do_answer_without_prefect(prefect_api: str, newsroom: DemoNewsroom,
                                                                  tmp_path: Path) -> None:
    db, outbox = tmp_path / "w.duckdb", tmp_path / "outbox"
    feeds = newsroom.write_opml(tmp_path / "feeds.opml")
    run_cycle(db, newsroom.feeds(), FAST, progress=lambda *a: None)
    assert deliver_digest(db, outbox).status == "sent"
    before = db.stat().st_mtime_ns
    home = tmp_path / "prefect-home"  # importing prefect creates it; starting its server fills it
    env = {"PREFECT_HOME": str(home), "PREFECT_API_URL": None}

    result = newswatch("run", "--feeds", str(feeds), "--db", str(db), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Nothing to do: no feed is due") and "next poll:" in result.stdout
    result = newswatch("digest", "--db", str(db), "--outbox", str(outbox), env=env)
    assert result.returncode == 0, result.stderr
    assert "nothing sent" in result.stdout
    for command in (["query", "SELECT count(*) FROM stories"], ["search", "abductees"], ["feeds"]):
        assert newswatch(*command, "--db", str(db), env=env).returncode == 0
    assert not home.exists()  # Prefect was never imported, let alone its server started
    assert db.stat().st_mtime_ns == before  # and nothing was written
    assert rows(db, "SELECT count(*) FROM cycles") == [(1,)]

    # With a feed due, the same command runs a cycle through the flow.
    more = tmp_path / "more.opml"
    newsroom.write_opml(more, extra=[FeedSource("http://127.0.0.1:9/never-polled.xml", "New")])
    result = newswatch("run", "--feeds", str(more), "--db", str(db), "--host-gap", "0.01",
                       env={"PREFECT_API_URL": prefect_api})
    assert result.returncode == 0, result.stderr
    assert "Cycle " in result.stdout and "1 polled" in result.stdout
    assert rows(db, "SELECT count(*) FROM cycles") == [(2,)]
