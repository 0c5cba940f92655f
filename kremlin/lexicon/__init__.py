"""The project's one lexicon: every word list, as data, loaded once at import.

Each ``*.txt`` file holds one entry per line (``#`` starts a comment line); ``localities.tsv``
holds ``country<TAB>locality`` rows. Parser features, speaker-label parsing, person
resolution and place normalisation all read their vocabulary from here, so a word is
listed in one place only. The lists are general English and general geography: nothing
in them is specific to a page of the corpus.
"""

from __future__ import annotations

from pathlib import Path

_DIR = Path(__file__).resolve().parent


def _entries(name: str) -> tuple[str, ...]:
    lines = (_DIR / name).read_text(encoding="utf-8").splitlines()
    return tuple(s for s in (line.strip() for line in lines) if s and not s.startswith("#"))


def words(name: str) -> frozenset[str]:
    """The entries of ``<name>.txt``."""
    return frozenset(_entries(f"{name}.txt"))


def _localities() -> dict[str, str]:
    out: dict[str, str] = {}
    for row in _entries("localities.tsv"):
        country, locality = row.split("\t")
        out[locality] = country
    return out


ANONYMOUS_SPEAKERS = words("anonymous_speakers")
ROLE_WORDS = words("role_words")
COUNTRIES = words("countries")
# Lower-case place words: single-word country names and the other place words.
PLACE_WORDS = words("place_words") | frozenset(c.lower() for c in COUNTRIES if " " not in c)
NAME_PARTICLES = words("name_particles")
CONNECTORS = words("connectors")
TITLES_BEFORE_NAME = words("titles_before_name")
GIVEN_NAMES = _entries("given_names.txt")
LOCALITY_COUNTRY = _localities()
FUNCTION_WORDS = words("function_words")
VERB_CUES = words("verb_cues")
PRONOUNS = words("pronouns") | frozenset(w.capitalize() for w in words("pronouns") if w.islower())
PLACE_PARTICLES = words("place_particles")
