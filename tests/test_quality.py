"""Quality gate: a small valid database passes; each corruption fails the check named for it."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from kremlin.build import STAGED
from kremlin.contract import ddl
from kremlin.quality import GateConfig, GateResult, check_staged, dataset_checks, run_quality_gate
from kremlin.quality.suites import schema_checks
from schemas.tables import TABLES

TODAY = dt.date(2025, 6, 1)
MSK = dt.timezone(dt.timedelta(hours=3))  # Moscow has been UTC+3 all year since 2014

DOC_A = "k0123456789abcdef"
DOC_B = "k1111111111111111"
DOC_C = "kabcdefabcdef0123"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _document(doc_id, kremlin_id, title, day, time, *, end=None, announcement=False, n_par, n_turns, file):
    start = dt.datetime.combine(day, time, MSK) if time else None
    return {
        "doc_id": doc_id,
        "kremlin_id": kremlin_id,
        "source_url": f"http://en.kremlin.ru/events/president/news/{kremlin_id}" if kremlin_id else None,
        "category": "Events",
        "title": title,
        "summary": None,
        "is_announcement": announcement,
        "date_text": day.strftime("%B %d, %Y"),
        "event_date": day,
        "event_end_date": end,
        "event_time": time,
        "event_start": start,
        "place": "The Kremlin, Moscow",
        "place_venue": "The Kremlin",
        "place_locality": "Moscow",
        "place_region": None,
        "place_country": "Russia",
        "published_at": dt.datetime.combine(day, dt.time(18, 30), MSK),
        "sections": ["News"],
        "geography": [],
        "topics": ["Foreign policy"],
        "person_tags": [],
        "hidden_tags": 0,
        "n_paragraphs": n_par,
        "n_turns": n_turns,
        "has_elision": False,
        "photo_count": 3,
        "has_see_also": False,
        "text_style": "page",
        "source_file": file,
        "content_sha256": _sha(doc_id),
        "year": day.year,
    }


def _rows() -> dict[str, list[dict]]:
    d20, d21, d22 = dt.date(2020, 6, 18), dt.date(2021, 6, 13), dt.date(2022, 2, 1)
    docs = [
        _document(
            DOC_A,
            63548,
            "Meeting with Government members",
            d20,
            dt.time(12, 0),
            n_par=4,
            n_turns=2,
            file="a.txt",
        ),
        _document(
            DOC_B,
            None,
            "Visit to the St Petersburg Forum",
            d21,
            None,
            end=dt.date(2021, 6, 14),
            announcement=True,
            n_par=1,
            n_turns=0,
            file="b.txt",
        ),
        _document(
            DOC_C, 67690, "Telephone conversation", d22, dt.time(23, 30), n_par=2, n_turns=1, file="c.txt"
        ),
    ]

    def par(doc, i, turn, text, year, kind="text"):
        return {
            "doc_id": doc,
            "paragraph_index": i,
            "turn_index": turn,
            "kind": kind,
            "text": text,
            "year": year,
        }

    paragraphs = [
        par(DOC_A, 0, None, "The President met with Government members.", 2020),
        par(DOC_A, 1, 0, "Vladimir Putin: Good afternoon, colleagues.", 2020),
        par(DOC_A, 2, None, "* * *", 2020, "separator"),
        par(DOC_A, 3, 1, "Question: What about the budget?", 2020),
        par(DOC_B, 0, None, "The President will visit the forum.", 2021),
        par(DOC_C, 0, None, "Dmitry Peskov commented.", 2022),
        par(DOC_C, 1, 0, "Dmitry Peskov: No comment.", 2022),
    ]

    def utt(doc, i, label, kind, name, pid, text, year):
        return {
            "doc_id": doc,
            "turn_index": i,
            "speaker_label": label,
            "speaker_kind": kind,
            "speaker_name": name,
            "speaker_role": None,
            "person_id": pid,
            "text": text,
            "n_paragraphs": 1,
            "year": year,
        }

    utterances = [
        utt(
            DOC_A, 0, "Vladimir Putin", "person", "Vladimir Putin", "vladimir-putin", "Good afternoon.", 2020
        ),
        utt(DOC_A, 1, "Question", "anonymous", None, None, "What about the budget?", 2020),
        utt(DOC_C, 0, "Dmitry Peskov", "person", "Dmitry Peskov", "dmitry-peskov", "No comment.", 2022),
    ]
    persons = [
        {
            "person_id": "vladimir-putin",
            "name": "Vladimir Putin",
            "sort_name": "Putin Vladimir",
            "aliases": ["Putin Vladimir", "Vladimir Putin"],
            "n_documents": 1,
        },
        {
            "person_id": "dmitry-peskov",
            "name": "Dmitry Peskov",
            "sort_name": "Peskov Dmitry",
            "aliases": ["Dmitry Peskov"],
            "n_documents": 1,
        },
    ]

    def mention(doc, pid, as_, source, pos):
        return {"doc_id": doc, "person_id": pid, "mentioned_as": as_, "source": source, "position": pos}

    document_persons = [
        mention(DOC_A, "vladimir-putin", "Putin Vladimir", "tag", 0),
        mention(DOC_A, "vladimir-putin", "Vladimir Putin", "speaker", 0),
        mention(DOC_C, "dmitry-peskov", "Dmitry Peskov", "speaker", 0),
        mention(DOC_C, None, "Somebody Unresolved", "tag", 0),
    ]

    def src(file, status, doc=None, reason=None, dup=None):
        return {
            "source_file": file,
            "name_hex": None,
            "sha256": _sha(file),
            "size_bytes": 1234,
            "status": status,
            "doc_id": doc,
            "reject_reason": reason,
            "reject_stage": "parse" if reason else None,
            "reject_message": "no title line" if reason else None,
            "duplicate_of": dup,
        }

    source_files = [
        src("a.txt", "published", DOC_A),
        src("b.txt", "published", DOC_B),
        src("c.txt", "published", DOC_C),
        src("a_screen.txt", "duplicate", DOC_A, dup="a.txt"),
        src("broken.txt", "rejected", reason="no_title"),
    ]
    return {
        "documents": docs,
        "paragraphs": paragraphs,
        "utterances": utterances,
        "persons": persons,
        "document_persons": document_persons,
        "source_files": source_files,
    }


def build_db(path: Path) -> Path:
    con = duckdb.connect(str(path))
    try:
        for table, rows in _rows().items():
            con.execute(ddl(table))
            cols = list(TABLES[table].model_fields)
            # Validate against the contract models before inserting: the fixture itself must be valid.
            rows = [TABLES[table].model_validate(r).model_dump() for r in rows]
            con.executemany(
                f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                [[r[c] for c in cols] for r in rows],
            )
    finally:
        con.close()
    return path


@pytest.fixture(scope="module")
def valid_db(tmp_path_factory) -> Path:
    return build_db(tmp_path_factory.mktemp("valid") / "curated.duckdb")


@pytest.fixture(scope="module")
def valid_run(valid_db, tmp_path_factory) -> tuple[GateResult, Path]:
    out = tmp_path_factory.mktemp("valid_out")
    return run_quality_gate(valid_db, out_dir=out, today=TODAY), out


def _corrupt(valid_db: Path, tmp_path: Path, sql: list[str]) -> Path:
    db = tmp_path / "corrupt.duckdb"
    shutil.copy(valid_db, db)
    con = duckdb.connect(str(db))
    try:
        for statement in sql:
            con.execute(statement)
    finally:
        con.close()
    return db


def test_valid_database_passes(valid_run):
    result, _ = valid_run
    assert result.passed, result.summary_text()
    assert not result.critical_failures
    assert not result.warnings, result.summary_text()
    assert len(result.checks) == len(schema_checks().checks) + len(dataset_checks().checks)
    assert result.row_counts == {
        "documents": 3,
        "paragraphs": 7,
        "utterances": 3,
        "persons": 2,
        "document_persons": 4,
        "source_files": 5,
    }
    assert "PASSED" in result.summary_text()


def test_outputs_written_and_self_contained(valid_run):
    result, out = valid_run
    html = (out / "report.html").read_text(encoding="utf-8")
    for check in result.checks:
        assert check.expectation in html
        assert check.name in html
    assert "<link" not in html.lower()
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.I)
    assert "PASSED" in html

    data = json.loads((out / "validation.json").read_text())
    assert data["passed"] is True
    assert len(data["checks"]) == len(result.checks)
    assert set(data["gx_results"]) == {"schema", "dataset"}
    assert all("results" in r for r in data["gx_results"].values())
    json.dumps(result.to_dict())  # JSON-serialisable as returned


FUTURE = (TODAY + dt.timedelta(days=730)).isoformat()

# Dataset-level rules: a failure blocks the release.
CORRUPTIONS = {
    "duplicate doc_id": (
        [f"INSERT INTO documents SELECT * FROM documents WHERE doc_id = '{DOC_A}'"],
        None,
        "documents.doc_id.unique",
    ),
    "orphan utterance": (
        [
            "INSERT INTO utterances SELECT * REPLACE ('kfffffffffffffff' AS doc_id) FROM utterances "
            f"WHERE doc_id = '{DOC_C}'"
        ],
        None,
        "utterances.doc_id.in_documents",
    ),
    "bad status enum": (
        ["UPDATE source_files SET status = 'publishd' WHERE source_file = 'broken.txt'"],
        None,
        "source_files.status.enum",
    ),
    "unknown reject reason": (
        ["UPDATE source_files SET reject_reason = 'quality:no.such.check' WHERE source_file = 'broken.txt'"],
        None,
        "source_files.reject_reason.enum",
    ),
    "person_id not in persons": (
        ["UPDATE utterances SET person_id = 'nobody-known' WHERE person_id = 'dmitry-peskov'"],
        None,
        "utterances.person_id.in_persons",
    ),
    "row count drop": ([], {"paragraphs": 100, "documents": 3}, "paragraphs.row_count.no_drop"),
    "rejected without reason": (
        ["UPDATE source_files SET reject_reason = NULL WHERE status = 'rejected'"],
        None,
        "source_files.reject_reason.present_when_rejected",
    ),
    "no documents": (["DELETE FROM documents"], None, "documents.row_count.not_empty"),
    "column missing": (["ALTER TABLE persons DROP COLUMN aliases"], None, "persons.schema.matches_contract"),
}

# Row-level rules, on the documents a build staged: a failure quarantines that document.
ROW_CORRUPTIONS = {
    "future date": (
        f"UPDATE {STAGED['documents']} SET event_date = DATE '{FUTURE}', year = year(DATE '{FUTURE}'), "
        f"event_end_date = NULL WHERE doc_id = '{DOC_B}'; "
        f"UPDATE {STAGED['paragraphs']} SET year = year(DATE '{FUTURE}') WHERE doc_id = '{DOC_B}'; "
        f"UPDATE {STAGED['utterances']} SET year = year(DATE '{FUTURE}') WHERE doc_id = '{DOC_B}'",
        DOC_B,
        "documents.event_date.range",
    ),
    "n_paragraphs mismatch": (
        f"UPDATE {STAGED['documents']} SET n_paragraphs = n_paragraphs + 1 WHERE doc_id = '{DOC_A}'",
        DOC_A,
        "documents.n_paragraphs.matches_rows",
    ),
    "event_start on another Moscow day": (
        f"UPDATE {STAGED['documents']} SET event_start = event_start + INTERVAL 1 HOUR WHERE doc_id = '{DOC_C}'",
        DOC_C,
        "documents.event_start.local_date",
    ),
    "empty paragraph": (
        f"UPDATE {STAGED['paragraphs']} SET text = '  ' WHERE doc_id = '{DOC_A}' AND paragraph_index = 0",
        DOC_A,
        "paragraphs.text.not_empty",
    ),
    "paragraph of another year": (
        f"UPDATE {STAGED['paragraphs']} SET year = year + 1 WHERE doc_id = '{DOC_C}'",
        DOC_C,
        "paragraphs.year.matches_document",
    ),
}


@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_corruption_fails_named_check(case, valid_db, tmp_path):
    sql, previous, expected = CORRUPTIONS[case]
    db = _corrupt(valid_db, tmp_path, sql)
    result = run_quality_gate(db, out_dir=tmp_path / "out", previous_row_counts=previous, today=TODAY)
    assert not result.passed
    failed = {c.name: c for c in result.critical_failures}
    assert expected in failed, result.summary_text()
    assert expected in result.summary_text()
    assert expected in result.summary_markdown()
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "FAILED" in html and 'class="fail-critical"' in html
    assert json.loads((tmp_path / "out" / "validation.json").read_text())["passed"] is False


def _staged(valid_db: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(valid_db), read_only=True)
    for table, staged in STAGED.items():
        con.execute(f"CREATE TEMP TABLE {staged} AS SELECT * FROM {table}")
    return con


def test_valid_documents_pass_the_row_checks(valid_db):
    con = _staged(valid_db)
    try:
        outcome = check_staged(con, today=TODAY)
    finally:
        con.close()
    assert outcome.documents == 3
    assert not outcome.quarantine, outcome.quarantine
    assert all(c.success for c in outcome.checks), [c for c in outcome.checks if not c.success]


@pytest.mark.parametrize("case", list(ROW_CORRUPTIONS))
def test_row_corruption_quarantines_that_document_only(case, valid_db):
    sql, doc, expected = ROW_CORRUPTIONS[case]
    con = _staged(valid_db)
    try:
        con.execute(sql)
        outcome = check_staged(con, today=TODAY)
    finally:
        con.close()
    assert {(q.doc_id, q.check) for q in outcome.quarantine} == {(doc, expected)}
    q = outcome.quarantine[0]
    assert q.message.startswith(expected + ": ") and "=" in q.message, "the message shows the observed value"
    failed = [c for c in outcome.checks if not c.success and c.severity == "critical"]
    assert [c.name for c in failed] == [expected] and failed[0].scope == "row"


def test_failure_names_offending_rows(valid_db, tmp_path):
    db = _corrupt(valid_db, tmp_path, CORRUPTIONS["duplicate doc_id"][0])
    result = run_quality_gate(db, out_dir=tmp_path / "out", today=TODAY)
    check = next(c for c in result.checks if c.name == "documents.doc_id.unique")
    assert check.table == "documents" and check.column == "doc_id" and check.severity == "critical"
    assert check.observed.startswith("1 (expected ≤ 0)") and DOC_A in check.observed


def test_low_person_id_share_is_a_warning(valid_db, tmp_path):
    db = _corrupt(
        valid_db, tmp_path, ["UPDATE utterances SET person_id = NULL WHERE person_id = 'dmitry-peskov'"]
    )
    result = run_quality_gate(
        db, out_dir=tmp_path / "out", today=TODAY, config=GateConfig(min_person_id_share=0.9)
    )
    assert result.passed, result.summary_text()
    assert [c.name for c in result.warnings] == ["utterances.person_id.resolved_share"]
    assert result.warnings[0].observed.startswith("0.5 (expected ≥ 0.9)")
    assert "PASSED WITH WARNINGS" in result.summary_text()
    assert 'class="fail-warning"' in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")


def test_great_expectations_is_imported_lazily():
    code = "import sys, kremlin.quality; assert 'great_expectations' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])


@pytest.mark.parametrize(
    "value", ["", " ", "\t\n\r", "\xa0", " \xa0 ", None, "x", " \xa0a ", "\u2003", "é", "a\n"]
)
def test_blank_is_empty_after_trimming(value) -> None:
    """The regex form of the blank-text rules selects the same values as trimming does."""
    from kremlin.quality.suites import _blank, _tlen

    con = duckdb.connect()
    try:
        fast = con.execute(f"SELECT {_blank('$1::VARCHAR')}", [value]).fetchone()[0]
        trimmed = con.execute(f"SELECT coalesce({_tlen('$1::VARCHAR')}, 0) = 0", [value]).fetchone()[0]
    finally:
        con.close()
    assert fast == trimmed
