"""Our extraction on a public article-extraction benchmark, scored by the benchmark's own evaluate.py.

    python bench/article_benchmark.py BENCHMARK_DIR [--workers 2] [--keep DIR]

BENCHMARK_DIR is a checkout of scrapinghub's article-extraction-benchmark
(html/*.html.gz, ground-truth.json, evaluate.py). Its pages are not part of
this repository. Each page is extracted by:

- ``newswatch``: ``newswatch.extract.extract_page`` as the pipeline runs it
  (no feed entry here: the headline is the page's own title);
- ``previous``: trafilatura as we called it before (metadata, favor_precision,
  tables left out, no check);
- ``trafilatura``: trafilatura's defaults, as in the benchmark's own run.

The outputs are written to a temporary folder (never into the benchmark's
checkout), evaluate.py runs there, and its table is printed with the CPU
milliseconds per page of each variant and the methods newswatch kept.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

VARIANTS = ("newswatch", "previous", "trafilatura")


def _extract(path: Path) -> tuple[str, dict[str, tuple[str, float]], str | None]:
    import trafilatura

    from newswatch.extract import extract_page

    html = gzip.decompress(path.read_bytes()).decode("utf-8")
    out: dict[str, tuple[str, float]] = {}
    started = time.process_time()
    page = extract_page(html, "")
    out["newswatch"] = (page.text or "", time.process_time() - started)
    started = time.process_time()
    doc = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False, include_tables=False,
                                      favor_precision=True)
    out["previous"] = ((doc.text if doc is not None else None) or "", time.process_time() - started)
    started = time.process_time()
    text = trafilatura.extract(html, include_comments=False)
    out["trafilatura"] = (text or "", time.process_time() - started)
    return path.name.split(".")[0], out, page.method_note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benchmark", type=Path, help="the benchmark's folder (html/, ground-truth.json, evaluate.py)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--keep", type=Path, help="also copy the outputs and the scores to this folder")
    args = parser.parse_args()
    paths = sorted((args.benchmark / "html").glob("*.html.gz"))
    if not paths or not (args.benchmark / "evaluate.py").exists():
        sys.exit(f"article_benchmark: no html/*.html.gz or evaluate.py under {args.benchmark}")
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(pool.map(_extract, paths, chunksize=4))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "output").mkdir()
        (work / "ground-truth.json").symlink_to((args.benchmark / "ground-truth.json").resolve())
        for name in VARIANTS:
            output = {key: {"articleBody": out[name][0]} for key, out, _ in results}
            (work / "output" / f"{name}.json").write_text(json.dumps({"version": name, "output": output}))
        scores = subprocess.run([sys.executable, str((args.benchmark / "evaluate.py").resolve()),
                                 "--output", str(work / "scores.json")],
                                cwd=work, capture_output=True, text=True, check=True)
        print(scores.stdout, end="")
        for name in VARIANTS:
            ms = 1000 * sum(out[name][1] for _, out, _ in results) / len(results)
            print(f"{name:<12} {ms:6.1f} ms/page (CPU)")
        methods = Counter(note or "none" for _, _, note in results)
        print("newswatch kept: " + ", ".join(f"{m} ×{n}" for m, n in methods.most_common()))
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for f in [*(work / "output").glob("*.json"), work / "scores.json"]:
                (args.keep / f.name).write_bytes(f.read_bytes())


if __name__ == "__main__":
    main()
