"""What the news list pages and the Atom feed say: which event ids, how the list goes on."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser

from kremlin.fetch.render import decode_html
from kremlin.fetch.site import event_id_from_link

_ATOM = "{http://www.w3.org/2005/Atom}"


@dataclass(frozen=True)
class ListedItem:
    kremlin_id: int
    published: dt.date | None
    """The item's date as the list gives it (for ``--since``); None if it gives none."""


@dataclass(frozen=True)
class ListPage:
    items: tuple[ListedItem, ...]
    page: int | None
    """This page's number (``data-page``), if the page says."""
    pages: int | None
    """How many list pages there are (``data-pages``), if the page says."""
    next_href: str | None
    """The ``rel="next"`` link as written (relative in a mirror, absolute on the site)."""
    url_template: str | None
    """``data-url-template``, e.g. ``/events/president/news/page/PAGE``."""

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(item.kremlin_id for item in self.items)

    @property
    def is_last(self) -> bool:
        if self.page is not None and self.pages is not None:
            return self.page >= self.pages
        return self.next_href is None


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def parse_list_page(html: bytes | str) -> ListPage:
    """Items by the ``data-id`` of each ``div.hentry`` (else the id in its bookmark link)."""
    tree = LexborHTMLParser(decode_html(html))
    items: list[ListedItem] = []
    seen: set[int] = set()
    for entry in tree.css("div.hentry"):
        kid = _int(entry.attributes.get("data-id"))
        if kid is None:
            link = entry.css_first("a[rel=bookmark]") or entry.css_first("a[href]")
            kid = event_id_from_link(link.attributes.get("href") or "") if link else None
        if kid is None or kid in seen:
            continue
        seen.add(kid)
        when = entry.css_first("time[datetime]")
        items.append(ListedItem(kid, _date(when.attributes.get("datetime")) if when else None))
    lister = tree.css_first("[data-pages]")
    attrs = lister.attributes if lister else {}
    nxt = tree.css_first('link[rel="next"]') or tree.css_first('a[rel="next"]')
    return ListPage(
        items=tuple(items),
        page=_int(attrs.get("data-page")),
        pages=_int(attrs.get("data-pages")),
        next_href=nxt.attributes.get("href") if nxt else None,
        url_template=attrs.get("data-url-template"),
    )


class FeedError(ValueError):
    """The feed is not well-formed Atom."""


def parse_feed(xml: bytes | str) -> tuple[ListedItem, ...]:
    """Entries of the Atom feed: the id from each entry's link (or ``<id>``), its published date."""
    try:
        root = ET.fromstring(xml.encode("utf-8") if isinstance(xml, str) else xml)
    except ET.ParseError as exc:
        raise FeedError(str(exc)) from exc
    items: list[ListedItem] = []
    seen: set[int] = set()
    for entry in root.iter(f"{_ATOM}entry"):
        candidates = [link.get("href") or "" for link in entry.iter(f"{_ATOM}link")]
        candidates.append(entry.findtext(f"{_ATOM}id") or "")
        kid = next((k for k in map(event_id_from_link, candidates) if k is not None), None)
        if kid is None or kid in seen:
            continue
        seen.add(kid)
        published = entry.findtext(f"{_ATOM}published") or entry.findtext(f"{_ATOM}updated")
        items.append(ListedItem(kid, _date(published)))
    return tuple(items)
