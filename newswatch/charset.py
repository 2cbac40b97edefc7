"""Turning fetched bytes into text: the one place that decides a document's charset.

Pages and feeds alike are read in this order:

1. a byte order mark (and, for XML, the byte patterns of a UTF-16/32
   declaration without one) settles it;
2. valid UTF-8 is UTF-8, whatever the document says (pure ASCII is valid
   UTF-8 too);
3. the declared charsets, in order: the HTTP ``Content-Type`` charset, then
   the document's own (``<?xml … encoding=…?>`` for feeds, ``<meta charset>``
   for pages); the first that decodes the bytes wins;
4. detection from the bytes (charset-normalizer).

``Decoded.note`` says in words when the result is not simply what the document
declared, e.g. "charset not declared; detected Shift_JIS".
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_\-:.]+)", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_\-:.]+)""", re.I)
_XML_DECLARATION = re.compile(rb"""^<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9_\-:.]+)["'][^>]*\?>""")
_XML_DECLARATION_TEXT = re.compile(r"^<\?xml[^>]*?\?>")

# Byte order marks, longest first (the UTF-32 LE mark begins with the UTF-16 LE one).
_BOMS = (
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)
# How "<?" begins an XML document in UTF-16/32 without a byte order mark (XML 1.0, appendix F).
_XML_MARKERS = (
    (b"\x00\x00\x00\x3c", "utf-32-be"),
    (b"\x3c\x00\x00\x00", "utf-32-le"),
    (b"\x00\x3c\x00\x3f", "utf-16-be"),
    (b"\x3c\x00\x3f\x00", "utf-16-le"),
)
# Publishers label text with the base charset and use the vendor's extensions
# (CP932's extra kanji in "Shift_JIS", GBK's in "GB2312"): decode with the superset.
_SUPERSETS = {
    "shift_jis": "cp932", "sjis": "cp932", "x-sjis": "cp932", "shift-jis": "cp932", "ms_kanji": "cp932",
    "euc-kr": "cp949", "euc_kr": "cp949", "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030",
    "big5": "cp950",
}
_WHERE = {"http": "HTTP header", "xml": "XML declaration", "meta": "meta charset"}
# How encodings are named in notes: the names publishers and browsers use.
_DISPLAY = {
    "utf_8": "UTF-8", "shift_jis": "Shift_JIS", "cp932": "Shift_JIS", "euc_jp": "EUC-JP",
    "euc_jis_2004": "EUC-JP", "euc_jisx0213": "EUC-JP", "iso2022_jp": "ISO-2022-JP",
    "euc_kr": "EUC-KR", "cp949": "EUC-KR", "johab": "Johab", "iso2022_kr": "ISO-2022-KR",
    "gb2312": "GB2312", "gbk": "GBK", "gb18030": "GB18030", "hz": "HZ",
    "big5": "Big5", "cp950": "Big5", "big5hkscs": "Big5-HKSCS",
    "latin_1": "ISO-8859-1", "ascii": "US-ASCII", "koi8_r": "KOI8-R", "tis_620": "TIS-620",
}


def display_name(encoding: str) -> str:
    """'shift_jis' → 'Shift_JIS', 'cp1252' → 'windows-1252'; unknown names are returned as given."""
    try:
        name = codecs.lookup(encoding).name.replace("-", "_")
    except LookupError:
        return encoding
    if name in _DISPLAY:
        return _DISPLAY[name]
    if name.startswith("cp125"):
        return "windows-" + name[2:]
    if name.startswith("iso8859_"):
        return "ISO-8859-" + name[len("iso8859_"):]
    return name.upper().replace("_", "-")


@dataclass(frozen=True)
class Decoded:
    """A document's text and how its charset was settled.

    ``source`` is "bom", "utf-8", "http", "xml" or "meta" (the declaration
    used), "detected", or "fallback" (UTF-8 with replacement characters).
    ``declared`` lists the declarations found, as (where, charset) pairs.
    """

    text: str
    encoding: str
    source: str
    declared: tuple[tuple[str, str], ...] = ()

    @property
    def detected(self) -> bool:
        return self.source in ("detected", "fallback")

    @property
    def note(self) -> str | None:
        """None when the bytes were read as declared (or carry a BOM, or are UTF-8 with no
        declaration against it); otherwise what was declared and what was used instead."""
        names = [display_name(c) for _, c in self.declared]
        used = display_name(self.encoding)
        said = f"bytes are not the declared {', '.join(names)}" if names else "charset not declared"
        if self.source == "fallback":
            return f"{said}; none detected, read as UTF-8 with replacements"
        if self.source == "detected":
            return f"{said}; detected {used}"
        if self.source == "utf-8":
            # UTF-8 read against a declaration that says otherwise (ASCII-only text agrees with any).
            against = [n for n in names if n not in ("UTF-8", "US-ASCII")]
            if against and not self.text.isascii():
                return f"declared {', '.join(against)}, but the bytes are UTF-8"
            return None
        if self.source in _WHERE and self.declared and self.declared[0][0] != self.source:
            return f"bytes are not the declared {names[0]}; read as {used} ({_WHERE[self.source]})"
        return None


def header_charset(content_type_header: str | None) -> str | None:
    m = _HEADER_CHARSET.search(content_type_header or "")
    return m.group(1) if m else None


def _bom(body: bytes) -> tuple[str, int] | None:
    for mark, encoding in _BOMS:
        if body.startswith(mark):
            return encoding, len(mark)
    return None


def _try(body: bytes, encoding: str) -> str | None:
    try:
        return body.decode(_SUPERSETS.get(encoding.lower(), encoding))
    except (LookupError, UnicodeDecodeError):
        return None


def reading(body: bytes, encoding: str | None) -> str | None:
    """*body* decoded exactly as *encoding* (after any byte order mark), or None if it does not decode."""
    if not encoding:
        return None
    bom = _bom(body)
    try:
        return body[bom[1] if bom else 0:].decode(encoding)
    except (LookupError, UnicodeDecodeError):
        return None


def declarations(body: bytes, content_type_header: str = "", *, markup: str = "html") -> tuple[tuple[str, str], ...]:
    """The charsets a document declares, in the order they are trusted: (where, charset)."""
    found = []
    http = header_charset(content_type_header)
    if http:
        found.append(("http", http))
    head = body[:4096]
    if markup == "xml":
        m = _XML_DECLARATION.match(head.lstrip(codecs.BOM_UTF8))
        if m:
            found.append(("xml", m.group(1).decode("ascii")))
    else:
        m = _META_CHARSET.search(head)
        if m:
            found.append(("meta", m.group(1).decode("ascii", "replace")))
    return tuple(found)


def decode(body: bytes, content_type_header: str = "", *, markup: str = "html") -> Decoded:
    """Decode a page (*markup* "html") or a feed ("xml"); see the module's docstring for the order."""
    declared = declarations(body, content_type_header, markup=markup)
    bom = _bom(body)
    if bom is not None:
        encoding, length = bom
        text = body[length:].decode(encoding, "replace")
        return Decoded(text, encoding, "bom", declared)
    if markup == "xml":
        for marker, encoding in _XML_MARKERS:
            if body.startswith(marker):
                text = _try(body, encoding)
                if text is not None:
                    return Decoded(text, encoding, "bom", declared)
    text = _try(body, "utf-8")
    if text is not None:
        return Decoded(text, "utf-8", "utf-8", declared)
    for where, charset in declared:
        text = _try(body, charset)
        if text is not None:
            return Decoded(text, charset, where, declared)
    import charset_normalizer  # imported on first use: most documents are UTF-8 or declared

    best = charset_normalizer.from_bytes(body).best()
    if best is not None:
        text = _try(body, best.encoding)
        if text is not None:
            return Decoded(text, best.encoding, "detected", declared)
        return Decoded(str(best), best.encoding, "detected", declared)
    return Decoded(body.decode("utf-8", "replace"), "utf-8", "fallback", declared)


def decode_html(body: bytes, content_type_header: str = "") -> tuple[str, str]:
    """A page's (text, encoding used)."""
    decoded = decode(body, content_type_header, markup="html")
    return decoded.text, decoded.encoding


def as_utf8_xml(text: str) -> bytes:
    """*text* (an XML document) as UTF-8 bytes whose declaration says so."""
    declaration = "<?xml version='1.0' encoding='utf-8'?>"
    if _XML_DECLARATION_TEXT.match(text):
        text = _XML_DECLARATION_TEXT.sub(declaration, text, count=1)
    else:
        text = declaration + "\n" + text
    return text.encode("utf-8")


def with_charset(content_type_header: str, charset: str) -> str:
    """*content_type_header* with its charset parameter set to *charset*."""
    media = content_type_header.split(";")[0].strip() or "application/xml"
    params = [p.strip() for p in content_type_header.split(";")[1:]
              if p.strip() and not p.strip().lower().startswith("charset")]
    return "; ".join([media, *params, f"charset={charset}"])
