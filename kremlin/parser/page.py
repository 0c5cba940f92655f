"""Raw page text → ``ParsedPage`` or ``Reject``. Never raises on bad input."""

from __future__ import annotations

import re

from pydantic import ValidationError

from kremlin.parser.body import ELISION, Line, parse_body
from kremlin.parser.captions import CaptionContext, is_caption_line
from kremlin.parser.dates import (
    InvalidDate,
    looks_like_date,
    parse_date_line,
    parse_publication,
    parse_time_line,
)
from kremlin.parser.footer import FooterError, parse_footer
from kremlin.parser.places import looks_like_place
from kremlin.parser.turns import find_turn_starts
from kremlin.textnorm import NBSP, clean_line, strip_invisible
from schemas.page import Footer, Header, Media, Paragraph, ParsedPage, Reject, Turn

# How far below the title the date line may be (title, lead paragraphs, date).
_MAX_HEADER_LINES = 40
_HTML = re.compile(r"<\s*(?:!doctype|html|head|body|div|p|meta|script)\b", re.I)
_CATEGORY = re.compile(r"^[A-Z][A-Za-z ]{1,40}$")


def _reject(reason: str, message: str, stage: str = "parse") -> Reject:
    return Reject(reason=reason, stage=stage, message=message)


def split_lines(text: str) -> list[Line]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.startswith("\ufeff"):
        text = text[1:]
    out = []
    for raw in text.split("\n"):
        cleaned = clean_line(raw, keep_invisible=True)
        visible = bool(strip_invisible(cleaned))
        out.append(Line(cleaned, lead_space=raw[:1] in (" ", NBSP) and visible, blank=not visible))
    return out


def parse_page(text: str) -> ParsedPage | Reject:
    try:
        return _parse(text)
    except InvalidDate as exc:
        return _reject("invalid_date", str(exc))
    except FooterError as exc:
        return _reject(exc.reason, str(exc))
    except ValidationError as exc:
        return _reject("invalid_record", _validation_message(exc), stage="validate")


def _validation_message(exc: ValidationError) -> str:
    errs = exc.errors()
    first = errs[0]
    loc = ".".join(str(p) for p in first["loc"])
    return f"{exc.title}: {len(errs)} error(s); {loc}: {first['msg']}"


def _parse(text: str) -> ParsedPage | Reject:
    style = "page" if NBSP in text or "Direct link:" in text else "screen"
    all_lines = split_lines(text)
    # Header and footer fields are metadata: invisible characters go; body text keeps them.
    nonblank = [Line(strip_invisible(ln.text), ln.lead_space, ln.blank) for ln in all_lines if not ln.blank]
    if not nonblank:
        return _reject("empty", "no text")
    head = "\n".join(ln.text for ln in nonblank[:5])
    if _HTML.search(head):
        return _reject("not_a_page", "HTML markup, not page text")
    category = nonblank[0].text
    if not _CATEGORY.match(category):
        return _reject("not_a_page", f"first line {category[:60]!r} is not a site category")
    if len(nonblank) < 2:
        return _reject("no_title", "no title line after the category")
    title = nonblank[1].text
    if looks_like_date(title) or title in ("Publication status", "Text version"):
        return _reject("no_title", f"line after the category is not a title: {title[:60]!r}")

    date_idx = None
    for k in range(2, min(len(nonblank), 2 + _MAX_HEADER_LINES)):
        if looks_like_date(nonblank[k].text) or nonblank[k].text.startswith("Announcement,"):
            date_idx = k
            break
    if date_idx is None:
        if not any(ln.text in ("Publication status", "Text version") for ln in nonblank):
            return _reject("not_a_page", "no date line and no footer: not an en.kremlin.ru page text")
        return _reject("no_date", "no date line below the title")
    date = parse_date_line(nonblank[date_idx].text)
    if date is None:
        raise InvalidDate(f"unreadable date line {nonblank[date_idx].text!r}")
    summary = [ln.text for ln in nonblank[2:date_idx]]

    pos = date_idx + 1
    time_text = None
    if pos < len(nonblank) and (t := parse_time_line(nonblank[pos].text)):
        time_text = t
        pos += 1

    # Work on the full line list (blank lines matter in the body) from here on.
    start = _index_in_all(all_lines, nonblank, pos)
    footer_parts = parse_footer([strip_invisible(ln.text) for ln in all_lines], start)
    body_lines = all_lines[start : footer_parts.start]

    place = None
    first = next((k for k, ln in enumerate(body_lines) if not ln.blank), None)
    nxt = next((ln for ln in body_lines[first + 1 :] if not ln.blank), None) if first is not None else None
    continued = nxt is not None and (nxt.text[:1].islower() or nxt.text[:1] in ",:;")
    if first is not None and not continued and looks_like_place(body_lines[first].text, title):
        place = strip_invisible(body_lines[first].text)
        body_lines = body_lines[first + 1 :]

    ctx = CaptionContext(title=title)
    body = parse_body(
        body_lines, lambda t, first, in_list, repeats: is_caption_line(t, first, ctx, in_list, repeats)
    )
    texts = [t for _, t in body.paragraphs]
    surnames = {tag.split()[0] for tag in footer_parts.tags.get("Persons", []) if tag.split()}
    starts = find_turn_starts(texts, surnames)

    turn_of: list[int | None] = [None] * len(texts)
    turns: list[Turn] = []
    for n, (idx, label, rest) in enumerate(starts):
        stop = starts[n + 1][0] if n + 1 < len(starts) else len(texts)
        for k in range(idx, stop):
            turn_of[k] = n
        pieces = ([rest] if rest else []) + texts[idx + 1 : stop]
        turns.append(
            Turn(
                label=strip_invisible(label),
                text="\n\n".join(pieces),
                first_paragraph=idx,
                n_paragraphs=stop - idx,
            )
        )

    published = parse_publication(footer_parts.publication_text)
    return ParsedPage(
        header=Header(
            category=category,
            title=title,
            summary=summary,
            date_text=nonblank[date_idx].text,
            is_announcement=date.is_announcement,
            event_date=date.start,
            event_end_date=date.end,
            time_text=time_text,
            place=place,
        ),
        paragraphs=[
            Paragraph(text=t, kind=k, turn_index=turn_of[n]) for n, (k, t) in enumerate(body.paragraphs)
        ],
        turns=turns,
        footer=Footer(
            geography=footer_parts.tags.get("Geography", []),
            topics=footer_parts.tags.get("Topics", []),
            persons=footer_parts.tags.get("Persons", []),
            hidden_tags=footer_parts.hidden,
            sections=footer_parts.sections,
            publication_text=footer_parts.publication_text,
            published_local=published,
            kremlin_id=footer_parts.kremlin_id,
        ),
        media=Media(
            photo_count=body.photo_count,
            photo_start=body.photo_start,
            photo_captions=body.photo_captions,
            single_photo_captions=body.single_captions,
            see_also=body.see_also,
        ),
        text_style=style,
        has_elision=any(ELISION in t for t in texts),
    )


def _index_in_all(all_lines: list[Line], nonblank: list[Line], k: int) -> int:
    """Position in all_lines of the k-th non-blank line (or the end)."""
    seen = 0
    for i, ln in enumerate(all_lines):
        if not ln.blank:
            if seen == k:
                return i
            seen += 1
    return len(all_lines)
