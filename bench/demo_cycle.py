"""End-to-end figures on the demo newsroom: articles, stories and seconds.

    .venv/bin/python bench/demo_cycle.py [--host-gap 0.2] [--repeat 3]

Runs a cold cycle (empty warehouse) and a warm cycle (nothing changed) with
the plain stage functions, several times, and prints the medians. Writes the
figures to bench/results/demo_cycle.json (or --json).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newswatch.demo.server import DemoNewsroom  # noqa: E402
from newswatch.fetch import FetchSettings  # noqa: E402
from newswatch.pipeline import run_cycle  # noqa: E402


def one_round(gap: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp, DemoNewsroom() as room:
        db = Path(tmp) / "bench.duckdb"
        settings = FetchSettings(min_gap=gap)
        quiet = lambda *a: None  # noqa: E731
        t0 = time.perf_counter()
        cold = run_cycle(db, room.feeds(), settings, progress=quiet)
        t1 = time.perf_counter()
        warm = run_cycle(db, room.feeds(), settings, progress=quiet, force=True)
        t2 = time.perf_counter()
        con = duckdb.connect(str(db), read_only=True)
        articles, relevant, stories = con.execute(
            "SELECT count(*), count(*) FILTER (relevant), count(DISTINCT story_id) FROM articles"
        ).fetchone()
        con.close()
        return {
            "articles": articles, "relevant": relevant, "stories": stories,
            "cold_seconds": t1 - t0, "warm_seconds": t2 - t1,
            "cold_bytes": cold.poll.bytes_received + cold.fetch.bytes_received,
            "warm_bytes": warm.poll.bytes_received + warm.fetch.bytes_received,
            "cold_requests": cold.poll.requests + cold.fetch.requests,
            "warm_requests": warm.poll.requests + warm.fetch.requests,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host-gap", type=float, default=0.2, help="politeness gap per host (default 0.2 s)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; medians are reported (default 3)")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "demo_cycle.json",
                        help="where to write the figures")
    args = parser.parse_args()
    rounds = []
    for i in range(args.repeat):
        rounds.append(one_round(args.host_gap))
        print(f"round {i + 1}/{args.repeat}: cold {rounds[-1]['cold_seconds']:.2f}s, warm {rounds[-1]['warm_seconds']:.2f}s",
              file=sys.stderr)
    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    rows = [
        ("articles stored (incl. 5 seeds)", f"{med['articles']:.0f}"),
        ("relevant articles", f"{med['relevant']:.0f}"),
        ("stories", f"{med['stories']:.0f}"),
        ("cold cycle, seconds", f"{med['cold_seconds']:.2f}"),
        ("cold cycle, requests / bytes", f"{med['cold_requests']:.0f} / {med['cold_bytes']:,.0f}"),
        ("warm cycle, seconds", f"{med['warm_seconds']:.2f}"),
        ("warm cycle, requests / bytes", f"{med['warm_requests']:.0f} / {med['warm_bytes']:,.0f}"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"demo newsroom, host gap {args.host_gap}s, median of {args.repeat}, {platform.machine()} "
          f"{platform.python_version()}")
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"host_gap": args.host_gap, "rounds": rounds, "median": med}, indent=1))


if __name__ == "__main__":
    main()
