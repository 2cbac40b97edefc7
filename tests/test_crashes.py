"""Processes killed with SIGKILL at each stage, then run again: every article once,
every alert once, every alert delivered in exactly one digest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newswatch.demo.server import DemoNewsroom
from newswatch.digest import deliver_digest
from newswatch.fetch import FetchSettings
from newswatch.pipeline import run_cycle

from .conftest import rows
from .test_digest import Inbox, inbox, smtp_port, smtp_server, smtp_settings  # noqa: F401 - fixtures

CRASH = Path(__file__).with_name("crash.py")


def killed(*args: str) -> None:
    done = subprocess.run([sys.executable, str(CRASH), *map(str, args)], capture_output=True, text=True, timeout=300)
    assert done.returncode == -signal.SIGKILL, f"exit {done.returncode}: {done.stderr[-2000:]}"


def contents(db: Path, room: DemoNewsroom) -> tuple[list, list]:
    """Articles and alerts, with each outlet's address replaced by its name (ports differ between runs)."""
    def name(url: str) -> str:
        for outlet, srv in room.servers.items():
            url = url.replace(srv.base_url, f"<{outlet}>")
        return url

    articles = sorted((name(u), rel, story) for u, rel, story in
                      rows(db, "SELECT canonical_url, relevant, story_id IS NOT NULL FROM article"))
    alerts = sorted((rule, name(u)) for rule, u in
                    rows(db, "SELECT a.rule, s.canonical_url FROM alert a JOIN article s ON s.article_id = a.story_id"))
    return articles, alerts


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[list, list]:
    """What one uninterrupted cycle stores: the articles and the alerts."""
    db = tmp_path_factory.mktemp("reference") / "w.duckdb"
    with DemoNewsroom() as room:
        run_cycle(db, room.feeds(), FetchSettings(min_gap=0.01), progress=lambda *a: None)
        return contents(db, room)


@pytest.mark.parametrize("point", ["after-poll", "mid-fetch", "mid-append", "before-alerts"])
def test_a_cycle_killed_and_rerun_stores_everything_once(point: str, newsroom: DemoNewsroom, db: Path, tmp_path: Path,
                                                        reference: tuple[list, list]) -> None:
    feeds = newsroom.write_opml(tmp_path / "feeds.opml")
    killed("cycle", point, db, feeds)
    run_cycle(db, newsroom.feeds(), FetchSettings(min_gap=0.01), progress=lambda *a: None)
    articles, alerts = contents(db, newsroom)
    assert articles == reference[0]
    assert alerts == reference[1] and len(set(alerts)) == len(alerts)
    # Every relevant article is searchable, and the index covers every document.
    relevant = rows(db, "SELECT count(*) FROM article WHERE relevant")[0][0]
    assert rows(db, "SELECT count(*) FROM article_search")[0][0] == relevant
    assert rows(db, "SELECT count(*) FROM fts_main_article_search.docs")[0][0] == relevant
    # A further cycle finds nothing new and changes nothing.
    run_cycle(db, newsroom.feeds(), FetchSettings(min_gap=0.01), progress=lambda *a: None, force=True)
    assert contents(db, newsroom) == (articles, alerts)


@pytest.mark.parametrize("point", ["before-send", "after-send"])
def test_a_digest_killed_and_rerun_delivers_every_alert_once(point: str, newsroom: DemoNewsroom, db: Path, tmp_path: Path,
                                                            smtp_server, inbox: Inbox, smtp_port: int) -> None:
    run_cycle(db, newsroom.feeds(), FetchSettings(min_gap=0.01), progress=lambda *a: None)
    total = rows(db, "SELECT count(*) FROM alert")[0][0]
    killed("digest", point, db, tmp_path / "outbox", smtp_port)
    assert len(inbox.messages) == (1 if point == "after-send" else 0)

    result = deliver_digest(db, tmp_path / "outbox", smtp_settings(smtp_port))
    assert result.status == "sent" and result.alerts == total
    assert rows(db, "SELECT count(*) FROM alerts WHERE delivered_at IS NULL") == [(0,)]
    # Each alert belongs to exactly one digest; a resent digest is the same message.
    assert rows(db, "SELECT count(DISTINCT digest_id), count(*) FROM alert") == [(1, total)]
    assert len({m["Message-ID"] for m in inbox.messages}) == 1
    assert deliver_digest(db, tmp_path / "outbox", smtp_settings(smtp_port)).status == "empty"


def test_storing_in_small_batches_finds_the_same_stories(newsroom: DemoNewsroom, db: Path,
                                                          reference: tuple[list, list]) -> None:
    from newswatch.pipeline import alert_stage, fetch_stage, load_seeds_stage, poll_stage, store_stage

    load_seeds_stage(db)
    poll_stage(db, newsroom.feeds(), FetchSettings(min_gap=0.01), lambda *a: None)
    fetch_stage(db, FetchSettings(min_gap=0.01), progress=lambda *a: None)
    report = store_stage(db, batch=4)  # copies of one story land in different batches
    alert_stage(db)
    assert report.articles_stored == len(reference[0]) - 5
    assert contents(db, newsroom) == reference


def test_two_cycles_at_once_one_runs_and_the_other_says_why_it_stops(newsroom: DemoNewsroom, db: Path, tmp_path: Path,
                                                                     reference: tuple[list, list]) -> None:
    from newswatch.pipeline import CycleBusy

    for srv in newsroom.servers.values():
        srv.latency = 0.05  # a cycle long enough to overlap
    feeds = newsroom.write_opml(tmp_path / "feeds.opml")
    first = subprocess.Popen([sys.executable, "-c", (
        "import sys; sys.path.insert(0, %r)\n"
        "from pathlib import Path\nfrom newswatch.fetch import FetchSettings\nfrom newswatch.opml import read_opml\n"
        "from newswatch.pipeline import run_cycle\n"
        "run_cycle(Path(%r), read_opml(%r), FetchSettings(min_gap=0.01), progress=lambda *a: None)\n"
    ) % (str(CRASH.parent.parent), str(db), str(feeds))], stderr=subprocess.PIPE, text=True)
    lock = Path(f"{db}.cycle.lock")
    deadline = time.monotonic() + 60
    while not (lock.exists() and "pid" in lock.read_text()) and time.monotonic() < deadline:
        time.sleep(0.02)
    with pytest.raises(CycleBusy, match=rf"another cycle is already running on .* \(pid {first.pid}, started"):
        run_cycle(db, newsroom.feeds(), FetchSettings(min_gap=0.01), progress=lambda *a: None)
    assert first.wait(timeout=120) == 0, first.stderr.read()[-2000:]
    assert contents(db, newsroom) == reference
    # The lock is free again, and a cycle killed while holding it does not keep it.
    killed("cycle", "after-poll", db, feeds)
    run_cycle(db, newsroom.feeds(), FetchSettings(min_gap=0.01), progress=lambda *a: None)
    assert contents(db, newsroom) == reference


def test_the_flow_skips_with_a_message_while_another_cycle_runs(prefect_api: str, newsroom: DemoNewsroom, db: Path,
                                                               tmp_path: Path) -> None:
    from flows.monitor import monitor
    from newswatch.pipeline import cycle_lock

    feeds = newsroom.write_opml(tmp_path / "feeds.opml")
    with cycle_lock(db):
        result = monitor(feeds=str(feeds), db=str(db), host_gap=0.01)
    assert list(result) == ["skipped"]
    assert result["skipped"].startswith(f"another cycle is already running on {db} (pid {os.getpid()}, started ")
    assert result["skipped"].endswith("this one stops without doing anything")
    assert not db.exists() or rows(db, "SELECT count(*) FROM article") == [(0,)]


def _limited_writes(limit: int):
    """For a child process: files may not grow beyond *limit* bytes, as on a full disk."""
    def apply() -> None:
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_a_full_disk_is_a_clear_error_and_leaves_no_partial_rows(db: Path) -> None:
    from warehouse import open_warehouse

    with open_warehouse(db):
        pass  # the schema exists; what follows must add to it
    done = subprocess.run([sys.executable, "-m", "newswatch.cli", "seed", "--db", str(db)], capture_output=True,
                          text=True, timeout=120, preexec_fn=_limited_writes(4096))
    assert done.returncode == 4, done.stderr
    assert f"newswatch: could not write {db}" in done.stderr and "is the disk full" in done.stderr
    assert "Traceback" not in done.stderr
    assert rows(db, "SELECT count(*) FROM article") == [(0,)]
    # With room again, the same command works.
    done = subprocess.run([sys.executable, "-m", "newswatch.cli", "seed", "--db", str(db)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and rows(db, "SELECT count(*) FROM article") == [(5,)]


def test_a_read_only_location_is_a_clear_error() -> None:
    done = subprocess.run([sys.executable, "-m", "newswatch.cli", "seed", "--db", "/sys/newswatch/w.duckdb"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 4, done.stderr
    assert "newswatch: permission denied: /sys/newswatch" in done.stderr
    assert "Traceback" not in done.stderr
