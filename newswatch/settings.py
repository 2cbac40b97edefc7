"""One settings surface: command-line flag, then environment variable, then default.

| setting        | flag        | environment variable | default                         |
|----------------|-------------|----------------------|---------------------------------|
| feed list      | --feeds     | NEWSWATCH_FEEDS      | seeds/feeds.opml                |
| warehouse      | --db        | NEWSWATCH_DB         | newswatch.duckdb (WORK_DIR)     |
| per-host gap   | --host-gap  | NEWSWATCH_HOST_GAP   | 1.0 seconds                     |
| digest outbox  | --outbox    | NEWSWATCH_OUTBOX     | outbox/ (WORK_DIR)              |
| time zone      | --timezone  | NEWSWATCH_TIMEZONE   | Asia/Tokyo (the digest schedule's) |
| rules folder   |             | NEWSWATCH_RULES      | monitors/rules                  |
| Dask scheduler | --dask      | NEWSWATCH_DASK       | none: extraction on this machine |

Shipped data (seeds/, monitors/rules/) is found next to the packages that hold it, in a
checkout and in an installed wheel alike. The files newswatch writes by default (the
warehouse, the outbox, the demo's warehouse and feed list) go to WORK_DIR: the project
folder in a source checkout, and the folder newswatch was started in when it runs from an
installed wheel (never site-packages).

Settings read from the environment only (secrets and deployment details, no flag):

| setting                  | environment variable              | default                          |
|--------------------------|-----------------------------------|----------------------------------|
| private hosts to fetch   | NEWSWATCH_ALLOW_PRIVATE           | none (names or CIDR networks)    |
| SMTP server (mail on)    | NEWSWATCH_SMTP_HOST               | unset: no e-mail                 |
| SMTP port                | NEWSWATCH_SMTP_PORT               | 587 starttls, 465 ssl, 25 none   |
| SMTP security            | NEWSWATCH_SMTP_SECURITY           | starttls (or ssl, none)          |
| SMTP login               | NEWSWATCH_SMTP_USER, _PASSWORD    | none                             |
| SMTP password in Prefect | NEWSWATCH_SMTP_PASSWORD_BLOCK     | none (a Secret block's name)     |
| SMTP private CA          | NEWSWATCH_SMTP_CA_FILE            | the system's CAs only            |
| SMTP timeout             | NEWSWATCH_SMTP_TIMEOUT            | 30 seconds                       |
| sender, recipients       | NEWSWATCH_MAIL_FROM, NEWSWATCH_MAIL_TO | newswatch@<host>; required  |
| chat (Apprise URLs)      | NEWSWATCH_APPRISE_URLS            | none (space- or comma-separated) |
| at-scale mode (locks are Prefect concurrency limits) | NEWSWATCH_SCALE | off (1, true or yes: on) |

Nothing else in newswatch reads NEWSWATCH_* variables: callers ask this module.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from newswatch import CHECKOUT_DIR, PACKAGES_DIR

#: The seed articles, their manifest and the default feed list (the ``seeds`` package's files).
SEEDS_DIR = PACKAGES_DIR / "seeds"
#: Where the files newswatch writes by default go: the project folder in a checkout, the
#: folder it was started in when installed (taken at start, so a later chdir changes nothing).
WORK_DIR = CHECKOUT_DIR or Path.cwd()

DEFAULT_FEEDS = SEEDS_DIR / "feeds.opml"
DEFAULT_DB = WORK_DIR / "newswatch.duckdb"
DEFAULT_HOST_GAP = 1.0
DEFAULT_OUTBOX = WORK_DIR / "outbox"
DEMO_DB = WORK_DIR / "demo.duckdb"
DEMO_FEEDS = WORK_DIR / "demo-feeds.opml"
# The user's time zone: the digest's schedule runs in it (serve, prefect.yaml) and
# the digest shows its times in it.
DEFAULT_TIMEZONE = "Asia/Tokyo"
DEFAULT_RULES = PACKAGES_DIR / "monitors" / "rules"


def feeds_path(flag: str | Path | None = None) -> Path:
    return Path(flag or os.environ.get("NEWSWATCH_FEEDS") or DEFAULT_FEEDS).expanduser()


def db_path(flag: str | Path | None = None) -> Path:
    return Path(flag or os.environ.get("NEWSWATCH_DB") or DEFAULT_DB).expanduser()


def outbox_path(flag: str | Path | None = None) -> Path:
    return Path(flag or os.environ.get("NEWSWATCH_OUTBOX") or DEFAULT_OUTBOX).expanduser()


def rules_path(flag: str | Path | None = None) -> Path:
    return Path(flag or os.environ.get("NEWSWATCH_RULES") or DEFAULT_RULES).expanduser()


def dask_address(flag: str | None = None) -> str | None:
    """The Dask scheduler that extracts pages (``tcp://host:8786``); None: extract on this machine."""
    return (flag or os.environ.get("NEWSWATCH_DASK") or "").strip() or None


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


def scale_mode(env: Mapping[str, str] | None = None) -> bool:
    """NEWSWATCH_SCALE: runs share one Prefect server (workers on several machines), so the
    cycle's locks are that server's concurrency limits rather than files beside the warehouse."""
    value = (os.environ if env is None else env).get("NEWSWATCH_SCALE", "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"NEWSWATCH_SCALE must be 1 or 0 (true/false, yes/no), not {value!r}")


def allowed_private(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """NEWSWATCH_ALLOW_PRIVATE: host names and networks that links may reach although they are
    private, separated by commas or spaces, lower-cased."""
    value = (os.environ if env is None else env).get("NEWSWATCH_ALLOW_PRIVATE", "")
    return tuple(v.lower() for v in value.replace(",", " ").split())


# -- mail and chat ----------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # starttls | ssl | none
    user: str | None
    password: str | None
    sender: str
    recipients: tuple[str, ...]
    timeout: float = 30.0
    ca_file: str | None = None  # a private CA to trust, besides the system's

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)

    def __repr__(self) -> str:  # never show the password
        return f"SmtpSettings(host={self.host!r}, port={self.port}, security={self.security!r}, user={self.user!r})"


def smtp_from_env(env: Mapping[str, str] | None = None) -> SmtpSettings | None:
    """SMTP settings from NEWSWATCH_SMTP_* variables; None when no host is set.

    The password comes from NEWSWATCH_SMTP_PASSWORD, or from the Prefect
    Secret block named in NEWSWATCH_SMTP_PASSWORD_BLOCK. NEWSWATCH_SMTP_CA_FILE
    adds a CA to trust (a company mail server with a private certificate).
    """
    env = dict(os.environ if env is None else env)
    host = env.get("NEWSWATCH_SMTP_HOST")
    if not host:
        return None
    security = env.get("NEWSWATCH_SMTP_SECURITY", "starttls").lower()
    if security not in ("starttls", "ssl", "none"):
        raise ValueError(f"NEWSWATCH_SMTP_SECURITY must be starttls, ssl or none, not {security!r}")
    port = _number(env, "NEWSWATCH_SMTP_PORT", int, "a port number") or {"starttls": 587, "ssl": 465, "none": 25}[security]
    recipients = tuple(r.strip() for r in env.get("NEWSWATCH_MAIL_TO", "").split(",") if r.strip())
    if not recipients:
        raise ValueError("NEWSWATCH_SMTP_HOST is set but NEWSWATCH_MAIL_TO names no recipient")
    password = env.get("NEWSWATCH_SMTP_PASSWORD")
    block = env.get("NEWSWATCH_SMTP_PASSWORD_BLOCK")
    if block and not password:
        from prefect.blocks.system import Secret

        password = Secret.load(block).get()
    return SmtpSettings(host, port, security, env.get("NEWSWATCH_SMTP_USER") or None, password,
                        env.get("NEWSWATCH_MAIL_FROM", f"newswatch@{host}"), recipients,
                        _number(env, "NEWSWATCH_SMTP_TIMEOUT", float, "a number of seconds") or 30.0,
                        env.get("NEWSWATCH_SMTP_CA_FILE") or None)


def _number(env: Mapping[str, str], name: str, kind: type, what: str) -> float | None:
    value = env.get(name)
    if not value:
        return None
    try:
        number = kind(value)
    except ValueError:
        number = 0
    if not number > 0:
        raise ValueError(f"{name} must be {what}, not {value!r}")
    return number


def apprise_urls(env: Mapping[str, str] | None = None) -> list[str]:
    """NEWSWATCH_APPRISE_URLS: Apprise URLs for chat, separated by spaces or commas."""
    env = dict(os.environ if env is None else env)
    return [u for u in env.get("NEWSWATCH_APPRISE_URLS", "").replace(",", " ").split() if u]
