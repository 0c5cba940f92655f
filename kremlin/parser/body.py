"""The page body: certain layout by rule, the rest by the learned line labeller.

Rules take what the layout marks for certain: photo-slider counters (`K of N`) and the
caption line under each, separators (`* * *`), elisions (`<…>`) and 'See also' /
'Additional' blocks. Every other non-blank line is a *free* line, and the line labeller
(``kremlin.parser.labeller``) gives each one of:

* ``P`` starts a paragraph,
* ``T`` starts a paragraph that opens a speech turn (bold label and colon on the page),
* ``C`` continues the previous line's paragraph (the page broke the line after a link or
  at ``<br>``),
* ``X`` is not a paragraph: a single-photo caption or a video description.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import islice
from typing import NamedTuple

from kremlin.parser.dates import looks_like_date
from kremlin.textnorm import INVISIBLE_CHARS, CleanLine

# ASCII digits, at most nine (a count fits the INTEGER column and int() never meets a
# 5,000-digit number); a counter is `K of N` with 1 <= K <= N (``_slider``).
SLIDER = re.compile(r"^(?P<k>\d{1,9}) of (?P<n>\d{1,9})$", re.ASCII)
SEPARATORS = frozenset({"* * *", "***", "* * * *", "*  *  *"})
ELISION = "<…>"
RELATED_HEADINGS = ("See also", "Additional")
# Pull quotes repeat a sentence of the text between reversed typographic quotes.
PULLQUOTE = re.compile(r"^”.*“\.?$")
ATTACHMENT = re.compile(
    r"^(?:doc|docx|pdf|rtf|xls|xlsx|zip|ppt|pptx|jpg|mp3|mp4), [\d.,]+\s*(?:B|kB|KB|MB|GB)$"
)
_NO_SPACE_BEFORE = tuple(",.;:)]!?’'%")
_RELATED_TAIL = 4  # an undated related-links block at the end of the body has at most this many lines
_RELATED_ITEM = 250

# Kinds of the lines the rules place (what a free line's neighbour can be).
FIXED_SLIDER, FIXED_CAPTION, FIXED_SEPARATOR, FIXED_RELATED = "slider", "caption", "separator", "related"
LABELS = ("P", "T", "C", "X")


class FreeLine(NamedTuple):
    """A body line the labeller decides, with the layout around it (immutable; a named tuple
    is the cheapest such record to build)."""

    text: str  # as published (zero-width characters kept)
    lead_space: bool
    blank_before: bool  # a blank line (or the body start) right before it
    fixed_before: str  # kind of the rule-placed line right before it, or ""
    fixed_after: str
    # The text without invisible characters (``CleanLine.meta``): what the labeller and the
    # joining rules read, so that zero-width noise cannot change a line's features.
    meta: str


class Item(NamedTuple):
    kind: str  # "free" or one of the FIXED_* kinds
    text: str = ""
    free: int = -1  # index into Layout.free for free lines


@dataclass
class BodyLayout:
    items: list[Item] = field(default_factory=list)
    free: list[FreeLine] = field(default_factory=list)
    photo_count: int = 0
    photo_start: int | None = None
    photo_captions: list[str] = field(default_factory=list)
    see_also: list[str] = field(default_factory=list)


@dataclass
class Body:
    paragraphs: list[tuple[str, str]] = field(default_factory=list)  # (kind, text)
    turn_starts: list[int] = field(default_factory=list)  # paragraph indices labelled T
    single_captions: list[str] = field(default_factory=list)


def _related_block(lines: list[CleanLine], i: int, end: int) -> int:
    """End index of a 'See also'/'Additional' block starting at i, or i when none.

    Items are a linked title followed by its date or by an attachment line
    (`doc, 1.2 MB`). An undated item is a single title without a full stop right
    after a heading; the body may go on after the block.
    """
    j = i
    while j < end and lines[j].meta in RELATED_HEADINGS:
        j += 1
        first_item = True
        while j < end:
            cur = lines[j].meta
            nxt = lines[j + 1].meta if j + 1 < end else ""
            if cur in RELATED_HEADINGS or not cur:
                break
            if nxt and (looks_like_date(nxt) or ATTACHMENT.match(nxt)) and not looks_like_date(cur):
                j += 2
            elif first_item and len(cur) < _RELATED_ITEM and not cur.endswith((".", "!", "?", ":")):
                j += 1
            else:
                break
            first_item = False
    # Only the first _RELATED_TAIL + 1 lines after the block are read: a page of many
    # headings would otherwise copy the rest of its body once per heading.
    rest = list(islice((ln for k in range(j, end) if not (ln := lines[k]).blank), _RELATED_TAIL + 1))
    if rest and len(rest) <= _RELATED_TAIL and all(len(ln.text) < 200 for ln in rest):
        return end
    return j if j > i + 1 else i


def _slider(meta: str) -> tuple[int, int] | None:
    """(K, N) of a photo-slider counter line `K of N`, else None."""
    if not (m := SLIDER.match(meta)):
        return None
    k, n = int(m.group("k")), int(m.group("n"))
    return (k, n) if 1 <= k <= n else None


def layout(lines: list[CleanLine]) -> BodyLayout:
    """Place the lines the layout makes certain; collect the rest as free lines.

    The rules read each line's ``meta`` (invisible characters removed), so zero-width noise
    cannot hide a counter, separator or heading; what is published keeps ``text``."""
    out = BodyLayout()
    i, end = 0, len(lines)
    blank_before = True
    pending: list[tuple[str, bool, bool, str, str]] = []  # free lines before their next neighbour is known
    last_fixed = ""

    def fixed(kind: str, text: str = "") -> None:
        nonlocal last_fixed
        out.items.append(Item(kind, text))
        last_fixed = kind

    while i < end:
        line = lines[i]
        t, meta = line.text, line.meta
        if line.blank or not t:
            blank_before = True
            i += 1
            continue
        if meta in RELATED_HEADINGS and (j := _related_block(lines, i, end)) > i:
            out.see_also.extend(
                lines[k].text
                for k in range(i + 1, j)
                if lines[k].meta
                and lines[k].meta not in RELATED_HEADINGS
                and not looks_like_date(lines[k].meta)
                and not ATTACHMENT.match(lines[k].meta)
            )
            fixed(FIXED_RELATED)
            i = j
            blank_before = True
            continue
        # SLIDER opens with an ASCII digit, which str.isdecimal() also accepts: test it first.
        if meta[0].isdecimal() and (counter := _slider(meta)) is not None:
            if out.photo_start is None:
                out.photo_start, out.photo_count = counter
            fixed(FIXED_SLIDER)
            # The caption is the line right below: a blank line between means the slide has none.
            nxt = lines[i + 1].text if i + 1 < end else ""
            if nxt and _slider(lines[i + 1].meta) is None:
                out.photo_captions.append(nxt)
                fixed(FIXED_CAPTION, nxt)
                i += 1
            i += 1
            blank_before = False
            continue
        if meta in SEPARATORS or meta == ELISION:
            fixed(FIXED_SEPARATOR, meta)
            i += 1
            blank_before = False
            continue
        out.items.append(Item("free", t, len(pending)))
        pending.append((t, line.lead_space, blank_before, last_fixed, meta))
        last_fixed = ""
        blank_before = False
        i += 1
    # The kind of rule-placed line after each free line (for its features).
    after = [""] * len(pending)
    nxt_kind = ""
    for item in reversed(out.items):
        if item.kind == "free":
            after[item.free] = nxt_kind
            nxt_kind = ""
        else:
            nxt_kind = item.kind
    out.free = [FreeLine(t, ls, bb, fb, after[k], m) for k, (t, ls, bb, fb, m) in enumerate(pending)]
    return out


def glue(prev: str, line: FreeLine) -> str:
    """What joins a continuation line to its paragraph: nothing before a colon or closing
    punctuation (`Ivan Petrov` / `: Thank you.`), else one space."""
    return "" if line.meta.startswith(_NO_SPACE_BEFORE) and prev else " "


def assemble(lay: BodyLayout, labels: list[str]) -> Body:
    """Paragraphs, turn starts and captions from the layout and the free lines' labels."""
    body = Body()
    current: list[str] | None = None  # pieces of the open paragraph
    opens_turn = False

    def flush() -> None:
        nonlocal current, opens_turn
        if current is not None:
            text = "".join(current)
            if opens_turn:
                body.turn_starts.append(len(body.paragraphs))
            edges = text.strip(INVISIBLE_CHARS)  # zero-width noise must not hide the quotes
            quote = edges.startswith("”") and PULLQUOTE.match(edges)  # the regex opens with ”
            body.paragraphs.append(("pullquote" if quote else "text", text))
            current, opens_turn = None, False

    for item in lay.items:
        if item.kind != "free":
            flush()
            if item.kind == FIXED_SEPARATOR:
                body.paragraphs.append(("elision" if item.text == ELISION else "separator", item.text))
            continue
        line = lay.free[item.free]
        label = labels[item.free]
        if label == "C" and current is not None:
            current.append(glue(current[-1], line))
            current.append(line.text)
            continue
        flush()
        if label == "X":
            body.single_captions.append(line.text)
            continue
        current, opens_turn = [line.text], label == "T"
    flush()
    return body
