"""News pages around a known article, for measuring extraction: pure functions, deterministic by seed.

``clean_page`` wraps a title, paragraphs, a date and a language into the
plain markup of a well-behaved site. ``heavy_page`` wraps the same article
the way many real news sites do: a mega menu, share bars, a breaking-news
ticker, teaser rails and "most read" boxes with other stories' headlines and
blurbs, a grid of related cards, comments, a footer with link columns, and a
large inline JSON state. The chrome is written either in English (an English
site frame around a Japanese or Korean story, as on wire services' language
editions) or in the page's own language.

Other stories' headlines are generated from the templates below and include
words that alert rules look for (summit, abduction, Kim, 拉致, 首脳, 납치, 정상),
about other events: text that leaks from the chrome into the article shows
up as false alerts downstream. All chrome text is written here.

The speed benchmark's synthetic web (bench/synthetic.py) builds its pages
with ``heavy_page`` too, passing its own other stories as teasers and the
page weight it wants.
"""

from __future__ import annotations

import html
import json
import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

LANGUAGES = ("en", "ja", "ko")


@dataclass(frozen=True)
class Teaser:
    """Another story, as the chrome shows it."""

    title: str
    blurb: str
    url: str
    published: datetime


# -- chrome text, per language ------------------------------------------------------------

_SECTIONS = {
    "en": ["World", "Politics", "Business", "Asia", "Japan", "Korea", "Opinion", "Sport", "Culture", "Science",
           "Video", "Podcasts", "Markets", "Technology", "Travel", "Weather"],
    "ja": ["国際", "政治", "経済", "社会", "アジア", "朝鮮半島", "オピニオン", "スポーツ", "文化", "科学",
           "動画", "ポッドキャスト", "マーケット", "テクノロジー", "旅行", "天気"],
    "ko": ["국제", "정치", "경제", "사회", "아시아", "북한", "오피니언", "스포츠", "문화", "과학",
           "영상", "팟캐스트", "증시", "IT", "여행", "날씨"],
}
_SUBSECTIONS = {
    "en": ["Latest", "Analysis", "Explainers", "Features", "Photos", "Live", "Interviews", "Data"],
    "ja": ["最新", "解説", "特集", "写真", "速報", "インタビュー", "データ", "連載"],
    "ko": ["최신", "분석", "해설", "기획", "포토", "속보", "인터뷰", "데이터"],
}
_LABELS = {
    "en": {"most_read": "Most read", "latest": "Latest news", "related": "More stories", "breaking": "Breaking",
           "comments": "Comments", "reply": "Reply", "like": "Like", "share": "Share", "subscribe": "Subscribe",
           "login": "Sign in", "search": "Search", "newsletter": "Get the morning briefing in your inbox",
           "ago": "{n} hours ago", "rights": "All rights reserved.", "more_from": "More from {site}",
           "recommended": "Recommended for you", "photo": "(file photo)", "by": "By staff writers"},
    "ja": {"most_read": "アクセスランキング", "latest": "新着ニュース", "related": "関連記事", "breaking": "速報",
           "comments": "コメント", "reply": "返信", "like": "いいね", "share": "シェア", "subscribe": "購読する",
           "login": "ログイン", "search": "検索", "newsletter": "朝のニュースレターをメールでお届けします",
           "ago": "{n}時間前", "rights": "無断転載を禁じます。", "more_from": "{site}のその他の記事",
           "recommended": "あなたへのおすすめ", "photo": "（資料写真）", "by": "編集部"},
    "ko": {"most_read": "많이 본 뉴스", "latest": "최신 뉴스", "related": "관련 기사", "breaking": "속보",
           "comments": "댓글", "reply": "답글", "like": "좋아요", "share": "공유", "subscribe": "구독하기",
           "login": "로그인", "search": "검색", "newsletter": "아침 뉴스레터를 메일로 받아보세요",
           "ago": "{n}시간 전", "rights": "무단 전재 및 재배포 금지.", "more_from": "{site}의 다른 기사",
           "recommended": "추천 기사", "photo": "(자료사진)", "by": "편집국"},
}
_FOOTER = {
    "en": ["About us", "Contact", "Terms of use", "Privacy policy", "Cookie settings", "Advertise", "Careers",
           "Corrections", "RSS feeds", "Newsletters", "Accessibility", "Help"],
    "ja": ["会社概要", "お問い合わせ", "利用規約", "プライバシーポリシー", "クッキー設定", "広告掲載", "採用情報",
           "訂正・おわび", "RSS", "ニュースレター", "アクセシビリティ", "ヘルプ"],
    "ko": ["회사 소개", "문의", "이용약관", "개인정보처리방침", "쿠키 설정", "광고 안내", "채용",
           "정정 보도", "RSS", "뉴스레터", "접근성", "도움말"],
}
# Other stories: subject + predicate, with the words rules look for used about other events.
_SUBJECTS = {
    "en": ["Kim Yo-han", "Nigeria's police", "G7 leaders", "The central bank", "Typhoon Haishen", "Tokyo's governor",
           "Seoul's mayor", "Kim Min-jae", "The Asean summit", "Opposition lawmakers", "Toyota", "Samsung",
           "A Mexico kidnapping case", "Climate negotiators", "The Bank of Japan", "Hyundai workers"],
    "ja": ["G7首脳", "ナイジェリア警察", "日銀", "台風10号", "東京都知事", "大阪府", "トヨタ", "ソフトバンク",
           "メキシコの拉致事件", "気候変動会議", "ASEAN首脳会議", "野党各党", "金融庁", "高校野球", "円相場", "北海道"],
    "ko": ["G7 정상", "나이지리아 경찰", "한국은행", "태풍 하이선", "서울시장", "김민재", "삼성전자", "현대차 노조",
           "멕시코 납치 사건", "기후 협상단", "아세안 정상회의", "야당 의원들", "코스피", "프로야구", "부산시", "금융위"],
}
_PREDICATES = {
    "en": ["ends summit with climate pledge", "frees pupils after school abduction", "raises rates for first time in years",
           "signs transfer to Bayern Munich", "makes landfall in Kyushu", "unveils budget for 2027",
           "wins badminton title in Jakarta", "reports record quarterly profit", "calls snap election",
           "cuts growth forecast", "closes as yen weakens", "agrees on wage deal after strike",
           "says abduction suspects arrested", "plans summit on ocean plastics", "opens new line to airport",
           "draws record crowds"],
    "ja": ["気候で合意し首脳会談閉幕", "学校拉致事件で生徒解放", "数年ぶりに利上げ", "新年度予算案を発表",
           "九州に上陸", "過去最高益を更新", "解散総選挙へ", "成長見通しを下方修正", "円安で取引終了",
           "ストライキ後に賃上げで合意", "拉致容疑者を逮捕", "海洋プラスチックで首脳会合へ", "空港線を開業",
           "記録的な人出", "決勝に進出", "新型車を発表"],
    "ko": ["기후 합의하고 정상회의 폐막", "학교 납치 사건 학생 석방", "수년 만에 금리 인상", "내년도 예산안 발표",
           "규슈 상륙", "분기 최대 실적", "조기 총선 실시", "성장률 전망 하향", "엔화 약세에 마감",
           "파업 끝에 임금 합의", "납치 용의자 체포", "해양 플라스틱 정상회의 추진", "공항철도 개통",
           "역대 최다 인파", "결승 진출", "신차 공개"],
}
_BLURBS = {
    "en": ["Officials said on {day} that the decision followed weeks of talks.",
           "The move comes as markets brace for a volatile week.",
           "Analysts said the figures were better than expected.",
           "Residents were told to stay indoors until the evening.",
           "The announcement was welcomed by business groups.",
           "Police said three people had been detained for questioning."],
    "ja": ["関係者によると、{day}に決定した。", "市場では警戒感が広がっている。", "アナリストは予想を上回ったと指摘した。",
           "住民には夕方まで外出を控えるよう呼びかけた。", "経済団体は発表を歓迎した。", "警察は3人から事情を聴いている。"],
    "ko": ["관계자는 {day} 결정했다고 밝혔다.", "시장에서는 경계감이 커지고 있다.", "분석가들은 예상을 웃돌았다고 평가했다.",
           "주민들에게 저녁까지 외출 자제를 당부했다.", "경제 단체들은 발표를 환영했다.", "경찰은 3명을 조사하고 있다."],
}
_DAYS = {"en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
         "ja": ["月曜日", "火曜日", "水曜日", "木曜日", "金曜日"],
         "ko": ["월요일", "화요일", "수요일", "목요일", "금요일"]}
_COMMENTS = {
    "en": ["Thanks for the clear write-up.", "Not sure anything will change after this.",
           "Why does nobody ask the obvious question?", "Good reporting, as always.",
           "I read the same thing last year, word for word.", "The photo caption is wrong, by the way."],
    "ja": ["分かりやすい記事でした。", "これで何かが変わるとは思えない。", "なぜ誰も当たり前の質問をしないのか。",
           "いつも丁寧な報道に感謝します。", "去年も同じような記事を読んだ気がする。", "写真の説明が間違っています。"],
    "ko": ["알기 쉬운 기사 감사합니다.", "이걸로 뭔가 바뀔 것 같지는 않네요.", "왜 아무도 당연한 질문을 하지 않나요.",
           "늘 꼼꼼한 보도 고맙습니다.", "작년에도 똑같은 기사를 읽은 것 같네요.", "사진 설명이 틀렸습니다."],
}


def _chrome_teasers(rng: random.Random, lang: str, n: int, now: datetime) -> list[Teaser]:
    teasers = []
    for k in range(n):
        subject, predicate = rng.choice(_SUBJECTS[lang]), rng.choice(_PREDICATES[lang])
        title = f"{subject} {predicate}" if lang != "ja" else f"{subject}、{predicate}"
        blurb = " ".join(rng.choice(_BLURBS[lang]).format(day=rng.choice(_DAYS[lang])) for _ in range(2))
        blurb = blurb.replace("。 ", "。") if lang == "ja" else blurb
        teasers.append(Teaser(title, blurb, f"/news/{rng.randrange(10_000, 99_999)}.html",
                              now - timedelta(hours=k + 1)))
    return teasers


# -- pages ------------------------------------------------------------------------------


def _head(title: str, date: datetime, language: str, site: str, extra: str = "") -> str:
    e = html.escape
    ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": title,
                     "datePublished": date.isoformat(), "inLanguage": language,
                     "publisher": {"@type": "Organization", "name": site}}, ensure_ascii=False)
    return (f'<!DOCTYPE html><html lang="{language}"><head><meta charset="utf-8"><title>{e(title)} | {e(site)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta property="og:site_name" content="{e(site)}"><meta property="og:title" content="{e(title)}">'
            f'<meta property="article:published_time" content="{date.isoformat()}">{extra}'
            f'<script type="application/ld+json">{ld}</script></head>')


def clean_page(title: str, paragraphs: Sequence[str], date: datetime, language: str, *, seed: int = 0,
               site: str = "Example News") -> str:
    """A plain article page: a header, the article, a one-line footer."""
    rng = random.Random(seed)
    e = html.escape
    labels = _LABELS.get(language, _LABELS["en"])
    body = "".join(f"<p>{e(p)}</p>" for p in paragraphs)
    byline = f'<p class="byline">{e(labels["by"])}</p>' if rng.random() < 0.5 else ""
    return (_head(title, date, language, site)
            + f'<body><header><a href="/">{e(site)}</a></header><main><article><h1>{e(title)}</h1>{byline}'
              f'<time datetime="{date.isoformat()}">{date:%Y-%m-%d %H:%M}</time>{body}</article></main>'
              f'<footer><p>© {date.year} {e(site)}</p></footer></body></html>')


def heavy_page(title: str, paragraphs: Sequence[str], date: datetime, language: str, *, seed: int = 0,
               chrome_language: str | None = None, teasers: Sequence[Teaser] | None = None,
               site: str | None = None, weight: int | None = None, url: str = "/news/article.html") -> str:
    """The article inside heavy, teaser-laden chrome (see the module's docstring).

    *chrome_language*: the language of everything around the article (default:
    the article's). *teasers*: the other stories the chrome shows (default:
    generated in the chrome's language). *weight*: the page's size in bytes to
    reach with related cards and inline state (default: 30–200 KB, by seed).
    """
    rng = random.Random(seed)
    lang = chrome_language or language
    if lang not in _LABELS:
        lang = "en"
    labels = _LABELS[lang]
    target = weight if weight is not None else rng.randint(30_000, 200_000)
    site = site or {"en": "The Daily Ledger", "ja": "日刊レジャー", "ko": "데일리 레저"}[lang]
    others = list(teasers) if teasers else _chrome_teasers(rng, lang, 24, date)
    e = html.escape
    # Some sites name their blocks (related, teaser, sidebar); many use neutral
    # class names that say nothing about what a block is.
    neutral = rng.random() < 0.5
    cls = (lambda name: f"m{zlib.crc32(name.encode()) % 97:02d} u-{len(name)}") if neutral else (lambda name: name)

    sections = _SECTIONS[lang]
    nav = "".join(
        f'<li class="{cls("menu__item")} menu__item--{k}"><a class="{cls("menu__link")}" href="/section/{k}" '
        f'data-track="nav-{k}">{e(sections[k % len(sections)])}</a><div class="{cls("menu__panel")}"><ul>'
        + "".join(f'<li><a href="/section/{k}/{j}">{e(_SUBSECTIONS[lang][j % 8])}</a></li>'
                  for j in range(rng.randint(3, 8)))
        + "</ul></div></li>" for k in range(rng.randint(8, 16)))
    share = "".join(f'<button class="share share--{n}" aria-label="{e(labels["share"])} {n}" data-share="{n}">'
                    f'<svg viewBox="0 0 24 24" width="20" height="20"><path d="M{k} 2l{k + 3} 7-{k + 1} 9z"/></svg></button>'
                    for k, n in enumerate(["x", "facebook", "line", "mail", "print", "copy"]))
    ticker = "".join(f'<li><a href="{e(o.url)}">{e(o.title)}</a></li>' for o in rng.sample(others, min(5, len(others))))

    body = []
    for k, p in enumerate(paragraphs):
        body.append(f"<p>{e(p)}</p>")
        if k == 1:
            body.append(f'<figure class="figure"><picture><source type="image/webp" srcset="/img/{seed}-640.webp 640w, '
                        f'/img/{seed}-1280.webp 1280w"><img src="/img/{seed}-640.jpg" alt="" loading="lazy" '
                        f'width="640" height="360"></picture><figcaption>{e(title[:60])} {e(labels["photo"])}'
                        f'</figcaption></figure>')
        if k == 3:
            o = rng.choice(others)
            body.append(f'<aside class="{cls("inline-related")}"><span>{e(labels["related"])}</span>'
                        f'<a href="{e(o.url)}">{e(o.title)}</a></aside>')

    def card(o: Teaser, k: int) -> str:
        return (f'<div class="{cls("card")} card--{k % 3}" data-position="{k}"><a class="{cls("card__link")}" '
                f'href="{e(o.url)}"><div class="{cls("card__media")}"><picture><source type="image/webp" '
                f'srcset="/img/{k}-320.webp 320w, /img/{k}-640.webp 640w"><img src="/img/{k}-320.jpg" '
                f'alt="" loading="lazy" width="320" height="180"></picture></div><div class="{cls("card__body")}">'
                f'<span class="{cls("card__kicker")}">{e(site)}</span><h4 class="{cls("card__title")}">{e(o.title)}</h4>'
                f'<p class="{cls("card__teaser")}">{e(o.blurb[:90])}</p><time datetime="{o.published.isoformat()}">'
                f'{o.published:%d %b %Y}</time></div></a></div>')

    most_read = "".join(f'<li><a href="{e(o.url)}"><h3>{e(o.title)}</h3></a><p>{e(o.blurb[:140])}</p></li>'
                        for o in rng.sample(others, min(8, len(others))))
    latest = "".join(f'<li><a href="{e(o.url)}">{e(o.title)}</a><time>{o.published:%H:%M}</time></li>'
                     for o in rng.sample(others, min(6, len(others))))
    comments = "".join(f'<div class="{cls("comment")}" id="c{k}"><div class="{cls("comment__meta")}"><b>reader{k}</b>'
                       f'<time>{e(labels["ago"].format(n=k + 1))}</time></div><p>{e(rng.choice(_COMMENTS[lang]))}</p>'
                       f'<div class="{cls("comment__actions")}"><button>{e(labels["reply"])}</button>'
                       f'<button>{e(labels["like"])}</button></div></div>'
                       for k in range(rng.randint(3, 15)))
    footer_links = _FOOTER[lang]
    footer = "".join(f'<div class="{cls("footer__col")}"><h5>{e(sections[c])}</h5><ul>'
                     + "".join(f'<li><a href="/info/{c}/{j}">{e(footer_links[(c * 3 + j) % len(footer_links)])}</a></li>'
                               for j in range(8))
                     + "</ul></div>" for c in range(4))
    style = "".join(f".c{k}{{margin:{k % 7}px;padding:{k % 5}px;color:#{k * 2654435761 % 0xFFFFFF:06x}}}"
                    for k in range(rng.randint(40, 120)))
    article_tag = "article" if not neutral or rng.random() < 0.5 else "div"
    rail_tag = "aside" if not neutral or rng.random() < 0.5 else "div"
    # Many sites list related stories, with their blurbs, inside the article's own column.
    more = ""
    if rng.random() < 0.5:
        more = (f'<div class="{cls("story__more")}"><h2>{e(labels["related"])}</h2><ul>'
                + "".join(f'<li><a href="{e(o.url)}"><h3>{e(o.title)}</h3></a><p>{e(o.blurb[:140])}</p></li>'
                          for o in rng.sample(others, min(6, len(others))))
                + "</ul></div>")
    head = (_head(title, date, language, site, f'<link rel="canonical" href="{e(url)}"><style>{style}</style>')
            + f'<body class="article-page"><header class="{cls("masthead")}"><div class="{cls("masthead__brand")}">'
              f'<a href="/">{e(site)}</a></div><nav class="{cls("menu")}"><ul>{nav}</ul></nav>'
              f'<div class="{cls("masthead__tools")}"><a href="/login">{e(labels["login"])}</a>'
              f'<a href="/subscribe">{e(labels["subscribe"])}</a><form><input placeholder="{e(labels["search"])}"></form>'
              f'</div></header><div class="{cls("ticker")}"><b>{e(labels["breaking"])}</b><ul>{ticker}</ul></div>'
              f'<div class="ad ad--leaderboard" data-slot="top"></div><main class="{cls("layout")}">'
              f'<{article_tag} class="{cls("story")}"><h1>{e(title)}</h1><time datetime="{date.isoformat()}">'
              f'{date:%Y-%m-%d %H:%M}</time><div class="{cls("share-bar")}">{share}</div>'
              f'<div class="{cls("story__body")}">{"".join(body)}</div><div class="{cls("share-bar")}">{share}</div>'
              f'<div class="{cls("newsletter")}"><p>{e(labels["newsletter"])}</p><button>{e(labels["subscribe"])}'
              f'</button></div>{more}</{article_tag}>'
              f'<{rail_tag} class="{cls("rail")}"><h3>{e(labels["most_read"])}</h3><ol>{most_read}</ol>'
              f'<h3>{e(labels["latest"])}</h3><ul>{latest}</ul><div class="ad ad--rail" data-slot="rail"></div>'
              f'</{rail_tag}>')
    tail = (f'<section class="{cls("comments")}"><h3>{e(labels["comments"])}</h3>{comments}</section></main>'
            f'<footer class="{cls("site-footer")}">{footer}<p>© {date.year} {e(site)} {e(labels["rights"])}</p></footer>'
            f'<script>window.dataLayer=window.dataLayer||[];dataLayer.push({{"page":"article","id":{seed}}});</script>'
            f'</body></html>')
    # As on many real sites, much of the weight is the client-side state in a script.
    state_items: list[str] = []
    state_size, j = 0, 0
    while state_size < target * 0.7:
        o = others[(seed * 7 + j) % len(others)]
        item = json.dumps({"title": o.title, "url": o.url, "teaser": o.blurb[:160], "published": o.published.isoformat(),
                           "image": {"src": f"/img/{j}-640.jpg", "w": 640, "h": 360}}, ensure_ascii=False)
        state_items.append(item)
        state_size += len(item.encode())
        j += 1
    state = f'<script id="__STATE__" type="application/json">{{"related":[{",".join(state_items)}]}}</script>'
    tail = tail.replace("</body>", state + "</body>")
    cards, k = [], 0
    size = len(head) + len(tail)
    while size < target:  # related stories until the page has its weight
        c = card(others[(seed + k) % len(others)], k)
        if k % 12 == 0:
            heading = labels["recommended"] if k else labels["more_from"].format(site=site)
            c = f'</div><h3 class="{cls("rail__title")}">{e(heading)}</h3><div class="{cls("grid")}">' + c
        cards.append(c)
        size += len(c.encode())
        k += 1
    grid = f'<section class="{cls("related")}"><div class="{cls("grid")}">' + "".join(cards) + "</div></section>"
    return head + grid + tail


def default_date(seed: int) -> datetime:
    """A publication date for a page built without one."""
    return datetime(2026, 11, 20, 9, tzinfo=timezone.utc) - timedelta(hours=7 * (seed % 500))
