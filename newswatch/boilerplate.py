"""Site chrome found by the page's structure, to remove before main-text extraction.

News pages put other stories around a short article: "related", "most read"
and "latest" rails, grids of recommended cards, newsletter boxes, comment
lists. trafilatura drops most of it, but on pages whose blocks have neutral
class names it keeps the teasers and comments that follow a short body, and
those mention other events with the words alert rules look for.

``chrome_blocks`` finds such blocks by shape alone (class names and ids are
never read, since many sites use neutral ones):

- **teaser rails**: three or more sibling items of one tag, each short and
  either headed by a link (a heading inside a link, or a link inside a
  heading) or mostly link text;
- **record lists**: three or more sibling items of one tag that each carry
  their own controls (buttons, inputs: comments with "reply" and "like"), or
  that all share one short label ("Reply", "says:");
- **control boxes**: a block with a button, input or form of its own and
  little text around it: newsletter sign-ups, share bars, search boxes;
- then what the removals leave orphaned: the heading just before a removed
  block ("Most read"), and a container left with nothing but labels.

Repeated items are removed with their container when they hold its text and
no prose sits beside them, or as the run of items after the container's last
paragraph (cards appended to an article's text). Items in the middle of the
text stay. Weaker evidence (bare links, a shared label) also yields to prose
that follows the container: an article's own list of documents or steps,
between two paragraphs, is content.

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
PROSE_MIN = 80  # an element of at least this much text, mostly not links, is prose…
PARAGRAPH_MIN = 25  # …and so is a paragraph of at least this much
BOX_MAX = 150  # a control box has at most this much text besides its controls
LABEL_MAX = 40  # a heading or container left with at most this much text is a label
LABEL_SHORT = 20  # a label shared by every record ("Reply") is at most this long

_SKIPPED = frozenset({"script", "style", "noscript", "template", "svg", "head"})
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_CONTROLS = frozenset({"button", "input", "select", "textarea", "form"})
_TABLE = frozenset({"table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption", "colgroup", "col"})
_KEPT = frozenset({"html", "body", "main", "article"})  # never removed as a whole
_INLINE = frozenset({"a", "b", "strong", "em", "i", "u", "small", "label", "font", "time", "cite", "q"})
_PARAGRAPHS = frozenset({"p", "blockquote"})
_PROSE_TAGS = frozenset({"p", "li", "dd", "dt", "blockquote", "figcaption", "pre", "td", "th", *_HEADINGS})


def _chars(text: str | None) -> int:
    if not text:
        return 0
    return len(text) - text.count(" ") - text.count("\n") - text.count("\t") - text.count("\xa0")


class _Stat:
    """What one element holds, counted in characters other than white space."""

    __slots__ = ("tag", "text", "links", "controls", "control", "heading", "linked_heading")

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.text = 0  # text inside (tails of children included, its own tail not)
        self.links = 0  # …of which inside links
        self.controls = 0  # …of which inside controls (button labels)
        self.control = False  # has a control inside, or is one
        self.heading = False  # has a heading inside, or is one
        self.linked_heading = False  # has a heading inside a link, or a link inside a heading


def _stats(root: etree._Element) -> dict[etree._Element, _Stat]:
    """Per element (comments and processing instructions have none), in one pass from the leaves up."""
    stats: dict[etree._Element, _Stat] = {}
    for el in reversed(list(root.iter(etree.Element))):
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        s = stats[el] = _Stat(tag)
        if tag in _SKIPPED:
            continue
        text = _chars(el.text)
        for child in el:
            text += _chars(child.tail)
            c = stats.get(child)
            if c is None or not (c.text or c.control):
                continue
            text += c.text
            s.links += c.links
            s.controls += c.controls
            s.control |= c.control
            s.heading |= c.heading
            s.linked_heading |= c.linked_heading
        s.text = text
        if tag == "a":
            s.links = text
            s.linked_heading |= s.heading
        elif tag in _CONTROLS:
            s.control = True
            if tag != "form":  # a form's text is not its controls' labels (some sites wrap the whole page in one)
                s.controls = text
        elif tag in _HEADINGS:
            s.heading = True
            s.linked_heading |= s.links > 0
    return stats


def _tag(el: etree._Element) -> str:
    return el.tag.lower() if isinstance(el.tag, str) else ""


def _is_prose(s: _Stat) -> bool:
    """Mostly unlinked text, long enough; a paragraph may be shorter (in Japanese or Korean it often is)."""
    return s.links < 0.5 * s.text and (s.text >= PROSE_MIN or s.tag in _PARAGRAPHS and s.text >= PARAGRAPH_MIN)


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


def _labelled_records(items: list[tuple[etree._Element, _Stat]]) -> list[tuple[etree._Element, _Stat]]:
    """The items (at most ``RECORD_MAX`` long, of two parts or more) when every one of them carries the
    same short label ("Reply", "says:"): comments whose controls are links."""
    items = [(c, s) for c, s in items
             if s.text <= RECORD_MAX and len(c) >= 2 and (s.tag == "li" or s.tag not in _PROSE_TAGS)]
    if len(items) < MIN_ITEMS:
        return []
    shared: set[str] | None = None
    for c, _ in items:
        labels = {t for t in (" ".join((d.text or "").split()) for d in c.iter(etree.Element) if not len(d))
                  if t and len(t) <= LABEL_SHORT and not t.isdigit()}
        shared = labels if shared is None else shared & labels
        if not shared:
            return []
    return items


def _repeated_items(el: etree._Element, stats: dict[etree._Element, _Stat]
                    ) -> tuple[str, list[etree._Element]] | None:
    """("teaser rail" or "record list", what to remove) when *el*'s children repeat teaser cards or records.

    What to remove is *el* itself when the items hold its text (with labels at
    most besides, no prose), or the run of items that follows the last piece of
    prose among its children (cards at the end of an article's text).
    """
    tag = stats[el].tag
    if len(el) < MIN_ITEMS or tag in _KEPT or tag in _TABLE or tag in _PROSE_TAGS or tag in _INLINE:
        return None
    total = stats[el].text
    if not total:
        return None
    children = [(c, s) for c, s in ((c, stats.get(c)) for c in el) if s is not None and s.text]
    groups: dict[str, list[tuple[etree._Element, _Stat]]] = {}
    for c, s in children:
        groups.setdefault(s.tag, []).append((c, s))
    for tag, items in groups.items():
        if len(items) < MIN_ITEMS or tag in _TABLE:
            continue
        cards = [(c, s) for c, s in items
                 if s.text <= CARD_MAX and s.links and (s.linked_heading or s.links >= LINK_SHARE * s.text)]
        records = [(c, s) for c, s in items if s.text <= RECORD_MAX and s.control and s.text > s.controls]
        labelled = False
        if len(records) < ITEM_SHARE * len(items):
            records, labelled = _labelled_records(items), True
        for kind, found in (("teaser rail", cards), ("record list", records)):
            if len(found) < MIN_ITEMS or len(found) < ITEM_SHARE * len(items):
                continue
            # Weaker evidence (bare links, a shared label) counts only after the text.
            weak = (kind == "teaser rail" and not any(s.linked_heading for _, s in found)) or (
                kind == "record list" and labelled)
            members = {c for c, _ in found}
            prose = [k for k, (c, s) in enumerate(children) if c not in members and _is_prose(s)]
            if not prose and sum(s.text for _, s in found) >= ITEM_SHARE * total:
                if weak and _followed_by_prose(el, stats):
                    continue  # e.g. a list of links inside an article's text
                return kind, [el]
            if prose and not weak:
                run = [c for c, _ in children[prose[-1] + 1:] if c in members]
                if len(run) >= MIN_ITEMS:
                    return kind, run
    return None


def _is_control_box(el: etree._Element, stats: dict[etree._Element, _Stat]) -> bool:
    s = stats[el]
    if not s.control or s.text - s.controls > BOX_MAX or s.tag in _KEPT or s.tag in _PROSE_TAGS or s.tag in _TABLE:
        return False
    return s.tag == "form" or any(_tag(child) in _CONTROLS for child in el)


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
    body = root if _tag(root) == "body" else root.find(".//body")
    if body is None:
        body = root
    stats = _stats(body)
    found: dict[etree._Element, str] = {}
    position: dict[etree._Element, int] = {}
    stack = list(reversed(body))
    while stack:  # document order, without entering what is found or holds no text
        el = stack.pop()
        s = stats.get(el)
        if s is None or not (s.text or s.control) or s.tag in _SKIPPED:
            continue
        position[el] = len(position)
        repeated = _repeated_items(el, stats)
        if repeated:
            found.update(dict.fromkeys(repeated[1], repeated[0]))
        elif _is_control_box(el, stats):
            found[el] = "control box"
        if el not in found:
            stack.extend(c for c in reversed(el) if c not in found)
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
        while parent is not None and parent is not body and stats[parent].tag not in _KEPT and parent not in found:
            if stats[parent].text - removed.get(parent, 0) > LABEL_MAX:
                break
            remove(parent, "left with labels only")
            parent = parent.getparent()
    outer = [el for el in found if not any(a in found for a in el.iterancestors())]
    outer.sort(key=lambda el: position.get(el, len(position)))
    return [Chrome(el, found[el]) for el in outer]


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
