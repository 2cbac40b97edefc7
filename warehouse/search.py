"""Full-text search: the fts extension, the index over ``article_search``, and ``newswatch search``.

Statements are in ``queries/search/``; inline stays the extension's LOAD, whose path
is found at run time.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from warehouse.articles import Warehouse
from warehouse.connection import connect
from warehouse.sql import sql
from warehouse.tables import rows


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


def refresh_search_index(wh: Warehouse) -> bool:
    """Rebuild the full-text index when it does not cover every search document.

    Search documents are appended with their articles, in the same transaction;
    the index (DuckDB's fts builds it whole) is rebuilt after, once per stage.
    Checking coverage rather than remembering to rebuild means a crash between
    the append and the rebuild is repaired by the next stage that stores.
    """
    if not wh.rebuilds_search_index:  # the at-scale warehouse: PostgreSQL keeps its index itself
        return False
    total = wh.scalar(sql("search/count_search_docs"))
    has_index = wh.scalar(sql("search/has_index_table"))
    indexed = wh.scalar(sql("search/count_indexed_docs")) if has_index else None
    if total == 0 or indexed == total:
        return False
    load_fts(wh.con)
    wh.con.execute(sql("search/create_index"))
    return True


def search(path: Path | str, query_tokens: Sequence[str], *, limit: int = 20, wait: float = 120.0,
           on_wait: Any = None) -> list[dict[str, Any]]:
    """Articles matching every token, best BM25 score first, with their text (for a snippet).

    On the at-scale warehouse, PostgreSQL finds the documents holding every token (a GIN
    index over the token lists) and ranks them by how often the tokens occur, per length."""
    from warehouse.connection import is_lake_file

    con = connect(Path(path), read_only=True, wait=wait, on_wait=on_wait)
    try:
        if is_lake_file(path):
            if not query_tokens:
                return []
            wanted = "ARRAY[" + ", ".join("'" + t.replace("'", "''") + "'" for t in query_tokens) + "]::text[]"
            return rows(con.execute(sql("search/search_postgres"),
                                    [sql("search/match_postgres").replace("{tokens}", wanted), limit]))
        load_fts(con)
        has_index = con.execute(sql("search/has_index_schema")).fetchone()[0]
        if not has_index:
            return []
        return rows(con.execute(sql("search/search"), [" ".join(query_tokens), limit]))
    finally:
        con.close()
