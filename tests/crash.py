"""Run a cycle or a digest in this process and SIGKILL it at a chosen point.

    python tests/crash.py cycle POINT DB FEEDS.opml
    python tests/crash.py digest POINT DB OUTBOX SMTP_PORT
    python tests/crash.py rejudge POINT DB

POINT says where the process dies:

    after-poll      the poll stage has committed
    mid-fetch       the first batch of fetched pages has committed, others not
    mid-append      inside the store stage's transaction, after the article rows
    before-alerts   the store stage has committed, the rules have not run
    after-immediate-send  the first alert message has gone out, it is not marked
    before-send     the digest is fixed in the warehouse, nothing sent
    after-send      the mail has gone out, the digest is not marked
    mid-batch       inside rejudge's second batch transaction, after the article rows
    after-batch     rejudge's first batch has committed, the others not
    before-alerts   (rejudge) every batch has committed, the rules have not run
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from newswatch import digest, pipeline  # noqa: E402
from newswatch.fetch import FetchSettings  # noqa: E402
from newswatch.opml import read_opml  # noqa: E402
from warehouse.alerts import AlertStore  # noqa: E402
from warehouse.articles import Warehouse  # noqa: E402


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def after(obj, name: str, *, when=lambda *a, **k: True) -> None:
    original = getattr(obj, name)

    def wrapper(*args, **kwargs):
        result = original(*args, **kwargs)
        if when(*args, **kwargs):
            die()
        return result

    setattr(obj, name, wrapper)


def before(obj, name: str) -> None:
    setattr(obj, name, lambda *a, **k: die())


def main(kind: str, point: str, db: str, *rest: str) -> None:
    if kind == "cycle":
        pipeline.WRITE_BATCH = 5  # several fetch batches, so that one can commit and the next not
        if point == "after-poll":
            after(pipeline, "poll_stage")
        elif point == "mid-fetch":
            after(Warehouse, "save_fetches")
        elif point == "mid-append":
            after(Warehouse, "bulk_insert", when=lambda self, table, *a, **k: table == "article")
        elif point == "before-alerts":
            before(pipeline, "alert_stage")
        elif point == "after-immediate-send":
            before(AlertStore, "mark_immediate_sent")
        pipeline.run_cycle(Path(db), read_opml(rest[0]), FetchSettings(min_gap=0.01), progress=lambda *a: None)
    elif kind == "rejudge":
        from newswatch import rejudge
        from tests.topics import SUMMITS_AND_ABDUCTEES

        calls = {"article": 0}

        def second_article_update(self, table, *a, **k):
            calls[table] = calls.get(table, 0) + 1
            return table == "article" and calls[table] == 2

        if point == "mid-batch":
            after(Warehouse, "bulk_update", when=second_article_update)
        elif point == "after-batch":
            after(Warehouse, "rejudge_articles")
        elif point == "before-alerts":
            before(rejudge, "alert_stage")
        rejudge.rejudge(Path(db), alerts=True, batch=2, topic=SUMMITS_AND_ABDUCTEES)
    else:
        if point == "before-send":
            before(digest, "send_email")
        elif point == "after-send":
            before(AlertStore, "mark_sent")
        smtp = digest.SmtpSettings("127.0.0.1", int(rest[1]), "none", "newsdesk", "s3cret-pass",
                                   "newswatch@example.org", ("analyst@example.org",), timeout=5)
        digest.deliver_digest(Path(db), Path(rest[0]), smtp)
    sys.exit("the process was meant to be killed before this point")


if __name__ == "__main__":
    main(*sys.argv[1:])
