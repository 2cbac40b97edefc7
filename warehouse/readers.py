"""Ad-hoc readers (``newswatch query`` and ``export``): any SQL on a read-only connection.

The SQL comes from the user, so nothing here is in ``queries/``. Readers import neither
numpy nor Prefect.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from newswatch.export import WRITERS
from warehouse.connection import connect


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
