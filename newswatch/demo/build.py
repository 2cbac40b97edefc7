"""Regenerate the demo newsroom's site from ``articles/`` and the seeds.

    python -m newswatch.demo.build

Pages and feeds contain the placeholder ``{{BASE}}``, which the server
replaces with the outlet's address when it serves them. Output is
deterministic: running the build twice gives the same files.
"""

from __future__ import annotations

import html
import json
import shutil
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from newswatch.seeds import load_seeds

DEMO_DIR = Path(__file__).parent
ARTICLES_DIR = DEMO_DIR / "articles"
SITE_DIR = DEMO_DIR / "site"
BASE = "{{BASE}}"


@dataclass(frozen=True)
class Outlet:
    id: str
    name: str
    lang: str
    feed_format: str  # rss091 | rss1 | rss2 | atom
    feed_path: str
    charset: str = "utf-8"
    header_charset: bool = True  # declare the charset in Content-Type
    meta_charset: bool = True  # declare it in <meta charset>
    sections: tuple[str, ...] = ()
    full_content_in_feed: bool = False
    tracking_query: str = ""


OUTLETS = {
    o.id: o
    for o in [
        Outlet("harbor-times", "The Harbor Times", "en", "rss2", "/feeds/all.rss",
               sections=("World", "Japan", "Business", "Sports", "Opinion", "Life"),
               tracking_query="?utm_source=rss&utm_medium=feed&utm_campaign=all"),
        Outlet("asia-wire", "Asia Pacific Wire", "en", "atom", "/atom.xml",
               sections=("Top stories", "Asia", "Politics", "Markets"), full_content_in_feed=True),
        Outlet("policy-review", "Northeast Asia Policy Review", "en", "rss1", "/index.rdf",
               sections=("About us", "Experts", "Programs", "Publications", "Events", "Support us")),
        Outlet("tokyo-nippo", "東京日報", "ja", "rss2", "/rss/news.xml", charset="shift_jis",
               sections=("トップ", "政治", "国際", "経済", "スポーツ", "社会")),
        Outlet("tokyo-nippo-web", "東京日報デジタル", "ja", "rss091", "/rss091.xml",
               sections=("ニュース", "解説", "マーケット", "動画")),
        Outlet("hanbando-ilbo", "한반도일보", "ko", "atom", "/feed.atom",
               sections=("정치", "북한", "국제", "경제", "스포츠")),
        Outlet("hanbando-news", "한반도뉴스", "ko", "rss2", "/rss.xml", charset="euc-kr",
               header_charset=False, meta_charset=False,
               sections=("뉴스", "분석", "오피니언", "포토")),
    ]
}

# Which seed files each outlet republishes, as the demo's link to the seeds.
SEED_PAGES = {
    "000_a0edb6245fde10a6": "policy-review",
    "002_08a5ba7f1ce56eae": "asia-wire",
    "003_9e78bd174fcaf00f": "harbor-times",
}

# Headlines of other stories that appear only in site chrome. They contain
# alert words on purpose: text leaking from chrome must not count.
DECOY_TEASERS = {
    "en": [
        "Gunmen abduct dozens of pupils from a boarding school in northern Nigeria",
        "Climbers reach the summit of Mount Fuji before the winter closure",
        "G20 summit ends without a joint statement on debt",
        "North Korea-watchers' reading list: ten books for the winter",
    ],
    "ja": ["ナイジェリアで生徒ら数十人が誘拐される", "富士山の山頂付近で初冠雪を観測", "G20首脳会議、共同声明見送り"],
    "ko": ["나이지리아서 학생 수십 명 납치", "한라산 정상 첫눈 관측", "G20 정상회의 공동성명 없이 폐막"],
}

CHROME_TEXT = {
    "en": {"home": "Home", "most_read": "Most read", "related": "Related stories",
           "comments": "Comments", "subscribe": "Subscribe to our newsletter for the day's top stories.",
           "rights": "All rights reserved.", "by": "By", "comment": [
               "Interesting read, thanks.", "I would like to see more coverage of this region."]},
    "ja": {"home": "ホーム", "most_read": "よく読まれている記事", "related": "関連記事",
           "comments": "コメント", "subscribe": "ニュースレターに登録すると毎朝主要ニュースが届きます。",
           "rights": "無断転載を禁じます。", "by": "", "comment": ["参考になりました。", "続報を期待しています。"]},
    "ko": {"home": "홈", "most_read": "많이 본 뉴스", "related": "관련 기사",
           "comments": "댓글", "subscribe": "뉴스레터를 구독하고 매일 아침 주요 뉴스를 받아보세요.",
           "rights": "무단 전재 및 재배포 금지.", "by": "", "comment": ["잘 읽었습니다.", "후속 보도 부탁드립니다."]},
}


@dataclass
class Page:
    id: str
    outlet: str
    lang: str
    title: str
    author: str
    published: datetime
    summary: str
    paragraphs: list[str]
    topic: str
    event: str
    copy_of: str | None = None
    thin: bool = False  # a script-rendered page whose text only the feed carries
    extra: dict = field(default_factory=dict)

    @property
    def path(self) -> str:
        return f"/news/{self.published:%Y/%m}/{self.id}.html"


def read_article(path: Path) -> tuple[dict, list[str]]:
    raw = path.read_text("utf-8")
    _, front, body = raw.split("+++", 2)
    meta = tomllib.loads(front)
    paragraphs = [p.strip() for p in body.strip().split("\n\n") if p.strip()]
    return meta, paragraphs


def collect_pages() -> list[Page]:
    pages: list[Page] = []
    for path in sorted(ARTICLES_DIR.glob("*.md")):
        meta, paragraphs = read_article(path)
        published = datetime.fromisoformat(meta["published"])
        base = Page(meta["id"], meta["outlet"], meta["lang"], meta["title"], meta["author"], published,
                    meta["summary"], paragraphs, meta["topic"], meta["event"],
                    thin=meta.get("thin", False))
        pages.append(base)
        for n, copy in enumerate(meta.get("copies", []), start=1):
            trim = int(copy.get("trim_paragraphs", 0))
            kept = paragraphs[: len(paragraphs) - trim] if trim else paragraphs
            pages.append(Page(f"{meta['id']}-copy{n}", copy["outlet"], meta["lang"], copy["title"],
                              meta["author"], published.replace(hour=min(23, published.hour + n)),
                              meta["summary"], kept, meta["topic"], meta["event"], copy_of=meta["id"]))
    for seed in load_seeds():
        outlet = SEED_PAGES.get(seed.name)
        if not outlet:
            continue
        paragraphs = seed.text.split("\n\n")
        pages.append(Page(f"seed-{seed.name[:3]}", outlet, seed.language, seed.title, seed.author or "",
                          seed.published_at or datetime(2018, 1, 1, tzinfo=timezone.utc),
                          paragraphs[0][:240], paragraphs, "on", f"seed-{seed.name}",
                          copy_of=f"seed:{seed.name}"))
    return pages


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def render_page(page: Page, outlet: Outlet, siblings: list[Page]) -> str:
    words = CHROME_TEXT[outlet.lang]
    nav = "".join(f'<li><a href="{BASE}/section/{i}">{_e(s)}</a></li>' for i, s in enumerate(outlet.sections))
    others = [p for p in siblings if p.id != page.id]
    teasers = [f'<li><a href="{BASE}{p.path}">{_e(p.title)}</a></li>' for p in others[:5]]
    teasers += [f'<li><a href="{BASE}/section/9">{_e(t)}</a></li>' for t in DECOY_TEASERS[outlet.lang]]
    related = "".join(f'<li><a href="{BASE}{p.path}">{_e(p.title)}</a><p>{_e(p.summary[:90])}…</p></li>' for p in others[5:8])
    comments = "".join(f'<div class="comment"><b>reader{i}</b><p>{_e(c)}</p></div>' for i, c in enumerate(words["comment"], 1))
    meta_charset = f'<meta charset="{outlet.charset}">' if outlet.meta_charset else ""
    byline = f'{words["by"]} {page.author}'.strip()
    if page.thin:
        body = '<div id="app" data-article="{}"><noscript>Enable JavaScript to read this story.</noscript></div>'.format(_e(page.id))
    else:
        body = "\n".join(
            f"<h2>{_e(p[3:])}</h2>" if p.startswith("## ") else f"<p>{_e(p)}</p>" for p in page.paragraphs
        )
    return f"""<!DOCTYPE html>
<html lang="{outlet.lang}">
<head>
{meta_charset}
<title>{_e(page.title)} | {_e(outlet.name)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="author" content="{_e(page.author)}">
<meta property="og:site_name" content="{_e(outlet.name)}">
<meta property="og:title" content="{_e(page.title)}">
<meta property="article:published_time" content="{page.published.isoformat()}">
<link rel="canonical" href="{BASE}{page.path}">
<link rel="stylesheet" href="{BASE}/static/site.css">
<script>window.dataLayer = window.dataLayer || []; function track(e) {{ dataLayer.push(e); }} track({{page: "{page.id}"}});</script>
</head>
<body>
<div class="topbar"><a href="{BASE}/">{_e(outlet.name)}</a> <a href="{BASE}/login">Log in</a> <a href="{BASE}/subscribe">Subscribe</a></div>
<header><nav><ul><li><a href="{BASE}/">{_e(words["home"])}</a></li>{nav}</ul></nav></header>
<div class="breaking"><a href="{BASE}/section/9">{_e(DECOY_TEASERS[outlet.lang][0])}</a></div>
<main>
<article>
<h1>{_e(page.title)}</h1>
<p class="byline">{_e(byline)} <time datetime="{page.published.isoformat()}">{page.published:%Y-%m-%d %H:%M}</time></p>
{body}
</article>
<aside class="most-read"><h3>{_e(words["most_read"])}</h3><ol>{''.join(teasers)}</ol></aside>
<section class="related"><h3>{_e(words["related"])}</h3><ul>{related}</ul></section>
<section class="comments"><h3>{_e(words["comments"])}</h3>{comments}</section>
</main>
<footer><p>{_e(words["subscribe"])}</p><ul>{nav}</ul><p>© 2026 {_e(outlet.name)}. {_e(words["rights"])}</p></footer>
<script src="{BASE}/static/app.js"></script>
</body>
</html>
"""


def _rfc822(when: datetime) -> str:
    from email.utils import format_datetime

    return format_datetime(when.astimezone(timezone.utc), usegmt=True)


def _link(page: Page, outlet: Outlet) -> str:
    """The entry's link, escaped for XML text and attributes."""
    return html.escape(f"{BASE}{page.path}{outlet.tracking_query}", quote=True)


def _full_text(page: Page) -> str:
    return "".join(f"<p>{_e(p)}</p>" for p in page.paragraphs if not p.startswith("## "))


def render_feed(outlet: Outlet, pages: list[Page]) -> str:
    x = lambda s: html.escape(s, quote=False)  # noqa: E731
    updated = max(p.published for p in pages)
    if outlet.feed_format == "atom":
        entries = []
        for p in pages:
            content = f'<content type="html">{x(_full_text(p))}</content>' if outlet.full_content_in_feed else ""
            entries.append(f"""<entry><title>{x(p.title)}</title><link rel="alternate" href="{_link(p, outlet)}"/>
<id>tag:{outlet.id}.example,2026:{p.id}</id><updated>{p.published.isoformat()}</updated>
<published>{p.published.isoformat()}</published><author><name>{x(p.author)}</name></author>
<summary>{x(p.summary)}</summary>{content}</entry>""")
        return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{outlet.lang}">
<title>{x(outlet.name)}</title><id>tag:{outlet.id}.example,2026:feed</id>
<link rel="self" href="{BASE}{outlet.feed_path}"/><link rel="alternate" href="{BASE}/"/>
<updated>{updated.isoformat()}</updated>
{''.join(entries)}
</feed>
"""
    if outlet.feed_format == "rss1":
        seq = "".join(f'<rdf:li rdf:resource="{_link(p, outlet)}"/>' for p in pages)
        items = "".join(f"""<item rdf:about="{_link(p, outlet)}"><title>{x(p.title)}</title><link>{_link(p, outlet)}</link>
<description>{x(p.summary)}</description><dc:creator>{x(p.author)}</dc:creator><dc:date>{p.published.isoformat()}</dc:date></item>
""" for p in pages)
        return f"""<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="{BASE}{outlet.feed_path}"><title>{x(outlet.name)}</title><link>{BASE}/</link>
<description>Commentary and analysis</description><items><rdf:Seq>{seq}</rdf:Seq></items></channel>
{items}</rdf:RDF>
"""
    if outlet.feed_format == "rss091":
        items = "".join(f"""<item><title>{x(p.title)}</title><link>{_link(p, outlet)}</link><description>{x(p.summary)}</description></item>
""" for p in pages)
        return f"""<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel><title>{x(outlet.name)}</title><link>{BASE}/</link>
<description>{x(outlet.name)}</description><language>{outlet.lang}</language>
{items}</channel></rss>
"""
    items = "".join(f"""<item><title>{x(p.title)}</title><link>{_link(p, outlet)}</link>
<guid isPermaLink="false">{outlet.id}-{p.id}</guid><pubDate>{_rfc822(p.published)}</pubDate>
<author>{x(p.author)}</author><description>{x(p.summary)}</description></item>
""" for p in pages)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>{x(outlet.name)}</title><link>{BASE}/</link>
<description>{x(outlet.name)}</description><language>{outlet.lang}</language>
<lastBuildDate>{_rfc822(updated)}</lastBuildDate>
{items}</channel></rss>
"""


def build(site_dir: Path = SITE_DIR) -> dict:
    pages = collect_pages()
    if site_dir.exists():
        shutil.rmtree(site_dir)
    index: dict = {"outlets": {}, "pages": []}
    for outlet in OUTLETS.values():
        mine = sorted((p for p in pages if p.outlet == outlet.id), key=lambda p: p.published, reverse=True)
        root = site_dir / outlet.id
        for page in mine:
            target = root / page.path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            text = render_page(page, outlet, mine)
            target.write_bytes(text.encode(outlet.charset, "xmlcharrefreplace"))
            index["pages"].append({
                "id": page.id, "outlet": outlet.id, "path": page.path, "lang": page.lang,
                "title": page.title, "topic": page.topic, "event": page.event, "copy_of": page.copy_of,
                "thin": page.thin,
            })
        feed = root / outlet.feed_path.lstrip("/")
        feed.parent.mkdir(parents=True, exist_ok=True)
        feed.write_text(render_feed(outlet, mine), "utf-8")
        (root / "robots.txt").write_text("User-agent: *\nDisallow: /private/\nDisallow: /login\n", "utf-8")
        index["outlets"][outlet.id] = {
            "name": outlet.name, "lang": outlet.lang, "feed": outlet.feed_path,
            "feed_format": outlet.feed_format, "charset": outlet.charset,
            "header_charset": outlet.header_charset,
        }
    (site_dir / "index.json").write_text(json.dumps(index, ensure_ascii=False, indent=1) + "\n", "utf-8")
    return index


def main() -> None:
    index = build()
    print(f"Built {len(index['pages'])} pages for {len(index['outlets'])} outlets in {SITE_DIR}")


if __name__ == "__main__":
    main()
