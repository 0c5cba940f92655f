"""Where things are on en.kremlin.ru (the one home of the site's URL layout)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

DEFAULT_SITE = "https://en.kremlin.ru"
PROJECT_URL = os.environ.get(
    "KREMLIN_FETCH_CONTACT_URL", "https://github.com/kremlin-dataset/kremlin-dataset"
)
"""Named in the User-Agent so the site's operators can see who crawls and why: set
KREMLIN_FETCH_CONTACT_URL to the page of your deployment (its operator and purpose)."""

ROBOTS_PATH = "/robots.txt"
FEED_PATH = "/events/president/news/feed"
LIST_PATH = "/events/president/news"
LIST_PAGE_TEMPLATE = "/events/president/news/page/{page}"
EVENT_TEMPLATE = "/events/president/news/{kremlin_id}"

# The last path segment of an event link: `/events/president/news/63523` on the live
# site, `../63523.html` in a site-copying tool's mirror.
_EVENT_LINK = re.compile(r"(?:^|/)(\d+)(?:\.html?)?$")


@dataclass(frozen=True)
class Site:
    """The base URL of the site (the live one, or a local replay in tests)."""

    base: str = DEFAULT_SITE

    def __post_init__(self) -> None:
        parts = urlsplit(self.base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"site must be an http(s) URL, not {self.base!r}")
        object.__setattr__(self, "base", self.base.rstrip("/"))

    @property
    def host(self) -> str:
        return urlsplit(self.base).netloc

    def url(self, path: str) -> str:
        return self.base + path

    @property
    def robots_url(self) -> str:
        return self.url(ROBOTS_PATH)

    @property
    def feed_url(self) -> str:
        return self.url(FEED_PATH)

    def list_url(self, page: int) -> str:
        """Page 1 of the news list is the list's own path; later pages are `/page/N`."""
        return self.url(LIST_PATH if page == 1 else LIST_PAGE_TEMPLATE.format(page=page))

    def event_url(self, kremlin_id: int) -> str:
        return self.url(EVENT_TEMPLATE.format(kremlin_id=kremlin_id))

    def same_site(self, url: str) -> bool:
        return urlsplit(url).netloc == self.host

    def absolute(self, href: str, base_url: str) -> str:
        return urljoin(base_url, href)


def event_id_from_link(href: str) -> int | None:
    """The event id in a link to an event page, relative or absolute; None if it is not one."""
    path = urlsplit(href).path.rstrip("/")
    m = _EVENT_LINK.search(path)
    return int(m.group(1)) if m else None
