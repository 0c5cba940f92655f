"""The page footer: tag blocks, publication status, date, direct link, 'Text version'."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kremlin.parser.dates import looks_like_date

TAG_HEADINGS = ("Geography", "Topics", "Persons")
STATUS = "Publication status"
TEXT_VERSION = "Text version"
SECTIONS = re.compile(r"^Published in sections?:\s*(?P<s>.*)$")
PUB_DATE = re.compile(r"^Publication date:\s*(?P<d>.+)$")
# Page ids of en.kremlin.ru have 4-5 digits (at most 63,950 in the corpus); 9 leave the site
# room to grow ten-thousandfold. A longer number is not read as the page id, as no other
# malformed 'Direct link:' line is: the line is optional and a page is identified without
# it (corpus README), while int() of a huge digit string raises (past 4,300 digits) and a
# value past 2**63 overflows the BIGINT kremlin_id column, failing its whole shard.
_ID_DIGITS = 9
# ASCII digits only, as in dates and counters (a page id has no leading zero, and no page is 0).
DIRECT_LINK = re.compile(
    rf"^Direct link:\s*(?:https?://)?en\.kremlin\.ru/d/(?P<id>[1-9]\d{{0,{_ID_DIGITS - 1}}})\s*$", re.ASCII
)
MORE = re.compile(r"^(?P<n>\d+) more$", re.ASCII)
# Tags a page may fold behind its 'N more' lines (at most 9 in the corpus). Past it the page
# is rejected rather than the line read as a tag: a line of that shape in a tag block is the
# fold line whatever its number. The bound keeps the count inside the INTEGER hidden_tags
# column and int() away from huge digit strings.
_MAX_HIDDEN = 9999
# A tag is a short label; a line with sentence punctuation is body text, not a tag.
_TAG_MAX = 120


class FooterError(ValueError):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass
class FooterParts:
    start: int  # index of the first footer line (body ends before it)
    tags: dict[str, list[str]] = field(default_factory=dict)
    hidden: int = 0
    sections: list[str] = field(default_factory=list)
    publication_text: str = ""
    kremlin_id: int | None = None


def _is_tag(line: str) -> bool:
    return 0 < len(line) <= _TAG_MAX and not line.endswith((".", ":", "?", "!")) and not looks_like_date(line)


def _more(line: str) -> re.Match[str] | None:
    # MORE opens with an ASCII digit, which str.isdecimal() also accepts: test it first.
    return MORE.match(line) if line[:1].isdecimal() else None


def _previous(lines: list[str], k: int, floor: int) -> int:
    """Index of the last non-blank line before line k, down to ``floor`` (``floor - 1``: none)."""
    k -= 1
    while k >= floor and not lines[k]:
        k -= 1
    return k


def parse_footer(lines: list[str], body_start: int) -> FooterParts:
    """Read the footer from the end of a page's cleaned lines (``meta``; a blank line is "")."""
    end = len(lines)
    if end and lines[end - 1] == TEXT_VERSION:
        end -= 1
    status = None
    for i in range(end - 1, body_start - 1, -1):
        if lines[i] == STATUS:
            status = i
            break
    if status is None:
        raise FooterError("truncated", "no 'Publication status' footer: the page text is cut off")
    # A page has one footer (so has every page of the corpus). A second status line above it
    # is a footer or page pasted twice: read on, its lines would be published as paragraphs
    # and its 'Published in sections:' line as a speech turn.
    if STATUS in lines[body_start:status]:
        raise FooterError(
            "invalid_record", "two 'Publication status' footer lines: a footer or page repeated in the text"
        )
    parts = FooterParts(start=status)
    for line in lines[status + 1 : end]:
        # Each pattern opens with a fixed word: test it before running the regex.
        if line.startswith("Published in section") and (m := SECTIONS.match(line)):
            parts.sections = [s.strip() for s in m.group("s").split(",") if s.strip()]
        elif line.startswith("Publication date:") and (m := PUB_DATE.match(line)):
            parts.publication_text = m.group("d").strip()
        elif line.startswith("Direct link:") and (m := DIRECT_LINK.match(line)):
            parts.kremlin_id = int(m.group("id"))
    if not parts.publication_text:
        raise FooterError("no_date", "footer has no 'Publication date:' line")

    # Tag blocks come in a fixed order just before the status line; walk back over them.
    # Blank lines are stepped over: a double-spaced text (or one whose line ends were
    # converted twice, \r\r\n) has one between every two footer lines.
    stop = status
    for heading in reversed(TAG_HEADINGS):
        last = j = _previous(lines, stop, body_start)
        while j >= body_start and lines[j] != heading and (_is_tag(lines[j]) or _more(lines[j])):
            j = _previous(lines, j, body_start)
        if j >= body_start and lines[j] == heading and j < last:
            tags = []
            for line in lines[j + 1 : stop]:
                if not line:
                    continue
                if m := _more(line):
                    # Width first: int() of a long digit string raises or takes long.
                    n = m.group("n")
                    parts.hidden += int(n) if len(n) <= len(str(_MAX_HIDDEN)) else _MAX_HIDDEN + 1
                else:
                    tags.append(line)
            parts.tags[heading] = tags
            stop = j
    if parts.hidden > _MAX_HIDDEN:
        raise FooterError(
            "invalid_record", f"the footer's 'N more' lines fold over {_MAX_HIDDEN} tags: not a page footer"
        )
    parts.start = stop
    return parts
