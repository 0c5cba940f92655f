"""The page body: paragraphs, separators, elisions, photo/video captions, 'See also' blocks.

The text has one line per block element, but the page also breaks a line after a link
(a person or glossary tooltip) and at ``<br>``; those pieces are rejoined here, while
caption lines, slider counters and related-link blocks are set aside.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from kremlin.parser.captions import ATTACHMENT, has_verb, looks_like_list_item
from kremlin.parser.dates import looks_like_date
from kremlin.parser.turns import is_speaker_label
from kremlin.parser.words import CLAUSE_OPENERS

SLIDER = re.compile(r"^(?P<k>\d+) of (?P<n>\d+)$")
SEPARATORS = {"* * *", "***", "* * * *", "*  *  *"}
ELISION = "<…>"
RELATED_HEADINGS = ("See also", "Additional")
# Pull quotes repeat a sentence of the text between reversed typographic quotes.
PULLQUOTE = re.compile(r"^”.*“\.?$")
_TERMINAL = tuple(".!?:;…\"”“»)]'’")
_NO_SPACE_BEFORE = tuple(",.;:)]!?…’'%")


@dataclass(frozen=True)
class Line:
    text: str  # cleaned
    lead_space: bool  # the raw line began with (NB)SP: the text after a link continues
    blank: bool  # the raw line was only (NB)SP


@dataclass
class Body:
    paragraphs: list[tuple[str, str]] = field(default_factory=list)  # (kind, text)
    photo_count: int = 0
    photo_start: int | None = None
    photo_captions: list[str] = field(default_factory=list)
    single_captions: list[str] = field(default_factory=list)
    see_also: list[str] = field(default_factory=list)


_SHORT_ITEM = 60  # a verb-less entry of a list or schedule is shorter than this
_RELATED_TAIL = 4  # an undated related-links block at the end of the body has at most this many lines


def _related_block(lines: list[Line], i: int, end: int) -> int:
    """End index of a 'See also'/'Additional' block starting at i, or i when none.

    Items are a linked title followed by its date or by an attachment line
    (`doc, 1.2 MB`). An undated item is a single title without a full stop right
    after a heading; the body may go on after the block.
    """
    if lines[i].text not in RELATED_HEADINGS:
        return i
    j = i
    while j < end and lines[j].text in RELATED_HEADINGS:
        j += 1
        first_item = True
        while j < end:
            cur = lines[j].text
            nxt = lines[j + 1].text if j + 1 < end else ""
            if cur in RELATED_HEADINGS or not cur:
                break
            if nxt and (looks_like_date(nxt) or ATTACHMENT.match(nxt)) and not looks_like_date(cur):
                j += 2
            elif first_item and len(cur) < 250 and not cur.endswith((".", "!", "?", ":")):
                j += 1
            else:
                break
            first_item = False
    rest = [ln for ln in lines[j:end] if not ln.blank]
    if rest and len(rest) <= _RELATED_TAIL and all(len(ln.text) < 200 for ln in rest):
        return end
    return j if j > i + 1 else i


def _joins(prev: str, nxt: Line) -> str | None:
    """How a line continues the previous paragraph: '' (no space), ' ', or None (new paragraph)."""
    t = nxt.text
    if not prev or not t:
        return None
    if t in SEPARATORS or t == ELISION or SLIDER.match(t):
        return None
    if t.startswith(":"):
        return ""
    if t.startswith(_NO_SPACE_BEFORE) and not t.startswith("…"):
        return ""
    # `The Deputy Prime Minister [Ivan Petrov]` / `and the Minister …`: a bracketed name is a link.
    if prev.endswith("]") and t[0].islower():
        return " "
    if prev.endswith(_TERMINAL) or _opens_turn(t):
        return None
    if nxt.lead_space:
        return " "
    # A heading in capitals (`DRAFT TREATY`), a numbered clause (`1. The Parties …`), the next
    # `Name – post` entry of a list, or the line after a photo credit starts a new block.
    if (
        _ALL_CAPS.match(prev)
        or _NUMBERED.match(t)
        or _SCHEDULE_ITEM.match(t)
        or (_DASH_ITEM.match(prev) and _DASH_ITEM.match(t))
        or _PHOTO_CREDIT_END.search(prev)
    ):
        return None
    first = t[0]
    if first.islower() or first in "(–—-[" or first.isdigit() or _ROMAN_THEN_LOWER.match(t):
        return " "
    # A sentence cut after a link (a name, an acronym) goes on with a capital; a
    # verb-less unpunctuated line is a heading, and a new sentence starts a new paragraph.
    last = prev.split()[-1]
    acronym = len(last) >= 2 and last.isupper() and any(c.islower() for c in prev) and not _ROMAN.match(last)
    if (
        first.isupper()
        and last[-1:].isalpha()
        and last[:1].isupper()
        and (acronym or has_verb(prev))
        and t.split()[0] not in _SENTENCE_STARTS
    ):
        return " "
    return None


_ALL_CAPS = re.compile(r"^[^a-z]*[A-Z]{2,} [^a-z]*[A-Z]{2,}[^a-z]*$")
_NUMBERED = re.compile(r"^\d{1,2}\. [A-Z]")
# `12.00 pm – meeting of CSTO member states`: an entry of a schedule.
_SCHEDULE_ITEM = re.compile(r"^\d{1,2}[.:]\d{2}\s?(?:am|pm)?\s[–—-]\s")
_DASH_ITEM = re.compile(r"^[A-Z][^–—.]{2,60} [–—] [A-Z]")
_PHOTO_CREDIT_END = re.compile(r"\bPhoto(?::| by) [^.]{1,60}$")
_ROMAN = re.compile(r"^[IVXLC]+$")
# `the Order for Services to the Fatherland` / `I degree`: a Roman ordinal goes on the sentence.
# (`I think` is a new sentence, so only the nouns an ordinal qualifies.)
_ROMAN_THEN_LOWER = re.compile(r"^[IVX]+ (?:degree|class|rank|century|stage|grade)\b")
_TURN_OPEN = re.compile(r"^[A-Z][^:]{0,200}?:(?:\s|$)")


_SENTENCE_STARTS = CLAUSE_OPENERS | frozenset(
    [
        "A",
        "Address",
        "An",
        "Answer",
        "Dear",
        "Dmitry",
        "Finally",
        "First",
        "From",
        "However",
        "Meeting",
        "Mr",
        "Mrs",
        "Ms",
        "No",
        "Opening",
        "Please",
        "President",
        "Question",
        "Second",
        "Since",
        "Speech",
        "Thank",
        "Thanks",
        "The",
        "There",
        "Third",
        "Today",
        "Tomorrow",
        "Vladimir",
        "While",
        "Yes",
        "Yesterday",
    ]
)


_SENTENCE_END = re.compile(r"[.!?…](?:\s|$)")


def _drop_video_description(body: Body) -> None:
    """A one-sentence line right before the first speech turn describes the video.

    (`Vladimir Putin congratulated Russian women on International Women’s Day.`)
    """
    if len(body.paragraphs) < 2 or body.paragraphs[0][0] != "text":
        return
    first, nxt = body.paragraphs[0][1], body.paragraphs[1][1]
    if (
        first.endswith(".")
        and len(first) < 250
        and len(_SENTENCE_END.findall(first)) == 1
        and not _opens_turn(first)
        and _opens_turn(nxt)
    ):
        body.single_captions.append(first)
        del body.paragraphs[0]


_CREDIT_TAIL = re.compile(r"\.? Photo(?::| by) [^.]{1,60}$")
_SPEECH_WORDS = re.compile(
    r"\b(?:I|we|We|you|You|our|Our|your|Your|my|My|us|please|Please|Mr|Ms|Mrs)\b|[?!:]"
)
_MIN_REPEAT_WORDS = 5


def _photo_captions(lines: list[Line]) -> list[str]:
    """Captions that are certain from the layout: the line after a slider counter, and a
    line ending in a photo credit (without the credit)."""
    out = []
    for k, ln in enumerate(lines):
        if SLIDER.match(ln.text) and k + 1 < len(lines) and not lines[k + 1].blank:
            out.append(lines[k + 1].text.rstrip("."))
        elif _CREDIT_TAIL.search(ln.text):
            out.append(_CREDIT_TAIL.sub("", ln.text).rstrip("."))
    return [c for c in out if c]


def _repeats_photo_caption(text: str, shown: list[str]) -> bool:
    """Inside a transcript, a stand-alone sentence that a slider or credited caption of the
    page contains is the caption of another photo (`Ivan Petrov.` under `Working meeting
    with Ivan Petrov.`), whatever its grammar. (Old pages without speech may print the
    slider caption again as their text.)"""
    core = text.rstrip(".")
    if not text.endswith(".") or len(core.split()) < _MIN_REPEAT_WORDS or _SPEECH_WORDS.search(core):
        return False
    return any(core in c for c in shown)


def _opens_turn(text: str) -> bool:
    m = _TURN_OPEN.match(text)
    return bool(m) and is_speaker_label(m.group(0).rstrip(": "))


def parse_body(lines: list[Line], is_caption: Callable[[str, bool, bool, int], bool]) -> Body:
    """``is_caption(text, first, in_list, repeats)`` judges a stand-alone line; ``repeats``
    is how often the same line occurs in the body (captions recur under photos of one event)."""
    body = Body()
    occurrences = Counter(ln.text for ln in lines if not ln.blank)
    shown = _photo_captions(lines)
    i, end = 0, len(lines)
    current: str | None = None
    seen_slider = False
    in_transcript = False  # a speech turn has begun: the text below is speech

    def flush() -> None:
        nonlocal current
        nonlocal in_transcript
        if current is not None:
            body.paragraphs.append(("text", current))
            in_transcript = in_transcript or _opens_turn(current)
            current = None

    while i < end:
        line = lines[i]
        t = line.text
        if line.blank or not t:
            flush()
            i += 1
            continue
        j = _related_block(lines, i, end)
        if j > i:
            flush()
            body.see_also.extend(
                lines[k].text
                for k in range(i + 1, j)
                if lines[k].text not in RELATED_HEADINGS
                and not looks_like_date(lines[k].text)
                and not ATTACHMENT.match(lines[k].text)
            )
            i = j
            continue
        if m := SLIDER.match(t):
            flush()
            if not seen_slider:
                body.photo_count = int(m.group("n"))
                body.photo_start = int(m.group("k"))
                seen_slider = True
            nxt = lines[i + 1].text if i + 1 < end else ""
            if nxt and not SLIDER.match(nxt):
                body.photo_captions.append(nxt)
                i += 2
            else:
                i += 1
            continue
        if t in SEPARATORS:
            flush()
            body.paragraphs.append(("separator", t))
            i += 1
            continue
        if t == ELISION:
            flush()
            body.paragraphs.append(("elision", t))
            i += 1
            continue
        if current is not None:
            glue = _joins(current, line)
            if glue is not None and not PULLQUOTE.match(t):
                current = current + glue + t
                i += 1
                continue
            flush()
        nxt = lines[i + 1] if i + 1 < end else None
        continues = nxt is not None and _joins(t, nxt) is not None
        prev_par = body.paragraphs[-1][1] if body.paragraphs else ""
        # Entries of a list or schedule (`May 9, Red Square.` / `Military parade.`) share the
        # verb-less shape of captions; the previous paragraph tells them apart.
        in_list = bool(prev_par) and (
            (
                (looks_like_list_item(prev_par) or prev_par.endswith(":"))
                and nxt is not None
                and bool(nxt.text)
                and looks_like_list_item(nxt.text)
            )
            or (
                len(prev_par) < _SHORT_ITEM
                and prev_par.endswith(".")
                and ":" not in prev_par
                and looks_like_list_item(prev_par)
            )
        )
        if not continues and (
            (in_transcript and _repeats_photo_caption(t, shown))
            or is_caption(t, not body.paragraphs and not body.single_captions, in_list, occurrences[t])
        ):
            body.single_captions.append(t)
            i += 1
            continue
        current = t
        i += 1
    flush()
    _drop_video_description(body)
    body.paragraphs = [
        ("pullquote", t) if k == "text" and PULLQUOTE.match(t) else (k, t) for k, t in body.paragraphs
    ]
    return body
