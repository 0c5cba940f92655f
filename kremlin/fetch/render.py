"""Render an en.kremlin.ru event page (HTML) to the raw text layout of the corpus.

The layout is the one of ``../shared/corpus/README.md``: one line per block element of
the article, in page order. Two styles exist, as two extractors give them:

* ``page``: the page's own characters (U+00A0 kept) and the print-only
  ``Direct link: en.kremlin.ru/d/<id>`` line before ``Text version``;
* ``screen``: what a reader sees, U+00A0 turned into plain spaces, no ``Direct link`` line.

The HTML is walked with a real parser (selectolax/lexbor); white space follows the CSS
``white-space: normal`` rules a browser applies (runs of ASCII white space are one space,
dropped at the start and end of a line; U+00A0 is not white space there).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from selectolax.lexbor import LexborHTMLParser, LexborNode


class Style(StrEnum):
    PAGE = "page"
    SCREEN = "screen"


class NotAnEventPage(ValueError):
    """The HTML has no event article (an error page, a listing, a truncated download)."""


NBSP = "\u00a0"
# CSS collapsible white space (not U+00A0, which a browser keeps as a hard space).
_COLLAPSIBLE = re.compile(r"[ \t\n\r\f]+")

# Elements that start and end a line of their own (the block-level HTML elements the
# site uses; anything else is inline).
_BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "dd",
        "details",
        "dialog",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hgroup",
        "hr",
        "html",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "td",
        "th",
        "caption",
        "ul",
    ]
)
# Inline elements the site's style sheet displays as blocks: the title, date and file
# size of a "See also" item each take a line.
_BLOCK_CLASSES = frozenset({"cut__item", "cut__meta", "cut__date"})
# Elements with no rendered text.
_SKIP_TAGS = frozenset(
    [
        "script",
        "style",
        "noscript",
        "template",
        "meta",
        "link",
        "img",
        "svg",
        "iframe",
        "object",
        "embed",
        "input",
        "button",
        "select",
        "textarea",
        "head",
        "title",
    ]
)


@dataclass
class _Lines:
    """Accumulates inline text and cuts it into lines at block boundaries."""

    style: Style
    lines: list[str] = field(default_factory=list)
    _buf: list[str] = field(default_factory=list)

    def text(self, s: str) -> None:
        self._buf.append(s)

    def line(self, s: str) -> None:
        """A whole line of its own (e.g. the slider's ``K of N``)."""
        self.brk()
        self._buf.append(s)
        self.brk()

    def brk(self) -> None:
        if not self._buf:
            return
        s = _COLLAPSIBLE.sub(" ", "".join(self._buf)).strip(" ")
        self._buf.clear()
        if self.style is Style.SCREEN:
            s = s.replace(NBSP, " ").strip(" ")
        if s:
            self.lines.append(s)


def _classes(node: LexborNode) -> frozenset[str]:
    return frozenset((node.attributes.get("class") or "").split())


def _children(node: LexborNode):
    child = node.child
    while child is not None:
        yield child
        child = child.next


def _walk(node: LexborNode, out: _Lines) -> None:
    for child in _children(node):
        if child.is_text_node:
            out.text(child.text_content or "")
            continue
        if not child.is_element_node:
            continue
        tag = child.tag
        if tag in _SKIP_TAGS:
            continue
        cls = _classes(child)
        if "hidden" in cls:
            # Not shown (the hover card of a person or glossary link, tags folded behind
            # "N more"), but its box still ends the line: the corpus's `Name` / `: text`.
            out.brk()
            continue
        if "print_link_wrap" in cls and out.style is Style.SCREEN:
            continue
        if "slider" in cls:
            _slider(child, out)
            continue
        if tag == "br":
            out.brk()
            continue
        block = tag in _BLOCK_TAGS or not cls.isdisjoint(_BLOCK_CLASSES)
        if block:
            out.brk()
        _walk(child, out)
        if block:
            out.brk()


def _slider(node: LexborNode, out: _Lines) -> None:
    """A photo slider shows ``K of N`` and the caption of the slide shown first."""
    slides = node.css(".slide")
    if not slides:
        return
    start = 0
    for i, slide in enumerate(slides):
        if "starting-slide" in _classes(slide):
            start = i
            break
    out.line(f"{start + 1} of {len(slides)}")
    caption = slides[start].attributes.get("data-cycle-desc") or ""
    out.line(caption)


def decode_html(html: bytes | str) -> str:
    """The page's text; a bad byte becomes U+FFFD as in a browser."""
    if isinstance(html, str):
        return html
    return html.decode("utf-8", errors="replace")


def render_event_page(html: bytes | str, style: Style = Style.PAGE) -> str:
    """The page text of one event page (no final newline, like the corpus files)."""
    tree = LexborHTMLParser(decode_html(html))
    article = tree.css_first("article.hentry") or tree.css_first("article")
    if article is None:
        raise NotAnEventPage("no <article> element")
    out = _Lines(style)
    _walk(article, out)
    out.brk()
    return "\n".join(out.lines)
