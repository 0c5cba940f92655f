"""Expectation suites for the curated tables, as code: row-level and dataset-level.

Two kinds of rules, both validated by Great Expectations over pandas frames computed in
DuckDB (GX cannot run on DuckDB through SQLAlchemy):

* **Row-level** rules concern one document alone: value ranges, patterns, not-null, and
  consistency inside the document (its paragraphs and turns). They run on the documents
  that are new in a build, *before* the release is assembled, over one frame with a row
  per document (child-table rules are counted per document in SQL). A document failing a
  critical one is quarantined: left out of the release, its files rejected with reason
  ``quality:<check name>``. Warnings are recorded.
* **Dataset-level** rules concern the release as a whole: schema, uniqueness across
  documents, referential integrity, row counts against the parent version, shares. They
  are SQL aggregates (one frame of one row, a column per measure), so their cost does not
  grow with what changed; a critical failure blocks publication.

This module is plain data and imports nothing heavy: ``to_gx_suite`` imports
``great_expectations`` lazily when the gate actually runs.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from kremlin.build import STAGED
from kremlin.contract import columns, enum_values
from kremlin.duck import sql_str
from kremlin.ids import SOURCE_URL_PREFIX
from schemas.tables import (
    QUALITY_REASON_PREFIX,
    TABLES,
    DocumentRow,
    ParagraphRow,
    RejectReason,
    SourceFileRow,
    UtteranceRow,
)

Severity = Literal["critical", "warning"]
Scope = Literal["row", "dataset"]

DOC_ID_REGEX = r"^k[0-9a-f]{16}$"
SOURCE_URL_REGEX = "^" + re.escape(SOURCE_URL_PREFIX) + "[0-9]+$"
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
    """Stable, unique check id ('documents.doc_id.unique'), used in tests, reports and reject reasons."""
    table: str
    column: str | None
    severity: Severity
    expectation: str
    """GX expectation class name in ``great_expectations.expectations``."""
    kwargs: dict[str, Any]
    description: str
    condition: tuple[str, Literal["==", "in"], Any] | None = None
    """Row filter (column, operator, value): the expectation only sees matching rows."""
    scope: Scope = "dataset"
    measure: bool = False
    """A dataset-level measure: the frame has one row, the check's column is the measure."""
    example: str | None = None
    """For a measure: the frame column that holds an offending value to show next to it."""

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
    meta: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- SQL helpers

_WS = "' ' || chr(9) || chr(10) || chr(13) || chr(160)"


_NOT_WS = r"[^ \t\n\r\x{00A0}]"
"""RE2 class of a character that trimming with ``_WS`` keeps."""


def _blank(expr: str) -> str:
    """NULL, or empty after trimming: the same rows as ``coalesce(_tlen(expr), 0) = 0``, but
    a regex stops at the first printed character where trim() with a computed character set
    copies every string (2.4 s against 0.05 s over the utterances of a 3x corpus)."""
    return f"({expr} IS NULL OR NOT regexp_matches({expr}, '{_NOT_WS}'))"


def _tlen(expr: str) -> str:
    """Length of a string after trimming white space (NULL stays NULL)."""
    return f"length(trim({expr}, {_WS}))"


def _ymd(expr: str) -> str:
    """A DATE as an integer yyyymmdd: readable in reports and compared vectorised by GX."""
    return f"(year({expr}) * 10000 + month({expr}) * 100 + day({expr}))"


def ymd(day: dt.date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def _sql_list(values: list[str]) -> str:
    return ", ".join(map(sql_str, values))


def future_horizon(today: dt.date, years: int) -> dt.date:
    try:
        return today.replace(year=today.year + years)
    except ValueError:  # 29 February
        return today.replace(year=today.year + years, day=28)


def _c(name, table, target, severity, expectation, description, condition=None, /, **kwargs) -> Check:
    """A row-level check; ``kwargs`` are the GX expectation's arguments."""
    return Check(name, table, target, severity, expectation, kwargs, description, condition, scope="row")


def _zero(
    name: str, table: str, target: str | None, column: str, description: str, severity: Severity = "critical"
):
    """A row-level rule counted per document in SQL: the count must be 0."""
    return _c(
        name,
        table,
        target,
        severity,
        "ExpectColumnValuesToBeBetween",
        description,
        column=column,
        max_value=0,
    )


# --------------------------------------------------------------------------- row level


def row_checks(config: GateConfig | None = None, today: dt.date | None = None) -> FrameSuite:
    """The row-level suite over the documents staged by a build (one frame row per document)."""
    config = config or GateConfig()
    today = today or dt.date.today()
    lo, hi = ymd(config.earliest_date), ymd(future_horizon(today, config.future_horizon_years))
    span = f"[{config.earliest_date.isoformat()}, today + {config.future_horizon_years} year(s)]"
    docs, paras, utts = STAGED["documents"], STAGED["paragraphs"], STAGED["utterances"]
    kinds = _sql_list(enum_values(ParagraphRow, "kind") or [])
    sql = f"""
WITH p AS (
    SELECT p.doc_id, count(*) AS n,
           count(*) - count(DISTINCT p.paragraph_index) AS duplicate_keys,
           count(*) FILTER (WHERE p.kind IS NULL OR p.kind NOT IN ({kinds})) AS bad_kind,
           count(*) FILTER (WHERE {_blank("p.text")}) AS empty_text,
           count(*) FILTER (WHERE p.paragraph_index < 0) AS negative_index,
           count(*) FILTER (WHERE p.year IS DISTINCT FROM d.year) AS year_mismatch,
           count(*) FILTER (WHERE p.turn_index IS NOT NULL AND u.turn_index IS NULL) AS orphan_turns
    FROM {paras} p
    JOIN {docs} d ON d.doc_id = p.doc_id
    LEFT JOIN (SELECT DISTINCT doc_id, turn_index FROM {utts}) u
           ON u.doc_id = p.doc_id AND u.turn_index = p.turn_index
    GROUP BY p.doc_id),
pt AS (SELECT doc_id, turn_index, count(*) AS n FROM {paras} WHERE turn_index IS NOT NULL GROUP BY ALL),
u AS (
    SELECT u.doc_id, count(*) AS n,
           count(*) - count(DISTINCT u.turn_index) AS duplicate_keys,
           count(*) FILTER (WHERE u.turn_index < 0 OR u.n_paragraphs < 0) AS negative,
           count(*) FILTER (WHERE u.year IS DISTINCT FROM d.year) AS year_mismatch,
           count(*) FILTER (WHERE {_blank("u.speaker_label")}) AS empty_label,
           count(*) FILTER (WHERE u.n_paragraphs IS DISTINCT FROM coalesce(pt.n, 0)) AS count_mismatch
    FROM {utts} u
    JOIN {docs} d ON d.doc_id = u.doc_id
    LEFT JOIN pt ON pt.doc_id = u.doc_id AND pt.turn_index = u.turn_index
    GROUP BY u.doc_id)
SELECT d.doc_id, d.kremlin_id, d.source_url,
       CASE WHEN d.kremlin_id IS NOT NULL THEN '{SOURCE_URL_PREFIX}' || d.kremlin_id END AS expected_source_url,
       d.category, d.text_style, d.content_sha256,
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
       d.hidden_tags, d.photo_count,
       coalesce(p.duplicate_keys, 0) AS paragraph_duplicate_keys, coalesce(p.bad_kind, 0) AS paragraph_bad_kind,
       coalesce(p.empty_text, 0) AS paragraph_empty_text, coalesce(p.negative_index, 0) AS paragraph_negative_index,
       coalesce(p.year_mismatch, 0) AS paragraph_year_mismatch, coalesce(p.orphan_turns, 0) AS paragraph_orphan_turns,
       coalesce(u.duplicate_keys, 0) AS utterance_duplicate_keys, coalesce(u.negative, 0) AS utterance_negative,
       coalesce(u.year_mismatch, 0) AS utterance_year_mismatch, coalesce(u.empty_label, 0) AS utterance_empty_label,
       coalesce(u.count_mismatch, 0) AS utterance_count_mismatch
FROM {docs} d
LEFT JOIN p ON p.doc_id = d.doc_id
LEFT JOIN u ON u.doc_id = d.doc_id
ORDER BY d.doc_id
"""
    t = "documents"
    checks = [
        _c("documents.doc_id.not_null", t, "doc_id", "critical", "ExpectColumnValuesToNotBeNull",
           "doc_id is never NULL.", column="doc_id"),
        _c("documents.doc_id.pattern", t, "doc_id", "critical", "ExpectColumnValuesToMatchRegex",
           "doc_id is 'k' + 16 lowercase hex digits.", column="doc_id", regex=DOC_ID_REGEX),
        _c("documents.source_url.pattern", t, "source_url", "critical", "ExpectColumnValuesToMatchRegex",
           "source_url, when present, is an en.kremlin.ru event URL.", column="source_url", regex=SOURCE_URL_REGEX),
        _c("documents.title.not_empty", t, "title", "critical", "ExpectColumnValuesToBeBetween",
           "title is not empty after trimming (title_length = trimmed length).", column="title_length", min_value=1),
        _c("documents.event_date.range", t, "event_date", "critical", "ExpectColumnValuesToBeBetween",
           f"event_date (as yyyymmdd) within {span}.", column="event_date", min_value=lo, max_value=hi),
        _c("documents.published_at.range", t, "published_at", "critical", "ExpectColumnValuesToBeBetween",
           f"published_at's Moscow date (as yyyymmdd) within {span}.", column="published_at_local_date",
           min_value=lo, max_value=hi),
        _c("documents.event_end_date.after_event_date", t, "event_end_date", "critical",
           "ExpectColumnPairValuesAToBeGreaterThanB", "event_end_date ≥ event_date when present.",
           column_A="event_end_date", column_B="event_date", or_equal=True, ignore_row_if="either_value_is_missing"),
        _c("documents.event_start.local_date", t, "event_start", "critical", "ExpectColumnPairValuesToBeEqual",
           f"event_start read in {MOSCOW} falls on event_date.", column_A="event_start_local_date",
           column_B="event_date", ignore_row_if="either_value_is_missing"),
        _c("documents.year.matches_event_date", t, "year", "critical", "ExpectColumnPairValuesToBeEqual",
           "year (Parquet partition key) = year(event_date).", column_A="year", column_B="event_year"),
        _c("documents.n_paragraphs.matches_rows", t, "n_paragraphs", "critical", "ExpectColumnPairValuesToBeEqual",
           "n_paragraphs = the document's rows in paragraphs.", column_A="n_paragraphs", column_B="paragraph_rows"),
        _c("documents.n_turns.matches_rows", t, "n_turns", "critical", "ExpectColumnPairValuesToBeEqual",
           "n_turns = the document's rows in utterances.", column_A="n_turns", column_B="utterance_rows"),
        *[
            _c(f"documents.{col}.non_negative", t, col, "critical", "ExpectColumnValuesToBeBetween", f"{col} ≥ 0.",
               column=col, min_value=0)
            for col in ("n_paragraphs", "n_turns", "hidden_tags", "photo_count")
        ],
        _c("documents.text_style.enum", t, "text_style", "critical", "ExpectColumnValuesToBeInSet",
           "text_style is a TextStyle value.", column="text_style", value_set=enum_values(DocumentRow, "text_style")),
        _c("documents.content_sha256.pattern", t, "content_sha256", "critical", "ExpectColumnValuesToMatchRegex",
           "content_sha256 is 64 lowercase hex digits.", column="content_sha256", regex=SHA256_REGEX),
        _zero("paragraphs.key.unique", "paragraphs", "doc_id, paragraph_index", "paragraph_duplicate_keys",
              "(doc_id, paragraph_index) is unique within the document."),
        _zero("paragraphs.kind.enum", "paragraphs", "kind", "paragraph_bad_kind", "kind is a ParagraphKind value."),
        _zero("paragraphs.text.not_empty", "paragraphs", "text", "paragraph_empty_text",
              "Paragraph text is not empty after trimming (a paragraph is printed text by definition)."),
        _zero("paragraphs.paragraph_index.non_negative", "paragraphs", "paragraph_index",
              "paragraph_negative_index", "paragraph_index ≥ 0."),
        _zero("paragraphs.year.matches_document", "paragraphs", "year", "paragraph_year_mismatch",
              "year = the document's year (same Parquet partition)."),
        _zero("paragraphs.turn_index.in_utterances", "paragraphs", "turn_index", "paragraph_orphan_turns",
              "A non-NULL turn_index is a turn of the same document."),
        _zero("utterances.key.unique", "utterances", "doc_id, turn_index", "utterance_duplicate_keys",
              "(doc_id, turn_index) is unique within the document."),
        _zero("utterances.turn_index.non_negative", "utterances", "turn_index", "utterance_negative",
              "turn_index ≥ 0 and n_paragraphs ≥ 0."),
        _zero("utterances.year.matches_document", "utterances", "year", "utterance_year_mismatch",
              "year = the document's year (same Parquet partition)."),
        # Warnings: recorded, the document is published.
        _c("documents.source_url.matches_kremlin_id", t, "source_url", "warning", "ExpectColumnPairValuesToBeEqual",
           "source_url is present exactly when kremlin_id is, and ends with it.", column_A="source_url",
           column_B="expected_source_url", ignore_row_if="both_values_are_missing"),
        _c("documents.title.length", t, "title", "warning", "ExpectColumnValuesToBeBetween",
           f"title is at most {config.max_title_length} characters.", column="title_length",
           max_value=config.max_title_length),
        _c("documents.event_start.matches_event_time", t, "event_start", "warning", "ExpectColumnPairValuesToBeEqual",
           f"event_start in {MOSCOW} equals event_date + event_time (both present or both NULL).",
           column_A="event_start_local", column_B="event_date_time", ignore_row_if="both_values_are_missing"),
        _c("documents.category.events", t, "category", "warning", "ExpectColumnValuesToBeInSet",
           "category is 'Events' (the only category of this site section).", column="category",
           value_set=["Events"]),
        _zero("utterances.speaker_label.not_empty", "utterances", "speaker_label", "utterance_empty_label",
              "speaker_label is not empty after trimming.", "warning"),
        _zero("utterances.n_paragraphs.matches_rows", "utterances", "n_paragraphs", "utterance_count_mismatch",
              "n_paragraphs = paragraphs rows with this turn_index.", "warning"),
    ]  # fmt: skip
    return FrameSuite("rows", sql, tuple(checks), ("doc_id",))


def quality_reasons() -> list[str]:
    """Every reject reason a file can get: scan/decode/parse reasons and the row checks'."""
    return [*RejectReason.__args__, *(QUALITY_REASON_PREFIX + c.name for c in row_checks().checks)]


# --------------------------------------------------------------------------- dataset level


@dataclass(frozen=True)
class Measure:
    """A dataset-level rule: a SQL aggregate that must lie within bounds."""

    name: str
    table: str
    column: str | None
    severity: Severity
    sql: str
    """Scalar SQL: the measure."""
    description: str
    min_value: float | None = None
    max_value: float | None = None
    example_sql: str | None = None
    """Scalar SQL: one offending value, shown next to the measure."""


def _count(table: str, where: str) -> str:
    return f"(SELECT count(*) FROM {table} WHERE {where})"


def _measures(config: GateConfig, previous: dict[str, int]) -> list[Measure]:
    dup = "(SELECT doc_id FROM documents GROUP BY doc_id HAVING count(*) > 1)"
    pub = "(SELECT doc_id, count(*) AS n, min(source_file) AS f FROM source_files WHERE status = 'published' GROUP BY doc_id)"
    reasons = _sql_list(quality_reasons())
    m = [
        Measure("documents.row_count.not_empty", "documents", None, "critical", "(SELECT count(*) FROM documents)",
                "There is at least one document.", min_value=1),
        Measure("documents.doc_id.unique", "documents", "doc_id", "critical", f"(SELECT count(*) FROM {dup})",
                "No two documents share a doc_id.", max_value=0, example_sql=f"(SELECT min(doc_id) FROM {dup})"),
        Measure("documents.kremlin_id.unique", "documents", "kremlin_id", "warning",
                "(SELECT count(kremlin_id) - count(DISTINCT kremlin_id) FROM documents)",
                "No two documents share a kremlin_id (a page published twice under different ids).", max_value=0),
        Measure("documents.source_files.one_published", "documents", "doc_id", "critical",
                f"(SELECT count(*) FROM documents d LEFT JOIN {pub} s USING (doc_id) WHERE coalesce(s.n, 0) <> 1)",
                "Every document has exactly one published source_files row.", max_value=0,
                example_sql=f"(SELECT min(d.doc_id) FROM documents d LEFT JOIN {pub} s USING (doc_id) WHERE coalesce(s.n, 0) <> 1)"),
        Measure("documents.source_file.is_published_file", "documents", "source_file", "critical",
                f"(SELECT count(*) FROM documents d JOIN {pub} s USING (doc_id) WHERE d.source_file <> s.f)",
                "source_file is the document's published source_files row.", max_value=0),
        *[
            Measure(f"{t}.doc_id.in_documents", t, "doc_id", "critical",
                    f"(SELECT count(*) FROM {t} x WHERE x.doc_id IS NULL OR x.doc_id NOT IN (SELECT doc_id FROM documents))",
                    f"Every {t} row belongs to a document.", max_value=0,
                    example_sql=f"(SELECT min(x.doc_id) FROM {t} x WHERE x.doc_id NOT IN (SELECT doc_id FROM documents))")
            for t in ("paragraphs", "utterances", "document_persons")
        ],
        *[
            Measure(f"{t}.person_id.in_persons", t, "person_id", "critical",
                    f"(SELECT count(*) FROM {t} x WHERE x.person_id IS NOT NULL AND x.person_id NOT IN (SELECT person_id FROM persons))",
                    f"Every non-NULL {t}.person_id exists in persons.", max_value=0,
                    example_sql=f"(SELECT min(x.person_id) FROM {t} x WHERE x.person_id NOT IN (SELECT person_id FROM persons))")
            for t in ("utterances", "document_persons")
        ],
        Measure("paragraphs.key.unique_in_dataset", "paragraphs", "doc_id, paragraph_index", "critical",
                "(SELECT count(*) - count(DISTINCT (doc_id, paragraph_index)) FROM paragraphs)",
                "(doc_id, paragraph_index) is unique.", max_value=0),
        Measure("utterances.key.unique_in_dataset", "utterances", "doc_id, turn_index", "critical",
                "(SELECT count(*) - count(DISTINCT (doc_id, turn_index)) FROM utterances)",
                "(doc_id, turn_index) is unique.", max_value=0),
        Measure("utterances.speaker_kind.enum", "utterances", "speaker_kind", "critical",
                _count("utterances", f"speaker_kind NOT IN ({_sql_list(enum_values(UtteranceRow, 'speaker_kind') or [])})"),
                "speaker_kind is a SpeakerKind value.", max_value=0),
        Measure("utterances.text.not_empty", "utterances", "text", "warning",
                _count("utterances", f"speaker_kind <> 'heading' AND {_blank('text')}"),
                "Speech turn text is not empty after trimming (schedule headings, which can stand alone, are not "
                "counted). Warning only: a speaker label can be followed directly by the next one.", max_value=0),
        Measure("utterances.person_id.resolved_share", "utterances", "person_id", "warning",
                "(SELECT coalesce(avg(CASE WHEN person_id IS NOT NULL THEN 1.0 ELSE 0.0 END), 1.0) FROM utterances "
                "WHERE speaker_kind = 'person')",
                f"At least {config.min_person_id_share:.0%} of turns with speaker_kind='person' have a person_id.",
                min_value=config.min_person_id_share),
        Measure("utterances.person_id.null_unless_person", "utterances", "person_id", "warning",
                _count("utterances", "speaker_kind <> 'person' AND person_id IS NOT NULL"),
                "Anonymous speakers and headings have no person_id.", max_value=0),
        Measure("persons.person_id.unique", "persons", "person_id", "critical",
                "(SELECT count(*) - count(DISTINCT person_id) FROM persons)", "person_id is unique.", max_value=0),
        Measure("persons.person_id.pattern", "persons", "person_id", "critical",
                _count("persons", f"person_id IS NULL OR NOT regexp_full_match(person_id, '{PERSON_ID_REGEX[1:-1]}')"),
                "person_id is a lowercase slug (a-z, 0-9, single hyphens).", max_value=0,
                example_sql=f"(SELECT min(person_id) FROM persons WHERE NOT regexp_full_match(person_id, '{PERSON_ID_REGEX[1:-1]}'))"),
        Measure("persons.name.not_empty", "persons", "name", "critical",
                _count("persons", f"{_blank('name')}"), "name is not empty after trimming.", max_value=0),
        Measure("persons.sort_name.not_empty", "persons", "sort_name", "warning",
                _count("persons", f"{_blank('sort_name')}"), "sort_name is not empty.", max_value=0),
        Measure("persons.aliases.not_empty", "persons", "aliases", "warning",
                _count("persons", "coalesce(len(aliases), 0) = 0"), "Every person has at least one alias.", max_value=0),
        Measure("persons.n_documents.matches_rows", "persons", "n_documents", "warning",
                "(SELECT count(*) FROM persons p LEFT JOIN (SELECT person_id, count(DISTINCT doc_id) AS n "
                "FROM document_persons GROUP BY person_id) dp USING (person_id) WHERE p.n_documents <> coalesce(dp.n, 0))",
                "n_documents = distinct documents mentioning the person in document_persons.", max_value=0),
        Measure("document_persons.source.enum", "document_persons", "source", "critical",
                _count("document_persons", "source NOT IN ('tag', 'speaker') OR position < 0"),
                "source is 'tag' or 'speaker' and position ≥ 0.", max_value=0),
        Measure("document_persons.key.unique", "document_persons", "doc_id, source, position", "warning",
                "(SELECT count(*) - count(DISTINCT (doc_id, source, position)) FROM document_persons)",
                "One mention per (doc_id, source, position).", max_value=0),
        Measure("document_persons.mentioned_as.not_empty", "document_persons", "mentioned_as", "warning",
                _count("document_persons", f"{_blank('mentioned_as')}"),
                "mentioned_as is not empty after trimming.", max_value=0),
        Measure("source_files.source_file.unique", "source_files", "source_file", "critical",
                "(SELECT count(*) - count(DISTINCT source_file) FROM source_files)",
                "One row per landing-folder entry.", max_value=0),
        Measure("source_files.sha256.pattern", "source_files", "sha256", "critical",
                _count("source_files", f"sha256 IS NOT NULL AND NOT regexp_full_match(sha256, '{SHA256_REGEX[1:-1]}')"),
                "sha256, when present, is 64 lowercase hex digits.", max_value=0),
        Measure("source_files.status.enum", "source_files", "status", "critical",
                _count("source_files", f"status NOT IN ({_sql_list(enum_values(SourceFileRow, 'status') or [])})"),
                "status is published, duplicate or rejected.", max_value=0),
        Measure("source_files.reject_reason.enum", "source_files", "reject_reason", "critical",
                _count("source_files", f"reject_reason IS NOT NULL AND reject_reason NOT IN ({reasons})"),
                "reject_reason, when present, is a known reason (scan, decode, parse or quality:<row check>).",
                max_value=0, example_sql=f"(SELECT min(reject_reason) FROM source_files WHERE reject_reason NOT IN ({reasons}))"),
        Measure("source_files.reject_reason.present_when_rejected", "source_files", "reject_reason", "critical",
                _count("source_files", "status = 'rejected' AND (reject_reason IS NULL OR reject_message IS NULL)"),
                "Rejected files have a reject_reason and a message.", max_value=0),
        Measure("source_files.doc_id.present_when_published", "source_files", "doc_id", "critical",
                _count("source_files", "status IN ('published', 'duplicate') AND "
                       "(doc_id IS NULL OR doc_id NOT IN (SELECT doc_id FROM documents))"),
                "Published and duplicate files name a document of the release.", max_value=0),
        Measure("source_files.doc_id.null_when_rejected", "source_files", "doc_id", "warning",
                _count("source_files", "status = 'rejected' AND doc_id IS NOT NULL"),
                "Rejected files give no document.", max_value=0),
        Measure("source_files.duplicate_of.present_when_duplicate", "source_files", "duplicate_of", "warning",
                _count("source_files", "status = 'duplicate' AND duplicate_of IS NULL"),
                "Duplicate files name the published copy.", max_value=0),
    ]  # fmt: skip
    for table in TABLES:
        prev = previous.get(table)
        if prev is None:
            continue
        minimum = max(0, math.ceil(prev * (1 - config.max_row_drop_share) - 1e-9))
        m.append(
            Measure(
                f"{table}.row_count.no_drop",
                table,
                None,
                "critical",
                f"(SELECT count(*) FROM {table})",
                f"Row count does not drop by more than {config.max_row_drop_share:.0%} "
                f"(the previous release had {prev} rows).",
                min_value=minimum,
            )
        )
    return m


def dataset_checks(
    config: GateConfig | None = None, previous_row_counts: dict[str, int] | None = None
) -> FrameSuite:
    """The dataset-level suite: one frame row, a column per measure (and its example)."""
    config = config or GateConfig()
    measures = _measures(config, dict(previous_row_counts or {}))
    cols = []
    checks = []
    for k, mea in enumerate(measures):
        col = f"m{k:02d}"
        cols.append(f"{mea.sql} AS {col}")
        example = None
        if mea.example_sql:
            example = f"{col}_example"
            cols.append(f"CAST({mea.example_sql} AS VARCHAR) AS {example}")
        bounds = {
            k2: v for k2, v in (("min_value", mea.min_value), ("max_value", mea.max_value)) if v is not None
        }
        checks.append(
            Check(
                mea.name,
                mea.table,
                mea.column,
                mea.severity,
                "ExpectColumnValuesToBeBetween",
                {"column": col, **bounds},
                mea.description,
                scope="dataset",
                measure=True,
                example=example,
            )
        )
    return FrameSuite("dataset", "SELECT " + ",\n       ".join(cols), tuple(checks))


def schema_checks() -> FrameSuite:
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
        Check(
            f"{table}.schema.matches_contract",
            table,
            None,
            "critical",
            "ExpectColumnPairValuesToBeEqual",
            {
                "column_A": "expected_type",
                "column_B": "actual_type",
                "ignore_row_if": "both_values_are_missing",
            },
            "Every contract column exists with its contract type, and no other column exists.",
            ("table_name", "==", table),
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
    """Every suite of the gate, in run order: row level (on a build's staged documents),
    then schema and dataset level (on the assembled release)."""
    return [row_checks(config, today), schema_checks(), dataset_checks(config, previous_row_counts)]


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
        meta={"check": check.name, "table": check.table, "column": check.column, "scope": check.scope},
    )


def to_gx_suite(suite: FrameSuite, checks: list[Check] | None = None):
    """A GX ExpectationSuite with the suite's checks (or the given subset)."""
    import great_expectations as gx

    gx_suite = gx.ExpectationSuite(name=suite.name)
    for check in suite.checks if checks is None else checks:
        gx_suite.add_expectation(to_gx_expectation(check))
    return gx_suite
