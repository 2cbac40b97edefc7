"""One settings surface: command-line flag, then environment variable, then default.

| setting        | flag        | environment variable | default                         |
|----------------|-------------|----------------------|---------------------------------|
| feed list      | --feeds     | NEWSWATCH_FEEDS      | seeds/feeds.opml                |
| warehouse      | --db        | NEWSWATCH_DB         | newswatch.duckdb (project folder) |
| per-host gap   | --host-gap  | NEWSWATCH_HOST_GAP   | 1.0 seconds                     |
| digest outbox  | --outbox    | NEWSWATCH_OUTBOX     | outbox/ (project folder)        |
| time zone      | --timezone  | NEWSWATCH_TIMEZONE   | Asia/Tokyo (the digest schedule's) |

Mail and chat settings for digests are read by newswatch.digest (NEWSWATCH_SMTP_*,
NEWSWATCH_MAIL_*, NEWSWATCH_APPRISE_URLS).
"""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from newswatch import PROJECT_DIR

DEFAULT_FEEDS = PROJECT_DIR / "seeds" / "feeds.opml"
DEFAULT_DB = PROJECT_DIR / "newswatch.duckdb"
DEFAULT_HOST_GAP = 1.0
DEFAULT_OUTBOX = PROJECT_DIR / "outbox"
# The user's time zone: the digest's schedule runs in it (serve, prefect.yaml) and
# the digest shows its times in it.
DEFAULT_TIMEZONE = "Asia/Tokyo"


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


def timezone_name(flag: str | None = None) -> str:
    """The user's IANA time zone name (flag, then NEWSWATCH_TIMEZONE, then the default), checked."""
    name = flag or os.environ.get("NEWSWATCH_TIMEZONE") or DEFAULT_TIMEZONE
    zone(name)
    return name


def zone(name: str) -> ZoneInfo:
    """*name* as a time zone; a ValueError that says what is wrong when it is not one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # ValueError: a path-like name; OSError: a folder ("Asia")
        raise ValueError(f"unknown time zone {name!r}: give an IANA name such as Asia/Tokyo, Europe/Paris or UTC") \
            from None


def timezone(flag: str | None = None) -> ZoneInfo:
    """The user's time zone, for times shown in digests."""
    return zone(timezone_name(flag))


def prefect_defaults() -> None:
    """Defaults for Prefect's embedded mode; set before prefect is imported.

    The user's own environment always wins (``setdefault``).
    """
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "newswatch,warehouse,monitors")
    # The same modules also run outside flows (tests, benchmarks): no API logging there.
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
