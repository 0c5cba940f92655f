"""Bytes → page text, or a reject with a reason.

Landing folders receive whatever a crawler or a person drops there: empty files,
images, UTF-16 exports, legacy code pages. Decoding never raises; it either returns
text (and the encoding it used) or a ``Reject``.

A byte order mark names the encoding (UTF-8, UTF-16, UTF-32). Without one, a file is UTF-8
when most of its non-ASCII bytes form valid UTF-8 sequences: a few bad bytes (a damaged or
cut character, CESU-8 surrogates, an overlong form) each become U+FFFD rather than turn the
whole file into a legacy code page. Any other file is a legacy single-byte export, read in
the code page in which its letters make words of one script (``_single_byte``).
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass
from functools import cache

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
_VALID_HIGH = re.compile("[^\x00-\x7f\udc80-\udcff]")  # a validly decoded non-ASCII character
# The single-byte code pages legacy exports of a page come in: cp1252 (Western: an English
# page's own) first, so that it wins a tie; cp1251 (Cyrillic: Russian Windows).
_CODE_PAGES = ("cp1252", "cp1251")
_WORD = re.compile(r"[^\W\d_]+")  # a run of letters

_CONTROL = re.compile(f"[{re.escape(CONTROL_CHARS)}]")
_CONTROL_BYTES = CONTROL_CHARS.encode("ascii")
# Encodings in which a C0 control character is always the one byte of the same value (UTF-8
# continuation bytes and the code pages' upper halves are >= 0x80 and decode to no C0
# character), so the bytes can be counted instead of the text (a regex pass costs ~10x more).
_ASCII_COMPATIBLE = frozenset({"utf-8", "utf-8-sig", "cp1252", "cp1251"})


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
    Runs and characters are counted, not bytes: one damaged character is several bad bytes."""
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

    Almost any bytes decode in either code page, so decoding without an error proves
    nothing. Their upper halves differ: cp1252 has Latin letters there, cp1251 Cyrillic
    ones. Read in the wrong one, a Russian word becomes a run of accented Latin letters
    (``Встреча`` → ``Âñòðå÷à``) and a Latin word with an accent takes a Cyrillic letter
    (``Café`` → ``Cafй``); in the right one, each word is of one script, and a Latin word
    has basic letters too (``_misread``).
    """
    readings: dict[str, str] = {}
    for codec in _CODE_PAGES:
        try:
            readings[codec] = data.decode(codec)
        except UnicodeDecodeError:
            continue  # a byte this code page leaves undefined
    if not readings:
        return Reject(
            reason="not_text",
            stage="decode",
            message="not UTF-8, and has bytes that cp1252 and cp1251 both leave undefined",
        )
    counts = {codec: _misread_words(text) for codec, text in readings.items()}
    codec = min(readings, key=lambda c: counts[c][0])  # the first code page on a tie
    misread, words = counts[codec]
    if misread and 2 * misread >= words:
        return Reject(
            reason="not_text",
            stage="decode",
            message=(
                f"not UTF-8, and neither cp1252 nor cp1251 reads it as words of one script "
                f"({misread} of {words} words with non-ASCII letters misread)"
            ),
        )
    return _checked(readings[codec], codec, data)


def _misread_words(text: str) -> tuple[int, int]:
    """(misread words, words with a non-ASCII letter) of a text."""
    words = [w for w in _WORD.findall(text) if not w.isascii()]
    return sum(map(_misread, words)), len(words)


def _misread(word: str) -> bool:
    """A word no script writes: letters of two scripts, or Latin letters that are all
    accented (one letter alone, like French ``à``, is a word)."""
    scripts = {_script(c) for c in word} - {None}
    if len(scripts) > 1:
        return True
    return scripts == {"LATIN"} and len(word) > 1 and not any(c.isascii() for c in word)


@cache  # the letters of two code pages: a few hundred
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
