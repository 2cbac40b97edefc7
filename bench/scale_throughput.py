"""Cycle throughput with 1 worker and with 2 workers (2 shards) over one synthetic web.

    python bench/scale_throughput.py [--articles 600] [--hosts 30] [--latency 0.05] [--gap 0.1]
                                     [--warehouse file,lake]

Each configuration starts from an empty warehouse: one process runs the whole cycle, or two
processes run shard 0/2 and 1/2 of it at the same time on the same warehouse, as two workers
would (the story decision, alerts and sending one shard at a time, under the serial locks).
The warehouse is a DuckDB file, or the lake (a throwaway local PostgreSQL and DuckLake on a
temporary folder), or both, one after the other.
Prints a table: wall time from the first start to the last exit, articles stored, articles per
second, CPU seconds of the processes, and the machine's load average while it ran.

The processes run the cycle's plain functions (pipeline.run_cycle), without Prefect: on one
machine, a Prefect worker adds the same start-up to every flow run, whatever the shard count.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def worker(feeds: str, db: str, gap: float, shard: str | None) -> None:
    """One worker's cycle (a child process); prints its counts as one JSON line."""
    from newswatch.fetch import FetchSettings
    from newswatch.opml import read_opml
    from newswatch.pipeline import run_cycle
    from newswatch.shards import parse_shard

    t0 = time.perf_counter()
    s = run_cycle(Path(db), read_opml(feeds), FetchSettings(min_gap=gap), progress=lambda *a: None,
                  outbox=Path(db).with_suffix(".outbox"), shard=parse_shard(shard) if shard else None)
    print(json.dumps({"stored": s.store.articles_stored, "fetched": s.fetch.pages_fetched,
                      "feeds": s.poll.feeds_polled, "seconds": time.perf_counter() - t0}))


def run_config(opml: Path, db: Path, gap: float, shards: int, env: dict[str, str]) -> dict:
    """*shards* worker processes at once (1: one unsharded cycle); wall time, CPU, counts."""
    parts = [None] if shards == 1 else [f"{k}/{shards}" for k in range(shards)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, __file__, "--worker", str(opml), str(db), str(gap), *([p] if p else [])],
                              stdout=subprocess.PIPE, text=True, env=env) for p in parts]
    results = []
    for p in procs:
        out, _ = p.communicate(timeout=3600)
        if p.returncode != 0:
            raise SystemExit(f"a worker failed (exit {p.returncode})")
        results.append(json.loads(out.strip().splitlines()[-1]))
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    stored = sum(r["stored"] for r in results)
    return {"workers": shards, "wall": wall, "cpu": cpu, "stored": stored, "per_second": stored / wall,
            "load_before": load, "load_after": os.getloadavg()[0], "workers_seconds": [r["seconds"] for r in results]}


@contextmanager
def warehouse(kind: str, folder: Path) -> Iterator[Path]:
    """An empty warehouse of *kind*: a DuckDB file, or a lake on a throwaway PostgreSQL."""
    folder.mkdir(parents=True)
    if kind == "file":
        yield folder / "warehouse.duckdb"
        return
    if kind != "lake":
        raise SystemExit(f"--warehouse: {kind!r} is neither file nor lake")
    from newswatch.localpg import LocalPostgres
    from warehouse.lake import write_lake_file

    with LocalPostgres() as pg:
        yield write_lake_file(folder / "lake.toml", pg.create_database("newswatch"), "data")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=600, help="articles on the web (default 600)")
    parser.add_argument("--hosts", type=int, default=30, help="hosts, 5 feeds each (default 30)")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request (default 0.05)")
    parser.add_argument("--gap", type=float, default=0.1, help="politeness gap per host (default 0.1 s)")
    parser.add_argument("--warehouse", default="file,lake",
                        help="which warehouses: file (DuckDB), lake (PostgreSQL + DuckLake), or both (default)")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        feeds, db, gap, *shard = args.worker
        worker(feeds, db, float(gap), shard[0] if shard else None)
        return

    from bench.synthetic import SyntheticWeb

    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    with SyntheticWeb.served(args.hosts, args.articles, args.latency) as (_, tmp, opml, resolving):
        env = {**os.environ, **resolving}
        rows = []
        for kind in args.warehouse.split(","):
            for shards in (1, 2):
                say(f"{kind}: {shards} worker{'s' if shards > 1 else ''} …")
                with warehouse(kind, tmp / f"{kind}-{shards}") as db:
                    rows.append({"warehouse": kind, **run_config(opml, db, args.gap, shards, env)})
    print(f"{os.cpu_count()} cores; {args.articles} articles on {args.hosts} hosts ({args.hosts * 5} feeds), "
          f"latency {args.latency} s, gap {args.gap} s")
    print("| warehouse | workers | wall s | articles stored | articles/s | CPU s | load average before → after |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['warehouse']} | {r['workers']} | {r['wall']:.1f} | {r['stored']} | {r['per_second']:.1f} | {r['cpu']:.1f} "
              f"| {r['load_before']:.1f} → {r['load_after']:.1f} |")


if __name__ == "__main__":
    main()
