"""Text-level handling of person names on en.kremlin.ru pages.

Two kinds of strings carry names:

* footer Persons tags, surname first (``Shoigu Sergei``, ``Al Nahyan Mohammed bin Zayed``), a
  few with a role inside (``Kirill Patriarch of Moscow and All Russia``);
* bold speaker labels, given name first, usually after a title or role
  (``Emergencies Minister Vladimir Puchkov``), sometimes ``Name, role``, sometimes with a
  ``(retranslated)``-style note, sometimes no name at all (``Question``) or not speech at all
  (``Entry from 10.00 am to 11.00 am``).

The role/name boundary is found from the end of the label: the name is the trailing run of
name-like words, cut at the first known given name in that run. Role and place vocabulary words
(``Region``, ``Minister``, ``Russia``...) end the run, so ``Governor of Vladimir Region Svetlana
Orlova`` does not take the city for a given name. The built-in given-name list is general; the
resolver passes a richer :class:`NameLexicon` built from the footer tags it sees.

``token_key`` folds transliteration variants (Sergei/Sergey, Yury/Yuri/Yuriy, Dmitry/Dmitriy,
Alexander/Aleksandr, Tkachev/Tkachyov, Vasilyev/Vasiliev, -ii/-iy/-y endings, diacritics) so that
spellings of one name compare equal; ``name_key`` is order-free, so a surname-first tag and a
given-name-first label of the same person get the same key.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from kremlin import lexicon
from kremlin.textnorm import strip_invisible

# ----------------------------------------------------------------------------- vocabularies


# The vocabularies live in the shared lexicon (kremlin/lexicon/*.txt).
# Words that make a label an unnamed speaker when no name follows them.
ANON_WORDS = lexicon.ANONYMOUS_SPEAKERS
# Capitalised words that belong to titles, organisations and places, never to a person's name.
# They end the name run when read from the end of a label.
ROLE_WORDS = lexicon.ROLE_WORDS
# Countries and other place words that commonly stand just before a name in a title
# (``President of Russia Vladimir Putin``).
PLACE_WORDS = lexicon.PLACE_WORDS
# Lower-case parts of personal names (``Bashar al-Assad`` is one word; ``bin``, ``von der`` are not).
PARTICLES = lexicon.NAME_PARTICLES

_ROMAN = re.compile(r"^(?:I|II|III|IV|V|VI|VII|VIII|IX|X|XI|XII)$")


def _fold_ascii(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


@lru_cache(maxsize=65536)
def token_key(token: str) -> str:
    """Spelling-insensitive key of one name word.

    The rewrites follow the variation actually seen between transliteration systems:
    ks/x, kh/h, yo/e, y/i, doubled letters, ie/ye, final -ii/-iy/-y, -andr/-ander.
    """
    t = _fold_ascii(token).lower()
    t = re.sub(r"[^a-z]", "", t)
    if not t:
        return ""
    t = t.replace("ks", "x").replace("kh", "h").replace("yo", "e")
    t = t.replace("y", "i")
    t = re.sub(r"(.)\1+", r"\1", t)
    t = t.replace("ie", "e")
    t = re.sub(r"andr$", "ander", t)
    # Mohammed/Mohammad/Muhammad/Mohamed are one name on this site.
    t = re.sub(r"^m[ou]h[ae]m[ae]d$", "mohamed", t)
    return t


def is_particle(token: str) -> bool:
    return token.lower() in PARTICLES


def name_tokens(name: str) -> list[str]:
    return [t for t in name.split() if t]


def name_key(name: str) -> tuple[str, ...]:
    """Order-free key of a name: sorted token keys, particles and initials dropped."""
    keys = {token_key(t) for t in name.split() if not is_particle(t) and not _is_initial(t)}
    keys.discard("")
    return tuple(sorted(keys))


def _is_initial(token: str) -> bool:
    return bool(re.fullmatch(r"[A-Z]\.", token))


def initials(name: str) -> tuple[str, ...]:
    return tuple(t[0].lower() for t in name.split() if _is_initial(t))


def slugify(name: str) -> str:
    s = _fold_ascii(name).lower()
    s = re.sub(r"[’'`]", "", s)
    s = re.sub(r"[^a-z0-9]+", "-", s).strip("-")
    return s or "person"


@dataclass(frozen=True)
class NameLexicon:
    """Given names and surnames (as ``token_key``s) that help find where a role ends."""

    given: frozenset[str] = field(default_factory=frozenset)
    surnames: frozenset[str] = field(default_factory=frozenset)

    def extend(self, given: set[str] | frozenset[str], surnames: set[str] | frozenset[str]) -> NameLexicon:
        return NameLexicon(self.given | frozenset(given), self.surnames | frozenset(surnames))


DEFAULT_LEXICON = NameLexicon(given=frozenset(token_key(n) for n in lexicon.GIVEN_NAMES))


# ----------------------------------------------------------------------------- speaker labels


@dataclass(frozen=True)
class Speaker:
    kind: Literal["person", "anonymous", "heading"]  # heading = bold schedule item, not speech
    name: str | None  # given name first, title/role removed, "(retranslated)" removed
    role: str | None  # title/role printed around the name; for anonymous speakers the label class


_CONNECTORS = lexicon.CONNECTORS
_ROYAL = re.compile(
    r"^(?P<title>(?:(?:Deputy )?Crown |Ruling |Grand )?(?:King|Queen|Prince|Princess|Emir|Sultan|Sheikh|Duke|Patriarch|Pope|Cardinal))"
    r" (?P<name>[A-Z][^\s]*(?: (?:[A-Z][^\s]*|bin|ibn|bint|al))*?) of (?P<place>[A-Z].*)$"
)
_TITLE_BEFORE_NAME = lexicon.TITLES_BEFORE_NAME


def clean_label(label: str) -> str:
    """Label text with invisible characters, glued words and trailing colons repaired."""
    s = strip_invisible(label).rstrip(":").strip()
    # Markup sometimes drops the space between bold runs: "VladimirPutin", "Conde(retranslated)".
    s = re.sub(r"(?<=\w)\(", " (", s)
    s = re.sub(r"\b([A-Z][a-z]{3,})of(?= [A-Z])", r"\1 of", s)
    s = " ".join(_split_camel(w) for w in s.split(" "))
    s = re.sub(r"\bof(?=[A-Z][a-z])", "of ", s)
    s = re.sub(r"\b([A-Z])\.(?=[A-Z][a-z])", r"\1. ", s)
    return s


def _split_camel(word: str) -> str:
    # "McCain"/"MacDonald" are real names; any other lower-to-upper step is a lost space.
    m = re.match(r"^(Ma?c)(?=[A-Z])", word)
    head, rest = (m.group(1), word[m.end() :]) if m else ("", word)
    # Split "VladimirPutin"/"VladimirPUTIN" but not "KleYMENOV" (a mis-cased single word).
    rest = re.sub(r"(?<=[a-z])(?=[A-Z][a-z])", " ", rest)
    rest = re.sub(r"(?<=[A-Za-z][a-z]{3})(?=[A-Z]{2})", " ", rest)
    return head + rest


_BREAK = "\u00a6"  # stands where a parenthetical was, so a place in it cannot join the name


def _strip_parentheticals(s: str) -> str:
    s = re.sub(r"\([^()]*\)", f" {_BREAK} ", s)
    s = re.sub(r"\([^()]*$", " ", s)  # unbalanced trailing note
    s = re.sub(r"\s+", " ", s).strip(f" ,;{_BREAK}")
    return s.replace(f" {_BREAK},", ",")


def _unbreak(s: str) -> str:
    return re.sub(r"\s+", " ", s.replace(_BREAK, " ")).strip(" ,;")


def _decap(s: str) -> str:
    """Title-case a label typed in capitals ("GOVERNOR OF CALIFORNIA ARNOLD SCHWARZENEGGER")."""
    letters = [c for c in s if c.isalpha()]
    if letters and all(c.isupper() for c in letters) and len(letters) > 3:
        words = []
        for w in s.split():
            if _ROMAN.match(w):
                words.append(w)
            elif w.lower() in _CONNECTORS:
                words.append(w.lower())
            else:
                words.append("-".join(p.capitalize() for p in w.split("-")))
        return " ".join(words)
    return s


def _fix_case(tok: str) -> str:
    if (
        len(tok) > 2
        and not _ROMAN.match(tok)
        and not re.match(r"^Ma?c[A-Z]", tok)
        and (tok.isupper() or sum(c.isupper() for c in tok[1:]) >= 3)
    ):
        return "-".join(p.capitalize() for p in tok.split("-"))
    return tok


def _decap_tail(s: str) -> str:
    """Title-case capitals at the end of a label ("Protection MINISTER MAXIM TOPILIN", "Vladimir PUTIN")."""
    words = s.split(" ")
    k = len(words)
    while k > 0 and (words[k - 1].isupper() or words[k - 1].lower() in _CONNECTORS) and len(words[k - 1]) > 1:
        k -= 1
    tail = words[k:]
    caps = [w for w in tail if w.isupper() and not _ROMAN.match(w)]
    if len(caps) >= 2 or (
        len(caps) == 1 and k > 0 and len(tail) == 1 and words[k - 1][:1].isupper() and len(caps[0]) > 3
    ):
        fixed = [w.lower() if w.lower() in _CONNECTORS else _fix_case(w) for w in tail]
        return " ".join(words[:k] + fixed)
    return s


def _bare(tok: str) -> str:
    return re.sub(r"(?:’s|'s|’S|'S)$", "", tok).strip(".,;:’'\"").lower()


def _name_like(tok: str, all_caps_ok: bool) -> bool:
    if _is_initial(tok) or _ROMAN.match(tok):
        return True
    if any(ch.isdigit() for ch in tok):
        return False
    b = _bare(tok)
    if b in ROLE_WORDS or b in PLACE_WORDS or b in ANON_WORDS:
        return False
    head = re.sub(r"^(?:al|el|ad|as|ash|an|ar|at|az|d|o)[-’']", "", tok)
    if not head or not head[0].isupper():
        return False
    if not all_caps_ok and len(tok) > 1 and tok.replace("-", "").isupper():
        return False  # acronyms: ATOMMASH, LUKOIL, FNPR
    return bool(re.fullmatch(r"[^\W\d_][\w’'\-.]*", tok))


def _split_role_name(text: str, lex: NameLexicon, whole: bool) -> tuple[str, str | None]:
    """(role, name) of one comma-free segment, name None when the segment names nobody.

    ``whole`` says the segment is the entire label, where a lone word is taken as a name
    (``Putin``, ``Alina``) rather than as a place (``Question from Izhevsk``).
    """
    toks = [t for t in text.split() if t]
    if not toks:
        return "", None
    all_caps_ok = False
    i = len(toks)
    while i > 0:
        t = toks[i - 1]
        if _name_like(t, all_caps_ok) or (is_particle(t) and i < len(toks)):
            i -= 1
            continue
        break
    run = toks[i:]
    while run and is_particle(run[0]):
        run = run[1:]
        i += 1
    if not run:
        return text, None
    core = [k for k, t in enumerate(run) if not is_particle(t) and not _ROMAN.match(t)]
    start = None
    for k in core:
        key = token_key(run[k])
        rest = [j for j in core if j > k]
        if (key in lex.given or _is_initial(run[k])) and (rest or len(core) == 1):
            start = k
            break
    before = toks[i - 1] if i > 0 else None
    if start is None:
        if len(core) == 1:
            key = token_key(run[core[0]])
            ok = (
                (i == 0 and whole)
                or key in lex.surnames
                or (before is not None and _bare(before) in _TITLE_BEFORE_NAME)
            )
            if not ok:
                return text, None
            start = 0
        elif len(core) == 3 and before is not None and before.lower() in _CONNECTORS:
            # "Prime Minister of Bavaria Horst Seehofer": the first word ends a place name
            start = core[1]
        elif len(core) <= 3:
            start = 0
        else:
            start = core[-2]
    name_toks = [_fix_case(t) for t in run[start:]]
    role = " ".join(toks[: i + start]).strip(" ,;–—-")
    return role, " ".join(name_toks)


def _parse(label: str, lex: NameLexicon) -> Speaker:
    s = _decap(clean_label(label))
    core = _decap_tail(_strip_parentheticals(s))
    if not core:
        return Speaker("heading", None, None)
    m = _ROYAL.match(core)
    if m:
        return Speaker("person", m.group("name"), f"{m.group('title')} of {m.group('place')}")
    segments = [seg.strip() for seg in core.split(",") if seg.strip()]
    role: str | None
    name: str | None = None
    if len(segments) == 1:
        role, name = _split_role_name(core, lex, whole=True)
    else:
        # "Rosneft CEO, Chairman of the Board Igor Sechin": the name ends the label, and a
        # known given name confirms it. "Tatyana Remezova, reporter at VGTRK": the name
        # leads. "Sports commentator Dmitry Guberniyev, ceremony moderator": inside.
        last_role, last_name = _split_role_name(segments[-1], lex, whole=False)
        confirmed = last_name is not None and any(
            token_key(t) in lex.given or _is_initial(t) for t in last_name.split()
        )
        first_role, first_name = _split_role_name(segments[0], lex, whole=True)
        if last_name is not None and confirmed:
            role = ", ".join([*segments[:-1], last_role]) if last_role else ", ".join(segments[:-1])
            name = last_name
        elif first_name is not None and not first_role:
            name, role = first_name, ", ".join(segments[1:])
        elif last_name is not None:
            role = ", ".join([*segments[:-1], last_role]) if last_role else ", ".join(segments[:-1])
            name = last_name
        else:
            role, name = core, None
            for k, seg in enumerate(segments):
                r, n = _split_role_name(seg, lex, whole=k == 0)
                if n is not None:
                    name = n
                    role = ", ".join([x for x in [*segments[:k], r, *segments[k + 1 :]] if x])
                    break
    if name is not None:
        return Speaker("person", name, _unbreak(role or "") or None)
    core = _unbreak(core)
    words = [_bare(w) for w in core.split()]
    if any(w in ANON_WORDS for w in words[:1] + words[-1:]) or (
        len(words) <= 3 and any(w in ANON_WORDS for w in words)
    ):
        return Speaker("anonymous", None, core)
    last = core.split()[-1]
    if not re.search(r"\d", core) and not core.startswith("The ") and last[:1].isupper():
        # A title with no name ("Executive Chairman of the World Economic Forum") is a speaker.
        return Speaker("anonymous", None, core)
    return Speaker("heading", None, None)


def parse_speaker_label(label: str, lexicon: NameLexicon | None = None) -> Speaker:
    """Split a speaker label into kind, name (given name first) and role."""
    return _parse(label, lexicon if lexicon is not None else DEFAULT_LEXICON)


# ----------------------------------------------------------------------------- footer tags


@dataclass(frozen=True)
class TagName:
    name: str  # given name first
    sort_name: str  # surname first, role removed
    surname: tuple[str, ...]  # surname words (particles included)
    given: tuple[str, ...]


@lru_cache(maxsize=65536)
def parse_tag(tag: str) -> TagName:
    """Split a surname-first footer tag; tags with a role inside keep only the name part."""
    s = re.sub(r"\s+", " ", tag.replace("\u00a0", " ")).strip()
    toks = s.split()
    if any(t in _CONNECTORS for t in toks):
        # "Ruling Prince of Monaco Albert II" (role first) or "Kirill Patriarch of ..." (name first)
        if _bare(toks[0]) in ROLE_WORDS:
            sp = parse_speaker_label(s)
            nm = sp.name or s
            return TagName(nm, nm, tuple(nm.split()[-1:]), tuple(nm.split()[:-1]))
        k = 0
        while k < len(toks) and _bare(toks[k]) not in ROLE_WORDS and toks[k] not in _CONNECTORS:
            k += 1
        nm = " ".join(toks[:k]) or s
        return TagName(nm, nm, tuple(nm.split()[:1]), tuple(nm.split()[1:]))
    k = 0
    while k < len(toks) - 1 and is_particle(toks[k]):
        k += 1
    surname = toks[: k + 1]
    given = toks[k + 1 :]
    if not given or all(_ROMAN.match(t) for t in given):
        return TagName(s, s, tuple(toks), ())
    return TagName(" ".join(given + surname), s, tuple(surname), tuple(given))


def sort_name_of(name: str) -> str:
    """Surname-first form of a given-name-first name (last word and its particles to the front)."""
    toks = name.split()
    if len(toks) < 2 or _ROMAN.match(toks[-1]):
        return name
    k = len(toks) - 1
    while k > 1 and is_particle(toks[k - 1]):
        k -= 1
    return " ".join(toks[k:] + toks[:k])
