"""Hostile characters inside a good page: what a fuzzer slips into the text of a real page never
reaches the published rows, and never costs the page.

Each case changes the reference page (raw/000_2db0a70f9af90d4e.txt) and states what the
pipeline's parse of the file (``kremlin.shards.parse_file``: read, decode, parse, rows) gives:
field values of the published rows, or the reject reason.
"""

from __future__ import annotations

import codecs
import hashlib
import unicodedata
from pathlib import Path

import pytest

from kremlin.decode import Decoded, decode_page
from kremlin.names import clean_label
from kremlin.shards import parse_file
from kremlin.textnorm import clean_lines
from schemas.page import Reject
from tests.conftest import SAMPLE_RAW

REF = (SAMPLE_RAW / "000_2db0a70f9af90d4e.txt").read_text(encoding="utf-8")
TITLE = "Meeting with President of Kyrgyzstan Sadyr Japarov"
RU_TITLE = "Встреча с Президентом Киргизии Садыром Жапаровым"
FR_TITLE = "Rencontre à Sotchi avec le Président du Kirghizstan, Sadyr Japarov"
SPEAKER = "President of Russia Vladimir Putin"


def _edit(old: str, new: str) -> bytes:
    """The reference page, UTF-8, with its first ``old`` replaced by ``new``."""
    assert old in REF, old
    return REF.replace(old, new, 1).encode()


def _edit_bytes(old: str, new: bytes) -> bytes:
    """The reference page, UTF-8, with the bytes of its first ``old`` replaced by ``new``."""
    assert old in REF, old
    return REF.encode().replace(old.encode(), new, 1)


# (case, file bytes, expected fields of the parse; "reject_reason" is None unless given,
# "in_text" is a piece of some published string)
CASES: list[tuple[str, bytes, dict[str, object]]] = [
    ("reference page", REF.encode(), {"encoding": "utf-8", "title": TITLE, "place": "Sochi"}),
    (
        "terminal escapes and a bell in the title",
        _edit("Meeting with", "\x1b[2J\x1b[31mMeeting\x07 with"),
        {"title": "[2J[31m" + TITLE},
    ),
    ("backspaces in the place line", _edit("\nSochi\n", "\nSo\x08\x08chi\n"), {"place": "Sochi"}),
    (
        "control character inside a word of a label",
        _edit("Vladimir Putin:", "Vla\x01dimir Putin:"),
        {"speaker": SPEAKER},
    ),
    ("escape in the date line", _edit("May 24, 2021", "May 24,\x1b 2021"), {"date_text": "May 24, 2021"}),
    (
        "unit separator in a paragraph",
        _edit("Welcome.", "Wel\x1fcome."),
        {"last_turn_paragraph": "I really am delighted to see you in Russia. Welcome."},
    ),
    # Direction marks are invisible: metadata drops them, body text keeps them as published.
    ("LRM before the category", "\u200e".encode() + REF.encode(), {"category": "Events", "title": TITLE}),
    ("LRM inside the date line", _edit("May 24, 2021", "May\u200e 24, 2021"), {"date_text": "May 24, 2021"}),
    ("RLM after the place", _edit("\nSochi\n", "\nSochi\u200f\n"), {"place": "Sochi"}),
    ("ALM in a speaker label", _edit("Vladimir Putin:", "Vladimir\u061c Putin:"), {"speaker": SPEAKER}),
    (
        "LRM in a paragraph is kept",
        _edit("Welcome.", "\u200eWelcome."),
        {"last_turn_paragraph": "I really am delighted to see you in Russia. \u200eWelcome."},
    ),
    # Embeddings, overrides and isolates reorder what follows: no field keeps them.
    ("RLO in the title", _edit("Meeting with", "Meeting \u202ewith"), {"title": TITLE}),
    ("LRE and PDF around the title", _edit(TITLE, f"\u202a{TITLE}\u202c"), {"title": TITLE}),
    (
        "LRO in a footer tag",
        _edit("\nKyrgyzstan\nTopics", "\n\u202dKyrgyzstan\nTopics"),
        {"geography": ["Kyrgyzstan"]},
    ),
    (
        "RLI and PDI in a paragraph",
        _edit("Welcome.", "\u2067Wel\u2069come.\u2068\u2066"),
        {"last_turn_paragraph": "I really am delighted to see you in Russia. Welcome."},
    ),
    # A few bad bytes in a UTF-8 file: U+FFFD for each, every other character as written.
    (
        "one bad byte",
        _edit_bytes("\nSochi\n", b"\nSoch\xff\n"),
        {"encoding": "utf-8 (1 invalid byte replaced by U+FFFD)", "place": "Soch\ufffd", "title": TITLE},
    ),
    (
        "CESU-8 surrogate",
        _edit_bytes("Kyrgyzstan’s", "Kyrgyzstan’s".encode() + b"\xed\xa0\x80"),
        {
            "encoding": "utf-8 (3 invalid bytes replaced by U+FFFD)",
            "in_text": "Kyrgyzstan’s\ufffd\ufffd\ufffd",
        },
    ),
    (
        "overlong NUL",
        _edit_bytes("Welcome.", b"Welcome.\xc0\x80"),
        {
            "encoding": "utf-8 (2 invalid bytes replaced by U+FFFD)",
            "last_turn_paragraph": "I really am delighted to see you in Russia. Welcome.\ufffd\ufffd",
        },
    ),
    (
        "byte order mark and a bad byte",
        codecs.BOM_UTF8 + _edit_bytes("\nSochi\n", b"\nSoch\x81\n"),
        {"encoding": "utf-8-sig (1 invalid byte replaced by U+FFFD)", "place": "Soch\ufffd"},
    ),
    # Legacy single-byte exports: the code page in which the words are of one script.
    (
        "cp1251 Russian title",
        _edit(TITLE, RU_TITLE).decode().encode("cp1251"),
        {"encoding": "cp1251", "title": RU_TITLE},
    ),
    (
        "cp1252 accented title",
        _edit(TITLE, FR_TITLE).decode().encode("cp1252"),
        {"encoding": "cp1252", "title": FR_TITLE},
    ),
    ("UTF-32 with a byte order mark", REF.encode("utf-32"), {"encoding": "utf-32", "title": TITLE}),
    (
        "big-endian UTF-32",
        codecs.BOM_UTF32_BE + REF.encode("utf-32-be"),
        {"encoding": "utf-32", "title": TITLE},
    ),
    # White space is handled as before: a tab, vertical tab or form feed is a space.
    ("tab, vertical tab, form feed", _edit("Meeting with", "Meeting\t\x0b\x0cwith"), {"title": TITLE}),
]


def _parse(tmp_path: Path, data: bytes) -> dict[str, object]:
    path = tmp_path / "page.txt"
    path.write_bytes(data)
    outcome, document, paragraphs, utterances = parse_file(hashlib.sha256(data).hexdigest(), str(path))
    got: dict[str, object] = {"encoding": outcome["encoding"], "reject_reason": outcome["reject_reason"]}
    if document is not None:
        putin = [p["text"] for p in paragraphs if p["turn_index"] == 0]
        got |= document
        got |= {
            "speaker": utterances[0]["speaker_label"],
            "last_turn_paragraph": putin[-1],
            "strings": _strings([document, *paragraphs, *utterances]),
        }
    return got


def _strings(rows: list[dict]) -> list[str]:
    """Every string value of the published rows (list columns included)."""
    out: list[str] = []
    for row in rows:
        for value in row.values():
            out += [x for x in (value if isinstance(value, list) else [value]) if isinstance(x, str)]
    return out


@pytest.mark.parametrize(("data", "expected"), [(d, e) for _, d, e in CASES], ids=[c[0] for c in CASES])
def test_hostile_text_gives_the_expected_fields(
    tmp_path: Path, data: bytes, expected: dict[str, object]
) -> None:
    got = _parse(tmp_path, data)
    want = {"reject_reason": None, **expected}
    if "in_text" in want:  # a piece of some published string
        piece = want.pop("in_text")
        assert any(piece in s for s in got["strings"]), piece
    assert {k: got.get(k) for k in want} == want


# Control characters (Unicode category Cc) but the newlines that join paragraphs in a turn's text.
def _unprintable(s: str) -> list[str]:
    return [c for c in s if unicodedata.category(c) == "Cc" and c != "\n"]


# Characters whose bidi class makes them reorder the text after them (Unicode's own table).
_REORDERING = {"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"}


def _reordering(s: str) -> list[str]:
    return [c for c in s if unicodedata.bidirectional(c) in _REORDERING]


@pytest.mark.parametrize("data", [d for _, d, _ in CASES], ids=[c[0] for c in CASES])
def test_no_published_string_carries_a_control_or_reordering_character(tmp_path: Path, data: bytes) -> None:
    got = _parse(tmp_path, data)
    assert got["reject_reason"] is None
    assert [(s, _unprintable(s)) for s in got["strings"] if _unprintable(s)] == []
    assert [(s, _reordering(s)) for s in got["strings"] if _reordering(s)] == []


# One line through the cleaning every stage reads: (raw line, published text, metadata form).
LINES = [
    ("bell and escape", "Meeting\x07 with\x1b", "Meeting with", "Meeting with"),
    ("control character between a letter and its accent", "Cafe\x01\u0301", "Caf\u00e9", "Caf\u00e9"),
    ("only control characters", "\x00\x1b", "", ""),
    ("C1 escape and DEL", "Meeting\x9b31m with\x7f", "Meeting31m with", "Meeting31m with"),
    ("NEL is white space", "Meeting\x85with", "Meeting with", "Meeting with"),
    ("tab stays white space", "a\tb", "a b", "a b"),
    ("direction mark: invisible", "\u200eEvents\u200f", "\u200eEvents\u200f", "Events"),
    ("override: removed", "\u202eEvents\u202c", "Events", "Events"),
    (
        "noncharacters: removed",
        "Meeting\ufffe with\uffff \U0010fffeGovernor\ufdd0",
        "Meeting with Governor",
        "Meeting with Governor",
    ),
    ("isolate between a letter and its accent", "Cafe\u2066\u0301", "Caf\u00e9", "Caf\u00e9"),
]


@pytest.mark.parametrize(("raw", "text", "meta"), [r[1:] for r in LINES], ids=[r[0] for r in LINES])
def test_cleaning_removes_what_no_field_may_carry(raw: str, text: str, meta: str) -> None:
    line = clean_lines(raw)[0]
    assert (line.text, line.meta) == (text, meta)


# A speaker label as kremlin.names reads it drops what the metadata form drops.
LABELS = [
    ("no-break space", "Vladimir\u00a0Putin:", "Vladimir Putin"),
    ("zero-width space and soft hyphen", "Vladi\u00admir\u200b Putin:", "Vladimir Putin"),
    ("zero-width non-joiner and word joiner", "Vladi\u200cmir\u2060 Putin:", "Vladimir Putin"),
    ("direction marks", "\u200eVladimir Putin\u200f:", "Vladimir Putin"),
    ("override", "\u202eVladimir Putin:", "Vladimir Putin"),
    ("bell", "Vladimir\x07 Putin:", "Vladimir Putin"),
]


@pytest.mark.parametrize(("label", "clean"), [r[1:] for r in LABELS], ids=[r[0] for r in LABELS])
def test_clean_label_drops_the_invisible_characters_of_metadata(label: str, clean: str) -> None:
    assert clean_label(label) == clean == clean_lines(label)[0].meta.rstrip(":")


# decode_page alone: (case, bytes, the Decoded it gives, or the reject reason and a piece of
# its message).
DECODES: list[tuple[str, bytes, Decoded | tuple[str, str]]] = [
    ("valid UTF-8", "Kyrgyzstan’s".encode(), Decoded("Kyrgyzstan’s", "utf-8")),
    (
        "UTF-8 with a bad byte",
        "Kyrgyzstan’s Soch".encode() + b"\xff",
        Decoded("Kyrgyzstan’s Soch\ufffd", "utf-8 (1 invalid byte replaced by U+FFFD)"),
    ),
    (
        "cut multi-byte character",
        "“Sochi” and Sochi".encode()[:-6] + b"\xe2\x80 Sochi",
        Decoded("“Sochi” and\ufffd\ufffd Sochi", "utf-8 (2 invalid bytes replaced by U+FFFD)"),
    ),
    # Runs of bad bytes shaped like UTF-8 are UTF-8 evidence however many bytes they are:
    # two CESU-8 characters (12 bad bytes) beside one valid character, or in ASCII text.
    (
        "CESU-8 pairs beside one valid character",
        "Sochi’s".encode() + (b"\xed\xa0\xbd\xed\xb8\x80" * 2),
        Decoded("Sochi’s" + "\ufffd" * 12, "utf-8 (12 invalid bytes replaced by U+FFFD)"),
    ),
    (
        "a cut character in ASCII text",
        b"Sochi \xe2\x80 and Moscow",
        Decoded("Sochi \ufffd\ufffd and Moscow", "utf-8 (2 invalid bytes replaced by U+FFFD)"),
    ),
    # A legacy file: no valid multi-byte sequence, or fewer valid bytes than invalid ones.
    ("ASCII and one high byte", b"Meeting in Soch\xff", Decoded("Meeting in Soch\u00ff", "cp1252")),
    (
        "cp1252 with an accidental UTF-8 pair",
        b"\xc3\xa9 caf\xe9 na\xefve \x93quoted\x94",
        Decoded("\u00c3\u00a9 café naïve “quoted”", "cp1252"),
    ),
    ("cp1252 accents", "Café société".encode("cp1252"), Decoded("Café société", "cp1252")),
    (
        "cp1251 Russian",
        "Встреча с губернатором".encode("cp1251"),
        Decoded("Встреча с губернатором", "cp1251"),
    ),
    (
        "cp1251 English with Russian words",
        "The Governor (Встреча в Твери) reported.".encode("cp1251"),
        Decoded("The Governor (Встреча в Твери) reported.", "cp1251"),
    ),
    # Punctuation only: both code pages agree, cp1252 is the one named.
    (
        "cp1251 quotes",
        "Russia’s “position” – firm.".encode("cp1251"),
        Decoded("Russia’s “position” – firm.", "cp1252"),
    ),
    ("UTF-32 little-endian", "Events ’".encode("utf-32"), Decoded("Events ’", "utf-32")),
    (
        "UTF-32 big-endian",
        codecs.BOM_UTF32_BE + "Events ’".encode("utf-32-be"),
        Decoded("Events ’", "utf-32"),
    ),
    ("UTF-16 still UTF-16", "Events ’".encode("utf-16"), Decoded("Events ’", "utf-16")),
    (
        "UTF-32 without a mark",
        "Events".encode("utf-32-le"),
        ("not_text", "UTF-16/UTF-32 without a byte order mark"),
    ),
    ("words of no script", b"\xe9t \xc2\xf1 " * 20, ("not_text", "reads it as words of one script and case")),
    # cp1252 and cp1251 leave these bytes undefined; the other code pages read a Cyrillic
    # letter, a box-drawing character or a C1 control glued to a Latin word (CafБ, Caf│).
    (
        "bytes cp1252 and cp1251 leave undefined",
        b"Caf\x81 \x98",
        ("not_text", "reads it as words of one script and case (1 of"),
    ),
]


@pytest.mark.parametrize(("data", "expected"), [r[1:] for r in DECODES], ids=[r[0] for r in DECODES])
def test_decode_page(data: bytes, expected: Decoded | tuple[str, str]) -> None:
    got = decode_page(data)
    if isinstance(expected, Decoded):
        assert got == expected
    else:
        assert isinstance(got, Reject) and got.reason == expected[0] and expected[1] in got.message, got
