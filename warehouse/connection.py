"""Opening the warehouse file: connecting (waiting while another process holds it), migrating, and the errors.

A write connection is held only for the duration of one stage (seconds), so
that ad-hoc readers can get in between. Migrations under ``migrations/`` are
applied, each in its own transaction, whenever the file is opened for writing.
Transaction control (BEGIN, COMMIT, ROLLBACK) is written inline; the other
statements are in ``queries/connection/``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from warehouse.articles import Warehouse
from warehouse.sql import sql

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


def is_lake_file(path: Path | str) -> bool:
    """A lake file (``*.toml``) names the at-scale warehouse (``warehouse.lake``), not a DuckDB file.
    Decided by the name alone, so the embedded default never imports the at-scale modules."""
    return Path(path).suffix == ".toml"


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
        if is_lake_file(path):  # the at-scale warehouse: readers never wait for writers
            from warehouse.lake import LakeTarget, attach, create_views

            con = attach(LakeTarget.read(path), read_only=True)  # NoWarehouse before any writer
            try:
                create_views(con)
            except BaseException:
                con.close()
                raise
            return con
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
    con.execute(sql("connection/create_migration_table"))
    applied = {v: c for v, c in con.execute(sql("connection/applied_migrations")).fetchall()}
    done = []
    for m in migrations():
        if m.version in applied:
            if applied[m.version] != m.checksum:
                log.warning("Migration %s changed after it was applied; not re-applied", m.name)
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(m.sql)
            con.execute(sql("connection/record_migration"), [m.version, m.name, m.checksum])
            con.execute("COMMIT")
        except duckdb.Error:
            con.execute("ROLLBACK")
            raise
        log.info("Applied migration %s", m.name)
        done.append(m.name)
    return done


@contextmanager
def open_warehouse(path: Path | str, *, read_only: bool = False, wait: float = 60.0) -> Iterator[Warehouse]:
    """Open the warehouse (migrating it when writable) for one stage.

    A lake file (``*.toml``) names the at-scale warehouse instead (``warehouse.lake``)."""
    path = Path(path)
    if is_lake_file(path):
        if read_only:
            require_warehouse(path)
        from warehouse.lake import open_lake

        with open_lake(path, read_only=read_only, wait=wait) as wh:
            yield wh
        return
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
