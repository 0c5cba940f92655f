"""Stable identifiers (the rule below is also rendered into docs/data-dictionary.md)."""

from __future__ import annotations

import hashlib

from kremlin.textnorm import identity_key
from schemas.page import ParsedPage

DOC_ID_RULE = """\
`doc_id = "k" + sha256(key)[:16]`, where `key` joins (with U+001F) the page's identity
as parsed: the title (case-folded, every white-space and invisible character removed),
the event date and, for announcement ranges, the end date (ISO), the time line (`HH:MM`
or empty) and the footer publication date-time (Moscow local, ISO). Only what identifies
a page enters the key: not the body (a corrected typo keeps the id and shows as a
changed document in the version diff), not the file name, not the `Direct link` line
(screen-style texts lack it) and not white space, so the same page in either text style,
or re-crawled with other spacing, keeps its id."""

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
