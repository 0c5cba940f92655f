"""kremlin.analyst: comments, views, full-text search, Parquet export, dataset card."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from kremlin import analyst
from kremlin.contract import columns, ddl
from schemas.tables import TABLES

UTC = dt.UTC


def _doc(doc_id: str, title: str, day: dt.date, **kw: object) -> dict:
    row = {
        "doc_id": doc_id,
        "kremlin_id": None,
        "source_url": None,
        "category": "Events",
        "title": title,
        "summary": None,
        "is_announcement": False,
        "date_text": day.strftime("%B %d, %Y"),
        "event_date": day,
        "event_end_date": None,
        "event_time": dt.time(12, 0),
        "event_start": dt.datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC),
        "place": "The Kremlin, Moscow",
        "place_venue": "The Kremlin",
        "place_locality": "Moscow",
        "place_region": None,
        "place_country": "Russia",
        "published_at": dt.datetime(day.year, day.month, day.day, 15, 0, tzinfo=UTC),
        "sections": ["News"],
        "geography": ["Moscow"],
        "topics": ["Economy", "Energy"],
        "person_tags": [],
        "hidden_tags": 0,
        "n_paragraphs": 0,
        "n_turns": 0,
        "has_elision": False,
        "photo_count": 0,
        "has_see_also": False,
        "text_style": "page",
        "source_file": f"{doc_id}.txt",
        "content_sha256": hashlib.sha256(doc_id.encode()).hexdigest(),
        "year": day.year,
    }
    row.update(kw)
    return row


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> None:
    names = [c.name for c in columns(TABLES[table])]
    marks = ", ".join("?" for _ in names)
    # Columns a fixture does not mention are NULL, so a new nullable contract column
    # does not break every fixture.
    con.executemany(f"INSERT INTO {table} VALUES ({marks})", [[r.get(n) for n in names] for r in rows])


# Each document: (doc_id, title, date, turns as (speaker_label, person_id, [paragraph texts]) or
# narration paragraphs as (None, None, [texts])).
DOCS = [
    (
        "k0000000000000001",
        "Meeting on the development of the Arctic shipping lanes",
        dt.date(2019, 3, 4),
        [
            (None, None, ["The President held a meeting on the Northern Sea Route."]),
            (
                "Vladimir Putin",
                "vladimir-putin",
                ["Good afternoon, colleagues.", "Icebreaker construction must speed up."],
            ),
            (
                "Alexei Likhachev",
                "alexei-likhachev",
                ["We will commission three nuclear icebreakers by 2024."],
            ),
        ],
    ),
    (
        "k0000000000000002",
        "Telephone conversation with the Chancellor of Germany",
        dt.date(2020, 6, 18),
        [
            (None, None, ["The leaders discussed gas supplies and the pandemic."]),
        ],
    ),
    (
        "k0000000000000003",
        "Meeting with schoolchildren on Knowledge Day",
        dt.date(2020, 9, 1),
        [
            ("Vladimir Putin", "vladimir-putin", ["Mathematics and literature are both important."]),
            ("Question", None, ["Do you like chess?"]),
            ("Vladimir Putin", "vladimir-putin", ["Chess teaches patience, and energy supplies too."]),
        ],
    ),
]
PERSONS = [
    {
        "person_id": "vladimir-putin",
        "name": "Vladimir Putin",
        "sort_name": "Putin Vladimir",
        "aliases": ["Putin Vladimir", "Vladimir Putin"],
        "n_documents": 2,
    },
    {
        "person_id": "alexei-likhachev",
        "name": "Alexei Likhachev",
        "sort_name": "Likhachev Alexei",
        "aliases": ["Alexei Likhachev"],
        "n_documents": 1,
    },
]


def build_db(path: Path, docs: list = DOCS) -> Path:
    con = duckdb.connect(str(path))
    for table in TABLES:
        con.execute(ddl(table))
    documents, paragraphs, utterances, mentions, files = [], [], [], [], []
    for doc_id, title, day, blocks in docs:
        p_idx = t_idx = 0
        for label, person_id, texts in blocks:
            turn = None
            if label is not None:
                turn = t_idx
                utterances.append(
                    {
                        "doc_id": doc_id,
                        "turn_index": t_idx,
                        "speaker_label": label,
                        "speaker_kind": "person" if person_id else "anonymous",
                        "speaker_name": label if person_id else None,
                        "speaker_role": None,
                        "person_id": person_id,
                        "text": "\n\n".join(texts),
                        "n_paragraphs": len(texts),
                        "year": day.year,
                    }
                )
                mentions.append(
                    {
                        "doc_id": doc_id,
                        "person_id": person_id,
                        "mentioned_as": label,
                        "source": "speaker",
                        "position": t_idx,
                    }
                )
                t_idx += 1
            for i, text in enumerate(texts):
                shown = f"{label}: {text}" if label and i == 0 else text
                paragraphs.append(
                    {
                        "doc_id": doc_id,
                        "paragraph_index": p_idx,
                        "turn_index": turn,
                        "kind": "text",
                        "text": shown,
                        "year": day.year,
                    }
                )
                p_idx += 1
        documents.append(_doc(doc_id, title, day, n_paragraphs=p_idx, n_turns=t_idx))
        files.append(
            {
                "source_file": f"{doc_id}.txt",
                "sha256": hashlib.sha256(title.encode()).hexdigest(),
                "size_bytes": 1000,
                "status": "published",
                "doc_id": doc_id,
                "reject_reason": None,
                "reject_stage": None,
                "reject_message": None,
                "duplicate_of": None,
            }
        )
    files.append(
        {
            "source_file": "broken.txt",
            "sha256": "0" * 64,
            "size_bytes": 0,
            "status": "rejected",
            "doc_id": None,
            "reject_reason": "empty",
            "reject_stage": "decode",
            "reject_message": "file is empty",
            "duplicate_of": None,
        }
    )
    _insert(con, "documents", documents)
    _insert(con, "paragraphs", paragraphs)
    _insert(con, "utterances", utterances)
    _insert(con, "persons", PERSONS)
    _insert(con, "document_persons", mentions)
    _insert(con, "source_files", files)
    con.close()
    return path


@pytest.fixture(scope="module")
def enriched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = build_db(tmp_path_factory.mktemp("db") / "kremlin.duckdb")
    analyst.enrich_database(path)
    return path


@pytest.fixture()
def ro(enriched: Path):
    con = duckdb.connect(str(enriched), read_only=True)
    yield con
    con.close()


def test_every_table_and_column_is_commented(ro: duckdb.DuckDBPyConnection) -> None:
    missing_tables = ro.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT internal AND comment IS NULL "
        "UNION ALL SELECT view_name FROM duckdb_views() WHERE NOT internal AND comment IS NULL"
    ).fetchall()
    assert missing_tables == []
    missing_cols = ro.execute(
        "SELECT schema_name, table_name, column_name FROM duckdb_columns() "
        "WHERE NOT internal AND (comment IS NULL OR comment = '')"
    ).fetchall()
    assert missing_cols == []
    doc = ro.execute(
        "SELECT comment FROM duckdb_columns() WHERE table_name = 'documents' AND column_name = 'doc_id'"
    ).fetchone()
    assert doc is not None and doc[0].startswith("Stable document id")
    assert {
        t
        for (t,) in ro.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()
    } >= set(TABLES)


def test_views_return_rows(ro: duckdb.DuckDBPyConnection) -> None:
    for view in analyst.VIEWS:
        n = ro.execute(f"SELECT count(*) FROM {view}").fetchone()
        assert n is not None and n[0] > 0, view
    enriched_rows = ro.execute(
        "SELECT doc_id, turn_index, title, person_name, person_sort_name, event_date, n_words "
        "FROM utterances_enriched ORDER BY doc_id, turn_index"
    ).fetchall()
    assert enriched_rows[0] == (
        "k0000000000000001",
        0,
        "Meeting on the development of the Arctic shipping lanes",
        "Vladimir Putin",
        "Putin Vladimir",
        dt.date(2019, 3, 4),
        8,
    )
    assert (
        ro.execute("SELECT count(*) FROM utterances_enriched").fetchone()
        == ro.execute("SELECT count(*) FROM utterances").fetchone()
    )
    speakers = ro.execute(
        "SELECT doc_id, person_id, turns, words FROM document_speakers ORDER BY doc_id, person_id"
    ).fetchall()
    assert speakers == [
        ("k0000000000000001", "alexei-likhachev", 1, 8),
        ("k0000000000000001", "vladimir-putin", 1, 8),
        ("k0000000000000003", "vladimir-putin", 2, 13),
    ]


def test_search_ranks_the_document_with_the_phrase_first(ro: duckdb.DuckDBPyConnection) -> None:
    hits = analyst.search(ro, "nuclear icebreakers")
    assert hits and hits[0]["doc_id"] == "k0000000000000001"
    assert hits[0]["speaker"] == "Alexei Likhachev"
    assert "icebreakers" in hits[0]["snippet"]
    assert hits[0]["event_date"] == dt.date(2019, 3, 4)
    assert hits[0]["title"].startswith("Meeting on the development")
    # A stemmed word in narration (no speaker) and in a turn of another document.
    hits = analyst.search(ro, "energy supply", limit=5)
    assert {h["doc_id"] for h in hits} >= {"k0000000000000002", "k0000000000000003"}
    assert all(h["score"] > 0 for h in hits)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert analyst.search(ro, "chess", limit=1)[0]["doc_id"] == "k0000000000000003"
    assert analyst.search(ro, "zzzunknownword") == []
    assert analyst.search(ro, "  ...  ") == []


def test_plain_client_opens_read_only_without_fts(enriched: Path) -> None:
    # A separate process: nothing loaded, no auto-install/auto-load, so this is what a
    # plain duckdb 1.5.5 client sees.
    script = textwrap.dedent(
        f"""
        import duckdb
        con = duckdb.connect({str(enriched)!r}, read_only=True,
                             config={{"autoinstall_known_extensions": False, "autoload_known_extensions": False}})
        for t in {list(TABLES)!r} + ["utterances_enriched", "document_speakers", "paragraphs_search"]:
            print(t, con.execute(f"SELECT count(*) FROM {{t}}").fetchone()[0])
        loaded = con.execute("SELECT count(*) FROM duckdb_extensions() WHERE extension_name='fts' AND loaded").fetchone()[0]
        print("fts_loaded", loaded)
        try:
            con.execute("SELECT fts_main_paragraphs_search.match_bm25(1, 'x')").fetchall()
            print("bm25 ok")
        except duckdb.Error:
            print("bm25 needs LOAD fts")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    lines = dict(line.rsplit(" ", 1) for line in out.stdout.strip().splitlines() if line[-1].isdigit())
    assert int(lines["documents"]) == 3
    assert int(lines["paragraphs"]) > 0
    assert lines["fts_loaded"] == "0"
    assert "bm25 needs LOAD fts" in out.stdout


def test_search_on_fresh_read_only_connection_loads_fts(enriched: Path) -> None:
    script = textwrap.dedent(
        f"""
        import duckdb
        from kremlin.analyst import search
        con = duckdb.connect({str(enriched)!r}, read_only=True,
                             config={{"autoinstall_known_extensions": False, "autoload_known_extensions": False}})
        print(search(con, "chess patience", limit=1)[0]["doc_id"])
        """
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True, cwd=root
    )
    assert out.stdout.strip() == "k0000000000000003"


def test_enrich_is_idempotent(tmp_path: Path) -> None:
    path = build_db(tmp_path / "kremlin.duckdb")
    analyst.enrich_database(path)
    analyst.enrich_database(path)
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert analyst.search(con, "icebreakers")[0]["doc_id"] == "k0000000000000001"
    finally:
        con.close()


def test_export_parquet(enriched: Path, tmp_path: Path) -> None:
    out = tmp_path / "parquet"
    paths = analyst.export_parquet(enriched, out)
    assert set(paths) == set(TABLES)
    con = duckdb.connect(str(enriched), read_only=True)
    try:
        for table, rel in paths.items():
            expected = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            target = out / rel
            if table in analyst.PARTITIONED_TABLES:
                assert target.is_dir()
                assert sorted(p.name for p in target.iterdir()) == sorted(
                    f"year={y}" for (y,) in con.execute(f"SELECT DISTINCT year FROM {table}").fetchall()
                )
                ds = pads.dataset(target, format="parquet", partitioning="hive")
                assert ds.count_rows() == expected
                got = duckdb.sql(
                    f"SELECT count(*) FROM read_parquet('{target}/*/*.parquet', hive_partitioning = true)"
                ).fetchone()[0]
                assert got == expected
                # Same rows, same order as the database sorted by key, year restored from the path.
                key = ", ".join(analyst.key_columns(table))
                back = duckdb.sql(
                    f"SELECT * EXCLUDE (year), year::INTEGER AS year FROM read_parquet('{target}/*/*.parquet', "
                    f"hive_partitioning = true) ORDER BY year, {key}"
                ).fetchall()
                assert back == con.execute(f"SELECT * FROM {table} ORDER BY year, {key}").fetchall()
            else:
                assert target.is_file() and target.suffix == ".parquet"
                meta = pq.ParquetFile(target).metadata
                assert meta.num_rows == expected
                assert meta.row_group(0).column(0).compression == "ZSTD"
                names = pq.read_schema(target).names
                assert names == [c.name for c in columns(TABLES[table])]
    finally:
        con.close()


def test_export_parquet_is_deterministic(enriched: Path, tmp_path: Path) -> None:
    def digest(root: Path) -> dict[str, str]:
        return {
            str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*.parquet"))
        }

    analyst.export_parquet(enriched, tmp_path / "a")
    analyst.export_parquet(enriched, tmp_path / "b")
    assert digest(tmp_path / "a") == digest(tmp_path / "b")


def test_citation_cff() -> None:
    yaml = pytest.importorskip("yaml")
    cff = yaml.safe_load((Path(__file__).resolve().parents[1] / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0"
    assert cff["title"] and cff["message"] and cff["authors"]
    assert "CC-BY-4.0" in cff["license"]
    assert any("en.kremlin.ru" in str(ref.get("url", "")) for ref in cff["references"])
