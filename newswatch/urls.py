"""Canonical URLs: the first layer of deduplication.

Two links that differ only in tracking parameters, fragment, default port,
letter case of scheme and host, or parameter order point at the same page.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

# Query parameters that identify a campaign or a click, never the page.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid",
        "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "ref_src", "ref_url",
        "cmpid", "ncid", "ocid", "spm", "share", "smid", "rss", "from_rss", "at_medium",
        "at_campaign", "guccounter", "guce_referrer", "guce_referrer_sig",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "at_", "__twitter_impression")
DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def _requote(part: str, safe: str) -> str:
    # Decode then encode once, so that %7E and ~ (or a raw space and %20) agree.
    return quote(unquote(part), safe=safe)


def canonical_url(url: str) -> str:
    """Return the canonical form of *url*; idempotent.

    Non-HTTP identifiers (``seed:…``, ``urn:…``) are returned stripped but unchanged.
    """
    url = url.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return url
    host = parts.hostname.lower().rstrip(".")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = _requote(parts.path or "/", safe="/:@!$&'()*+,;=-._~")
    query_pairs = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)
    ]
    query_pairs.sort()
    query = urlencode(query_pairs, quote_via=quote, safe="/:@!$'()*+,;-._~")
    return urlunsplit((scheme, netloc, path, query, ""))


def feed_url_problem(url: str) -> str | None:
    """Why *url* cannot be a feed's address (None when it can): only http and https with a host."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if not scheme or " " in url.strip():
        return "not a web address (a feed URL starts with http:// or https://)"
    if scheme not in ("http", "https"):
        return f"{scheme}:// is not supported (a feed URL starts with http:// or https://)"
    if not parts.hostname:
        return "no host name in the address"
    try:
        parts.port
    except ValueError:
        return "the port is not a number from 0 to 65535"
    return None


def host_of(url: str) -> str:
    """The host:port a request to *url* goes to (the unit of politeness)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower(), 0)
    except ValueError:
        port = 0
    return f"{host}:{port}"


_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*):[^@/\s]*@")
_SECRET_PARAM = re.compile(
    r"(?i)([?&](?:token|key|api[_-]?key|apikey|password|passwd|pass|secret|sig|signature|access[_-]?token)=)[^&\s#'\"]+")


def redact(text: str | None) -> str | None:
    """*text* with passwords in URLs (``user:pass@``) and secret query parameters hidden.

    Applied to everything newswatch says about a URL: logs, recorded errors,
    reports, digests, command output.
    """
    if not text:
        return text
    return _SECRET_PARAM.sub(r"\1***", _USERINFO.sub(r"\1:***@", text))
