"""At scale, with real processes: a Prefect server on PostgreSQL, a process work pool, the
deployments of prefect-scale.yaml, and TWO `prefect worker start` processes, against the demo
newsroom on 127.0.0.1, with the warehouse as DuckLake (a lake file: PostgreSQL and Parquet).

- two shards started at the same time run on the two workers and store what one unsharded cycle
  stores (articles, stories, alerts), while a reader queries the warehouse without an error;
- a worker killed (SIGKILL, its flow run with it) in the middle of a cycle, then a re-run: every
  article once, every alert once;
- the digest, triggered twice at the same time, goes out once.

One server and its workers serve the whole file (module fixture); each test has its own
lake (its own PostgreSQL database and data folder), passed as the runs' parameters.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest


from newswatch.demo.server import DemoNewsroom
from newswatch.fetch import FetchSettings
from newswatch.pipeline import run_cycle
from newswatch.shards import Shard
from newswatch.localpg import LocalPostgres
from warehouse.connection import NoWarehouse, connect
from warehouse.lake import write_lake_file

from .conftest import FAST_GAP, rows
from .processes import (PREFECT, PROJECT_DIR, TERMINAL, flow_run_logs, free_port, kill_marked, marked,
                        run_command, start, stop_group, wait_healthy)
from .sharding import Outcome, outcome, split_newsroom
from .test_digest import chat_hook

pytestmark = [pytest.mark.scale, pytest.mark.timeout(900)]


@dataclass
class Cluster:
    api: str
    env: dict[str, str]
    folder: Path
    newsroom: DemoNewsroom
    opml: Path
    whole: Outcome  # what one unsharded cycle of the newsroom stores
    chat: list[dict]  # what the chat hook received (messages of immediate rules, digests)
    postgres: LocalPostgres
    workers: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start_worker(self, name: str) -> None:
        # --limit 1: a worker takes one flow run at a time, so two runs at once need both workers.
        self.workers[name] = start([PREFECT, "worker", "start", "--pool", "newswatch", "--limit", "1",
                                    "--name", f"worker-{name}"],
                                   {**self.env, "NEWSWATCH_TEST_WORKER": name}, self.folder / f"worker-{name}.log")

    def kill_worker(self, name: str) -> None:
        """SIGKILL the worker's process group and every flow-run process it started."""
        worker = self.workers.pop(name)
        os.killpg(worker.pid, signal.SIGKILL)
        kill_marked(name, "NEWSWATCH_TEST_WORKER")
        worker.wait(timeout=30)

    def trigger(self, deployment: str, **parameters: object) -> str:
        found = httpx.get(f"{self.api}/deployments/name/{deployment}", timeout=30).raise_for_status().json()
        run = httpx.post(f"{self.api}/deployments/{found['id']}/create_flow_run", json={"parameters": parameters},
                         timeout=30).raise_for_status().json()
        return run["id"]

    def flow_run(self, run_id: str) -> dict:
        return httpx.get(f"{self.api}/flow_runs/{run_id}", timeout=30).raise_for_status().json()

    def wait(self, run_id: str, timeout: float = 400) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.flow_run(run_id)
            if (run.get("state") or {}).get("type") in TERMINAL:
                return run
            time.sleep(1)
        raise AssertionError(f"flow run {run_id} not finished after {timeout:.0f} s\n{self.logs()}\n"
                             f"--- flow run\n{flow_run_logs(self.api, run_id)}")

    def completed(self, run_id: str, timeout: float = 400) -> dict:
        run = self.wait(run_id, timeout)
        assert run["state"]["type"] == "COMPLETED", (
            f"{run['name']}: {run['state']['type']} {run['state'].get('message')}\n"
            f"--- flow run\n{flow_run_logs(self.api, run_id)}\n{self.logs()}")
        return run

    def task_states(self, run_id: str) -> dict[str, str]:
        runs = httpx.post(f"{self.api}/task_runs/filter", json={"flow_runs": {"id": {"any_": [run_id]}}},
                          timeout=30).raise_for_status().json()
        return {r["name"].rsplit("-", 1)[0]: r["state"]["type"] for r in runs if r.get("state")}

    def worker_of(self, run_id: str) -> str | None:
        """The test worker whose flow-run process runs *run_id* now."""
        for pid in marked(run_id, "PREFECT__FLOW_RUN_ID"):
            try:
                env = dict(v.split(b"=", 1) for v in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0") if b"=" in v)
            except OSError:
                continue
            if b"NEWSWATCH_TEST_WORKER" in env:
                return env[b"NEWSWATCH_TEST_WORKER"].decode()
        return None

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in self.folder.glob("*.log"))

    def lake(self, name: str) -> Path:
        """A new, empty at-scale warehouse: its own PostgreSQL database and data folder."""
        url = self.postgres.create_database(f"{name}_{uuid.uuid4().hex[:10]}")
        folder = self.folder / f"{name}-{uuid.uuid4().hex[:6]}"
        folder.mkdir()
        return write_lake_file(folder / "lake.toml", url, "data")

    def params(self, db: Path) -> dict[str, object]:
        return {"db": str(db), "feeds": str(self.opml), "outbox": str(db.with_suffix(".outbox")), "host_gap": FAST_GAP}


@pytest.fixture(scope="module")
def cluster(postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    folder = tmp_path_factory.mktemp("scale")
    database = postgres.create_database(f"prefect_{uuid.uuid4().hex[:12]}")
    assert database
    port, marker = free_port(), uuid.uuid4().hex
    api = f"http://127.0.0.1:{port}/api"
    room = split_newsroom()
    hook, posts = chat_hook(room)
    opml = room.write_opml(folder / "feeds.opml")
    env = {
        **os.environ,
        "PREFECT_HOME": str(folder / "prefect-home"),
        "PREFECT_API_URL": api,
        "PREFECT_API_DATABASE_CONNECTION_URL": postgres.url(database.rsplit("/", 1)[1], driver="postgresql+asyncpg"),
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        # A killed holder's lease is found gone within a second (default 15 s), and a run waiting for
        # a concurrency limit asks again within a second (default: up to 30 s).
        "PREFECT_SERVER_SERVICES_REPOSSESSOR_LOOP_SECONDS": "1",
        "PREFECT_SERVER_CONCURRENCY_MAXIMUM_CONCURRENCY_SLOT_WAIT_SECONDS": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_DIR), os.environ.get("PYTHONPATH")])),
        "NEWSWATCH_PROJECT_DIR": str(PROJECT_DIR),
        "NEWSWATCH_APPRISE_URLS": hook,
        "NEWSWATCH_TEST_MARKER": marker,
    }
    env.pop("PREFECT_PROFILE", None)
    server = start([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env, folder / "server.log")
    try:
        whole = folder / "whole.duckdb"  # while the server starts
        run_cycle(whole, room.feeds(), FetchSettings(min_gap=FAST_GAP), progress=lambda *a: None,
                  outbox=folder / "whole-outbox")
    except BaseException:
        stop_group(server)
        raise
    c = Cluster(api, env, folder, room, opml, outcome(whole), posts, postgres)
    try:
        wait_healthy(api, server, folder / "server.log", timeout=300)
        pool = run_command([PREFECT, "work-pool", "create", "newswatch", "--type", "process"], env)
        assert pool.returncode == 0, pool.stdout + pool.stderr
        deploy = run_command([PREFECT, "--no-prompt", "deploy", "--all", "--prefect-file", "prefect-scale.yaml"], env)
        assert deploy.returncode == 0 and "Traceback" not in deploy.stdout + deploy.stderr, deploy.stdout + deploy.stderr
        for name in ("a", "b"):
            c.start_worker(name)
        yield c
    finally:
        for worker in list(c.workers.values()):
            stop_group(worker)
        stop_group(server)
        kill_marked(marker)
        room.stop()


class Reader(threading.Thread):
    """Queries the warehouse read-only, as `newswatch query` does, until stopped; keeps every error."""

    def __init__(self, db: Path):
        super().__init__(daemon=True)
        self.db, self.errors, self.reads = db, [], 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                con = connect(self.db, read_only=True, wait=120)
            except NoWarehouse:  # nothing written yet: a user is told to wait for a cycle
                con = None
            except Exception as exc:  # any other error at all is recorded
                self.errors.append(f"{type(exc).__name__}: {exc}")
                con = None
            if con is not None:
                try:
                    con.execute("SELECT count(*) FROM articles").fetchall()
                    con.execute("SELECT story_id, copies, outlets FROM stories ORDER BY copies DESC LIMIT 5").fetchall()
                    con.execute("SELECT rule, story_id FROM alerts").fetchall()
                    self.reads += 1
                except Exception as exc:  # the point of the test: any error at all is recorded
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                finally:
                    con.close()
            self.done.wait(0.05)

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=150)


def test_two_shards_on_two_workers_store_what_one_cycle_stores(cluster: Cluster, tmp_path: Path) -> None:
    db = cluster.lake("sharded")
    reader = Reader(db)
    reader.start()
    try:
        runs = [cluster.trigger(f"monitor/monitor-shard-{k}", **cluster.params(db)) for k in range(2)]
        ran_on: set[str] = set()
        while not all((cluster.flow_run(r).get("state") or {}).get("type") in TERMINAL for r in runs):
            ran_on |= {w for w in map(cluster.worker_of, runs) if w}
            time.sleep(0.2)
        finished = [cluster.completed(r) for r in runs]
    finally:
        reader.stop()
    assert ran_on == {"a", "b"}, "each worker ran one shard"
    first, second = sorted(finished, key=lambda r: r["start_time"])
    assert second["start_time"] < first["end_time"], "the two shards ran at the same time"
    results = [rows(db, "SELECT feeds_polled FROM cycles WHERE cycle_id LIKE ?", [f"%-shard-{k}-of-2"]) for k in range(2)]
    feeds = [f.url for f in cluster.newsroom.feeds()]
    assert results == [[(len(Shard(k, 2).select(feeds)),)] for k in range(2)]
    assert outcome(db) == cluster.whole
    assert reader.reads > 0 and reader.errors == []


def test_a_worker_killed_mid_cycle_then_a_rerun_lose_and_double_nothing(cluster: Cluster, tmp_path: Path) -> None:
    db = cluster.lake("killed")
    feeds = [f.url for f in cluster.newsroom.feeds()]
    k = max(range(2), key=lambda i: len(Shard(i, 2).select(feeds)))  # the shard with more pages to fetch
    for server in cluster.newsroom.servers.values():
        server.latency = 0.3  # pages come slowly: the fetch stage lasts long enough to be cut
    try:
        run_id = cluster.trigger(f"monitor/monitor-shard-{k}", **cluster.params(db))
        deadline = time.monotonic() + 300
        while cluster.task_states(run_id).get("fetch-pages") != "RUNNING":
            assert time.monotonic() < deadline, f"the fetch stage never ran\n{flow_run_logs(cluster.api, run_id)}"
            assert (cluster.flow_run(run_id).get("state") or {}).get("type") not in TERMINAL, "the run ended first"
            time.sleep(0.1)
        time.sleep(1.0)
        victim = cluster.worker_of(run_id)
        assert victim is not None
        cluster.kill_worker(victim)
    finally:
        for server in cluster.newsroom.servers.values():
            server.latency = 0.0
    assert cluster.task_states(run_id).get("fetch-pages") == "RUNNING"  # cut in the middle, not after
    # Nobody is left to report the run: mark it crashed, as Prefect's automation for runs whose
    # heartbeat stopped does; that frees the deployment's slot (the shard's lock). The fetch stage
    # holds no other lock.
    state = httpx.post(f"{cluster.api}/flow_runs/{run_id}/set_state",
                       json={"state": {"type": "CRASHED", "name": "Crashed", "message": "worker killed"}},
                       timeout=30).raise_for_status().json()
    assert state["status"] == "ACCEPT", state
    cluster.start_worker(victim)

    again = cluster.trigger(f"monitor/monitor-shard-{k}", **cluster.params(db))
    other = cluster.trigger(f"monitor/monitor-shard-{1 - k}", **cluster.params(db))
    for run in (again, other):
        cluster.completed(run)
    assert outcome(db) == cluster.whole  # every article once, every story and alert once
    assert rows(db, "SELECT count(*) FROM entry WHERE status NOT IN ('stored', 'failed')") == [(0,)]


def test_the_digest_triggered_twice_at_once_goes_out_once(cluster: Cluster, tmp_path: Path) -> None:
    db = cluster.lake("digest")
    run_cycle(db, cluster.newsroom.feeds(), FetchSettings(min_gap=FAST_GAP), progress=lambda *a: None,
              outbox=tmp_path / "alerts-outbox")
    alerts = rows(db, "SELECT count(*) FROM alerts")[0][0]
    assert alerts > 0
    outbox = tmp_path / "digest-outbox"
    posts_before = len(cluster.chat)
    runs = [cluster.trigger("digest/digest", db=str(db), outbox=str(outbox)) for _ in range(2)]
    states = sorted(cluster.wait(r)["state"]["type"] for r in runs)
    assert "COMPLETED" in states and set(states) <= {"COMPLETED", "CANCELLED"}, states
    assert rows(db, "SELECT count(*), count(sent_at) FROM digest") == [(1, 1)]
    assert rows(db, "SELECT count(*) FROM alerts WHERE delivered_at IS NULL") == [(0,)]
    assert sorted(p.suffix for p in outbox.iterdir()) == [".html", ".md", ".txt"]
    assert len(cluster.chat) - posts_before == 1
