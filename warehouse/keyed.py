"""The story decision's keyed state in PostgreSQL: the at-scale ``newswatch.stories.Archive``.

Where several workers decide stories at once, the lookups the decision makes need real keys
and indexes, which DuckLake lacks. ``PostgresArchive`` keeps them in PostgreSQL (schema and
statements in ``postgres/``, read by ``warehouse.sql.postgres_sql``):

* claims on canonical URLs and GUIDs (primary keys: one article each, whoever commits first);
* the first indexed article of each normalised text hash;
* the LSH band keys of indexed articles (a B-tree on ``(band_key, article_id)``);
* each article's story and text, for verification.

``record`` writes a decided batch in one transaction, every insert ``ON CONFLICT DO NOTHING``:
recording the same batch again (after a crash that hid whether the commit happened) adds
nothing. When another article already holds one of the batch's URLs or GUIDs, nothing of the
batch is written and ``record`` says which claims were lost; deciding the batch again then
finds those articles stored (``store`` does that). Article ids come from one sequence, unique
across workers. ``store`` also takes a transaction-scoped advisory lock around the decision and
its write, so that near-duplicates decided by two workers at once still meet.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from warehouse.sql import postgres_sql

if TYPE_CHECKING:  # psycopg is the scale extra's; the story module brings numpy
    import psycopg

    from newswatch.stories import Candidate, Decision, StoredArticle

#: The advisory lock ``store`` holds while it decides and records a batch ("NWSTORY" in ASCII).
DECISION_LOCK = 0x4E5753544F5259
#: How often ``record`` runs a transaction again that PostgreSQL aborted as a deadlock.
DEADLOCK_RETRIES = 5


@dataclass(frozen=True)
class KeyedArticle:
    """One decided article, as the keyed state keeps it."""

    article_id: int
    canonical_url: str
    guid: str | None
    story_id: int | None  # None: off-topic (only its claims are kept)
    text: str | None
    text_hash: str | None  # set for an indexed article, with its band keys
    band_keys: tuple[int, ...] = ()


@dataclass(frozen=True)
class Recorded:
    """What ``record`` did: nothing when any claim was lost (*lost*: URL or GUID → its holder's id)."""

    written: bool
    lost_urls: dict[str, int] = field(default_factory=dict)
    lost_guids: dict[str, int] = field(default_factory=dict)


def keyed_rows(candidates: Sequence[Candidate], decisions: Sequence[Decision],
               ids: dict[int, int]) -> list[KeyedArticle]:
    """The rows to record for a decided batch; *ids* maps each fresh candidate's batch ref to its article id."""
    from newswatch.dedup import fingerprint
    from newswatch.stories import batch_ref

    def resolve(ref: int | None) -> int | None:
        return ids.get(ref, ref) if ref is not None else None

    rows = []
    for i, (c, d) in enumerate(zip(candidates, decisions)):
        if d.already_stored:
            continue
        fp = (c.fingerprint or fingerprint(c.text or "")) if d.banded else None
        rows.append(KeyedArticle(ids[batch_ref(i)], c.canonical_url, c.guid, resolve(d.story),
                                 c.text if d.relevant else None, fp.text_hash if fp else None,
                                 tuple(fp.band_keys()) if fp else ()))
    return rows


class PostgresArchive:
    """The story decision's lookups and writes over one psycopg connection (autocommit)."""

    def __init__(self, con: psycopg.Connection):
        self.con = con

    @classmethod
    def connect(cls, url: str) -> PostgresArchive:
        """Open *url* and create the schema when missing."""
        import psycopg

        archive = cls(psycopg.connect(url, autocommit=True))
        archive.create_schema()
        return archive

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> PostgresArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def create_schema(self) -> None:
        self.con.execute(postgres_sql("schema"))

    def _rows(self, statement: str, *params: Any) -> list[tuple]:
        return self.con.execute(statement, list(params)).fetchall()

    # -- lookups (newswatch.stories.Archive) ------------------------------------------

    def stored_urls(self, urls: Sequence[str]) -> set[str]:
        return {r[0] for r in self._rows(postgres_sql("keyed/stored_urls"), list(urls))}

    def stored_guids(self, guids: Sequence[str]) -> set[str]:
        return {r[0] for r in self._rows(postgres_sql("keyed/stored_guids"), list(guids))}

    def by_text_hash(self, hashes: Sequence[str]) -> dict[str, StoredArticle]:
        from newswatch.stories import StoredArticle

        rows = self._rows(postgres_sql("keyed/by_text_hash"), list(hashes))
        return {h: StoredArticle(a, s, None) for h, a, s in rows}

    def by_band_keys(self, keys: Sequence[int]) -> dict[int, set[int]]:
        found: dict[int, set[int]] = {}
        for key, article_id in self._rows(postgres_sql("keyed/by_band_keys"), [int(k) for k in keys]):
            found.setdefault(key, set()).add(article_id)
        return found

    def articles(self, ids: Iterable[int]) -> dict[int, StoredArticle]:
        from newswatch.stories import StoredArticle

        rows = self._rows(postgres_sql("keyed/articles"), [int(i) for i in ids])
        return {a: StoredArticle(a, s, t) for a, s, t in rows}

    # -- writes -------------------------------------------------------------------------

    def next_article_ids(self, n: int) -> list[int]:
        return [r[0] for r in self._rows(postgres_sql("keyed/next_article_ids"), n)] if n else []

    def record(self, rows: Sequence[KeyedArticle]) -> Recorded:
        """Write a decided batch in one transaction: all of it, or (a claim lost) none of it."""
        import psycopg

        for attempt in range(DEADLOCK_RETRIES + 1):
            try:
                with self.con.transaction():
                    return self._record(rows)
            except _Lost as lost:
                return lost.recorded
            except psycopg.errors.DeadlockDetected:
                if attempt == DEADLOCK_RETRIES:
                    raise
        raise AssertionError("unreachable")

    def _record(self, rows: Sequence[KeyedArticle]) -> Recorded:
        """``record``'s statements, inside the caller's transaction; rolls it back when a claim is lost."""
        # Claims in key order, URLs before GUIDs: two writers wait on each other's rows in one order.
        urls = sorted((r.canonical_url, r.article_id) for r in rows)
        guids = sorted((r.guid, r.article_id) for r in rows if r.guid)
        lost_urls = self._claim(postgres_sql("keyed/claim_urls"), postgres_sql("keyed/url_owners"), urls)
        lost_guids = self._claim(postgres_sql("keyed/claim_guids"), postgres_sql("keyed/guid_owners"), guids)
        if lost_urls or lost_guids:
            raise _Lost(Recorded(False, lost_urls, lost_guids))
        on_topic = [r for r in rows if r.story_id is not None]
        if on_topic:
            self.con.execute(postgres_sql("keyed/insert_articles"),
                             [[r.article_id for r in on_topic], [r.story_id for r in on_topic],
                              [r.text for r in on_topic]])
        indexed = sorted((r.text_hash, r.article_id) for r in rows if r.text_hash)
        if indexed:
            self.con.execute(postgres_sql("keyed/insert_text_hashes"), [list(c) for c in zip(*indexed)])
        bands = [(k, r.article_id) for r in rows for k in r.band_keys]
        if bands:
            self.con.execute(postgres_sql("keyed/insert_bands"), [list(c) for c in zip(*bands)])
        return Recorded(True)

    def _claim(self, claim: str, owners: str, claims: list[tuple[str, int]]) -> dict[str, int]:
        """Claim each key for its article (statement *claim*); the keys another article holds
        (statement *owners*), with its id."""
        if not claims:
            return {}
        keys, ids = [list(c) for c in zip(*claims)]
        self.con.execute(claim, [keys, ids])
        mine = dict(claims)
        return {key: owner for key, owner in self.con.execute(owners, [keys]).fetchall() if owner != mine[key]}

    def store(self, candidates: Sequence[Candidate], *, lock: bool = True) -> tuple[list[Decision], dict[int, int]]:
        """Decide a batch and record it; the decisions and the article ids of the fresh candidates (batch ref → id).

        With *lock*, the decision and its write hold ``DECISION_LOCK``: workers place
        batches one at a time, so copies arriving at two workers at once still meet.
        A batch that lost a claim is decided again: the lost URL or GUID is stored now.
        """
        import psycopg

        from newswatch.stories import batch_ref, decide

        deadlocks = 0
        while True:
            try:
                with self.con.transaction():
                    if lock:
                        self.con.execute(postgres_sql("keyed/decision_lock"), [DECISION_LOCK])
                    decisions = decide(candidates, self)
                    fresh = [i for i, d in enumerate(decisions) if not d.already_stored]
                    ids = dict(zip((batch_ref(i) for i in fresh), self.next_article_ids(len(fresh))))
                    self._record(keyed_rows(candidates, decisions, ids))
                    return decisions, ids
            except _Lost:
                continue  # decided again: the lost claims are stored articles now
            except psycopg.errors.DeadlockDetected:  # with a writer that does not take the lock
                deadlocks += 1
                if deadlocks > DEADLOCK_RETRIES:
                    raise


class _Lost(Exception):
    """A claim was lost: leaves the transaction block, which rolls the batch back."""

    def __init__(self, recorded: Recorded):
        super().__init__("claim lost")
        self.recorded = recorded
