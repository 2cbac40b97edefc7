"""Statements over one open connection that every concern uses: transactions, batches, keyed lookups.

The SQL here is built from code (table and column names, IN lists), so it stays inline;
the statements that use these helpers are in ``queries/``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb


def rows(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The rows of *cursor* as dictionaries keyed by column name."""
    cols = [d[0] for d in cursor.description]
    return [dict(zip(cols, row)) for row in cursor.fetchall()]


class Tables:
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

    def insert_row(self, table: str, row: dict[str, Any], conflict: str = "") -> None:
        """INSERT one *row* (a dictionary of column values) into *table*, with an optional ON CONFLICT clause."""
        cols = list(row)
        self.con.execute(
            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('$' + c for c in cols)})"
            + (f" ON CONFLICT {conflict}" if conflict else ""),
            row,
        )

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        return rows(self.con.execute(sql, params or []))

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        row = self.con.execute(sql, params or []).fetchone()
        return row[0] if row else None

    def next_ids(self, sequence_sql: str, n: int) -> list[int]:
        """*n* fresh ids from the sequence that *sequence_sql* draws from (a ``FROM range(?)`` statement)."""
        if n == 0:
            return []
        return [r[0] for r in self.con.execute(sequence_sql, [n]).fetchall()]

    # Lookups by key are written as IN lists (integers inlined, text as parameters),
    # which DuckDB answers from the ART index; an IN (SELECT unnest(...)) becomes a
    # hash join that scans the whole table, so its cost would grow with the archive.

    def lookup(self, sql: str, values: Sequence[Any], *, chunk: int = 2000) -> list[tuple]:
        """Run *sql*, whose ``{in}`` is filled with an IN list, over *values* in chunks."""
        found: list[tuple] = []
        values = list(dict.fromkeys(values))
        for i in range(0, len(values), chunk):
            part = values[i:i + chunk]
            if all(isinstance(v, int) for v in part):
                found += self.con.execute(sql.format(**{"in": ", ".join(str(int(v)) for v in part)})).fetchall()
            else:
                found += self.con.execute(sql.format(**{"in": ", ".join("?" * len(part))}), part).fetchall()
        return found

    def in_ids(self, sql: str, ids: Sequence[int]) -> None:
        """Run *sql*, whose ``{in}`` is filled with the integers *ids* (a DELETE or UPDATE by id)."""
        self.con.execute(sql.format(**{"in": ", ".join(str(int(a)) for a in ids)}))
