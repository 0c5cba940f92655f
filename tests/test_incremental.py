"""A version built incrementally (from its parent's database plus the delta) is the same
dataset as a cold build of the same folder: same dataset fingerprint, same rows."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from kremlin.diff import diff_versions
from kremlin.ids import site_doc_id
from tests.conftest import SAMPLE_RAW
from tests.pagekit import dialogue_page
from tests.runkit import publish_run

TODAY = dt.date(2026, 12, 1)


def _page(k: int, *, title: str | None = None, style: str = "page") -> str:
    day = 1 + k % 27
    return dialogue_page(
        title or f"Meeting with Governor number {k}",
        f"April {day}, 2016",
        f"1{k % 10}:00",
        f"April {day}, 2016, 1{k % 10}:30",
        style=style,
        kremlin_id=50000 + k,
    )


def _manifest(curated: Path) -> dict:
    return json.loads((curated / "latest" / "manifest.json").read_text(encoding="utf-8"))


def _tables(curated: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(curated / "latest" / "kremlin.duckdb"), read_only=True)
    try:
        return {
            t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in ("documents", "paragraphs", "utterances", "persons", "document_persons", "source_files")
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def sequence(tmp_path_factory):
    """cold → +10 pages → one page changed → one page removed, then a cold build of the final folder."""
    base = tmp_path_factory.mktemp("inc")
    raw, curated = base / "raw", base / "curated"
    raw.mkdir()
    shutil.copy(SAMPLE_RAW / "000_2db0a70f9af90d4e.txt", raw)
    for k in range(5):
        (raw / f"p{k:02d}.txt").write_text(_page(k, style="screen" if k % 2 else "page"), encoding="utf-8")
    steps = [publish_run(raw, curated, today=TODAY, editions=("sqlite",))]
    for k in range(5, 15):
        (raw / f"p{k:02d}.txt").write_text(_page(k), encoding="utf-8")
    steps.append(publish_run(raw, curated, today=TODAY, editions=("sqlite",)))
    # The site corrected a title: the page keeps its site id (Direct link), so its doc_id.
    (raw / "p06.txt").write_text(
        _page(6, title="Meeting with Governor number six (corrected)"), encoding="utf-8"
    )
    steps.append(publish_run(raw, curated, today=TODAY, editions=("sqlite",)))
    (raw / "p08.txt").unlink()
    steps.append(publish_run(raw, curated, today=TODAY, editions=("sqlite",)))
    cold = base / "cold"
    publish_run(raw, cold, today=TODAY, editions=("sqlite",))
    return raw, curated, cold, steps


def test_incremental_equals_cold(sequence):
    _, curated, cold, _ = sequence
    assert _manifest(curated)["dataset_fingerprint"] == _manifest(cold)["dataset_fingerprint"]
    assert _tables(curated) == _tables(cold)


def test_each_step_after_the_first_reuses_its_parent(sequence):
    _, curated, _, steps = sequence
    versions = [s["version_id"] for s in steps]
    assert len(set(versions)) == 4
    builds = [json.loads((curated / "versions" / v / "manifest.json").read_text())["build"] for v in versions]
    assert builds[0]["incremental"] is False
    assert [b["incremental"] for b in builds[1:]] == [True, True, True]
    assert (builds[1]["documents_added"], builds[1]["documents_removed"]) == (10, 0)
    assert (builds[2]["documents_added"], builds[2]["documents_removed"]) == (1, 1)  # changed = out + in
    assert (builds[3]["documents_added"], builds[3]["documents_removed"]) == (0, 1)
    assert builds[3]["documents_reused"] == 15  # the sample and 14 of the 15 pages
    # Row-level checks ran on the new documents only.
    report = json.loads((curated / "versions" / versions[1] / "quality" / "validation.json").read_text())
    assert report["meta"]["row_checked_documents"] == 10


def test_title_correction_is_a_changed_document(sequence):
    _, curated, _, steps = sequence
    changes = diff_versions(curated, steps[1]["version_id"], steps[2]["version_id"])
    assert [(c.doc_id, c.change) for c in changes] == [(site_doc_id(50006), "changed")]
    assert "title" in changes[0].fields


def test_manifest_changes_computed_on_the_delta_equal_the_full_diff(sequence):
    _, curated, _, steps = sequence
    for old, new in zip(steps, steps[1:], strict=False):
        full = diff_versions(curated, old["version_id"], new["version_id"])
        counted = json.loads((curated / "versions" / new["version_id"] / "manifest.json").read_text())[
            "changes"
        ]
        assert counted == {k: sum(c.change == k for c in full) for k in ("added", "removed", "changed")}


def test_sqlite_edition_follows_the_delta(sequence):
    _, curated, cold, _ = sequence
    import sqlite3

    def counts(root: Path) -> dict[str, int]:
        con = sqlite3.connect(root / "latest" / "kremlin.sqlite")
        try:
            return {
                t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("documents", "paragraphs", "utterances", "persons", "source_files")
            }
        finally:
            con.close()

    assert counts(curated) == counts(cold)


def test_fingerprint_parts_equal_a_full_rehash_at_every_step(sequence):
    """The manifest's fingerprint comes from the per-document parts a build keeps (only the
    touched documents rehashed); at every step it equals hashing every row again."""
    from kremlin.versions import FINGERPRINT_PARTS, dataset_fingerprint, table_fingerprints

    _, curated, cold, steps = sequence
    for root, version in [*((curated, s["version_id"]) for s in steps), (cold, None)]:
        db = (root / "versions" / version if version else root / "latest") / "kremlin.duckdb"
        con = duckdb.connect(str(db), read_only=True)
        try:
            parts = con.execute(f"SELECT count(*) FROM {FINGERPRINT_PARTS}").fetchone()[0]
        finally:
            con.close()
        assert parts > 0
        assert table_fingerprints(db) == table_fingerprints(db, use_parts=False)
        manifest = json.loads((db.parent / "manifest.json").read_text())
        assert manifest["dataset_fingerprint"] == dataset_fingerprint(db)


@pytest.mark.parametrize("rows_per_pass", [1, 7])
def test_fingerprint_parts_computed_in_slices_are_the_same(sequence, tmp_path, monkeypatch, rows_per_pass):
    """Parts are computed in passes over slices of the documents (memory stays bounded at any
    corpus size); the slicing changes no part."""
    import shutil

    from kremlin import versions

    _, _, cold, _ = sequence
    db = tmp_path / "kremlin.duckdb"
    shutil.copyfile(cold / "latest" / "kremlin.duckdb", db)
    monkeypatch.setattr(versions, "_PART_ROWS_PER_PASS", rows_per_pass)
    con = duckdb.connect(str(db))
    try:
        before = con.execute(f"SELECT * FROM {versions.FINGERPRINT_PARTS} ORDER BY ALL").fetchall()
        versions.refresh_fingerprint_parts(con, None)
        after = con.execute(f"SELECT * FROM {versions.FINGERPRINT_PARTS} ORDER BY ALL").fetchall()
    finally:
        con.close()
    assert after == before and len(before) > rows_per_pass


def test_kept_documents_whose_people_change_are_rehashed(tmp_path, monkeypatch):
    """A new known person takes over Vladimir Putin's turns in every document, also in the
    ones the incremental build keeps from its parent: their fingerprint parts must be
    rehashed (a stale part would keep the old person_id in the fingerprint)."""
    from kremlin import build, runs
    from kremlin.persons import KnownPerson
    from kremlin.versions import table_fingerprints

    raw, curated = tmp_path / "raw", tmp_path / "curated"
    raw.mkdir()
    for k in range(3):
        (raw / f"p{k:02d}.txt").write_text(_page(k), encoding="utf-8")
    publish_run(raw, curated, today=TODAY)
    (raw / "p03.txt").write_text(_page(3), encoding="utf-8")
    known = [KnownPerson("head-of-state", "Vladimir Putin", "Putin Vladimir", ("Vladimir Putin",))]
    # runs may import it at module level or inside build(): patch both homes
    monkeypatch.setattr(build, "known_persons_from", lambda db: known)
    monkeypatch.setattr(runs, "known_persons_from", lambda db: known, raising=False)
    step = publish_run(raw, curated, today=TODAY)
    db = curated / "versions" / step["version_id"] / "kremlin.duckdb"
    manifest = json.loads((db.parent / "manifest.json").read_text())
    assert manifest["build"]["incremental"] and manifest["build"]["documents_reused"] == 3
    con = duckdb.connect(str(db), read_only=True)
    try:
        kept = con.execute(
            "SELECT count(DISTINCT doc_id) FROM utterances WHERE person_id = 'head-of-state' "
            "AND doc_id IN (SELECT doc_id FROM source_files WHERE source_file < 'p03')"
        ).fetchone()[0]
    finally:
        con.close()
    assert kept == 3, "the kept documents' turns moved to the known person"
    assert table_fingerprints(db) == table_fingerprints(db, use_parts=False)


# ----------------------------------------------------------------------------- people


def _people_page(k: int, tags: tuple[str, ...], turns: tuple[str, ...]) -> str:
    from tests.pagekit import make_page

    return make_page(
        title=f"Working meeting number {k}",
        date=f"May {1 + k}, 2017",
        publication=f"May {1 + k}, 2017, 15:40",
        body=[
            "The participants discussed current issues.",
            *(f"{label}: Thank you, colleagues." for label in turns),
        ],
        tags=(("Persons", tags),) if tags else (),
        style="page",
        kremlin_id=60000 + k,
    )


PEOPLE_PAGES = {
    0: (("Petrov Ivan", "Petrov Ivan"), ("Governor of Tver Region Ivan Petrov", "Scientist Ivan Petrov")),
    1: (("Matviyenko Valentina",), ("Federation Council Speaker Valentina Matviyenko",)),
    2: (("Petrov Ivan",), ("President of Russia Vladimir Putin", "Governor of Tver Region Ivan Petrov")),
    3: ((), ("Adviser Quillan", "Vladimir Putin")),
}
PEOPLE_ADDED = {
    4: ((), ("Speaker of the Federation Council Valentina Matvienko",)),  # a new spelling of a known person
    5: (("Petrov Ivan",), ("Scientist Ivan Petrov",)),  # the namesake, without the other one
    6: (("Quillan Zorbo",), ()),  # "Quillan" becomes a surname: page 3's label names a person now
    7: (("Lavrov Sergei",), ("Foreign Minister Sergei Lavrov", "Sergey Lavrov")),
}


def _people_tables(db: Path) -> tuple[list, list, list]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return (
            con.execute(
                "SELECT doc_id, turn_index, speaker_kind, speaker_name, speaker_role, person_id "
                "FROM utterances ORDER BY ALL"
            ).fetchall(),
            con.execute("SELECT * FROM document_persons ORDER BY ALL").fetchall(),
            con.execute("SELECT * FROM persons ORDER BY ALL").fetchall(),
        )
    finally:
        con.close()


def _people_resolved_in_full(db: Path, known: list) -> tuple[list, list, list]:
    """What resolving every document of ``db`` at once gives (``resolve_people``)."""
    from kremlin.persons import DocPeople, resolve_people

    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            "SELECT d.doc_id, d.person_tags, list(u.speaker_label ORDER BY u.turn_index) FILTER (WHERE u.doc_id IS NOT NULL) "
            "FROM documents d LEFT JOIN utterances u USING (doc_id) GROUP BY ALL ORDER BY 1"
        ).fetchall()
    finally:
        con.close()
    docs = [DocPeople(d, tuple(tags), tuple(labels or ())) for d, tags, labels in rows]
    res = resolve_people(docs, known)
    turns, mentions = [], []
    for d in docs:
        for i, (sp, pid) in enumerate(zip(res.speakers[d.doc_id], res.speaker_ids[d.doc_id], strict=True)):
            turns.append((d.doc_id, i, sp.kind, sp.name, sp.role, pid))
            if sp.kind == "person":
                mentions.append((d.doc_id, pid, d.speakers[i], "speaker", i))
        for i, (tag, pid) in enumerate(zip(d.tags, res.tag_ids[d.doc_id], strict=True)):
            mentions.append((d.doc_id, pid, tag, "tag", i))
    persons = [
        (r["person_id"], r["name"], r["sort_name"], r["aliases"], r["n_documents"]) for r in res.persons
    ]
    return sorted(turns), sorted(mentions, key=repr), sorted(persons)


@pytest.fixture(scope="module")
def people_sequence(tmp_path_factory):
    """cold → +4 pages (a new spelling, a namesake, a tag that turns an old label into a
    person, a new person) → one page changed → the namesake page removed; then a cold build."""
    base = tmp_path_factory.mktemp("people")
    raw, curated = base / "raw", base / "curated"
    raw.mkdir()

    def write(pages: dict) -> None:
        for k, (tags, turns) in pages.items():
            (raw / f"q{k:02d}.txt").write_text(_people_page(k, tags, turns), encoding="utf-8")

    write(PEOPLE_PAGES)
    steps = [publish_run(raw, curated, today=TODAY)]
    write(PEOPLE_ADDED)
    steps.append(publish_run(raw, curated, today=TODAY))
    # Page changes keep every label and tag somewhere: a known person keeps the aliases it
    # had (ids and aliases are stable), which a cold build of the final folder cannot know.
    write({2: (("Petrov Ivan", "Putin Vladimir"), (*PEOPLE_PAGES[2][1], "Scientist Ivan Petrov"))})
    steps.append(publish_run(raw, curated, today=TODAY))
    # (Removing page 1, the only Matviyenko tag, would leave the known person her id for
    # the other spelling, where a cold build names her anew.)
    (raw / "q05.txt").unlink()
    steps.append(publish_run(raw, curated, today=TODAY))
    cold = base / "cold"
    publish_run(raw, cold, today=TODAY)
    return curated, cold, steps


def test_people_of_every_step_equal_a_full_resolution(people_sequence):
    """Each version's people columns are what resolving all its documents at once gives,
    knowing the parent's persons, though only the change was resolved."""
    from kremlin.build import known_persons_from

    curated, _, steps = people_sequence
    parent = None
    for step in steps:
        db = curated / "versions" / step["version_id"] / "kremlin.duckdb"
        assert _people_tables(db) == _people_resolved_in_full(db, known_persons_from(parent))
        parent = db
    manifests = [
        json.loads((curated / "versions" / s["version_id"] / "manifest.json").read_text()) for s in steps
    ]
    assert [m["build"]["incremental"] for m in manifests] == [False, True, True, True]


def test_people_sequence_equals_cold(people_sequence):
    curated, cold, steps = people_sequence
    assert _manifest(curated)["dataset_fingerprint"] == _manifest(cold)["dataset_fingerprint"]
    assert _people_tables(curated / "latest" / "kremlin.duckdb") == _people_tables(
        cold / "latest" / "kremlin.duckdb"
    )
    turns = _people_tables(curated / "versions" / steps[1]["version_id"] / "kremlin.duckdb")[0]
    quillan = [t for t in turns if t[3] == "Quillan"]
    assert quillan and quillan[0][2] == "person", "the kept page's label was parsed again"
    ids = {t[5] for t in turns if t[3] and "Matv" in t[3]}
    assert len(ids) == 1, "the new spelling joined the known person"


def _parquet_rows(version_dir: Path) -> dict[str, list[tuple]]:
    """Every table as a reader of the documented globs gets it, sorted by the table's key."""
    from kremlin.analyst import PARTITIONED_TABLES, key_columns

    out = {}
    for table in ("documents", "paragraphs", "utterances", "persons", "document_persons", "source_files"):
        root = version_dir / "parquet"
        glob = f"{root}/{table}/*/*.parquet" if table in PARTITIONED_TABLES else f"{root}/{table}.parquet"
        key = ", ".join(key_columns(table))
        out[table] = duckdb.sql(
            f"SELECT * FROM read_parquet('{glob}', hive_partitioning = true) ORDER BY {key}"
        ).fetchall()
    return out


def test_parquet_of_the_sequence_holds_the_rows_of_a_cold_build(sequence):
    """The incremental Parquet export shares the parent's parts and adds new ones, so its
    files may split a year's rows differently from a cold export: read with ORDER BY the key,
    every table is the same, and the later steps really shared parts with their parents."""
    _, curated, cold, steps = sequence
    assert _parquet_rows(curated / "latest") == _parquet_rows(cold / "latest")
    shared = 0
    for old, new in zip(steps, steps[1:], strict=False):
        before = {
            p.stat().st_ino for p in (curated / "versions" / old["version_id"] / "parquet").rglob("*.parquet")
        }
        after = {
            p.stat().st_ino for p in (curated / "versions" / new["version_id"] / "parquet").rglob("*.parquet")
        }
        shared += len(before & after)
    assert shared > 0


def test_diff_in_slices_of_documents_is_the_same(sequence, monkeypatch):
    """Child rows are hashed in passes over slices of the documents (an ordered aggregate
    cannot spill); the slicing changes no change reported."""
    from kremlin import diff

    _, curated, _, steps = sequence
    pairs = [(a["version_id"], b["version_id"]) for a, b in zip(steps, steps[1:], strict=False)]
    whole = [diff_versions(curated, a, b) for a, b in pairs]
    monkeypatch.setattr(diff, "_HASH_ROWS_PER_PASS", 1)
    assert [diff_versions(curated, a, b) for a, b in pairs] == whole
    assert any(c.change == "changed" for changes in whole for c in changes)
