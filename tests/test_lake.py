"""The at-scale warehouse (``warehouse.lake``): PostgreSQL for keyed state, DuckLake for the
articles, behind the same ``open_warehouse`` and the same views as the DuckDB file."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from newswatch.demo.server import DemoNewsroom
from newswatch.fetch import FetchSettings
from newswatch.pipeline import run_cycle
from newswatch.search import tokens
from warehouse import lake, open_warehouse
from warehouse.search import search

from .conftest import rows

FAST = FetchSettings(min_gap=0.02)
SAME = [
    ("articles", "SELECT canonical_url, relevant, is_seed, title, text FROM articles ORDER BY 1"),
    ("stories", "SELECT list(canonical_url ORDER BY canonical_url) FROM articles WHERE story_id IS NOT NULL "
                "GROUP BY story_id ORDER BY 1"),
    ("alerts", "SELECT a.rule, x.canonical_url FROM alerts a JOIN articles x ON x.article_id = a.story_id ORDER BY 1, 2"),
    ("feeds", "SELECT url, last_status FROM feeds ORDER BY 1"),
]


def new_lake(postgres, folder: Path) -> Path:
    url = postgres.create_database(f"lake_{uuid.uuid4().hex[:10]}")
    return lake.write_lake_file(folder / "lake.toml", url, "lake-data")


def test_the_schema_is_read_off_the_migrations() -> None:
    s = lake.schema()
    assert set(lake.LAKE_TABLES) | set(lake.OUTBOX_TABLES) <= set(s.columns)
    assert "PRIMARY KEY (entry_key)" in s.keys["entry"] and "UNIQUE (rule, story_id)" in s.keys["alert"]
    assert {"article_id_seq", "alert_id_seq"} <= set(s.sequences)
    assert any("VIEW alerts" in v for v in s.views) and any("VIEW articles" in v for v in s.views)
    assert lake.defaults("entry") == {"attempts": 0}


def test_a_lake_file_that_is_wrong_says_what_it_needs(tmp_path: Path) -> None:
    bad = tmp_path / "lake.toml"
    bad.write_text('[lake]\npostgres = "mysql://x"\ndata_path = "d"\n')
    with pytest.raises(lake.LakeFileError, match="postgresql://"):
        lake.LakeTarget.read(bad)
    bad.write_text("[lake]\n")
    with pytest.raises(lake.LakeFileError, match="data_path"):
        lake.LakeTarget.read(bad)


@pytest.fixture(scope="module")
def both(postgres, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo newsroom's cycle run twice: into a DuckDB file and into a lake."""
    folder = tmp_path_factory.mktemp("lake")
    at_scale, embedded = new_lake(postgres, folder), folder / "embedded.duckdb"
    with DemoNewsroom() as room:
        for db in (embedded, at_scale):
            run_cycle(db, room.feeds(), FAST, progress=lambda *a: None, outbox=folder / f"outbox-{db.stem}")
    return embedded, at_scale


@pytest.mark.scale
@pytest.mark.parametrize("what, query", SAME, ids=[name for name, _ in SAME])
def test_a_cycle_into_the_lake_stores_what_the_file_stores(both: tuple[Path, Path], what: str, query: str) -> None:
    embedded, at_scale = both
    expected = rows(embedded, query)
    assert expected, f"no {what} in the embedded warehouse"
    assert rows(at_scale, query) == expected


@pytest.mark.scale
def test_articles_are_in_the_lake_and_keys_in_postgres(both: tuple[Path, Path]) -> None:
    _, at_scale = both
    homes = dict(rows(at_scale, "SELECT table_name, database_name FROM duckdb_tables() "
                                "WHERE schema_name IN ('main', 'public') AND database_name IN ('ks', 'lake')"))
    assert homes["article"] == "lake" and homes["cycle"] == "lake"
    assert homes["entry"] == "ks" and homes["alert"] == "ks" and homes["article_search"] == "ks"
    assert rows(at_scale, "SELECT count(*) FROM ks.outbox.article") == [(0,)]  # all published
    parquet = list((at_scale.parent / "lake-data").rglob("*.parquet"))
    assert parquet, "the lake's data path holds Parquet files"


@pytest.mark.scale
def test_the_story_decision_looks_up_the_keyed_state(both: tuple[Path, Path]) -> None:
    embedded, at_scale = both
    assert rows(at_scale, "SELECT count(*) FROM ks.public.keyed_url") == rows(embedded, "SELECT count(*) FROM article")
    assert (rows(at_scale, "SELECT count(*) FROM ks.public.keyed_band")
            == rows(embedded, "SELECT count(*) FROM minhash_band") != [(0,)])
    assert rows(at_scale, "SELECT count(*) FROM ks.public.keyed_article") == rows(
        embedded, "SELECT count(*) FROM article WHERE story_id IS NOT NULL")
    assert rows(at_scale, "SELECT count(*) FROM ks.public.minhash_band") == [(0,)]  # the file's index only


def test_keyed_state_follows_the_stored_articles() -> None:
    articles = [
        {"article_id": 1, "canonical_url": "u1", "guid": "g1", "story_id": 1, "text": "t1", "text_hash": "h1"},
        {"article_id": 2, "canonical_url": "u2", "guid": None, "story_id": 1, "text": "t1", "text_hash": "h1"},
        {"article_id": 3, "canonical_url": "u3", "guid": "g3", "story_id": None, "text": "off", "text_hash": "h3"},
    ]
    state = lake.keyed_state(articles, [(10, 1), (11, 1)])
    assert [r["canonical_url"] for r in state["keyed_url"]] == ["u1", "u2", "u3"]
    assert [r["guid"] for r in state["keyed_guid"]] == ["g1", "g3"]
    assert [r["article_id"] for r in state["keyed_article"]] == [1, 2]  # off-topic: claims only
    assert state["keyed_text_hash"] == [{"text_hash": "h1", "article_id": 1}]  # only the banded copy
    assert state["keyed_band"] == [{"band_key": 10, "article_id": 1}, {"band_key": 11, "article_id": 1}]


@pytest.mark.scale
@pytest.mark.parametrize("query", ["拉致被害者", "특정실종자", "납북자", "조일 수뇌회담", "Chongryon",
                                   "sanctions port entry", "Megumi Yokota"])
def test_search_finds_the_same_articles_in_all_three_languages(both: tuple[Path, Path], query: str) -> None:
    embedded, at_scale = both
    want = {h["article_id"] for h in search(embedded, tokens(query))}
    got = [h for h in search(at_scale, tokens(query))]
    assert {h["article_id"] for h in got} == want
    assert search(at_scale, tokens("Megumi zeppelin")) == []


@pytest.mark.scale
def test_readers_query_the_views_and_cannot_write(both: tuple[Path, Path]) -> None:
    embedded, at_scale = both

    def query(sql: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "newswatch.cli", "query", "--db", str(at_scale), sql],
                              capture_output=True, text=True, timeout=120)

    count = rows(embedded, "SELECT count(*) FROM stories")[0][0]
    done = query("SELECT count(*) AS n FROM stories")
    assert done.returncode == 0, done.stderr
    assert str(count) in done.stdout.split()
    done = query("DELETE FROM entry")
    assert done.returncode != 0
    assert "read-only" in done.stderr and "Traceback" not in done.stderr
    assert rows(at_scale, "SELECT count(*) FROM entry")[0][0] > 0


@pytest.mark.scale
def test_a_publish_interrupted_after_the_lake_commit_is_finished_once(postgres, tmp_path: Path) -> None:
    at_scale = new_lake(postgres, tmp_path)
    with DemoNewsroom() as room:
        run_cycle(at_scale, room.feeds(), FAST, progress=lambda *a: None, outbox=tmp_path / "outbox")
    stored = rows(at_scale, "SELECT count(*) FROM articles")[0][0]
    # As if a writer died between the lake's commit and the outbox's cleanup: the same rows
    # are back in the outbox. Opening the warehouse for writing publishes them, once.
    with open_warehouse(at_scale) as wh:
        wh.con.execute("INSERT INTO ks.outbox.article SELECT * FROM lake.main.article WHERE article_id <= 3")
    with open_warehouse(at_scale) as wh:
        assert wh.scalar("SELECT count(*) FROM ks.outbox.article") == 0
    assert rows(at_scale, "SELECT count(*), count(DISTINCT article_id) FROM articles") == [(stored, stored)]


@pytest.mark.scale
def test_a_reader_of_a_lake_no_writer_has_opened_is_told_to_run_a_cycle(postgres, tmp_path: Path) -> None:
    at_scale = new_lake(postgres, tmp_path)
    done = subprocess.run([sys.executable, "-m", "newswatch.cli", "query", "--db", str(at_scale),
                           "SELECT count(*) FROM articles"], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "run a cycle first" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.scale
def test_one_writer_at_a_time(postgres, tmp_path: Path) -> None:
    at_scale = new_lake(postgres, tmp_path)
    order: list[str] = []
    first_in = threading.Event()

    def second() -> None:
        first_in.wait()
        with open_warehouse(at_scale):
            order.append("second")

    other = threading.Thread(target=second)
    other.start()
    with open_warehouse(at_scale):
        first_in.set()
        other.join(timeout=1.0)
        assert other.is_alive(), "the second writer waited for the first"
        order.append("first")
    other.join(timeout=60)
    assert order == ["first", "second"]


@pytest.mark.scale
def test_maintenance_compacts_and_expires_without_changing_a_row(postgres, tmp_path: Path) -> None:
    at_scale = new_lake(postgres, tmp_path)
    with DemoNewsroom() as room:
        run_cycle(at_scale, room.feeds(), FAST, progress=lambda *a: None, outbox=tmp_path / "outbox")
    before = rows(at_scale, "SELECT * FROM articles ORDER BY article_id")
    snapshots = rows(at_scale, "SELECT count(*) FROM ducklake_snapshots('lake')")[0][0]
    done = subprocess.run([sys.executable, "-m", "newswatch.cli", "maintain", "--db", str(at_scale),
                           "--keep-days", "0"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "lake maintained" in done.stdout
    assert rows(at_scale, "SELECT * FROM articles ORDER BY article_id") == before
    assert rows(at_scale, "SELECT count(*) FROM ducklake_snapshots('lake')")[0][0] < snapshots


def test_maintain_on_a_duckdb_file_says_it_is_for_the_lake(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "newswatch.cli", "maintain", "--db", str(tmp_path / "w.duckdb")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "lake file" in done.stderr and "Traceback" not in done.stderr
