"""Serve the demo newsroom: one HTTP server per outlet on 127.0.0.1.

Each outlet gets its own port, so each is a separate host for politeness
rules. The server answers conditional requests (ETag, Last-Modified) with
304, serves robots.txt, records every request it sees (for tests and for
the curious), and can be given extra routes (broken feeds, slow pages).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from newswatch.demo.build import SITE_DIR
from newswatch.opml import FeedSource, write_opml

CONTENT_TYPES = {
    ".html": "text/html",
    ".xml": "application/xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".rdf": "application/rdf+xml",
    ".txt": "text/plain",
}
# Fixed, so that Last-Modified is stable across restarts.
LAST_MODIFIED = formatdate(1763600000, usegmt=True)


@dataclass(frozen=True)
class Request:
    outlet: str
    path: str
    status: int
    if_none_match: str | None
    if_modified_since: str | None
    user_agent: str | None
    at: float


# A route returns (status, headers, body). A body that is an iterable of byte
# chunks is streamed as it is produced (slow or endless bodies, in tests): with no
# Content-Length unless the route sets one, and the connection closed afterwards.
Route = Callable[[BaseHTTPRequestHandler], tuple[int, dict[str, str], "bytes | Iterable[bytes]"]]


class _Handler(BaseHTTPRequestHandler):
    server: "_OutletServer"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet by default
        pass

    def do_POST(self) -> None:  # noqa: N802 - webhooks in tests (chat notifications)
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length)
        self.do_GET()

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        srv = self.server
        path = urlsplit(self.path).path
        if srv.latency:
            time.sleep(srv.latency)
        route = srv.routes.get(path)
        if route is not None:
            status, headers, body = route(self)
        else:
            status, headers, body = srv.static(path)
        if status == 200 and "ETag" in headers:
            inm = self.headers.get("If-None-Match")
            ims = self.headers.get("If-Modified-Since")
            if (inm and inm == headers["ETag"]) or (not inm and ims and ims == headers.get("Last-Modified")):
                status, body = 304, b""
        srv.log(Request(srv.outlet, path, status, self.headers.get("If-None-Match"),
                        self.headers.get("If-Modified-Since"), self.headers.get("User-Agent"), time.time()))
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if isinstance(body, bytes):
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_header("Connection", "close")
        self.close_connection = True
        self.end_headers()
        try:
            for chunk in body:
                self.wfile.write(chunk)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it should


class _OutletServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr: tuple[str, int], outlet: str, info: dict, site_dir: Path, newsroom: "DemoNewsroom"):
        super().__init__(addr, _Handler)
        self.outlet = outlet
        self.info = info
        self.root = site_dir / outlet
        self.routes: dict[str, Route] = {}
        self.latency = 0.0
        self.newsroom = newsroom
        self.base_url = f"http://{addr[0]}:{self.server_address[1]}"

    def log(self, request: Request) -> None:
        with self.newsroom.lock:
            self.newsroom.requests.append(request)

    def static(self, path: str) -> tuple[int, dict[str, str], bytes]:
        target = (self.root / path.lstrip("/")).resolve()
        if self.root.resolve() not in target.parents or not target.is_file():
            return 404, {"Content-Type": "text/html; charset=utf-8"}, b"<h1>Not found</h1>"
        body = target.read_bytes().replace(b"{{BASE}}", self.base_url.encode())
        ctype = CONTENT_TYPES.get(target.suffix, "application/octet-stream")
        if ctype == "text/html":
            charset = self.info["charset"]
            ctype = f"text/html; charset={charset}" if self.info["header_charset"] else "text/html"
        elif ctype != "application/octet-stream":
            ctype += "; charset=utf-8"
        headers = {
            "Content-Type": ctype,
            "ETag": '"' + hashlib.sha1(body).hexdigest()[:16] + '"',
            "Last-Modified": LAST_MODIFIED,
        }
        return 200, headers, body


class DemoNewsroom:
    """Start with ``with DemoNewsroom() as room:``; ``room.feeds()`` lists its feeds."""

    def __init__(self, site_dir: Path = SITE_DIR, host: str = "127.0.0.1", base_port: int = 0):
        self.site_dir = site_dir
        self.index = json.loads((site_dir / "index.json").read_text("utf-8"))
        self.host = host
        self.base_port = base_port
        self.servers: dict[str, _OutletServer] = {}
        self.threads: list[threading.Thread] = []
        self.requests: list[Request] = []
        self.lock = threading.Lock()

    def start(self) -> "DemoNewsroom":
        for i, (outlet, info) in enumerate(self.index["outlets"].items()):
            port = self.base_port + i if self.base_port else 0
            srv = _OutletServer((self.host, port), outlet, info, self.site_dir, self)
            thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                                      name=f"demo-{outlet}", daemon=True)
            thread.start()
            self.servers[outlet] = srv
            self.threads.append(thread)
        return self

    def stop(self) -> None:
        for srv in self.servers.values():
            srv.shutdown()
            srv.server_close()

    def __enter__(self) -> "DemoNewsroom":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(self, outlet: str, path: str = "/") -> str:
        return self.servers[outlet].base_url + path

    def feeds(self) -> list[FeedSource]:
        return [
            FeedSource(self.url(outlet, info["feed"]), info["name"], "Demo newsroom", info["lang"])
            for outlet, info in self.index["outlets"].items()
        ]

    def write_opml(self, path: Path, extra: list[FeedSource] | None = None) -> Path:
        write_opml(path, "newswatch demo newsroom", self.feeds() + list(extra or []))
        return path

    def add_route(self, outlet: str, path: str, route: Route) -> str:
        self.servers[outlet].routes[path] = route
        return self.url(outlet, path)

    def requests_for(self, outlet: str | None = None, path: str | None = None) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if (outlet is None or r.outlet == outlet) and (path is None or r.path == path)]
