"""Character-level normalisation shared by the parser and the id rules.

Two extractors give the same page with different characters (NBSP kept or turned into
spaces, zero-width noise): every comparison and every id goes through these functions
so that either style yields the same record. A page is split and cleaned once
(``clean_lines``); later stages read the cleaned forms and never clean again.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

NBSP = "\u00a0"
# C0 control characters other than the ASCII white space \t \n \v \f \r. No page text has
# them (they are binary data, terminal escapes, bells): decode counts them to tell binary from
# text, and cleaning deletes the few a text file may carry, from every form of a line.
CONTROL_CHARS = "".join(map(chr, [*range(0x00, 0x09), *range(0x0E, 0x20)]))
# Bidirectional embeddings, overrides and isolates (LRE RLE PDF LRO RLO, LRI RLI FSI PDI): each
# reorders the text after it on screen, so a title or a paragraph could display as something
# it does not say.
_BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# DEL and the C1 controls but NEL (U+0085, white space to str.split): no text has them either,
# and a terminal reads U+009B as the start of an escape sequence, as it reads ESC [.
_C1_CONTROLS = "".join(map(chr, [0x7F, *range(0x80, 0x85), *range(0x86, 0xA0)]))
# Unicode's noncharacters (U+FDD0-U+FDEF and the last two code points of every plane, U+FFFE
# and U+FFFF among them): reserved for a program's internal use, never text to interchange.
_NONCHARACTERS = "".join(
    [
        *map(chr, range(0xFDD0, 0xFDF0)),
        *(chr(p + c) for p in range(0, 0x110000, 0x10000) for c in (0xFFFE, 0xFFFF)),
    ]
)
# Deleted from every form of a line, the published text included.
_REMOVED = dict.fromkeys(map(ord, CONTROL_CHARS + _C1_CONTROLS + _BIDI_CONTROLS + _NONCHARACTERS), None)
# Invisible characters the site leaves in its text (word-joiners, BOM, soft hyphen), and the
# direction marks (LRM, RLM, ALM), which only set the direction of the characters beside them
# (they reorder nothing else): body text keeps them as published, metadata drops them.
INVISIBLE_CHARS = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f\u061c"
# The metadata forms drop the invisible characters and whatever every form drops.
_INVISIBLE = dict.fromkeys(map(ord, INVISIBLE_CHARS), None) | _REMOVED
# Python's str.split() and regex \s agree on what white space is (str.isspace).
_SPACES = re.compile(r"\s+")


class CleanLine(NamedTuple):
    """One raw line, cleaned once.

    ``text``: the published text (NFC, every white-space run one plain space, stripped; BOM,
    C0 and C1 control characters, noncharacters and bidi embeddings, overrides and isolates
    removed; zero-width characters, soft hyphens and direction marks kept, as the site
    publishes them inside words and the oracle text of a paragraph keeps them). ``meta``:
    the same without the invisible characters, for header and footer fields, labels, names
    and ids.
    (A named tuple: immutable, and about twice as cheap to build as a frozen dataclass.)
    """

    text: str
    meta: str
    lead_space: bool  # the raw line began with (NB)SP: the text after a link continues
    blank: bool  # nothing visible on the line


class CleanPage(NamedTuple):
    """A page's lines cleaned once, as parallel lists (no object per line: header and footer
    lines are only ever read as ``meta``); ``line(k)`` gives line k as a ``CleanLine``."""

    raw: list[str]  # the raw lines (NFC, BOM removed, NBSP as " "): where a line starts
    text: list[str]
    meta: list[str]

    def line(self, k: int) -> CleanLine:
        meta, raw = self.meta[k], self.raw[k]
        # A space after invisible characters leads the line too: they are noise before it.
        lead = bool(meta) and (raw.startswith(" ") or raw.lstrip(INVISIBLE_CHARS).startswith(" "))
        return CleanLine(self.text[k], meta, lead, not meta)

    def lines(self, start: int, stop: int) -> list[CleanLine]:
        return [self.line(k) for k in range(start, stop)]


def clean_page(text: str) -> CleanPage:
    """Split a page text into lines and clean each once (see ``CleanLine``)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    invisible = False
    if not text.isascii():
        text = text.replace("\ufeff", "")
        if not unicodedata.is_normalized("NFC", text):
            text = unicodedata.normalize("NFC", text)
        invisible = any(c in text for c in INVISIBLE_CHARS)
        # NBSP is white space to str.split() and marks a leading space like " " does, so
        # turning it into " " first changes no line and lets most lines take the fast path.
        text = text.replace(NBSP, " ")
    raw = text.split("\n")
    # Every white-space character but " " is unprintable, and so is every removed character:
    # a printable line without a double space has single spaces only, and stripping them is
    # all _collapse would do.
    cleaned = [r.strip(" ") if "  " not in r and r.isprintable() else _collapse(r) for r in raw]
    meta = [" ".join(t.translate(_INVISIBLE).split()) for t in cleaned] if invisible else cleaned
    # Few pages have many blank lines: counting them is the cheap test for double spacing
    # (more than half of the gaps between the visible lines need more than a third of all lines).
    if 3 * meta.count("") + 1 > len(meta) and (kept := _single_spaced(meta)) is not None:
        return CleanPage([raw[k] for k in kept], [cleaned[k] for k in kept], [meta[k] for k in kept])
    return CleanPage(raw, cleaned, meta)


def _single_spaced(meta: list[str]) -> list[int] | None:
    """The lines to keep of a double-spaced text, else None.

    A text whose line ends were doubled (double spacing, or line ends converted twice,
    ``\r\r\n``), all or most of them, has a blank line between most two visible lines; a
    page has few (at most 9 % of its gaps in the corpus). When more than half of the gaps
    hold one, each run of g blank lines stands for (g - 1) // 2 blank lines of the page (one
    line end became two), so the text reads as the page it came from."""
    visible = [k for k, m in enumerate(meta) if m]
    gaps = list(zip(visible, visible[1:], strict=False))
    if 2 * sum(b - a > 1 for a, b in gaps) <= len(gaps):
        return None
    kept = list(range(visible[0] + 1))  # blank lines before the text and after it are kept
    for a, b in gaps:
        kept.extend(range(a + 1, a + 1 + max(0, (b - a - 2) // 2)))
        kept.append(b)
    kept.extend(range(visible[-1] + 1, len(meta)))
    return kept


def _collapse(line: str) -> str:
    """A line without its removed characters, white space collapsed to single spaces."""
    kept = line.translate(_REMOVED)
    if len(kept) != len(line) and not kept.isascii():
        # A removed character between a letter and its combining mark hid a composition.
        kept = unicodedata.normalize("NFC", kept)
    return " ".join(kept.split())


def clean_lines(text: str) -> list[CleanLine]:
    """Every line of a page text, cleaned once (see ``CleanLine``)."""
    page = clean_page(text)
    return page.lines(0, len(page.raw))


def clean_line(line: str, *, keep_invisible: bool = False) -> str:
    """Published text of one line: NFC, NBSP and other spaces as one plain space, stripped,
    control characters and bidi embeddings, overrides and isolates removed.

    Zero-width characters, soft hyphens and direction marks are removed unless
    ``keep_invisible`` (body text, see docs/data-dictionary.md); typographic quotes and dashes
    are kept as published.
    """
    line = line.replace("\ufeff", "").translate(_INVISIBLE if not keep_invisible else _REMOVED)
    return " ".join(unicodedata.normalize("NFC", line).split())


def strip_invisible(text: str) -> str:
    """Remove the invisible characters (zero-width characters, soft hyphens, direction marks)
    and whatever cleaning removes from every form (metadata fields, names, ids)."""
    return " ".join(text.translate(_INVISIBLE).split())


def collapse(text: str) -> str:
    """White space collapsed to single spaces (keeps other characters)."""
    return " ".join(text.split())


def identity_key(text: str) -> str:
    """Aggressive form for identity hashing: case-folded, spaces and invisibles removed.

    White-space-only re-crawls (or a different extractor) must not change a page's id.
    """
    return _SPACES.sub("", unicodedata.normalize("NFKC", text).translate(_INVISIBLE)).casefold()
