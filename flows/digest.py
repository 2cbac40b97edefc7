"""The digest as a Prefect flow: gather undelivered alerts, deliver them once."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows import limits
from monitors.engine import rule_problems
from newswatch import digest as digests
from newswatch import pipeline, settings


@task(name="deliver-digest", cache_policy=NO_CACHE)
def deliver(db: str, outbox: str, timezone: str) -> digests.DigestResult:
    return digests.deliver_digest(Path(db), Path(outbox), settings.smtp_from_env(), settings.apprise_urls(), tz=timezone,
                                  rule_problems=rule_problems())


@flow(name="digest", description="Send the undelivered alerts as one digest: e-mail, outbox files, chat.")
def digest(db: str | None = None, outbox: str | None = None, timezone: str | None = None) -> dict:
    logger = get_run_logger()
    db_file = str(settings.db_path(db))
    outbox_dir = str(settings.outbox_path(outbox))
    # One digest run at a time delivers, so that one triggered twice at once goes out once: the
    # second finds nothing left to send. At scale the lock is a Prefect concurrency limit.
    lock = limits.hold("digest") if settings.scale_mode() else pipeline.serial_lock(Path(db_file), "digest")
    with lock:
        result = deliver(db_file, outbox_dir, settings.timezone_name(timezone))
    if result.status == "empty":
        logger.info("No undelivered alerts and no feed in trouble: nothing to send")
    elif result.status == "failed":
        logger.warning("Digest not delivered, %d alerts stay pending: %s", result.alerts, result.error)
    else:
        logger.info("Digest %s: %d alerts via %s", result.digest_id, result.alerts, ", ".join(result.channels))
        create_markdown_artifact(key="digest", markdown=result.markdown or "", description="The latest digest")
    return {"digest_id": result.digest_id, "alerts": result.alerts, "status": result.status,
            "channels": list(result.channels), "error": result.error, "files": [str(f) for f in result.files],
            "subject": result.subject}
