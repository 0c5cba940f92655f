"""Raw page text → ``ParsedPage`` or ``Reject``. Never raises on bad input."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import ValidationError

from kremlin.parser.body import ELISION, Body, BodyLayout, assemble, layout
from kremlin.parser.dates import (
    InvalidDate,
    looks_like_date,
    parse_date_line,
    parse_publication,
    parse_time_line,
)
from kremlin.parser.footer import FooterError, FooterParts, parse_footer
from kremlin.parser.labeller import label_lines
from kremlin.parser.places import looks_like_place
from kremlin.parser.turns import split_label
from kremlin.textnorm import NBSP, CleanLine, clean_page, strip_invisible
from schemas.page import Footer, Header, Media, Paragraph, ParsedPage, Reject, Turn

# How far below the title the date line may be (title, lead paragraphs, date).
_MAX_HEADER_LINES = 40
# The corpus's longest page has 1,092 lines. A page costs the labeller some kilobytes per
# line, so a file of millions of short lines (8 MB of "a\n") would take gigabytes: it is
# refused by its line count, counted before the text is split (\r counts too, so a CRLF
# page of half as many lines also passes).
MAX_LINES = 20_000
_HTML = re.compile(r"<\s*(?:!doctype|html|head|body|div|p|meta|script)\b", re.I)
_CATEGORY = re.compile(r"^[A-Z][A-Za-z ]{1,40}$")


def _reject(reason: str, message: str, stage: str = "parse") -> Reject:
    return Reject(reason=reason, stage=stage, message=message)


def parse_page(text: str) -> ParsedPage | Reject:
    if not text.isascii() and not _is_unicode_text(text):
        # Decoding bytes never yields a lone surrogate, but a caller's str can; the line
        # labeller (C++) cannot take one.
        return _reject("not_text", "lone surrogate code points: not Unicode text")
    breaks = text.count("\n") + text.count("\r")
    if breaks >= MAX_LINES:
        return _reject("too_large", f"{breaks} line breaks: over the limit of {MAX_LINES} lines for one page")
    try:
        return _parse(text)
    except InvalidDate as exc:
        return _reject("invalid_date", str(exc))
    except FooterError as exc:
        return _reject(exc.reason, str(exc))
    except ValidationError as exc:
        return _reject("invalid_record", _validation_message(exc), stage="validate")


def _is_unicode_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _validation_message(exc: ValidationError) -> str:
    errs = exc.errors()
    first = errs[0]
    loc = ".".join(str(p) for p in first["loc"])
    return f"{exc.title}: {len(errs)} error(s); {loc}: {first['msg']}"


@dataclass
class PageLayout:
    """A page read up to the learned decisions: header and footer fields, the body layout."""

    header: Header
    footer: FooterParts
    body: BodyLayout
    style: str
    tag_surnames: frozenset[str]


def read_layout(text: str) -> PageLayout | Reject:
    """Header, footer and body layout of a page (raises InvalidDate/FooterError)."""
    style = "page" if NBSP in text or "Direct link:" in text else "screen"
    page = clean_page(text)
    # Header and footer fields are metadata: invisible characters go; body text keeps them.
    metas = page.meta
    nonblank = [k for k, m in enumerate(metas) if m]
    if not nonblank:
        return _reject("empty", "no text")
    meta = [metas[k] for k in nonblank]
    head = "\n".join(meta[:5])
    if "<" in head and _HTML.search(head):  # the markup regex needs a "<": test that first
        return _reject("not_a_page", "HTML markup, not page text")
    category = meta[0]
    if not _CATEGORY.match(category):
        # Describe the line, do not quote it: a landing folder can hold a hard link to any
        # file on the machine, and a reject message is published.
        return _reject(
            "not_a_page", f"first line ({len(category)} characters) is not a site category such as 'Events'"
        )
    if len(meta) < 2:
        return _reject("no_title", "no title line after the category")
    title = meta[1]
    if looks_like_date(title) or title in ("Publication status", "Text version"):
        kind = "a date line" if looks_like_date(title) else f"the footer line {title!r}"
        return _reject("no_title", f"the line after the category is {kind}, not a title")

    # The date line is the first that reads as one, or an announcement's that does not (an
    # unreadable date, which must not leave the page to a later date line, a See-also one
    # say). A line that begins with the word but has no digit is no date line: a lead.
    date_idx = None
    for k in range(2, min(len(meta), 2 + _MAX_HEADER_LINES)):
        line = meta[k]
        if looks_like_date(line) or (line.startswith("Announcement,") and any(c.isdigit() for c in line)):
            date_idx = k
            break
    if date_idx is None:
        if not any(m in ("Publication status", "Text version") for m in meta):
            return _reject("not_a_page", "no date line and no footer: not an en.kremlin.ru page text")
        return _reject("no_date", "no date line below the title")
    date = parse_date_line(meta[date_idx])
    if date is None:
        raise InvalidDate(f"unreadable date line {meta[date_idx]!r}")
    summary = meta[2:date_idx]

    pos = date_idx + 1
    time_text = None
    if pos < len(meta) and (t := parse_time_line(meta[pos])):
        time_text = t
        pos += 1

    # A page has one header: the category and title again right below it (the place line may
    # come between) are a header or a page pasted twice, whose lines would be published as
    # paragraphs.
    for k in range(pos, min(pos + 2, len(meta) - 1)):
        if meta[k] == category and meta[k + 1] == title:
            return _reject("invalid_record", "the category and title lines are repeated below the date line")

    # Work on the full line list (blank lines matter in the body) from here on.
    start = nonblank[pos] if pos < len(nonblank) else len(metas)
    footer_parts = parse_footer(metas, start)
    body_lines = page.lines(start, footer_parts.start)
    place, body_lines = _place(body_lines, title)
    return PageLayout(
        header=Header(
            category=category,
            title=title,
            summary=summary,
            date_text=meta[date_idx],
            is_announcement=date.is_announcement,
            event_date=date.start,
            event_end_date=date.end,
            time_text=time_text,
            place=place,
        ),
        footer=footer_parts,
        body=layout(body_lines),
        style=style,
        tag_surnames=frozenset(tag.split()[0] for tag in footer_parts.tags.get("Persons", []) if tag.split()),
    )


def _place(body_lines: list[CleanLine], title: str) -> tuple[str | None, list[CleanLine]]:
    """The place line, when the first body line is one, and the body below it."""
    visible = (k for k, ln in enumerate(body_lines) if not ln.blank)  # only the first two are read
    first = next(visible, None)
    if first is None:
        return None, body_lines
    second = next(visible, None)
    nxt = body_lines[second].meta if second is not None else ""
    continued = nxt[:1].islower() or (nxt[:1] != "" and nxt[:1] in ",:;")
    if not continued and looks_like_place(body_lines[first].meta, title):
        return body_lines[first].meta, body_lines[first + 1 :]
    return None, body_lines


def _turns(body: Body) -> tuple[list[Turn], list[int | None]]:
    texts = [t for _, t in body.paragraphs]
    starts = []
    for idx in body.turn_starts:
        parts = split_label(texts[idx])
        # A label of invisible characters only is no label: the paragraph stays in the turn before.
        if parts is not None and (label := strip_invisible(parts[0])):
            starts.append((idx, label, parts[1]))
    turn_of: list[int | None] = [None] * len(texts)
    turns: list[Turn] = []
    for n, (idx, label, rest) in enumerate(starts):
        stop = starts[n + 1][0] if n + 1 < len(starts) else len(texts)
        for k in range(idx, stop):
            turn_of[k] = n
        pieces = ([rest] if rest else []) + texts[idx + 1 : stop]
        turns.append(
            Turn(
                label=label,
                text="\n\n".join(pieces),
                first_paragraph=idx,
                n_paragraphs=stop - idx,
            )
        )
    return turns, turn_of


def _parse(text: str) -> ParsedPage | Reject:
    lay = read_layout(text)
    if isinstance(lay, Reject):
        return lay
    b = lay.body
    return build_page(
        lay, label_lines(b.free, lay.header.title, lay.tag_surnames, b.photo_captions, lay.header.summary)
    )


def build_page(lay: PageLayout, labels: list[str]) -> ParsedPage:
    """The parsed page from its layout and the free lines' labels (raises InvalidDate or
    ValidationError)."""
    b = lay.body
    body = assemble(b, labels)
    turns, turn_of = _turns(body)
    footer_parts = lay.footer
    published = parse_publication(footer_parts.publication_text)
    # One validation of the whole record from plain values: a pydantic call per paragraph
    # costs more than the checks themselves. Header and turns are already models.
    record = {
        "header": lay.header,
        "paragraphs": [
            {"text": t, "kind": k, "turn_index": turn_of[n]} for n, (k, t) in enumerate(body.paragraphs)
        ],
        "turns": turns,
        "footer": {
            "geography": footer_parts.tags.get("Geography", []),
            "topics": footer_parts.tags.get("Topics", []),
            "persons": footer_parts.tags.get("Persons", []),
            "hidden_tags": footer_parts.hidden,
            "sections": footer_parts.sections,
            "publication_text": footer_parts.publication_text,
            "published_local": published,
            "kremlin_id": footer_parts.kremlin_id,
        },
        "media": {
            "photo_count": b.photo_count,
            "photo_start": b.photo_start,
            "photo_captions": b.photo_captions,
            "single_photo_captions": body.single_captions,
            "see_also": b.see_also,
        },
        "text_style": lay.style,
        "has_elision": any(ELISION in t for _, t in body.paragraphs),
    }
    try:
        return ParsedPage.model_validate(record)
    except ValidationError:
        _raise_part_error(record)
        raise


def _raise_part_error(record: dict) -> None:
    """Validate an invalid record part by part, to raise the error of its first invalid part
    as that part's model names it (a text with lone surrogates fails ``Paragraph``), the
    reject message the parser has always given."""
    paragraphs = [Paragraph(**p) for p in record["paragraphs"]]
    ParsedPage(
        **{
            **record,
            "paragraphs": paragraphs,
            "footer": Footer(**record["footer"]),
            "media": Media(**record["media"]),
        }
    )
