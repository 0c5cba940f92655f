"""Hostile page texts at the parser and row stage: a value that cannot be stored or is not a
real date or time is a reject with a reason (never an exception that fails a batch), the
layout rules are not fooled by invisible characters or other scripts' digits, and inputs
built to make a rule quadratic or to exhaust memory are bounded.

Each case edits a small hand-written page (tests/pagekit); the batch-level case writes a
shard with good pages beside the bad ones.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from pydantic import ValidationError

from kremlin import shards
from kremlin.parser import features
from kremlin.parser.page import MAX_LINES, parse_page
from kremlin.parser.turns import core_label
from kremlin.shards import ShardJob, check_rows, parse_file, write_shard
from kremlin.textnorm import clean_page
from schemas.page import ParsedPage, Reject
from tests.pagekit import dialogue_page, make_page

GOOD = dialogue_page("Meeting with Governor Ivan Petrov", "March 3, 2015", "15:40", "March 3, 2015, 15:40")
SPEECH = "Colleagues, we have a great deal to discuss today, so let us begin."


def _outcome(tmp_path: Path, text: str) -> tuple[dict, dict | None]:
    path = tmp_path / "page.txt"
    path.write_text(text, encoding="utf-8")
    outcome, document, _, _ = parse_file(hashlib.sha256(path.read_bytes()).hexdigest(), str(path))
    return outcome, document


@pytest.mark.parametrize(
    ("text", "reason", "in_message"),
    [
        # Year 1 is a date, but not one a UTC instant can hold once Moscow's offset applies.
        (make_page(date="January 1, 0001", time="00:00"), "invalid_date", "year 1"),
        (make_page(publication="January 1, 0001, 00:00"), "invalid_date", "year 1"),
        # A time line that names no time of day is not quietly published as a paragraph.
        (make_page(time="25:61"), "invalid_date", "25:61"),
        (make_page(time="24:00"), "invalid_date", "24:00"),
        # A mangled time line is not published as a paragraph (with the place line taken
        # for another): digits of another script, a full-width colon, a leading zero too many.
        (make_page(time="１５:４０"), "invalid_date", "HH:MM"),
        (make_page(time="١٥:٤٠"), "invalid_date", "HH:MM"),
        (make_page(time="15：40"), "invalid_date", "HH:MM"),
        (make_page(time="015:40"), "invalid_date", "HH:MM"),
        # Digits of another script are not the site's date line.
        (make_page(date="March 3, ٢٠١٥"), "no_date", "no date line"),
        # Too many lines for a page: refused before the text is split.
        (make_page(body=("a",) * MAX_LINES), "too_large", "line breaks"),
        (make_page(body=("a",) * (MAX_LINES // 2 + 10)).replace("\n", "\r\n"), "too_large", "line breaks"),
    ],
    ids=[
        "event-year-1",
        "publication-year-1",
        "time-25:61",
        "time-24:00",
        "time-fullwidth-digits",
        "time-arabic-digits",
        "time-fullwidth-colon",
        "time-three-digit-hour",
        "arabic-digits",
        "lines",
        "crlf-lines",
    ],
)
def test_rejected_with_reason(tmp_path, text: str, reason: str, in_message: str) -> None:
    outcome, document = _outcome(tmp_path, text)
    assert document is None
    assert outcome["reject_reason"] == reason, outcome
    assert in_message in outcome["reject_message"], outcome


def _parsed(text: str) -> ParsedPage:
    page = parse_page(text)
    assert isinstance(page, ParsedPage), page
    return page


def test_a_lead_that_begins_with_announcement_is_a_lead() -> None:
    """A lead line may begin with the word: without a digit it is no (unreadable) date line,
    and the page's own date line below it is read; one with digits still is."""
    page = _parsed(make_page(summary=("Announcement, the President will visit the region.",)))
    assert page.header.summary == ["Announcement, the President will visit the region."]
    assert page.header.event_date.isoformat() == "2015-03-03"
    bad = parse_page(make_page(date="Announcement, Mayy 5, 2015"))
    assert getattr(bad, "reason", None) == "invalid_date"


@pytest.mark.parametrize(
    ("body", "photo_count", "photo_start", "paragraphs"),
    [
        (("1 of 3", "The caption.", SPEECH), 3, 1, [SPEECH]),
        # Not counters: K past N, zero, digits of other scripts, more than nine digits.
        (("5 of 2", SPEECH), 0, None, ["5 of 2", SPEECH]),
        (("0 of 0", SPEECH), 0, None, ["0 of 0", SPEECH]),
        (("１ of ２", SPEECH), 0, None, ["１ of ２", SPEECH]),
        (("1 of 2147483648", SPEECH), 0, None, ["1 of 2147483648", SPEECH]),
        (("1 of " + "9" * 5000, SPEECH), 0, None, ["1 of " + "9" * 5000, SPEECH]),
    ],
    ids=["counter", "k-past-n", "zero", "fullwidth", "over-int32", "5000-digits"],
)
def test_slider_counters(body, photo_count: int, photo_start: int | None, paragraphs: list[str]) -> None:
    page = _parsed(make_page(body=body))
    assert (page.media.photo_count, page.media.photo_start) == (photo_count, photo_start)
    assert [p.text for p in page.paragraphs] == paragraphs


def test_invisible_characters_do_not_hide_the_layout() -> None:
    body = (
        "1 of 2",
        "Photo caption.",
        f"Vladimir Putin: {SPEECH}",
        "* * *",
        "See also",
        "Related page title",
    )
    plain = _parsed(make_page(body=body))
    noisy = _parsed(make_page(body=tuple("\u200b" + line for line in body)))
    assert (noisy.media.photo_count, noisy.media.photo_start) == (2, 1) == (plain.media.photo_count, 1)
    assert [p.kind for p in noisy.paragraphs] == [p.kind for p in plain.paragraphs] == ["text", "separator"]
    assert [t.label for t in noisy.turns] == ["Vladimir Putin"]


def test_a_label_of_invisible_characters_is_no_turn() -> None:
    page = _parsed(make_page(body=(f"Vladimir Putin: {SPEECH}", f"\u200b\u200b: {SPEECH}")))
    assert [t.label for t in page.turns] == ["Vladimir Putin"]
    assert page.turns[0].n_paragraphs == 2


@pytest.mark.parametrize(
    ("column", "value", "ok"),
    [
        ("photo_count", 2**31 - 1, True),
        ("photo_count", 2**31, False),
        ("hidden_tags", 2**31, False),
        ("kremlin_id", 2**63 - 1, True),
        ("kremlin_id", 2**63, False),
        ("kremlin_id", -(2**63) - 1, False),
    ],
)
def test_row_check_bounds_integers_to_their_sql_type(tmp_path, column: str, value: int, ok: bool) -> None:
    outcome, document = _outcome(tmp_path, GOOD)
    assert document is not None, outcome
    doc = {**document, column: value}
    if ok:
        check_rows(doc, [], [], "page.txt")
    else:
        with pytest.raises(ValidationError, match=column):
            check_rows(doc, [], [], "page.txt")


def test_an_error_building_the_rows_costs_one_file_not_the_batch(tmp_path, monkeypatch) -> None:
    def broken(page):
        raise OverflowError("date value out of range")

    monkeypatch.setattr(shards, "page_rows", broken)
    outcome, document = _outcome(tmp_path, GOOD)
    assert document is None
    assert (outcome["reject_reason"], outcome["reject_stage"]) == ("invalid_record", "rows")
    assert "OverflowError" in outcome["reject_message"]


def test_a_batch_with_unstorable_pages_keeps_its_good_pages(tmp_path) -> None:
    texts = {
        "good.txt": GOOD,
        "year1.txt": make_page(publication="January 1, 0001, 00:00"),
        "time.txt": make_page(time="25:61"),
    }
    items = []
    for name, text in texts.items():
        (tmp_path / name).write_bytes(text.encode("utf-8"))
        items.append((hashlib.sha256(text.encode("utf-8")).hexdigest(), str(tmp_path / name)))
    summary = write_shard(ShardJob(tuple(items)), tmp_path / "cache")
    assert (summary.files, summary.documents, summary.rejected) == (3, 1, 2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ivan Petrov (left) and Anna Petrova.", True),
        ("From left: Ivan Petrov and Anna Petrova.", True),
        ("Ivan Petrov (second from right) at the meeting.", True),
        ("The share rose (by 3 percent) this year.", False),
        ("He turned left at the corner.", False),
        ("Ivan Petrov (left.", False),
        ("(" + "left " * 20_000, False),  # unclosed: one pattern for both would be quadratic
        ("(" * 20_000 + "left)", True),
    ],
    ids=[
        "paren",
        "from-left",
        "from-right",
        "no-position",
        "no-paren",
        "unclosed",
        "unclosed-long",
        "many-opens",
    ],
)
def test_photo_position(text: str, expected: bool) -> None:
    assert features._photo_position(text) is expected


def test_pages_built_to_be_quadratic_parse() -> None:
    """Inputs that made a rule quadratic (an unclosed parenthesis of position words, a
    heading per line, thousands of slider captions, a lead of megabytes) now parse: each
    took seconds to hours before (docs/parser.md)."""
    cases = [
        make_page(body=("(" + "left " * 40_000,)),
        make_page(body=("See also", "A sentence.") * 4_000),
        make_page(
            body=tuple(x for i in range(3_000) for x in ("1 of 2", f"Caption {i} here", f"Line {i} here."))
        ),
        make_page(body=("Ivan" + " (b" * 20_000, ": Thank you.")),  # a bare label of many parentheticals
        make_page(
            summary=("Lead " * 400_000,),
            body=tuple(f"Body line number {i:06d} of the text." for i in range(5_000)),
        ),
    ]
    for text in cases:
        _parsed(text)


@pytest.mark.parametrize(
    ("text", "meta"),
    [
        # Double-spaced: one blank line between visible lines is a single line end, three a
        # blank line of the page.
        ("A\n\nB\n\n\n\nC", ["A", "B", "", "C"]),
        ("A\r\r\nB\r\r\n\r\r\nC", ["A", "B", "", "C"]),
        ("A\n \nB\n\u00a0\nC\n\n", ["A", "B", "C", "", ""]),
        # Most line ends doubled: the one single line end stays one.
        ("A\n\nB\nC\n\nD", ["A", "B", "C", "D"]),
        # Not double-spaced: no more than half of the gaps hold a blank line.
        ("A\nB\n\nC", ["A", "B", "", "C"]),
        ("A\n\n", ["A", "", ""]),
    ],
)
def test_double_spacing_is_read_as_single(text: str, meta: list[str]) -> None:
    assert clean_page(text).meta == meta


@pytest.mark.parametrize("header_lines", [3, 4, 5], ids=["after-date", "after-time", "after-place"])
def test_a_repeated_header_is_rejected(header_lines: int) -> None:
    lines = GOOD.split("\n")  # Events, title, date, time, place, body…
    page = parse_page("\n".join(lines[:header_lines] + lines[:header_lines] + lines[header_lines:]))
    assert isinstance(page, Reject) and page.reason == "invalid_record", page
    assert "repeated" in page.message


@pytest.mark.parametrize(
    ("label", "core"),
    [
        ("Sebastian Kurz (retranslated)", "Sebastian Kurz"),
        ("Sebastian Kurz (retranslated", "Sebastian Kurz"),
        ("Ivan Petrov (via videoconference) (retranslated) ", "Ivan Petrov"),
        ("Ivan (b (c", "Ivan"),
        ("Ivan (a) b)", "Ivan (a) b)"),
        ("Governor (Tver Region) Ivan Petrov", "Governor (Tver Region) Ivan Petrov"),
        ("()", ""),
        ("Ivan" + " (b" * 20_000, "Ivan"),
    ],
    ids=["closed", "unclosed", "two", "two-unclosed", "stray-close", "inside", "empty", "many"],
)
def test_core_label(label: str, core: str) -> None:
    assert core_label(label) == core
