"""Incremental full-text index (kremlin.analyst.enrich_database with a SearchDelta).

A database is enriched, then its contract tables are moved to new content (documents
removed, changed, added); the incrementally refreshed index must score every query
exactly as ``PRAGMA create_fts_index`` over the final rows does, and as a cold build.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import duckdb
import pytest

from kremlin import analyst
from kremlin.contract import columns
from schemas.tables import TABLES
from tests.test_analyst import build_db

# Common words (several are English stop words of the index), rare words, accented forms
# of plain words, digits, hyphens and apostrophes: what the tokenizer and stemmer must
# treat the same way on both paths.
_WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "energy",
    "security",
    "energies",
    "secure",
    "supply",
    "supplies",
    "supplied",
    "gas",
    "oil",
    "President",
    "Russia",
    "Russia's",
    "co-operation",
    "cooperation",
    "talks",
    "meeting",
    "meetings",
    "government",
    "Café",
    "cafe",
    "Zürich",
    "zurich",
    "naïve",
    "naive",
    "Ångström",
    "São-Paulo",
    "2024",
    "1999",
    "ice-breakers",
    "icebreaker",
    "nuclear",
    "Arctic",
    "shipping",
    "chess",
    "patience",
    "would",
    "could",
    "which",
    "hello",
    # Line breaks, where the index cuts texts before tokenizing, and decomposed accents
    # (a combining mark right after a break).
    "line\nbreak",
    "carriage\r\nreturn",
    "e\u0301te\u0301",
    "x\n\u0301caf\u0301e",
    "\n",
]
_RARE = ("quixotic", "zeugma", "obsequious")
_PUNCT = ("", "", "", ",", ".", "?", "!", ";", ":", " -", "(", ")", '"')
_SPEAKERS = (
    ("Vladimir Putin", "vladimir-putin"),
    ("Alexei Likhachev", "alexei-likhachev"),
    ("Question", None),
)


def _sentence(rng: random.Random, rare: str | None = None) -> str:
    words = [rng.choice(_WORDS) + rng.choice(_PUNCT) for _ in range(rng.randint(1, 14))]
    if rare:
        words.insert(rng.randint(0, len(words)), rare)
    return " ".join(words)


def _document(doc_no: int, version: int = 0) -> tuple:
    """A pseudo-random document; ``version`` > 0 gives the same doc_id new text."""
    rng = random.Random(doc_no * 1000 + version)
    blocks: list[tuple] = []
    for b in range(rng.randint(1, 4)):
        rare = _RARE[doc_no % len(_RARE)] if b == 0 and doc_no % 5 == 0 else None
        texts = [_sentence(rng, rare if i == 0 else None) for i in range(rng.randint(1, 3))]
        if rng.random() < 0.15:
            texts.append("the of and to")  # a paragraph of stop words only: len 0 in the index
        if rng.random() < 0.4:
            blocks.append((None, None, texts))
        else:
            label, person = rng.choice(_SPEAKERS)
            blocks.append((label, person, texts))
    # Eight documents a year, so that some years hold no document of the delta below.
    day = dt.date(2010 + doc_no // 8, 1 + doc_no % 12, 1 + doc_no % 28)
    return (f"k{doc_no:016x}", f"Event number {doc_no}", day, blocks)


QUERIES = [
    "energy security",
    "supplies",
    "café",
    "cafe zurich",
    "Ångström naïve",
    "the",  # a stop word only: no hits at all
    "the energy of gas",
    "co-operation",
    "Russia's government",
    "2024 ice-breakers",
    "quixotic",  # rare: in a few documents, some of them removed or changed
    "zeugma obsequious chess",
    "hello",  # a stop word of the index's list
    "break return été",  # words next to line breaks and decomposed accents
]

INITIAL = list(range(40))
REMOVED = [3, 10, 25]
# 0 and 5 hold the rare words 'quixotic' and 'zeugma'; 36 is the only change of its
# year, which so keeps its row count in documents: only the delta says it must be rewritten.
CHANGED = [0, 5, 12, 30, 36]
ADDED = [40, 41, 42, 45, 50]
UNTOUCHED_YEARS = {2012}  # documents 16-23
DELTA = analyst.SearchDelta(
    removed_doc_ids={f"k{n:016x}" for n in REMOVED + CHANGED},
    added_doc_ids={f"k{n:016x}" for n in CHANGED + ADDED},
)


def _final_docs() -> list[tuple]:
    kept = [n for n in INITIAL if n not in REMOVED]
    docs = [_document(n, 1 if n in CHANGED else 0) for n in kept]
    return docs + [_document(n) for n in ADDED]


def _replace_contract_tables(db: Path, source: Path) -> None:
    """Give ``db`` the contract tables of ``source`` (rows reinserted in another order)."""
    con = duckdb.connect(str(db))
    try:
        con.execute(f"ATTACH '{source}' AS src (READ_ONLY)")
        for table in TABLES:
            con.execute(f"DELETE FROM {table}")
            con.execute(
                f"INSERT INTO {table} SELECT * FROM src.{table} AS t ORDER BY md5(to_json(t)::VARCHAR)"
            )
        con.execute("DETACH src")
    finally:
        con.close()


def _reference_scores(con: duckdb.DuckDBPyConnection) -> None:
    """The extension's own index over the final rows, as the reference."""
    analyst.load_fts(con)
    for helper, (table, pos) in analyst._SEARCH_SOURCES.items():
        con.execute(
            f"CREATE TABLE ref_{helper} AS SELECT row_number() OVER (ORDER BY doc_id, {pos}) AS rid, "
            f"doc_id, {pos}, text FROM {table}"
        )
        con.execute(
            f"PRAGMA create_fts_index('ref_{helper}', 'rid', 'text', {analyst._FTS_OPTIONS}, overwrite = 1)"
        )


def _scores(con: duckdb.DuckDBPyConnection, helper: str, query: str, *, reference: bool = False) -> dict:
    _, pos = analyst._SEARCH_SOURCES[helper]
    table, key = (f"ref_{helper}", "rid") if reference else (helper, "search_id")
    rows = con.execute(
        f"SELECT doc_id, {pos}, fts_main_{table}.match_bm25({key}, ?) AS score FROM {table} "
        "WHERE score IS NOT NULL",
        [query],
    ).fetchall()
    return {(d, p): s for d, p, s in rows}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("search")
    final = build_db(root / "final.duckdb", _final_docs())
    # Incremental: the initial content enriched cold, then moved to the final content.
    inc = build_db(root / "incremental.duckdb", [_document(n) for n in INITIAL])
    analyst.enrich_database(inc)
    _replace_contract_tables(inc, final)
    analyst.enrich_database(inc, DELTA)
    cold = build_db(root / "cold.duckdb", _final_docs())
    analyst.enrich_database(cold)
    _index_reference(final)
    return {
        "final": final,
        "incremental": inc,
        "cold": cold,
        "initial": build_db(root / "initial.duckdb", [_document(n) for n in INITIAL]),
    }


def _open(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path), read_only=True)
    analyst.load_fts(con)
    return con


def _index_reference(path: Path) -> None:
    con = duckdb.connect(str(path))
    try:
        _reference_scores(con)
    finally:
        con.close()


def _assert_scores_equal(reference: Path, built: Path, helpers: list[str]) -> None:
    """BM25 scores of every query on ``built`` equal the reference index's on ``reference``."""
    ref, con = _open(reference), _open(built)
    try:
        for helper in helpers:
            for query in QUERIES:
                want = _scores(ref, helper, query, reference=True)
                got = _scores(con, helper, query)
                assert got.keys() == want.keys(), query
                for key, score in want.items():
                    assert got[key] == pytest.approx(score, rel=0, abs=1e-9), (query, key)
    finally:
        ref.close()
        con.close()


def _delta_on_incremental(
    built: dict[str, Path], tmp_path: Path, docs: list, delta: analyst.SearchDelta
) -> None:
    """Move a copy of the incremental database to ``docs`` with ``delta``; its scores must
    equal a reference index built over ``docs`` from scratch."""
    db = tmp_path / "step.duckdb"
    db.write_bytes(built["incremental"].read_bytes())
    target = build_db(tmp_path / "target.duckdb", docs)
    _replace_contract_tables(db, target)
    analyst.enrich_database(db, delta)
    _index_reference(target)
    _assert_scores_equal(target, db, list(analyst._SEARCH_SOURCES))


def test_fixture_exercises_the_delta(built: dict[str, Path]) -> None:
    # The queries must see rows that the delta touched, or the comparison proves little.
    con = _open(built["final"])
    try:
        assert _scores(con, "paragraphs_search", "quixotic", reference=True)
        assert _scores(con, "paragraphs_search", "the", reference=True) == {}
        added = {f"k{n:016x}" for n in CHANGED + ADDED}
        hit_docs = {d for q in QUERIES for d, _ in _scores(con, "paragraphs_search", q, reference=True)}
        assert hit_docs & added and hit_docs - added
        # Accents are stripped and case folded on both sides of the match.
        assert _scores(con, "paragraphs_search", "café", reference=True) == _scores(
            con, "paragraphs_search", "CAFE", reference=True
        )
    finally:
        con.close()


@pytest.mark.parametrize("build", ["incremental", "cold"])
@pytest.mark.parametrize("helper", list(analyst._SEARCH_SOURCES))
def test_bm25_scores_equal_the_extensions_own_index(built: dict[str, Path], build: str, helper: str) -> None:
    _assert_scores_equal(built["final"], built[build], [helper])


def test_index_statistics_equal_the_extensions_own_index(built: dict[str, Path]) -> None:
    ref = _open(built["final"])
    con = _open(built["incremental"])
    try:
        for helper in analyst._SEARCH_SOURCES:
            fts, ref_fts = f"fts_main_{helper}", f"fts_main_ref_{helper}"
            assert (
                con.execute(f"SELECT * FROM {fts}.stats").fetchall()
                == ref.execute(f"SELECT * FROM {ref_fts}.stats").fetchall()
            )
            assert (
                con.execute(f"SELECT term, df FROM {fts}.dict ORDER BY term").fetchall()
                == ref.execute(f"SELECT term, df FROM {ref_fts}.dict ORDER BY term").fetchall()
            )
            # Row lengths and term occurrences per indexed row, keyed by the row's key.
            _, pos = analyst._SEARCH_SOURCES[helper]
            mine = con.execute(
                f"SELECT h.doc_id, h.{pos}, d.len, list(dict.term ORDER BY dict.term) FROM {helper} AS h "
                f"JOIN {fts}.docs AS d ON d.name = h.search_id "
                f"LEFT JOIN {fts}.terms AS t ON t.docid = d.docid LEFT JOIN {fts}.dict AS dict USING (termid) "
                "GROUP BY ALL ORDER BY ALL"
            ).fetchall()
            theirs = ref.execute(
                f"SELECT h.doc_id, h.{pos}, d.len, list(dict.term ORDER BY dict.term) FROM ref_{helper} AS h "
                f"JOIN {ref_fts}.docs AS d ON d.name = h.rid "
                f"LEFT JOIN {ref_fts}.terms AS t ON t.docid = d.docid LEFT JOIN {ref_fts}.dict AS dict "
                "USING (termid) GROUP BY ALL ORDER BY ALL"
            ).fetchall()
            assert mine == theirs
    finally:
        ref.close()
        con.close()


def test_search_returns_the_same_hits_incremental_and_cold(built: dict[str, Path]) -> None:
    inc = _open(built["incremental"])
    cold = _open(built["cold"])
    try:
        for query in QUERIES:
            # A limit above the hit count, so that ties cut off differently cannot matter.
            a = analyst.search(inc, query, limit=10_000)
            b = analyst.search(cold, query, limit=10_000)
            assert len(a) == len(b), query

            def key(h: dict) -> tuple:
                return (h["doc_id"], h["source"], h["paragraph_index"] or -1, h["turn_index"] or -1)

            for x, y in zip(sorted(a, key=key), sorted(b, key=key), strict=True):
                assert {k: v for k, v in x.items() if k != "score"} == {
                    k: v for k, v in y.items() if k != "score"
                }
                assert x["score"] == pytest.approx(y["score"], rel=0, abs=1e-9)
        assert analyst.search(inc, "quixotic", limit=10_000)
        assert analyst.search(inc, "the") == []
    finally:
        inc.close()
        cold.close()


def test_search_id_is_the_same_incremental_and_cold(built: dict[str, Path]) -> None:
    inc = _open(built["incremental"])
    cold = _open(built["cold"])
    try:
        for helper in analyst._SEARCH_SOURCES:
            q = f"SELECT * FROM {helper} ORDER BY ALL"
            rows = inc.execute(q).fetchall()
            assert rows == cold.execute(q).fetchall()
            assert len({r[0] for r in rows}) == len(rows)  # a unique key
    finally:
        inc.close()
        cold.close()


def test_second_delta_on_an_incremental_index(built: dict[str, Path], tmp_path: Path) -> None:
    """Deltas chain: remove one more document and give a changed one its first text back."""
    docs = [d for d in _final_docs() if d[0] != f"k{1:016x}"]
    docs = [_document(0) if d[0] == f"k{0:016x}" else d for d in docs]
    delta = analyst.SearchDelta(removed_doc_ids=[f"k{0:016x}", f"k{1:016x}"], added_doc_ids=[f"k{0:016x}"])
    _delta_on_incremental(built, tmp_path, docs, delta)


def test_delta_without_a_usable_index_rebuilds(tmp_path: Path) -> None:
    """A parent enriched before this index layout (or not at all) is indexed from scratch."""
    db = build_db(tmp_path / "kremlin.duckdb", _final_docs())
    analyst.enrich_database(db, analyst.SearchDelta(removed_doc_ids=[], added_doc_ids=["k" + "0" * 16]))
    con = _open(db)
    try:
        n = con.execute("SELECT count(*) FROM paragraphs").fetchone()
        assert con.execute("SELECT num_docs FROM fts_main_paragraphs_search.stats").fetchone() == n
        assert analyst.search(con, "quixotic")
    finally:
        con.close()


def test_search_delta_normalises_its_ids() -> None:
    d = analyst.SearchDelta(removed_doc_ids=["b", "a", "a"], added_doc_ids={"c"})
    assert d.removed_doc_ids == frozenset({"a", "b"}) and d.added_doc_ids == frozenset({"c"})
    assert hash(d) == hash(analyst.SearchDelta(removed_doc_ids={"a", "b"}, added_doc_ids=["c"]))


# --------------------------------------------------------------------------- dataset fingerprint


def _streamed_fingerprints(db: Path) -> dict[str, str]:
    """The fingerprint as it was computed before it moved into SQL: row hashes streamed
    into Python in key order. The SQL aggregate must give the very same values, since
    published manifests carry them (same FINGERPRINT_ALGORITHM)."""
    import hashlib

    out = {}
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        for table, model in TABLES.items():
            cols = columns(model)
            pk = [c.name for c in cols if c.pk] or [c.name for c in cols]
            struct = ", ".join(f"'{c.name}': \"{c.name}\"" for c in cols)
            h = hashlib.sha256(f"{table}({','.join(c.name for c in cols)})\n".encode())
            rows = con.execute(
                f"SELECT h FROM (SELECT *, sha256(to_json({{{struct}}})::VARCHAR) AS h FROM {table}) "
                f"ORDER BY {', '.join(pk)}, h"
            ).fetchall()
            h.update("".join(r[0] for r in rows).encode())
            out[table] = h.hexdigest()
    finally:
        con.close()
    return out


def test_sql_fingerprint_equals_the_streamed_one_and_ignores_insert_order(
    built: dict[str, Path], tmp_path: Path
) -> None:
    from kremlin import versions

    final = built["final"]
    assert versions.table_fingerprints(final) == _streamed_fingerprints(final)
    # The incremental file holds the same rows, inserted in another order after deletes.
    assert versions.dataset_fingerprint(built["incremental"]) == versions.dataset_fingerprint(final)
    # An empty table has a fingerprint too, and any changed value changes the table's.
    changed = tmp_path / "changed.duckdb"
    changed.write_bytes(final.read_bytes())
    con = duckdb.connect(str(changed))
    try:
        con.execute("DELETE FROM persons")
        con.execute(
            "UPDATE paragraphs SET text = text || ' ' WHERE paragraph_index = 0 AND doc_id = ?",
            [_document(1)[0]],
        )
    finally:
        con.close()
    a, b = versions.table_fingerprints(final), versions.table_fingerprints(changed)
    assert b == _streamed_fingerprints(changed)
    assert a["paragraphs"] != b["paragraphs"] and a["persons"] != b["persons"]
    assert a["documents"] == b["documents"]


# --------------------------------------------------------------------------- parquet


def _files(root: Path) -> dict[str, Path]:
    return {str(p.relative_to(root)): p for p in sorted(root.rglob("*.parquet"))}


def _parquet_rows(root: Path, table: str) -> list[tuple]:
    """A table's rows as a hive reader of the documented glob gets them, in key order."""
    key = ", ".join(analyst.key_columns(table))
    glob = f"{root}/{table}/*/*.parquet" if table in analyst.PARTITIONED_TABLES else f"{root}/{table}.parquet"
    return duckdb.sql(
        f"SELECT * FROM read_parquet('{glob}', hive_partitioning = true) ORDER BY {key}"
    ).fetchall()


def _year_parts(root: Path, table: str, year: int) -> dict[str, Path]:
    return {p.name: p for p in sorted((root / table / f"year={year}").glob("*.parquet"))}


def _assert_same_rows(db: Path, root: Path) -> None:
    """Every table read back from ``root`` is the database's table, row for row in key order,
    and every part file keeps the contract columns and holds one year only, sorted by key."""
    import pyarrow.parquet as pq

    con = duckdb.connect(str(db), read_only=True)
    try:
        for table in TABLES:
            key = ", ".join(analyst.key_columns(table))
            assert (
                _parquet_rows(root, table) == con.execute(f"SELECT * FROM {table} ORDER BY {key}").fetchall()
            )
    finally:
        con.close()
    for table in analyst.PARTITIONED_TABLES:
        for f in (root / table).glob("*/*.parquet"):
            year = int(f.parent.name.split("=")[1])
            assert pq.read_schema(f).names == [c.name for c in columns(TABLES[table])]
            rows = duckdb.sql(f"SELECT year, {', '.join(analyst.key_columns(table))} FROM '{f}'").fetchall()
            assert {r[0] for r in rows} == {year} and rows == sorted(rows), f


def _shared(a: Path, b: Path) -> bool:
    return a.stat().st_ino == b.stat().st_ino


def test_incremental_parquet_shares_untouched_parts_and_holds_the_cold_rows(
    built: dict[str, Path], tmp_path: Path
) -> None:
    parent = tmp_path / "parent"
    analyst.export_parquet(built["initial"], parent)
    cold, inc = tmp_path / "cold", tmp_path / "inc"
    paths = analyst.export_parquet(built["final"], cold)
    assert analyst.export_parquet(built["incremental"], inc, parent_dir=parent, delta=DELTA) == paths
    _assert_same_rows(built["final"], inc)
    _assert_same_rows(built["final"], cold)
    parent_files = _files(parent)
    for rel, path in _files(inc).items():
        if rel.split("/")[0] not in analyst.PARTITIONED_TABLES:
            assert not _shared(path, parent_files[rel]), rel  # small tables: always rewritten
            continue
        year = int(rel.split("year=")[1].split("/")[0])
        # Every parent part outside the untouched year holds a delta document: rewritten.
        assert (rel in parent_files and _shared(path, parent_files[rel])) == (year in UNTOUCHED_YEARS), rel
    # Each touched year of the parent was one part, rewritten with the delta's rows, and the
    # added documents start new years: the parts fall out as in a cold export, byte for byte.
    assert {rel: p.read_bytes() for rel, p in _files(inc).items()} == {
        rel: p.read_bytes() for rel, p in _files(cold).items()
    }


def _with_added(tmp_path: Path, name: str, extra: list[int]) -> Path:
    return build_db(tmp_path / f"{name}.duckdb", _final_docs() + [_document(n) for n in extra])


def test_added_documents_go_into_a_new_part_beside_the_shared_ones(
    built: dict[str, Path], tmp_path: Path
) -> None:
    """A refresh that only adds documents rewrites no existing file: the years it touches get
    one new part each; a reader of the glob sees exactly the new table."""
    parent = tmp_path / "parent"
    analyst.export_parquet(built["final"], parent)
    db = _with_added(tmp_path, "added", [46, 47])  # two more documents of 2015
    out = tmp_path / "out"
    delta = analyst.SearchDelta(added_doc_ids={f"k{46:016x}", f"k{47:016x}"})
    analyst.export_parquet(db, out, parent_dir=parent, delta=delta)
    _assert_same_rows(db, out)
    for table in analyst.PARTITIONED_TABLES:
        for rel, path in _files(parent).items():
            if rel.startswith(f"{table}/"):
                assert _shared(out / rel, path), rel
        assert sorted(_year_parts(out, table, 2015)) == ["part-0.parquet", "part-1.parquet"]
        assert sorted(_year_parts(out, table, 2014)) == ["part-0.parquet"]


def test_a_refresh_changing_a_shared_document_rewrites_only_its_part(
    built: dict[str, Path], tmp_path: Path
) -> None:
    parent = tmp_path / "parent"
    analyst.export_parquet(built["final"], parent)
    step1 = _with_added(tmp_path, "step1", [46])
    mid = tmp_path / "mid"
    analyst.export_parquet(
        step1, mid, parent_dir=parent, delta=analyst.SearchDelta(added_doc_ids={f"k{46:016x}"})
    )
    # 2015 now has part-0 (documents 40-45) and part-1 (46); document 41 changes.
    one = f"k{41:016x}"
    final = build_db(
        tmp_path / "step2.duckdb",
        [d if d[0] != one else _document(41, 3) for d in _final_docs()] + [_document(46)],
    )
    out = tmp_path / "out"
    analyst.export_parquet(final, out, parent_dir=mid, delta=analyst.SearchDelta({one}, {one}))
    _assert_same_rows(final, out)
    for table in analyst.PARTITIONED_TABLES:
        parts, before = _year_parts(out, table, 2015), _year_parts(mid, table, 2015)
        assert sorted(parts) == ["part-0.parquet", "part-1.parquet"]
        # part-0 held document 41: rewritten, with 41's new rows; part-1 is shared as it is.
        assert not _shared(parts["part-0.parquet"], before["part-0.parquet"])
        assert _shared(parts["part-1.parquet"], before["part-1.parquet"])
        assert (one,) in duckdb.sql(f"SELECT DISTINCT doc_id FROM '{parts['part-0.parquet']}'").fetchall()
        assert _year_parts(out, table, 2014).keys() == {"part-0.parquet"}


def test_parts_beyond_the_limit_are_merged_and_keep_the_rows(
    built: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(analyst, "MAX_PARTS_PER_YEAR", 2)
    previous = tmp_path / "v0"
    analyst.export_parquet(built["final"], previous)
    base = _files(previous)
    added: list[int] = []
    for step, n in enumerate([46, 47, 51], start=1):  # 51 opens 2016's second part
        added.append(n)
        db = _with_added(tmp_path, f"v{step}", added)
        out = tmp_path / f"v{step}"
        analyst.export_parquet(
            db, out, parent_dir=previous, delta=analyst.SearchDelta(added_doc_ids={f"k{n:016x}"})
        )
        _assert_same_rows(db, out)
        for table in analyst.PARTITIONED_TABLES:
            parts = _year_parts(out, table, 2015)
            assert len(parts) <= 2
            # The largest part stays shared from the first version on.
            assert _shared(parts["part-0.parquet"], base[f"{table}/year=2015/part-0.parquet"])
        previous = out
    # 46 and 47 were merged into one part when 47 came (two parts at most).
    assert sorted(_year_parts(previous, "documents", 2015)) == ["part-0.parquet", "part-2.parquet"]


def test_parquet_reuse_needs_the_same_format_and_row_count(built: dict[str, Path], tmp_path: Path) -> None:
    parent = tmp_path / "parent"
    analyst.export_parquet(built["initial"], parent)
    untouched = analyst.partition_path("paragraphs", min(UNTOUCHED_YEARS))
    # A parent file written some other way (no format entry) is never reused ...
    duckdb.sql(f"COPY (SELECT * FROM '{parent / untouched}') TO '{parent / untouched}.tmp' (FORMAT parquet)")
    (parent / f"{untouched}.tmp").replace(parent / untouched)
    # ... nor one whose row count shows the delta missed a document of that year.
    short = analyst.partition_path("utterances", max(UNTOUCHED_YEARS))
    duckdb.sql(f"COPY (SELECT * FROM '{parent / short}' LIMIT 1) TO '{parent / short}.tmp' (FORMAT parquet)")
    (parent / f"{short}.tmp").replace(parent / short)
    out = tmp_path / "inc"
    analyst.export_parquet(built["incremental"], out, parent_dir=parent, delta=DELTA)
    for rel in (untouched, short):
        assert not _shared(out / rel, parent / rel), rel
    cold = tmp_path / "cold"
    analyst.export_parquet(built["final"], cold)
    for rel, path in _files(cold).items():
        assert (out / rel).read_bytes() == path.read_bytes(), rel
    _assert_same_rows(built["final"], out)


def test_search_candidates_are_exactly_the_rows_bm25_scores(built: dict[str, Path]) -> None:
    con = _open(built["incremental"])
    try:
        for helper in analyst._SEARCH_SOURCES:
            for query in QUERIES:
                scored = set(_scores(con, helper, query))
                rows = con.execute(analyst._candidates(helper), {"q": query}).fetchall()
                assert {(r[1], r[2]) for r in rows} == scored, (helper, query)
    finally:
        con.close()


def test_parquet_parent_without_year_in_files_is_rewritten(built: dict[str, Path], tmp_path: Path) -> None:
    """A parent exported before the year column moved into the files (path only)."""
    parent = tmp_path / "parent"
    analyst.export_parquet(built["initial"], parent)
    for table in analyst.PARTITIONED_TABLES:
        for f in (parent / table).glob("year=*/part-0.parquet"):
            duckdb.sql(
                f"COPY (SELECT * EXCLUDE (year) FROM read_parquet('{f}', hive_partitioning = false)) "
                f"TO '{f}.tmp' (FORMAT parquet)"
            )
            Path(f"{f}.tmp").replace(f)
    out, cold = tmp_path / "inc", tmp_path / "cold"
    analyst.export_parquet(built["incremental"], out, parent_dir=parent, delta=DELTA)
    analyst.export_parquet(built["final"], cold)
    for rel, path in _files(cold).items():
        assert (out / rel).read_bytes() == path.read_bytes(), rel


def test_a_document_listed_on_one_side_only_is_still_reindexed(
    built: dict[str, Path], tmp_path: Path
) -> None:
    """A changed document given as added only, a kept one given as removed only."""
    docs = [_document(7, 2) if d[0] == f"k{7:016x}" else d for d in _final_docs()]
    delta = analyst.SearchDelta(removed_doc_ids=[f"k{8:016x}"], added_doc_ids=[f"k{7:016x}"])
    _delta_on_incremental(built, tmp_path, docs, delta)


@pytest.mark.parametrize(
    ("counts", "limit", "batches"),
    [
        ({2015: 10, 2016: 20, 2017: 30}, 100, [[2015, 2016, 2017]]),
        ({2015: 10, 2016: 20, 2017: 30}, 30, [[2015, 2016], [2017]]),
        ({2015: 50, 2016: 5}, 30, [[2015], [2016]]),  # a year larger than a batch is its own
        ({}, 30, []),
    ],
)
def test_parquet_export_years_are_sorted_in_bounded_batches(counts, limit, batches, monkeypatch):
    monkeypatch.setattr(analyst, "_EXPORT_BATCH_ROWS", limit)
    assert analyst._year_batches(sorted(counts), counts) == batches
