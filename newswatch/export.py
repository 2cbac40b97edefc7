"""Query results as CSV and JSON: one encoding, on the terminal and in files.

- JSON: an array of objects, one per line; a list column (``matched``) is a JSON array, a struct
  column a JSON object, NULL is null; times and other values without a JSON type are strings.
- CSV: a header, then one row per line; a list or struct cell holds the same JSON text
  (``["Prime Minister","Koizumi"]``), so any JSON reader gets the list back; NULL is an empty
  cell, booleans are ``true`` and ``false``; times are as in JSON.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from typing import Any, TextIO


def _as_text(value: Any) -> str:
    """What a value JSON cannot hold becomes: times and dates as DuckDB shows them (str), and so on."""
    return str(value)


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=_as_text)


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, dict)):
        return to_json(value)
    return str(value)


def write_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]], out: TextIO) -> int:
    """Write a header and *rows*; returns the number of rows."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    n = 0
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
        n += 1
    return n


def write_json(columns: Sequence[str], rows: Iterable[Sequence[Any]], out: TextIO) -> int:
    """Write *rows* as a JSON array of objects, one per line; returns the number of rows."""
    n = 0
    out.write("[")
    for row in rows:
        out.write(("," if n else "") + "\n" + to_json(dict(zip(columns, row))))
        n += 1
    out.write("\n]\n" if n else "]\n")
    return n


WRITERS = {"csv": write_csv, "json": write_json}
