"""Speech turns: a paragraph the line labeller marks as opening a turn is split into its
speaker label and the rest; the turn runs to the next turn's paragraph.

The page marks a speaker by bold text and a colon; the plain text keeps only the colon, so
*whether* a paragraph opens a turn is the labeller's decision (``T``), and this module only
finds the colon that ends the label.
"""

from __future__ import annotations

import re

# `Sebastian Kurz (retranslated):Mr President` has no space after the colon.
# `Transport Minister Maxim Sokolov:Mr President` has lost the space before a capital.
_LABEL = re.compile(r"^(?P<label>[^:]{1,300}?)\s*(?::(?:\s+|$)|(?<=\)):|:(?=[A-Z“]))(?P<rest>.*)$", re.S)
# `(retranslated)`, or `(retranslated` when the page lost the closing parenthesis.
_PAREN = re.compile(r"\s*\([^()]*\)?\s*$")


def split_label(paragraph: str) -> tuple[str, str] | None:
    """(label, rest) of `label: rest`, or None when no colon can end a label."""
    if ":" not in paragraph:
        return None
    m = _LABEL.match(paragraph)
    if not m:
        return None
    return m.group("label").strip(), m.group("rest").strip()


def core_label(label: str) -> str:
    """Label without trailing parentheticals such as '(retranslated)'."""
    prev = None
    while prev != label:
        prev = label
        label = _PAREN.sub("", label)
    return label.strip()
