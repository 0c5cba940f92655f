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
# A label has at most LABEL_MAX characters: longer text before a colon is a sentence.
LABEL_MAX = 300
_LABEL = re.compile(
    rf"^(?P<label>[^:]{{1,{LABEL_MAX}}}?)\s*(?::(?:\s+|$)|(?<=\)):|:(?=[A-Z“]))(?P<rest>.*)$", re.S
)


def split_label(paragraph: str) -> tuple[str, str] | None:
    """(label, rest) of `label: rest`, or None when no colon can end a label."""
    if ":" not in paragraph:
        return None
    m = _LABEL.match(paragraph)
    if not m:
        return None
    return m.group("label").strip(), m.group("rest").strip()


def core_label(label: str) -> str:
    """Label without trailing parentheticals such as '(retranslated)', or a last one the
    page did not close.

    Read from the end by index, one parenthetical at a time: removing them with a pattern
    pass each would cost the label's length per parenthetical (quadratic on a line of many)."""
    end = len(label)
    while True:
        while end and label[end - 1].isspace():
            end -= 1
        start = label.rfind("(", 0, end)
        if start < 0:
            break
        inner_end = end - 1 if label[end - 1] == ")" and end - 1 > start else end
        if label.find(")", start + 1, inner_end) >= 0:
            break  # `(a) b)`: the last parenthesis closes no parenthetical of the end
        end = start
    return label[:end].strip()
