"""One settings surface: command-line flag, then environment variable, then default.

| setting        | flag        | environment variable | default                         |
|----------------|-------------|----------------------|---------------------------------|
| feed list      | --feeds     | NEWSWATCH_FEEDS      | seeds/feeds.opml                |
| warehouse      | --db        | NEWSWATCH_DB         | newswatch.duckdb (project folder) |
| per-host gap   | --host-gap  | NEWSWATCH_HOST_GAP   | 1.0 seconds                     |
| digest outbox  | --outbox    | NEWSWATCH_OUTBOX     | outbox/ (project folder)        |

Mail and chat settings for digests are read by newswatch.digest (NEWSWATCH_SMTP_*,
NEWSWATCH_MAIL_*, NEWSWATCH_APPRISE_URLS).
"""

from __future__ import annotations

import os
from pathlib import Path

from newswatch import PROJECT_DIR

DEFAULT_FEEDS = PROJECT_DIR / "seeds" / "feeds.opml"
DEFAULT_DB = PROJECT_DIR / "newswatch.duckdb"
DEFAULT_HOST_GAP = 1.0
DEFAULT_OUTBOX = PROJECT_DIR / "outbox"


def feeds_path(flag: str | Path | None = None) -> Path:
    return Path(flag or os.environ.get("NEWSWATCH_FEEDS") or DEFAULT_FEEDS).expanduser()


def db_path(flag: str | Path | None = None) -> Path:
    return Path(flag or os.environ.get("NEWSWATCH_DB") or DEFAULT_DB).expanduser()


def outbox_path(flag: str | Path | None = None) -> Path:
    return Path(flag or os.environ.get("NEWSWATCH_OUTBOX") or DEFAULT_OUTBOX).expanduser()


def host_gap(flag: float | None = None) -> float:
    if flag is not None:
        return float(flag)
    value = os.environ.get("NEWSWATCH_HOST_GAP")
    if value:
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"NEWSWATCH_HOST_GAP must be a number of seconds, not {value!r}") from None
    return DEFAULT_HOST_GAP


def prefect_defaults(verbose: int = 0) -> None:
    """Defaults for Prefect's embedded mode; set before prefect is imported.

    The user's own environment always wins (``setdefault``), except that
    ``-v`` (*verbose*) asks for Prefect's own console output. Without it,
    Prefect's console shows warnings and errors only (no "Finished in state
    Completed()" per task, no server start notes); every record still goes to
    the Prefect API and its dashboard. Flow runs started by ``serve`` inherit
    this through the environment.
    """
    console = "DEBUG" if verbose > 1 else "INFO" if verbose else None
    if console:
        os.environ["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] = console
    else:
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "newswatch,warehouse,monitors")
    # The same modules also run outside flows (tests, benchmarks): no API logging there.
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
