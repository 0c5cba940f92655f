"""Stable identifiers.

Document id rule (also in docs/data-dictionary.md): ``doc_id = "k" + sha256(key)[:16]``
where ``key`` joins, with U+001F, the page's identity fields as parsed:

* the title, case-folded with every white-space and invisible character removed;
* the event date (ISO) and, for announcement ranges, the end date;
* the time line (``HH:MM``) or empty;
* the footer publication date-time (ISO, Moscow local).

Only what identifies a page enters the key: not the body (a corrected typo keeps the id,
and shows up as a changed document in the version diff), not the file name, not the
``Direct link`` line (absent from screen-style texts) and not white space, so the same
page in either text style, or re-crawled with other spacing, keeps its id.
"""

from __future__ import annotations

import hashlib

from kremlin.textnorm import identity_key
from schemas.page import ParsedPage

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


def content_sha256(payload: str) -> str:
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
