"""Hostile page footers: blank lines between footer lines, numbers too wide for their
columns, a footer repeated.

Every case is the example page (raw/000_2db0a70f9af90d4e.txt) with one change. Numbers are
read as the pipeline reads a file (``kremlin.shards.parse_file``, whose catch-all turns a
parser crash into a generic reject) and written to a shard (whose typed columns fail on a
value that does not fit them).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from kremlin.parser.page import parse_page
from kremlin.shards import ShardJob, parse_file, write_shard
from schemas.page import ParsedPage
from tests.conftest import SAMPLE_RAW

REF = (SAMPLE_RAW / "000_2db0a70f9af90d4e.txt").read_text(encoding="utf-8")
FOOTER = REF.index("\nGeography\n")  # the footer's tag blocks start the line after
STATUS = REF.index("\nPublication status\n")


def _parsed(text: str) -> ParsedPage:
    page = parse_page(text)
    assert isinstance(page, ParsedPage), page
    return page


def _spaced_footer(line_end: str) -> str:
    """The page with every line end of its footer written as ``line_end``."""
    return REF[:FOOTER] + REF[FOOTER:].replace("\n", line_end)


# name -> page text whose record must be the example page's, style aside (a no-break space
# makes the text "page" style).
SPACED_FOOTERS: dict[str, str] = {
    "double-spaced footer": _spaced_footer("\n\n"),
    "two blank lines between footer lines": _spaced_footer("\n\n\n"),
    "footer converted to Windows twice (\\r\\r\\n)": _spaced_footer("\r\r\n"),
    "lines of spaces between footer lines": _spaced_footer("\n   \n"),
    "lines of no-break spaces between footer lines": _spaced_footer("\n\u00a0\n"),
    "a blank line above the footer only": REF.replace("\nGeography\n", "\n\nGeography\n"),
}


@pytest.mark.parametrize("name", SPACED_FOOTERS)
def test_blank_lines_between_footer_lines_are_ignored(name):
    want = _parsed(REF).model_dump(exclude={"text_style"})
    assert _parsed(SPACED_FOOTERS[name]).model_dump(exclude={"text_style"}) == want


# name -> page text whose footer, paragraphs and turns must be the example page's. The
# slider caption under 'K of N' is read by the body code, which takes it for a single-photo
# caption once a blank line separates the two: not compared here.
SPACED_PAGES: dict[str, str] = {
    "double-spaced page": REF.replace("\n", "\n\n"),
    "page converted to Windows twice (\\r\\r\\n)": REF.replace("\n", "\r\r\n"),
}


@pytest.mark.parametrize("name", SPACED_PAGES)
def test_a_double_spaced_page_has_the_footer_paragraphs_and_turns_of_the_page(name):
    want, got = _parsed(REF), _parsed(SPACED_PAGES[name])
    assert got.footer == want.footer
    assert [p.text for p in got.paragraphs] == [p.text for p in want.paragraphs]
    assert got.turns == want.turns


# name -> (footer lines between the body and 'Publication status', expected tags and hidden).
TAG_BLOCKS: dict[str, tuple[str, tuple[dict[str, list[str]], int]]] = {
    "blank line between two tags": (
        "Persons\nJaparov Sadyr\n\nPutin Vladimir",
        ({"persons": ["Japarov Sadyr", "Putin Vladimir"]}, 0),
    ),
    "blank line before an 'N more' line": (
        "Topics\nForeign policy\n\n3 more",
        ({"topics": ["Foreign policy"]}, 3),
    ),
    "blank lines between blocks only": (
        "Geography\nKyrgyzstan\n\nTopics\nForeign policy\n\n\nPersons\nJaparov Sadyr\n",
        ({"geography": ["Kyrgyzstan"], "topics": ["Foreign policy"], "persons": ["Japarov Sadyr"]}, 0),
    ),
    "a heading with only blank lines under it is no block": (
        "Topics\n\n\nPersons\nJaparov Sadyr",
        ({"persons": ["Japarov Sadyr"]}, 0),
    ),
}


@pytest.mark.parametrize("name", TAG_BLOCKS)
def test_tag_blocks_with_blank_lines(name):
    block, (tags, hidden) = TAG_BLOCKS[name]
    footer = _parsed(f"{REF[:FOOTER]}\n{block}{REF[STATUS:]}").footer
    got = {"geography": footer.geography, "topics": footer.topics, "persons": footer.persons}
    assert got == {"geography": [], "topics": [], "persons": [], **tags}
    assert footer.hidden_tags == hidden


def _with_link(page_id: str) -> str:
    """The page in the print style's last lines: a 'Direct link:' line before 'Text version'."""
    return REF.replace("\nText version", f"\nDirect link: en.kremlin.ru/d/{page_id}\nText version")


def _with_more(*counts: str) -> str:
    """The page with 'N more' fold lines in its Geography block."""
    more = "".join(f"\n{n} more" for n in counts)
    return REF.replace("\nKyrgyzstan\nTopics", f"\nKyrgyzstan{more}\nTopics")


# name -> (page text, expected (reject reason, kremlin_id, hidden_tags)): a published page
# has reason None.
NUMBERS: dict[str, tuple[str, tuple[str | None, int | None, int]]] = {
    "id of 5 digits": (_with_link("63950"), (None, 63950, 0)),
    "id of 9 digits, the widest read": (_with_link("9" * 9), (None, 999_999_999, 0)),
    "id of 10 digits is not read": (_with_link("1" + "0" * 9), (None, None, 0)),
    "id 2**63 (past BIGINT) is not read": (_with_link(str(2**63)), (None, None, 0)),
    "id of 5,000 digits (past int()) is not read": (_with_link("9" * 5000), (None, None, 0)),
    "id of Arabic-Indic digits is not read": (_with_link("٦٥٦٣٠"), (None, None, 0)),
    "id 0 is not read": (_with_link("0"), (None, None, 0)),
    "2 more": (_with_more("2"), (None, None, 2)),
    "Arabic-Indic digit more is no fold line": (_with_more("٣"), (None, None, 0)),
    "9999 more, the most read": (_with_more("9999"), (None, None, 9999)),
    "10000 more": (_with_more("10000"), ("invalid_record", None, 0)),
    "2**31 more (past INTEGER)": (_with_more(str(2**31)), ("invalid_record", None, 0)),
    "5,000 digits more (past int())": (_with_more("9" * 5000), ("invalid_record", None, 0)),
    "fold lines summing past the bound": (_with_more("9999", "1"), ("invalid_record", None, 0)),
}


def _file(tmp_path: Path, name: str, text: str) -> tuple[str, str]:
    data = text.encode()
    path = tmp_path / f"{hashlib.sha256(name.encode()).hexdigest()[:12]}.txt"
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest(), str(path)


@pytest.mark.parametrize("name", NUMBERS)
def test_footer_numbers_are_read_within_bounds_or_refused(tmp_path, name):
    text, (reason, kremlin_id, hidden) = NUMBERS[name]
    outcome, document, _, _ = parse_file(*_file(tmp_path, name, text))
    assert outcome["reject_reason"] == reason, outcome["reject_message"]
    if reason is None:
        assert document is not None
        assert (document["kremlin_id"], document["hidden_tags"]) == (kremlin_id, hidden)
    else:
        assert outcome["reject_stage"] == "parse"
        assert "'N more'" in outcome["reject_message"], "the message says what is wrong"


def test_a_shard_of_every_footer_number_case_is_written(tmp_path):
    """A value past its column's type fails the whole shard, not one file."""
    files = tmp_path / "files"
    files.mkdir()
    job = ShardJob(tuple(_file(files, name, text) for name, (text, _) in NUMBERS.items()))
    summary = write_shard(job, tmp_path / "cache")
    assert summary.files == len(NUMBERS)
    assert summary.rejected == sum(1 for _, (want, _, _) in NUMBERS.values() if want)


_BODY_LINE = "I really am delighted to see you in Russia. Welcome."

# name -> (page text, expected reject reason or None when published).
REPEATED_FOOTERS: dict[str, tuple[str, str | None]] = {
    "status line twice": (
        REF.replace("\nPublication status\n", "\nPublication status" * 2 + "\n"),
        "invalid_record",
    ),
    "footer twice": (
        REF[:FOOTER] + REF[FOOTER:].replace("\nText version", "") + REF[FOOTER:],
        "invalid_record",
    ),
    "page twice": (REF + "\n" + REF, "invalid_record"),
    "status line inside the body": (
        REF.replace(_BODY_LINE, f"{_BODY_LINE}\nPublication status"),
        "invalid_record",
    ),
    "a body line that only starts like one": (
        REF.replace(_BODY_LINE, f"{_BODY_LINE}\nPublication status of the treaty"),
        None,
    ),
}


@pytest.mark.parametrize("name", REPEATED_FOOTERS)
def test_a_second_publication_status_line_rejects_the_page(name):
    text, reason = REPEATED_FOOTERS[name]
    page = parse_page(text)
    if reason is None:
        assert isinstance(page, ParsedPage), page
        assert page.footer == _parsed(REF).footer
    else:
        assert not isinstance(page, ParsedPage), [p.text for p in page.paragraphs][-8:]
        assert page.reason == reason and "two 'Publication status'" in page.message, page
