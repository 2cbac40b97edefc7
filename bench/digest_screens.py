"""Render a sample digest and check its HTML in headless Chromium at desktop and phone widths.

    python bench/digest_screens.py OUT_DIR [--chromium PATH] [--widths 1280,375]

The sample is built from our own corpus (bench/corpus/source): English,
Japanese and Korean articles run through the real alert rules, so the
passages and marks are what a digest shows. It has a story matched by both
rules, a story carried by many outlets, long URLs, feeds in trouble, a rule
file in trouble, and an entry already sent as it happened.

OUT_DIR receives digest.html, digest.txt and digest.md, and one screenshot
per width (digest-1280.png, digest-375.png). Chromium's headless window is
at least 500 px wide, so the page is opened in a frame of the width under
test (narrower widths show the grey host page to the right of the frame).
For each width the script measures the document's scrollWidth against the viewport's width
and lists every element that reaches past the viewport, prints a table, and
exits 1 when anything overflows (2 when Chromium is missing).

Needs Chromium (Debian: ``apt-get install chromium``; CJK text needs a CJK
font, e.g. ``fonts-noto-cjk``). Nothing here is committed: OUT_DIR is yours.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitors.engine import load_rules  # noqa: E402
from newswatch.digest import render  # noqa: E402

SOURCE = ROOT / "bench" / "corpus" / "source"
NOW = datetime(2026, 11, 29, 23, 0, tzinfo=timezone.utc)  # 08:00 in Tokyo
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--force-device-scale-factor=1"]
MAX_SHOT_HEIGHT = 16000

# Chromium's headless window is at least 500 px wide, so the page is shown in a frame of the
# width under test; the frame measures itself and tells the host page, which --dump-dom returns.
MIN_WINDOW = 500
MEASURE = """<script>
(function () {
  var vw = window.innerWidth, wide = [], all = document.body.getElementsByTagName('*');
  for (var i = 0; i < all.length; i++) {
    var el = all[i], r = el.getBoundingClientRect();
    if (el.tagName === 'SCRIPT' || (r.width === 0 && r.height === 0)) continue;
    if (r.right > vw + 0.5 || r.left < -0.5) {
      wide.push(el.tagName.toLowerCase() + ' [' + Math.round(r.left) + ', ' + Math.round(r.right) + '] '
                + (el.textContent || '').trim().slice(0, 50));
    }
  }
  parent.postMessage(JSON.stringify({viewport: vw, scrollWidth: document.documentElement.scrollWidth,
                                     height: document.documentElement.scrollHeight, wide: wide}), '*');
})();
</script>"""
HOST = """<!DOCTYPE html><html><head><meta charset="utf-8"></head>
<body style="margin: 0; background: #9aa0a6;">
<iframe src="{src}" scrolling="no" style="display: block; border: 0; width: {width}px; height: {height}px; background: #fff;"></iframe>
<pre id="digest-measure" hidden></pre>
<script>window.addEventListener('message', function (e) {{ document.getElementById('digest-measure').textContent = e.data; }});</script>
</body></html>"""


def corpus_articles() -> list[dict[str, Any]]:
    articles = []
    for lang in ("en", "ja", "ko"):
        for item in tomllib.loads((SOURCE / f"{lang}.toml").read_text("utf-8"))["article"]:
            articles.append({**item, "language": lang})
    return articles


def pick(articles: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Per language: a story both rules match, then one story for each rule alone."""
    rules = load_rules()
    chosen = []
    for lang in ("en", "ja", "ko"):
        wanted = [{"summit", "abductees"}, {"summit"}, {"abductees"}]
        for art in (a for a in articles if a["language"] == lang):
            matches = {r.id: m for r in rules if (m := r.match(art["title"], art["body"])) is not None}
            if set(matches) in wanted:
                wanted.remove(set(matches))
                chosen.append((art, matches))
            if not wanted:
                break
    return chosen


def long_url(host: str, slug: str, n: int) -> str:
    return (f"https://www.{host}/news/world/asia-pacific/2026/11/29/{slug}-{n:03d}"
            f"-japan-north-korea-relations-analysis-and-reaction-from-regional-capitals?utm_source=rss"
            f"&utm_medium=feed&utm_campaign=asia_briefing_{n}")


def sample() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    outlets = {"en": ["The Harbor Times", "Asia Pacific Wire", "Northeast Asia Policy Review", "Pacific Ledger",
                      "Morning Courier", "The Strait Observer", "Capital Dispatch", "Korea Watch Weekly",
                      "Eastern Gazette", "Regional Desk", "Global Affairs Daily", "Harbour Evening Post"],
               "ja": ["東京日報", "東京日報デジタル", "北陸新聞", "関西通信"],
               "ko": ["한반도일보", "한반도뉴스", "서울경제신문"]}
    hosts = {"en": "harbor-times.example", "ja": "tokyo-nippo.example", "ko": "hanbando-ilbo.example"}
    alerts = []
    immediate_story = None
    for k, (art, matches) in enumerate(pick(corpus_articles())):
        lang = art["language"]
        story = 1000 + k
        url = long_url(hosts[lang], art["id"], k)
        # The first English story is carried by every outlet; the others by two or three.
        count = len(outlets[lang]) if k == 0 else 2 + k % 2
        copies = [{"title": art.get("alt_title") or art["title"], "source": name,
                   "url": long_url(re.sub(r"[^a-z]", "", name.lower()) + ".example" if lang == "en"
                                   else f"outlet{i}.example", art["id"], k)}
                  for i, name in enumerate(outlets[lang][1:count], 1)]
        if immediate_story is None and len(matches) > 1:
            immediate_story = k  # its summit alert went out as it happened
        for rule, m in matches.items():
            alerts.append({
                "alert_id": len(alerts) + 1, "rule": rule, "severity": "high", "matched": m.matched,
                "snippet": m.snippet, "created_at": NOW - timedelta(hours=k), "story_id": story,
                "rule_version": m.version, "field": m.field, "origin_title": art["title"],
                "origin_source": outlets[lang][0], "origin_url": url,
                "origin_published_at": NOW - timedelta(days=1, hours=k),
                "origin_first_seen_at": NOW - timedelta(hours=k, minutes=40), "copies": copies,
                "immediate_sent_at": (NOW - timedelta(hours=k, minutes=38)
                                      if rule == "summit" and k == immediate_story else None),
            })
    feeds = [
        {"url": "https://feeds.example-broadcaster.example/rss/world/asia/north-korea/japan-relations/all-stories"
                "-including-analysis-and-opinion.xml?format=rss2&region=apac&token=abc123",
         "title": "Example Broadcaster — Asia", "status": "failing", "consecutive_failures": 7,
         "last_error": "HTTP 503 from feeds.example-broadcaster.example (Retry-After 3600)", "last_new_item_at": None},
        {"url": "https://www.kr-daily.example/rss/northkorea.xml", "title": None, "status": "silent",
         "consecutive_failures": 0, "last_error": None, "last_new_item_at": NOW - timedelta(days=4, hours=6)},
    ]
    problems = ["monitors/rules/missiles.toml: line 12: expected '=' after a key in a key/value pair "
                "(rule 'missiles' is not running; the other rules are)"]
    return alerts, feeds, problems


def find_chromium(given: str | None) -> str | None:
    if given:
        return given if Path(given).exists() or shutil.which(given) else None
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


def chromium(binary: str, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="digest-chromium-") as profile:
        return subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout)


def framed(page: Path, width: int, height: int, src: Path, name: str) -> Path:
    host = page.with_name(name)
    host.write_text(HOST.format(src=src.name, width=width, height=height), "utf-8")
    return host


def measure(binary: str, page: Path, width: int) -> dict[str, Any]:
    probe = page.with_name(f"{page.stem}-probe.html")
    probe.write_text(page.read_text("utf-8").replace("</body>", MEASURE + "</body>"), "utf-8")
    host = framed(page, width, 900, probe, f"{page.stem}-measure.html")
    try:
        done = chromium(binary, [f"--window-size={max(width, MIN_WINDOW)},900", "--virtual-time-budget=5000",
                                 "--dump-dom", host.as_uri()])
    finally:
        probe.unlink()
        host.unlink()
    found = re.search(r'<pre id="digest-measure" hidden="">(.+?)</pre>', done.stdout, re.S)
    if not found:
        raise RuntimeError(f"Chromium returned no measurement (exit {done.returncode}): {done.stderr.strip()[-300:]}")
    return json.loads(html.unescape(found.group(1)))


def screenshot(binary: str, page: Path, width: int, height: int, dest: Path) -> None:
    height = min(height, MAX_SHOT_HEIGHT)
    host = framed(page, width, height, page, f"{page.stem}-shot.html")
    try:
        done = chromium(binary, [f"--window-size={max(width, MIN_WINDOW)},{height}", "--virtual-time-budget=5000",
                                 f"--screenshot={dest}", host.as_uri()])
    finally:
        host.unlink()
    if not dest.exists():
        raise RuntimeError(f"Chromium wrote no screenshot (exit {done.returncode}): {done.stderr.strip()[-300:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder for the sample digest and the screenshots")
    parser.add_argument("--chromium", help="Chromium binary (default: chromium, chromium-browser or google-chrome)")
    parser.add_argument("--widths", default="1280,375", help="viewport widths in CSS pixels (default 1280,375)")
    args = parser.parse_args(argv)
    binary = find_chromium(args.chromium)
    if binary is None:
        print("digest_screens: Chromium not found. Install it (Debian: apt-get install chromium) "
              "or name it with --chromium PATH.", file=sys.stderr)
        return 2
    widths = [int(w) for w in args.widths.split(",")]
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    alerts, feeds, problems = sample()
    subject, text, html_body, markdown = render(alerts, NOW, feeds, tz="Asia/Tokyo", rule_problems=problems)
    page = out / "digest.html"
    page.write_text(html_body, "utf-8")
    (out / "digest.txt").write_text(text, "utf-8")
    (out / "digest.md").write_text(markdown, "utf-8")
    print(f"{subject}\n{len(alerts)} alerts, {len({a['story_id'] for a in alerts})} stories; files in {out}\n")
    rows, failed = [], False
    for width in widths:
        m = measure(binary, page, width)
        shot = out / f"digest-{width}.png"
        screenshot(binary, page, width, m["height"], shot)
        over = m["scrollWidth"] > m["viewport"] or bool(m["wide"])
        failed |= over
        rows.append((width, m["viewport"], m["scrollWidth"], m["height"], len(m["wide"]),
                     "OVERFLOW" if over else "ok", shot.name))
        for line in m["wide"][:10]:
            print(f"  {width}px, wider than the viewport: {line}")
    head = ("window", "viewport", "scrollWidth", "height", "elements past edge", "result", "screenshot")
    table = [head, *[tuple(map(str, r)) for r in rows]]
    sizes = [max(len(r[i]) for r in table) for i in range(len(head))]
    for r in table:
        print("  ".join(c.ljust(n) for c, n in zip(r, sizes)).rstrip())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
