"""The story decision's keyed state in PostgreSQL (warehouse/keyed.py): the same answers as the
in-memory archive, writes that can be repeated, and claims that two writers cannot both win.

Texts are the synthetic web's (sentences of the demo newsroom) and the demo articles; each test
that needs PostgreSQL makes its own database on the session's cluster.
"""

from __future__ import annotations

import random
import threading
from itertools import count

import pytest

from bench.synthetic import SyntheticWeb
from newswatch.dedup import fingerprint
from newswatch.stories import Candidate, MemoryArchive, batch_ref, decide
from tests.test_stories import article, relevant, syndicated, teaser_page, text
from warehouse.keyed import KeyedArticle, PostgresArchive, keyed_rows

_names = count()


@pytest.fixture
def archive_url(postgres, request) -> str:
    """A database of its own for each test."""
    return postgres.create_database(f"keyed_{request.node.name[:40].lower()}_{next(_names)}")


def table_counts(archive: PostgresArchive) -> dict[str, int]:
    return {t: archive.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("keyed_url", "keyed_guid", "keyed_article", "keyed_text_hash", "keyed_band")}


def synthetic_stream(n: int = 200) -> list[Candidate]:
    """*n* articles of the synthetic web (a quarter syndicated, a third off-topic), each once more in
    another site's text when its number is a multiple of 7, with repeated URLs and GUIDs and teaser pages."""
    web = SyntheticWeb(hosts=6, articles=n, latency=0, syndicated=0.25, off_topic=0.3, seed=11)
    rng = random.Random(5)
    out: list[Candidate] = []
    for a in web.articles:
        body = "\n\n".join(a.paragraphs)
        out.append(Candidate(f"http://news{a.host}.test/{a.number}", f"guid-{a.number}", body, a.topic == "on",
                             f"synthetic {a.topic}", fingerprint(body)))
        if a.number % 7 == 0 and len(a.paragraphs) >= 4:
            copy = syndicated(list(a.paragraphs), f"{a.title} (wire)")
            out.append(Candidate(f"http://wire.test/{a.number}", None, copy, rng.random() < 0.5, "wire",
                                 fingerprint(copy)))
        if a.number % 23 == 0:  # seen again: by URL, and by GUID under another URL
            out.append(Candidate(f"http://news{a.host}.test/{a.number}", None, "again", True, "again"))
            out.append(Candidate(f"http://mirror.test/{a.number}", f"guid-{a.number}", "again", True, "again"))
    titles = [a.title for a in web.articles[:12]]
    out += [Candidate(f"http://rail.test/{k}", None, teaser_page(titles[k:] + titles[:k]), True, "rail")
            for k in range(3)]
    return out


def test_rows_to_record_follow_the_decisions() -> None:
    name = "en-summit-proposal"
    batch = [relevant("http://a.example/1", text(name), guid="g-1"),
             relevant("http://b.example/1", syndicated(article(name), "Summit plan")),
             Candidate("http://c.example/1", None, text("en-japan-series-game"), False, "off-topic"),
             relevant("http://a.example/1", "seen already")]
    decisions = decide(batch, MemoryArchive())
    rows = keyed_rows(batch, decisions, {batch_ref(0): 10, batch_ref(1): 11, batch_ref(2): 12})
    assert [r.article_id for r in rows] == [10, 11, 12]
    first, copy, off = rows
    assert first.story_id == copy.story_id == 10 and first.guid == "g-1"
    assert len(first.band_keys) == 32 and first.text_hash == fingerprint(text(name)).text_hash
    assert copy.text_hash != first.text_hash and copy.band_keys
    assert off.story_id is None and off.text is None and off.text_hash is None and off.band_keys == ()


@pytest.mark.scale
def test_the_postgres_archive_decides_like_the_memory_archive(archive_url: str) -> None:
    stream = synthetic_stream()
    memory = MemoryArchive()
    with PostgresArchive.connect(archive_url) as pg:
        kinds = {"stored": 0, "copies": 0, "stories": 0}
        for start in range(0, len(stream), 30):
            batch = stream[start:start + 30]
            before = max(memory.articles_by_id, default=0)
            expected = memory.store(batch)
            got, ids = pg.store(batch)
            assert got == expected
            assert sorted(ids.values()) == list(range(before + 1, max(memory.articles_by_id) + 1))
            kinds["stored"] += sum(d.already_stored for d in got)
            kinds["copies"] += sum(d.duplicate_of is not None for d in got)
            kinds["stories"] += sum(d.story is not None and d.duplicate_of is None for d in got)
        assert kinds["stored"] >= 10 and kinds["copies"] >= 40 and kinds["stories"] >= 100, kinds

        # Every lookup answers the same for every key stored.
        urls = [c.canonical_url for c in stream] + ["http://never.test/1"]
        guids = [c.guid for c in stream if c.guid] + ["never"]
        assert pg.stored_urls(urls) == memory.stored_urls(urls)
        assert pg.stored_guids(guids) == memory.stored_guids(guids)
        hashes = [fingerprint(c.text).text_hash for c in stream if c.text]
        assert ({h: (a.article_id, a.story_id) for h, a in pg.by_text_hash(hashes).items()}
                == {h: (a.article_id, a.story_id) for h, a in memory.by_text_hash(hashes).items()})
        keys = sorted(memory.bands) + [12345]
        assert pg.by_band_keys(keys) == memory.by_band_keys(keys)
        with_story = {i: a for i, a in memory.articles_by_id.items() if a.story_id is not None}
        assert pg.articles(list(memory.articles_by_id)) == with_story


@pytest.mark.scale
def test_recording_a_batch_again_after_a_crash_doubles_nothing(archive_url: str) -> None:
    import psycopg

    stream = synthetic_stream(60)
    with PostgresArchive.connect(archive_url) as pg:
        decisions = decide(stream, pg)
        fresh = [i for i, d in enumerate(decisions) if not d.already_stored]
        rows = keyed_rows(stream, decisions, dict(zip(map(batch_ref, fresh), pg.next_article_ids(len(fresh)))))
        # A writer that dies before its commit leaves nothing.
        crashing = psycopg.connect(archive_url)  # not autocommit: its statements open a transaction
        PostgresArchive(crashing)._record(rows)
        crashing.close()  # gone before its commit
        assert set(table_counts(pg).values()) == {0}
        assert pg.record(rows).written
        after_first = table_counts(pg)
        assert after_first["keyed_url"] == len(rows) and after_first["keyed_band"] == 32 * len(pg.by_text_hash(
            [r.text_hash for r in rows if r.text_hash]))
        # The commit happened but the writer did not learn it: the same batch again adds nothing.
        again = pg.record(rows)
        assert again.written and not again.lost_urls and not again.lost_guids
        assert table_counts(pg) == after_first
        # Decided again, the whole batch is stored already.
        assert all(d.already_stored for d in decide(stream, pg))


def racing_writer(url: str, urls: list[str], seed: int, start: threading.Barrier,
                  won: dict[str, int], lost: dict[str, int]) -> None:
    """Claim every URL in batches of 20, in an order of its own; a lost claim is an article stored already."""
    order = urls[:]
    random.Random(seed).shuffle(order)
    with PostgresArchive.connect(url) as pg:
        start.wait()
        for b in range(0, len(order), 20):
            ids = pg.next_article_ids(20)
            rows = [KeyedArticle(i, u, f"guid:{u}" if u.endswith(("1", "3", "5", "7", "9")) else None, i,
                                 f"text of {u}", None) for i, u in zip(ids, order[b:b + 20])]
            while rows:
                result = pg.record(rows)
                if result.written:
                    won.update((r.canonical_url, r.article_id) for r in rows)
                    break
                lost.update(result.lost_urls)
                rows = [r for r in rows if r.canonical_url not in result.lost_urls
                        and (r.guid or "") not in result.lost_guids]


@pytest.mark.scale
def test_two_writers_racing_on_the_same_urls_claim_each_once(archive_url: str) -> None:
    urls = [f"http://race.test/{k}" for k in range(200)]
    PostgresArchive.connect(archive_url).close()  # the schema, before the race
    start = threading.Barrier(2)
    won: list[dict[str, int]] = [{}, {}]
    lost: list[dict[str, int]] = [{}, {}]
    writers = [threading.Thread(target=racing_writer, args=(archive_url, urls, seed, start, won[seed], lost[seed]))
               for seed in (0, 1)]
    for w in writers:
        w.start()
    for w in writers:
        w.join(timeout=120)
    assert not any(w.is_alive() for w in writers)
    with PostgresArchive.connect(archive_url) as pg:
        holders = dict(pg.con.execute("SELECT canonical_url, article_id FROM keyed_url").fetchall())
        counts = table_counts(pg)
    assert sorted(holders) == sorted(urls)  # each URL claimed, once (it is the primary key)
    assert not set(won[0]) & set(won[1]) and set(won[0]) | set(won[1]) == set(urls)
    for me, other in ((0, 1), (1, 0)):
        assert all(holders[u] == i for u, i in won[me].items())
        # The loser learned every URL it did not win, with the winner's article id.
        assert {u: holders[u] for u in set(urls) - set(won[me])} == lost[me]
    assert lost[0] or lost[1]
    assert counts["keyed_article"] == 200 and counts["keyed_guid"] == 100  # nothing of a lost claim was written


@pytest.mark.scale
def test_copies_stored_by_two_workers_at_once_meet_in_one_story(archive_url: str) -> None:
    names = ["en-summit-proposal", "ja-summit-proposal", "ko-summit-proposal", "en-abductee-families-meeting",
             "ja-tokutei-shissosha-toyama", "en-sanctions-extension"]
    first = [relevant(f"http://a.example/{n}", text(n)) for n in names]
    second = [relevant(f"http://b.example/{n}", syndicated(article(n), f"{n} (wire)")) for n in names]
    # Both workers receive both lists, in opposite orders: every URL twice, every story at both at once.
    work = [first + second, second[::-1] + first[::-1]]
    PostgresArchive.connect(archive_url).close()
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker(batches: list[Candidate]) -> None:
        try:
            with PostgresArchive.connect(archive_url) as pg:
                start.wait()
                for k in range(0, len(batches), 3):
                    pg.store(batches[k:k + 3])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(w,)) for w in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and not any(t.is_alive() for t in threads)
    with PostgresArchive.connect(archive_url) as pg:
        story = dict(pg.con.execute(
            "SELECT u.canonical_url, a.story_id FROM keyed_url u JOIN keyed_article a USING (article_id)").fetchall())
        assert table_counts(pg)["keyed_url"] == len(names) * 2
    for n in names:
        assert story[f"http://a.example/{n}"] == story[f"http://b.example/{n}"], n
    assert len(set(story.values())) == len(names)


@pytest.mark.scale
def test_the_story_decision_benchmark_runs_on_both_backends(postgres) -> None:
    """At a tiny size, so that it cannot rot (it starts a cluster of its own; no timing is asserted)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, str(root / "bench" / "story_decision.py"), "--sizes", "300",
                             "--batches", "2"], capture_output=True, text=True, timeout=600, cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith(("duckdb ", "postgres "))]
    assert [(r[0], r[1]) for r in rows] == [("duckdb", "300"), ("postgres", "300")]
    assert all(float(r[2]) > 0 for r in rows) and rows[0][4] == "—" and float(rows[1][4]) > 0
    assert "the same decisions on every backend and size" in result.stdout
