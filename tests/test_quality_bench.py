"""The signal-quality benchmark runs end to end on a small slice of the corpus (no figures asserted
beyond what a working pipeline must give: every page stored, clean pages kept whole)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "bench" / "corpus" / "corpus.jsonl"


def test_the_quality_benchmark_prints_its_table_and_writes_json(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in CORPUS.read_text("utf-8").splitlines()]
    groups = {r["group"] for r in rows if r["split"] == "held-out" and r["relevant"]}
    picked = sorted(groups)[:4] + sorted({r["group"] for r in rows if r["split"] == "held-out"} - groups)[:2]
    small = tmp_path / "small.jsonl"
    small.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows if r["group"] in picked), "utf-8")
    out = tmp_path / "quality.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "quality.py"), "--corpus", str(small),
                           "--split", "held-out", "--json", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "clean grouping" in done.stdout and "heavy extraction P/R" in done.stdout
    figures = json.loads(out.read_text("utf-8"))["splits"]["held-out"]
    clean = figures["pipeline"]["clean"]["scores"]["all"]
    assert clean["extraction"]["recall"] == 1.0 and clean["extraction"]["lost"] == 0
    assert clean["grouping"]["same_event_merges"] == 0
    assert figures["text"]["relevant"]["all"]["n"] == len(picked)
