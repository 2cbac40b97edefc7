"""The warehouse's statements in ``warehouse/queries/``: every file is used, every name asked for exists."""

from __future__ import annotations

import re

import pytest

from warehouse.sql import POSTGRES_DIR, QUERIES_DIR, postgres_sql, sql

WAREHOUSE = QUERIES_DIR.parent
CALL = re.compile(r"(?<![.\w])sql\(")  # a call of warehouse.sql.sql, not a method such as con.sql(...)
NAMED = re.compile(r"""(?<![.\w])sql\("([a-z_]+/[a-z_]+)"\)""")


def asked_for() -> dict[str, list[str]]:
    """Each name passed to ``sql(...)`` by the warehouse's modules, with the modules asking."""
    names: dict[str, list[str]] = {}
    for module in sorted(WAREHOUSE.glob("*.py")):
        if module.name == "sql.py":  # the loader itself
            continue
        source = module.read_text("utf-8")
        calls, named = CALL.findall(source), NAMED.findall(source)
        assert len(calls) == len(named), f"{module.name} passes sql() a name that is not a literal"
        for name in named:
            names.setdefault(name, []).append(module.stem)
    return names


def stored() -> set[str]:
    return {str(p.relative_to(QUERIES_DIR).with_suffix("")) for p in QUERIES_DIR.rglob("*.sql")}


def test_every_statement_file_is_used_and_every_name_exists() -> None:
    names = asked_for()
    assert len(names) >= 40
    assert sorted(stored() - set(names)) == [], "statement files no module asks for"
    assert sorted(set(names) - stored()) == [], "names asked for with no statement file"


def test_each_statement_is_run_by_the_module_its_folder_names() -> None:
    for name, modules in asked_for().items():
        assert set(modules) == {name.split("/")[0]}, name


@pytest.mark.parametrize("name", sorted(stored()))
def test_each_file_holds_one_statement(name: str) -> None:
    text = sql(name)
    assert text and not text.rstrip().rstrip(";").count(";"), name


POSTGRES_NAMED = re.compile(r"""postgres_sql\("([a-z_]+(?:/[a-z_]+)?)"\)""")


def test_every_postgres_statement_file_is_used_and_holds_one_statement() -> None:
    """The keyed state's files under ``postgres/``: the schema, and one statement per query file."""
    source = (WAREHOUSE / "keyed.py").read_text("utf-8")
    named = POSTGRES_NAMED.findall(source)
    assert len(named) == source.count("postgres_sql("), "keyed.py passes postgres_sql() a name that is not a literal"
    names = set(named)
    files = {str(p.relative_to(POSTGRES_DIR).with_suffix("")) for p in POSTGRES_DIR.rglob("*.sql")}
    assert names == files and "schema" in files
    for name in files - {"schema"}:
        text = postgres_sql(name)
        assert text and not text.rstrip().rstrip(";").count(";"), name
