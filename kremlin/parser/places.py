"""Is the first body line a place line (`The Kremlin, Moscow`, `Sochi`)?"""

from __future__ import annotations

import re

from kremlin.lexicon import PLACE_PARTICLES, PRONOUNS, VERB_CUES
from kremlin.parser.dates import looks_like_date

_MAX_LEN = 70
_SLIDER = re.compile(r"^\d+ of \d+$")
_NOT_PLACES = ("See also", "Additional", "Geography", "Topics", "Persons")
# Initials and short forms keep their full stop inside a place name (`Washington, D.C`, `St. Petersburg`).
_ABBREV = re.compile(r"\b(?:[A-Z]|St)\.")
# A caption of the lead photo opens with a preposition or, when longer, a gerund (`With …`,
# `At the …`, `Awarding X the Order of …`); a place name does not (`Beijing`, `Downing Street`).
_CAPTION_START = re.compile(r"^(?:(?:With|At|During|Before|After)\b|[A-Z][a-z]+ing(?: \S+){4})")
_YEAR = re.compile(r"\b(?:1[89]|20)\d\d\b")


def looks_like_place(line: str, title: str) -> bool:
    if not line or len(line) > _MAX_LEN or looks_like_date(line) or _SLIDER.match(line):
        return False
    if line.rstrip(".") == title.rstrip(".") or line in _NOT_PLACES:
        return False
    if any(c in line for c in ':;?!“”"') or _CAPTION_START.match(line) or _YEAR.search(line):
        return False
    core = line[:-1] if line.endswith(".") else line
    if "." in _ABBREV.sub("", core):
        return False
    # `Bangkok.` and `The Kremlin, Moscow.` are places with a stray full stop; a longer
    # phrase with one and no comma is a caption (`President Putin at the conference.`).
    if line.endswith(".") and len(core.split()) > 1 and "," not in core and "(" not in core:
        return False
    words = re.findall(r"[\w’'-]+", core)
    if not words or any(w.lower() in VERB_CUES or w in PRONOUNS for w in words):
        return False
    lower = [w for w in words if w[0].islower() and w.lower() not in PLACE_PARTICLES]
    # Places are proper names; a lower-case word is tolerated only in a comma-separated part.
    return not lower or ("," in core and len(lower) <= 2)
