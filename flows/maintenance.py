"""The at-scale warehouse's upkeep as a Prefect flow (the ``maintenance`` deployment)."""

from __future__ import annotations

from prefect import flow, get_run_logger

from newswatch import settings
from warehouse.connection import is_lake_file
from warehouse.lake import maintain


@flow(name="maintenance", description="Compact the lake's files, expire old snapshots, delete unneeded files.")
def maintenance(db: str | None = None, keep_days: float = 7.0) -> dict:
    """One round of upkeep on the lake named by *db* (``NEWSWATCH_DB``); nothing for a DuckDB file."""
    logger = get_run_logger()
    target = settings.db_path(db)
    if not is_lake_file(target):
        logger.info("%s is a DuckDB file: nothing to maintain", target)
        return {"skipped": f"{target} is not a lake file"}
    done = maintain(target, keep_days=keep_days)
    logger.info(done.line())
    return {"files_before": done.files_before, "files_after": done.files_after,
            "snapshots_before": done.snapshots_before, "snapshots_after": done.snapshots_after}
