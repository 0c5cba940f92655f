"""Resolve footer person tags and speaker labels to stable person ids.

Pipeline (pure, deterministic; documents are processed in ``doc_id`` order so the input order
does not matter):

1. **Parse.** Tags are surname first (``Shoigu Sergei``); labels are given name first behind a
   role (``Defence Minister Sergei Shoigu``). Labels are parsed with a lexicon of given names and
   surnames learnt from every tag (plus a built-in list), see :mod:`kremlin.names`.
2. **Link inside a page.** Each tag is one page entity (two identical tags on a page are two
   namesakes). Each named speaker joins the page entity whose name it matches: same spelling-folded
   word set (order-free, so ``Xi Jinping`` matches either order), or a subset that keeps the
   surname (``Sadyr Japarov``/``Japarov`` join ``President ... Sadyr Japarov``; ``V. Putin``
   joins ``Vladimir Putin``). A speaker matching nothing starts a new page entity.
3. **Link across pages.** Page entities with the same folded word set are one name. Names that
   differ by one near-identical word (one edit, same first letter, words of 5+ letters: typos such
   as ``Matviyenko``/``Matvienko`` left after folding) are merged, and a speaker name with no tag
   that is a subset of exactly one longer name containing its surname (``Putin`` on a page
   without him in full, ``Tayyip Erdogan``) is merged into it.
4. **Namesakes.** A name has as many persons as the most identical tags it gets on one page (or
   as many known persons share it). Mentions on other pages go to the namesake whose earlier pages
   share the most context (co-occurring people and role words); with no evidence, to the first.
   Limits: two namesakes that never appear together on a page, and are not known as two persons,
   are one person; a speaker matching both namesakes on their shared page is given the first.
5. **Ids.** ``person_id`` is the slug of the canonical name, ``-2``, ``-3``... for the next free
   suffix. A person matching a ``known`` person (by any name or alias word set) keeps that id;
   known ids are never handed to anyone else, even when the person no longer appears.

Canonical name rule: ``sort_name`` is the person's most frequent tag spelling (counted in
documents, ties to the alphabetically first) with any role inside the tag removed, and ``name``
its given-name-first form, in the word order of a matching speaker label when there is one. A
person never tagged takes its most complete speaker name (no initials, most words, then most
documents, most turns, then alphabetical), and ``sort_name`` moves its last word (with particles) to the front.

Incremental runs: ``resolve_changes`` gives the same result reading only what a change
reaches, from a ``PeopleStore`` that keeps every page's entities (steps 1-2 are per page;
step 3 needs per-key counts; steps 4-5 need, for a cluster of one person, only counts over
its entities, and read pages only for clusters that may hold namesakes) and a
``PeopleState`` of label parses that record the lexicon lookups they made.
``resolve_people`` is ``resolve_changes`` with every document touched.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Any, Literal, NamedTuple, Protocol, cast, get_args, get_type_hints

from kremlin.names import (
    DEFAULT_LEXICON,
    NameLexicon,
    Speaker,
    initials,
    is_particle,
    name_key,
    parse_speaker_label,
    parse_tag,
    slugify,
    sort_name_of,
    token_key,
)

__all__ = [
    "DocPeople",
    "KnownPerson",
    "Resolution",
    "Speaker",
    "parse_speaker_label",
    "resolve_people",
]


@dataclass(frozen=True)
class DocPeople:
    doc_id: str
    tags: tuple[str, ...]  # visible footer Persons tags as printed, surname first, in order
    speakers: tuple[str, ...]  # speaker labels of the doc's turns, in order (as printed)


@dataclass(frozen=True)
class KnownPerson:  # a person row from the previous published version
    person_id: str
    name: str
    sort_name: str
    aliases: tuple[str, ...]


@dataclass
class Resolution:
    tag_ids: dict[str, list[str | None]]  # doc_id -> person_id for each tag (same order)
    speaker_ids: dict[str, list[str | None]]  # doc_id -> person_id per turn (None: anonymous/heading)
    speakers: dict[str, list[Speaker]]  # doc_id -> parsed label per turn
    persons: list[dict]  # person_id, name, sort_name, aliases, n_documents; sorted by person_id


# ----------------------------------------------------------------------------- name matching

Key = frozenset[str]


def _near(a: str, b: str) -> bool:
    """Equal, or one edit apart for words long enough that one edit is a typo, not a new name."""
    if a == b:
        return True
    if len(a) < 5 or len(b) < 5 or a[0] != b[0] or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    if b == a + "a":
        return False  # Popov/Popova: the feminine surname is usually another person
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        # one substitution, or two neighbours swapped ("Vlaidmir")
        return a[i + 1 :] == b[i + 1 :] or (a[i : i + 2] == b[i : i + 2][::-1] and a[i + 2 :] == b[i + 2 :])
    return a[i:] == b[i + 1 :]


def _covered(small: Key, big: Key) -> bool:
    return all(any(_near(s, b) for b in big) for s in small)


@dataclass
class _Name:
    """One mention's name: folded word set, surname word, initials."""

    keys: Key
    surname: str
    inits: tuple[str, ...]


def _label_name(name: str) -> _Name:
    toks = [t for t in name.split() if not is_particle(t) and not re.fullmatch(r"[A-Z]\.|[IVX]+", t)]
    return _Name(frozenset(name_key(name)), token_key(toks[-1]) if toks else "", initials(name))


def _tag_name(tag: str) -> _Name:
    tn = parse_tag(tag)
    sur = [t for t in tn.surname if not is_particle(t)]
    return _Name(frozenset(name_key(tn.name)), token_key(sur[-1]) if sur else "", ())


@dataclass
class _Entity:
    doc_id: str
    name: _Name
    is_tag: bool
    tags: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    person: _Person | None = None


def _match_score(n: _Name, e: _Entity) -> int:
    """How well a speaker name fits a page entity: 0 no, 3 same words, 2 subset, 1 superset."""
    k, ek = n.keys, e.name.keys
    if not k:
        return 0
    if k == ek:
        return 3 if _initials_fit(n, e, k) else 0
    if n.surname and not any(_near(n.surname, x) for x in ek):
        return 0
    if e.name.surname and not any(_near(e.name.surname, x) for x in k) and len(k) < len(ek):
        # "Dmitry" alone must not join "Dmitry Peskov": a lone word has to be the surname
        return 0
    if _covered(k, ek) and _initials_fit(n, e, k):
        return 2
    if len(ek) >= 2 and _covered(ek, k):
        return 1
    return 0


def _initials_fit(n: _Name, e: _Entity, used: Key) -> bool:
    if not n.inits:
        return True  # nothing to fit (the common case: skip the word comparisons)
    rest = [x for x in e.name.keys if not any(_near(x, u) for u in used)] or list(e.name.keys)
    return all(any(x.startswith(i) for x in rest) for i in n.inits)


# ----------------------------------------------------------------------------- union-find


class _DSU:
    def __init__(self, items: Iterable[Key]) -> None:
        self.parent: dict[Key, Key] = {k: k for k in items}

    def find(self, k: Key) -> Key:
        root = k
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[k] != root:
            self.parent[k], k = root, self.parent[k]
        return root

    def union(self, a: Key, b: Key) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # the smaller sorted key wins so the result does not depend on union order
            lo, hi = sorted((ra, rb), key=lambda x: tuple(sorted(x)))
            self.parent[hi] = lo


# ----------------------------------------------------------------------------- lexicon and label parses


@dataclass(frozen=True)
class ParsedText:
    """One speaker label (or alias) parsed against a lexicon, with what the parse looked up.

    ``queried`` holds every word key the parser asked the lexicon about: the parse is a
    function of the text and of those answers alone, so it stays valid under a new lexicon
    that answers them the same (this is what lets an incremental run re-parse only the
    labels a lexicon change can reach). ``bare`` is what the label teaches the lexicon
    (given-name key, surname key of a role-less two-word label), independent of any lexicon.
    """

    speaker: Speaker
    queried: frozenset[str]
    bare: tuple[str, str] | None


class _Traced:
    """A lexicon word set that records the keys it is asked about."""

    __slots__ = ("keys", "log")

    def __init__(self, keys: frozenset[str], log: set[str]) -> None:
        self.keys, self.log = keys, log

    def __contains__(self, key: object) -> bool:
        self.log.add(str(key))
        return key in self.keys


def _bare_pair(label: str) -> tuple[str, str] | None:
    # A bare two-word label ("Megyn Kelly") tells the first word is a given name.
    sp = parse_speaker_label(label)
    if sp.kind == "person" and sp.role is None and sp.name and len(sp.name.split()) == 2:
        first, last = sp.name.split()
        if not is_particle(first):
            return token_key(first), token_key(last)
    return None


def parse_traced(text: str, lex: NameLexicon, bare: tuple[str, str] | None | bool = False) -> ParsedText:
    """``text`` parsed under ``lex``; ``bare``: its ``_bare_pair`` when already known."""
    log: set[str] = set()
    traced = NameLexicon(
        cast(frozenset[str], _Traced(lex.given, log)), cast(frozenset[str], _Traced(lex.surnames, log))
    )
    return ParsedText(
        parse_speaker_label(text, traced), frozenset(log), _bare_pair(text) if bare is False else bare
    )


def _lexicon(
    tags: Iterable[str], known: list[KnownPerson], bares: Iterable[tuple[str, str] | None]
) -> NameLexicon:
    """Given names and surnames learnt from every tag, the known persons and bare labels."""
    given: set[str] = set()
    surnames: set[str] = set()
    for t in tags:
        tn = parse_tag(t)
        given.update(token_key(g) for g in tn.given if not is_particle(g))
        surnames.update(token_key(s) for s in tn.surname if not is_particle(s))
    for kp in known:
        toks = [t for t in kp.name.split() if not is_particle(t)]
        if len(toks) >= 2:
            given.add(token_key(toks[0]))
            surnames.add(token_key(toks[-1]))
    for bare in bares:
        if bare is not None:
            given.add(bare[0])
            surnames.add(bare[1])
    given.discard("")
    surnames.discard("")
    return DEFAULT_LEXICON.extend(given, surnames)


@dataclass
class _Memo:
    """Per-call caches: the same labels and tags recur on thousands of pages.

    Label parses start from ``reuse`` (parses of an earlier call) for every text whose
    looked-up keys are not in ``stale`` (the keys the lexicon now answers differently);
    ``changed`` collects the texts whose parse differs from the reused one."""

    lex: NameLexicon
    reuse: dict[str, ParsedText] = field(default_factory=dict)
    stale: frozenset[str] | None = None  # None: nothing can be reused
    parses: dict[str, ParsedText] = field(default_factory=dict)
    bares: dict[str, tuple[str, str] | None] = field(default_factory=dict)  # known ``_bare_pair``s
    changed: set[str] = field(default_factory=set)
    names: dict[str, _Name] = field(default_factory=dict)
    tags: dict[str, _Name] = field(default_factory=dict)
    scores: dict[tuple[int, int], int] = field(default_factory=dict)

    def parsed(self, label: str) -> ParsedText:
        p = self.parses.get(label)
        if p is None:
            old = self.reuse.get(label)
            if old is not None and self.stale is not None and old.queried.isdisjoint(self.stale):
                p = old
            else:
                p = parse_traced(label, self.lex, self.bares.get(label, False))
                if old is None or old.speaker != p.speaker:
                    self.changed.add(label)
            self.parses[label] = p
        return p

    def speaker(self, label: str) -> Speaker:
        return self.parsed(label).speaker

    def label_name(self, name: str) -> _Name:
        n = self.names.get(name)
        if n is None:
            n = self.names[name] = _label_name(name)
        return n

    def tag_name(self, tag: str) -> _Name:
        n = self.tags.get(tag)
        if n is None:
            n = self.tags[tag] = _tag_name(tag)
        return n

    def match_score(self, n: _Name, e: _Entity) -> int:
        """``_match_score``, once per pair of names: it reads only the two names, and every
        name comes from this memo, so it outlives the call and its id is a safe key."""
        key = (id(n), id(e.name))
        score = self.scores.get(key)
        if score is None:
            score = self.scores[key] = _match_score(n, e)
        return score


# ----------------------------------------------------------------------------- 1-2: one page


def _near_keys(word: str) -> set[str]:
    """Strings two words share when they are ``_near``: the word, and for a word long
    enough to take a typo, the word less each one letter (one substitution, insertion,
    deletion or swap of neighbours leaves a common one)."""
    if len(word) < 5:
        return {word}
    return {word, *(word[:i] + word[i + 1 :] for i in range(len(word)))}


class _PageEntities:
    """A page's entities in order, indexed by their words' ``_near_keys``: a name scores
    above 0 only against an entity that has a word ``_near`` one of its own. Reading only
    those keeps linking linear in the speakers of a page (a page of 4,000 distinct speakers
    compared every name with every entity: 50 s)."""

    def __init__(self) -> None:
        self.ents: list[_Entity] = []
        self._by_word: dict[str, list[int]] = defaultdict(list)
        self._pos: dict[int, int] = {}  # id(entity) -> its position

    def add(self, e: _Entity) -> None:
        self._index(e.name.keys, len(self.ents))
        self._pos[id(e)] = len(self.ents)
        self.ents.append(e)

    def rename(self, e: _Entity, name: _Name) -> None:
        """Give ``e`` a fuller name; its new words find it too."""
        e.name = name
        self._index(name.keys, self._pos[id(e)])

    def _index(self, words: Key, pos: int) -> None:
        for w in words:
            for key in _near_keys(w):
                self._by_word[key].append(pos)

    def candidates(self, n: _Name) -> list[_Entity]:
        """The entities ``n`` can match, in page order (so a tie goes to the first, as when
        every entity is read)."""
        found = {i for w in n.keys for key in _near_keys(w) for i in self._by_word.get(key, ())}
        return [self.ents[i] for i in sorted(found)]


def _link_doc(doc: DocPeople, memo: _Memo) -> tuple[list[Speaker], list[_Entity], list[_Entity | None]]:
    parsed = [memo.speaker(lab) for lab in doc.speakers]
    page = _PageEntities()
    exact: dict[Key, _Entity] = {}
    for t in doc.tags:
        e = _Entity(doc.doc_id, memo.tag_name(t), True)
        e.tags.append(t)
        page.add(e)
        exact.setdefault(e.name.keys, e)
    turn_ent: list[_Entity | None] = [None] * len(parsed)
    names = {k: memo.label_name(sp.name) for k, sp in enumerate(parsed) if sp.kind == "person" and sp.name}
    # Full names first so that a later or earlier short form ("Putin") finds its full entity.
    order = sorted(names, key=lambda k: (len(names[k].keys) < 2 or bool(names[k].inits), k))
    for k in order:
        n = names[k]
        best = exact.get(n.keys)
        if best is None or memo.match_score(n, best) < 3:
            best, best_score = None, 0
            for e in page.candidates(n):
                s = memo.match_score(n, e)
                if s > best_score:
                    best, best_score = e, s
        if best is None:
            best = _Entity(doc.doc_id, n, False)
            page.add(best)
            exact.setdefault(n.keys, best)
        elif not best.is_tag and len(n.keys) > len(best.name.keys):
            page.rename(best, n)  # keep the fullest spelling as the page entity's name
        turn_ent[k] = best
    for k in sorted(names):
        e = turn_ent[k]
        assert e is not None
        sp = parsed[k]
        e.names.append(sp.name or "")
        e.labels.append(doc.speakers[k])
        if sp.role:
            e.roles.append(sp.role)
    return parsed, page.ents, turn_ent


@dataclass
class _Page:
    doc: DocPeople
    speakers: list[Speaker]
    ents: list[_Entity]
    turn_ents: list[_Entity | None]


# ----------------------------------------------------------------------------- 3: across pages


@lru_cache(maxsize=65536)
def key_text(k: Key) -> str:
    """A name key as stored: its word keys sorted, space-separated (word keys hold no space)."""
    return " ".join(sorted(k))


def _key_of(text: str) -> Key:
    return frozenset(text.split())


def _sort_key(k: Key) -> tuple[str, ...]:
    return tuple(sorted(k))


@dataclass(frozen=True)
class RowColumn:
    """A column of a bookkeeping table, as its row type declares it."""

    name: str
    type: object  # Python type of its values (``str``, ``tuple[str, ...]``, ``str | None``...)
    doc: str


def row_columns(row: type[tuple]) -> tuple[RowColumn, ...]:
    """The columns of a row type (a ``NamedTuple`` of ``Annotated[type, doc]`` fields), in
    field order: the one home of a bookkeeping table's column names, types and meanings."""
    hints = get_type_hints(row, include_extras=True)
    return tuple(RowColumn(name, *get_args(hints[name])) for name in cast(Any, row)._fields)


class EntityRow(NamedTuple):
    """A page entity as the entity index stores it: its name key and its mentions."""

    doc_id: Annotated[str, "Document of the page entity."]
    ent: Annotated[int, "Position among the page's entities (tags first, in tag order)."]
    key: Annotated[str, "Name key: spelling-folded words, sorted, space-separated."]
    surname: Annotated[str, "Surname word key of the entity."]
    is_tag: Annotated[bool, "Whether the entity is a footer Persons tag (then ent is the tag's position)."]
    tags: Annotated[tuple[str, ...], "The tag text (tag entities)."]
    names: Annotated[tuple[str, ...], "Speaker name of each turn of the entity."]
    labels: Annotated[tuple[str, ...], "Speaker label of each turn of the entity, as printed."]
    turns: Annotated[tuple[int, ...], "turn_index of each turn of the entity."]


def _entity_rows(pages: Iterable[_Page]) -> list[EntityRow]:
    rows = []
    for p in pages:
        turns: dict[int, list[int]] = defaultdict(list)
        for k, e in enumerate(p.turn_ents):
            if e is not None:
                turns[id(e)].append(k)
        for i, e in enumerate(p.ents):
            if e.name.keys:
                rows.append(
                    EntityRow(
                        doc_id=e.doc_id,
                        ent=i,
                        key=key_text(e.name.keys),
                        surname=e.name.surname,
                        is_tag=e.is_tag,
                        tags=tuple(e.tags),
                        names=tuple(e.names),
                        labels=tuple(e.labels),
                        turns=tuple(turns[id(e)]),
                    )
                )
    return rows


@dataclass(frozen=True)
class KeyStat:
    """How often a name key's page entities carry a surname: tag entities and all entities."""

    key: str
    surname: str
    n_tags: int
    n_all: int


def key_stats(rows: Iterable[EntityRow]) -> list[KeyStat]:
    counts: Counter[tuple[str, str, bool]] = Counter((r.key, r.surname, r.is_tag) for r in rows)
    pairs = {(k, s) for k, s, _ in counts}
    return [
        KeyStat(k, s, counts[(k, s, True)], counts[(k, s, True)] + counts[(k, s, False)])
        for k, s in sorted(pairs)
    ]


class _Mentions(Protocol):
    """What a cluster's counts read of a page entity (an ``EntityRow`` or an ``_Entity``)."""

    @property
    def doc_id(self) -> str: ...
    @property
    def is_tag(self) -> bool: ...
    @property
    def tags(self) -> Sequence[str]: ...
    @property
    def names(self) -> Sequence[str]: ...
    @property
    def labels(self) -> Sequence[str]: ...


@dataclass
class ClusterStat:
    """What step 5 reads of a cluster's page entities, and its most tags on one page."""

    tag_slots: int = 0
    n_documents: int = 0
    tag_docs: Counter[str] = field(default_factory=Counter)  # tag text -> documents
    name_docs: Counter[str] = field(default_factory=Counter)  # speaker name -> documents
    name_uses: Counter[str] = field(default_factory=Counter)  # speaker name -> turns
    aliases: set[str] = field(default_factory=set)  # tags, names and labels

    @classmethod
    def of(cls, ents: Iterable[_Mentions]) -> ClusterStat:
        """The counts over some page entities (the build computes the same in SQL)."""
        st = cls()
        docs: set[str] = set()
        tags_on: Counter[str] = Counter()
        tag_docs: dict[str, set[str]] = defaultdict(set)
        name_docs: dict[str, set[str]] = defaultdict(set)
        for e in ents:
            docs.add(e.doc_id)
            if e.is_tag:
                tags_on[e.doc_id] += 1
            for t in e.tags:
                tag_docs[t].add(e.doc_id)
            for n in e.names:
                name_docs[n].add(e.doc_id)
                st.name_uses[n] += 1
            st.aliases.update(e.tags, e.names, e.labels)
        st.tag_slots = max(tags_on.values(), default=0)
        st.n_documents = len(docs)
        st.tag_docs.update({t: len(ds) for t, ds in tag_docs.items()})
        st.name_docs.update({n: len(ds) for n, ds in name_docs.items()})
        return st


def cluster_stats(rows: Iterable[EntityRow], roots: dict[str, str]) -> dict[str, ClusterStat]:
    """``ClusterStat`` per root (``roots``: name key -> root) of the entity rows."""
    by_root: dict[str, list[EntityRow]] = defaultdict(list)
    for r in rows:
        by_root[roots[r.key]].append(r)
    return {root: ClusterStat.of(rs) for root, rs in by_root.items()}


@dataclass
class _Clusters:
    dsu: _DSU
    members: dict[Key, list[Key]]  # root -> its keys
    claims: dict[Key, list[KnownPerson]]  # root -> the known persons whose own name is in it
    order: list[Key]  # roots, sorted


def _cluster(stats: Iterable[KeyStat], known_list: list[KnownPerson], memo: _Memo) -> _Clusters:
    tag_votes: dict[Key, Counter[str]] = defaultdict(Counter)
    all_votes: dict[Key, Counter[str]] = defaultdict(Counter)
    for st in stats:
        k = _key_of(st.key)
        all_votes[k][st.surname] += st.n_all
        if st.n_tags:
            tag_votes[k][st.surname] += st.n_tags
    known_keys: dict[Key, list[KnownPerson]] = defaultdict(list)
    known_sets: list[set[Key]] = []
    for kp in known_list:
        ks = {frozenset(name_key(kp.name))}
        for a in kp.aliases:
            sp = memo.speaker(a)
            if sp.kind == "person" and sp.name:
                ks.add(frozenset(name_key(sp.name)))
        ks.discard(frozenset())
        known_sets.append(ks)
        for k in ks:
            known_keys[k].append(kp)
    # An alias spelling shared by known persons of different names decides nothing.
    ambiguous = {k for k, kps in known_keys.items() if len({frozenset(name_key(x.name)) for x in kps}) > 1}
    for k in ambiguous:
        known_keys[k] = [kp for kp in known_keys[k] if frozenset(name_key(kp.name)) == k]
        if not known_keys[k]:
            del known_keys[k]
    dsu = _DSU(set(all_votes) | set(known_keys))
    for kp, ks in zip(known_list, known_sets, strict=True):
        own = frozenset(name_key(kp.name))
        for k in ks - ambiguous:
            if own:
                dsu.union(own, k)
    surname_votes: dict[Key, str] = {}
    for k, counts in all_votes.items():
        votes = tag_votes.get(k) or counts
        surname_votes[k] = min(votes, key=lambda s: (-votes[s], s))
    multi = sorted((k for k in dsu.parent if len(k) >= 2), key=_sort_key)
    # near-identical spellings: same words but one, and that one a typo away
    buckets: dict[Key, list[tuple[str, Key]]] = defaultdict(list)
    for k in multi:
        for w in k:
            buckets[k - {w}].append((w, k))
    for items in buckets.values():
        for i in range(len(items)):
            for j in range(i + 1, len(items)):
                (wa, ka), (wb, kb) = items[i], items[j]
                if len(ka) == len(kb) and _near(wa, wb):
                    dsu.union(ka, kb)
    # short names with no tag: join the only longer name that contains their surname
    by_word: dict[str, list[Key]] = defaultdict(list)
    for k in multi:
        for w in k:
            by_word[w].append(k)
    tagged = set(tag_votes) | set(known_keys)
    for k in sorted(all_votes, key=_sort_key):
        if k in tagged:
            continue
        sur = surname_votes.get(k, "")
        cands = {
            dsu.find(b)
            for b in by_word.get(sur, ())
            if len(b) > len(k) and _covered(k, b) and (len(k) > 1 or surname_votes.get(b, sur) == sur)
        }
        cands.discard(dsu.find(k))
        if len(cands) == 1:
            dsu.union(k, next(iter(cands)))
    members: dict[Key, list[Key]] = defaultdict(list)
    for k in dsu.parent:
        members[dsu.find(k)].append(k)
    # a known person belongs to the cluster holding its own name (its aliases were unioned in)
    claims: dict[Key, list[KnownPerson]] = defaultdict(list)
    for kp in known_list:
        k = frozenset(name_key(kp.name))
        if k in dsu.parent:
            claims[dsu.find(k)].append(kp)
    return _Clusters(dsu, dict(members), dict(claims), sorted(members, key=_sort_key))


# ----------------------------------------------------------------------------- 4: namesakes


@dataclass
class _Person:
    known: KnownPerson | None
    root: Key
    slot: int
    ents: list[_Entity] = field(default_factory=list)
    stat: ClusterStat | None = None  # counts over its mentions (a one-person cluster's: from the store)
    row: dict | None = None


def _features(e: _Entity, doc_ents: list[_Entity], root_of: dict[int, Key]) -> set[str]:
    feats = {"r:" + w.lower() for r in e.roles for w in re.findall(r"[A-Za-z]{4,}", r)}
    for o in doc_ents:
        if o is not e:
            feats.add("c:" + "|".join(sorted(root_of[id(o)])))
    return feats


def _n_slots(tag_slots: int, claims: list[KnownPerson]) -> int:
    """How many persons a cluster holds (the namesake rule, step 4): the most identical tags
    it gets on one page, or the most of its known persons that share one name."""
    same_name = Counter(frozenset(name_key(kp.name)) for kp in claims)
    return max([1, tag_slots, *same_name.values()])


def _slot_claims(claims: list[KnownPerson], n_slots: int) -> list[KnownPerson]:
    """The known person of each slot, in slot order (slots past the list are new persons).

    One slot takes the cluster's first claim (claims are the known persons whose own name is
    in the cluster); namesake slots take the known persons of the most shared name."""
    if n_slots == 1:
        return claims[:1]
    same_name = Counter(frozenset(name_key(kp.name)) for kp in claims)
    top = max(same_name, key=lambda k: (same_name[k], _sort_key(k))) if same_name else None
    return [kp for kp in claims if frozenset(name_key(kp.name)) == top][:n_slots]


def _assign(
    r: Key,
    es: list[_Entity],
    slots_known: list[KnownPerson],
    n_slots: int,
    pages: dict[str, _Page],
    root_of: dict[int, Key],
    memo: _Memo,
) -> list[_Person]:
    """The persons of a cluster of namesakes (``es``: its page entities in document order)."""
    persons = [_Person(slots_known[s] if s < len(slots_known) else None, r, s) for s in range(n_slots)]
    profiles: list[Counter[str]] = [Counter() for _ in range(n_slots)]
    for s, kp in enumerate(slots_known):
        for a in kp.aliases:
            sp = memo.speaker(a)
            if sp.role:
                profiles[s].update("r:" + w.lower() for w in re.findall(r"[A-Za-z]{4,}", sp.role))
    by_doc: dict[str, list[_Entity]] = defaultdict(list)
    for e in es:
        by_doc[e.doc_id].append(e)
    for doc_id in sorted(by_doc):
        used: set[int] = set()
        for e in sorted(by_doc[doc_id], key=lambda x: not x.is_tag):
            feats = _features(e, pages[doc_id].ents, root_of)
            free = [s for s in range(n_slots) if s not in used] or list(range(n_slots))
            best = max(free, key=lambda s: (sum(1 for f in feats if profiles[s][f]), -s))
            if e.is_tag:
                used.add(best)
            profiles[best].update(feats)
            e.person = persons[best]
            persons[best].ents.append(e)
    for p in persons:
        if p.ents:
            p.stat = ClusterStat.of(p.ents)
    return persons


# ----------------------------------------------------------------------------- 5: names and ids


def _person_row(st: ClusterStat, kp: KnownPerson | None) -> dict:
    tag_docs, name_docs, name_uses = st.tag_docs, st.name_docs, st.name_uses
    if tag_docs:
        best_tag = min(tag_docs, key=lambda t: (-tag_docs[t], t))
        tn = parse_tag(best_tag)
        name, sort_name = tn.name, tn.sort_name
        want = sorted(tn.name.split())
        same = sorted(
            (n for n in name_docs if sorted(n.split()) == want),
            key=lambda n: (-name_docs[n], -name_uses[n], n),
        )
        if same:
            name = same[0]
    else:
        name = min(
            name_docs,
            key=lambda n: (bool(initials(n)), -len(n.split()), -name_docs[n], -name_uses[n], n),
        )
        sort_name = sort_name_of(name)
    aliases = set(st.aliases)
    if kp is not None:
        aliases |= set(kp.aliases)
    return {
        "person_id": kp.person_id if kp is not None else "",
        "name": name,
        "sort_name": sort_name,
        "aliases": sorted(a for a in aliases if a),
        "n_documents": st.n_documents,
    }


def _name_persons(persons: list[_Person], reserved: set[str]) -> list[dict]:
    """Rows of the persons with mentions; a person new here takes its slug's next free id."""
    rows: list[dict] = []
    pending: list[tuple[str, tuple[str, ...], int, dict]] = []
    for p in persons:
        if p.stat is None:
            continue  # a namesake slot no mention went to
        p.row = row = _person_row(p.stat, p.known)
        if p.known is None:
            pending.append((slugify(row["name"]), _sort_key(p.root), p.slot, row))
        rows.append(row)
    for slug, _root, _slot, row in sorted(pending, key=lambda x: x[:3]):
        pid, n = slug, 1
        while pid in reserved:
            n += 1
            pid = f"{slug}-{n}"
        reserved.add(pid)
        row["person_id"] = pid
    rows.sort(key=lambda r: r["person_id"])
    return rows


# ----------------------------------------------------------------------------- the resolver


class LexiconRow(NamedTuple):
    """A lexicon word as the build stores it."""

    kind: Annotated[str, "given or surname."]
    key: Annotated[str, "Spelling-folded word key (kremlin.names.token_key)."]


class ParseRow(NamedTuple):
    """A ``ParsedText`` as the build stores it."""

    text: Annotated[str, "Label or alias text as printed."]
    kind: Annotated[str, "Speaker kind of the parse (person, anonymous, heading)."]
    name: Annotated[str | None, "Name part of the parse."]
    role: Annotated[str | None, "Role part of the parse."]
    queried: Annotated[
        tuple[str, ...], "Word keys the parse asked the lexicon about (it is valid while their answers stay)."
    ]
    bare_given: Annotated[str | None, "Given-name key a role-less two-word label teaches the lexicon."]
    bare_surname: Annotated[str | None, "Surname key a role-less two-word label teaches the lexicon."]

    @classmethod
    def of(cls, text: str, p: ParsedText) -> ParseRow:
        bare_given, bare_surname = p.bare or (None, None)
        sp = p.speaker
        return cls(text, sp.kind, sp.name, sp.role, tuple(sorted(p.queried)), bare_given, bare_surname)

    def parsed(self) -> ParsedText:
        bare = None
        if self.bare_given is not None and self.bare_surname is not None:
            bare = (self.bare_given, self.bare_surname)
        kind = cast(Literal["person", "anonymous", "heading"], self.kind)
        return ParsedText(Speaker(kind, self.name, self.role), frozenset(self.queried), bare)


@dataclass(frozen=True)
class PeopleState:
    """What a resolution leaves for the next one (stored with the dataset, beside the
    entity index of the ``PeopleStore``): every label and alias text parsed under
    ``lexicon``, with the keys each parse looked up."""

    lexicon: NameLexicon
    parses: dict[str, ParsedText]

    def lexicon_rows(self) -> list[LexiconRow]:
        words = [("given", k) for k in self.lexicon.given] + [("surname", k) for k in self.lexicon.surnames]
        return [LexiconRow(kind, key) for kind, key in sorted(words)]

    def parse_rows(self) -> list[ParseRow]:
        return [ParseRow.of(text, self.parses[text]) for text in sorted(self.parses)]

    @classmethod
    def from_rows(cls, lexicon: Iterable[LexiconRow], parses: Iterable[ParseRow]) -> PeopleState:
        """The state ``lexicon_rows`` and ``parse_rows`` stored (rows as tuples will do)."""
        words: dict[str, set[str]] = {"given": set(), "surname": set()}
        for kind, key in lexicon:
            words[kind].add(key)
        parsed = {r.text: r.parsed() for r in map(ParseRow._make, parses)}
        return cls(NameLexicon(frozenset(words["given"]), frozenset(words["surname"])), parsed)


class PeopleStore(Protocol):
    """The documents' people index as the resolver reads it, and its entity index.

    The entity index (an ``EntityRow`` per page entity of every document) is the
    resolver's own: written through ``replace_entities``, read through ``docs_with_keys``,
    ``key_stats`` and ``cluster_stats`` (aggregates, not rows)."""

    def tag_texts(self) -> set[str]: ...  # distinct person tags of all documents
    def label_texts(self) -> set[str]: ...  # distinct speaker labels of all documents
    def docs_with_labels(self, labels: Collection[str]) -> set[str]: ...
    def doc_people(self, doc_ids: Collection[str]) -> list[DocPeople]: ...  # those that exist
    def replace_entities(self, doc_ids: Collection[str], rows: list[EntityRow]) -> None: ...
    def docs_with_keys(self, keys: Collection[str]) -> set[str]: ...
    def key_stats(self) -> list[KeyStat]: ...
    def cluster_stats(self, roots: dict[str, str]) -> dict[str, ClusterStat]: ...  # by root


@dataclass
class PeopleUpdate:
    """The outcome of ``resolve_changes``."""

    docs: list[DocPeople]  # documents linked anew (touched, or a label's parse changed), doc_id order
    resolution: Resolution  # ids and parses for ``docs``; ``persons``: every person row
    key_person: dict[str, str]  # name key -> person of every entity with that key (one-person clusters)
    entity_person: dict[tuple[str, int], str]  # (doc_id, entity) -> person, in namesake clusters
    state: PeopleState


def resolve_changes(
    store: PeopleStore,
    known: Iterable[KnownPerson],
    touched: Collection[str],
    state: PeopleState | None = None,
) -> PeopleUpdate:
    """Resolve every document again at the cost of what changed; ``touched``: documents
    added, changed or removed since ``state`` (every document when there is none).

    Same result as ``resolve_people`` on every document, by construction: steps 1-2 are
    per page, so only touched pages and pages with a label whose parse changed (the
    lexicon now answers one of the lookups it made differently) are linked again, the
    others keep their indexed entities; step 3 runs on per-key counts; step 4 for a
    cluster of one person needs only its claim on the known persons, and step 5 only
    counts over its entities (``cluster_stats``), so only clusters of several namesakes
    read their pages (their assignment walks them in order).
    """
    known_list = sorted(known, key=lambda kp: kp.person_id)
    memo, relabelled = _parse_labels(store, known_list, state)
    pages = _Pages(store, memo)
    fresh = _link_changed(pages, touched, relabelled)
    stats = store.key_stats()
    cl = _cluster(stats, known_list, memo)
    roots = {st.key: key_text(cl.dsu.find(_key_of(st.key))) for st in stats}
    persons = _persons(cl, store.cluster_stats(roots), pages, memo)
    rows = _name_persons(persons.all, {kp.person_id for kp in known_list})
    ids = _Ids(cl, persons)
    relinked = [pages.linked[x] for x in sorted(fresh & pages.linked.keys())]
    return PeopleUpdate(
        [p.doc for p in relinked],
        _resolution(relinked, ids, rows),
        {key_text(k): pid for k, pid in ids.by_key.items() if key_text(k) in roots},
        ids.of_namesakes([pages.linked[x] for x in persons.namesake_docs]),
        PeopleState(memo.lex, memo.parses),
    )


def _parse_labels(
    store: PeopleStore, known_list: list[KnownPerson], state: PeopleState | None
) -> tuple[_Memo, set[str]]:
    """This call's lexicon and every label parsed under it, reusing the parses of ``state``
    it leaves valid; and the labels whose parse changed (none without a state)."""
    reuse = state.parses if state is not None else {}
    labels = store.label_texts()
    bares = {lab: reuse[lab].bare if lab in reuse else _bare_pair(lab) for lab in labels}
    lex = _lexicon(store.tag_texts(), known_list, bares.values())
    stale = None
    if state is not None:
        stale = frozenset((lex.given ^ state.lexicon.given) | (lex.surnames ^ state.lexicon.surnames))
    memo = _Memo(lex, reuse=dict(reuse), stale=stale, bares=bares)
    for lab in labels:
        memo.parsed(lab)
    return memo, (memo.changed & labels if state is not None else set())


@dataclass
class _Pages:
    """The pages this call links (steps 1-2), each once, on first need."""

    store: PeopleStore
    memo: _Memo
    linked: dict[str, _Page] = field(default_factory=dict)

    def link(self, doc_ids: Collection[str]) -> None:
        for d in self.store.doc_people([x for x in doc_ids if x not in self.linked]):
            self.linked[d.doc_id] = _Page(d, *_link_doc(d, self.memo))


def _link_changed(pages: _Pages, touched: Collection[str], relabelled: set[str]) -> set[str]:
    """Steps 1-2 for the pages whose entities may differ (touched, or with a label whose
    parse changed), written to the entity index; returns their doc_ids."""
    dirty = set(touched)
    if relabelled:
        dirty |= pages.store.docs_with_labels(relabelled)
    pages.link(dirty)
    pages.store.replace_entities(dirty, _entity_rows(pages.linked[x] for x in sorted(pages.linked)))
    return dirty


@dataclass
class _Persons:
    """The persons of step 4, of every cluster with mentions."""

    all: list[_Person]  # in cluster order, then slot order
    one: dict[Key, _Person]  # root -> the person of a one-person cluster
    namesake_docs: list[str]  # pages of the namesake clusters (read, linked), doc_id order


def _persons(cl: _Clusters, counts: dict[str, ClusterStat], pages: _Pages, memo: _Memo) -> _Persons:
    """Step 4: a one-person cluster from its counts, namesakes by reading their pages."""
    n_slots = {
        r: _n_slots(counts[key_text(r)].tag_slots, cl.claims.get(r, []))
        for r in cl.order
        if key_text(r) in counts  # else a cluster of known names only: no mentions
    }
    split = [r for r, n in n_slots.items() if n > 1]
    docs, ents_by_root, root_of = _namesake_pages(cl, split, pages)
    out = _Persons([], {}, docs)
    # A known person is claimed by one cluster only (``_cluster``), so no claim is taken twice.
    for r, n in n_slots.items():
        slots_known = _slot_claims(cl.claims.get(r, []), n)
        if n > 1:
            out.all += _assign(r, ents_by_root[r], slots_known, n, pages.linked, root_of, memo)
            continue
        out.one[r] = p = _Person(slots_known[0] if slots_known else None, r, 0, stat=counts[key_text(r)])
        out.all.append(p)
    return out


def _namesake_pages(
    cl: _Clusters, split: list[Key], pages: _Pages
) -> tuple[list[str], dict[Key, list[_Entity]], dict[int, Key]]:
    """The pages of the ``split`` clusters (linked), in doc_id order; every entity on them
    by root, and each one's root (an assignment reads the clusters of a page's entities)."""
    docs = pages.store.docs_with_keys([key_text(k) for r in split for k in cl.members[r]])
    pages.link(docs)
    order = sorted(docs & pages.linked.keys())
    ents = [e for x in order for e in pages.linked[x].ents if e.name.keys]
    root_of = {id(e): cl.dsu.find(e.name.keys) for e in ents}
    by_root: dict[Key, list[_Entity]] = defaultdict(list)
    for e in ents:
        by_root[root_of[id(e)]].append(e)
    return order, by_root, root_of


class _Ids:
    """Person ids of page entities once step 5 named every person."""

    def __init__(self, cl: _Clusters, persons: _Persons) -> None:
        # name key -> person, of the keys of one-person clusters (their entities keep no person)
        self.by_key = {
            k: p.row["person_id"] for r, p in persons.one.items() if p.row is not None for k in cl.members[r]
        }

    def of(self, e: _Entity | None) -> str | None:
        if e is None or not e.name.keys:
            return None
        if e.person is None:
            return self.by_key[e.name.keys]
        assert e.person.row is not None
        return e.person.row["person_id"]

    def of_namesakes(self, pages: list[_Page]) -> dict[tuple[str, int], str]:
        """(doc_id, entity) -> person of the entities assigned a namesake on ``pages``."""
        return {
            (p.doc.doc_id, i): pid
            for p in pages
            for i, e in enumerate(p.ents)
            if e.person is not None and (pid := self.of(e)) is not None
        }


def _resolution(pages: list[_Page], ids: _Ids, rows: list[dict]) -> Resolution:
    return Resolution(
        tag_ids={p.doc.doc_id: [ids.of(e) for e in p.ents if e.is_tag] for p in pages},
        speaker_ids={p.doc.doc_id: [ids.of(e) for e in p.turn_ents] for p in pages},
        speakers={p.doc.doc_id: p.speakers for p in pages},
        persons=rows,
    )


class _MemoryStore:
    """``PeopleStore`` over documents held in memory (``resolve_people``, tests)."""

    def __init__(self, docs: Iterable[DocPeople], entities: dict[str, list[EntityRow]] | None = None) -> None:
        self.docs: dict[str, DocPeople] = {}
        for d in docs:
            prev = self.docs.get(d.doc_id)
            if prev is not None and prev != d:
                raise ValueError(f"doc_id {d.doc_id!r} given twice with different content")
            self.docs[d.doc_id] = d
        self.entities: dict[str, list[EntityRow]] = dict(entities or {})

    def tag_texts(self) -> set[str]:
        return {t for d in self.docs.values() for t in d.tags}

    def label_texts(self) -> set[str]:
        return {lab for d in self.docs.values() for lab in d.speakers}

    def docs_with_labels(self, labels: Collection[str]) -> set[str]:
        want = set(labels)
        return {d.doc_id for d in self.docs.values() if want.intersection(d.speakers)}

    def doc_people(self, doc_ids: Collection[str]) -> list[DocPeople]:
        return [self.docs[x] for x in sorted(set(doc_ids)) if x in self.docs]

    def replace_entities(self, doc_ids: Collection[str], rows: list[EntityRow]) -> None:
        for x in doc_ids:
            self.entities.pop(x, None)
        for r in rows:
            self.entities.setdefault(r.doc_id, []).append(r)

    def docs_with_keys(self, keys: Collection[str]) -> set[str]:
        want = set(keys)
        return {x for x, rows in self.entities.items() if any(r.key in want for r in rows)}

    def key_stats(self) -> list[KeyStat]:
        return key_stats(r for rows in self.entities.values() for r in rows)

    def cluster_stats(self, roots: dict[str, str]) -> dict[str, ClusterStat]:
        return cluster_stats((r for rows in self.entities.values() for r in rows), roots)


def resolve_people(docs: Iterable[DocPeople], known: Iterable[KnownPerson] = ()) -> Resolution:
    """Give every tag and named speaker a person id; see the module docstring for the rules."""
    store = _MemoryStore(docs)
    return resolve_changes(store, known, set(store.docs)).resolution
