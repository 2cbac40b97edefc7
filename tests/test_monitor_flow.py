"""End to end, with real Prefect runs, against the demo newsroom on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from flows.monitor import monitor
from newswatch.demo.server import DemoNewsroom
from newswatch.opml import FeedSource
from newswatch.pipeline import STAGES
from newswatch.urls import canonical_url

from .conftest import FAST_GAP, rows


def run(newsroom: DemoNewsroom, db: Path, tmp_path: Path, extra: list[FeedSource] | None = None,
        all_feeds: bool = False) -> dict:
    opml = newsroom.write_opml(tmp_path / "feeds.opml", extra)
    return monitor(feeds=str(opml), db=str(db), host_gap=FAST_GAP, all_feeds=all_feeds)


def article_for_page(db: Path, newsroom: DemoNewsroom, page: dict) -> tuple:
    url = canonical_url(newsroom.url(page["outlet"], page["path"]))
    found = rows(db, "SELECT article_id, story_id, relevant, text FROM articles WHERE canonical_url = ?", [url])
    assert len(found) == 1, f"{page['id']} stored {len(found)} times"
    return found[0]


def test_the_flow_runs_the_stages_of_the_pipeline_as_tasks_in_order(
        prefect_api: str, newsroom: DemoNewsroom, db: Path, tmp_path: Path) -> None:
    opml = newsroom.write_opml(tmp_path / "feeds.opml")
    state = monitor(feeds=str(opml), db=str(db), host_gap=FAST_GAP, return_state=True)
    assert state.is_completed()
    runs = httpx.post(f"{prefect_api}/task_runs/filter", json={
        "flow_runs": {"id": {"any_": [str(state.state_details.flow_run_id)]}},
        "sort": "EXPECTED_START_TIME_ASC"}).raise_for_status().json()
    runs.sort(key=lambda r: r["start_time"])
    assert [r["name"].rsplit("-", 1)[0] for r in runs] == [s.name for s in STAGES]
    assert all(r["state"]["type"] == "COMPLETED" for r in runs)
    assert state.result()["store"]["articles_stored"] == len(newsroom.index["pages"])


def test_a_cycle_on_the_demo_newsroom(prefect_api: str, newsroom: DemoNewsroom, db: Path, tmp_path: Path) -> None:
    summary = run(newsroom, db, tmp_path)
    pages = newsroom.index["pages"]

    # Every page was stored exactly once, plus the five seeds.
    assert summary["seeds_loaded"] == 5
    assert summary["poll"]["feeds_polled"] == len(newsroom.index["outlets"])
    assert summary["poll"]["feeds_failed"] == 0
    assert summary["poll"]["new_entries"] == len(pages)
    assert summary["store"]["articles_stored"] == len(pages)
    assert rows(db, "SELECT count(*) FROM articles")[0][0] == len(pages) + 5
    assert rows(db, "SELECT count(*), count(DISTINCT url) FROM articles") == [(len(pages) + 5, len(pages) + 5)]

    # Seed 001 is a republication of seed 000: one story, whose origin is 000.
    seeds = dict(rows(db, "SELECT url, story_id FROM articles WHERE is_seed"))
    s000 = seeds["seed:000_a0edb6245fde10a6"]
    assert seeds["https://news.cgtn.com/news/3d3d674d3445544f79457a6333566d54/share_p.html"] == s000
    assert rows(db, "SELECT url FROM articles WHERE article_id = ?", [s000]) == [("seed:000_a0edb6245fde10a6",)]
    assert len(set(seeds.values())) == 4

    # Every syndicated copy joins its original's story; seeds' pages join the seed's story.
    by_id = {p["id"]: p for p in pages}
    for page in pages:
        if page["copy_of"] is None:
            continue
        _, story, relevant, _ = article_for_page(db, newsroom, page)
        if page["copy_of"].startswith("seed:"):
            origin_story = rows(db, "SELECT story_id FROM articles WHERE url = ?", [page["copy_of"]])[0][0]
        else:
            origin_story = article_for_page(db, newsroom, by_id[page["copy_of"]])[1]
        assert relevant and story == origin_story, page["id"]

    # Separately written articles about one event stay separate stories.
    events: dict[tuple[str, str], set[int]] = {}
    for page in pages:
        if page["copy_of"] is None and page["topic"] == "on":
            events.setdefault((page["event"], page["lang"]), set()).add(article_for_page(db, newsroom, page)[1])
    separate = [stories for (event, _), stories in events.items() if event == "summit-proposal-nov2026"]
    assert separate and all(len(stories) == 2 for stories in separate)

    # Off-topic pages are marked, and keep their text (a later rejudge may need it).
    for page in pages:
        article_id, story, relevant, text = article_for_page(db, newsroom, page)
        if page["topic"] == "off":
            assert not relevant and story is None and text, page["id"]
        else:
            assert relevant and story is not None and text, page["id"]

    # Stories view counts copies; the summit story was carried by three outlets.
    top = rows(db, "SELECT copies FROM stories ORDER BY copies DESC LIMIT 1")[0][0]
    assert top == 3
    # The page whose text only the feed carries fell back to it, and says so.
    assert rows(db, "SELECT method FROM articles WHERE title LIKE 'Japan extends unilateral sanctions%'") == [("feed-content",)]
    # The cycle is recorded, and its summary reached Prefect as a Markdown artifact.
    assert rows(db, "SELECT articles_stored FROM cycles") == [(len(pages),)]
    import httpx

    body = {"artifacts": {"key": {"any_": ["monitor-summary"]}}, "limit": 20, "offset": 0, "sort": "CREATED_DESC"}
    artifacts = httpx.post(f"{prefect_api}/artifacts/filter", json=body).raise_for_status().json()
    assert any(summary["cycle_id"] in (a["data"] or "") and f"{len(pages)} stored" in (a["data"] or "") for a in artifacts)


def test_a_cycle_interrupted_after_fetching_stores_each_article_once_when_rerun(
    prefect_api: str, newsroom: DemoNewsroom, db: Path, tmp_path: Path
) -> None:
    from newswatch.fetch import FetchSettings
    from newswatch.pipeline import fetch_stage, load_seeds_stage, poll_stage

    # A cycle that died before its store stage: feeds polled, pages fetched, nothing appended.
    load_seeds_stage(db)
    poll_stage(db, newsroom.feeds(), FetchSettings(min_gap=FAST_GAP))
    fetch_stage(db, FetchSettings(min_gap=FAST_GAP))
    assert rows(db, "SELECT count(*) FROM articles WHERE NOT is_seed") == [(0,)]
    page_requests = len([r for r in newsroom.requests if r.path.startswith("/news/")])

    summary = run(newsroom, db, tmp_path)

    pages = newsroom.index["pages"]
    assert summary["store"]["articles_stored"] == len(pages)
    assert rows(db, "SELECT count(*), count(DISTINCT canonical_url) FROM articles WHERE NOT is_seed") == [(len(pages), len(pages))]
    # Nothing was fetched twice.
    assert len([r for r in newsroom.requests if r.path.startswith("/news/")]) == page_requests


def test_a_second_cycle_adds_nothing_and_polls_conditionally(prefect_api: str, newsroom: DemoNewsroom, db: Path, tmp_path: Path) -> None:
    run(newsroom, db, tmp_path)
    before = {t: rows(db, f"SELECT count(*) FROM {t}")[0][0] for t in ("article", "entry", "minhash_band")}
    first_requests = len(newsroom.requests)

    # Nothing is due yet: a scheduled cycle polls nothing.
    assert run(newsroom, db, tmp_path)["poll"]["feeds_not_due"] == len(newsroom.index["outlets"])
    assert len(newsroom.requests) == first_requests
    summary = run(newsroom, db, tmp_path, all_feeds=True)

    after = {t: rows(db, f"SELECT count(*) FROM {t}")[0][0] for t in ("article", "entry", "minhash_band")}
    assert after == before
    assert summary["poll"]["new_entries"] == 0 and summary["store"]["articles_stored"] == 0
    assert summary["poll"]["feeds_unchanged"] == len(newsroom.index["outlets"])
    second = newsroom.requests[first_requests:]
    # Only the feeds were requested again, each conditionally, each answered 304.
    assert len(second) == len(newsroom.index["outlets"])
    assert all(r.status == 304 and r.if_none_match and r.if_modified_since for r in second)
    # The validators went back exactly as the server sent them.
    for r in second:
        first = next(x for x in newsroom.requests[:first_requests] if x.path == r.path and x.outlet == r.outlet)
        assert first.status == 200
    states = dict(rows(db, "SELECT url, etag FROM feed"))
    for r in second:
        assert states[newsroom.url(r.outlet, r.path)] == r.if_none_match


def test_a_dead_host_and_a_malformed_feed_do_not_stop_the_cycle(prefect_api: str, newsroom: DemoNewsroom, db: Path, tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port on which nothing listens
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    dead = f"http://127.0.0.1:{dead_port}/rss.xml"
    broken = newsroom.add_route(
        "harbor-times", "/feeds/broken.xml",
        lambda h: (200, {"Content-Type": "application/rss+xml"}, b"<rss version='2.0'><channel><title>Broken</titl"),
    )
    summary = run(newsroom, db, tmp_path, [FeedSource(dead, "Dead host"), FeedSource(broken, "Broken feed")])

    assert summary["poll"]["feeds_failed"] == 2
    assert summary["store"]["articles_stored"] == len(newsroom.index["pages"])
    health = {url: (failures, error) for url, failures, error in rows(db, "SELECT url, consecutive_failures, last_error FROM feeds")}
    assert health[dead][0] == 1 and "cannot connect" in health[dead][1]
    assert health[broken][0] == 1 and "malformed feed" in health[broken][1]
    healthy = [v for k, v in health.items() if k not in (dead, broken)]
    assert healthy and all(f == 0 and e is None for f, e in healthy)
    # The failing feeds back off but stay in the list.
    assert rows(db, "SELECT count(*) FROM feeds WHERE url IN (?, ?) AND next_poll_at > now()", [dead, broken]) == [(2,)]


def test_a_bad_feed_list_is_a_clear_error(prefect_api: str, tmp_path: Path, db: Path) -> None:
    from newswatch.opml import FeedListError

    (tmp_path / "empty.opml").write_text("<opml version='2.0'><body/></opml>")
    with pytest.raises(FeedListError, match="lists no feeds"):
        monitor(feeds=str(tmp_path / "empty.opml"), db=str(db))
