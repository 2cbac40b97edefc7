"""The story-grouping benchmark (bench/dedup_quality.py) runs and measures what it says."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from bench import dedup_quality

from .test_stories import article, syndicated, text


def ms(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=timezone.utc).timestamp() * 1000)


def test_measure_scores_syndicated_copies_of_our_own_texts(tmp_path: Path) -> None:
    figures = dedup_quality.measure(corpus_dir=tmp_path / "none")
    demo = figures["copies"]["demo"]
    assert demo["true_pairs"] == 3 * len(dedup_quality.load_sources()["demo"])  # an article and two copies
    assert demo["recall"] >= 0.95 and demo["precision"] >= 0.95
    assert demo["rail_pages"] > 0 and demo["rail_merges"] == 0
    assert demo["same_event_pairs"] > 0 and demo["same_event_merges"] == 0
    assert "real_text" not in figures


def test_real_text_merges_count_pairs_in_one_story_within_the_dates(tmp_path: Path) -> None:
    items = [
        {"headline": "Summit offer", "story_text": text("en-summit-proposal"), "date": ms("2024-09-01")},
        {"headline": "Summit offer again", "date": ms("2024-09-01"),
         "story_text": syndicated(article("en-summit-proposal"), "Summit offer, again")},
        {"headline": "Summit offer (same text)", "story_text": text("en-summit-proposal"), "date": ms("2024-09-02")},
        {"headline": "Markets", "story_text": text("en-tokyo-markets"), "date": ms("2024-09-03")},
        {"headline": "Too early", "story_text": text("en-summit-proposal-harbor"), "date": ms("2024-07-31")},
        {"headline": "No text", "story_text": "", "date": ms("2024-09-04")},
    ]
    path = tmp_path / "agency.json"
    path.write_text(json.dumps(items))
    real = dedup_quality.measure(path, corpus_dir=tmp_path / "none")["real_text"]
    assert (real["texts"], real["pairs"], real["merged_pairs"]) == (3, 3, 1)
    assert [(m["a"], m["b"]) for m in real["merges"]] == [("Summit offer", "Summit offer again")]
    done = subprocess.run([sys.executable, "bench/dedup_quality.py", "--kcna", str(path), "--show-merges"],
                          capture_output=True, text=True, cwd=Path(__file__).parent.parent, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "real text: 3 texts, 3 pairs, 1 merged" in done.stdout and "'Summit offer again'" in done.stdout
