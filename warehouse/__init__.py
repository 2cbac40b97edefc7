"""The warehouse: numbered SQL migrations and the one module that talks to DuckDB."""

from warehouse.db import Warehouse, WarehouseBusy, open_warehouse

__all__ = ["Warehouse", "WarehouseBusy", "open_warehouse"]
