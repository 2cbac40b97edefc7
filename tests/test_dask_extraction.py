"""Extraction on a Dask cluster (the at-scale mode): a real scheduler and two worker processes on 127.0.0.1."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from newswatch.demo.server import DemoNewsroom
from newswatch.fetch import FetchSettings
from newswatch.pipeline import run_cycle
from tests.conftest import FAST_GAP, rows

pytestmark = pytest.mark.scale

FAST = FetchSettings(min_gap=FAST_GAP, retries=0)


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    """A Dask scheduler with two worker processes (one thread each) on 127.0.0.1."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as c:
        yield c


@pytest.fixture
def client(cluster) -> Iterator[object]:
    from distributed import Client

    with Client(cluster.scheduler_address, set_as_default=False) as c:
        yield c


def articles(db: Path) -> list[tuple]:
    """What a cycle stored, without the newsroom's port (it differs between newsrooms)."""
    found = rows(db, "SELECT url, title, method, language, relevant, md5(text), story_id = article_id "
                     "FROM articles ORDER BY url")
    return [(url.split("/", 3)[-1], *rest) for url, *rest in found]


def batches_run(client) -> int:
    """How many extraction batches the scheduler has run (finished tasks of run_batch)."""
    def count(dask_scheduler) -> int:
        prefix = dask_scheduler.task_prefixes.get("run_batch")
        return 0 if prefix is None else sum(prefix.state_counts.get(s, 0) for s in ("memory", "released", "forgotten"))
    return client.run_on_scheduler(count)


def test_a_cycle_with_extraction_on_dask_stores_what_the_local_path_stores(
        cluster, client, newsroom: DemoNewsroom, tmp_path: Path) -> None:
    before = batches_run(client)
    local = run_cycle(tmp_path / "local.duckdb", newsroom.feeds(), FAST, progress=lambda *a: None, force=True)
    on_dask = run_cycle(tmp_path / "dask.duckdb", newsroom.feeds(), FetchSettings(
        min_gap=FAST_GAP, retries=0, dask=cluster.scheduler_address), progress=lambda *a: None, force=True)
    pages = len(newsroom.index["pages"])
    assert on_dask.fetch.extracted == local.fetch.extracted == pages
    # Every page went to the cluster, in batches of at most 25 (never one task per page).
    assert batches_run(client) - before >= -(-pages // 25)
    assert batches_run(client) - before < pages
    stored = articles(tmp_path / "local.duckdb")
    assert stored and articles(tmp_path / "dask.duckdb") == stored
    assert on_dask.store.articles_stored == local.store.articles_stored


def test_an_unreachable_scheduler_is_one_plain_warning_and_extraction_here(
        newsroom: DemoNewsroom, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    with caplog.at_level(logging.WARNING, logger="newswatch"):
        summary = run_cycle(tmp_path / "w.duckdb", newsroom.feeds(), FetchSettings(
            min_gap=FAST_GAP, retries=0, dask=address), progress=lambda *a: None, force=True)
    assert summary.fetch.extracted == len(newsroom.index["pages"])
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("newswatch")]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert message == f"cannot reach the Dask scheduler at {address}: Timed out trying to connect to {address} " \
                      f"after 5 s; extracting on this machine instead"
    assert warnings[0].exc_info is None and "Traceback" not in message


# -- a worker dying mid-batch ---------------------------------------------------------------


def note_or_die(folder: str, n: int, doomed: int) -> int:
    """Runs on a worker: records the call, and the first time it sees page *doomed*, kills its worker."""
    Path(folder, f"call-{n}-{os.getpid()}-{time.monotonic_ns()}").touch()
    marker = Path(folder, "died")
    if n == doomed and not marker.exists():
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return n * n


def test_a_worker_killed_mid_batch_loses_and_doubles_no_page(client, tmp_path: Path) -> None:
    from newswatch.daskpool import BatchExecutor

    pages, doomed = 60, 37
    pool = BatchExecutor(client, batch=25, close_client=False)
    with pool:
        futures = [pool.submit(note_or_die, str(tmp_path), n, doomed) for n in range(pages)]
        results = [f.result(timeout=120) for f in futures]
    assert results == [n * n for n in range(pages)]  # each page once, in its place
    assert (tmp_path / "died").exists()
    calls: dict[int, int] = {}
    for p in tmp_path.glob("call-*"):
        n = int(p.name.split("-")[1])
        calls[n] = calls.get(n, 0) + 1
    # The batch holding the doomed page (pages 25-49) ran twice: once on the worker that died
    # (up to the doomed page), then whole on another; every other batch ran once.
    assert {n for n, c in calls.items() if c == 2} == set(range(25, doomed + 1))
    assert set(calls) == set(range(pages)) and max(calls.values()) == 2
    assert pool.batches_sent == 3 and pool.batches_local == 0


def test_large_pages_make_smaller_batches(client) -> None:
    from newswatch.daskpool import BatchExecutor

    page = b"x" * 3_000_000
    with BatchExecutor(client, batch=25, batch_bytes=8_000_000, close_client=False) as pool:
        futures = [pool.submit(len, page) for _ in range(7)]
        assert [f.result(timeout=120) for f in futures] == [len(page)] * 7
    assert pool.batches_sent == 3  # 3 pages (9 MB), 3 pages, and the last one after the linger


def die_on_workers(parent: int, n: int) -> int:
    """Kills any Dask worker that runs it; returns *n* when run in the process *parent*."""
    if os.getpid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)
    return n


def test_a_batch_the_cluster_gives_up_on_is_extracted_here(cluster, client, caplog) -> None:
    from newswatch.daskpool import BatchExecutor

    allowed = cluster.scheduler.allowed_failures
    cluster.scheduler.allowed_failures = 0  # give up after the first dead worker (default 3: slow)
    try:
        with caplog.at_level(logging.WARNING, logger="newswatch"), \
                BatchExecutor(client, batch=5, close_client=False) as pool:
            futures = [pool.submit(die_on_workers, os.getpid(), n) for n in range(5)]
            assert [f.result(timeout=120) for f in futures] == list(range(5))
        assert pool.batches_local == 1
        warnings = [r.getMessage() for r in caplog.records
                    if r.levelno >= logging.WARNING and r.name.startswith("newswatch")]
        assert warnings == ["The Dask cluster could not extract a batch of 5 pages (every worker that ran it died); "
                            "extracting them here"]
    finally:
        cluster.scheduler.allowed_failures = allowed
    client.wait_for_workers(2, timeout=60)  # the nanny restarts the dead worker


def test_the_default_path_imports_no_dask() -> None:
    code = ("import sys, newswatch.pipeline, flows.monitor, newswatch.cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"


def test_the_dask_address_comes_from_the_flag_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from newswatch import settings

    monkeypatch.delenv("NEWSWATCH_DASK", raising=False)
    assert settings.dask_address() is None
    monkeypatch.setenv("NEWSWATCH_DASK", " tcp://10.1.2.3:8786 ")
    assert settings.dask_address() == "tcp://10.1.2.3:8786"
    assert settings.dask_address("tcp://127.0.0.1:9999") == "tcp://127.0.0.1:9999"
    monkeypatch.setenv("NEWSWATCH_DASK", "")
    assert settings.dask_address() is None


def test_run_takes_a_dask_address(capsys: pytest.CaptureFixture[str]) -> None:
    from newswatch.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["run", "--help"])
    assert exit_.value.code == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert "--dask ADDRESS" in shown and "NEWSWATCH_DASK" in shown


def test_the_dask_extraction_benchmark_runs(tmp_path: Path) -> None:
    """bench/dask_extraction.py at a tiny size (no timing asserted; it checks every way's texts itself)."""
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, str(root / "bench" / "dask_extraction.py"), "--pages", "4", "--workers", "2",
                          "--repeat", "1", "--no-prefect"], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(root), "PREFECT_HOME": str(tmp_path / "prefect")})
    assert out.returncode == 0, out.stderr[-3000:]
    ways = [line.split("|")[1].strip() for line in out.stdout.splitlines() if line.startswith("| ") and "way" not in line]
    assert ways == ["one process", "local pool (2 processes)", "Dask, batches of 25 (2 workers)",
                    "Dask, one task per page (2 workers)"]
