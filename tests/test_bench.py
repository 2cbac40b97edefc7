"""The benchmarks run at a tiny size, so that they cannot rot. No timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_benchmark_runs_and_reports_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "benchmark.py"), "--articles", "24", "--hosts", "3", "--latency", "0",
         "--gap", "0.01", "--dedup-sizes", "200,400", "--json", str(out)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["newswatch_cold"]["result"]["fetched"] == 24
    assert figures["newswatch_warm"]["result"]["stored"] == 0 and figures["newswatch_warm"]["bytes_served"] == 0
    assert figures["newswatch_warm"]["result"]["feeds_polled"] == 15  # 3 hosts × 5 feeds
    assert figures["naive"]["result"]["stored"] == 24
    assert figures["flow"]["result"]["stored"] == 24
    assert 0 <= figures["flow"]["result"]["prefect_seconds"] < figures["flow"]["result"]["flow_seconds"]
    assert figures["trafilatura_cli"]["written"] >= 24 and figures["trafilatura_cli"]["returncode"] == 0
    assert set(figures["dedup_ms_per_article"]) == {"200", "400"}
    for label in ("newswatch cold cycle", "machine limit", "naive baseline", "trafilatura --feed", "warm cycle",
                  "Prefect's share", "dedup per article"):
        assert label in result.stdout


def test_the_demo_cycle_benchmark_runs(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "demo_cycle.py"), "--repeat", "1", "--host-gap", "0.01",
                             "--json", str(tmp_path / "demo.json")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "articles stored (incl. 5 seeds)  40" in result.stdout


def test_the_commands_benchmark_runs_and_reports_every_command(tmp_path: Path) -> None:
    out = tmp_path / "commands.json"
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "commands.py"), "--repeat", "1", "--json", str(out)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(out.read_text())["commands"]
    assert set(figures) == {"run (no feed due)", "digest (nothing pending)", "query", "search", "feeds"}
    assert figures["run (no feed due)"]["answer"].startswith("Nothing to do: no feed is due")
    assert figures["digest (nothing pending)"]["answer"].endswith("nothing sent.")
    for name in figures:
        assert name in result.stdout
