"""The throwaway PostgreSQL cluster that the at-scale tests and benchmarks start."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.scale


def test_cluster_serves_on_loopback_and_creates_databases(postgres) -> None:
    import psycopg

    url = postgres.create_database("newswatch_probe")
    assert url == postgres.create_database("newswatch_probe")  # a second call finds it
    with psycopg.connect(url) as con:
        addr, db = con.execute("SELECT inet_server_addr()::text, current_database()").fetchone()
    assert addr.split("/")[0] == "127.0.0.1"
    assert db == "newswatch_probe"


def test_stopping_removes_its_own_folder(postgres) -> None:
    from newswatch.localpg import LocalPostgres

    pg = LocalPostgres().start()  # a second cluster beside the session's (the fixture skips where none can run)
    folder = pg.folder
    assert (folder / "data" / "PG_VERSION").exists()
    pg.stop()
    assert not folder.exists()
