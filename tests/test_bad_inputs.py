"""Whatever lands in RAW_DIR ends published, duplicate or rejected with the right reason,
and never costs a good file of the same run."""

from __future__ import annotations

import shutil
import struct
import zlib

import duckdb
import pytest
from pydantic import ValidationError

from kremlin import decode, shards
from kremlin.parser.page import parse_page
from kremlin.records import page_rows
from schemas.page import ParsedPage
from schemas.tables import DocumentRow, ParagraphRow, UtteranceRow
from tests.conftest import SAMPLE_RAW
from tests.pagekit import PHONE_CALL_PAGE, dialogue_page, make_page
from tests.runkit import parse_and_build

GOOD_A = dialogue_page("Meeting with Governor Ivan Petrov", "March 3, 2015", "15:40", "March 3, 2015, 15:40")
GOOD_B = PHONE_CALL_PAGE


def _png() -> bytes:
    raw = b"\x00\xff\x00\x00"
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", 13)
        + b"IHDR"
        + struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
        + b"\0\0\0\0"
        + struct.pack(">I", len(zlib.compress(raw)))
        + b"IDAT"
        + zlib.compress(raw)
    )


def _page(title: str, extra_body: str = "") -> str:
    return make_page(
        title=title,
        date="June 1, 2017",
        time="10:00",
        publication="June 1, 2017, 10:05",
        body=[f"The meeting on {title.lower()} took place in the Kremlin.{extra_body}"],
    )


# name -> (bytes, expected status, expected reason or None)
CASES: dict[str, tuple[bytes, str, str | None]] = {
    "empty.txt": (b"", "rejected", "empty"),
    "blank.txt": (b"  \n\t\n   \r\n", "rejected", "empty"),
    "photo.png": (_png(), "rejected", "not_text"),
    "nul_inside.txt": (
        GOOD_B.encode()[:200] + b"\x00\x00\x00" + GOOD_B.encode()[200:],
        "rejected",
        "not_text",
    ),
    "utf16.txt": (_page("Utf sixteen export").encode("utf-16"), "published", None),
    "cp1251.txt": (
        _page("Legacy code page", " Russia’s “position” – firm.").encode("cp1251"),
        "published",
        None,
    ),
    "latin1.txt": (_page("Latin one export", " Café société.").encode("latin-1"), "published", None),
    "saved.html": (
        b"<!DOCTYPE html><html><head><title>Kremlin</title></head><body><p>Events</p></body></html>",
        "rejected",
        "not_a_page",
    ),
    "other_site.txt": (
        b"Breaking news\nThe weather today is sunny with light winds.\nSubscribe to our newsletter\n",
        "rejected",
        "not_a_page",
    ),
    "cut_off.txt": (GOOD_B.encode()[: GOOD_B.index("The two presidents") + 40], "rejected", "truncated"),
    "february30.txt": (
        make_page(date="February 30, 2001", publication="March 1, 2001, 10:00").encode(),
        "rejected",
        "invalid_date",
    ),
    "huge.txt": (b"Events\nA very long page\n" + b"x" * (20 * 1024 * 1024), "rejected", "too_large"),
    "a copy of A.txt": (GOOD_A.encode(), "duplicate", None),
    "crlf_bom_trailing.txt": (
        b"\xef\xbb\xbf" + "\r\n".join(ln + "  " for ln in GOOD_B.split("\n")).encode(),
        "duplicate",
        None,
    ),
    "Встреча с губернатором.txt": (_page("Non ascii file name").encode(), "published", None),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    raw = tmp_path_factory.mktemp("raw")
    shutil.copy(SAMPLE_RAW / "000_2db0a70f9af90d4e.txt", raw / "000_reference.txt")
    (raw / "A.txt").write_text(GOOD_A, encoding="utf-8")
    (raw / "B.txt").write_text(GOOD_B, encoding="utf-8")
    for name, (data, _, _) in CASES.items():
        (raw / name).write_bytes(data)
    out = parse_and_build(raw, tmp_path_factory.mktemp("work"))
    con = duckdb.connect(str(out.db), read_only=True)
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            "SELECT source_file, status, reject_reason, reject_stage, reject_message, duplicate_of, doc_id FROM source_files"
        ).fetchall()
    }
    docs = con.execute("SELECT count(*) FROM documents").fetchone()[0]
    texts = {
        r[0]: r[1]
        for r in con.execute(
            "SELECT d.title, p.text FROM documents d JOIN paragraphs p USING (doc_id)"
        ).fetchall()
    }
    con.close()
    return raw, rows, docs, texts


def test_one_source_files_row_per_input_file(built):
    raw, rows, *_ = built
    on_disk = sorted(p.name for p in raw.iterdir())
    assert sorted(rows) == on_disk


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_bad_input_ends_with_the_right_status_and_reason(built, name):
    _, rows, *_ = built
    status, reason, stage, message, _dup, _doc = rows[name]
    want_status, want_reason = CASES[name][1:]
    assert (status, reason) == (want_status, want_reason), message
    if status == "rejected":
        assert stage and message, "a reject names its stage and an error message"


def test_good_files_of_the_same_run_are_all_published(built):
    _, rows, docs, _ = built
    for name in ("000_reference.txt", "A.txt", "B.txt"):
        assert rows[name][0] == "published"
    published = sum(1 for r in rows.values() if r[0] == "published")
    assert docs == published == 7


def test_duplicates_name_the_published_copy(built):
    _, rows, *_ = built
    assert rows["a copy of A.txt"][4] == "A.txt"
    # CRLF, a BOM and trailing blanks do not change the page's identity.
    assert rows["crlf_bom_trailing.txt"][4] == "B.txt"
    assert rows["crlf_bom_trailing.txt"][5] == rows["B.txt"][5]


def test_legacy_encodings_are_decoded_to_the_right_characters(built):
    *_, texts = built
    assert texts["Legacy code page"].endswith("Russia’s “position” – firm.")
    assert texts["Latin one export"].endswith("Café société.")
    assert texts["Utf sixteen export"].startswith("The meeting on utf sixteen export")


# The row checks of kremlin.shards validate TypedDicts derived from the row models (no model
# instance per row): they must refuse every row the models refuse, with the same message.
def _good_rows() -> tuple[dict, list[dict], list[dict]]:
    page = parse_page(GOOD_A)
    assert isinstance(page, ParsedPage) and page.turns
    return page_rows(page)


_ROW_BREAKS = [
    ("doc", "title", None),
    ("doc", "kremlin_id", "123"),
    ("doc", "event_date", "2015-03-03"),
    ("doc", "published_at", 1),
    ("doc", "text_style", "pdf"),
    ("doc", "sections", "News"),
    ("doc", "n_turns", 1.0),
    ("doc", "zzz_extra", 1),
    ("para", "kind", "caption"),
    ("para", "text", None),
    ("para", "paragraph_index", True),
    ("para", "turn_index", "0"),
    ("utt", "speaker_label", 7),
    ("utt", "n_paragraphs", None),
    ("utt", "zzz_extra", ""),
]


@pytest.mark.parametrize(("table", "key", "value"), _ROW_BREAKS, ids=[f"{t}.{k}" for t, k, _ in _ROW_BREAKS])
def test_row_checks_refuse_what_the_row_models_refuse(table, key, value) -> None:
    document, paragraphs, utterances = _good_rows()
    shards.check_rows(document, paragraphs, utterances, "A.txt")  # the good rows pass
    document = {**document, "source_file": "A.txt"}
    utterances = [{**u, **shards._PEOPLE_PLACEHOLDER} for u in utterances]
    check, model, row = {
        "doc": (shards._DOC_CHECK, DocumentRow, document),
        "para": (shards._PARA_CHECK, ParagraphRow, paragraphs[0]),
        "utt": (shards._UTT_CHECK, UtteranceRow, utterances[0]),
    }[table]
    broken = {**row, key: value}
    with pytest.raises(ValidationError) as by_model:
        model.model_validate(broken)
    with pytest.raises(ValidationError) as by_check:
        check.validate_python(broken if table == "doc" else [broken])
    assert [e["msg"] for e in by_check.value.errors()] == [e["msg"] for e in by_model.value.errors()]
    assert by_check.value.title.removeprefix("list[").removesuffix("]") == model.__name__


# decode counts control characters on the bytes for the encodings where each one is a byte
# of the same value; the count must be the one of the decoded text.
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", *decode._CODE_PAGES, "utf-16"])
def test_control_characters_counted_on_bytes_match_the_text(encoding) -> None:
    text = "Events\x01 Встреча “quoted” café\x1f\x08\tTab\x0bVT\x0cFF\x0e\x7f end\x1b"
    # A character the code page lacks becomes "?": the controls are what is counted.
    data = text.encode(encoding, "replace")
    decoded = data.decode(encoding)
    # \x01 \x1f \x08 \x0e \x1b; not \t \v \f (white space) nor DEL.
    assert decode._control_count(decoded, encoding, data) == len(decode._CONTROL.findall(decoded)) == 5
