"""Site chrome found by the page's structure, to remove before main-text extraction.

News pages put other stories around a short article: "related", "most read"
and "latest" rails, grids of recommended cards, newsletter boxes, comment
lists. trafilatura drops most of it, but on pages whose blocks have neutral
class names it keeps the teasers and comments that follow a short body, and
those mention other events with the words alert rules look for.

``chrome_blocks`` finds such blocks by shape alone (class names and ids are
never read, since many sites use neutral ones):

- **teaser rails**: a container whose text lies mostly in three or more
  sibling items of one tag that are each short and either headed by a link (a
  heading inside a link, or a link inside a heading) or mostly link text. A
  list of bare links that is followed by prose (an article's own list of
  sources or documents, in the middle of its text) is left alone;
- **record lists**: three or more sibling items of one tag that each carry
  their own controls (buttons, inputs): comments with "reply" and "like";
- **control boxes**: a block with a button, input or form of its own and
  little text around it: newsletter sign-ups, share bars, search boxes;
- then what the removals leave orphaned: the heading just before a removed
  block ("Most read"), and a container left with nothing but labels.

Table rows and cells are never items or containers: tables are content.
Everything here is a pure function of an lxml tree; ``prune_chrome`` is the
one that changes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree

#: Thresholds, in characters other than white space (set by measurement on our heavy
#: pages and on the article-extraction benchmark; see README, "Extraction quality").
MIN_ITEMS = 3  # a rail or a record list has at least this many items…
ITEM_SHARE = 0.7  # …holding at least this share of its container's text
CARD_MAX = 400  # a teaser card is at most this long
RECORD_MAX = 1000  # so is one record (a comment)
LINK_SHARE = 0.5  # a card without a linked heading: at least this share of its text in links
PROSE_MIN = 80  # an element of at least this much text, mostly not links, is prose
BOX_MAX = 150  # a control box has at most this much text besides its controls
LABEL_MAX = 40  # a heading or container left with at most this much text is a label

_SKIPPED = frozenset({"script", "style", "noscript", "template", "svg", "head"})
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_CONTROLS = frozenset({"button", "input", "select", "textarea", "form"})
_TABLE = frozenset({"table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption", "colgroup", "col"})
_KEPT = frozenset({"html", "body", "main", "article"})  # never removed as a whole
_INLINE = frozenset({"a", "b", "strong", "em", "i", "u", "small", "label", "font", "time", "cite", "q"})
_PROSE_TAGS = frozenset({"p", "li", "dd", "dt", "blockquote", "figcaption", "pre", "td", "th", *_HEADINGS})


def _chars(text: str | None) -> int:
    if not text:
        return 0
    return len(text) - text.count(" ") - text.count("\n") - text.count("\t") - text.count("\r") - text.count("\xa0")


@dataclass
class _Stat:
    text: int = 0  # characters of text inside (tails of children included, own tail not)
    links: int = 0  # …of which inside links
    controls: int = 0  # …of which inside controls (button labels)
    control: bool = False  # has a control inside, or is one
    heading: bool = False  # has a heading inside, or is one
    linked_heading: bool = False  # has a heading inside a link, or a link inside a heading


def _stats(root: etree._Element) -> dict[etree._Element, _Stat]:
    """Per element, in one pass from the leaves up."""
    stats: dict[etree._Element, _Stat] = {}
    for el in reversed([e for e in root.iter() if isinstance(e.tag, str)]):
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        s = _Stat()
        if tag in _SKIPPED:
            stats[el] = s
            continue
        s.text = _chars(el.text)
        for child in el:
            s.text += _chars(child.tail)
            c = stats.get(child)
            if c is None:  # a comment or processing instruction
                continue
            s.text += c.text
            s.links += c.links
            s.controls += c.controls
            s.control |= c.control
            s.heading |= c.heading
            s.linked_heading |= c.linked_heading
        if tag == "a":
            s.links = s.text
            s.linked_heading |= s.heading
        if tag in _CONTROLS:
            s.control = True
            if tag != "form":  # a form's text is not its controls' labels (some sites wrap the whole page in one)
                s.controls = s.text
        if tag in _HEADINGS:
            s.heading = True
            s.linked_heading |= s.links > 0
        stats[el] = s
    return stats


def _tag(el: etree._Element) -> str:
    return el.tag.lower() if isinstance(el.tag, str) else ""


def _is_prose(s: _Stat) -> bool:
    return s.text >= PROSE_MIN and s.links < 0.5 * s.text


def _followed_by_prose(el: etree._Element, stats: dict[etree._Element, _Stat]) -> bool:
    """Prose after *el* among its siblings or its parent's: the block sits inside a text."""
    for node in (el, el.getparent()):
        if node is None:
            break
        for sib in node.itersiblings():
            s = stats.get(sib)
            if s is not None and _is_prose(s):
                return True
    return False


def _rail_kind(el: etree._Element, stats: dict[etree._Element, _Stat]) -> str | None:
    """"teaser rail" or "record list" when *el*'s text lies in repeated teaser cards or records."""
    if _tag(el) in _TABLE or _tag(el) in _PROSE_TAGS or _tag(el) in _INLINE or len(el) < MIN_ITEMS:
        return None
    total = stats[el].text
    if not total:
        return None
    groups: dict[str, list[_Stat]] = {}
    for child in el:
        s = stats.get(child)
        if s is not None and s.text:
            groups.setdefault(_tag(child), []).append(s)
    for tag, items in groups.items():
        if len(items) < MIN_ITEMS or tag in _TABLE:
            continue
        cards = [s for s in items if s.text <= CARD_MAX and s.links and (s.linked_heading or s.links >= LINK_SHARE * s.text)]
        records = [s for s in items if s.text <= RECORD_MAX and s.control and s.text > s.controls]
        for kind, found in (("teaser rail", cards), ("record list", records)):
            if len(found) >= MIN_ITEMS and len(found) >= ITEM_SHARE * len(items) \
                    and sum(s.text for s in found) >= ITEM_SHARE * total:
                if kind == "teaser rail" and not any(s.linked_heading for s in found) \
                        and _followed_by_prose(el, stats):
                    continue  # a list of links inside an article's text
                return kind
    return None


def _is_control_box(el: etree._Element, stats: dict[etree._Element, _Stat]) -> bool:
    tag = _tag(el)
    if tag in _KEPT or tag in _PROSE_TAGS or tag in _TABLE:
        return False
    s = stats[el]
    if not s.control or s.text - s.controls > BOX_MAX:
        return False
    return tag == "form" or any(_tag(child) in _CONTROLS for child in el)


def _is_label(el: etree._Element, stats: dict[etree._Element, _Stat]) -> bool:
    """A short heading-like element: a heading (not the page's h1), or short unlinked text without a sentence's end."""
    tag, s = _tag(el), stats.get(el)
    if s is None or not s.text or s.text > LABEL_MAX or s.links or tag in _TABLE or tag == "h1":
        return False
    if tag in _HEADINGS:
        return True
    text = "".join(el.itertext()).strip()
    return tag in {"div", "span", "p", "b", "strong", "header"} and not text.endswith(
        tuple(".!?。！？:：;)）」"))


@dataclass(frozen=True)
class Chrome:
    element: etree._Element
    reason: str  # teaser rail, record list, control box, heading of removed block, left with labels only


def chrome_blocks(root: etree._Element) -> list[Chrome]:
    """The blocks of chrome in *root* (outermost only, in document order), each with why."""
    body = root.find(".//body") if _tag(root) != "body" else root
    if body is None:
        body = root
    stats = _stats(body)
    found: dict[etree._Element, str] = {}

    def inside_found(el: etree._Element) -> bool:
        return any(a in found for a in el.iterancestors())

    for el in body.iter():
        if not isinstance(el.tag, str) or el is body or el in found or inside_found(el):
            continue
        kind = _rail_kind(el, stats) or ("control box" if _is_control_box(el, stats) else None)
        if kind:
            found[el] = kind
    # What the removals leave behind: headings of removed blocks, containers with only labels.
    removed: dict[etree._Element, int] = {}

    def remove(el: etree._Element, reason: str) -> None:
        found[el] = reason
        rest = stats[el].text - removed.get(el, 0)  # what is inside and not yet counted as removed
        for a in el.iterancestors():
            removed[a] = removed.get(a, 0) + rest

    for el, reason in list(found.items()):
        remove(el, reason)
    for el in list(found):
        prev = el.getprevious()
        while prev is not None and not isinstance(prev.tag, str):
            prev = prev.getprevious()
        if prev is not None and prev not in found and _is_label(prev, stats):
            remove(prev, "heading of removed block")
    for el in list(found):
        parent = el.getparent()
        while parent is not None and parent is not body and _tag(parent) not in _KEPT and parent not in found:
            if stats[parent].text - removed.get(parent, 0) > LABEL_MAX:
                break
            remove(parent, "left with labels only")
            parent = parent.getparent()
    outer = [el for el in found if not inside_found(el)]
    order = {el: k for k, el in enumerate(body.iter())}
    return [Chrome(el, found[el]) for el in sorted(outer, key=order.__getitem__)]


def prune_chrome(root: etree._Element, blocks: Iterable[Chrome] | None = None) -> list[Chrome]:
    """Remove the chrome (``chrome_blocks``) from *root* in place, keeping the text that follows each block."""
    blocks = list(chrome_blocks(root) if blocks is None else blocks)
    for block in blocks:
        el = block.element
        parent = el.getparent()
        if parent is None:
            continue
        if el.tail:
            prev = el.getprevious()
            if prev is not None:
                prev.tail = (prev.tail or "") + el.tail
            else:
                parent.text = (parent.text or "") + el.tail
        parent.remove(el)
    return blocks
