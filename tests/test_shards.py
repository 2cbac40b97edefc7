"""Shards: a stable assignment of feeds, and sharded cycles that together do what one cycle does
(plain functions and the CLI's parsing; the same over a Prefect server in test_scale_prefect.py)."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from newswatch.fetch import FetchSettings
from newswatch.pipeline import CycleBusy, cycle_lock, fetch_stage, poll_stage, run_cycle, serial_lock
from newswatch.shards import Shard, parse_shard, shard_from, shard_of, stable_hash

from .conftest import FAST_GAP, rows
from .sharding import outcome, split_newsroom

URLS = [f"https://outlet-{i}.example/{kind}.xml" for i in range(300) for kind in ("rss", "atom")]


def test_the_assignment_is_the_same_in_another_process_whatever_its_hash_seed() -> None:
    code = ("import sys; from newswatch.shards import shard_of; "
            "print(' '.join(str(shard_of(u, 7)) for u in sys.argv[1:]))")
    env = {**os.environ, "PYTHONHASHSEED": "12345",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, "-c", code, *URLS[:50]], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == [str(shard_of(u, 7)) for u in URLS[:50]]
    assert len({hash(u) for u in URLS[:50]}) == 50  # (Python's own hash differs per process: not used)


def test_every_feed_has_exactly_one_shard_and_the_shards_are_about_even() -> None:
    for n in (1, 2, 3, 8):
        shards = [Shard(k, n) for k in range(n)]
        owners = [[s for s in shards if s.owns(u)] for u in URLS]
        assert all(len(o) == 1 for o in owners)
        sizes = Counter(o[0].index for o in owners)
        assert len(sizes) == n and min(sizes.values()) >= len(URLS) / n * 0.75, sizes
        assert sorted(u for s in shards for u in s.select(URLS)) == sorted(URLS)
    assert stable_hash("a") != stable_hash("b") and 0 <= stable_hash("a") < 2 ** 64


@pytest.mark.parametrize("text, shard", [("0/2", Shard(0, 2)), ("1/2", Shard(1, 2)), (" 3 / 4 ", Shard(3, 4))])
def test_a_shard_is_written_k_of_n(text: str, shard: Shard) -> None:
    assert parse_shard(text) == shard and parse_shard(str(shard)) == shard


@pytest.mark.parametrize("text", ["2/2", "1", "a/b", "-1/2", "0/0", "1/2/3"])
def test_a_shard_that_cannot_be_says_so(text: str) -> None:
    with pytest.raises(ValueError, match="K/N"):
        parse_shard(text)


def test_the_flow_parameters_need_both_shard_and_shards() -> None:
    assert shard_from(None, None) is None and shard_from(1, 3) == Shard(1, 3)
    with pytest.raises(ValueError, match="both"):
        shard_from(1, None)
    with pytest.raises(ValueError):
        shard_of("https://a.example/feed", 0)


def test_a_shard_fetches_only_the_entries_of_its_own_feeds(tmp_path: Path) -> None:
    room = split_newsroom()
    try:
        db = tmp_path / "w.duckdb"
        poll_stage(db, room.feeds(), FetchSettings(min_gap=FAST_GAP))
        feeds = rows(db, "SELECT feed_url, count(*) FROM entry GROUP BY feed_url")
        mine = {url for url, _ in feeds if Shard(0, 2).owns(url)}
        report = fetch_stage(db, FetchSettings(min_gap=FAST_GAP), shard=Shard(0, 2))
        status = rows(db, "SELECT feed_url, status FROM entry")
        assert report.extracted == sum(n for url, n in feeds if url in mine) > 0
        assert all((s != "pending") == (url in mine) for url, s in status), status
    finally:
        room.stop()


def test_two_shards_at_the_same_time_store_what_one_cycle_stores(tmp_path: Path) -> None:
    room = split_newsroom()
    try:
        whole, sharded = tmp_path / "whole.duckdb", tmp_path / "sharded.duckdb"
        quiet = dict(progress=lambda *a: None, outbox=tmp_path / "outbox")
        run_cycle(whole, room.feeds(), FetchSettings(min_gap=FAST_GAP), **quiet)
        # Two processes, as two workers would be (one process's threads would share one DuckDB instance).
        with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(run_cycle, sharded, room.feeds(), FetchSettings(min_gap=FAST_GAP),
                                   outbox=tmp_path / "outbox", shard=Shard(k, 2)) for k in range(2)]
            summaries = [f.result(timeout=300) for f in futures]
        polled = sorted(f for k in range(2) for f in Shard(k, 2).select(f.url for f in room.feeds()))
        assert sorted(f.url for f in room.feeds()) == polled
        assert [summaries[k].poll.feeds_polled for k in range(2)] == [len(Shard(k, 2).select(
            f.url for f in room.feeds())) for k in range(2)]
        assert outcome(sharded) == outcome(whole)
        assert len(outcome(whole).alerts) > 0 and len(outcome(whole).stories) < len(outcome(whole).articles)
        assert rows(sharded, "SELECT count(*) FROM cycles") == [(2,)]
        first, second = sorted(summaries, key=lambda c: c.started_at)
        assert second.started_at < first.finished_at, "the shards ran side by side"
    finally:
        room.stop()


def test_a_second_run_of_the_same_shard_stops_but_another_shard_runs(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with cycle_lock(db, Shard(0, 2)):
        with pytest.raises(CycleBusy, match="shard 0/2"):
            with cycle_lock(db, Shard(0, 2)):
                pass
        with cycle_lock(db, Shard(1, 2)):
            pass


@pytest.mark.parametrize("args, message", [(["--shard", "2/2"], "no shard 2/2"), (["--shard", "half"], "K/N")])
def test_run_with_a_shard_that_cannot_be_says_so_in_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = subprocess.run([sys.executable, "-m", "newswatch.cli", "run", "--db", str(tmp_path / "w.duckdb"), *args],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "w.duckdb").exists()


def test_nothing_to_do_for_a_shard_looks_only_at_its_own_feeds(tmp_path: Path) -> None:
    room = split_newsroom()
    try:
        db, opml = tmp_path / "w.duckdb", room.write_opml(tmp_path / "feeds.opml")
        run_cycle(db, room.feeds(), FetchSettings(min_gap=FAST_GAP), progress=lambda *a: None,
                  outbox=tmp_path / "outbox", shard=Shard(0, 2))
        result = subprocess.run([sys.executable, "-m", "newswatch.cli", "run", "--db", str(db), "--feeds", str(opml),
                                 "--shard", "0/2"], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0 and "Nothing to do" in result.stdout, result.stdout + result.stderr
    finally:
        room.stop()


def test_a_serial_lock_makes_the_second_holder_wait_for_the_first(tmp_path: Path) -> None:
    db, order = tmp_path / "w.duckdb", []
    second_tried = threading.Event()

    def second() -> None:
        second_tried.set()
        with serial_lock(db, "store"):
            order.append("second in")

    with serial_lock(db, "store"):
        waiter = threading.Thread(target=second)
        waiter.start()
        second_tried.wait(10)
        waiter.join(timeout=0.5)
        assert waiter.is_alive(), "the second holder got in while the first held the lock"
        order.append("first out")
    waiter.join(timeout=10)
    assert order == ["first out", "second in"]
    with serial_lock(db, "send"):  # another lock's name is another lock
        with serial_lock(db, "store"):
            pass
