"""Write the charset fixtures: small RSS and Atom feeds in East Asian legacy charsets.

    python tests/charsets/make.py

Each fixture is one file, with its HTTP header and its expectations in a
comment at the top, in the form feedparser's own test cases use:

    Header:       the Content-Type to serve it with
    Title:        the first entry's title, as \\u escapes
    Note:         the charset note the feed must get ("-": none)
    Description:  what the case is
    Expect:       the expectation in feedparser's terms (the true encoding)

The texts are ours; every file is regenerated from this script and never
edited by hand (tests/test_feed_charsets.py checks that).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent

JA = [
    ("拉致被害者家族会、首相に早期帰国の実現を要望", "家族会の代表らが官邸を訪れ、すべての拉致被害者の一刻も早い帰国を求める要望書を手渡した。"),
    ("日朝首脳会談の可能性、政府内で検討続く", "政府高官は、北朝鮮との首脳会談について条件が整えば前向きに検討すると述べた。"),
    ("北朝鮮が弾道ミサイル発射、日本海に落下か", "防衛省によると、ミサイルは日本の排他的経済水域の外側に落下したとみられる。"),
]
KO = [
    ("북일 정상회담 가능성 거론…일본 정부 신중한 입장", "일본 정부 관계자는 북한과의 정상회담에 대해 조건이 갖춰지면 검토하겠다고 말했다."),
    ("납북자 가족들, 조속한 송환 촉구 기자회견", "납북자 가족 단체는 서울에서 기자회견을 열고 정부에 적극적인 대응을 요구했다."),
    ("북한, 동해상으로 탄도미사일 발사", "합동참모본부는 북한이 오늘 오전 동해상으로 탄도미사일을 발사했다고 밝혔다."),
]
ZH_HANS = [
    ("日本首相表示愿与朝鲜领导人举行首脑会谈", "日本政府官员表示，如果条件成熟，将积极考虑与朝鲜举行首脑会谈。"),
    ("绑架问题家属团体要求尽早解决", "被绑架者家属团体在东京举行集会，要求政府尽快让所有受害者回国。"),
    ("朝鲜发射弹道导弹 落入日本海", "日本防卫省称，导弹落在日本专属经济区以外的海域。"),
]
ZH_HANT = [
    ("日本首相表示願與朝鮮領導人舉行首腦會談", "日本政府官員表示，如果條件成熟，將積極考慮與朝鮮舉行首腦會談。"),
    ("綁架問題家屬團體要求儘早解決", "被綁架者家屬團體在東京舉行集會，要求政府儘快讓所有受害者回國。"),
    ("朝鮮發射彈道飛彈 落入日本海", "日本防衛省稱，飛彈落在日本專屬經濟區以外的海域。"),
]


@dataclass(frozen=True)
class Case:
    name: str
    description: str
    items: list[tuple[str, str]]
    encoding: str  # the bytes' true encoding (a Python codec)
    content_type: str  # served as
    declaration: str | None  # the XML declaration's encoding, None: no encoding in it
    note: str | None  # the charset note the feed must get
    fmt: str = "rss"


CASES = [
    Case("ja-shift_jis-undeclared", "Japanese in Shift_JIS, no charset anywhere", JA, "shift_jis",
         "application/rss+xml", None, "charset not declared; detected Shift_JIS"),
    Case("ja-euc_jp-undeclared", "Japanese in EUC-JP, no charset anywhere (text/xml)", JA, "euc_jp",
         "text/xml", None, "charset not declared; detected EUC-JP"),
    Case("ko-euc_kr-undeclared", "Korean in EUC-KR, no charset anywhere", KO, "euc_kr",
         "application/rss+xml", None, "charset not declared; detected EUC-KR"),
    Case("ko-cp949-undeclared-atom", "Korean Atom in CP949 (EUC-KR), no charset anywhere", KO, "cp949",
         "application/atom+xml", None, "charset not declared; detected EUC-KR", fmt="atom"),
    Case("zh-gb2312-undeclared", "Simplified Chinese in GB2312, no charset anywhere", ZH_HANS, "gb2312",
         "application/xml", None, "charset not declared; detected GB2312"),
    Case("zh-big5-undeclared", "Traditional Chinese in Big5, no charset anywhere", ZH_HANT, "big5",
         "application/rss+xml", None, "charset not declared; detected Big5"),
    Case("ja-shift_jis-declared-euc_jp", "Shift_JIS bytes under an XML declaration of EUC-JP", JA, "shift_jis",
         "application/rss+xml", "euc-jp", "bytes are not the declared EUC-JP; detected Shift_JIS"),
    Case("ko-euc_kr-http-utf8", "EUC-KR bytes served as charset=utf-8", KO, "euc_kr",
         "application/rss+xml; charset=utf-8", None,
         "bytes are not the declared UTF-8; detected EUC-KR"),
    Case("ja-utf8-declared-latin1", "UTF-8 bytes under an XML declaration of ISO-8859-1", JA, "utf-8",
         "application/rss+xml", "iso-8859-1", "declared ISO-8859-1, but the bytes are UTF-8"),
    Case("ja-shift_jis-declared", "Shift_JIS, declared in the XML declaration", JA, "shift_jis",
         "application/rss+xml", "shift_jis", None),
    Case("ja-utf8-undeclared", "UTF-8, no charset anywhere", JA, "utf-8", "application/rss+xml", None, None),
    Case("ko-utf8-declared", "UTF-8, declared in the header and the XML declaration", KO, "utf-8",
         "application/rss+xml; charset=utf-8", "utf-8", None),
]


def _escape(text: str) -> str:
    return text.encode("unicode_escape").decode("ascii")


def render(case: Case) -> bytes:
    e = html.escape
    items = []
    for i, (title, summary) in enumerate(case.items, start=1):
        link = f"https://news.example.org/{case.name}/{i}.html"
        when = f"Mon, 0{i} Dec 2025 09:00:00 +0900"
        if case.fmt == "atom":
            items.append(f"<entry><title>{e(title)}</title><link href=\"{link}\"/><id>{link}</id>"
                         f"<updated>2025-12-0{i}T09:00:00+09:00</updated><summary>{e(summary)}</summary></entry>")
        else:
            items.append(f"<item><title>{e(title)}</title><link>{link}</link><pubDate>{when}</pubDate>"
                         f"<description>{e(summary)}</description></item>")
    body = "\n".join(items)
    if case.fmt == "atom":
        feed = (f"<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>{e(case.name)}</title>"
                f"<id>https://news.example.org/{case.name}/</id><updated>2025-12-03T09:00:00+09:00</updated>\n"
                f"{body}\n</feed>\n")
    else:
        feed = (f"<rss version=\"2.0\"><channel><title>{e(case.name)}</title>"
                f"<link>https://news.example.org/{case.name}/</link><description>{e(case.description)}</description>\n"
                f"{body}\n</channel></rss>\n")
    comment = (
        "<!--\n"
        f"Header:       Content-type: {case.content_type}\n"
        f"Title:        {_escape(case.items[0][0])}\n"
        f"Note:         {case.note or '-'}\n"
        f"Description:  {case.description}\n"
        f"Expect:       encoding == '{case.encoding}'\n"
        "-->\n"
    )
    declaration = f"<?xml version=\"1.0\" encoding=\"{case.declaration}\"?>\n" if case.declaration else ""
    return (declaration + comment + feed).encode(case.encoding)


def write(folder: Path = HERE) -> list[Path]:
    written = []
    for case in CASES:
        path = folder / f"{case.name}.xml"
        path.write_bytes(render(case))
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write():
        print(path.relative_to(HERE.parent.parent))
