"""Whatever lands in RAW_DIR ends published, duplicate or rejected with the right reason,
and never costs a good file of the same run."""

from __future__ import annotations

import shutil
import struct
import zlib

import duckdb
import pytest

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
