"""Shared fixtures: a private PREFECT_HOME, one Prefect test server, the demo newsroom.

PREFECT_HOME must point at a temporary folder before anything imports
prefect, or the tests would write to the user's ~/.prefect.
"""

from __future__ import annotations

import os
import tempfile

_PREFECT_HOME = tempfile.mkdtemp(prefix="newswatch-tests-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ.pop("PREFECT_API_URL", None)
os.environ.pop("PREFECT_PROFILE", None)
for name in ("NEWSWATCH_DB", "NEWSWATCH_FEEDS", "NEWSWATCH_HOST_GAP", "NEWSWATCH_SMTP_HOST", "NEWSWATCH_APPRISE_URLS",
             "NEWSWATCH_DASK"):
    os.environ.pop(name, None)
# A cycle writes the alerts of immediate rules to the outbox when no mail is configured:
# never into the project folder.
os.environ["NEWSWATCH_OUTBOX"] = os.path.join(_PREFECT_HOME, "outbox")

from newswatch import settings  # noqa: E402

settings.prefect_defaults()

import shutil  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from newswatch.demo.server import DemoNewsroom  # noqa: E402

FAST_GAP = 0.02  # politeness gap for tests: the newsroom is ours


def rows(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Run *sql* on the warehouse read-only, as a user would (waiting while a cycle writes)."""
    from warehouse.connection import connect

    con = connect(db, read_only=True, wait=60)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[str]:
    """A real Prefect server for the whole session; yields its API URL."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=240):
        yield PREFECT_API_URL.value()


@pytest.fixture
def newsroom() -> Iterator[DemoNewsroom]:
    with DemoNewsroom() as room:
        yield room


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL cluster on 127.0.0.1 for the session (the at-scale tests); yields a
    ``newswatch.localpg.LocalPostgres``. Skips, with the reason, where the server programs are not
    installed; CI installs them (.ci/run)."""
    from newswatch.localpg import LocalPostgres, NoPostgres

    try:
        cluster = LocalPostgres()
    except NoPostgres as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the at-scale tests: {exc}")
        pytest.skip(str(exc))
    with cluster:
        yield cluster


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_PREFECT_HOME, ignore_errors=True)
