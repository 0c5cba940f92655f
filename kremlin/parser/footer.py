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
DIRECT_LINK = re.compile(r"^Direct link:\s*(?:https?://)?en\.kremlin\.ru/d/(?P<id>\d+)\s*$")
MORE = re.compile(r"^(?P<n>\d+) more$")
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
    # MORE opens with \d, which matches exactly what str.isdecimal() accepts.
    return MORE.match(line) if line[:1].isdecimal() else None


def parse_footer(lines: list[str], body_start: int) -> FooterParts:
    """Read the footer from the end of the cleaned, non-empty lines."""
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
    stop = status
    for heading in reversed(TAG_HEADINGS):
        j = stop - 1
        while j >= body_start and lines[j] != heading and (_is_tag(lines[j]) or _more(lines[j])):
            j -= 1
        if j >= body_start and lines[j] == heading and j < stop - 1:
            block = lines[j + 1 : stop]
            tags = []
            for line in block:
                if m := _more(line):
                    parts.hidden += int(m.group("n"))
                else:
                    tags.append(line)
            parts.tags[heading] = tags
            stop = j
    parts.start = stop
    return parts
