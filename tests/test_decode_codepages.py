"""Legacy single-byte files: each Cyrillic code page a Russian export comes in reads back as the
text that was written, an English cp1252 page stays cp1252, and bytes that make no words are
still rejected (``kremlin.decode._single_byte``)."""

from __future__ import annotations

import random

import pytest

from kremlin import decode
from kremlin.decode import Decoded, decode_page
from schemas.page import Reject

CYRILLIC = ("cp1251", "koi8-r", "koi8-u", "iso8859-5", "cp866", "mac-cyrillic")

NEWS = (
    "Во вторник в Кремле состоялась рабочая встреча с губернатором области. Глава региона "
    "доложил о подготовке к отопительному сезону и о ремонте школ; по его словам, работы идут "
    "по графику."
)
TITLE = "Встреча с Президентом"
LOWER = "встреча с губернатором"  # no capital: the case of whole words decides
ABBREVIATIONS = "В МИДе сообщили, что ЦИК утвердил итоги выборов."
MIXED = "The Governor of Tver Region (Тверская область) reported on the heating season."
UKRAINIAN = "Президент України зазначив, що Київ готовий продовжувати діалог."

# (case, text, the code pages it is written in). Mac Cyrillic differs from cp1251 only in the
# capitals and in "я", and cp1251 reads the capitals В and П as "‚" and "Џ": a title with
# neither "я" nor another capital reads as cp1251, so TITLE is not written in it.
ROUND_TRIPS = [
    ("news paragraph", NEWS, CYRILLIC),
    ("title", TITLE, tuple(cp for cp in CYRILLIC if cp != "mac-cyrillic")),
    ("lower case only", LOWER, CYRILLIC),
    ("abbreviations with case endings", ABBREVIATIONS, CYRILLIC),
    ("English with Russian words", MIXED, CYRILLIC),
    ("Ukrainian", UKRAINIAN, ("cp1251", "koi8-u", "iso8859-5", "mac-cyrillic")),
]


@pytest.mark.parametrize(
    ("text", "code_page"),
    [(text, cp) for _, text, cps in ROUND_TRIPS for cp in cps],
    ids=[f"{case}-{cp}" for case, _, cps in ROUND_TRIPS for cp in cps],
)
def test_a_legacy_export_reads_back_as_written(text: str, code_page: str) -> None:
    got = decode_page(text.encode(code_page))
    assert isinstance(got, Decoded) and got.text == text, (got, code_page)


# (text, the code page it is written in, the one named): a code page that reads the file as
# an earlier one does is not named (KOI8-U reads Russian exactly as KOI8-R).
NAMED = [
    (NEWS, "cp1251", "cp1251"),
    (NEWS, "koi8-r", "koi8-r"),
    (NEWS, "koi8-u", "koi8-r"),
    (NEWS, "iso8859-5", "iso8859-5"),
    (NEWS, "cp866", "cp866"),
    (NEWS, "mac-cyrillic", "mac-cyrillic"),
    (UKRAINIAN, "koi8-u", "koi8-u"),
    (LOWER, "koi8-r", "koi8-r"),
]


@pytest.mark.parametrize(("text", "written", "named"), NAMED, ids=[f"{w}-{t[:12]}" for t, w, _ in NAMED])
def test_the_code_page_is_named(text: str, written: str, named: str) -> None:
    assert decode_page(text.encode(written)) == Decoded(text, named)


# English pages: cp1252's own punctuation and symbols are what Cyrillic code pages read as
# letters (cp866 reads "–" as "Ц"), so these must not move off cp1252.
ENGLISH = [
    ("degrees and an accent", "It was 25°C in Sochi, and the café was full."),
    ("spaced dashes", "He said – twice – that the talks were useful."),
    ("quotes and apostrophe", "Russia’s “position” is firm… and clear."),
    ("accented names", "Meeting with Emmanuel Macron and François Hollande at the Élysée."),
    ("glued words", "MrPouyanné and MrPutin met."),
]


@pytest.mark.parametrize("text", [t for _, t in ENGLISH], ids=[c for c, _ in ENGLISH])
def test_an_english_cp1252_page_stays_cp1252(text: str) -> None:
    assert decode_page(text.encode("cp1252")) == Decoded(text, "cp1252")


# (word, misread): what one token of a reading is judged as.
WORDS = [
    ("Встреча", False),
    ("встреча", False),
    ("ВСТРЕЧА", False),
    ("МИДе", False),  # an abbreviation with a case ending
    ("«Встреча»", False),
    ("Russia’s", False),
    ("MrPouyanné", False),
    ("Âñòðå÷à", True),  # cp1251 read as cp1252: accented letters only
    ("Cafй", True),  # cp1252 read as cp1251: two scripts
    ("чУФТЕЮБ", True),  # KOI8-R read as cp1251: lower then upper case
    ("ІбваХзР", True),  # ISO 8859-5 read as cp1251
    ("Ј®в®ўл", True),  # cp866 read as cp1251: a symbol among Cyrillic letters
    ("Њ€„е", True),  # Mac Cyrillic read as cp1251: a quotation mark inside a word
    ("бСТРЕЧА", True),  # cp1251 read as KOI8-R
    ("╫╙╘╥┼▐┴", True),  # KOI8-R read as cp866: box drawing, no letter
]


@pytest.mark.parametrize(("token", "misread"), WORDS, ids=[w for w, _ in WORDS])
def test_a_word_is_misread_when_no_script_writes_it(token: str, misread: bool) -> None:
    assert decode._misread(decode._word(token)) is misread


# Files that are damaged UTF-8 stay UTF-8; a short cp866 file is not taken for one (its
# lower-case letters are UTF-8 lead and continuation bytes).
UTF8_OR_NOT = [
    (
        "a quote's lead byte changed",
        b"The President\xcb\x80\x99s instruction",
        Decoded("The President\u02c0\ufffds instruction", "utf-8 (1 invalid byte replaced by U+FFFD)"),
    ),
    ("cp866 lower case", LOWER.encode("cp866"), Decoded(LOWER, "cp866")),
    ("cp866 short phrase", "Путин: мы справимся".encode("cp866"), Decoded("Путин: мы справимся", "cp866")),
]


@pytest.mark.parametrize(("data", "expected"), [r[1:] for r in UTF8_OR_NOT], ids=[r[0] for r in UTF8_OR_NOT])
def test_damaged_utf8_or_legacy(data: bytes, expected: Decoded) -> None:
    assert decode_page(data) == expected


def _random_words(seed: int, size: int) -> bytes:
    rng = random.Random(seed)
    words = (bytes(rng.randrange(0x80, 0x100) for _ in range(rng.randint(2, 8))) for _ in range(size // 6))
    return b" ".join(words)


@pytest.mark.parametrize("seed", range(8))
def test_words_of_random_high_bytes_are_not_text(seed: int) -> None:
    got = decode_page(_random_words(seed, 4096))
    assert isinstance(got, Reject) and got.reason == "not_text", got


def test_a_file_of_distinct_words_is_judged_on_a_prefix() -> None:
    data = _random_words(1, 2 * 1024 * 1024)
    words, _ = decode._judged(data)
    assert decode._MAX_DISTINCT <= len(words) < 3 * decode._MAX_DISTINCT
    assert sum(n for _, n in words) < len(data) // 6 // 4


@pytest.mark.parametrize("code_page", decode._CODE_PAGES)
def test_each_code_page_reads_ascii_as_ascii(code_page: str) -> None:
    """What the byte-level word split and the control count on bytes rely on."""
    assert bytes(range(0x80)).decode(code_page) == bytes(range(0x80)).decode("ascii")
    upper = bytes(range(0x80, 0x100)).decode(code_page, "ignore")
    assert not any(ord(c) < 0x80 for c in upper)
