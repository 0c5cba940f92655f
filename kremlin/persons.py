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
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

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
    person: int = -1


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


# ----------------------------------------------------------------------------- resolver


def _lexicon(docs: list[DocPeople], known: list[KnownPerson]) -> NameLexicon:
    given: set[str] = set()
    surnames: set[str] = set()
    for d in docs:
        for t in d.tags:
            tn = parse_tag(t)
            given.update(token_key(g) for g in tn.given if not is_particle(g))
            surnames.update(token_key(s) for s in tn.surname if not is_particle(s))
    for kp in known:
        toks = [t for t in kp.name.split() if not is_particle(t)]
        if len(toks) >= 2:
            given.add(token_key(toks[0]))
            surnames.add(token_key(toks[-1]))
    # A bare two-word label ("Megyn Kelly") tells the first word is a given name.
    for lab in sorted({lab for d in docs for lab in d.speakers}):
        sp = parse_speaker_label(lab)
        if sp.kind == "person" and sp.role is None and sp.name and len(sp.name.split()) == 2:
            first, last = sp.name.split()
            if not is_particle(first):
                given.add(token_key(first))
                surnames.add(token_key(last))
    given.discard("")
    surnames.discard("")
    return DEFAULT_LEXICON.extend(given, surnames)


@dataclass
class _Memo:
    """Per-call caches: the same labels and tags recur on thousands of pages."""

    lex: NameLexicon
    labels: dict[str, Speaker] = field(default_factory=dict)
    names: dict[str, _Name] = field(default_factory=dict)
    tags: dict[str, _Name] = field(default_factory=dict)
    scores: dict[tuple[int, int], int] = field(default_factory=dict)

    def speaker(self, label: str) -> Speaker:
        sp = self.labels.get(label)
        if sp is None:
            sp = self.labels[label] = parse_speaker_label(label, self.lex)
        return sp

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


def _link_doc(
    doc: DocPeople, parsed: list[Speaker], memo: _Memo
) -> tuple[list[_Entity], list[_Entity | None]]:
    ents: list[_Entity] = []
    exact: dict[Key, _Entity] = {}
    for t in doc.tags:
        e = _Entity(doc.doc_id, memo.tag_name(t), True)
        e.tags.append(t)
        ents.append(e)
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
            for e in ents:
                s = memo.match_score(n, e)
                if s > best_score:
                    best, best_score = e, s
        if best is None:
            best = _Entity(doc.doc_id, n, False)
            ents.append(best)
            exact.setdefault(n.keys, best)
        elif not best.is_tag and len(n.keys) > len(best.name.keys):
            best.name = n  # keep the fullest spelling as the page entity's name
        turn_ent[k] = best
    for k in sorted(names):
        e = turn_ent[k]
        assert e is not None
        sp = parsed[k]
        e.names.append(sp.name or "")
        e.labels.append(doc.speakers[k])
        if sp.role:
            e.roles.append(sp.role)
    return ents, turn_ent


def _features(e: _Entity, doc_ents: list[_Entity], root_of: dict[int, Key]) -> set[str]:
    feats = {"r:" + w.lower() for r in e.roles for w in re.findall(r"[A-Za-z]{4,}", r)}
    for o in doc_ents:
        if o is not e:
            feats.add("c:" + "|".join(sorted(root_of[id(o)])))
    return feats


def resolve_people(docs: Iterable[DocPeople], known: Iterable[KnownPerson] = ()) -> Resolution:
    """Give every tag and named speaker a person id; see the module docstring for the rules."""
    by_id: dict[str, DocPeople] = {}
    for d in docs:
        prev = by_id.get(d.doc_id)
        if prev is not None and prev != d:
            raise ValueError(f"doc_id {d.doc_id!r} given twice with different content")
        by_id[d.doc_id] = d
    doc_list = [by_id[k] for k in sorted(by_id)]
    known_list = sorted(known, key=lambda kp: kp.person_id)
    lex = _lexicon(doc_list, known_list)
    memo = _Memo(lex)

    # ---- 1-2: parse and link inside each page
    speakers: dict[str, list[Speaker]] = {}
    doc_ents: dict[str, list[_Entity]] = {}
    turn_ents: dict[str, list[_Entity | None]] = {}
    for d in doc_list:
        parsed = [memo.speaker(lab) for lab in d.speakers]
        speakers[d.doc_id] = parsed
        doc_ents[d.doc_id], turn_ents[d.doc_id] = _link_doc(d, parsed, memo)
    all_ents = [e for d in doc_list for e in doc_ents[d.doc_id] if e.name.keys]

    # ---- 3: link across pages
    groups: dict[Key, list[_Entity]] = defaultdict(list)
    for e in all_ents:
        groups[e.name.keys].append(e)
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
    dsu = _DSU(set(groups) | set(known_keys))
    for kp, ks in zip(known_list, known_sets, strict=True):
        own = frozenset(name_key(kp.name))
        for k in ks - ambiguous:
            if own:
                dsu.union(own, k)
    surname_votes: dict[Key, str] = {}
    for k, es in groups.items():
        votes = Counter(e.name.surname for e in es if e.is_tag) or Counter(e.name.surname for e in es)
        surname_votes[k] = min(votes, key=lambda s: (-votes[s], s))
    multi = sorted((k for k in dsu.parent if len(k) >= 2), key=lambda x: tuple(sorted(x)))
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
    tagged = {k for k, es in groups.items() if any(e.is_tag for e in es)} | set(known_keys)
    for k in sorted(groups, key=lambda x: tuple(sorted(x))):
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

    clusters: dict[Key, list[Key]] = defaultdict(list)
    for k in dsu.parent:
        clusters[dsu.find(k)].append(k)
    root_of = {id(e): dsu.find(e.name.keys) for e in all_ents}

    # ---- 4: namesakes and known persons
    persons: list[dict] = []  # working records
    known_taken: set[str] = set()
    cluster_order = sorted(clusters, key=lambda r: tuple(sorted(r)))
    ents_by_root: dict[Key, list[_Entity]] = defaultdict(list)
    for e in all_ents:
        ents_by_root[root_of[id(e)]].append(e)
    # a known person belongs to the cluster holding its own name (its aliases were unioned in)
    claims: dict[Key, list[KnownPerson]] = defaultdict(list)
    for kp in known_list:
        k = frozenset(name_key(kp.name))
        if k in dsu.parent:
            claims[dsu.find(k)].append(kp)
    for r in cluster_order:
        es = ents_by_root.get(r, [])
        if not es:
            continue
        per_doc_tags = Counter(e.doc_id for e in es if e.is_tag)
        mine = [kp for kp in claims.get(r, ()) if kp.person_id not in known_taken]
        same_name = Counter(frozenset(name_key(kp.name)) for kp in mine)
        n_slots = max([1, *per_doc_tags.values(), *same_name.values()])
        if n_slots == 1:
            own = [kp for kp in mine if frozenset(name_key(kp.name)) in clusters[r]]
            slots_known = (own or mine)[:1]
        else:
            top = max(same_name, key=lambda k: (same_name[k], tuple(sorted(k)))) if same_name else None
            slots_known = [kp for kp in mine if frozenset(name_key(kp.name)) == top][:n_slots]
        for kp in slots_known:
            known_taken.add(kp.person_id)
        base = len(persons)
        for s in range(n_slots):
            kp = slots_known[s] if s < len(slots_known) else None
            persons.append({"known": kp, "root": r, "slot": s, "ents": []})
        if n_slots == 1:
            for e in es:
                e.person = base
                persons[base]["ents"].append(e)
            continue
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
                feats = _features(e, doc_ents[doc_id], root_of)
                free = [s for s in range(n_slots) if s not in used] or list(range(n_slots))
                best = max(free, key=lambda s: (sum(1 for f in feats if profiles[s][f]), -s))
                if e.is_tag:
                    used.add(best)
                profiles[best].update(feats)
                e.person = base + best
                persons[base + best]["ents"].append(e)

    # ---- 5: names and ids
    reserved = {kp.person_id for kp in known_list}
    rows: list[dict] = []
    pending: list[tuple[str, tuple[str, ...], int, dict]] = []
    for p in persons:
        es: list[_Entity] = p["ents"]
        if not es:
            continue
        tag_docs: Counter[str] = Counter()
        name_docs: Counter[str] = Counter()
        for tag_text, _doc in {(t, e.doc_id) for e in es for t in e.tags}:
            tag_docs[tag_text] += 1
        for nm, _doc in {(n, e.doc_id) for e in es for n in e.names}:
            name_docs[nm] += 1
        name_uses = Counter(n for e in es for n in e.names)
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
        aliases = {t for e in es for t in e.tags} | {n for e in es for n in e.names}
        aliases |= {lab for e in es for lab in e.labels}
        kp = p["known"]
        if kp is not None:
            aliases |= set(kp.aliases)
        row = {
            "person_id": kp.person_id if kp is not None else "",
            "name": name,
            "sort_name": sort_name,
            "aliases": sorted(a for a in aliases if a),
            "n_documents": len({e.doc_id for e in es}),
        }
        p["row"] = row
        if kp is None:
            pending.append((slugify(name), tuple(sorted(p["root"])), p["slot"], row))
        rows.append(row)
    for slug, _root, _slot, row in sorted(pending, key=lambda x: x[:3]):
        pid, n = slug, 1
        while pid in reserved:
            n += 1
            pid = f"{slug}-{n}"
        reserved.add(pid)
        row["person_id"] = pid
    rows.sort(key=lambda r: r["person_id"])

    def pid_of(e: _Entity | None) -> str | None:
        if e is None or e.person < 0:
            return None
        return persons[e.person]["row"]["person_id"]

    tag_ids: dict[str, list[str | None]] = {}
    speaker_ids: dict[str, list[str | None]] = {}
    for d in doc_list:
        tag_ids[d.doc_id] = [pid_of(e) for e in doc_ents[d.doc_id] if e.is_tag]
        speaker_ids[d.doc_id] = [pid_of(e) for e in turn_ents[d.doc_id]]
    return Resolution(tag_ids=tag_ids, speaker_ids=speaker_ids, speakers=speakers, persons=rows)
