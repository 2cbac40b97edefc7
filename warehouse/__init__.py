"""The warehouse: numbered SQL migrations, the queries as ``.sql`` files, and the modules that talk to DuckDB.

``connection`` opens and migrates the file; ``tables`` holds the batch helpers every
concern uses; ``articles``, ``alerts``, ``search`` and ``readers`` hold one concern each.
"""

from warehouse.articles import Warehouse
from warehouse.connection import WarehouseBusy, open_warehouse

__all__ = ["Warehouse", "WarehouseBusy", "open_warehouse"]
