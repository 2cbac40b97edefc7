"""Where a cold cycle's CPU time goes: py-spy samples of every process, summed by part.

    .venv/bin/pip install py-spy        # once; the profiler is not one of newswatch's dependencies
    .venv/bin/python bench/profile_cycle.py [--articles 1000] [--hosts 40] [--raw DIR]
    .venv/bin/python bench/profile_cycle.py --read DIR     # the table again, from files kept by --raw

Serves the benchmark's synthetic web (bench/synthetic.py), runs the cold cycle
with the plain stage functions (bench/_workers.py), and attaches py-spy to the
cycle's process and to each process it starts (the extraction workers are
started by a forkserver, which ``py-spy --subprocesses`` does not follow). Each
sample is put in the part of newswatch it was taken in, by the innermost frame
of the stack that names a part: lxml's work for trafilatura counts as
extraction, the regular expressions of the topic as relevance. Imports count
as imports wherever they happen. Prints a table of CPU seconds per part (the
samples over the rate), for the cycle's own process and for the workers.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.benchmark import _tree  # noqa: E402
from bench.synthetic import SyntheticWeb  # noqa: E402

WORKERS = ROOT / "bench" / "_workers.py"

#: (part, path fragments of the frames that belong to it), innermost match wins; order breaks ties
#: within one frame. Library internals that are not listed (lxml, re, numpy, unicodedata, and the
#: rules' matching engine, which the topic uses too) count for the caller that is.
PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("extraction: trafilatura", ("trafilatura/", "justext/", "htmldate/", "courlan/", "newswatch/extract.py")),
    ("extraction: chrome removal", ("newswatch/boilerplate.py",)),
    ("extraction: text check", ("newswatch/textcheck.py",)),
    ("decoding pages", ("newswatch/charset.py", "charset_normalizer/")),
    ("fingerprint (MinHash)", ("newswatch/dedup.py",)),
    ("relevance (topic)", ("monitors/topic.py",)),
    ("search tokens", ("newswatch/search.py",)),
    ("story decision", ("newswatch/stories.py",)),
    ("alert rules", ("newswatch/alerts.py",)),
    ("feed parsing", ("feedparser/", "newswatch/feeds.py", "sgmllib")),
    ("HTTP (httpx, event loop)", ("httpx/", "httpcore/", "h11/", "anyio/", "ssl.py", "newswatch/fetch.py",
                                  "newswatch/robots.py", "asyncio/", "selectors.py", "socket.py", "zlib", "gzip.py")),
    ("warehouse (DuckDB)", ("warehouse/", "duckdb")),
    ("pool: pickling, pipes", ("concurrent/futures/", "multiprocessing/", "pickle", "copyreg")),
    ("pipeline (other)", ("newswatch/pipeline.py",)),
)


def part_of(stack: list[str]) -> str:
    """The part a sampled stack (outermost frame first) belongs to."""
    if any("importlib" in frame for frame in stack):
        return "imports"
    for frame in reversed(stack):
        for part, fragments in PARTS:
            if any(f in frame for f in fragments):
                return part
    return "other"


def read_raw(path: Path) -> Counter:
    """py-spy's raw output (``frame;frame;… count`` per line) summed by part."""
    parts: Counter = Counter()
    if not path.exists():
        return parts
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            parts[part_of(stack.split(";"))] += int(count)
    return parts


def profile(cmd: list[str], env: dict[str, str], out: Path, rate: int) -> tuple[float, list[Path], list[Path]]:
    """Run *cmd* with py-spy attached to it and to every process it starts; (wall, main's files, workers' files)."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    spies, main, workers = [], [], []

    def attach(pid: int, name: str) -> Path:
        path = out / f"{name}-{pid}.txt"
        spies.append(subprocess.Popen([spy, "record", "--pid", str(pid), "--rate", str(rate), "--nonblocking",
                                       "--format", "raw", "-o", str(path)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        return path

    main.append(attach(proc.pid, "cycle"))
    seen = {proc.pid}
    while proc.poll() is None:
        for pid in set(_tree(proc.pid)[1]) - seen:  # every process of the tree, the cycle's own included
            seen.add(pid)
            workers.append(attach(pid, "worker"))
        time.sleep(0.05)
    wall = time.perf_counter() - started
    err = proc.stderr.read().decode(errors="replace")
    for s in spies:
        try:
            s.wait(timeout=30)
        except subprocess.TimeoutExpired:
            s.terminate()
    if proc.returncode:
        raise SystemExit(f"the cycle failed ({proc.returncode}): {err[-2000:]}")
    return wall, main, workers


def report(main_files: list[Path], worker_files: list[Path], rate: int, heading: str) -> None:
    """Print CPU seconds per part, for the cycle's own process and for the workers."""
    mine = sum((read_raw(p) for p in main_files), Counter())
    theirs = sum((read_raw(p) for p in worker_files), Counter())
    total = sum(mine.values()) + sum(theirs.values())
    print(f"{heading}, {total / rate:.1f} CPU-seconds sampled ({len(worker_files)} other processes)")
    print(f"  {'part':<28} {'cycle process':>14} {'workers':>9} {'total':>8} {'share':>6}")
    for part, n in sorted(((p, mine[p] + theirs[p]) for p in set(mine) | set(theirs)), key=lambda x: -x[1]):
        print(f"  {part:<28} {mine[part] / rate:>12.1f} s {theirs[part] / rate:>7.1f} s "
              f"{n / rate:>6.1f} s {100 * n / max(1, total):>5.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000, help="articles on the web (default 1000)")
    parser.add_argument("--hosts", type=int, default=40, help="hosts (default 40)")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per request (default 0.1)")
    parser.add_argument("--gap", type=float, default=0.25, help="politeness gap per host (default 0.25 s)")
    parser.add_argument("--rate", type=int, default=100, help="samples per second and process (default 100)")
    parser.add_argument("--raw", type=Path, help="keep py-spy's raw files in this folder")
    parser.add_argument("--read", type=Path, metavar="DIR",
                        help="run nothing: sum up the raw files kept earlier in DIR (by --raw)")
    args = parser.parse_args()
    if args.read:
        report(sorted(args.read.glob("cycle-*.txt")), sorted(args.read.glob("worker-*.txt")), args.rate,
               f"cold cycle profiled earlier ({args.read})")
        return
    if not (shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")):
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    with SyntheticWeb.served(args.hosts, args.articles, args.latency) as (web, tmp, opml, resolving):
        out = args.raw or Path(tempfile.mkdtemp(prefix="profile-"))
        out.mkdir(parents=True, exist_ok=True)
        print("profiling the cold cycle …", file=sys.stderr, flush=True)
        wall, main_files, worker_files = profile(
            [sys.executable, str(WORKERS), "newswatch", str(opml), str(tmp / "nw.duckdb"), str(args.gap)],
            {**os.environ, **resolving}, out, args.rate)
    report(main_files, worker_files, args.rate, f"cold cycle, {args.articles} articles on {args.hosts} hosts: "
                                                  f"{wall:.1f} s wall under the profiler")
    if not args.raw:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
