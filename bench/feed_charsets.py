"""The feed reader over a folder of feed fixtures: charsets before and after.

    python bench/feed_charsets.py --fixtures DIR [--before REV] [--json FILE]

DIR holds fixtures in feedparser's test format (an XML file whose leading
comment carries ``Header: Content-type: …`` lines and an ``Expect:`` line;
feedparser's own ``tests/`` folder, or our ``tests/charsets/``). Every fixture is
served by a local HTTP server on 127.0.0.1 with its headers (a file without
them as ``application/xml``; one named ``http…`` without a Content-Type as
``text/xml``, as feedparser's runner does) and read by ``newswatch.feeds.poll_feed``.

With ``--before REV``, the same is done with the reader as it was at git
revision REV (extracted into a temporary folder), and both are compared:

* fixtures with **no declared charset** (no byte order mark, no encoding in the
  XML declaration, no charset in the Content-Type) whose bytes are not UTF-8
  and whose ``Expect:`` line names their true encoding: the feed title and
  every entry's title and summary, as feedparser read them for the reader, are
  compared with feedparser's reading when told the true encoding; Chinese,
  Japanese and Korean encodings are counted apart from the others;
* every fixture: parse outcomes, entries parsed and kept, and which fixtures'
  reading changed.
"""

from __future__ import annotations

import argparse
import codecs
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import feedparser  # noqa: E402

from newswatch.charset import declarations, display_name  # noqa: E402
from newswatch.feeds import html_to_text  # noqa: E402

READER = ROOT / "bench" / "_read_feeds.py"
_HEADER = re.compile(rb"^Header:\s+([^:]+):(.*)$", re.M)
_EXPECTED_ENCODING = re.compile(rb"^Expect:.*\bencoding\s*==\s*'([^']+)'", re.M)
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_BE, codecs.BOM_UTF16_LE,
         b"\x00\x00\x00\x3c", b"\x3c\x00\x00\x00", b"\x00\x3c\x00\x3f", b"\x3c\x00\x3f\x00")
CJK = {"shift_jis", "cp932", "euc_jp", "euc_jis_2004", "euc_jisx0213", "iso2022_jp", "euc_kr", "cp949", "johab",
       "iso2022_kr", "gb2312", "gbk", "gb18030", "hz", "big5", "cp950", "big5hkscs"}


class Fixture:
    def __init__(self, folder: Path, path: Path):
        self.name = path.relative_to(folder).as_posix()
        self.body = path.read_bytes()
        headers = {k.strip().decode("latin-1"): v.strip().decode("latin-1") for k, v in _HEADER.findall(self.body)}
        default = "text/xml" if "http" in path.name else "application/xml"
        self.content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), default)
        self.headers = {k: v for k, v in headers.items() if k.lower() not in ("content-type", "content-length")}
        m = _EXPECTED_ENCODING.search(self.body)
        self.expected_encoding = m.group(1).decode("ascii") if m else None

    @property
    def undeclared(self) -> bool:
        """No BOM, no XML declaration encoding, no HTTP charset, and not UTF-8."""
        if self.body.startswith(_BOMS) or declarations(self.body, self.content_type, markup="xml"):
            return False
        try:
            self.body.decode("utf-8")
        except UnicodeDecodeError:
            return True
        return False

    @property
    def script(self) -> str | None:
        """'CJK' or 'other' for an undeclared fixture whose true encoding is known, else None."""
        if not self.undeclared or not self.expected_encoding:
            return None
        try:
            name = codecs.lookup(self.expected_encoding).name.replace("-", "_")
        except LookupError:
            return None
        return "CJK" if name in CJK else "other"

    def truth(self) -> dict:
        """What a reader should make of the fixture: feedparser told its true encoding."""
        parsed = feedparser.parse(self.body, response_headers={
            "content-type": f"application/xml; charset={self.expected_encoding}"})
        return {"feed_title": html_to_text(parsed.feed.get("title")) or None,
                "entries": [[html_to_text(e.get("title")), html_to_text(e.get("summary"))] for e in parsed.entries]}


def serve(fixtures: list[Fixture]) -> tuple[ThreadingHTTPServer, str]:
    by_path = {"/" + quote(f.name): f for f in fixtures}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            fixture = by_path.get(quote(unquote(urlsplit(self.path).path)))
            if fixture is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", fixture.content_type)
            for k, v in fixture.headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(fixture.body)))
            self.end_headers()
            self.wfile.write(fixture.body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def read_with(tree: Path, urls: list[str], work: Path, label: str) -> dict[str, dict]:
    """Poll every URL with the newswatch found in *tree*, in a child process."""
    urls_file, out_file = work / f"{label}-urls.json", work / f"{label}-out.json"
    urls_file.write_text(json.dumps(urls))
    done = subprocess.run([sys.executable, str(READER), str(urls_file), str(out_file)],
                          env={**os.environ, "PYTHONPATH": str(tree)},
                          capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"the {label} reader failed:\n{done.stderr[-3000:]}")
    return json.loads(out_file.read_text("utf-8"))


def tree_at(revision: str, work: Path) -> Path:
    """The project's newswatch package as it was at *revision*, extracted into *work*."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "newswatch"],
                             capture_output=True, check=True).stdout
    target = work / "before"
    target.mkdir()
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


def summarise(fixtures: list[Fixture], base: str, runs: dict[str, dict[str, dict]]) -> dict:
    url = {f.name: f"{base}/{quote(f.name)}" for f in fixtures}
    report: dict = {"fixtures": len(fixtures), "runs": {}}
    groups = {s: [f for f in fixtures if f.script == s] for s in ("CJK", "other")}
    report["undeclared"] = {s: [f"{f.name} ({display_name(f.expected_encoding)})" for f in fs]
                            for s, fs in groups.items()}
    for label, results in runs.items():
        r = {}
        for script, members in groups.items():
            correct = []
            for f in members:
                got = results[url[f.name]]
                if got["outcome"] == "ok" and got["parsed"] == f.truth():
                    correct.append(f.name)
            r[f"correct_{script}"] = correct
        outcomes = Counter(v["outcome"] for v in results.values())
        r["outcomes"] = dict(outcomes)
        r["entries"] = sum(len(v["entries"]) for v in results.values())
        r["parsed_entries"] = sum(len((v["parsed"] or {}).get("entries", [])) for v in results.values())
        r["notes"] = sorted((n, v["charset_note"]) for n, u in url.items()
                            for v in [results[u]] if v.get("charset_note"))
        report["runs"][label] = r
    if "before" in runs:
        before, after = runs["before"], runs["after"]
        report["changed"] = []
        for f in fixtures:
            b, a = before[url[f.name]], after[url[f.name]]
            diffs = [k for k in ("outcome", "feed_title", "entries", "parsed", "error") if b[k] != a[k]]
            if diffs:
                report["changed"].append({"fixture": f.name, "fields": diffs, "outcome": [b["outcome"], a["outcome"]],
                                          "note": a.get("charset_note"), "error": [b["error"], a["error"]]})
    return report


def print_report(report: dict) -> None:
    labels = list(report["runs"])
    rows = []
    for script, title in (("CJK", "Chinese/Japanese/Korean, no declared charset"),
                          ("other", "other scripts, no declared charset")):
        n = len(report["undeclared"][script])
        rows.append((f"{title}: read correctly", *(f"{len(report['runs'][l][f'correct_{script}'])} / {n}" for l in labels)))
    for outcome in ("ok", "failed", "unchanged"):
        rows.append((f"all fixtures: outcome {outcome}", *(str(report["runs"][l]["outcomes"].get(outcome, 0)) for l in labels)))
    rows.append(("all fixtures: entries parsed", *(str(report["runs"][l]["parsed_entries"]) for l in labels)))
    rows.append(("all fixtures: entries kept (with a link or id)", *(str(report["runs"][l]["entries"]) for l in labels)))
    rows.append(("all fixtures: charset notes recorded", *(str(len(report["runs"][l]["notes"])) for l in labels)))
    width = max(len(r[0]) for r in rows)
    print(f"{report['fixtures']} fixtures")
    print(f"{'':{width}}  " + "  ".join(f"{l:>9}" for l in labels))
    for r in rows:
        print(f"{r[0]:{width}}  " + "  ".join(f"{v:>9}" for v in r[1:]))
    for script in ("CJK", "other"):
        print(f"\nno declared charset ({script}): " + (", ".join(report["undeclared"][script]) or "none"))
    if "changed" in report:
        print(f"\nfixtures whose reading changed: {len(report['changed'])}")
        for c in report["changed"]:
            print(f"  {c['fixture']}: {', '.join(c['fields'])}; outcome {c['outcome'][0]} -> {c['outcome'][1]}"
                  + (f"; note: {c['note']}" if c["note"] else ""))
    notes = report["runs"][labels[-1]]["notes"]
    if notes:
        print(f"\ncharset notes ({labels[-1]}):")
        for name, note in notes:
            print(f"  {name}: {note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fixtures", required=True, type=Path, help="folder of feed fixtures (searched recursively)")
    parser.add_argument("--before", metavar="REV", help="also read them with the reader at this git revision")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args(argv)
    if not args.fixtures.is_dir():
        print(f"feed_charsets: no such folder: {args.fixtures}", file=sys.stderr)
        return 2
    fixtures = [Fixture(args.fixtures, p) for p in sorted(args.fixtures.rglob("*.xml"))]
    server, base = serve(fixtures)
    try:
        with tempfile.TemporaryDirectory(prefix="feed-charsets-") as tmp:
            work = Path(tmp)
            urls = [f"{base}/{quote(f.name)}" for f in fixtures]
            runs = {}
            if args.before:
                runs["before"] = read_with(tree_at(args.before, work), urls, work, "before")
            runs["after"] = read_with(ROOT, urls, work, "after")
    finally:
        server.shutdown()
        server.server_close()
    report = summarise(fixtures, base, runs)
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
