"""Extraction of the synthetic web's pages: one process, a local process pool, a Dask cluster, prefect-dask.

    .venv/bin/python bench/dask_extraction.py [--pages 200] [--workers 2] [--repeat 3]

The pages are bench/synthetic.py's (30–200 KB, heavy chrome), built in memory:
no network, only the CPU work of the fetch stage (``analysis.process_page``:
decode, prune, trafilatura with its fallbacks, relevance, fingerprint). Ways:

- one process: every page in turn, in this process (the floor for any pool);
- local pool: ``pipeline.extraction_pool`` as the fetch stage uses it without Dask
  (a process pool of --workers, started each time, as each fetch stage starts its own);
- Dask, batches: ``newswatch.daskpool.BatchExecutor`` (what NEWSWATCH_DASK uses) on a
  local cluster of --workers processes, pages submitted one by one, sent in batches of 25;
- Dask, one task per page: ``client.map`` over the pages, for comparison;
- prefect-dask: a Prefect flow with ``DaskTaskRunner`` on the same cluster, one task per
  batch of 25 pages (Prefect's embedded server is started first, not timed).

The Dask cluster is started once and warmed up (its workers have imported
trafilatura) before the timed rounds, as a long-lived cluster would be.
Prints a table of median seconds and pages per second.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="newswatch-bench-prefect-"))

from newswatch import settings  # noqa: E402

settings.prefect_defaults()

from bench.synthetic import SyntheticWeb  # noqa: E402
from newswatch.daskpool import BATCH, BatchExecutor, run_batch  # noqa: E402
from newswatch.fetch import FetchSettings  # noqa: E402
from newswatch.analysis import process_page  # noqa: E402
from newswatch.pipeline import extraction_pool  # noqa: E402

from prefect.cache_policies import NO_CACHE  # noqa: E402

CTYPE = "text/html; charset=utf-8"


def make_pages(n: int) -> list[tuple]:
    web = SyntheticWeb(hosts=20, articles=n)
    return [(web.page(a), CTYPE, f"http://{a.host}.test/news/{a.number}.html", a.title, None) for a in web.articles]


def texts(results: list) -> list[str | None]:
    return [text for _page, text, _method, _analysis in results]


def one_process(pages: list[tuple]) -> list:
    return [process_page(*p) for p in pages]


def local_pool(pages: list[tuple], workers: int) -> list:
    with extraction_pool(len(pages), FetchSettings(extract_workers=workers, pool_threshold=1)) as pool:
        assert pool is not None
        return [f.result() for f in [pool.submit(process_page, *p) for p in pages]]


def dask_batches(pages: list[tuple], client) -> list:
    with BatchExecutor(client, close_client=False) as pool:
        return [f.result() for f in [pool.submit(process_page, *p) for p in pages]]


def dask_per_page(pages: list[tuple], client) -> list:
    futures = client.map(process_page, *zip(*pages), pure=False)
    return client.gather(futures)


#: The pages of the prefect-dask run. Not the flow's parameters: Prefect's API refuses parameters
#: over 512 KB. Nor a closure of the flow or the task: the task runner ships the flow with each
#: task, and a closure over the pages (or a flow defined in __main__, pickled by value with the
#: globals it uses) sends all of them with every batch.
_PAGES: list[tuple] = []


def _extract_batch(calls: list[tuple]) -> list:
    return [value for _ok, value in run_batch(process_page, calls)]


def _extract_flow() -> list:
    from prefect import task

    batch_task = task(_extract_batch, cache_policy=NO_CACHE)
    futures = [batch_task.submit(_PAGES[i:i + BATCH]) for i in range(0, len(_PAGES), BATCH)]
    return [r for f in futures for r in f.result()]


def prefect_dask(pages: list[tuple], address: str) -> list:
    from prefect import flow
    from prefect_dask import DaskTaskRunner

    _PAGES[:] = pages
    return flow(_extract_flow, name="extract", task_runner=DaskTaskRunner(address=address), log_prints=False)()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds per way; medians are printed")
    parser.add_argument("--no-prefect", action="store_true", help="leave out prefect-dask (its server's start)")
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    pages = make_pages(args.pages)
    size = sum(len(p[0]) for p in pages)
    reference = texts(one_process(pages[:5]))  # warms this process's imports
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster, set_as_default=False) as client:
        ways = {
            "one process": lambda: one_process(pages),
            f"local pool ({args.workers} processes)": lambda: local_pool(pages, args.workers),
            f"Dask, batches of {BATCH} ({args.workers} workers)": lambda: dask_batches(pages, client),
            f"Dask, one task per page ({args.workers} workers)": lambda: dask_per_page(pages, client),
        }
        if not args.no_prefect:
            prefect_dask(pages[:BATCH], cluster.scheduler_address)  # starts the embedded server, warms up
            ways[f"prefect-dask, tasks of {BATCH} ({args.workers} workers)"] = \
                lambda: prefect_dask(pages, cluster.scheduler_address)
        dask_batches(pages[: 4 * BATCH], client)  # the workers import trafilatura once
        reference = texts(one_process(pages))
        timings: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(args.repeat):
            for name, way in ways.items():
                t0 = time.perf_counter()
                results = way()
                timings[name].append(time.perf_counter() - t0)
                assert texts(results) == reference, f"{name}: texts differ from the one-process run"

    print(f"{args.pages} synthetic pages ({size / 1e6:.1f} MB of HTML), median of {args.repeat}, "
          f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}")
    print()
    print("| way | seconds | pages/s |")
    print("|---|---:|---:|")
    for name, ts in timings.items():
        med = statistics.median(ts)
        print(f"| {name} | {med:.2f} | {args.pages / med:.0f} |")


if __name__ == "__main__":
    # Run as bench.dask_extraction, so that Dask and Prefect send its functions by reference.
    from bench import dask_extraction

    dask_extraction.main()
