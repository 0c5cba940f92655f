"""Curated output contract (v1): one pydantic model per table.

These models are the single source of truth for the curated tables: the DuckDB DDL,
the Arrow schemas used to write Parquet and the data dictionary in ``docs/`` are all
generated from them (see ``kremlin.contract``), so they cannot drift apart.

Each field's ``description`` is the column's documentation; ``json_schema_extra`` carries
the SQL type where the Python type alone is ambiguous (``sql``) and whether the column
is part of the table's primary key (``pk``).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1.1.0"

RejectReason = Literal[
    "empty",
    "not_text",
    "not_a_page",
    "no_title",
    "no_date",
    "invalid_date",
    "truncated",
    "too_large",
    "unreadable",
    "invalid_record",
    "not_a_regular_file",
    "outside_landing_folder",
    "broken_link",
]
QUALITY_REASON_PREFIX = "quality:"
"""A document that failed a row-level quality check: its files are rejected with reason
``quality:<check name>`` (see kremlin.quality.suites.row_checks for the names)."""
FileStatus = Literal["published", "duplicate", "rejected"]
MentionSource = Literal["tag", "speaker"]
SpeakerKind = Literal["person", "anonymous", "heading"]
ParagraphKind = Literal["text", "separator", "elision", "pullquote"]
TextStyle = Literal["screen", "page"]


# Signed widths of the integer SQL types: a value outside them cannot be stored, so the row
# check rejects the page that carries it (`1 of 2147483648`) instead of the batch's write failing.
_INT_BITS = {"INTEGER": 32, "BIGINT": 64}


def col(description: str, *, sql: str | None = None, pk: bool = False, **kw) -> object:
    extra: dict[str, object] = {}
    if sql:
        extra["sql"] = sql
    if sql in _INT_BITS:
        bound = 1 << (_INT_BITS[sql] - 1)
        kw.setdefault("ge", -bound)
        kw.setdefault("le", bound - 1)
    if pk:
        extra["pk"] = True
    return Field(description=description, json_schema_extra=extra or None, **kw)


class _Row(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class DocumentRow(_Row):
    """One published event page."""

    doc_id: str = col(
        "Stable document id: 'k' + 16 hex digits of sha256 over the site's page id when a copy "
        "of the page carries it (Direct link), else over the page's identity (normalised title, "
        "dates, time line and publication date). See the doc_id rule in the data dictionary.",
        pk=True,
    )
    kremlin_id: int | None = col(
        "en.kremlin.ru page id, from the 'Direct link' line of a copy of the page, when one has it.",
        sql="BIGINT",
    )
    source_url: str | None = col("Page URL, when kremlin_id is known.")
    category: str = col("Category link text (always 'Events' on this site section).")
    title: str = col("Page heading.")
    summary: str | None = col("Lead paragraphs joined by a blank line, or NULL.")
    is_announcement: bool = col("Page is an announcement of a future event.")
    date_text: str = col("Date line as printed ('June 18, 2020', 'Announcement, June 13 − 14, 2019').")
    event_date: dt.date = col("Event day; for announcements the first announced day.")
    event_end_date: dt.date | None = col("Last announced day of an announcement range, else NULL.")
    event_time: dt.time | None = col("Time line as printed (Moscow local time), NULL for announcements.")
    event_start: dt.datetime | None = col(
        "event_date + event_time read in Europe/Moscow (tz database), as an instant.",
        sql="TIMESTAMPTZ",
    )
    place: str | None = col("Place line as printed, white space normalised, or NULL.")
    place_venue: str | None = col("Venue part of the place ('The Kremlin'), if any.")
    place_locality: str | None = col("Locality part of the place ('Moscow'), if any.")
    place_region: str | None = col("Region part of the place ('Moscow Region'), if any.")
    place_country: str | None = col("Country of the place when it is named or known.")
    published_at: dt.datetime = col(
        "Footer publication date and time read in Europe/Moscow, as an instant.",
        sql="TIMESTAMPTZ",
    )
    sections: list[str] = col("Site sections from 'Published in section(s):'.")
    geography: list[str] = col("Geography footer tags as printed, in order.")
    topics: list[str] = col("Topics footer tags as printed, in order.")
    person_tags: list[str] = col("Persons footer tags as printed (surname first), in order.")
    hidden_tags: int = col("Tags the page folds behind an 'N more' line (not in the text).", sql="INTEGER")
    n_paragraphs: int = col("Body paragraphs (rows in paragraphs).", sql="INTEGER")
    n_turns: int = col("Speech turns (rows in utterances).", sql="INTEGER")
    has_elision: bool = col("A body paragraph contains '<…>'.")
    photo_count: int = col("Slides in the photo slider, 0 if none.", sql="INTEGER")
    has_see_also: bool = col("Page has a 'See also' or 'Additional' block.")
    text_style: TextStyle = col("Text style of the source file: 'screen' or 'page'.")
    source_file: str = col("Source file (relative to RAW_DIR) the document was published from.")
    content_sha256: str = col("sha256 of the normalised parsed record (changes when any content changes).")
    year: int = col("Year of event_date (Parquet partition key).", sql="INTEGER")


class ParagraphRow(_Row):
    """One body paragraph, in page order."""

    doc_id: str = col("Document id.", pk=True)
    paragraph_index: int = col("0-based position in the body.", sql="INTEGER", pk=True)
    turn_index: int | None = col("Speech turn the paragraph belongs to; NULL for narration.", sql="INTEGER")
    kind: ParagraphKind = col("'text', 'separator' (* * *), 'elision' (<…>) or 'pullquote'.")
    text: str = col("Paragraph text as printed (speaker label included), white space normalised.")
    year: int = col("Year of the document's event_date (Parquet partition key).", sql="INTEGER")


class UtteranceRow(_Row):
    """One speech turn: a speaker label and what follows it up to the next turn."""

    doc_id: str = col("Document id.", pk=True)
    turn_index: int = col("0-based turn position in the document.", sql="INTEGER", pk=True)
    speaker_label: str = col("Text before the colon, as printed.")
    speaker_kind: SpeakerKind = col(
        "'person' (a named speaker), 'anonymous' (Question, Remark, unnamed moderator…) "
        "or 'heading' (a bold schedule heading, not speech)."
    )
    speaker_name: str | None = col("Speaker's name from the label, given name first, title removed.")
    speaker_role: str | None = col("Title or role printed before the name, if any.")
    person_id: str | None = col("Resolved person (persons.person_id), NULL for anonymous speakers.")
    text: str = col("Turn text: its paragraphs joined by a blank line, label removed.")
    n_paragraphs: int = col("Paragraphs in the turn.", sql="INTEGER")
    year: int = col("Year of the document's event_date (Parquet partition key).", sql="INTEGER")


class PersonRow(_Row):
    """One real person, whatever the spelling."""

    person_id: str = col("Stable person id: a slug of the canonical name, '-2'… for namesakes.", pk=True)
    name: str = col("Canonical name, given name first.")
    sort_name: str = col("Canonical name, surname first.")
    aliases: list[str] = col("Every spelling seen in tags and speaker labels, sorted.")
    n_documents: int = col("Documents that mention the person (tag or speaker).", sql="INTEGER")


class DocumentPersonRow(_Row):
    """Evidence that a document mentions a person: a footer tag or a speaker label."""

    doc_id: str = col("Document id.")
    person_id: str | None = col("Resolved person, NULL when unresolved.")
    mentioned_as: str = col("The tag text or speaker label as printed.")
    source: MentionSource = col("'tag' (footer Persons block) or 'speaker' (speech turn label).")
    position: int = col("Tag position in the footer block, or the turn index.", sql="INTEGER")


class SourceFileRow(_Row):
    """One row per input file, always: published, duplicate or rejected."""

    source_file: str = col(
        "Entry name in RAW_DIR as displayed, one-to-one: a name that is not valid UTF-8 or holds "
        "control or invisible characters or a backslash has them written as backslash escapes "
        "(\\xNN for a byte, \\n, \\t, \\uNNNN, and \\\\ for a backslash).",
        pk=True,
    )
    name_hex: str | None = col(
        "The entry's raw name bytes in hex when source_file is not the name itself (else NULL): lossless."
    )
    sha256: str | None = col("sha256 of the file bytes; NULL for an entry that was not read.")
    size_bytes: int = col("File size in bytes.", sql="BIGINT")
    status: FileStatus = col("'published', 'duplicate' (same doc_id as a published file) or 'rejected'.")
    doc_id: str | None = col("Document the file gave (published or duplicate), else NULL.")
    reject_reason: str | None = col(
        "Reason code when rejected: a scan, decode or parse reason (empty, not_text, not_a_page, "
        "no_title, no_date, invalid_date, truncated, too_large, unreadable, invalid_record, "
        "not_a_regular_file, outside_landing_folder, broken_link), or 'quality:<check>' when the "
        "document failed a row-level quality check and was quarantined."
    )
    reject_stage: str | None = col(
        "Stage that rejected the file ('scan', 'read', 'decode', 'parse', 'validate', 'rows', 'quality')."
    )
    reject_message: str | None = col(
        "What was wrong, naming the entry: for quality rejects the check and the observed value. "
        "Quotes at most a short excerpt of the file, never anything outside RAW_DIR."
    )
    duplicate_of: str | None = col("source_file of the published copy, for duplicates.")


TABLES: dict[str, type[_Row]] = {
    "documents": DocumentRow,
    "paragraphs": ParagraphRow,
    "utterances": UtteranceRow,
    "persons": PersonRow,
    "document_persons": DocumentPersonRow,
    "source_files": SourceFileRow,
}
