"""The warehouse: numbered SQL migrations, the queries as ``.sql`` files, and the modules that talk to DuckDB.

``connection`` opens and migrates the file; ``tables`` holds the batch helpers every
concern uses; ``articles``, ``alerts``, ``search`` and ``readers`` hold one concern each.
"""

import importlib.util
import sys

# DuckDB's Python client tries ``import pandas`` for every value of a list it is given as a
# parameter (twice per value, in 1.5.5). Without pandas installed, each try searches sys.path
# again: 200 µs a value, seconds for a batch of fingerprints. Recording the absence once makes
# each try fail at once; with pandas installed, nothing changes.
if "pandas" not in sys.modules and importlib.util.find_spec("pandas") is None:
    sys.modules["pandas"] = None  # type: ignore[assignment]

from warehouse.articles import Warehouse  # noqa: E402
from warehouse.connection import WarehouseBusy, open_warehouse  # noqa: E402

__all__ = ["Warehouse", "WarehouseBusy", "open_warehouse"]
