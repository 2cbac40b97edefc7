"""newswatch against the machine's limit and the alternatives, on a synthetic news web.

    python3 bootstrap.py bench [--articles 1000] [--hosts 40] [--latency 0.1] [--gap 0.25]

Serves a synthetic news web (bench/synthetic.py) on 127.0.0.1 and measures, in
the same run on the same web:

1. a newswatch cold cycle (empty warehouse): articles per second, wall time,
   CPU time and peak memory of its whole process tree;
2. the machine's limit for that web: the larger of trafilatura's extraction CPU
   time for every page (single process) divided by the cores, and the time the
   politeness settings force on the busiest host; and newswatch's ratio to it;
3. a naive baseline: a sequential loop of feedparser + httpx + trafilatura +
   one INSERT per row;
4. trafilatura's own command line in feed mode with parallel downloads;
5. a warm cycle with nothing changed: wall time and bytes, against the cold one;
6. deduplication cost per article as the archive grows (synthesised directly
   in the warehouse).

Prints a table and writes bench/results/benchmark.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.synthetic import FEEDS, SyntheticWeb, host_name  # noqa: E402

WORKERS = ROOT / "bench" / "_workers.py"


#: What a process of a measured tree is, by its command line (the first part one of whose markers
#: it contains); a process that matches none is its parent's part, a direct child of the measured
#: process "other". Prefect's server: its embedded mode's (uvicorn) or one started by command.
PARTS = (("forkserver", ("multiprocessing.forkserver",)), ("resource tracker", ("multiprocessing.resource_tracker",)),
         ("Prefect server", ("uvicorn", "prefect server start")))


def _tree(root: int) -> tuple[int, dict[int, float], dict[str, int]]:
    """Resident memory of *root* and all its descendants (bytes), each one's CPU seconds so far,
    and the resident memory by part: "measured" (*root* itself), the parts of PARTS, "workers"
    (the forkserver's children: extraction workers) and "other"."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    cpu: dict[int, float] = {}
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            pid = int(entry)
            parents[pid] = int(fields[1])
            cpu[pid] = (int(fields[11]) + int(fields[12])) / ticks
            rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, seen, by_part = 0, {}, {}
    todo: list[tuple[int, str]] = [(root, "measured")]
    while todo:
        pid, part = todo.pop()
        total += rss.get(pid, 0)
        seen[pid] = cpu.get(pid, 0.0)
        by_part[part] = by_part.get(part, 0) + rss.get(pid, 0)
        for child in (p for p, parent in parents.items() if parent == pid):
            todo.append((child, _part(child, part)))
    return total, seen, by_part


def _part(pid: int, parent_part: str) -> str:
    """The part (see PARTS) of process *pid*, whose parent is of *parent_part*."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        cmdline = ""
    if parent_part == "forkserver":  # a fork: the forkserver's command line, but a worker
        return "workers"
    for part, markers in PARTS:
        if any(marker in cmdline for marker in markers):
            return part
    return "other" if parent_part == "measured" else parent_part


def timed(cmd: list[str], env: dict[str, str] | None = None, check: bool = True) -> dict:
    """Run *cmd*; wall time, CPU time of its tree, peak memory of its tree, and its JSON output.

    Worker processes of a pool are not always reaped by the process measured, so
    CPU time is also sampled per process from /proc; the larger figure is kept.
    Memory by part of the tree (see ``_tree``): ``peak_by_part_mb``, each part's own
    peak; ``at_peak_mb``, each part's share of the tree's peak (they sum to
    ``peak_mb``); ``peak_without_server_mb``, the tree's peak without Prefect's
    embedded API server (a process of its own, a fixed cost whatever the cycle does).
    """
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})
    peak = peak_without_server = 0
    part_peaks: dict[str, int] = {}
    at_peak: dict[str, int] = {}
    cpu_seen: dict[int, float] = {}
    done = threading.Event()

    def sample() -> None:
        nonlocal peak, peak_without_server, at_peak
        while not done.is_set():
            rss, cpu, by_part = _tree(proc.pid)
            if rss > peak:
                peak, at_peak = rss, by_part
            peak_without_server = max(peak_without_server, rss - by_part.get("Prefect server", 0))
            for part, size in by_part.items():
                part_peaks[part] = max(part_peaks.get(part, 0), size)
            for pid, seconds in cpu.items():
                cpu_seen[pid] = max(cpu_seen.get(pid, 0.0), seconds)
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out_chunks: list[str] = []
    reader = threading.Thread(target=lambda: out_chunks.append(proc.stdout.read()), daemon=True)
    reader.start()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    reader.join()
    out = "".join(out_chunks)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} failed ({proc.returncode}): {err[-2000:]}")
    lines = [line for line in out.splitlines() if line.startswith("{")]
    mb = lambda sizes: {part: size / 2**20 for part, size in sorted(sizes.items())}  # noqa: E731
    return {"wall": wall, "cpu": max(usage.ru_utime + usage.ru_stime, sum(cpu_seen.values())),
            "returncode": proc.returncode,
            "peak_mb": peak / 2**20, "peak_by_part_mb": mb(part_peaks), "at_peak_mb": mb(at_peak),
            "peak_without_server_mb": peak_without_server / 2**20,
            "result": json.loads(lines[-1]) if lines else {}}


def extraction_limit(web: SyntheticWeb) -> tuple[float, int]:
    """CPU seconds trafilatura needs for every page, single process (our settings)."""
    from newswatch.extract import extract_page

    total = 0.0
    for a in web.articles:
        html = web.body(a).decode()
        t0 = time.process_time()
        extract_page(html, f"http://{host_name(a.host)}/news/{a.number}.html")
        total += time.process_time() - t0
    return total, len(web.articles)


def politeness_limit(web: SyntheticWeb, gap: float, per_host: int = 2) -> float:
    """The least time the politeness rules allow on the busiest host."""
    busiest = max(len(v) for v in web.by_host.values())
    requests = busiest + len(FEEDS) + 1  # pages, feeds, robots.txt
    return max((requests - 1) * gap, requests * web.latency / per_host)


def trafilatura_cli(feeds: list[str], out_dir: Path, parallel: int, gap: float) -> dict:
    """trafilatura's command line in feed mode, with the same per-host gap as newswatch.

    Its configuration is its own shipped settings.cfg with two changes: the
    sleep between requests to one host, and SSRF protection off, since the
    synthetic web lives on loopback addresses that it refuses by default.
    """
    import configparser

    import trafilatura

    exe = shutil.which("trafilatura", path=str(Path(sys.executable).parent)) or "trafilatura"
    config = configparser.ConfigParser()
    config.read(Path(trafilatura.__file__).with_name("settings.cfg"))
    config["DEFAULT"]["SLEEP_TIME"] = str(gap)
    config["DEFAULT"]["SSRF_PROTECTION"] = "off"
    cfg = out_dir / "trafilatura.cfg"
    with cfg.open("w") as f:
        config.write(f)
    listing = out_dir / "feeds.txt"
    listing.write_text("\n".join(feeds) + "\n")
    result = timed([exe, "--feed", "-i", str(listing), "--parallel", str(parallel), "--config-file", str(cfg),
                    "-o", str(out_dir / "out")], check=False)
    result["written"] = sum(1 for p in (out_dir / "out").rglob("*") if p.is_file())  # it makes sub-folders
    return result


def synthesise_archive(wh, n: int) -> None:
    """Add *n* relevant stories of one article each to the warehouse *wh*, without text.

    Generated inside DuckDB: ids below those the sequence hands out (-1 … -n), a URL, GUID
    and text hash each (so every key and index on ``article`` holds *n* entries), and
    pseudo-random signatures with 32 band keys each.
    """
    wh.con.execute(
        """INSERT INTO article (article_id, url, canonical_url, guid, first_seen_at, text_hash, relevant,
                                relevance_reason, story_id, is_seed)
           SELECT -i, 'syn:' || i, 'syn:' || i, 'syn-guid:' || i, now(), sha256(i::TEXT), true, 'synthetic', -i, false
           FROM range(1, $1 + 1) t(i)""", [n])
    wh.con.execute(
        """INSERT INTO article_minhash
           SELECT -i, 1000, list_transform(range(128), x -> hash(i, x)::UBIGINT)
           FROM range(1, $1 + 1) t(i)""", [n])
    wh.con.execute(
        """INSERT INTO minhash_band SELECT (hash(i, b, 'band') // 2)::BIGINT, -i
           FROM range(1, $1 + 1) t(i), range(32) s(b)""", [n])


def dedup_cost(sizes: list[int], batch: int = 100, batches: int = 3) -> dict[int, dict[str, float]]:
    """Milliseconds per new article to judge, fingerprint, look up and append, with an archive
    of N stories synthesised directly in the warehouse, as a stage pays them: open the file,
    store a batch of *batch* new articles, close it (DuckDB checkpoints then). Of *batches*
    such batches in a row, the median: ``total`` per article, ``checkpoint`` the part spent
    closing, ``lookup`` the part spent in the story decision's band-key lookup."""
    import statistics

    from newswatch.pipeline import prepare_candidates, store_candidates
    from warehouse import open_warehouse
    from warehouse.articles import Warehouse, WarehouseArchive
    from warehouse.connection import connect

    web = SyntheticWeb(hosts=4, articles=batch * batches, latency=0, syndicated=0, off_topic=0)
    texts = [" ".join(a.paragraphs) for a in web.articles]
    looked = [0.0]

    class TimedArchive(WarehouseArchive):
        def by_band_keys(self, keys):
            started = time.perf_counter()
            try:
                return super().by_band_keys(keys)
            finally:
                looked[0] += time.perf_counter() - started

    class TimedWarehouse(Warehouse):
        def archive(self):
            return TimedArchive(self)

    results = {}
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "archive.duckdb"
            with open_warehouse(db) as wh:
                synthesise_archive(wh, n)
            runs = []
            for b in range(batches):
                candidates = [{"url": f"http://new/{k}", "canonical_url": f"http://new/{k}", "final_url": None,
                               "guid": None, "feed_url": None, "title": "Japan North Korea", "author": None,
                               "source": "new", "language": "en", "published_at": None,
                               "first_seen_at": datetime_now(), "text": texts[k], "method": "synthetic",
                               "is_seed": False, "entry_key": None} for k in range(b * batch, (b + 1) * batch)]
                looked[0] = 0.0
                started = time.perf_counter()
                prepared = prepare_candidates(candidates)
                con = connect(db)
                store_candidates(TimedWarehouse(con), candidates, prepared)
                closing = time.perf_counter()
                con.close()
                ended = time.perf_counter()
                runs.append({"total": (ended - started) * 1000 / batch, "checkpoint": (ended - closing) * 1000 / batch,
                             "lookup": looked[0] * 1000 / batch})
            results[n] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    return results


def datetime_now():
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)


def targets(figures: dict) -> list[dict]:
    """Each target of the benchmark with its figure and whether it is met (a row per target
    whose measurement ran): a pure function of the figures."""
    cold = figures["newswatch_cold"]
    found = []

    def add(name: str, value: float, shown: str, target: str, met: bool) -> None:
        found.append({"target": name, "value": value, "figure": shown, "wanted": target, "met": met})

    limit = figures["limit"]["limit"]
    add("cold cycle against the machine's limit", limit / cold["wall"],
        f"{limit / cold['wall']:.2f}× ({cold['wall']:.1f} s against {limit:.1f} s)", "≥ 0.8×",
        limit / cold["wall"] >= 0.8)
    if "trafilatura_cli" in figures:
        ratio = figures["trafilatura_cli"]["wall"] / cold["wall"]
        add("against `trafilatura --feed`", ratio,
            f"{ratio:.2f}× ({figures['trafilatura_cli']['wall']:.1f} s against {cold['wall']:.1f} s)", "≥ 1.5×", ratio >= 1.5)
    if "naive" in figures:
        ratio = figures["naive"]["wall"] / cold["wall"]
        add("against the naive loop", ratio, f"{ratio:.1f}× ({figures['naive']['wall']:.1f} s against {cold['wall']:.1f} s)",
            "≥ 8×", ratio >= 8)
    warm = figures["newswatch_warm"]
    share = warm["bytes_served"] / max(1, cold["bytes_served"])
    seconds = warm["result"]["cycle_seconds"]  # after the interpreter's start and imports, as for the cold cycle's rate
    add("warm cycle, nothing changed", seconds,
        f"{seconds:.2f} s after start-up ({warm['wall']:.2f} s in all), {100 * share:.2f}% of the cold cycle's bytes",
        "< 2 s and < 2%", seconds < 2 and share < 0.02)
    if "flow" in figures:
        f = figures["flow"]["result"]
        add("Prefect's share of a flow run", f["prefect_seconds"] / f["flow_seconds"],
            f"{100 * f['prefect_seconds'] / f['flow_seconds']:.1f}%", "< 10%", f["prefect_seconds"] / f["flow_seconds"] < 0.1)
        alone = figures["flow"]["peak_without_server_mb"] / cold["peak_mb"]
        add("peak memory, the flow against plain functions", alone,
            f"{alone:.2f}× ({figures['flow']['peak_without_server_mb']:.0f} MB against {cold['peak_mb']:.0f} MB)",
            "≤ 1.2×", alone <= 1.2)
        ratio = figures["flow"]["peak_mb"] / cold["peak_mb"]
        add("the same, Prefect's server process counted", ratio,
            f"{ratio:.2f}× ({figures['flow']['peak_mb']:.0f} MB against {cold['peak_mb']:.0f} MB)", "≤ 1.2×", ratio <= 1.2)
    return found + dedup_targets(figures.get("dedup_ms_per_article", {}))


def dedup_targets(d: dict[int, dict[str, float]]) -> list[dict]:
    """The story decision's growth, each archive size against the smallest (``dedup_cost``'s
    figures): ≤ 1.5×, and ≤ 2× from 2,000,000 stories."""
    sizes = sorted(d, key=int)
    found = []
    for size in sizes[1:]:
        ratio = d[size]["total"] / d[sizes[0]]["total"]
        wanted = 2.0 if int(size) >= 2_000_000 else 1.5
        found.append({"target": f"story decision, {int(sizes[0]):,} → {int(size):,} stories", "value": ratio,
                      "figure": f"×{ratio:.2f} ({d[sizes[0]]['total']:.1f} → {d[size]['total']:.1f} ms per article)",
                      "wanted": f"≤ {wanted}×", "met": ratio <= wanted})
    return found


def print_targets(found: list[dict]) -> None:
    """The targets as a table: figure, target, met or NOT MET."""
    if not found:
        return
    width = max(len(t["target"]) for t in found)
    fig = max(len(t["figure"]) for t in found)
    print(f"  {'target':<{width}}  {'measured':<{fig}}  {'wanted':<14}  status")
    for t in found:
        print(f"  {t['target']:<{width}}  {t['figure']:<{fig}}  {t['wanted']:<14}  {'met' if t['met'] else 'NOT MET'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000, help="articles on the web (default 1000; up to 20000)")
    parser.add_argument("--hosts", type=int, default=40,
                        help="hosts (default 40), each with 5 feeds: RSS, Atom and three RSS section feeds")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per request (default 0.1, ±0.05 jitter)")
    parser.add_argument("--gap", type=float, default=0.25, help="politeness gap per host, for every tool (default 0.25 s)")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: naive,cli,flow,dedup")
    parser.add_argument("--dedup-sizes", default="10000,200000", help="archive sizes for the dedup cost (stories)")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "benchmark.json")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    cores = os.cpu_count() or 1
    figures: dict = {"machine": f"{platform.machine()}, {cores} cores, Python {platform.python_version()}",
                     "articles": args.articles, "hosts": args.hosts, "latency": args.latency, "gap": args.gap}
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731

    with SyntheticWeb.served(args.hosts, args.articles, args.latency) as (web, tmp, opml, resolving):
        figures["feeds"] = len(web.feeds())
        os.environ.update(resolving)  # every process measured resolves the synthetic host names

        say("newswatch cold cycle …")
        sent = web.bytes_sent
        cold = timed([sys.executable, str(WORKERS), "newswatch", str(opml), str(tmp / "nw.duckdb"), str(args.gap)])
        cold["bytes_served"] = web.bytes_sent - sent
        say("newswatch warm cycle …")
        sent = web.bytes_sent
        warm = timed([sys.executable, str(WORKERS), "newswatch", str(opml), str(tmp / "nw.duckdb"), str(args.gap), "--warm"])
        warm["bytes_served"] = web.bytes_sent - sent
        figures["newswatch_cold"], figures["newswatch_warm"] = cold, warm

        if "flow" not in skip:
            say("the same cold cycle through the Prefect flow …")
            home = tmp / "prefect-home"
            figures["flow"] = timed([sys.executable, str(WORKERS), "flow", str(opml), str(tmp / "flow.duckdb"),
                                     str(args.gap)], env={"PREFECT_HOME": str(home)})

        say("machine limit: extraction CPU time of every page …")
        cpu, pages = extraction_limit(web)
        limit = max(cpu / cores, politeness_limit(web, args.gap))
        figures["limit"] = {"extraction_cpu": cpu, "extraction_per_page_ms": cpu * 1000 / pages,
                            "extraction_bound": cpu / cores, "politeness_bound": politeness_limit(web, args.gap),
                            "limit": limit}
        if "naive" not in skip:
            say("naive baseline …")
            figures["naive"] = timed([sys.executable, str(WORKERS), "naive", str(opml), str(tmp / "naive.duckdb")])
        if "cli" not in skip:
            say("trafilatura --feed …")
            figures["trafilatura_cli"] = trafilatura_cli([f.url for f in web.feeds()], tmp, parallel=16, gap=args.gap)
    if "dedup" not in skip:
        say("deduplication cost as the archive grows …")
        figures["dedup_ms_per_article"] = dedup_cost([int(n) for n in args.dedup_sizes.split(",")])

    n = args.articles
    c = cold["result"]
    rows = [
        ("newswatch cold cycle", f"{cold['wall']:.1f} s wall ({c['cycle_seconds']:.1f} s after start-up), "
                                 f"{cold['cpu']:.1f} s CPU, {n / cold['wall']:.1f} articles/s, peak {cold['peak_mb']:.0f} MB"),
        ("machine limit", f"{limit:.1f} s (extraction {cpu / cores:.1f} s on {cores} cores at "
                          f"{cpu * 1000 / pages:.0f} ms/page; politeness {politeness_limit(web, args.gap):.1f} s)"),
    ]
    if "naive" in figures:
        rows.append(("naive baseline", f"{figures['naive']['wall']:.1f} s"))
    if "trafilatura_cli" in figures:
        t = figures["trafilatura_cli"]
        rows.append(("trafilatura --feed", f"{t['wall']:.1f} s, {t['cpu']:.1f} s CPU, {t['written']} files "
                                           f"(exit {t['returncode']})"))
    w = warm["result"]
    rows.append(("warm cycle", f"{warm['wall']:.2f} s wall ({w['cycle_seconds']:.2f} s after start-up) over "
                               f"{w['feeds_polled']} feeds, {warm['bytes_served']:,} bytes served "
                               f"({100 * warm['bytes_served'] / max(1, cold['bytes_served']):.2f}% of cold's "
                               f"{cold['bytes_served']:,})"))
    if "flow" in figures:
        f = figures["flow"]["result"]
        parts = ", ".join(f"{part} {mb:.0f}" for part, mb in figures["flow"]["at_peak_mb"].items())
        rows.append(("through the Prefect flow", f"{figures['flow']['wall']:.1f} s wall, peak {figures['flow']['peak_mb']:.0f} MB "
                                                 f"({parts}; {figures['flow']['peak_without_server_mb']:.0f} MB without "
                                                 f"the server); "
                                                 f"Prefect's share {f['prefect_seconds']:.2f} s of a {f['flow_seconds']:.1f} s "
                                                 f"flow run; embedded server start {f['server_start_seconds']:.1f} s, once per process"))
    if "dedup_ms_per_article" in figures:
        d = figures["dedup_ms_per_article"]
        rows.append(("story decision per article", ", ".join(f"{d[s]['total']:.1f} ms at {s:,} stories "
                                                             f"(checkpoint {d[s]['checkpoint']:.1f})" for s in sorted(d))))
    width = max(len(k) for k, _ in rows)
    print(f"{figures['machine']}; {n} articles on {args.hosts} hosts ({figures['feeds']} feeds), "
          f"latency {args.latency}s, gap {args.gap}s")
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
    figures["targets"] = targets(figures)
    print()
    print_targets(figures["targets"])
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(figures, indent=1, default=str) + "\n")


if __name__ == "__main__":
    main()
