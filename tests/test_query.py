"""Ad-hoc queries: read-only, every format, and safe while a cycle is writing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from flows.monitor import monitor
from newswatch.demo.server import DemoNewsroom
from newswatch.pipeline import load_seeds_stage

from .conftest import rows


def query(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "newswatch.cli", "query", *args], capture_output=True, text=True,
                          env=os.environ.copy(), timeout=180)


@pytest.fixture
def seeded(db: Path) -> Path:
    load_seeds_stage(db)
    return db


def test_query_prints_a_table_csv_and_json(seeded: Path) -> None:
    sql = "SELECT url, is_seed FROM articles ORDER BY url"
    table = query(sql, "--db", str(seeded))
    assert table.returncode == 0 and table.stdout.splitlines()[0].split() == ["url", "is_seed"]
    assert "seed:000_a0edb6245fde10a6" in table.stdout and "(5 rows)" in table.stderr
    csv_out = query(sql, "--db", str(seeded), "--format", "csv").stdout.splitlines()
    assert csv_out[0] == "url,is_seed" and len(csv_out) == 6
    data = json.loads(query(sql, "--db", str(seeded), "--format", "json").stdout)
    assert len(data) == 5 and data[0]["is_seed"] is True


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_query_writes_files(seeded: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"stories.{fmt}"
    result = query("SELECT * FROM stories", "--db", str(seeded), "--format", fmt, "--output", str(out))
    assert result.returncode == 0, result.stderr
    reader = {"csv": "read_csv", "json": "read_json", "parquet": "read_parquet"}[fmt]
    assert duckdb.sql(f"SELECT count(*) FROM {reader}('{out}')").fetchone() == (4,)


def test_query_cannot_write(seeded: Path) -> None:
    for sql in ["DELETE FROM article", "DROP VIEW articles", "CREATE TABLE x (a INT)", "UPDATE feed SET title = 'x'"]:
        result = query(sql, "--db", str(seeded))
        assert result.returncode == 2 and "read-only" in result.stderr and "Traceback" not in result.stderr
    assert rows(seeded, "SELECT count(*) FROM articles") == [(5,)]


def test_query_errors_are_messages(seeded: Path, tmp_path: Path) -> None:
    bad = query("SELEC 1", "--db", str(seeded))
    assert bad.returncode == 2 and "syntax error" in bad.stderr and "Traceback" not in bad.stderr
    missing = query("SELECT 1", "--db", str(tmp_path / "none.duckdb"))
    assert missing.returncode == 2 and "no warehouse" in missing.stderr


def test_queries_in_a_loop_while_a_cycle_writes(prefect_api: str, newsroom: DemoNewsroom, db: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    load_seeds_stage(db)
    opml = newsroom.write_opml(tmp_path / "feeds.opml")
    stop = threading.Event()
    results: list[tuple[int, float | None, float]] = []

    def reader() -> None:
        while not stop.is_set():
            t0 = time.monotonic()
            r = query("SELECT count(*) FROM articles", "--db", str(db), "--wait", "120")
            m = re.search(r"waited ([0-9.]+)s", r.stderr)
            results.append((r.returncode, float(m.group(1)) if m else None, time.monotonic() - t0))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        summary = monitor(feeds=str(opml), db=str(db), host_gap=0.1)
        second = monitor(feeds=str(opml), db=str(db), host_gap=0.1)
    finally:
        stop.set()
        thread.join()

    failures = [r for r in results if r[0] != 0]
    waits = sorted(w for _, w, _ in results if w is not None)
    with capsys.disabled():
        print(f"\n  queries during two cycles: {len(results)}, failed {len(failures)}, waited {len(waits)} times"
              + (f", lock wait median {waits[len(waits) // 2]:.3f}s max {waits[-1]:.3f}s" if waits else ""))
    assert len(results) >= 5
    assert failures == []
    pages = len(newsroom.index["pages"])
    assert summary["store"]["articles_stored"] == pages and second["store"]["articles_stored"] == 0
    assert rows(db, "SELECT count(*) FROM articles") == [(pages + 5,)]


# -- list columns: real lists in CSV and JSON, on the terminal and in files ----------------------

LISTS = ("SELECT 1 AS n, ['Prime Minister', 'Koizumi', 'say \"no\", twice']::TEXT[] AS matched, "
         "{'rule': 'summit', 'outlets': 3} AS s, [] :: TEXT[] AS empty, NULL::TEXT[] AS missing, true AS ok "
         "UNION ALL SELECT 2, ['拉致被害者'], NULL, ['x'], ['y'], false ORDER BY n")


def _from_csv(text: str) -> list[dict]:
    import csv
    import io

    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("to_file", [False, True], ids=["stdout", "output"])
def test_list_columns_are_json_arrays_in_json(seeded: Path, tmp_path: Path, to_file: bool) -> None:
    out = tmp_path / "lists.json"
    result = query(LISTS, "--db", str(seeded), "--format", "json", *(["--output", str(out)] if to_file else []))
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text("utf-8") if to_file else result.stdout)
    assert data == [
        {"n": 1, "matched": ["Prime Minister", "Koizumi", 'say "no", twice'], "s": {"rule": "summit", "outlets": 3},
         "empty": [], "missing": None, "ok": True},
        {"n": 2, "matched": ["拉致被害者"], "s": None, "empty": ["x"], "missing": ["y"], "ok": False},
    ]


@pytest.mark.parametrize("to_file", [False, True], ids=["stdout", "output"])
def test_list_columns_are_json_text_in_csv_cells(seeded: Path, tmp_path: Path, to_file: bool) -> None:
    out = tmp_path / "lists.csv"
    result = query(LISTS, "--db", str(seeded), "--format", "csv", *(["--output", str(out)] if to_file else []))
    assert result.returncode == 0, result.stderr
    text = out.read_text("utf-8") if to_file else result.stdout
    first, second = _from_csv(text)
    assert json.loads(first["matched"]) == ["Prime Minister", "Koizumi", 'say "no", twice']
    assert json.loads(first["s"]) == {"rule": "summit", "outlets": 3}
    assert json.loads(first["empty"]) == [] and first["missing"] == "" and first["ok"] == "true"
    assert json.loads(second["matched"]) == ["拉致被害者"] and second["s"] == "" and second["ok"] == "false"
    # DuckDB reads the cells back as lists.
    if to_file:
        back = duckdb.sql(f"SELECT from_json(matched, '[\"VARCHAR\"]') FROM read_csv('{out}') ORDER BY n").fetchall()
        assert back == [(["Prime Minister", "Koizumi", 'say "no", twice'],), (["拉致被害者"],)]


def test_the_terminal_and_the_file_say_the_same(seeded: Path, tmp_path: Path) -> None:
    sql = "SELECT url, first_seen_at, is_seed, [title, source] AS pair FROM articles ORDER BY url"
    for fmt in ("csv", "json"):
        out = tmp_path / f"same.{fmt}"
        printed = query(sql, "--db", str(seeded), "--format", fmt).stdout
        assert query(sql, "--db", str(seeded), "--format", fmt, "--output", str(out)).returncode == 0
        assert out.read_text("utf-8") == printed
