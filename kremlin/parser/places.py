"""Is the first body line a place line (`The Kremlin, Moscow`, `Sochi`)?"""

from __future__ import annotations

import re

from kremlin.parser.dates import looks_like_date

_MAX_LEN = 70
_LOWER_OK = {"of", "the", "and", "de", "on", "in", "at", "upon", "na", "am", "sur", "del", "la", "le", "di"}
_SLIDER = re.compile(r"^\d+ of \d+$")


def looks_like_place(line: str, title: str) -> bool:
    if not line or len(line) > _MAX_LEN or line == title or looks_like_date(line) or _SLIDER.match(line):
        return False
    if any(c in line for c in ":;?!“”\"") or line in ("See also", "Additional", "Geography", "Topics", "Persons"):
        return False
    core = line[:-1] if line.endswith(".") else line
    if "." in core.replace("St.", "St"):
        return False
    words = re.findall(r"[\w’'-]+", core)
    if not words:
        return False
    lower = [w for w in words if w[0].islower() and w.lower() not in _LOWER_OK]
    # Places are proper names; a lower-case word is tolerated only in a comma-separated part.
    return not lower or ("," in core and len(lower) <= 2)
