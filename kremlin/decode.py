"""Bytes → page text, or a reject with a reason.

Landing folders receive whatever a crawler or a person drops there: empty files,
images, UTF-16 exports, legacy code pages. Decoding never raises; it either returns
text (and the encoding it used) or a ``Reject``.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

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


_CONTROL = re.compile(f"[{re.escape(CONTROL_CHARS)}]")
_CONTROL_BYTES = CONTROL_CHARS.encode("ascii")
# Encodings in which a C0 control character is always the one byte of the same value (UTF-8
# continuation bytes and the code pages' upper halves are >= 0x80 and decode to no C0
# character), so the bytes can be counted instead of the text (a regex pass costs ~10x more).
_ASCII_COMPATIBLE = frozenset({"utf-8", "utf-8-sig", "cp1252", "cp1251"})


@dataclass(frozen=True)
class Decoded:
    text: str
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
    for bom, enc in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return _checked(data.decode(enc), enc, data)
            except UnicodeDecodeError as exc:
                return Reject(reason="not_text", stage="decode", message=f"invalid {enc}: {exc}")
    if b"\x00" in data:
        return Reject(
            reason="not_text", stage="decode", message="NUL bytes in file (binary or UTF-16 without BOM)"
        )
    try:
        return _checked(data.decode("utf-8"), "utf-8", data)
    except UnicodeDecodeError:
        pass
    # Legacy single-byte exports of an English page: cp1252 covers typographic quotes;
    # cp1251 (Russian Windows) is the other code page such files come in.
    for enc in ("cp1252", "cp1251"):
        try:
            return _checked(data.decode(enc), enc, data)
        except UnicodeDecodeError:
            continue
    return Reject(reason="not_text", stage="decode", message="not valid UTF-8, UTF-16, cp1252 or cp1251")


def _control_count(text: str, encoding: str, data: bytes) -> int:
    if encoding in _ASCII_COMPATIBLE:
        return len(data) - len(data.translate(None, _CONTROL_BYTES))
    return len(_CONTROL.findall(text))


def _checked(text: str, encoding: str, data: bytes) -> Decoded | Reject:
    if not text or text.isspace():
        return Reject(reason="empty", stage="decode", message="file is white space only")
    controls = _control_count(text, encoding, data)
    if "\x00" in text or controls > max(8, len(text) // 100):
        return Reject(
            reason="not_text", stage="decode", message=f"{controls} control characters: binary data"
        )
    return Decoded(text=text, encoding=encoding)
