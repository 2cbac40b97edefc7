"""The only module that talks to DuckDB.

A write connection is held only for the duration of one stage (seconds), so
that ad-hoc readers can get in between. Migrations under ``migrations/`` are
applied, each in its own transaction, whenever the file is opened for writing.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from newswatch.export import WRITERS

if TYPE_CHECKING:  # the story module brings numpy: not loaded by readers that never decide stories
    from newswatch.stories import StoredArticle

log = logging.getLogger(__name__)

# DuckDB's Python binding tries `import pandas` for every parameter value it
# converts; without pandas installed, each failed import searches sys.path
# again (9,000 values cost 0.3 s). Recording pandas as absent makes the
# failure instant. Only when pandas really is not installed.
if "pandas" not in sys.modules and importlib.util.find_spec("pandas") is None:
    sys.modules["pandas"] = None  # type: ignore[assignment]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse file for longer than we would wait."""


class NoWarehouse(FileNotFoundError):
    """A reader was pointed at a warehouse that does not exist, or at a folder."""


def require_warehouse(path: Path | str) -> Path:
    """*path*, when a warehouse file is there to read; readers never create one."""
    path = Path(path)
    if path.is_dir():
        raise NoWarehouse(f"{path} is a folder, not a warehouse file (--db names the DuckDB file)")
    if not path.exists():
        raise NoWarehouse(f"no warehouse at {path}; run a cycle first")
    return path


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def migrations() -> list[Migration]:
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9]_*.sql")):
        found.append(Migration(int(path.name[:3]), path.stem, path.read_text("utf-8")))
    return found


def _is_lock_error(exc: duckdb.Error) -> bool:
    return "lock" in str(exc).lower()


def connect(path: Path | str, *, read_only: bool = False, wait: float = 60.0,
            on_wait: Any = None) -> duckdb.DuckDBPyConnection:
    """Open *path*, waiting up to *wait* seconds while another process holds it.

    DuckDB lets one process write a file, or several read it, never both at
    once; every connection here is short, so waiting a little always works.
    ``on_wait(seconds_so_far)`` is called while waiting.
    """
    if read_only:
        require_warehouse(path)
    started = time.monotonic()
    delay = 0.02
    warned = False
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if not _is_lock_error(exc):
                raise
            waited = time.monotonic() - started
            if waited >= wait:
                raise WarehouseBusy(f"{path} is held by another process (waited {wait:.0f}s)") from exc
            if on_wait is not None:
                on_wait(waited)
            elif not warned:
                log.info("Warehouse %s is busy; waiting for the other process", path)
                warned = True
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply pending migrations; returns the names applied now."""
    con.execute(
        """CREATE TABLE IF NOT EXISTS schema_migration (
               version INTEGER PRIMARY KEY, name TEXT NOT NULL,
               checksum TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"""
    )
    applied = {v: c for v, c in con.execute("SELECT version, checksum FROM schema_migration").fetchall()}
    done = []
    for m in migrations():
        if m.version in applied:
            if applied[m.version] != m.checksum:
                log.warning("Migration %s changed after it was applied; not re-applied", m.name)
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(m.sql)
            con.execute(
                "INSERT INTO schema_migration VALUES (?, ?, ?, now())", [m.version, m.name, m.checksum]
            )
            con.execute("COMMIT")
        except duckdb.Error:
            con.execute("ROLLBACK")
            raise
        log.info("Applied migration %s", m.name)
        done.append(m.name)
    return done


@contextmanager
def open_warehouse(path: Path | str, *, read_only: bool = False, wait: float = 60.0) -> Iterator["Warehouse"]:
    """Open the warehouse (migrating it when writable) for one stage."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = connect(path, read_only=read_only, wait=wait)
    opened = time.monotonic()
    try:
        if not read_only:
            migrate(con)
        yield Warehouse(con)
    finally:
        con.close()
        log.debug("Held %s (%s) for %.3fs", path, "read" if read_only else "write", time.monotonic() - opened)


def _rows(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    cols = [d[0] for d in cursor.description]
    return [dict(zip(cols, row)) for row in cursor.fetchall()]


class Warehouse:
    """Typed operations over one open connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def _types(self, table: str) -> dict[str, str]:
        return {name: kind for name, kind, *_ in self.con.execute(f"DESCRIBE {table}").fetchall()}

    def _unnest(self, table: str, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> tuple[str, list[Any]]:
        """A SELECT that yields *rows* as typed columns: one statement for a whole batch.

        DuckDB runs ``executemany`` one row at a time; a batch of lists unnested
        side by side is one vectorised statement, and keeps the write lock short.
        """
        types = self._types(table)
        select = ", ".join(f"unnest(${i + 1}::{types[c]}[]) AS {c}" for i, c in enumerate(columns))
        return f"SELECT {select}", [[row[c] for row in rows] for c in columns]

    def bulk_insert(self, table: str, rows: Sequence[dict[str, Any]], conflict: str = "DO NOTHING") -> None:
        if not rows:
            return
        columns = list(rows[0])
        select, params = self._unnest(table, rows, columns)
        self.con.execute(f"INSERT INTO {table} ({', '.join(columns)}) {select} ON CONFLICT {conflict}", params)

    def bulk_update(self, table: str, key: str, rows: Sequence[dict[str, Any]], set_sql: str | None = None) -> None:
        """UPDATE *table* from *rows* matched on *key*; every other column is assigned."""
        if not rows:
            return
        columns = list(rows[0])
        select, params = self._unnest(table, rows, columns)
        assignments = set_sql or ", ".join(f"{c} = u.{c}" for c in columns if c != key)
        self.con.execute(f"UPDATE {table} SET {assignments} FROM ({select}) u WHERE {table}.{key} = u.{key}", params)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        return _rows(self.con.execute(sql, params or []))

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        row = self.con.execute(sql, params or []).fetchone()
        return row[0] if row else None

    # -- feeds --------------------------------------------------------------

    def feed_states(self) -> dict[str, dict[str, Any]]:
        return {r["url"]: r for r in self.query("SELECT * FROM feed")}

    def save_poll(self, feed_rows: Iterable[dict[str, Any]], entries: Iterable[dict[str, Any]]) -> int:
        """Record feed states and new entries in one transaction; returns entries added."""
        feed_rows, entries = list(feed_rows), list(entries)
        columns = ("url", "title", "etag", "last_modified", "body_hash", "last_polled_at", "last_success_at",
                   "last_new_item_at", "last_status", "consecutive_failures", "last_error", "next_poll_at",
                   "item_interval_s", "min_interval_s", "polls", "charset_note")
        with self.transaction():
            self.bulk_insert("feed", [{c: row[c] for c in columns} for row in feed_rows],
                             conflict="(url) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in columns[1:]))
            before = self.scalar("SELECT count(*) FROM entry")
            self.bulk_insert("entry", [{**e, "status": "pending"} for e in entries])
            return self.scalar("SELECT count(*) FROM entry") - before

    def known_entries(self, keys: Sequence[str], guids: Sequence[str]) -> tuple[set[str], set[str]]:
        """Which of these entry keys and GUIDs have been seen before (in any feed)."""
        seen_keys = {
            r[0]
            for r in self.con.execute(
                "SELECT entry_key FROM entry WHERE entry_key IN (SELECT unnest($1::TEXT[]))", [list(keys)]
            ).fetchall()
        }
        seen_keys |= {
            r[0]
            for r in self.con.execute(
                "SELECT canonical_url FROM article WHERE canonical_url IN (SELECT unnest($1::TEXT[]))",
                [list(keys)],
            ).fetchall()
        }
        seen_guids = {
            r[0]
            for r in self.con.execute(
                "SELECT guid FROM entry WHERE guid IN (SELECT unnest($1::TEXT[]))", [list(guids)]
            ).fetchall()
        }
        return seen_keys, seen_guids

    # -- entries through fetch and extraction -------------------------------

    def entries_to_fetch(self, max_attempts: int) -> list[dict[str, Any]]:
        return self.query(
            """SELECT * FROM entry WHERE status = 'pending' AND attempts < ?
               ORDER BY discovered_at, entry_key""",
            [max_attempts],
        )

    def save_fetches(self, results: Iterable[dict[str, Any]]) -> None:
        results = list(results)
        if not results:
            return
        with self.transaction():
            columns = [c for c in results[0] if c != "entry_key"]
            self.bulk_update("entry", "entry_key", results,
                             ", ".join(f"{c} = u.{c}" for c in columns) + ", attempts = entry.attempts + 1")

    def entries_to_store(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Extracted entries not stored yet, oldest first (at most *limit*)."""
        return self.query(
            "SELECT * FROM entry WHERE status = 'extracted' ORDER BY discovered_at, entry_key"
            + (f" LIMIT {int(limit)}" if limit else "")
        )

    def count_entries_to_store(self) -> int:
        return self.con.execute("SELECT count(*) FROM entry WHERE status = 'extracted'").fetchone()[0]

    # -- articles -----------------------------------------------------------

    def next_article_ids(self, n: int) -> list[int]:
        if n == 0:
            return []
        return [r[0] for r in self.con.execute("SELECT nextval('article_id_seq') AS id FROM range(?) ORDER BY id", [n]).fetchall()]

    # Lookups by key are written as IN lists (integers inlined, text as parameters),
    # which DuckDB answers from the ART index; an IN (SELECT unnest(...)) becomes a
    # hash join that scans the whole table, so its cost would grow with the archive.

    def _lookup(self, sql: str, values: Sequence[Any], *, chunk: int = 2000) -> list[tuple]:
        """Run *sql*, whose ``{in}`` is filled with an IN list, over *values* in chunks."""
        rows: list[tuple] = []
        values = list(dict.fromkeys(values))
        for i in range(0, len(values), chunk):
            part = values[i:i + chunk]
            if all(isinstance(v, int) for v in part):
                rows += self.con.execute(sql.format(**{"in": ", ".join(str(int(v)) for v in part)})).fetchall()
            else:
                rows += self.con.execute(sql.format(**{"in": ", ".join("?" * len(part))}), part).fetchall()
        return rows

    def stored_canonical_urls(self, urls: Sequence[str]) -> set[str]:
        return {r[0] for r in self._lookup("SELECT canonical_url FROM article WHERE canonical_url IN ({in})", urls)}

    def append_articles(
        self,
        articles: Sequence[dict[str, Any]],
        minhashes: Sequence[dict[str, Any]],
        bands: Sequence[tuple[int, int]],
        entry_updates: Sequence[dict[str, Any]],
        search_docs: Sequence[dict[str, Any]] = (),
    ) -> int:
        """Insert articles with their fingerprints and search documents, and close their entries, atomically."""
        with self.transaction():
            before = self.scalar("SELECT count(*) FROM article")
            self.bulk_insert("article", articles)
            self._insert_fingerprints(minhashes, bands)
            self.bulk_update("entry", "entry_key", entry_updates, "status = 'stored', article_id = u.article_id")
            self.bulk_insert("article_search", list(search_docs))
            return self.scalar("SELECT count(*) FROM article") - before

    def _insert_fingerprints(self, minhashes: Sequence[dict[str, Any]], bands: Sequence[tuple[int, int]]) -> None:
        if minhashes:
            self.con.execute(
                """INSERT INTO article_minhash
                   SELECT unnest($1::BIGINT[]), unnest($2::INTEGER[]), unnest($3::UBIGINT[][])
                   ON CONFLICT (article_id) DO NOTHING""",
                [[m["article_id"] for m in minhashes], [m["shingles"] for m in minhashes],
                 [m["signature"] for m in minhashes]],
            )
        if bands:
            # One statement for all band rows: 32 per article add up.
            keys, ids = zip(*bands)
            self.con.execute(
                "INSERT INTO minhash_band SELECT unnest($1::BIGINT[]), unnest($2::BIGINT[])",
                [list(keys), list(ids)],
            )

    def rejudge_articles(self, updates: Sequence[dict[str, Any]], promoted: Sequence[int], demoted: Sequence[int],
                         minhashes: Sequence[dict[str, Any]], bands: Sequence[tuple[int, int]],
                         search_docs: Sequence[dict[str, Any]], alerts: bool, now: datetime) -> None:
        """Record new verdicts and stories (``newswatch rejudge``), atomically.

        Articles that became relevant get their fingerprint indexed and a search
        document; with *alerts* the rules will look at them again, otherwise they
        are marked as seen by the rules. Articles that became off-topic leave the
        index and the search.
        """
        with self.transaction():
            self.bulk_update("article", "article_id", updates)
            if demoted:
                ids = ", ".join(str(int(a)) for a in demoted)
                self.con.execute(f"DELETE FROM minhash_band WHERE article_id IN ({ids})")
                self.con.execute(f"DELETE FROM article_search WHERE article_id IN ({ids})")
            self._insert_fingerprints(minhashes, bands)
            self.bulk_insert("article_search", list(search_docs))
            if promoted and alerts:
                self.con.execute(f"DELETE FROM rule_check WHERE article_id IN ({', '.join(str(int(a)) for a in promoted)})")
            elif promoted:
                self.bulk_insert("rule_check", [{"article_id": a, "checked_at": now} for a in promoted])

    # -- cycles -------------------------------------------------------------

    def record_cycle(self, row: dict[str, Any]) -> None:
        cols = list(row)
        self.con.execute(
            f"INSERT INTO cycle ({', '.join(cols)}) VALUES ({', '.join('$' + c for c in cols)}) "
            "ON CONFLICT (cycle_id) DO NOTHING",
            row,
        )


class WarehouseArchive:
    """The story decision's lookups (``newswatch.stories.Archive``), answered from the warehouse.

    With *before*, only articles with smaller ids are seen: ``newswatch rejudge``
    replays the archive in the order it was stored.
    """

    def __init__(self, wh: Warehouse, before: int | None = None):
        self.wh = wh
        self.before = before

    def _visible(self, column: str = "article_id") -> str:
        return "" if self.before is None else f" AND {column} < {int(self.before)}"

    def stored_urls(self, urls: Sequence[str]) -> set[str]:
        return {r[0] for r in self.wh._lookup("SELECT canonical_url FROM article WHERE canonical_url IN ({in})", urls)}

    def stored_guids(self, guids: Sequence[str]) -> set[str]:
        return {r[0] for r in self.wh._lookup("SELECT guid FROM article WHERE guid IN ({in})", guids)}

    def by_text_hash(self, hashes: Sequence[str]) -> dict[str, StoredArticle]:
        from newswatch.stories import StoredArticle

        first: dict[str, StoredArticle] = {}
        for h, a, s in self.wh._lookup(
            "SELECT text_hash, article_id, story_id FROM article WHERE text_hash IN ({in}) AND story_id IS NOT NULL"
            + self._visible(),
            hashes,
        ):
            if h not in first or a < first[h].article_id:
                first[h] = StoredArticle(a, s, None)
        return first

    def by_band_keys(self, keys: Sequence[int]) -> dict[int, set[int]]:
        found: dict[int, set[int]] = {}
        for key, article_id in self.wh._lookup(
                "SELECT band_key, article_id FROM minhash_band WHERE band_key IN ({in})" + self._visible(),
                [int(k) for k in keys]):
            found.setdefault(key, set()).add(article_id)
        return found

    def articles(self, ids: Iterable[int]) -> dict[int, StoredArticle]:
        from newswatch.stories import StoredArticle

        rows = self.wh._lookup("SELECT article_id, story_id, text FROM article WHERE article_id IN ({in})",
                               [int(i) for i in ids])
        return {a: StoredArticle(a, s, t) for a, s, t in rows}


def utcnow() -> datetime:
    from datetime import timezone

    return datetime.now(timezone.utc)


def fts_extension_path() -> Path:
    """The fts extension shipped on PyPI (duckdb-extension-fts): loaded by path, no download."""
    spec = importlib.util.find_spec("duckdb_extension_fts")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the duckdb-extension-fts package is not installed")
    base = Path(list(spec.submodule_search_locations)[0]) / "extensions" / f"v{duckdb.__version__}"
    path = base / "fts.duckdb_extension"
    if not path.exists():
        raise RuntimeError(f"no fts extension for DuckDB {duckdb.__version__} in {base.parent}; "
                           "install duckdb-extension-fts of the same version as duckdb")
    return path


def load_fts(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"LOAD '{fts_extension_path()}'")


def refresh_search_index(wh: "Warehouse") -> bool:
    """Rebuild the full-text index when it does not cover every search document.

    Search documents are appended with their articles, in the same transaction;
    the index (DuckDB's fts builds it whole) is rebuilt after, once per stage.
    Checking coverage rather than remembering to rebuild means a crash between
    the append and the rebuild is repaired by the next stage that stores.
    """
    total = wh.scalar("SELECT count(*) FROM article_search")
    has_index = wh.scalar("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'fts_main_article_search' "
                          "AND table_name = 'docs'")
    indexed = wh.scalar("SELECT count(*) FROM fts_main_article_search.docs") if has_index else None
    if total == 0 or indexed == total:
        return False
    load_fts(wh.con)
    wh.con.execute(
        """PRAGMA create_fts_index('article_search', 'article_id', 'tokens', stemmer = 'none',
               stopwords = 'none', ignore = '\\s+', strip_accents = 0, lower = 0, overwrite = 1)"""
    )
    return True


def search(path: Path | str, query_tokens: Sequence[str], *, limit: int = 20, wait: float = 120.0,
           on_wait: Any = None) -> list[dict[str, Any]]:
    """Articles matching every token, best BM25 score first, with their text (for a snippet)."""
    con = connect(Path(path), read_only=True, wait=wait, on_wait=on_wait)
    try:
        load_fts(con)
        has_index = con.execute(
            "SELECT count(*) FROM duckdb_schemas() WHERE schema_name = 'fts_main_article_search'"
        ).fetchone()[0]
        if not has_index:
            return []
        cursor = con.execute(
            """SELECT a.article_id, a.story_id, s.score, a.title, a.source, a.language,
                      coalesce(a.canonical_url, a.url) AS url,
                      coalesce(a.published_at, a.first_seen_at) AS published, a.is_seed, a.text
               FROM (SELECT article_id,
                            fts_main_article_search.match_bm25(article_id, $1, conjunctive := 1) AS score
                     FROM article_search) s
               JOIN articles a USING (article_id)
               WHERE s.score IS NOT NULL
               ORDER BY s.score DESC, a.article_id
               LIMIT $2""",
            [" ".join(query_tokens), limit],
        )
        return _rows(cursor)
    finally:
        con.close()


class AlertStore:
    """Alert and digest operations (kept apart from the article pipeline's)."""

    def __init__(self, wh: Warehouse):
        self.wh = wh
        self.con = wh.con

    def unchecked_articles(self) -> list[dict[str, Any]]:
        """Stored articles the rules have not seen, oldest first, with their story's origin."""
        return self.wh.query(
            """SELECT a.article_id, a.title, a.text, a.story_id, a.relevant, a.is_seed,
                      o.is_seed AS origin_is_seed
               FROM article a
               LEFT JOIN article o ON o.article_id = a.story_id
               WHERE a.article_id NOT IN (SELECT article_id FROM rule_check)
               ORDER BY a.article_id"""
        )

    def alerts_for_stories(self, story_ids: Sequence[int]) -> dict[tuple[str, int], int]:
        rows = self.con.execute(
            "SELECT rule, story_id, alert_id FROM alert WHERE story_id IN (SELECT unnest($1::BIGINT[]))",
            [list(story_ids)],
        ).fetchall()
        return {(r, s): a for r, s, a in rows}

    def next_alert_ids(self, n: int) -> list[int]:
        if n == 0:
            return []
        return [r[0] for r in self.con.execute("SELECT nextval('alert_id_seq') AS id FROM range(?) ORDER BY id", [n]).fetchall()]

    def save_alerts(self, alerts: Sequence[dict[str, Any]], attachments: Sequence[dict[str, Any]],
                    checked: Sequence[int], now: datetime, immediate: Sequence[int] = ()) -> int:
        """Store new alerts, their copies and the articles checked; queue the *immediate* ones to send."""
        with self.wh.transaction():
            before = self.wh.scalar("SELECT count(*) FROM alert")
            self.wh.bulk_insert("alert", alerts)
            self.wh.bulk_insert("alert_article", attachments)
            self.wh.bulk_insert("immediate_alert", [{"alert_id": a} for a in immediate])
            self.wh.bulk_insert("rule_check", [{"article_id": a, "checked_at": now} for a in checked])
            return self.wh.scalar("SELECT count(*) FROM alert") - before

    # -- digests ----------------------------------------------------------------

    def unsent_digest(self) -> dict[str, Any] | None:
        rows = self.wh.query("SELECT * FROM digest WHERE sent_at IS NULL ORDER BY created_at LIMIT 1")
        return rows[0] if rows else None

    def pending_alerts(self) -> list[dict[str, Any]]:
        """Undelivered alerts not yet in a digest, with what a digest shows of their story.

        ``immediate_sent_at`` is when the alert went out as it happened (None if it did not).
        """
        return self.wh.query(
            """SELECT al.alert_id, al.rule, al.severity, al.matched, al.snippet, al.created_at,
                      al.story_id, al.rule_version, al.field, im.sent_at AS immediate_sent_at,
                      o.title AS origin_title, o.source AS origin_source,
                      o.canonical_url AS origin_url, o.published_at AS origin_published_at,
                      o.first_seen_at AS origin_first_seen_at,
                      list({'title': c.title, 'source': c.source, 'url': c.canonical_url}
                           ORDER BY c.first_seen_at) FILTER (WHERE c.article_id <> o.article_id) AS copies
               FROM alert al
               JOIN article o ON o.article_id = al.story_id
               LEFT JOIN article c ON c.story_id = al.story_id
               LEFT JOIN immediate_alert ia ON ia.alert_id = al.alert_id
               LEFT JOIN immediate_message im ON im.message_key = ia.message_key
               WHERE al.delivered_at IS NULL AND al.digest_id IS NULL
               GROUP BY ALL
               ORDER BY al.created_at DESC, o.published_at DESC NULLS LAST, al.alert_id DESC"""
        )

    def feeds_in_trouble(self) -> list[dict[str, Any]]:
        return self.wh.query(
            """SELECT url, title, status, consecutive_failures, last_error, last_new_item_at
               FROM feed_health WHERE status IN ('failing', 'silent') ORDER BY status, coalesce(title, url)"""
        )

    def create_digest(self, row: dict[str, Any], alert_ids: Sequence[int]) -> None:
        with self.wh.transaction():
            cols = list(row)
            self.con.execute(
                f"INSERT INTO digest ({', '.join(cols)}) VALUES ({', '.join('$' + c for c in cols)})", row
            )
            self.con.execute(
                "UPDATE alert SET digest_id = ? WHERE alert_id IN (SELECT unnest($2::BIGINT[]))",
                [row["digest_id"], list(alert_ids)],
            )

    def release_digest(self, digest_id: str) -> None:
        """Undo a digest that could not be delivered: its alerts wait for the next one."""
        with self.wh.transaction():
            self.con.execute("UPDATE alert SET digest_id = NULL WHERE digest_id = ? AND delivered_at IS NULL", [digest_id])
            self.con.execute("DELETE FROM digest WHERE digest_id = ? AND sent_at IS NULL", [digest_id])

    def mark_sent(self, digest_id: str, channels: str, now: datetime) -> int:
        with self.wh.transaction():
            self.con.execute("UPDATE digest SET sent_at = ?, channels = ? WHERE digest_id = ?", [now, channels, digest_id])
            self.con.execute("UPDATE alert SET delivered_at = ? WHERE digest_id = ? AND delivered_at IS NULL", [now, digest_id])
            return self.wh.scalar("SELECT count(*) FROM alert WHERE digest_id = ?", [digest_id])

    # -- immediate delivery (newswatch/immediate.py) ------------------------------------

    def unfixed_immediate(self) -> set[int]:
        """Queued immediate alerts that no message holds yet and no digest has taken."""
        return {r[0] for r in self.con.execute(
            """SELECT i.alert_id FROM immediate_alert i JOIN alert a USING (alert_id)
               WHERE i.message_key IS NULL AND a.delivered_at IS NULL AND a.digest_id IS NULL""").fetchall()}

    def fix_immediate(self, messages: Sequence[dict[str, Any]], members: dict[int, str]) -> None:
        """Store messages and tie each alert to its message (alert id → message key), atomically."""
        with self.wh.transaction():
            self.wh.bulk_insert("immediate_message", messages, conflict="(message_key) DO NOTHING")
            self.wh.bulk_update("immediate_alert", "alert_id",
                                [{"alert_id": a, "message_key": k} for a, k in members.items()])

    def unsent_immediate(self) -> list[dict[str, Any]]:
        """Fixed messages not confirmed sent, oldest first, while a digest has not yet carried all their alerts."""
        return self.wh.query(
            """SELECT m.* FROM immediate_message m
               WHERE m.sent_at IS NULL AND EXISTS (
                   SELECT 1 FROM immediate_alert i JOIN alert a USING (alert_id)
                   WHERE i.message_key = m.message_key AND a.delivered_at IS NULL)
               ORDER BY m.created_at, m.message_key"""
        )

    def immediate_failed(self, message_key: str, error: str) -> None:
        self.con.execute("UPDATE immediate_message SET attempts = attempts + 1, last_error = ? WHERE message_key = ?",
                         [error, message_key])

    def mark_immediate_sent(self, message_key: str, channels: str, now: datetime) -> None:
        self.con.execute(
            """UPDATE immediate_message SET sent_at = ?, channels = ?, attempts = attempts + 1, last_error = NULL
               WHERE message_key = ?""", [now, channels, message_key])


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    waited: float  # seconds spent waiting for a writer to let go of the file


def read_query(path: Path | str, sql: str, *, wait: float = 120.0, limit: int | None = None,
               on_wait: Any = None) -> QueryResult:
    """Run *sql* on a read-only connection, waiting while a cycle holds the file.

    A read-only connection cannot write, whatever the SQL says.
    """
    started = time.monotonic()
    con = connect(Path(path), read_only=True, wait=wait, on_wait=on_wait)
    waited = time.monotonic() - started
    try:
        cursor = con.execute(sql)
        if cursor is None or cursor.description is None:  # no statement (a comment), or one with no result
            return QueryResult([], [], waited)
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchmany(limit) if limit else cursor.fetchall()
        return QueryResult(columns, rows, waited)
    finally:
        con.close()


def export_query(path: Path | str, sql: str, dest: Path | str, fmt: str, *, wait: float = 120.0,
                 on_wait: Any = None) -> float:
    """Write the result of *sql* to *dest* as csv, json or parquet; returns seconds waited.

    CSV and JSON are encoded as ``newswatch query`` prints them (``newswatch.export``: list
    columns as JSON arrays); Parquet keeps DuckDB's own types.
    """
    started = time.monotonic()
    con = connect(Path(path), read_only=True, wait=wait, on_wait=on_wait)
    waited = time.monotonic() - started
    try:
        if fmt == "parquet":
            con.sql(sql).write_parquet(str(dest))
        else:
            cursor = con.execute(sql)
            columns = [d[0] for d in cursor.description or []]
            with open(dest, "w", encoding="utf-8", newline="") as out:
                WRITERS[fmt](columns, _batches(cursor), out)
        return waited
    finally:
        con.close()


def _batches(cursor: duckdb.DuckDBPyConnection, size: int = 10_000) -> Iterator[tuple]:
    """The rows of *cursor*, fetched a batch at a time (an export need not fit in memory twice)."""
    while batch := cursor.fetchmany(size):
        yield from batch
