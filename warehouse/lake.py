"""The at-scale warehouse: keyed state in PostgreSQL, the articles as DuckLake (Parquet files
with their catalog in the same PostgreSQL database).

It is named by a small TOML file, the *lake file*, which every machine reads the same way
(``--db newswatch-lake.toml``, or ``NEWSWATCH_DB``)::

    [lake]
    postgres = "postgresql://newswatch@db.example:5432/newswatch"
    data_path = "/shared/newswatch-lake/"      # or s3://bucket/prefix/ with httpfs

Where each table lives:

- **PostgreSQL** (attached as ``ks``): every table with keys or rows that change: feeds, the
  entry queue, alerts and their delivery, digests, search documents (with an index), and the
  *outbox* of articles waiting to be published to the lake. Its keys (PRIMARY KEY, UNIQUE),
  sequences and indexes are real.
- **DuckLake** (attached as ``lake``): ``LAKE_TABLES``, the append-only facts: the articles
  with their texts, their MinHash signatures, the cycle log. DuckLake has no keys, so rows reach
  it only through :func:`publish`, idempotently.

The schema is not written twice: the tables, keys, sequences, indexes and views are read off
the migrations under ``migrations/`` (applied to an in-memory DuckDB) and created in their
home. One DuckDB connection attaches both with ``search_path`` set to ``lake.main,ks.public``,
so the warehouse's statements in ``queries/`` run unchanged.

A DuckDB transaction writes to one attached database only. Articles are therefore written to
the outbox (``ks.outbox.article``, ``ks.outbox.article_minhash``) in the same PostgreSQL
transaction that closes their entries and adds their search documents, and published to the
lake right after; a run killed in between is finished by the next publish. Writers take a
PostgreSQL advisory lock for as long as they hold the warehouse, the at-scale counterpart of
DuckDB's file lock: it is released when the holder's connection ends, killed or not.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import time
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import duckdb

from warehouse.articles import Warehouse

from warehouse.sql import postgres_sql

#: Append-only tables kept in DuckLake; every other table of the schema lives in PostgreSQL.
LAKE_TABLES = ("article", "article_minhash", "cycle")
#: Tables whose rows wait in PostgreSQL (schema ``outbox``) until published to the lake.
OUTBOX_TABLES = ("article", "article_minhash")
CATALOG_SCHEMA = "lake_catalog"  # DuckLake's own catalog tables, in the same PostgreSQL database
WRITER_LOCK = 0x6E6577737761  # the advisory lock writers hold ("newswa")

#: Extra PostgreSQL indexes: search documents are found by their tokens (one GIN index).
EXTRA_DDL = (
    "CREATE INDEX IF NOT EXISTS article_search_tokens_gin ON article_search "
    "USING gin (string_to_array(tokens, ' '))",
)


class LakeFileError(ValueError):
    """A lake file that cannot be read: missing keys, not TOML, a bad address."""


@dataclass(frozen=True)
class LakeTarget:
    postgres: str  # postgresql://user[:password]@host:port/database
    data_path: str

    @classmethod
    def read(cls, path: Path | str) -> "LakeTarget":
        path = Path(path)
        try:
            doc = tomllib.loads(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise LakeFileError(f"{path}: not a readable lake file ({exc})") from exc
        lake = doc.get("lake")
        if not isinstance(lake, dict) or not lake.get("postgres") or not lake.get("data_path"):
            raise LakeFileError(f"{path}: needs a [lake] table with postgres = \"postgresql://…\" and data_path")
        if urlparse(lake["postgres"]).scheme not in ("postgresql", "postgres"):
            raise LakeFileError(f"{path}: postgres must be a postgresql:// address, not {lake['postgres']!r}")
        data_path = str(lake["data_path"])
        if "://" not in data_path:  # a local or shared folder: relative to the lake file
            data_path = str((path.parent / data_path).resolve()) + "/"
        return cls(lake["postgres"], data_path)

    def libpq(self) -> str:
        """The address as libpq keywords, as DuckDB's postgres extension takes it."""
        u = urlparse(self.postgres)
        parts = {"host": u.hostname or "127.0.0.1", "port": str(u.port or 5432),
                 "dbname": unquote(u.path.lstrip("/")) or "postgres", "user": unquote(u.username or "postgres")}
        if u.password:
            parts["password"] = unquote(u.password)
        return " ".join(f"{k}={v}" for k, v in parts.items())


def write_lake_file(path: Path | str, postgres: str, data_path: str) -> Path:
    """Write a lake file (used by tests and ``python -m newswatch.localpg``'s users)."""
    path = Path(path)
    path.write_text(f'[lake]\npostgres = "{postgres}"\ndata_path = "{data_path}"\n', "utf-8")
    return path


# -- the schema, read off the migrations ------------------------------------------------


@dataclass(frozen=True)
class Schema:
    columns: dict[str, list[tuple[str, str]]]  # table → (column, DuckDB type), in order
    constraints: dict[tuple[str, str], str]    # (table, column) → " NOT NULL DEFAULT …" as PostgreSQL says it
    keys: dict[str, list[str]]                 # table → PRIMARY KEY / UNIQUE clauses
    sequences: list[str]
    indexes: list[tuple[str, str, list[str]]]  # (name, table, columns)
    views: list[str]                           # CREATE VIEW statements, in creation order


@cache
def schema() -> Schema:
    from warehouse.connection import migrate

    con = duckdb.connect()
    try:
        migrate(con)
        columns: dict[str, list[tuple[str, str]]] = {}
        constraints: dict[tuple[str, str], str] = {}
        for table, column, kind, default, nullable in con.execute(
                "SELECT table_name, column_name, data_type, column_default, is_nullable FROM duckdb_columns() "
                "WHERE NOT internal AND table_name IN (SELECT table_name FROM duckdb_tables()) "
                "ORDER BY table_name, column_index").fetchall():
            columns.setdefault(table, []).append((column, kind))
            constraints[table, column] = ("" if nullable else " NOT NULL") + (f" DEFAULT {default}" if default else "")
        keys: dict[str, list[str]] = {}
        for table, kind, cols in con.execute(
                "SELECT table_name, constraint_type, constraint_column_names FROM duckdb_constraints() "
                "WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE') ORDER BY table_name, constraint_index").fetchall():
            keys.setdefault(table, []).append(f"{kind} ({', '.join(cols)})")
        sequences = [r[0] for r in con.execute("SELECT sequence_name FROM duckdb_sequences() ORDER BY 1").fetchall()]
        indexes = []
        for name, table, sql_text in con.execute("SELECT index_name, table_name, sql FROM duckdb_indexes()").fetchall():
            cols = re.search(r"\((.*)\)", sql_text).group(1)
            indexes.append((name, table, [c.strip() for c in cols.split(",")]))
        views = [r[0] for r in con.execute(
            "SELECT sql FROM duckdb_views() WHERE NOT internal ORDER BY view_oid").fetchall()]
        return Schema(columns, constraints, keys, sequences, indexes, views)
    finally:
        con.close()


@cache
def defaults(table: str) -> dict[str, Any]:
    """Column → default value, for the columns of *table* that have one."""
    con = duckdb.connect()
    try:
        found = {}
        for (table_name, column), clause in schema().constraints.items():
            if table_name == table and " DEFAULT " in clause:
                found[column] = con.execute(f"SELECT {clause.split(' DEFAULT ', 1)[1]}").fetchone()[0]
        return found
    finally:
        con.close()


def schema_checksum() -> str:
    from warehouse.connection import migrations

    parts = [m.checksum for m in migrations()] + list(LAKE_TABLES) + list(OUTBOX_TABLES) + list(EXTRA_DDL)
    parts.append(postgres_sql("schema"))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _pg_type(duck_type: str) -> str:
    """The PostgreSQL column type for a DuckDB one, as DuckDB's postgres extension maps them."""
    return {"UBIGINT[]": "NUMERIC(20)[]", "BLOB": "BYTEA", "DOUBLE": "DOUBLE PRECISION"}.get(duck_type, duck_type)


# -- connecting ---------------------------------------------------------------------------


def _extension(name: str) -> Path:
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the at-scale warehouse needs duckdb-extension-{name} "
                           "(pip install 'newswatch[scale]')")
    path = (Path(list(spec.submodule_search_locations)[0]) / "extensions" / f"v{duckdb.__version__}"
            / f"{name}.duckdb_extension")
    if not path.exists():
        raise RuntimeError(f"no {name} extension for DuckDB {duckdb.__version__} at {path}")
    return path


def attach(target: LakeTarget, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with PostgreSQL as ``ks`` and DuckLake as ``lake``, and the views."""
    con = duckdb.connect()
    try:
        con.execute(f"LOAD '{_extension('postgres_scanner')}'")
        con.execute(f"LOAD '{_extension('ducklake')}'")
        ro = ", READ_ONLY" if read_only else ""
        con.execute(f"ATTACH '{target.libpq()}' AS ks (TYPE postgres{ro})")
        if read_only and not con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'ks' "
                                         "AND table_name = 'lake_schema'").fetchone()[0]:
            from warehouse.connection import NoWarehouse

            raise NoWarehouse(f"no warehouse in {target.postgres} yet (no writer has opened it); run a cycle first")
        con.execute(f"ATTACH 'ducklake:postgres:{target.libpq()}' AS lake "
                    f"(DATA_PATH '{target.data_path}', METADATA_SCHEMA '{CATALOG_SCHEMA}'{ro})")
        con.execute("SET search_path = 'lake.main,ks.public'")
        return con
    except BaseException:
        con.close()
        raise


def create_views(con: duckdb.DuckDBPyConnection) -> None:
    """The embedded warehouse's views, as temporary views over the attached tables."""
    for statement in schema().views:
        con.execute(re.sub(r"^CREATE (OR REPLACE )?VIEW", "CREATE OR REPLACE TEMP VIEW", statement))


def ensure_schema(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Create what the migrations define and is missing here (tables, columns, keys, sequences,
    indexes) in its home, and the outbox; returns what was created.

    The schema's checksum is recorded in PostgreSQL (``lake_schema``): when it matches, nothing
    is checked again."""
    s = schema()
    done: list[str] = []
    pg_exec = lambda statement: con.execute("CALL postgres_execute('ks', ?)", [statement])  # noqa: E731
    checksum = schema_checksum()
    recorded = con.execute("SELECT * FROM postgres_query('ks', 'SELECT to_regclass(''lake_schema'') IS NOT NULL')"
                           ).fetchone()[0]
    if recorded and con.execute("SELECT * FROM postgres_query('ks', 'SELECT checksum FROM lake_schema')"
                                ).fetchall() == [(checksum,)]:
        return done
    pg_exec("CREATE SCHEMA IF NOT EXISTS outbox")
    have = {(d, sch, t) for d, sch, t in con.execute(
        "SELECT database_name, schema_name, table_name FROM duckdb_tables() "
        "WHERE database_name IN ('ks', 'lake')").fetchall()}
    homes = [(t, "lake", "main") for t in LAKE_TABLES] + [(t, "ks", "outbox") for t in OUTBOX_TABLES]
    homes += [(t, "ks", "public") for t in s.columns if t not in LAKE_TABLES]
    for table, db, sch in homes:
        cols = s.columns[table]
        name = f"{db}.{sch}.{table}"
        if (db, sch, table) not in have:
            if db == "ks":
                body = [f"{c} {_pg_type(k)}{s.constraints[table, c]}" for c, k in cols] + s.keys.get(table, [])
                pg_exec(f"CREATE TABLE IF NOT EXISTS {sch}.{table} ({', '.join(body)})")
            else:
                con.execute(f"CREATE TABLE IF NOT EXISTS {name} ({', '.join(f'{c} {k}' for c, k in cols)})")
            done.append(name)
            continue
        present = {r[0] for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? "
            "AND table_name = ?", [db, sch, table]).fetchall()}
        for c, k in cols:
            if c not in present:
                if db == "ks":
                    extra = s.constraints[table, c].replace(" NOT NULL", "")  # rows already there have none
                    pg_exec(f"ALTER TABLE {sch}.{table} ADD COLUMN IF NOT EXISTS {c} {_pg_type(k)}{extra}")
                else:
                    con.execute(f"ALTER TABLE {name} ADD COLUMN {c} {k}")
                done.append(f"{name}.{c}")
    for seq in s.sequences:
        pg_exec(f"CREATE SEQUENCE IF NOT EXISTS {seq}")
    for index, table, cols in s.indexes:
        if table not in LAKE_TABLES:
            pg_exec(f"CREATE INDEX IF NOT EXISTS {index} ON {table} ({', '.join(cols)})")
    for statement in EXTRA_DDL:
        pg_exec(statement)
    pg_exec(postgres_sql("schema"))  # the story decision's keyed state (warehouse.keyed)
    pg_exec("CREATE TABLE IF NOT EXISTS lake_schema (checksum TEXT NOT NULL)")
    pg_exec(f"DELETE FROM lake_schema; INSERT INTO lake_schema VALUES ('{checksum}')")
    if done:
        con.execute("CALL pg_clear_cache()")
    return done


# -- the warehouse ------------------------------------------------------------------------


def keyed_state(articles: Sequence[dict[str, Any]], bands: Sequence[tuple[int, int]]) -> dict[str, list[dict]]:
    """The rows of the story decision's keyed state (``warehouse/postgres/schema.sql``) for
    stored *articles* and their band keys, as ``warehouse.keyed.keyed_rows`` defines them:
    every article claims its URL and GUID; one with a story keeps its text for verification;
    one with band keys is indexed (its text hash and bands)."""
    banded = {article_id for _, article_id in bands}
    state: dict[str, list[dict]] = {t: [] for t in ("keyed_url", "keyed_guid", "keyed_article",
                                                     "keyed_text_hash", "keyed_band")}
    for a in articles:
        state["keyed_url"].append({"canonical_url": a["canonical_url"], "article_id": a["article_id"]})
        if a.get("guid"):
            state["keyed_guid"].append({"guid": a["guid"], "article_id": a["article_id"]})
        if a["story_id"] is not None:
            state["keyed_article"].append({"article_id": a["article_id"], "story_id": a["story_id"],
                                           "text": a["text"]})
        if a["article_id"] in banded and a.get("text_hash"):
            state["keyed_text_hash"].append({"text_hash": a["text_hash"], "article_id": a["article_id"]})
    state["keyed_band"] = [{"band_key": k, "article_id": i} for k, i in bands]
    return state


class LakeWarehouse(Warehouse):
    """``Warehouse`` over the at-scale storage: the same operations, the same statements."""

    def __init__(self, con: duckdb.DuckDBPyConnection, target: LakeTarget | None = None):
        super().__init__(con)
        self.target = target
        self._keyed: dict[str, list[dict]] | None = None

    rebuilds_search_index = False  # a GIN index in PostgreSQL (EXTRA_DDL)

    def _with_defaults(self, table: str, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """*rows* with the columns' defaults filled in: DuckDB writes to PostgreSQL with COPY,
        which sends every column, so PostgreSQL's own defaults never apply."""
        missing = {c: d for c, d in defaults(table).items() if rows and c not in rows[0]}
        return [{**row, **missing} for row in rows] if missing else list(rows)

    def bulk_insert(self, table: str, rows: Sequence[dict[str, Any]], conflict: str = "DO NOTHING") -> None:
        super().bulk_insert(table, self._with_defaults(table, rows), conflict)

    def insert_row(self, table: str, row: dict[str, Any], conflict: str = "") -> None:
        super().insert_row(table, self._with_defaults(table, [row])[0], conflict)

    def next_ids(self, sequence_sql: str, n: int) -> list[int]:
        """*n* fresh ids from the PostgreSQL sequence named in *sequence_sql* (``nextval('…')``)."""
        if n == 0:
            return []
        seq = re.search(r"nextval\('(\w+)'\)", sequence_sql).group(1)
        found = self.con.execute(
            "SELECT * FROM postgres_query('ks', ?)",
            [f"SELECT nextval('{seq}') AS id FROM generate_series(1, {int(n)}) ORDER BY 1"]).fetchall()
        return [r[0] for r in found]

    @contextmanager
    def _to_outbox(self) -> Iterator[None]:
        self.con.execute("SET search_path = 'ks.outbox,ks.public'")
        try:
            yield
        finally:
            self.con.execute("SET search_path = 'lake.main,ks.public'")

    def archive(self) -> Any:
        """The story decision's lookups, answered by PostgreSQL's keyed state
        (``warehouse.keyed.PostgresArchive``: claims, text hashes and band keys, indexed)."""
        from warehouse.keyed import PostgresArchive

        return PostgresArchive(_lookups(self.target))

    def append_articles(self, articles: Sequence[dict[str, Any]], minhashes: Sequence[dict[str, Any]],
                        bands: Sequence[tuple[int, int]], entry_updates: Sequence[dict[str, Any]],
                        search_docs: Sequence[dict[str, Any]] = ()) -> int:
        """As the embedded warehouse, in one PostgreSQL transaction (articles to the outbox, and
        the story decision's keyed state), then published to the lake."""
        self._keyed = keyed_state(articles, bands)
        try:
            with self._to_outbox():
                added = super().append_articles(articles, minhashes, (), entry_updates, search_docs)
        finally:
            self._keyed = None
        publish(self.con)
        return added

    def _insert_fingerprints(self, minhashes: Sequence[dict[str, Any]], bands: Sequence[tuple[int, int]]) -> None:
        """Signatures to the outbox; claims, text hashes and band keys to the keyed state, in
        the same transaction (``minhash_band`` is the DuckDB file's index: unused here)."""
        super()._insert_fingerprints(minhashes, ())
        for table, rows in (self._keyed or {}).items():
            if rows:
                self.bulk_insert(f"ks.public.{table}", rows)

    def record_cycle(self, row: dict[str, Any]) -> None:
        """The cycle log is in the lake, which has no keys: written once, checked first."""
        if not self.scalar("SELECT count(*) FROM cycle WHERE cycle_id = ?", [row["cycle_id"]]):
            self.insert_row("cycle", row)

    def rejudge_articles(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("rejudge is not available on the at-scale warehouse yet")


def publish(con: duckdb.DuckDBPyConnection) -> int:
    """Move the outbox's rows to the lake: rows already there (a run killed after the lake's
    commit) are not written twice. Returns the articles published."""
    published = 0
    for table in OUTBOX_TABLES:
        ids = [r[0] for r in con.execute(f"SELECT article_id FROM ks.outbox.{table}").fetchall()]
        if not ids:
            continue
        listed = ", ".join(str(int(i)) for i in ids)
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"INSERT INTO lake.main.{table} SELECT * FROM ks.outbox.{table} o WHERE o.article_id IN ({listed}) "
                        f"AND o.article_id NOT IN (SELECT article_id FROM lake.main.{table} WHERE article_id IN ({listed}))")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute(f"DELETE FROM ks.outbox.{table} WHERE article_id IN ({listed})")
        if table == "article":
            published = len(ids)
    return published


@contextmanager
def writer_lock(target: LakeTarget, wait: float = 60.0) -> Iterator[None]:
    """Hold the warehouse's advisory lock (one writer at a time, as DuckDB's file lock)."""
    import psycopg

    from warehouse.connection import WarehouseBusy

    with psycopg.connect(target.postgres, autocommit=True) as pg:
        started = time.monotonic()
        delay = 0.02
        while not pg.execute("SELECT pg_try_advisory_lock(%s)", [WRITER_LOCK]).fetchone()[0]:
            if time.monotonic() - started >= wait:
                raise WarehouseBusy(f"the at-scale warehouse is held by another writer (waited {wait:.0f}s)")
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)
        try:
            yield
        finally:
            pg.execute("SELECT pg_advisory_unlock(%s)", [WRITER_LOCK])


@contextmanager
def open_lake(path: Path | str, *, read_only: bool = False, wait: float = 60.0) -> Iterator[LakeWarehouse]:
    """Open the at-scale warehouse named by the lake file *path*: writers hold the advisory
    lock, bring the schema up to date and finish an interrupted publish first."""
    target = LakeTarget.read(path)
    if read_only:
        con = attach(target, read_only=True)
        try:
            create_views(con)
            yield LakeWarehouse(con, target)
        finally:
            con.close()
        return
    with writer_lock(target, wait=wait):
        con = _writer(target)
        try:
            publish(con)
            yield LakeWarehouse(con, target)
        except BaseException:
            _WRITERS.pop(target, None)  # a failed stage may leave it mid-transaction: start afresh
            con.close()
            raise


#: One writing connection per warehouse and process: loading the extensions and attaching
#: costs about a second, and a cycle opens the warehouse a dozen times.
_WRITERS: dict[LakeTarget, duckdb.DuckDBPyConnection] = {}


_LOOKUPS: dict[LakeTarget, Any] = {}


def _lookups(target: LakeTarget) -> Any:
    """The writer's psycopg connection for the story decision's lookups (autocommit)."""
    import psycopg

    con = _LOOKUPS.get(target)
    if con is None or con.closed:
        con = _LOOKUPS[target] = psycopg.connect(target.postgres, autocommit=True)
    return con


def _writer(target: LakeTarget) -> duckdb.DuckDBPyConnection:
    con = _WRITERS.get(target)
    if con is None:
        con = attach(target)
        try:
            ensure_schema(con)
            create_views(con)
        except BaseException:
            con.close()
            raise
        _WRITERS[target] = con
    return con


# -- maintenance --------------------------------------------------------------------------


@dataclass(frozen=True)
class Maintenance:
    files_before: int
    files_after: int
    snapshots_before: int
    snapshots_after: int

    def line(self) -> str:
        return (f"lake maintained: data files {self.files_before} → {self.files_after}, "
                f"snapshots {self.snapshots_before} → {self.snapshots_after}")


def _lake_counts(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    files = sum(con.execute("SELECT count(*) FROM ducklake_list_files('lake', ?)", [t]).fetchone()[0]
                for t in LAKE_TABLES)
    snapshots = con.execute("SELECT count(*) FROM ducklake_snapshots('lake')").fetchone()[0]
    return files, snapshots


def maintain(path: Path | str, *, keep_days: float = 7.0, wait: float = 600.0) -> Maintenance:
    """The lake's upkeep, as one writer: flush rows kept inline in the catalog to Parquet,
    merge small adjacent files, expire snapshots older than *keep_days*, and delete the files
    no snapshot needs any more (those scheduled for deletion more than *keep_days* ago)."""
    with open_lake(path, wait=wait) as wh:
        con = wh.con
        files_before, snapshots_before = _lake_counts(con)
        con.execute("CALL ducklake_flush_inlined_data('lake')")
        con.execute("CALL ducklake_merge_adjacent_files('lake')")
        older = f"now() - INTERVAL '{float(keep_days) * 86400:.0f} seconds'"
        con.execute(f"CALL ducklake_expire_snapshots('lake', older_than => {older})")
        con.execute(f"CALL ducklake_cleanup_old_files('lake', older_than => {older})")
        files_after, snapshots_after = _lake_counts(con)
        return Maintenance(files_before, files_after, snapshots_before, snapshots_after)
