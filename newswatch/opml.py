"""The feed list, as OPML: the format every feed reader imports and exports."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path


class FeedListError(ValueError):
    """The OPML file is missing, unreadable, or lists no feeds."""


@dataclass(frozen=True)
class FeedSource:
    url: str
    title: str | None = None
    category: str | None = None
    language: str | None = None


def read_opml(path: Path | str) -> list[FeedSource]:
    """Every ``outline`` with an ``xmlUrl``, in file order, without repeats."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except FileNotFoundError:
        raise FeedListError(f"feed list not found: {path}") from None
    except ET.ParseError as exc:
        raise FeedListError(f"feed list {path} is not valid OPML: {exc}") from None
    if root.tag != "opml":
        raise FeedListError(f"feed list {path} is not OPML (root element <{root.tag}>)")
    sources: list[FeedSource] = []
    seen: set[str] = set()

    def walk(node: ET.Element, category: str | None) -> None:
        for outline in node.findall("outline"):
            url = (outline.get("xmlUrl") or "").strip()
            label = outline.get("title") or outline.get("text")
            if url:
                if url not in seen:
                    seen.add(url)
                    sources.append(FeedSource(url, label, category, outline.get("language")))
            else:
                walk(outline, label or category)

    body = root.find("body")
    if body is not None:
        walk(body, None)
    if not sources:
        raise FeedListError(f"feed list {path} lists no feeds (no outline with xmlUrl)")
    return sources


def write_opml(path: Path | str, title: str, sources: list[FeedSource]) -> None:
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    groups: dict[str | None, ET.Element] = {}
    for src in sources:
        parent = body
        if src.category:
            if src.category not in groups:
                groups[src.category] = ET.SubElement(body, "outline", text=src.category, title=src.category)
            parent = groups[src.category]
        attrs = {"type": "rss", "text": src.title or src.url, "title": src.title or src.url, "xmlUrl": src.url}
        if src.language:
            attrs["language"] = src.language
        ET.SubElement(parent, "outline", attrs)
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
