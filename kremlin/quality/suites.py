"""Expectation suites for the curated tables, as code.

A suite is one *frame* (a DuckDB query whose result is validated with Great Expectations'
pandas datasource) plus the checks that run on it. Frames never carry text columns: text
is reduced in SQL to what a check needs (trimmed lengths), and cross-table rules are joined
in SQL into per-row columns (``orphan_doc_id`` is the row's doc_id when the document does
not exist, else NULL), so every rule is a plain GX expectation on a narrow frame.

This module is plain data and imports nothing heavy: ``to_gx_suite`` imports
``great_expectations`` lazily when the gate actually runs.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from kremlin.contract import columns, enum_values
from schemas.tables import TABLES, DocumentRow, ParagraphRow, SourceFileRow, UtteranceRow

Severity = Literal["critical", "warning"]

DOC_ID_REGEX = r"^k[0-9a-f]{16}$"
SOURCE_URL_PREFIX = "http://en.kremlin.ru/events/president/news/"
SOURCE_URL_REGEX = r"^http://en\.kremlin\.ru/events/president/news/[0-9]+$"
PERSON_ID_REGEX = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
SHA256_REGEX = r"^[0-9a-f]{64}$"
MOSCOW = "Europe/Moscow"


@dataclass(frozen=True)
class GateConfig:
    """Thresholds of the quality gate (defaults are the publication policy)."""

    min_person_id_share: float = 0.99
    """Share of speech turns with speaker_kind='person' that must have a person_id (warning below)."""
    max_row_drop_share: float = 0.2
    """A table losing more than this share of its rows vs the previous release is critical."""
    earliest_date: dt.date = dt.date(1999, 12, 31)
    """No event or publication date before this day (the site starts on 31 December 1999)."""
    future_horizon_years: int = 1
    """Dates may lie at most this many years after ``today`` (announcements are in the future)."""
    max_title_length: int = 1000
    """Titles longer than this are suspicious (warning): probably a parse that swallowed the body."""
    sample_size: int = 5
    """Unexpected values (and their row keys) reported per failed check."""


@dataclass(frozen=True)
class Check:
    """One expectation: a GX expectation class with its kwargs, and how to report it."""

    name: str
    """Stable, unique check id ('documents.doc_id.unique'), used in tests and reports."""
    table: str
    column: str | None
    severity: Severity
    expectation: str
    """GX expectation class name in ``great_expectations.expectations``."""
    kwargs: dict[str, Any]
    description: str
    condition: tuple[str, Literal["==", "in"], Any] | None = None
    """Row filter (column, operator, value): the expectation only sees matching rows."""

    @property
    def expectation_type(self) -> str:
        """GX snake_case expectation type ('expect_column_values_to_be_unique')."""
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.expectation).lower()


@dataclass(frozen=True)
class FrameSuite:
    """A frame query and the checks validated on its result (one GX suite)."""

    name: str
    sql: str
    checks: tuple[Check, ...]
    index_columns: tuple[str, ...] = ()
    """Columns identifying a row, reported next to unexpected values."""
    row_count_of: str | None = None
    """Curated table whose row count equals the frame's (one frame row per table row)."""
    meta: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- SQL helpers

_WS = "' ' || chr(9) || chr(10) || chr(13) || chr(160)"


def _tlen(expr: str) -> str:
    """Length of a string after trimming white space (NULL stays NULL)."""
    return f"length(trim({expr}, {_WS}))"


def _ymd(expr: str) -> str:
    """A DATE as an integer yyyymmdd: readable in reports and compared vectorised by GX."""
    return f"(year({expr}) * 10000 + month({expr}) * 100 + day({expr}))"


def ymd(day: dt.date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def _sql_list(values: list[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def future_horizon(today: dt.date, years: int) -> dt.date:
    try:
        return today.replace(year=today.year + years)
    except ValueError:  # 29 February
        return today.replace(year=today.year + years, day=28)


# --------------------------------------------------------------------------- check builders


def _c(name, table, target, severity, expectation, description, condition=None, /, **kwargs) -> Check:
    """A check; ``kwargs`` are the GX expectation's arguments."""
    return Check(name, table, target, severity, expectation, kwargs, description, condition)


def _key_checks(table: str, cols: list[str]) -> list[Check]:
    out = [
        _c(
            f"{table}.{c}.not_null",
            table,
            c,
            "critical",
            "ExpectColumnValuesToNotBeNull",
            f"Key column {c} is never NULL.",
            column=c,
        )
        for c in cols
    ]
    if len(cols) == 1:
        out.append(
            _c(
                f"{table}.{cols[0]}.unique",
                table,
                cols[0],
                "critical",
                "ExpectColumnValuesToBeUnique",
                f"{cols[0]} is unique.",
                column=cols[0],
            )
        )
    else:
        key = ", ".join(cols)
        out.append(
            _c(
                f"{table}.key.unique",
                table,
                key,
                "critical",
                "ExpectCompoundColumnsToBeUnique",
                f"({key}) is unique.",
                column_list=cols,
            )
        )
    return out


def _row_count_checks(table: str, previous: dict[str, int], config: GateConfig) -> list[Check]:
    prev = previous.get(table)
    if prev is None:
        minimum, text = 0, "no previous row count to compare with"
    else:
        minimum = max(0, math.ceil(prev * (1 - config.max_row_drop_share) - 1e-9))
        text = f"previous release had {prev} rows; at most {config.max_row_drop_share:.0%} may go"
    return [
        _c(
            f"{table}.row_count.no_drop",
            table,
            None,
            "critical",
            "ExpectTableRowCountToBeBetween",
            f"Row count does not drop by more than {config.max_row_drop_share:.0%} ({text}).",
            min_value=minimum,
        )
    ]


def _orphan_check(table: str, column: str, parent: str, severity: Severity = "critical", condition=None):
    gx_column = "orphan_doc_id" if parent == "documents" else "unknown_person_id"
    return _c(
        f"{table}.{column}.in_{parent}",
        table,
        column,
        severity,
        "ExpectColumnValuesToBeNull",
        f"Every non-NULL {table}.{column} exists in {parent} "
        f"({gx_column} is the offending value, NULL when the row is fine).",
        condition,
        column=gx_column,
    )


def _nonneg(table: str, column: str, severity: Severity = "critical") -> Check:
    return _c(
        f"{table}.{column}.non_negative",
        table,
        column,
        severity,
        "ExpectColumnValuesToBeBetween",
        f"{column} ≥ 0.",
        column=column,
        min_value=0,
    )


# --------------------------------------------------------------------------- frames

_DOCS = "(SELECT doc_id, min(year) AS year FROM documents GROUP BY doc_id)"
_PERSONS = "(SELECT DISTINCT person_id FROM persons)"


def _documents(config: GateConfig, today: dt.date, previous: dict[str, int]) -> FrameSuite:
    t = "documents"
    lo, hi = ymd(config.earliest_date), ymd(future_horizon(today, config.future_horizon_years))
    span = f"[{config.earliest_date.isoformat()}, today + {config.future_horizon_years} year(s)]"
    sql = f"""
WITH p AS (SELECT doc_id, count(*) AS n FROM paragraphs GROUP BY doc_id),
     u AS (SELECT doc_id, count(*) AS n FROM utterances GROUP BY doc_id),
     s AS (SELECT doc_id,
                  count(*) FILTER (WHERE status = 'published') AS n_published,
                  min(source_file) FILTER (WHERE status = 'published') AS published_source_file
           FROM source_files WHERE doc_id IS NOT NULL GROUP BY doc_id)
SELECT d.doc_id, d.kremlin_id, d.source_url,
       CASE WHEN d.kremlin_id IS NOT NULL THEN '{SOURCE_URL_PREFIX}' || d.kremlin_id END AS expected_source_url,
       d.category, d.text_style, d.content_sha256, d.source_file, s.published_source_file,
       {_tlen("d.title")} AS title_length,
       {_ymd("d.event_date")} AS event_date,
       {_ymd("d.event_end_date")} AS event_end_date,
       {_ymd(f"CAST(timezone('{MOSCOW}', d.event_start) AS DATE)")} AS event_start_local_date,
       strftime(timezone('{MOSCOW}', d.event_start), '%Y-%m-%d %H:%M:%S') AS event_start_local,
       strftime(d.event_date + d.event_time, '%Y-%m-%d %H:%M:%S') AS event_date_time,
       {_ymd(f"CAST(timezone('{MOSCOW}', d.published_at) AS DATE)")} AS published_at_local_date,
       d.year, year(d.event_date) AS event_year,
       d.n_paragraphs, coalesce(p.n, 0) AS paragraph_rows,
       d.n_turns, coalesce(u.n, 0) AS utterance_rows,
       coalesce(s.n_published, 0) AS published_files,
       d.hidden_tags, d.photo_count
FROM documents d
LEFT JOIN p ON p.doc_id = d.doc_id
LEFT JOIN u ON u.doc_id = d.doc_id
LEFT JOIN s ON s.doc_id = d.doc_id
"""
    checks = [
        *_key_checks(t, ["doc_id"]),
        _c(
            "documents.doc_id.pattern",
            t,
            "doc_id",
            "critical",
            "ExpectColumnValuesToMatchRegex",
            "doc_id is 'k' + 16 lowercase hex digits.",
            column="doc_id",
            regex=DOC_ID_REGEX,
        ),
        _c(
            "documents.row_count.not_empty",
            t,
            None,
            "critical",
            "ExpectTableRowCountToBeBetween",
            "There is at least one document.",
            min_value=1,
        ),
        *_row_count_checks(t, previous, config),
        _c(
            "documents.source_url.pattern",
            t,
            "source_url",
            "critical",
            "ExpectColumnValuesToMatchRegex",
            "source_url, when present, is an en.kremlin.ru event URL.",
            column="source_url",
            regex=SOURCE_URL_REGEX,
        ),
        _c(
            "documents.source_url.matches_kremlin_id",
            t,
            "source_url",
            "warning",
            "ExpectColumnPairValuesToBeEqual",
            "source_url is present exactly when kremlin_id is, and ends with it.",
            column_A="source_url",
            column_B="expected_source_url",
            ignore_row_if="both_values_are_missing",
        ),
        _c(
            "documents.kremlin_id.unique",
            t,
            "kremlin_id",
            "warning",
            "ExpectColumnValuesToBeUnique",
            "No two documents share a kremlin_id (a page published twice under different ids).",
            column="kremlin_id",
        ),
        _c(
            "documents.title.not_empty",
            t,
            "title",
            "critical",
            "ExpectColumnValuesToBeBetween",
            "title is not empty after trimming (title_length = trimmed length).",
            column="title_length",
            min_value=1,
        ),
        _c(
            "documents.title.length",
            t,
            "title",
            "warning",
            "ExpectColumnValuesToBeBetween",
            f"title is at most {config.max_title_length} characters.",
            column="title_length",
            max_value=config.max_title_length,
        ),
        _c(
            "documents.event_date.range",
            t,
            "event_date",
            "critical",
            "ExpectColumnValuesToBeBetween",
            f"event_date (as yyyymmdd) within {span}.",
            column="event_date",
            min_value=lo,
            max_value=hi,
        ),
        _c(
            "documents.published_at.range",
            t,
            "published_at",
            "critical",
            "ExpectColumnValuesToBeBetween",
            f"published_at's Moscow date (as yyyymmdd) within {span}.",
            column="published_at_local_date",
            min_value=lo,
            max_value=hi,
        ),
        _c(
            "documents.event_end_date.after_event_date",
            t,
            "event_end_date",
            "critical",
            "ExpectColumnPairValuesAToBeGreaterThanB",
            "event_end_date ≥ event_date when present.",
            column_A="event_end_date",
            column_B="event_date",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        ),
        _c(
            "documents.event_start.local_date",
            t,
            "event_start",
            "critical",
            "ExpectColumnPairValuesToBeEqual",
            f"event_start read in {MOSCOW} falls on event_date.",
            column_A="event_start_local_date",
            column_B="event_date",
            ignore_row_if="either_value_is_missing",
        ),
        _c(
            "documents.event_start.matches_event_time",
            t,
            "event_start",
            "warning",
            "ExpectColumnPairValuesToBeEqual",
            f"event_start in {MOSCOW} equals event_date + event_time (both present or both NULL).",
            column_A="event_start_local",
            column_B="event_date_time",
            ignore_row_if="both_values_are_missing",
        ),
        _c(
            "documents.year.matches_event_date",
            t,
            "year",
            "critical",
            "ExpectColumnPairValuesToBeEqual",
            "year (Parquet partition key) = year(event_date).",
            column_A="year",
            column_B="event_year",
        ),
        _c(
            "documents.n_paragraphs.matches_rows",
            t,
            "n_paragraphs",
            "critical",
            "ExpectColumnPairValuesToBeEqual",
            "n_paragraphs = the document's rows in paragraphs.",
            column_A="n_paragraphs",
            column_B="paragraph_rows",
        ),
        _c(
            "documents.n_turns.matches_rows",
            t,
            "n_turns",
            "critical",
            "ExpectColumnPairValuesToBeEqual",
            "n_turns = the document's rows in utterances.",
            column_A="n_turns",
            column_B="utterance_rows",
        ),
        _c(
            "documents.source_files.one_published",
            t,
            "doc_id",
            "critical",
            "ExpectColumnValuesToBeInSet",
            "Every document has exactly one published source_files row (published_files = that count).",
            column="published_files",
            value_set=[1],
        ),
        _c(
            "documents.source_file.is_published_file",
            t,
            "source_file",
            "critical",
            "ExpectColumnPairValuesToBeEqual",
            "source_file is the document's published source_files row.",
            column_A="source_file",
            column_B="published_source_file",
            ignore_row_if="either_value_is_missing",
        ),
        *[_nonneg(t, c) for c in ("n_paragraphs", "n_turns", "hidden_tags", "photo_count")],
        _c(
            "documents.text_style.enum",
            t,
            "text_style",
            "critical",
            "ExpectColumnValuesToBeInSet",
            "text_style is a TextStyle value.",
            column="text_style",
            value_set=enum_values(DocumentRow, "text_style"),
        ),
        _c(
            "documents.category.events",
            t,
            "category",
            "warning",
            "ExpectColumnValuesToBeInSet",
            "category is 'Events' (the only category of this site section).",
            column="category",
            value_set=["Events"],
        ),
        _c(
            "documents.content_sha256.pattern",
            t,
            "content_sha256",
            "critical",
            "ExpectColumnValuesToMatchRegex",
            "content_sha256 is 64 lowercase hex digits.",
            column="content_sha256",
            regex=SHA256_REGEX,
        ),
    ]
    return FrameSuite("documents", sql, tuple(checks), ("doc_id",), row_count_of=t)


def _paragraphs(config: GateConfig, previous: dict[str, int]) -> FrameSuite:
    t = "paragraphs"
    sql = f"""
SELECT p.doc_id, p.paragraph_index, p.turn_index, p.kind, {_tlen("p.text")} AS text_length,
       p.year, d.year AS document_year,
       CASE WHEN p.doc_id IS NOT NULL AND d.doc_id IS NULL THEN p.doc_id END AS orphan_doc_id,
       CASE WHEN p.turn_index IS NOT NULL AND u.doc_id IS NULL
            THEN p.doc_id || ' turn ' || p.turn_index END AS orphan_turn
FROM paragraphs p
LEFT JOIN {_DOCS} d ON d.doc_id = p.doc_id
LEFT JOIN (SELECT DISTINCT doc_id, turn_index FROM utterances) u
       ON u.doc_id = p.doc_id AND u.turn_index = p.turn_index
"""
    checks = [
        *_key_checks(t, ["doc_id", "paragraph_index"]),
        _orphan_check(t, "doc_id", "documents"),
        *_row_count_checks(t, previous, config),
        _c(
            "paragraphs.kind.enum",
            t,
            "kind",
            "critical",
            "ExpectColumnValuesToBeInSet",
            "kind is a ParagraphKind value.",
            column="kind",
            value_set=enum_values(ParagraphRow, "kind"),
        ),
        _c(
            "paragraphs.text.not_empty",
            t,
            "text",
            "critical",
            "ExpectColumnValuesToBeBetween",
            "Paragraph text is not empty after trimming (a paragraph is printed text by definition).",
            column="text_length",
            min_value=1,
        ),
        _nonneg(t, "paragraph_index"),
        _c(
            "paragraphs.year.matches_document",
            t,
            "year",
            "critical",
            "ExpectColumnPairValuesToBeEqual",
            "year = the document's year (same Parquet partition).",
            column_A="year",
            column_B="document_year",
            ignore_row_if="either_value_is_missing",
        ),
        _c(
            "paragraphs.turn_index.in_utterances",
            t,
            "turn_index",
            "critical",
            "ExpectColumnValuesToBeNull",
            "A non-NULL turn_index is a turn of the same document in utterances "
            "(orphan_turn names the offending turn).",
            column="orphan_turn",
        ),
    ]
    return FrameSuite(t, sql, tuple(checks), ("doc_id", "paragraph_index"), row_count_of=t)


def _utterances(config: GateConfig, previous: dict[str, int]) -> FrameSuite:
    t = "utterances"
    sql = f"""
SELECT u.doc_id, u.turn_index, u.speaker_kind, u.person_id,
       CASE WHEN u.speaker_kind <> 'heading' THEN {_tlen("u.text")} END AS text_length, {_tlen("u.speaker_label")} AS label_length,
       u.n_paragraphs, coalesce(pc.n, 0) AS paragraph_rows, u.year, d.year AS document_year,
       CASE WHEN u.doc_id IS NOT NULL AND d.doc_id IS NULL THEN u.doc_id END AS orphan_doc_id,
       CASE WHEN u.person_id IS NOT NULL AND pe.person_id IS NULL THEN u.person_id END AS unknown_person_id
FROM utterances u
LEFT JOIN {_DOCS} d ON d.doc_id = u.doc_id
LEFT JOIN {_PERSONS} pe ON pe.person_id = u.person_id
LEFT JOIN (SELECT doc_id, turn_index, count(*) AS n FROM paragraphs
           WHERE turn_index IS NOT NULL GROUP BY doc_id, turn_index) pc
       ON pc.doc_id = u.doc_id AND pc.turn_index = u.turn_index
"""
    share = config.min_person_id_share
    checks = [
        *_key_checks(t, ["doc_id", "turn_index"]),
        _orphan_check(t, "doc_id", "documents"),
        _orphan_check(t, "person_id", "persons"),
        *_row_count_checks(t, previous, config),
        _c(
            "utterances.speaker_kind.enum",
            t,
            "speaker_kind",
            "critical",
            "ExpectColumnValuesToBeInSet",
            "speaker_kind is a SpeakerKind value.",
            column="speaker_kind",
            value_set=enum_values(UtteranceRow, "speaker_kind"),
        ),
        _c(
            "utterances.text.not_empty",
            t,
            "text",
            "warning",
            "ExpectColumnValuesToBeBetween",
            "Speech turn text is not empty after trimming (schedule headings, which can stand alone, "
            "are not counted). Warning only: a speaker label can be followed directly by the next one.",
            column="text_length",
            min_value=1,
        ),
        _c(
            "utterances.speaker_label.not_empty",
            t,
            "speaker_label",
            "warning",
            "ExpectColumnValuesToBeBetween",
            "speaker_label is not empty after trimming.",
            column="label_length",
            min_value=1,
        ),
        _c(
            "utterances.person_id.resolved_share",
            t,
            "person_id",
            "warning",
            "ExpectColumnValuesToNotBeNull",
            f"At least {share:.0%} of turns with speaker_kind='person' have a person_id.",
            ("speaker_kind", "==", "person"),
            column="person_id",
            mostly=share,
        ),
        _c(
            "utterances.person_id.null_unless_person",
            t,
            "person_id",
            "warning",
            "ExpectColumnValuesToBeNull",
            "Anonymous speakers and headings have no person_id.",
            ("speaker_kind", "in", ["anonymous", "heading"]),
            column="person_id",
        ),
        _nonneg(t, "turn_index"),
        _nonneg(t, "n_paragraphs"),
        _c(
            "utterances.n_paragraphs.matches_rows",
            t,
            "n_paragraphs",
            "warning",
            "ExpectColumnPairValuesToBeEqual",
            "n_paragraphs = paragraphs rows with this turn_index.",
            column_A="n_paragraphs",
            column_B="paragraph_rows",
        ),
        _c(
            "utterances.year.matches_document",
            t,
            "year",
            "critical",
            "ExpectColumnPairValuesToBeEqual",
            "year = the document's year (same Parquet partition).",
            column_A="year",
            column_B="document_year",
            ignore_row_if="either_value_is_missing",
        ),
    ]
    return FrameSuite(t, sql, tuple(checks), ("doc_id", "turn_index"), row_count_of=t)


def _persons(config: GateConfig, previous: dict[str, int]) -> FrameSuite:
    t = "persons"
    sql = f"""
SELECT p.person_id, {_tlen("p.name")} AS name_length, {_tlen("p.sort_name")} AS sort_name_length,
       len(p.aliases) AS n_aliases, p.n_documents, coalesce(dp.n, 0) AS document_count
FROM persons p
LEFT JOIN (SELECT person_id, count(DISTINCT doc_id) AS n FROM document_persons
           WHERE person_id IS NOT NULL GROUP BY person_id) dp ON dp.person_id = p.person_id
"""
    checks = [
        *_key_checks(t, ["person_id"]),
        _c(
            "persons.person_id.pattern",
            t,
            "person_id",
            "critical",
            "ExpectColumnValuesToMatchRegex",
            "person_id is a lowercase slug (a-z, 0-9, single hyphens).",
            column="person_id",
            regex=PERSON_ID_REGEX,
        ),
        *_row_count_checks(t, previous, config),
        _c(
            "persons.name.not_empty",
            t,
            "name",
            "critical",
            "ExpectColumnValuesToBeBetween",
            "name is not empty after trimming.",
            column="name_length",
            min_value=1,
        ),
        _c(
            "persons.sort_name.not_empty",
            t,
            "sort_name",
            "warning",
            "ExpectColumnValuesToBeBetween",
            "sort_name is not empty after trimming.",
            column="sort_name_length",
            min_value=1,
        ),
        _c(
            "persons.aliases.not_empty",
            t,
            "aliases",
            "warning",
            "ExpectColumnValuesToBeBetween",
            "Every person has at least one spelling in aliases.",
            column="n_aliases",
            min_value=1,
        ),
        _nonneg(t, "n_documents"),
        _c(
            "persons.n_documents.matches_rows",
            t,
            "n_documents",
            "warning",
            "ExpectColumnPairValuesToBeEqual",
            "n_documents = distinct documents mentioning the person in document_persons.",
            column_A="n_documents",
            column_B="document_count",
        ),
    ]
    return FrameSuite(t, sql, tuple(checks), ("person_id",), row_count_of=t)


def _document_persons(config: GateConfig, previous: dict[str, int]) -> FrameSuite:
    t = "document_persons"
    sql = f"""
SELECT dp.doc_id, dp.person_id, dp.source, dp.position, {_tlen("dp.mentioned_as")} AS mentioned_as_length,
       CASE WHEN dp.doc_id IS NOT NULL AND d.doc_id IS NULL THEN dp.doc_id END AS orphan_doc_id,
       CASE WHEN dp.person_id IS NOT NULL AND pe.person_id IS NULL THEN dp.person_id END AS unknown_person_id
FROM document_persons dp
LEFT JOIN {_DOCS} d ON d.doc_id = dp.doc_id
LEFT JOIN {_PERSONS} pe ON pe.person_id = dp.person_id
"""
    checks = [
        _c(
            "document_persons.doc_id.not_null",
            t,
            "doc_id",
            "critical",
            "ExpectColumnValuesToNotBeNull",
            "doc_id is never NULL.",
            column="doc_id",
        ),
        _orphan_check(t, "doc_id", "documents"),
        _orphan_check(t, "person_id", "persons"),
        *_row_count_checks(t, previous, config),
        _c(
            "document_persons.source.enum",
            t,
            "source",
            "critical",
            "ExpectColumnValuesToBeInSet",
            "source is 'tag' or 'speaker'.",
            column="source",
            value_set=enum_values(TABLES["document_persons"], "source"),
        ),
        _nonneg(t, "position"),
        _c(
            "document_persons.key.unique",
            t,
            "doc_id, source, position",
            "warning",
            "ExpectCompoundColumnsToBeUnique",
            "One mention per (doc_id, source, position).",
            column_list=["doc_id", "source", "position"],
        ),
        _c(
            "document_persons.mentioned_as.not_empty",
            t,
            "mentioned_as",
            "warning",
            "ExpectColumnValuesToBeBetween",
            "mentioned_as is not empty after trimming.",
            column="mentioned_as_length",
            min_value=1,
        ),
    ]
    return FrameSuite(t, sql, tuple(checks), ("doc_id", "source", "position"), row_count_of=t)


def _source_files(config: GateConfig, previous: dict[str, int]) -> FrameSuite:
    t = "source_files"
    sql = f"""
SELECT s.source_file, s.sha256, s.size_bytes, s.status, s.doc_id, s.reject_reason, s.duplicate_of,
       CASE WHEN s.status IN ('published', 'duplicate') AND s.doc_id IS NOT NULL AND d.doc_id IS NULL
            THEN s.doc_id END AS orphan_doc_id
FROM source_files s
LEFT JOIN {_DOCS} d ON d.doc_id = s.doc_id
"""
    gives_doc = ("status", "in", ["published", "duplicate"])
    checks = [
        *_key_checks(t, ["source_file"]),
        *_row_count_checks(t, previous, config),
        _c(
            "source_files.sha256.pattern",
            t,
            "sha256",
            "critical",
            "ExpectColumnValuesToMatchRegex",
            "sha256 is 64 lowercase hex digits.",
            column="sha256",
            regex=SHA256_REGEX,
        ),
        _c(
            "source_files.status.enum",
            t,
            "status",
            "critical",
            "ExpectColumnValuesToBeInSet",
            "status is published, duplicate or rejected.",
            column="status",
            value_set=enum_values(SourceFileRow, "status"),
        ),
        _c(
            "source_files.reject_reason.enum",
            t,
            "reject_reason",
            "critical",
            "ExpectColumnValuesToBeInSet",
            "reject_reason, when present, is a RejectReason value.",
            column="reject_reason",
            value_set=enum_values(SourceFileRow, "reject_reason"),
        ),
        _c(
            "source_files.reject_reason.present_when_rejected",
            t,
            "reject_reason",
            "critical",
            "ExpectColumnValuesToNotBeNull",
            "Rejected files have a reject_reason.",
            ("status", "==", "rejected"),
            column="reject_reason",
        ),
        _c(
            "source_files.doc_id.present_when_published",
            t,
            "doc_id",
            "critical",
            "ExpectColumnValuesToNotBeNull",
            "Published and duplicate files name their doc_id.",
            gives_doc,
            column="doc_id",
        ),
        _orphan_check(t, "doc_id", "documents"),
        _nonneg(t, "size_bytes"),
        _c(
            "source_files.doc_id.null_when_rejected",
            t,
            "doc_id",
            "warning",
            "ExpectColumnValuesToBeNull",
            "Rejected files give no document.",
            ("status", "==", "rejected"),
            column="doc_id",
        ),
        _c(
            "source_files.duplicate_of.present_when_duplicate",
            t,
            "duplicate_of",
            "warning",
            "ExpectColumnValuesToNotBeNull",
            "Duplicate files name the published copy.",
            ("status", "==", "duplicate"),
            column="duplicate_of",
        ),
    ]
    return FrameSuite(t, sql, tuple(checks), ("source_file",), row_count_of=t)


def _schema() -> FrameSuite:
    rows = [
        f"('{table}', '{c.name}', typeof(CAST(NULL AS {c.sql_type})))"
        for table, model in TABLES.items()
        for c in columns(model)
    ]
    sql = f"""
WITH expected(table_name, column_name, expected_type) AS (VALUES {", ".join(rows)}),
actual AS (SELECT table_name, column_name, data_type AS actual_type FROM information_schema.columns
           WHERE table_schema = current_schema() AND table_name IN ({_sql_list(list(TABLES))}))
SELECT coalesce(e.table_name, a.table_name) AS table_name, coalesce(e.column_name, a.column_name) AS column_name,
       e.expected_type, a.actual_type
FROM expected e FULL OUTER JOIN actual a ON a.table_name = e.table_name AND a.column_name = e.column_name
ORDER BY 1, 2
"""
    checks = [
        _c(
            f"{table}.schema.matches_contract",
            table,
            None,
            "critical",
            "ExpectColumnPairValuesToBeEqual",
            "Every contract column exists with its contract type, and no other column exists.",
            ("table_name", "==", table),
            column_A="expected_type",
            column_B="actual_type",
            ignore_row_if="both_values_are_missing",
        )
        for table in TABLES
    ]
    return FrameSuite("schema", sql, tuple(checks), ("table_name", "column_name"))


def build_suites(
    config: GateConfig | None = None,
    *,
    today: dt.date | None = None,
    previous_row_counts: dict[str, int] | None = None,
) -> list[FrameSuite]:
    """Every suite of the gate, in run order (schema first)."""
    config = config or GateConfig()
    today = today or dt.date.today()
    previous = dict(previous_row_counts or {})
    return [
        _schema(),
        _documents(config, today, previous),
        _paragraphs(config, previous),
        _utterances(config, previous),
        _persons(config, previous),
        _document_persons(config, previous),
        _source_files(config, previous),
    ]


def to_gx_expectation(check: Check):
    """The GX expectation object for a check (imports great_expectations)."""
    import great_expectations.expectations as gxe
    from great_expectations.expectations.row_conditions import Column

    kwargs = dict(check.kwargs)
    if check.condition is not None:
        col, op, value = check.condition
        kwargs["row_condition"] = Column(col) == value if op == "==" else Column(col).is_in(list(value))
    cls = getattr(gxe, check.expectation)
    return cls(
        **kwargs,
        severity=check.severity,
        description=check.description,
        meta={"check": check.name, "table": check.table, "column": check.column},
    )


def to_gx_suite(suite: FrameSuite, checks: list[Check] | None = None):
    """A GX ExpectationSuite with the suite's checks (or the given subset)."""
    import great_expectations as gx

    gx_suite = gx.ExpectationSuite(name=suite.name)
    for check in suite.checks if checks is None else checks:
        gx_suite.add_expectation(to_gx_expectation(check))
    return gx_suite
