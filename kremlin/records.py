"""A parsed page → the rows it contributes to the curated tables (before people are resolved)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kremlin.ids import content_sha256, doc_id, source_url
from kremlin.instants import moscow_instant, to_utc
from kremlin.placenorm import normalise_place
from schemas.page import ParsedPage

# What only one text style carries: left out of the content hash.
_STYLE_ONLY = {"text_style": True, "footer": {"kremlin_id"}}


def page_rows(page: ParsedPage) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """(document, paragraphs, utterances) rows; ids and instants filled, people not yet."""
    h, f = page.header, page.footer
    did = doc_id(page)
    year = h.event_date.year
    place = normalise_place(h.place)
    event_time = dt.time.fromisoformat(h.time_text) if h.time_text else None
    document = {
        "doc_id": did,
        "kremlin_id": f.kremlin_id,
        "source_url": source_url(f.kremlin_id) if f.kremlin_id is not None else None,
        "category": h.category,
        "title": h.title,
        "summary": "\n\n".join(h.summary) if h.summary else None,
        "is_announcement": h.is_announcement,
        "date_text": h.date_text,
        "event_date": h.event_date,
        "event_end_date": h.event_end_date,
        "event_time": event_time,
        "event_start": moscow_instant(h.event_date, h.time_text),
        "place": h.place,
        "place_venue": place.venue,
        "place_locality": place.locality,
        "place_region": place.region,
        "place_country": place.country,
        "published_at": to_utc(f.published_local),
        "sections": list(f.sections),
        "geography": list(f.geography),
        "topics": list(f.topics),
        "person_tags": list(f.persons),
        "hidden_tags": f.hidden_tags,
        "n_paragraphs": len(page.paragraphs),
        "n_turns": len(page.turns),
        "has_elision": page.has_elision,
        "photo_count": page.media.photo_count,
        "has_see_also": bool(page.media.see_also),
        "text_style": page.text_style,
        # The record minus what only one text style carries, so both styles hash alike.
        # (pydantic's own JSON: fields in model order, so the same record gives the same text.)
        "content_sha256": content_sha256(page.model_dump_json(exclude=_STYLE_ONLY)),
        "year": year,
    }
    paragraphs = [
        {
            "doc_id": did,
            "paragraph_index": i,
            "turn_index": p.turn_index,
            "kind": p.kind,
            "text": p.text,
            "year": year,
        }
        for i, p in enumerate(page.paragraphs)
    ]
    utterances = [
        {
            "doc_id": did,
            "turn_index": i,
            "speaker_label": t.label,
            "text": t.text,
            "n_paragraphs": t.n_paragraphs,
            "year": year,
        }
        for i, t in enumerate(page.turns)
    ]
    return document, paragraphs, utterances
