"""The warehouse's queries, one statement per file under ``queries/<module>/<name>.sql``.

``sql("alerts/pending_alerts")`` returns the text of ``queries/alerts/pending_alerts.sql``,
read once. The folder names the module that runs the statement, the file says what it does.
Values are bound as parameters; a statement containing ``{in}`` is a template whose IN list
code fills in (``Tables.lookup``: bound parameters for text, inlined integers for ids).
``tests/test_schema.py`` checks that every file is asked for and every name asked for exists.

The at-scale keyed state in PostgreSQL (``warehouse/keyed.py``) keeps its schema and statements
the same way under ``postgres/``, read by ``postgres_sql("keyed/claim_urls")``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

QUERIES_DIR = Path(__file__).parent / "queries"
POSTGRES_DIR = Path(__file__).parent / "postgres"


@cache
def sql(name: str) -> str:
    """The statement stored as ``queries/<name>.sql``."""
    return (QUERIES_DIR / f"{name}.sql").read_text("utf-8").strip()


@cache
def postgres_sql(name: str) -> str:
    """The PostgreSQL statement (or, for a schema, statements) stored as ``postgres/<name>.sql``."""
    return (POSTGRES_DIR / f"{name}.sql").read_text("utf-8").strip()
