"""Stable identifiers (the rule below is also rendered into docs/data-dictionary.md)."""

from __future__ import annotations

import hashlib

from kremlin.textnorm import identity_key
from schemas.page import ParsedPage

DOC_ID_RULE = """\
A document is one page of the site. When any copy of the page in RAW_DIR carries the site's
page id (the `Direct link: en.kremlin.ru/d/<id>` line of page-style texts),
`doc_id = "k" + sha256("en.kremlin.ru/d/" + id)[:16]`: the page keeps its id when the site
corrects its title, date or text, and a screen-style copy of the same page (same identity,
below) in the same RAW_DIR shares it. Otherwise `doc_id = "k" + sha256(key)[:16]`, where
`key` joins (with U+001F) the page's identity as parsed: the title (case-folded, every
white-space and invisible character removed), the event date and, for announcement
ranges, the end date (ISO), the time line (`HH:MM` or empty) and the footer publication
date-time (Moscow local, ISO). Neither form depends on the body, the file name or white
space. A screen-style text has no page id, so a page seen only in screen style keeps its
identity id until a page-style copy of it lands; the two forms cannot agree in general,
since a title correction of a screen-style text leaves nothing that ties it to the old one."""

_SEP = "\u001f"


def doc_id(page: ParsedPage) -> str:
    h = page.header
    parts = [
        identity_key(h.title),
        h.event_date.isoformat(),
        h.event_end_date.isoformat() if h.event_end_date else "",
        h.time_text or "",
        page.footer.published_local.isoformat(timespec="minutes"),
    ]
    return "k" + hashlib.sha256(_SEP.join(parts).encode("utf-8")).hexdigest()[:16]


SITE_ID_PREFIX = "en.kremlin.ru/d/"
SOURCE_URL_PREFIX = "http://en.kremlin.ru/events/president/news/"
"""A page's ``source_url`` is this prefix and its site id (the form the corpus names files by)."""


def source_url(kremlin_id: int) -> str:
    return f"{SOURCE_URL_PREFIX}{int(kremlin_id)}"


SITE_DOC_ID_SQL = "('k' || left(sha256('" + SITE_ID_PREFIX + "' || CAST({} AS VARCHAR)), 16))"
"""The same rule as ``site_doc_id`` as a DuckDB expression over a BIGINT column (``{}``)."""


def site_doc_id(kremlin_id: int) -> str:
    """doc_id of a page whose site id is known (the rule above)."""
    return "k" + hashlib.sha256(f"{SITE_ID_PREFIX}{int(kremlin_id)}".encode()).hexdigest()[:16]


def content_sha256(payload: str) -> str:
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
