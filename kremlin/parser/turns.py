"""Speech turns: a paragraph that opens with a speaker label and a colon starts a turn.

The page marks speakers in bold, which plain text loses, so a label is recognised by its
shape: a short run of capitalised words (a title and a name), an anonymous speaker word
(`Question`, `Remark`…), optionally followed by a parenthetical like `(retranslated)`.
Sentences that merely contain a colon (`My question is: …`, `Contact telephone numbers:`)
do not qualify.
"""

from __future__ import annotations

import re

from kremlin.parser.words import CLAUSE_OPENERS

ANONYMOUS = {
    "question",
    "questions",
    "remark",
    "remarks",
    "reply",
    "answer",
    "voice",
    "voices",
    "response",
    "comment",
    "interjection",
    "audience",
    "moderator",
    "host",
    "presenter",
    "correspondent",
    "journalist",
    "participant",
    "representative",
    "speaker",
    "from the audience",
    "voice from the audience",
    "voices from the audience",
    "laughter",
    "applause",
    "operator",
    "call centre operator",
    "volunteer",
    "volunteers",
    "student",
    "students",
    "reporter",
    "anchor",
    "interpreter",
    "translator",
}
# `Question from Perm Territory`, `Remark from the audience`
_ANON_FROM = re.compile(r"^(?:Question|Remark|Reply|Answer|Comment|Voice|Response)s? (?:from|by) ")
# Words that end a role, never a name: `Interior Minister:` alone is a list entry, not a speaker.
ROLE_TAIL = {
    "minister",
    "president",
    "governor",
    "chairman",
    "chairwoman",
    "director",
    "secretary",
    "ambassador",
    "mayor",
    "head",
    "speaker",
    "chief",
    "commander",
    "prosecutor",
    "premier",
    "deputy",
    "leader",
    "officer",
    "envoy",
    "advisor",
    "adviser",
    "aide",
    "rector",
    "ceo",
}
# `Sebastian Kurz (retranslated):Mr President` has no space after the colon.
# `Transport Minister Maxim Sokolov:Mr President` has lost the space before a capital.
_LABEL = re.compile(r"^(?P<label>[^:]{1,300}?)\s*(?::(?:\s+|$)|(?<=\)):|:(?=[A-Z“]))(?P<rest>.*)$", re.S)
# `(retranslated)`, or `(retranslated` when the page lost the closing parenthesis.
_PAREN = re.compile(r"\s*\([^()]*\)?\s*$")
_CONNECTORS = {
    "of",
    "the",
    "and",
    "for",
    "de",
    "da",
    "del",
    "der",
    "van",
    "von",
    "bin",
    "al",
    "el",
    "ibn",
    "la",
    "le",
    "du",
    "on",
    "in",
    "at",
    "to",
    "with",
    "dos",
    "di",
    "y",
    "a",
    "an",
}
# Full stops that do not end a sentence: initials, titles, and outlets named by their
# web address (`Editor-in-Chief of Lenta.ru`).
_ABBREV_DOT = re.compile(
    r"\b(?:[A-Z]|St|Mr|Mrs|Ms|Dr|Jr|Sr|Prof|Gen|Lt|Col|Adm)\.|\b[A-Z]{2,}\.[A-Z]{2,}\b"
    r"|\b[A-Za-z]+\.(?:[Rr]u|RU|[Cc]om|org|net)\b"
)
_NAME_WORD = re.compile(
    r"^[A-Z][\w’'`.-]*$|^[A-Z]{2,}$|^Mc[A-Z]\w*$|^[A-Z]\w*-[A-Za-z]\w*$"
    r"|^(?:al|el|ad|as|ash|ben|bin|ibn|de|da|di|van|von|le|la|du)-[A-Z]\w*$"
)
# Particles inside a name (`Alexander Van der Bellen`, `Abdullah II of Jordan`).
_NAME_PARTICLES = {
    "der",
    "de",
    "van",
    "von",
    "da",
    "di",
    "du",
    "la",
    "le",
    "bin",
    "ibn",
    "al",
    "el",
    "of",
    "y",
    "dos",
}
# `VladimirPutin`: a name whose space the page lost.
_CAMEL = re.compile(
    r"^(?:[A-Z][a-z]+){2,}$|^[A-Z][a-z]+(?:of|the)?(?:[A-Z][a-z]+)+$|^[A-Z][a-z]+[A-Z]{2,}$|^[A-Z]\.\s?[A-Z][a-z]{2,}$"
)


def split_label(paragraph: str) -> tuple[str, str] | None:
    m = _LABEL.match(paragraph)
    if not m:
        return None
    return m.group("label").strip(), m.group("rest").strip()


def _core(label: str) -> str:
    """Label without trailing parentheticals such as '(retranslated)'."""
    prev = None
    while prev != label:
        prev = label
        label = _PAREN.sub("", label)
    return label.strip()


def is_speaker_label(label: str, page_speakers: set[str] | frozenset[str] = frozenset()) -> bool:
    core = _core(label)
    if not core or not (core[0].isalpha() or core[0].isdigit()):
        return False
    if core.lower() in ANONYMOUS or label in page_speakers or core in page_speakers or _ANON_FROM.match(core):
        return True
    if _CAMEL.match(core) and len(core) >= 6:
        return True
    if any(c in core for c in '?!;“”"«»'):
        return False
    if "." in _ABBREV_DOT.sub("", core):
        return False
    words = core.replace(",", " ").split()
    if not words or len(words) > 30:
        return False
    if words[0] in _NOT_LABEL_START:
        return False
    if "," in core:
        # `Alisa Shmelyova, metrology engineer`, `Sports commentator Ivan Petrov, moderator`:
        # a name, then the role. Roles are noun phrases whose -ing/-ed words are not verbs
        # (`testing department foreman`, `honoured archivist`).
        head = core.split(",", 1)[0].split()
        if len(head) >= 2 and len(_name_tail(head)) >= 2:
            return not _verb_in_label(core)
    tail = [w for w in _name_tail(words) if w not in _NAME_PARTICLES]
    if len(tail) < 2:
        return False
    if tail[0].lower() in ROLE_TAIL:
        return False
    roles = [k for k, w in enumerate(tail) if w.lower() in ROLE_TAIL]
    if roles and len(tail[: roles[0]]) < 2:
        return False  # `Minister of Energy`: a role with no name after it
    if all(w.lower() in _CONNECTORS or not w[0].islower() for w in words):
        return True
    # Lower-case role words (`Plenary session moderator Ryan Chilcote`, `… of small and
    # medium-sized businesses Ivan Petrov`) but no finite verb.
    return not _verb_in_label(core)


_NOT_LABEL_START = CLAUSE_OPENERS | frozenset(["About", "Following", "Regarding", "Text", "To", "Your"])


def _name_tail(words: list[str]) -> list[str]:
    """Capitalised words ending the label (particles inside the name allowed)."""
    tail: list[str] = []
    for w in reversed(words):
        if _NAME_WORD.match(w) or tail and w in _NAME_PARTICLES:
            tail.append(w)
        else:
            break
    return tail


_VERBISH = re.compile(
    r"\b(?:is|are|was|were|has|have|had|will|would|can|could|should|must|did|does|do|said|says|I|we|you|"
    r"my|our|your|let|please|it|this|that|here|there|what|who|how|why|[a-z]{3,}ed|[a-z]+ing)\b"
)


_FINITE = re.compile(
    r"\b(?:is|are|was|were|has|have|had|will|would|can|could|should|must|did|does|do|said|says|I|we|you|"
    r"my|our|your|let|please|it|this|that|here|there|what|who|how|why|"
    # verbs that introduce a quoted text (`The letter to X, Y, reads, in part:`)
    r"reads?|says|wrote|writes|sent|sends|notes|states|stressed|stresses|adds|added|continues)\b"
)


# An -ed/-ing word is a verb when an object or a preposition follows (`ordered the
# Government`, `talked to`), an adjective before a noun (`medium-sized businesses`).
_VERB_USE = re.compile(
    r"\b[a-z]{3,}(?:ed|ing) (?:(?:the|a|an|to|on|in|at|for|with|by|from|of|about|that|this|these|his|"
    r"her|their|its|several|some|all|more)\b|[A-Z])"
)


def _verb_in_label(text: str) -> bool:
    return bool(_FINITE.search(text) or _VERB_USE.search(text))


def _has_verb(text: str) -> bool:
    return bool(_VERBISH.search(text))


def _weak_rest(rest: str) -> bool:
    return rest.startswith("“") or rest[:1].islower()


def find_turn_starts(paragraphs: list[str], tag_surnames: set[str]) -> list[tuple[int, str, str]]:
    """(paragraph index, label, rest) for each paragraph that opens a speech turn.

    Two passes: the first collects confident labels, so that short forms a page uses
    later (`Putin:` after `Vladimir Putin:`) are recognised in the second.
    """
    candidates = [(i, split_label(p)) for i, p in enumerate(paragraphs)]
    confident: set[str] = set()
    for _, parts in candidates:
        # A quoted text after the label (`Perm Territory: “Why …”`) is a message read out,
        # and one going on in lower case (`Question: at what cost?`) a colon inside a
        # sentence: neither confirms a speaker by itself.
        if parts and is_speaker_label(parts[0]) and not _weak_rest(parts[1]):
            core = _core(parts[0])
            confident.add(parts[0])
            confident.add(core)
            confident.update(w for w in core.split()[-1:])
    known = confident | tag_surnames | _introduced(paragraphs, candidates)
    out = []
    for i, parts in candidates:
        if not parts or (_weak_rest(parts[1]) and _core(parts[0]) not in known and not _titled_name(parts)):
            continue
        if is_speaker_label(parts[0], known):
            out.append((i, parts[0], parts[1]))
    listed = _name_list(candidates)
    out = [s for s in out if s[0] not in listed]
    headings = _heading_turns(paragraphs, candidates, {i for i, _, _ in out})
    if headings:
        out = sorted(out + [(i, *candidates[i][1]) for i in headings])  # type: ignore[misc]
    return out


_FIRST_NAME = re.compile(r"^[A-Z][a-z]{2,}$")


def _introduced(paragraphs: list[str], candidates: list[tuple[int, tuple[str, str] | None]]) -> set[str]:
    """One-word labels (`Alina: Good afternoon.`) that the page shows to be a person: the
    speaker says `my name is Alina`, or another turn addresses her (`Alina, we …`)."""
    out: set[str] = set()
    for _, parts in candidates:
        if not parts or not _FIRST_NAME.match(parts[0]) or parts[0] in _NOT_LABEL_START:
            continue
        name = parts[0]
        said = re.compile(rf"\b[Mm]y name is {name}\b")
        addressed = any(q[1].startswith(f"{name}, ") for _, q in candidates if q and q[0] != name)
        if addressed or any(said.search(p) for p in paragraphs):
            out.add(name)
    return out


def _titled_name(parts: tuple[str, str]) -> bool:
    """`Commander of the 2nd Army Major General Rustam Muradov: nd Guards …`: a post followed
    by a full name is a speaker even when the text after it lost its capital (a superscript)."""
    label, rest = parts
    if not rest[:1].islower():
        return False
    words = _core(label).split()
    tail = _name_tail(words)
    return len(words) >= 4 and len(tail) >= 2 and any(w.lower() in ROLE_TAIL for w in words[: len(words) - 2])


# `Sergei Lavrov.`: a rest that is only a person's name.
_BARE_NAME = re.compile(r"^[A-Z][\w’'-]+(?: [A-Z][\w’'.-]*){1,3}\.?$")
_LIST_RUN = 3


def _name_list(candidates: list[tuple[int, tuple[str, str] | None]]) -> set[int]:
    """`Minister of Foreign Affairs: Sergei Lavrov.` / `Minister of Defence: Sergei Shoigu.`:
    a run of paragraphs that each pair a post with a bare name is a list of appointments,
    not speech."""
    found: set[int] = set()
    run: list[int] = []
    for i, parts in candidates + [(len(candidates), None)]:
        if parts and _BARE_NAME.match(parts[1]):
            run.append(i)
            continue
        if len(run) >= _LIST_RUN:
            found.update(run)
        run = []
    return found


# A clock time (`10.00 am`, `4:30 pm`, `12 pm`): the mark of a schedule.
_CLOCK = re.compile(r"\b\d{1,2}(?:[.:]\d{2})?\s?(?:am|pm|a\.m\.|p\.m\.)(?!\w)")
_EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(?:\.[\w-]+)+$")
_CONTACT_WORDS = 3  # `Email:`, `E-mail address:`
_NOTE_WORDS = 8  # `Note for television journalists:`: a short verb-less heading


def _is_heading(parts: tuple[str, str] | None) -> bool:
    """`Meeting points:` alone on its line: a heading that introduces what follows."""
    if not parts or parts[1]:
        return False
    label = parts[0]
    return bool(label) and label[0].isupper() and len(label) <= 200 and not any(c in label for c in '?!“”"«»')


def _heading_turns(
    paragraphs: list[str], candidates: list[tuple[int, tuple[str, str] | None]], speakers: set[int]
) -> set[int]:
    """Bold headings that are not speech but count as turns, judged by what follows them.

    Sentences ending in a colon (`The message reads, in part:`) share their shape, so a
    heading qualifies only by its context: a schedule (clock times in it or right after it,
    as in `Entry from 10.00 am to 11.00 am:` / `12.00 pm – meeting …`), a speech turn right
    after it (`Statements following the meeting:` / `Ivan Petrov: …`), or a lone e-mail
    address after it (`Email: press@example.ru`). On an information page without speakers
    whose schedule headings are bold, its other short headings are bold as well.
    """
    found: set[int] = set()
    n = len(paragraphs)
    # Backwards, so that a heading over a schedule heading (`Main events:` / `Entry from …:`) counts.
    for i in range(n - 1, -1, -1):
        parts = candidates[i][1]
        if parts and _EMAIL.match(parts[1]) and len(parts[0].split()) <= _CONTACT_WORDS:
            found.add(i)
            continue
        if not _is_heading(parts):
            continue
        nxt = paragraphs[i + 1] if i + 1 < n else ""
        if _CLOCK.search(parts[0]) or (nxt and _CLOCK.search(nxt)) or i + 1 in speakers or i + 1 in found:
            found.add(i)
    schedule = {i for i in found if _is_heading(candidates[i][1])}
    if schedule and not speakers:
        for i, parts in candidates:
            if not parts or i in found:
                continue
            if _is_heading(parts) or (
                len(parts[0].split()) <= _NOTE_WORDS
                and parts[0][:1].isupper()
                and not parts[1][:1].islower()
                and not _verb_in_label(parts[0])
            ):
                found.add(i)
    return found
