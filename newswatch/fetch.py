"""Polite HTTP fetching with httpx.

Concurrent across hosts, polite within one: at most ``per_host`` requests in
flight to a host and a minimum gap between the starts of two requests to it.
Every response body is read under a size cap and an overall deadline, so a
server that drips bytes or never ends a body costs at most the deadline.
Redirects are followed by hand, so that each hop obeys the same rules.

Results are values (``Fetched``), failures included: a failure carries a
short, human-readable ``error`` and an ``error_kind`` that says whether a
later attempt may succeed.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import logging
import socket
import time
import urllib.robotparser
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from urllib.parse import urljoin, urlsplit

import httpx

from newswatch import __version__, settings
from newswatch.urls import host_of, redact

log = logging.getLogger(__name__)


class _Redacting(logging.Filter):
    """httpx logs every request's URL, and httpcore (at debug level) every header,
    passwords and tokens included: hide them."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = redact(message)
        if hidden != message:
            record.msg, record.args = hidden, ()
        return True


for _name in ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy"):
    logging.getLogger(_name).addFilter(_Redacting())

USER_AGENT = f"newswatch/{__version__} (+https://github.com/newswatch/newswatch; news monitor)"

TRANSIENT = "transient"  # worth another attempt later
PERMANENT = "permanent"  # the same request will fail the same way
UNREACHABLE = "unreachable"  # no route or no name: retried next cycle, not within this one


@dataclass(frozen=True)
class FetchSettings:
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    deadline: float = 45.0  # whole request, body included
    per_host: int = 2
    min_gap: float = 1.0  # seconds between request starts to one host
    max_redirects: int = 5
    max_page_bytes: int = 5_000_000
    max_feed_bytes: int = 10_000_000
    retries: int = 2  # extra attempts within one run for transient failures
    retry_backoff: float = 1.0
    max_retry_after: float = 30.0  # longer Retry-After waits end the attempt for this run
    max_concurrency: int = 32
    respect_robots: bool = True
    user_agent: str = USER_AGENT
    # Hosts or networks (CIDR) that may be reached although they are private or
    # loopback addresses; the feed's own host is always allowed.
    allow_private: tuple[str, ...] = field(default_factory=settings.allowed_private)
    extract_workers: int = 0  # processes for extraction; 0: one per core
    pool_threshold: int = 40  # fewer pages than this are extracted in a thread
    dask: str | None = None  # a Dask scheduler's address: extract there, in batches (settings.dask_address)


@dataclass(frozen=True)
class Fetched:
    """One request's outcome, with its provenance."""

    url: str
    final_url: str
    status: int | None
    headers: dict[str, str]
    body: bytes | None
    fetched_at: datetime
    elapsed: float
    error: str | None = None
    error_kind: str | None = None
    retry_after: float | None = None  # seconds, when the server asked us to wait
    redirects: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


class _Host:
    def __init__(self, per_host: int, client: httpx.AsyncClient):
        self.slots = asyncio.Semaphore(per_host)
        self.lock = asyncio.Lock()
        self.next_start = 0.0
        self.client = client


class Fetcher:
    """An async client shared by one stage of a cycle.

    Each host gets its own small connection pool (``per_host`` connections, kept
    alive): httpx scans its whole pool on every request, so one pool for
    hundreds of hosts would spend more CPU on bookkeeping than on reading.
    """

    def __init__(self, settings: FetchSettings | None = None):
        self.settings = settings or FetchSettings()
        self._tls = httpx.create_ssl_context()  # built once: loading the CA bundle is slow
        self._hosts: dict[str, _Host] = {}
        self._global = asyncio.Semaphore(self.settings.max_concurrency)
        self._robots: dict[str, urllib.robotparser.RobotFileParser | str] = {}
        self._robots_locks: dict[str, asyncio.Lock] = {}
        self._address_checks: dict[str, str | None] = {}
        self._allowed_networks = [ipaddress.ip_network(a, strict=False) for a in self.settings.allow_private
                                  if _is_network(a)]
        self.requests = 0
        self.bytes_received = 0

    async def __aenter__(self) -> "Fetcher":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.gather(*(h.client.aclose() for h in self._hosts.values()))

    def _new_client(self) -> httpx.AsyncClient:
        s = self.settings
        return httpx.AsyncClient(
            timeout=httpx.Timeout(s.read_timeout, connect=s.connect_timeout),
            follow_redirects=False,
            headers={"User-Agent": s.user_agent, "Accept-Encoding": "gzip, deflate"},
            limits=httpx.Limits(max_connections=s.per_host, max_keepalive_connections=s.per_host),
            verify=self._tls,
            trust_env=False,
        )

    def _host(self, url: str) -> _Host:
        key = host_of(url)
        if key not in self._hosts:
            self._hosts[key] = _Host(self.settings.per_host, self._new_client())
        return self._hosts[key]

    def hold_host(self, url: str, seconds: float) -> None:
        """Keep every request to *url*'s host waiting *seconds* (Retry-After)."""
        host = self._host(url)
        host.next_start = max(host.next_start, time.monotonic() + seconds)

    async def _wait_turn(self, host: _Host) -> None:
        async with host.lock:
            now = time.monotonic()
            if host.next_start > now:
                await asyncio.sleep(host.next_start - now)
            host.next_start = max(time.monotonic(), host.next_start) + self.settings.min_gap

    async def _one_request(self, url: str, headers: dict[str, str], max_bytes: int) -> Fetched:
        """A single HTTP request (no redirects), under the host's politeness rules."""
        host = self._host(url)
        started = time.monotonic()
        fetched_at = datetime.now(timezone.utc)
        # The host's slot and turn first, then a global slot: a request waiting for
        # its host's gap must not hold a global slot that another host could use.
        async with host.slots:
            held = host.next_start - time.monotonic() - self.settings.min_gap
            if held > self.settings.max_retry_after:
                # The host asked us (Retry-After) to stay away longer than a run should wait.
                return self._failure(url, fetched_at, started,
                                     f"deferred: the host asked us to wait {held:.0f}s more (Retry-After)", TRANSIENT)
            await self._wait_turn(host)
            async with self._global:
                return await self._timed_request(url, headers, max_bytes, fetched_at, started)

    async def _timed_request(self, url: str, headers: dict[str, str], max_bytes: int, fetched_at: datetime,
                             started: float) -> Fetched:
        self.requests += 1
        try:
            return await asyncio.wait_for(
                self._read(url, headers, max_bytes, fetched_at, started), self.settings.deadline
            )
        except asyncio.TimeoutError:
            return self._failure(url, fetched_at, started, f"no complete response within {self.settings.deadline:.0f}s", TRANSIENT)
        except httpx.ConnectTimeout:
            return self._failure(url, fetched_at, started, "connection timed out", TRANSIENT)
        except httpx.ReadTimeout:
            return self._failure(url, fetched_at, started, f"read timed out after {self.settings.read_timeout:.0f}s", TRANSIENT)
        except httpx.ConnectError as exc:
            reason = _reason(exc)
            kind = UNREACHABLE if reason.startswith(("host name", "network is")) else TRANSIENT
            return self._failure(url, fetched_at, started, f"cannot connect: {reason}", kind)
        except httpx.RemoteProtocolError as exc:
            return self._failure(url, fetched_at, started, f"protocol error: {_reason(exc)}", TRANSIENT)
        except httpx.DecodingError as exc:
            return self._failure(url, fetched_at, started, f"undecodable body: {_reason(exc)}", PERMANENT)
        except httpx.TransportError as exc:
            return self._failure(url, fetched_at, started, f"network error: {_reason(exc)}", TRANSIENT)
        except httpx.InvalidURL as exc:
            return self._failure(url, fetched_at, started, f"invalid URL: {exc}", PERMANENT)

    async def _read(self, url: str, headers: dict[str, str], max_bytes: int, fetched_at: datetime, started: float) -> Fetched:
        async with self._host(url).client.stream("GET", url, headers=headers) as resp:
            hdrs = {k.lower(): v for k, v in resp.headers.items()}
            declared = resp.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                return self._failure(url, fetched_at, started, f"too large: Content-Length {int(declared):,} bytes exceeds the {max_bytes:,}-byte cap", PERMANENT, status=resp.status_code, headers=hdrs)
            chunks: list[bytes] = []
            size = 0
            if resp.status_code < 300 or resp.status_code >= 400:
                async for chunk in resp.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        return self._failure(url, fetched_at, started, f"too large: body exceeds the {max_bytes:,}-byte cap", PERMANENT, status=resp.status_code, headers=hdrs)
                    chunks.append(chunk)
            self.bytes_received += resp.num_bytes_downloaded
            return Fetched(
                url=url, final_url=url, status=resp.status_code, headers=hdrs, body=b"".join(chunks),
                fetched_at=fetched_at, elapsed=time.monotonic() - started,
                retry_after=parse_retry_after(hdrs.get("retry-after")),
            )

    @staticmethod
    def _failure(url: str, fetched_at: datetime, started: float, error: str, kind: str, *, status: int | None = None, headers: dict[str, str] | None = None) -> Fetched:
        return Fetched(url=url, final_url=url, status=status, headers=headers or {}, body=None,
                       fetched_at=fetched_at, elapsed=time.monotonic() - started, error=error, error_kind=kind)

    async def allowed_by_robots(self, url: str) -> tuple[bool, str | None]:
        """RFC 9309: a 4xx robots.txt allows all; 5xx or unreachable disallows all for now."""
        if not self.settings.respect_robots:
            return True, None
        parts = urlsplit(url)
        root = f"{parts.scheme}://{parts.netloc}"
        lock = self._robots_locks.setdefault(root, asyncio.Lock())
        async with lock:
            if root not in self._robots:
                result = await self._one_request(root + "/robots.txt", {}, 500_000)
                if result.status is not None and 200 <= result.status < 300 and result.body is not None:
                    parser = urllib.robotparser.RobotFileParser()
                    parser.parse(result.body.decode("utf-8", "replace").splitlines())
                    self._robots[root] = parser
                elif result.status is not None and 300 <= result.status < 500:
                    self._robots[root] = "allow"
                else:
                    why = result.error or f"HTTP {result.status}"
                    self._robots[root] = f"robots.txt unavailable ({why})"
        rules = self._robots[root]
        if rules == "allow":
            return True, None
        if isinstance(rules, str):
            return False, rules
        if rules.can_fetch(self.settings.user_agent, url):
            return True, None
        return False, "disallowed by robots.txt"

    async def _private_target(self, url: str, origin: str | None) -> str | None:
        """Why *url* must not be fetched for a feed at *origin*, or None.

        A link is followed only to the feed's own host or to public addresses: a
        feed must not be able to point newswatch at the machine it runs on or at
        its private network. ``allow_private`` lists exceptions.
        """
        host = (urlsplit(url).hostname or "").lower()
        if origin is not None and host == (urlsplit(origin).hostname or "").lower():
            return None
        if host in self.settings.allow_private:
            return None
        if host not in self._address_checks:  # once per host and stage, not once per page
            self._address_checks[host] = await self._check_addresses(host)
        return self._address_checks[host]

    async def _check_addresses(self, host: str) -> str | None:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            return None  # unresolvable: the request itself fails with a clear reason
        for info in infos:
            address = ipaddress.ip_address(info[4][0].split("%")[0])
            if address.is_global or any(address in net for net in self._allowed_networks):
                continue
            return (f"refused: {host} resolves to the non-public address {address}; "
                    f"add it to NEWSWATCH_ALLOW_PRIVATE to allow it")
        return None

    async def get(
        self,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        max_bytes: int | None = None,
        check_robots: bool = False,
        origin: str | None = None,
    ) -> Fetched:
        """GET *url*, following redirects and retrying transient failures.

        With *origin* (the feed that linked to *url*), every hop must be on the
        origin's host or on a public address.
        """
        s = self.settings
        max_bytes = max_bytes or s.max_page_bytes
        attempt = 0
        while True:
            result = await self._follow(url, headers or {}, max_bytes, check_robots, origin)
            retryable = result.error_kind == TRANSIENT or (result.status in (429, 502, 503, 504))
            if not retryable or attempt >= s.retries:
                return result
            wait = s.retry_backoff * (2**attempt)
            if result.retry_after is not None:
                if result.retry_after > s.max_retry_after:
                    return result
                wait = max(wait, result.retry_after)
            attempt += 1
            log.debug("Retrying %s in %.1fs (%s)", url, wait, result.error or result.status)
            await asyncio.sleep(wait)

    async def _follow(self, url: str, headers: dict[str, str], max_bytes: int, check_robots: bool,
                      origin: str | None = None) -> Fetched:
        hops: list[str] = []
        current = url
        while True:
            if urlsplit(current).scheme not in ("http", "https"):
                return self._failure(url, datetime.now(timezone.utc), time.monotonic(), f"unsupported URL scheme in {current!r}", PERMANENT)
            if origin is not None:
                refused = await self._private_target(current, origin)
                if refused:
                    failure = self._failure(url, datetime.now(timezone.utc), time.monotonic(), refused, PERMANENT)
                    return _replace(failure, final_url=current, redirects=tuple(hops))
            if check_robots:
                allowed, why = await self.allowed_by_robots(current)
                if not allowed:
                    return self._failure(url, datetime.now(timezone.utc), time.monotonic(), why or "disallowed by robots.txt", PERMANENT)
            result = await self._one_request(current, headers, max_bytes)
            if result.status in (301, 302, 303, 307, 308) and result.error is None:
                location = result.headers.get("location")
                if not location:
                    return _replace(result, url=url, error=f"HTTP {result.status} redirect without Location", error_kind=PERMANENT)
                nxt = urljoin(current, location)
                if nxt in hops or nxt == current:
                    return _replace(result, url=url, error=f"redirect loop at {nxt}", error_kind=PERMANENT)
                hops.append(current)
                if len(hops) > self.settings.max_redirects:
                    return _replace(result, url=url, error=f"more than {self.settings.max_redirects} redirects", error_kind=PERMANENT)
                current = nxt
                continue
            if result.retry_after is not None and result.status in (429, 503):
                self.hold_host(current, min(result.retry_after, 86400))
            if result.error is None and result.status is not None and result.status >= 400:
                kind = TRANSIENT if result.status in (408, 425, 429) or result.status >= 500 else PERMANENT
                message = f"HTTP {result.status}"
                if result.retry_after is not None:
                    message += f" (Retry-After {result.retry_after:.0f}s)"
                result = _replace(result, error=message, error_kind=kind)
            return _replace(result, url=url, final_url=current, redirects=tuple(hops))


def _is_network(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


def _replace(result: Fetched, **changes: object) -> Fetched:
    return replace(result, **changes)


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    if "Name or service not known" in text or "nodename nor servname" in text or "Temporary failure in name resolution" in text:
        return "host name could not be resolved (no network, or no such host)"
    if "Connection refused" in text or "All connection attempts failed" in text:
        return "connection refused (host down or nothing listening)"
    if "Network is unreachable" in text:
        return "network is unreachable"
    return text or type(exc).__name__

