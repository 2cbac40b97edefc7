"""Whole-command wall time of the one-shot commands, with nothing for them to do.

    .venv/bin/python bench/commands.py [--repeat 5] [--json FILE]

Builds a small warehouse first: one cycle on the demo newsroom (plain stage
functions, no Prefect) and one digest, so that no feed is due, no alert is
pending and no feed is in trouble. Then it runs each command as a new
process would, ``python -m newswatch.cli …`` from this project folder, once
to warm the disk cache and Prefect's home, then ``--repeat`` times, and
prints the median and the longest run of each against the 2-second target:

- ``run`` with no feed due (the seeds already loaded),
- ``digest`` with nothing pending,
- ``query``, ``search`` and ``feeds``.

Each process gets a private PREFECT_HOME in a temporary folder and no
PREFECT_API_URL, as on a user's machine without a Prefect server of its own.
Writes the figures to bench/results/commands.json (or --json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newswatch.demo.server import DemoNewsroom  # noqa: E402
from newswatch.digest import deliver_digest  # noqa: E402
from newswatch.fetch import FetchSettings  # noqa: E402
from newswatch.opml import write_opml  # noqa: E402
from newswatch.pipeline import run_cycle  # noqa: E402

TARGET = 2.0  # seconds, whole process


def build_warehouse(folder: Path) -> tuple[Path, Path, Path]:
    """A warehouse after one demo cycle and one digest; returns (warehouse, feed list, outbox)."""
    db, opml, outbox = folder / "bench.duckdb", folder / "feeds.opml", folder / "outbox"
    with DemoNewsroom() as room:
        write_opml(opml, "demo newsroom", room.feeds())
        run_cycle(db, room.feeds(), FetchSettings(min_gap=0.02), progress=lambda *a: None)
    deliver_digest(db, outbox)  # the cycle's alerts go out: nothing is left pending
    return db, opml, outbox


def commands(db: Path, opml: Path, outbox: Path) -> dict[str, list[str]]:
    where = ["--db", str(db)]
    return {
        "run (no feed due)": ["run", "--feeds", str(opml), *where],
        "digest (nothing pending)": ["digest", "--outbox", str(outbox), *where],
        "query": ["query", "SELECT story_id, copies, outlets FROM stories ORDER BY copies DESC LIMIT 10", *where],
        "search": ["search", "拉致被害者", *where],
        "feeds": ["feeds", *where],
    }


def timed(args: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "newswatch.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    return time.perf_counter() - started, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each command (default 5)")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "commands.json",
                        help="where to write the figures")
    parser.add_argument("--only", nargs="+", metavar="COMMAND", choices=["run", "digest", "query", "search", "feeds"],
                        help="measure only these commands (default: all five)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="newswatch-bench-commands-") as tmp:
        folder = Path(tmp)
        print("Building a warehouse: one cycle on the demo newsroom and one digest…", file=sys.stderr, flush=True)
        db, opml, outbox = build_warehouse(folder)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "NEWSWATCH_"))}
        env.update(PREFECT_HOME=str(folder / "prefect"), PYTHONPATH=str(ROOT))
        results = {}
        for name, argv in commands(db, opml, outbox).items():
            if args.only and argv[0] not in args.only:
                continue
            _, first = timed(argv, env)  # warm-up, untimed
            if first.returncode != 0:
                sys.exit(f"{name} failed (exit {first.returncode}):\n{first.stdout}{first.stderr}")
            times = [timed(argv, env)[0] for _ in range(args.repeat)]
            results[name] = {"median": statistics.median(times), "max": max(times), "runs": times,
                             "answer": (first.stdout.strip() or first.stderr.strip()).splitlines()[-1][:100]}
            print(f"  {name}: median {results[name]['median']:.2f}s", file=sys.stderr, flush=True)
    width = max(len(n) for n in results)
    print(f"One-shot commands, whole process, {args.repeat} runs each after one warm-up; "
          f"{platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} cores")
    print(f"  {'command':<{width}}  {'median':>7}  {'max':>7}  target {TARGET:g} s")
    for name, r in results.items():
        met = "met" if r["max"] < TARGET else "not met"
        print(f"  {name:<{width}}  {r['median']:>6.2f}s  {r['max']:>6.2f}s  {met}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"target_seconds": TARGET, "repeat": args.repeat, "commands": results},
                                    indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
