"""Character-level normalisation shared by the parser and the id rules.

Two extractors give the same page with different characters (NBSP kept or turned into
spaces, zero-width noise): every comparison and every id goes through these functions
so that either style yields the same record.
"""

from __future__ import annotations

import re
import unicodedata

NBSP = "\u00a0"
# Invisible characters the site leaves in its text (word-joiners, BOM, soft hyphen).
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = re.compile(r"[\s\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


# Invisible characters kept in body text: the site publishes them inside words
# (`values \u200b\u200bthe`), and the oracle text of a paragraph keeps them.
_BODY_INVISIBLE = dict.fromkeys(map(ord, "\ufeff"), None)


def clean_line(line: str, *, keep_invisible: bool = False) -> str:
    """Published text of one line: NFC, NBSP and other spaces as one plain space, stripped.

    Zero-width characters and soft hyphens are removed unless ``keep_invisible`` (body
    text, see docs/data-dictionary.md); typographic quotes and dashes are kept as published.
    """
    line = unicodedata.normalize("NFC", line).translate(_BODY_INVISIBLE if keep_invisible else _INVISIBLE)
    return _SPACES.sub(" ", line).strip()


def strip_invisible(text: str) -> str:
    """Remove zero-width characters and soft hyphens (metadata fields, names, ids)."""
    return _SPACES.sub(" ", text.translate(_INVISIBLE)).strip()


def collapse(text: str) -> str:
    """White space collapsed to single spaces (keeps other characters)."""
    return _SPACES.sub(" ", text).strip()


def identity_key(text: str) -> str:
    """Aggressive form for identity hashing: case-folded, spaces and invisibles removed.

    White-space-only re-crawls (or a different extractor) must not change a page's id.
    """
    return _SPACES.sub("", unicodedata.normalize("NFKC", text).translate(_INVISIBLE)).casefold()
