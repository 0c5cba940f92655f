"""Bytes → page text, or a reject with a reason.

Landing folders receive whatever a crawler or a person drops there: empty files,
images, UTF-16 exports, legacy code pages. Decoding never raises; it either returns
text (and the encoding it used) or a ``Reject``.

A byte order mark names the encoding (UTF-8, UTF-16, UTF-32). Without one, a file is UTF-8
when most of its non-ASCII bytes form valid UTF-8 sequences: a few bad bytes (a damaged or
cut character, CESU-8 surrogates, an overlong form) each become U+FFFD rather than turn the
whole file into a legacy code page. Any other file is a legacy single-byte export: Western
(cp1252) or Cyrillic (cp1251, KOI8-R, KOI8-U, ISO 8859-5, cp866, Mac Cyrillic), read in the
code page in which its words are of one script and one case pattern (``_single_byte``).
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

from kremlin.textnorm import CONTROL_CHARS
from schemas.page import Reject

# A real page is well under 1 MB; anything this large is not a page and would only
# cost memory in a batch.
MAX_BYTES = 8 * 1024 * 1024

_BINARY_MAGIC = (
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"%PDF",
    b"PK\x03\x04",
    b"\x1f\x8b",
    b"BZh",
    b"\x7fELF",
    b"RIFF",
)


# UTF-32 first: its little-endian mark begins with UTF-16's (a UTF-16 text starting with
# U+0000 is no page).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# What errors="surrogateescape" decodes an invalid byte to.
_ESCAPED = re.compile("[\udc80-\udcff]")
_ESCAPED_RUN = re.compile("[\udc80-\udcff]+")
# A validly decoded non-ASCII character: of two bytes, or of three or four with no invalid
# byte right before or after it (``_mostly_utf8``).
_VALID_HIGH = re.compile("[\x80-\u07ff]|(?<![\udc80-\udcff])[^\x00-\u07ff\udc80-\udcff](?![\udc80-\udcff])")
# The single-byte code pages legacy exports of a page come in, in the order that wins a tie:
# cp1252 (Western: an English page's own), cp1251 (Russian Windows), KOI8-R (Russian Unix
# mail and web), ISO 8859-5, cp866 (Russian DOS), Mac Cyrillic, KOI8-U (KOI8-R with the
# Ukrainian letters in place of eight box-drawing characters: last, so that a Russian text,
# which it reads exactly as KOI8-R does, is named KOI8-R).
_CODE_PAGES = ("cp1252", "cp1251", "koi8-r", "iso8859-5", "cp866", "mac-cyrillic", "koi8-u")
_SYMBOL = frozenset({"Sm", "Sc", "Sk", "So", "Cc"})  # math, currency, modifier, other; control
_PUNCTUATION = frozenset({"Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po"})


def _upper_half(code_pages: tuple[str, ...], categories: frozenset[str]) -> str:
    """The characters of ``categories`` in the upper halves of ``code_pages``."""
    chars = {bytes([b]).decode(cp, "ignore") for cp in code_pages for b in range(0x80, 0x100)}
    return "".join(sorted(c for c in chars if c and unicodedata.category(c) in categories))


# Where one code page has a letter, another often has a symbol (box drawing, ±, ©, €, the C1
# controls of ISO 8859-5) or a punctuation mark („ … – »): a word read in the wrong code page
# is one token with these among its letters, not several clean words. (Not the soft hyphen,
# a format character, which a real word may hold as a hyphenation point.)
_SYMBOLS = _upper_half(_CODE_PAGES, _SYMBOL)
_MARKS = _upper_half(_CODE_PAGES, _PUNCTUATION)
_NOT_LETTERS = _SYMBOLS + _MARKS
# What else an upper half holds: the no-break space and the soft hyphen, which end a word.
_SPACES = re.compile(f"[{_upper_half(_CODE_PAGES, frozenset({'Zs', 'Cf'}))}]")
# cp1252's own symbols, which Western typography sets against a word ("25°C", "Brand™", "€5"),
# and which a damaged UTF-8 character leaves in one ("Russiaâ€™s"): no sign of a misreading.
_TYPOGRAPHIC = _upper_half(_CODE_PAGES[:1], _SYMBOL)
_TYPOGRAPHIC_SET = frozenset(_TYPOGRAPHIC)
_FOREIGN_SYMBOLS = frozenset(_SYMBOLS) - _TYPOGRAPHIC_SET
# The marks a word holds between its letters: apostrophes ("Russia’s") and dashes
# ("Putin—who"). Any other (``ћ»ƒе``, ``Њ€„е``) is a letter of another code page.
_INNER_MARKS = frozenset("’‘").union(c for c in _MARKS if unicodedata.category(c) == "Pd")
_FOREIGN_MARKS = frozenset(_MARKS) - _INNER_MARKS
_NON_WESTERN_MARKS = _FOREIGN_MARKS - frozenset(_upper_half(_CODE_PAGES[:1], _PUNCTUATION))
_LOWER = re.compile(f"[a-z{re.escape(_upper_half(_CODE_PAGES, frozenset({'Ll'})))}]")
_ASCII_BYTES = bytes(range(0x80))
# A word with a high byte: a run of ASCII letters and high bytes (digits, white space and ASCII
# punctuation split words in every code page here). The look-behind starts a match only at a
# word's start, so a word without a high byte costs one pass, not one per letter.
_BYTE_WORD = re.compile(rb"(?<![A-Za-z\x80-\xff])[A-Za-z]*[\x80-\xff][A-Za-z\x80-\xff]*")
# The high bytes that begin a line or a sentence, after any ASCII punctuation (a quote, a bracket).
_BYTE_START = re.compile(rb"(?:^|[.!?]\s)[!-/:-@\[-`{-~]*([\x80-\xff]+)", re.MULTILINE)
# The distinct words that settle the code page: a page has a few thousand, while random bytes
# make nearly every word a new one, and judging 8 MB of them in seven code pages would cost
# seconds (``_judged``).
_MAX_DISTINCT = 20_000

_CONTROL = re.compile(f"[{re.escape(CONTROL_CHARS)}]")
_CONTROL_BYTES = CONTROL_CHARS.encode("ascii")
# Encodings in which a C0 control character is always the one byte of the same value (UTF-8
# continuation bytes and the code pages' upper halves are >= 0x80 and decode to no C0
# character), so the bytes can be counted instead of the text (a regex pass costs ~10x more).
_ASCII_COMPATIBLE = frozenset({"utf-8", "utf-8-sig", *_CODE_PAGES})


@dataclass(frozen=True)
class Decoded:
    text: str
    # The codec's name; for a damaged UTF-8 file also how many bytes became U+FFFD, as in
    # "utf-8 (2 invalid bytes replaced by U+FFFD)".
    encoding: str


def decode_page(data: bytes) -> Decoded | Reject:
    if len(data) > MAX_BYTES:
        return Reject(
            reason="too_large",
            stage="decode",
            message=f"{len(data)} bytes is over the {MAX_BYTES} byte limit for one page",
        )
    if not data or data.isspace():
        return Reject(reason="empty", stage="decode", message="file is empty or white space only")
    if data.startswith(_BINARY_MAGIC):
        return Reject(reason="not_text", stage="decode", message="binary file (known file signature)")
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return _marked(data, bom, enc)
    if b"\x00" in data:
        return Reject(
            reason="not_text",
            stage="decode",
            message="NUL bytes in file (binary, or UTF-16/UTF-32 without a byte order mark)",
        )
    try:
        return _checked(data.decode("utf-8"), "utf-8", data)
    except UnicodeDecodeError:
        pass
    escaped = data.decode("utf-8", "surrogateescape")
    if not _mostly_utf8(escaped):
        return _single_byte(data)
    text, bad = _replaced(escaped)
    return _checked(text, "utf-8", data, _described("utf-8", bad))


def _marked(data: bytes, bom: bytes, encoding: str) -> Decoded | Reject:
    """A file whose byte order mark names its encoding."""
    if encoding == "utf-8-sig":
        # The mark proves UTF-8: a damaged file is read as UTF-8 whatever its share of bad bytes.
        text, bad = _replaced(data[len(bom) :].decode("utf-8", "surrogateescape"))
        return _checked(text, "utf-8", data, _described(encoding, bad))
    try:
        return _checked(data.decode(encoding), encoding, data)
    except UnicodeDecodeError as exc:
        return Reject(reason="not_text", stage="decode", message=f"invalid {encoding}: {exc}")


def _replaced(escaped: str) -> tuple[str, int]:
    """A ``surrogateescape`` reading with each invalid byte as U+FFFD, and how many there were.

    surrogateescape decodes each invalid byte (always >= 0x80) to one of U+DC80-U+DCFF,
    which no valid sequence decodes to: they count the bad bytes and mark where they were."""
    return _ESCAPED.subn("\ufffd", escaped)


def _mostly_utf8(escaped: str) -> bool:
    """The file is damaged UTF-8, not a legacy export: its valid multi-byte characters and its
    runs of bad bytes shaped like UTF-8 (a lead byte and a continuation byte: a cut
    character, CESU-8 surrogates, an overlong form) are at least as many as its lone bad bytes. A legacy
    export has hardly any valid sequence (a lead byte needs exactly the right number of
    continuation bytes after it), and its high bytes stand alone (`’` is 0x92 in cp1252).
    Runs and characters are counted, not bytes: one damaged character is several bad bytes.

    A valid character of three bytes counts only when no bad byte touches it: cp866 has its
    lower-case letters at UTF-8's three-byte lead and continuation bytes (р-я at 0xE0-0xEF,
    а-п at 0xA0-0xAF), so about one word in two of a Russian cp866 text holds such a
    "character", always beside bad bytes. A two-byte one always counts: legacy prose hardly
    forms one (its lead bytes 0xC2-0xDF are capitals or box drawing, and a continuation byte
    must follow), and a damaged three-byte character often leaves one behind (``’`` with its
    first byte changed is a two-byte character and a lone bad byte)."""
    runs = _ESCAPED_RUN.findall(escaped)
    shaped = sum(map(_utf8_shaped, runs))
    return len(_VALID_HIGH.findall(escaped)) + shaped >= len(runs) - shaped


def _utf8_shaped(run: str) -> bool:
    lead, follow = ord(run[0]) - 0xDC00, (ord(run[1]) - 0xDC00 if len(run) > 1 else 0)
    return 0xC0 <= lead <= 0xF7 and 0x80 <= follow <= 0xBF


def _described(encoding: str, bad: int) -> str:
    return f"{encoding} ({bad} invalid byte{'s' if bad > 1 else ''} replaced by U+FFFD)" if bad else encoding


def _single_byte(data: bytes) -> Decoded | Reject:
    """A legacy single-byte export, in the code page whose reading misreads fewest words.

    Almost any bytes decode in every code page here (KOI8-R and cp866 define all 256), so
    decoding without an error proves nothing. Their upper halves differ: cp1252 has Latin
    letters there, the others Cyrillic letters in different places, and symbols where another
    has letters. Read in the wrong one, a Russian word becomes accented Latin letters
    (``Встреча`` → ``Âñòðå÷à``), a Latin word with an accent takes a Cyrillic letter (``Café``
    → ``Cafй``), and one Cyrillic code page's word read in another changes case inside itself
    or takes symbols (KOI8-R ``Встреча`` read as cp1251 is ``чУФТЕЮБ``, cp866's is ``‚бваҐз``).
    In the right one, each word is of one script and one case pattern (``_misread``).

    When two readings misread as few words, the case of whole words decides (``_Score``).
    """
    # The high bytes the file has, as each code page reads them: a code page that leaves one
    # undefined is out, and one that reads them all as an earlier one does gives the same text.
    high = bytes(sorted(set(data.translate(None, _ASCII_BYTES))))
    tables: dict[str, str] = {}
    for codec in _CODE_PAGES:
        try:
            chars = high.decode(codec)
        except UnicodeDecodeError:
            continue
        if chars not in tables.values():
            tables[codec] = chars
    words, starts = _judged(data)
    scores = {codec: _score(words, starts, codec) for codec in tables}
    # The case of whole words tells the Cyrillic code pages apart, which put upper and lower
    # case in different places; between cp1252 and them misread words alone decide, and cp1252
    # wins a tie (a page with no word of two non-ASCII letters, "é aaa", is no Russian page).
    # min keeps the first code page on a tie; KOI8-R defines every byte, so there is a reading.
    codec = min(scores, key=lambda c: (scores[c].misread, c != _CODE_PAGES[0], scores[c].case_signs))
    score = scores[codec]
    if score.misread and 2 * score.misread >= score.words:
        return Reject(
            reason="not_text",
            stage="decode",
            message=(
                f"not UTF-8, and no code page of {', '.join(_CODE_PAGES)} reads it as words of one "
                f"script and case ({score.misread} of {score.words} words with non-ASCII letters "
                "misread)"
            ),
        )
    return _checked(data.decode(codec), codec, data)


def _judged(data: bytes) -> tuple[list[tuple[bytes, int]], list[tuple[bytes, int]]]:
    """The distinct words with a high byte, and the distinct high-byte runs that begin a line or
    a sentence, with how often each occurs: in the whole file, or in its shortest prefix of
    64 KiB, 128 KiB, 256 KiB ... that has ``_MAX_DISTINCT`` distinct words.

    Every code page here reads ASCII as ASCII, so the bytes are split once and each distinct
    word is read in each code page. A prefix counts all of its words, so short and long words
    weigh as in the file; the doublings cost at most twice the last one."""
    end = 64 * 1024
    while True:
        words = Counter(_BYTE_WORD.findall(data, 0, end))
        if len(words) >= _MAX_DISTINCT or end >= len(data):
            break
        end *= 2
    return list(words.items()), list(Counter(_BYTE_START.findall(data, 0, end)).items())


class _Score(NamedTuple):
    """How a reading's words with a non-ASCII character look, worst first (an ASCII word reads
    the same in every code page).

    KOI8-R and cp1251 (also KOI8-R and cp866, ISO 8859-5 ...) swap upper and lower case, so a
    text with no capitalised word (``встреча с губернатором``) misreads no word in either:
    the wrong reading is in capitals (``ЧУФТЕЮБ У ЗХВЕТОБФПТПН``), and prose is mostly lower
    case. Mac Cyrillic and cp1251 differ only in the capitals (and ``я``), which cp1251 reads
    as punctuation or as lower-case letters (``Встреча`` → ``‚стреча``, ``Россия`` →
    ``ђоссиЯ``): a line or a sentence begins with a capital.

    Case cannot settle two kinds of short text. One all in capitals (a heading alone) has
    KOI8-R and cp1251 readings that are each other's with the case swapped, and is read as
    the lower-case one. A Mac Cyrillic one with no ``я``, whose capitals cp1251 reads as
    other capitals (``Путин`` → ``Џутин``), is read as cp1251. A paragraph has the lower-case
    words and the ``я`` that settle it."""

    misread: int
    capitals: int  # words of two or more letters, all upper case
    lower_starts: int  # lines and sentences whose first letter is lower case
    words: int

    @property
    def case_signs(self) -> tuple[int, int]:
        return self.capitals, self.lower_starts


def _score(words: list[tuple[bytes, int]], starts: list[tuple[bytes, int]], codec: str) -> _Score:
    """The ``_Score`` of ``codec``'s reading of a file's distinct words and line or sentence
    starts (``_judged``)."""
    misread = capitals = counted = 0
    for raw, n in words:
        for token in _SPACES.split(raw.decode(codec)):
            word = _word(token)
            if word.isascii() or not (word.strip(_NOT_LETTERS) or _letters_as_symbols(word)):
                continue  # an ASCII word, or marks and a symbol with no letter (–, ©, a rule: ═══)
            counted += n
            if _misread(word):
                misread += n
            elif len(word) > 1 and word.isupper():
                capitals += n
    lower_starts = sum(n for raw, n in starts if raw.decode(codec).lstrip(_NOT_LETTERS)[:1].islower())
    return _Score(misread, capitals, lower_starts, counted)


def _word(token: str) -> str:
    """A token without the punctuation around it («Встреча», “quoted”) and then without one
    Western symbol at each end ("25°C", "Brand™", "€5")."""
    word = token.strip(_MARKS)
    start = 1 if word[:1] in _TYPOGRAPHIC else 0
    end = -1 if len(word) > start + 1 and word[-1] in _TYPOGRAPHIC else len(word)
    return word[start:end]


def _letters_as_symbols(word: str) -> bool:
    """Two different symbols side by side with no letter: a word of a code page that has
    letters where this one has symbols (KOI8-R ``встреча`` read as cp866 is ``╫╙╘╥┼▐┴``)."""
    return len(set(word)) > 1


def _misread(word: str) -> bool:
    """A word no script writes: a symbol or a mark among its letters that no text puts there
    (``_FOREIGN_SYMBOLS``, ``_FOREIGN_MARKS``), letters of two scripts, Latin letters that are
    all accented (one letter alone, like French ``à``, is a word), or, in a word with no ASCII
    letter, a Western symbol (cp866 ``готовы`` read as cp1251 is ``Ј®в®ўл``) or an upper-case
    letter after a lower-case one (a real word is lower case, capitalised, in capitals, or an
    abbreviation with a case ending, ``МИДе``; ``чУФТЕЮБ`` is misread).

    A word with ASCII letters is spared the last two: it reads alike in every code page but
    for its accents, which mix scripts when misread, and English glues words ("MrPouyanné")
    and keeps what a damaged UTF-8 character leaves ("Russiaâ€™s")."""
    chars = set(word)  # a word may be a whole file long: each test is on its few distinct characters
    ascii_letters = any(c.isascii() for c in chars)
    if not _FOREIGN_SYMBOLS.isdisjoint(chars):
        return True
    if ascii_letters:
        # cp1252's own marks (†, „, …) in an English word are what a damaged UTF-8 character
        # read as cp1252 leaves ("Russiaâ€™s"), no sign of another code page.
        if not _NON_WESTERN_MARKS.isdisjoint(chars):
            return True
    elif not (_FOREIGN_MARKS.isdisjoint(chars) and _TYPOGRAPHIC_SET.isdisjoint(chars)):
        return True
    scripts = {_script(c) for c in chars} - {None}
    if len(scripts) > 1 or (not ascii_letters and _upper_after_lower(word)):
        return True
    return scripts == {"LATIN"} and len(word) > 1 and not ascii_letters


def _upper_after_lower(word: str) -> bool:
    first = _LOWER.search(word)
    rest = word[first.end() :] if first else ""
    return rest != rest.lower()


@cache  # the letters of the code pages: a few hundred
def _script(char: str) -> str | None:
    """LATIN or CYRILLIC (the first word of the letter's Unicode name), else None."""
    script = unicodedata.name(char, "").partition(" ")[0]
    return script if script in ("LATIN", "CYRILLIC") else None


def _control_count(text: str, encoding: str, data: bytes) -> int:
    if encoding in _ASCII_COMPATIBLE:
        return len(data) - len(data.translate(None, _CONTROL_BYTES))
    return len(_CONTROL.findall(text))


def _checked(text: str, codec: str, data: bytes, described: str | None = None) -> Decoded | Reject:
    """``data`` decoded to ``text`` by ``codec``, unless it is white space or binary data;
    ``described`` (the ``encoding`` given) says how, when the codec's name alone does not."""
    if not text or text.isspace():
        return Reject(reason="empty", stage="decode", message="file is white space only")
    controls = _control_count(text, codec, data)
    if "\x00" in text or controls > max(8, len(text) // 100):
        return Reject(
            reason="not_text", stage="decode", message=f"{controls} control characters: binary data"
        )
    return Decoded(text=text, encoding=described or codec)
