"""The story decision's cost per new article as the DuckDB file's archive grows, on its own.

    python bench/dedup_cost.py [--sizes 10000,200000,2000000] [--batches 3] [--json FILE]

The overall benchmark (``bench/benchmark.py``) measures the same at 10,000 and 200,000
stories; this command runs only that part (``bench.benchmark.dedup_cost``), so that the
larger archives, which take minutes to synthesise (2,000,000 stories: 64 million band rows,
a 3 GB file), can be measured apart. For each size it prints the milliseconds per new
article (a stage's open, store and close of a batch of 100), the part spent in DuckDB's
checkpoint at close and in the band-key lookup, and the growth against the smallest size.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.benchmark import dedup_cost, dedup_targets, print_targets  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,200000,2000000", help="archive sizes (stories), smallest first")
    parser.add_argument("--batches", type=int, default=3, help="batches of 100 stored in a row per size (median)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    sizes = sorted(int(n) for n in args.sizes.split(","))
    figures = {}
    print(f"{'stories':>10}  {'ms/article':>10}  {'checkpoint':>10}  {'lookup':>8}  growth", flush=True)
    for n in sizes:
        figures[n] = dedup_cost([n], batches=args.batches)[n]
        f = figures[n]
        print(f"{n:>10,}  {f['total']:>10.1f}  {f['checkpoint']:>10.1f}  {f['lookup']:>8.1f}  "
              f"×{f['total'] / figures[sizes[0]]['total']:.2f}", flush=True)
    print()
    print_targets(dedup_targets(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
