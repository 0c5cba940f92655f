"""An incremental person resolution (``resolve_changes`` from the previous run's state)
gives exactly what resolving every document gives (``resolve_people``), step after step,
while resolving only what the change reaches."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from kremlin.persons import (
    DocPeople,
    KnownPerson,
    PeopleState,
    PeopleUpdate,
    _MemoryStore,
    resolve_changes,
    resolve_people,
)

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus"


def _known(rows: list[dict]) -> list[KnownPerson]:
    return [KnownPerson(r["person_id"], r["name"], r["sort_name"], tuple(r["aliases"])) for r in rows]


@dataclass
class Dataset:
    """What the build keeps between runs: per-document people columns, person rows, the
    resolver's entity index and state (as the people_* tables and the dataset tables do)."""

    docs: dict[str, DocPeople] = field(default_factory=dict)
    tag_ids: dict[str, list] = field(default_factory=dict)
    speaker_ids: dict[str, list] = field(default_factory=dict)
    speakers: dict[str, list] = field(default_factory=dict)
    persons: dict[str, dict] = field(default_factory=dict)
    entities: dict = field(default_factory=dict)
    state: PeopleState | None = None
    last: PeopleUpdate | None = None

    def apply(self, docs: list[DocPeople]) -> PeopleUpdate:
        """One run, written back as the build does: documents linked anew get all their
        columns, the others the person of each indexed entity's mentions."""
        new = {d.doc_id: d for d in docs}
        touched = {x for x in new.keys() | self.docs.keys() if new.get(x) != self.docs.get(x)}
        known = _known(list(self.persons.values()))
        store = _MemoryStore(docs, self.entities)
        up = resolve_changes(store, known, touched, self.state)
        for d in (self.tag_ids, self.speaker_ids, self.speakers):
            for x in list(d):
                if x not in new:
                    del d[x]
        self.tag_ids.update(up.resolution.tag_ids)
        self.speaker_ids.update(up.resolution.speaker_ids)
        self.speakers.update(up.resolution.speakers)
        for x, rows in store.entities.items():
            if x in up.resolution.tag_ids:
                continue
            for r in rows:
                pid = up.entity_person.get((x, r.ent)) or up.key_person[r.key]
                if r.is_tag:
                    self.tag_ids[x][r.ent] = pid
                for t in r.turns:
                    self.speaker_ids[x][t] = pid
        self.persons = {r["person_id"]: r for r in up.resolution.persons}
        self.docs, self.entities, self.state, self.last = new, store.entities, up.state, up
        return up

    def check_equals_full(self, known: list[KnownPerson]) -> None:
        full = resolve_people(list(self.docs.values()), known)
        assert self.tag_ids == full.tag_ids
        assert self.speaker_ids == full.speaker_ids
        assert self.speakers == full.speakers
        assert sorted(self.persons.values(), key=lambda r: r["person_id"]) == full.persons


def _run(sequence: list[list[DocPeople]]) -> list[PeopleUpdate]:
    ds = Dataset()
    updates = []
    for docs in sequence:
        known = _known(list(ds.persons.values()))
        updates.append(ds.apply(docs))
        ds.check_equals_full(known)
    return updates


P = DocPeople
BASE = [
    P(
        "a",
        ("Putin Vladimir", "Petrov Ivan"),
        ("President of Russia Vladimir Putin", "Governor Ivan Petrov", "Putin"),
    ),
    P("b", ("Petrov Ivan", "Petrov Ivan"), ("Governor of Tver Region Ivan Petrov", "Scientist Ivan Petrov")),
    P("c", ("Matviyenko Valentina", "Putin Vladimir"), ("Federation Council Speaker Valentina Matviyenko",)),
    P("d", ("Shoigu Sergei",), ("Defence Minister Sergei Shoigu", "Question")),
    P("e", (), ("Moderator Kirill Kleymenov", "Vladimir Putin", "Kirill Kleymenov")),
]

STEPS = {
    "unrelated page": [P("f", ("Lavrov Sergei",), ("Foreign Minister Sergei Lavrov",))],
    "new spelling of a known person": [P("f", (), ("Speaker Valentina Matvienko", "V. Putin"))],
    "namesake context": [P("f", ("Petrov Ivan",), ("Scientist Ivan Petrov",))],
    "second namesake on one page": [P("f", ("Shoigu Sergei", "Shoigu Sergei"), ())],
    "new given name (lexicon)": [
        P("f", ("Quillan Zorbo",), ("Chairman Zorbo Quillan",)),
        P("g", (), ("Zorbo Quillan",)),
    ],
    "bare two-word label": [P("f", (), ("Megyn Kelly", "Anchor Megyn Kelly"))],
    "short name gets a second candidate": [P("f", ("Kleymenov Pavel",), ("Pavel Kleymenov",))],
}


@pytest.mark.parametrize("name", sorted(STEPS))
def test_added_changed_removed_equal_a_full_resolution(name: str) -> None:
    added = STEPS[name]
    changed = [*BASE[:1], replace(BASE[1], tags=("Petrov Ivan",)), *BASE[2:], *added]
    removed = [d for d in changed if d.doc_id != "c"]
    _run([BASE, [*BASE, *added], changed, removed, BASE])


def test_an_unrelated_page_links_only_itself() -> None:
    ups = _run([BASE, [*BASE, *STEPS["unrelated page"]]])
    assert [d.doc_id for d in ups[1].docs] == ["f"]


def test_a_lexicon_change_relinks_only_the_pages_it_reaches() -> None:
    ds = Dataset()
    ds.apply(BASE)
    up = ds.apply([*BASE, *STEPS["new given name (lexicon)"]])
    assert {d.doc_id for d in up.docs} == {"f", "g"}
    # a tag makes "Quillan" a surname: a page that had the label before is linked again
    late = [*BASE, P("h", (), ("Adviser Quillan",))]
    ds = Dataset()
    ds.apply(late)
    assert ds.speakers["h"][0].kind == "anonymous"
    up = ds.apply([*late, P("i", ("Quillan Zorbo",), ())])
    assert {d.doc_id for d in up.docs} == {"h", "i"}
    assert ds.speakers["h"][0].name == "Quillan" and ds.speaker_ids["h"] == ds.tag_ids["i"]
    _run([late, [*late, P("i", ("Quillan Zorbo",), ())], late])


def test_namesakes_read_their_pages_only() -> None:
    ds = Dataset()
    ds.apply(BASE)
    up = ds.apply([*BASE, *STEPS["namesake context"]])
    assert [d.doc_id for d in up.docs] == ["f"]
    assert {x for x, _ in up.entity_person} == {"a", "b", "f"}  # the Petrov pages


def _corpus_docs() -> list[DocPeople]:
    path = CORPUS / "labels.jsonl"
    if not path.is_file():
        pytest.skip(f"corpus labels not found at {path} (needs ../shared/corpus beside the repo)")
    with path.open(encoding="utf-8") as fh:
        labels = [json.loads(line) for line in fh if line.strip()]
    return [
        DocPeople(lab["file"], tuple(lab["persons"]), tuple(t["label"] for t in lab["turns"]))
        for lab in labels
    ]


@pytest.mark.corpus
def test_corpus_slice_sequence_equals_full_resolutions() -> None:
    """Cold on a slice of the corpus, then +pages (of every kind the slice lacks), one page
    changed (a second tag of its first person: a namesake), one removed, a page whose
    labels give a known person a new spelling, back to the start."""
    docs = _corpus_docs()
    rng = random.Random(11)
    pool = rng.sample(docs, 1200)
    base, extra = pool[:1000], pool[1000:1030]
    grown = base + extra
    k = next(i for i, d in enumerate(grown) if d.tags and d.speakers)
    changed = [*grown[:k], replace(grown[k], tags=(*grown[k].tags, grown[k].tags[0])), *grown[k + 1 :]]
    removed = changed[:3] + changed[4:]
    respelt = [
        *removed,
        DocPeople("zz-respelt", (), tuple(lab.replace("ey", "ei") for lab in removed[k].speakers)),
    ]
    ups = _run([base, grown, changed, removed, respelt, base])
    # the +30 pages did not resolve the whole slice again
    assert len(ups[1].docs) < len(grown) / 2, len(ups[1].docs)


def _all_entity_rows() -> list:
    """The entity index after the base pages and every step's pages, as the build stores it."""
    steps = [replace(d, doc_id=f"{k}{d.doc_id}") for k, docs in enumerate(STEPS.values()) for d in docs]
    ds = Dataset()
    ds.apply(BASE)
    ds.apply([*BASE, *steps])
    return [r for rows in ds.entities.values() for r in rows]


@pytest.mark.parametrize("grouping", ["each key alone", "one cluster", "by surname"])
def test_the_builds_sql_counts_equal_the_python_counts(grouping: str) -> None:
    """The build answers key and cluster counts in SQL (``_DuckPeople``), the in-memory store
    in Python; resolution trusts both to be the same function of the entity rows."""
    import duckdb

    from kremlin.build import _PEOPLE_ENTITIES, _PEOPLE_TABLES, _DuckPeople
    from kremlin.persons import cluster_stats, key_stats

    rows = _all_entity_rows()
    assert len({r.key for r in rows}) > 3 and any(r.is_tag for r in rows) and any(r.turns for r in rows)
    con = duckdb.connect()
    try:
        con.execute(f"CREATE TABLE {_PEOPLE_ENTITIES} ({_PEOPLE_TABLES[_PEOPLE_ENTITIES][0]})")
        store = _DuckPeople(con)
        store.replace_entities(sorted({r.doc_id for r in rows}), rows)
        assert store.key_stats() == key_stats(rows)
        keys = {r.key: r.surname for r in rows}
        roots = {
            "each key alone": {k: k for k in keys},
            "one cluster": dict.fromkeys(keys, "all"),
            "by surname": {k: s or k for k, s in keys.items()},
        }[grouping]
        assert dict(store.cluster_stats(roots)) == dict(cluster_stats(rows, roots))
    finally:
        con.close()


def test_the_state_survives_its_rows() -> None:
    """The build stores the state as ``lexicon_rows`` and ``parse_rows`` (tuples, as a
    database gives them back): reading them back gives the same state."""
    from kremlin.persons import LexiconRow, ParseRow

    ds = Dataset()
    ds.apply(BASE)
    ds.apply(
        [*BASE, *(replace(d, doc_id=f"{k}{d.doc_id}") for k, docs in enumerate(STEPS.values()) for d in docs)]
    )
    state = ds.state
    assert state is not None
    parses = state.parse_rows()
    assert any(p.bare_given for p in parses) and any(p.queried for p in parses)
    assert {p.kind for p in parses} >= {"person", "anonymous"}
    lexicon = state.lexicon_rows()
    assert {r.kind for r in lexicon} == {"given", "surname"}
    as_stored = ([tuple(r) for r in lexicon], [(*r[:4], list(r.queried), *r[5:]) for r in parses])
    assert PeopleState.from_rows(*as_stored) == state
    assert all(isinstance(r, LexiconRow) for r in lexicon) and all(isinstance(p, ParseRow) for p in parses)


@pytest.mark.parametrize("row", ["EntityRow", "ParseRow", "LexiconRow"])
def test_a_row_type_declares_every_column_with_its_meaning(row: str) -> None:
    import kremlin.persons as persons

    row_type = getattr(persons, row)
    cols = persons.row_columns(row_type)
    assert [c.name for c in cols] == list(row_type._fields)
    assert all(c.doc.strip() and c.type is not None for c in cols)
