"""Editions of a release (kremlin.editions): Hugging Face card, Croissant, Data Package,
SQLite for Datasette, release page; validated by the tools that read them.

The releases are built once per module by a whole pipeline run with every edition on
(``tests.runkit.publish_run``: the flow's stages without Prefect), so the tests check
what publish itself writes.
"""

from __future__ import annotations

import contextlib
import html
import itertools
import json
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import yaml

from kremlin.diff import DocumentChange, diff_databases
from kremlin.editions import ALL_EDITIONS, card, charts, page, parse_editions, write_editions
from kremlin.editions import sqlite as sq
from kremlin.editions.release import release_from_manifest
from kremlin.versions import DB_FILENAME, MANIFEST_FILENAME
from schemas.tables import QUALITY_REASON_PREFIX, TABLES
from tests.conftest import SAMPLE_RAW
from tests.runkit import publish_run

BIN = Path(sys.executable).parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


# --------------------------------------------------------------------------- releases


@dataclass(frozen=True)
class Built:
    version_dir: Path
    manifest: dict


def _publish(raw: Path, curated: Path) -> Built:
    """A whole pipeline run (runs' stages, as the flow calls them) with every edition on."""
    summary = publish_run(raw, curated, workers=2, editions=None)
    version_dir = curated / "versions" / summary["version_id"]
    return Built(version_dir, json.loads((version_dir / MANIFEST_FILENAME).read_text()))


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return _publish(SAMPLE_RAW, tmp_path_factory.mktemp("curated-sample"))


@pytest.fixture(scope="module")
def corpus_release(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Built:
    return _publish(corpus / "raw", tmp_path_factory.mktemp("curated-corpus"))


@pytest.fixture(scope="module", params=["sample", "corpus"])
def release(request: pytest.FixtureRequest) -> Built:
    return request.getfixturevalue("sample" if request.param == "sample" else "corpus_release")


def _duck_rows(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql).fetchall()
    finally:
        con.close()


# --------------------------------------------------------------------------- validators


@pytest.mark.slow
def test_mlcroissant_validates(release: Built) -> None:
    out = subprocess.run(
        [str(BIN / "mlcroissant"), "validate", "--jsonld", str(release.version_dir / "croissant.json")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert not re.search(r"^E\d{4}", out.stderr, re.M), out.stderr[-3000:]


@pytest.mark.slow
def _absl_to_real_stderr() -> None:
    """absl (imported by mlcroissant) binds its handler to the sys.stderr of its import:
    inside a test, pytest's capture file. A later ``logging.config.dictConfig`` (Prefect's
    logging set-up) closes every handler, and absl's close() closes a stream that is not
    the current sys.stderr: pytest's capture file, so the next test failed with "I/O
    operation on closed file". Bound to the process's own stderr it is never closed."""
    from absl import logging as absl_logging

    absl_logging.get_absl_handler().python_handler.stream = sys.__stderr__


def test_croissant_reads_documents_from_the_parquet_files(sample: Built) -> None:
    """mlcroissant follows the FileSet glob into the files and extracts every column,
    `year` included (it is read from inside the partition files)."""
    import mlcroissant as mlc

    _absl_to_real_stderr()
    ds = mlc.Dataset(str(sample.version_dir / "croissant.json"))
    records = list(itertools.islice(ds.records("documents"), 10))
    got = sorted(r["documents/doc_id"].decode() for r in records)
    assert got == sorted(
        d for (d,) in _duck_rows(sample.version_dir / DB_FILENAME, "SELECT doc_id FROM documents")
    )
    assert {int(r["documents/year"]) for r in records} == {
        y for (y,) in _duck_rows(sample.version_dir / DB_FILENAME, "SELECT DISTINCT year FROM documents")
    }


@pytest.mark.slow
def test_frictionless_validates(release: Built) -> None:
    # sqlite:/// paths in the package are resolved against the working directory.
    out = subprocess.run(
        [str(BIN / "frictionless"), "validate", "datapackage.json", "--json"],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=release.version_dir,
    )
    report = json.loads(out.stdout)
    errors = [e for task in report.get("tasks", []) for e in task.get("errors", [])][:10]
    assert report["valid"], errors or report
    names = [t["name"] for t in report["tasks"]]
    assert names == list(TABLES)


@pytest.mark.slow
def test_frictionless_catches_a_broken_foreign_key(sample: Built, tmp_path: Path) -> None:
    for name in ("datapackage.json", sq.SQLITE_FILENAME):
        shutil.copy(sample.version_dir / name, tmp_path / name)
    con = sqlite3.connect(tmp_path / sq.SQLITE_FILENAME)
    con.execute("UPDATE paragraphs SET doc_id = 'k-no-such-document' WHERE rowid = 1")
    con.commit()
    con.close()
    out = subprocess.run(
        [str(BIN / "frictionless"), "validate", "datapackage.json", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    report = json.loads(out.stdout)
    assert not report["valid"]
    errors = {e["type"] for task in report["tasks"] for e in task["errors"]}
    assert "foreign-key" in errors


@pytest.mark.slow
@pytest.mark.parametrize("known", [True, False])
def test_frictionless_checks_quarantine_reasons(known: bool, sample: Built, tmp_path: Path) -> None:
    """A file quarantined by a row check (reason 'quality:<check>') is valid; an unknown reason is not."""
    from kremlin.quality.suites import row_checks

    reason = QUALITY_REASON_PREFIX + (row_checks().checks[0].name if known else "no-such-check")

    for name in ("datapackage.json", sq.SQLITE_FILENAME):
        shutil.copy(sample.version_dir / name, tmp_path / name)
    con = sqlite3.connect(tmp_path / sq.SQLITE_FILENAME)
    con.execute(
        "UPDATE source_files SET status = 'rejected', reject_reason = ?, reject_stage = 'quality'",
        [reason],
    )
    con.commit()
    con.close()
    out = subprocess.run(
        [str(BIN / "frictionless"), "validate", "datapackage.json", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    report = json.loads(out.stdout)
    errors = [e for t in report["tasks"] for e in t["errors"]]
    assert report["valid"] is known, [e["message"] for e in errors][:5]
    assert known or {e["type"] for e in errors} == {"constraint-error"}


@pytest.mark.slow
def test_datapackage_describes_every_column_and_key(sample: Built) -> None:
    package = json.loads((sample.version_dir / "datapackage.json").read_text())
    by_name = {r["name"]: r for r in package["resources"]}
    assert list(by_name) == list(TABLES)
    for table, model in TABLES.items():
        schema = by_name[table]["schema"]
        assert [f["name"] for f in schema["fields"]] == list(model.model_fields)
        assert all(f["description"] for f in schema["fields"])
    assert by_name["paragraphs"]["schema"]["primaryKey"] == ["doc_id", "paragraph_index"]
    refs = {
        (fk["fields"][0], fk["reference"]["resource"])
        for fk in by_name["utterances"]["schema"]["foreignKeys"]
    }
    assert refs == {("doc_id", "documents"), ("person_id", "persons")}


# --------------------------------------------------------------------------- Hugging Face card


def _front_matter(version_dir: Path) -> dict:
    text = (version_dir / "README.md").read_text(encoding="utf-8")
    m = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert m, "README.md has no YAML front matter"
    return yaml.safe_load(m.group(1))


@pytest.mark.slow
def test_card_front_matter_and_every_configs_glob_matches(release: Built) -> None:
    meta = _front_matter(release.version_dir)
    assert meta["license"] == "cc-by-4.0" and meta["language"] == ["en"]
    assert meta["pretty_name"] and meta["size_categories"] and meta["source_datasets"]
    configs = {c["config_name"]: c for c in meta["configs"]}
    assert list(configs) == list(TABLES)
    assert [c for c, v in configs.items() if v.get("default")] == ["documents"]
    for table, config in configs.items():
        matched = {
            p.relative_to(release.version_dir)
            for f in config["data_files"]
            for p in release.version_dir.glob(f["path"])
        }
        assert matched, f"{table}: {config['data_files']} match nothing"
        on_disk = {
            p.relative_to(release.version_dir)
            for p in (release.version_dir / "parquet").rglob("*.parquet")
            if p.relative_to(release.version_dir / "parquet").parts[0].removesuffix(".parquet") == table
        }
        assert matched == on_disk
    body = (release.version_dir / "README.md").read_text(encoding="utf-8")
    assert "en.kremlin.ru" in body and "CC BY 4.0" in body


@pytest.mark.slow
def test_year_is_inside_the_documents_parquet_files(release: Built) -> None:
    files = sorted((release.version_dir / "parquet" / "documents").rglob("*.parquet"))
    assert files
    for f in files:
        table = pq.read_table(f)  # the file alone, without Hive partition inference
        assert "year" in table.column_names, f"{f} lacks the year column"
        hive = re.search(r"year=(\d+)", str(f))
        if hive:
            assert set(table.column("year").to_pylist()) == {int(hive.group(1))}


@pytest.mark.parametrize(
    "value",
    [
        {"a": "plain", "b": ["x", "y: z", 'q"uote'], "c": True},
        {"configs": [{"config_name": "t", "data_files": [{"split": "train", "path": "p/*/*.parquet"}]}]},
        {"pretty_name": "Кремль — «quotes» #hash", "empty": []},
    ],
)
def test_yaml_writer_round_trips(value: dict) -> None:
    assert yaml.safe_load(card.to_yaml(value)) == value


@pytest.mark.parametrize(
    ("n", "bucket"),
    [(0, "n<1K"), (999, "n<1K"), (1000, "1K<n<10K"), (61_955, "10K<n<100K"), (620_000, "100K<n<1M")],
)
def test_size_category(n: int, bucket: str) -> None:
    assert card.size_category(n) == bucket


# --------------------------------------------------------------------------- SQLite


@pytest.mark.slow
def test_sqlite_row_counts_equal_duckdb(release: Built) -> None:
    db = release.version_dir / DB_FILENAME
    lite = release.version_dir / sq.SQLITE_FILENAME
    assert sq.row_counts(lite, TABLES) == sq.duckdb_row_counts(db, TABLES)
    assert sq.row_counts(lite, [sq.fts_table(t) for t in sq.FTS_COLUMNS]) == {
        sq.fts_table(t): n for t, n in sq.duckdb_row_counts(db, sq.FTS_COLUMNS).items()
    }


def _sqlite_rows(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.mark.slow
def test_sqlite_views_have_the_duckdb_columns_and_results(release: Built) -> None:
    db = release.version_dir / DB_FILENAME
    lite = release.version_dir / sq.SQLITE_FILENAME
    for view in sq.SQLITE_VIEWS:
        duck_cols = [r[0] for r in _duck_rows(db, f"DESCRIBE {view}")]
        lite_cols = [r[1] for r in _sqlite_rows(lite, f"PRAGMA table_info({view})")]
        assert lite_cols == duck_cols, view
        numeric = [
            r[0] for r in _duck_rows(db, f"DESCRIBE {view}") if r[1] in ("BIGINT", "INTEGER", "HUGEINT")
        ]
        sums = ", ".join([f"sum({c})" for c in numeric] + ["count(*)"])
        duck = [int(v or 0) for v in _duck_rows(db, f"SELECT {sums} FROM {view}")[0]]
        got = [int(v or 0) for v in _sqlite_rows(lite, f"SELECT {sums} FROM {view}")[0]]
        assert got == duck, view


def _table_contents(path: Path) -> dict[str, list[tuple]]:
    out = {}
    for table, model in TABLES.items():
        cols = ", ".join(model.model_fields)
        out[table] = sorted(_sqlite_rows(path, f"SELECT {cols} FROM {table}"), key=repr)
    return out


def _search(path: Path, table: str, words: str) -> list[tuple]:
    fts = sq.fts_table(table)
    sql = f"SELECT t.* FROM {table} AS t JOIN {fts} ON {fts}.rowid = t.rowid WHERE {fts} MATCH ?"
    return sorted(_sqlite_rows(path, sql, [words]), key=repr)


def _version(root: Path, name: str, db: Path) -> Path:
    vdir = root / name
    vdir.mkdir()
    shutil.copy(db, vdir / DB_FILENAME)
    return vdir


def _mutate(db: Path, statements: list[str]) -> None:
    con = duckdb.connect(str(db))
    try:
        for sql in statements:
            con.execute(sql)
        con.execute("CHECKPOINT")
    finally:
        con.close()


def test_incremental_sqlite_equals_a_cold_build(sample: Built, tmp_path: Path) -> None:
    """Add a document, change a paragraph, then remove a document: each incremental file
    holds exactly the rows (and FTS entries) of a cold build of the same database."""
    base = sample.version_dir / DB_FILENAME
    (doc_id,) = _duck_rows(base, "SELECT doc_id FROM documents ORDER BY doc_id LIMIT 1")[0]
    new_id = "k" + "f" * 16
    copy_doc = [
        f"INSERT INTO {t} SELECT * REPLACE ('{new_id}' AS doc_id) FROM {t} WHERE doc_id = '{doc_id}'"
        for t in ("documents", "paragraphs", "utterances", "document_persons")
    ]
    steps = [
        copy_doc
        + [
            f"UPDATE documents SET title = title || ' (copy)', source_file = 'copy.txt' WHERE doc_id = '{new_id}'",
            # Whole-corpus tables: the rows that differ from the parent's are replaced.
            "UPDATE persons SET n_documents = n_documents + 1 WHERE person_id = (SELECT min(person_id) FROM persons)",
            "UPDATE source_files SET size_bytes = size_bytes + 1 WHERE source_file = (SELECT max(source_file) FROM source_files)",
            f"UPDATE paragraphs SET text = text || ' Zanzibarian marmalade.' "
            f"WHERE doc_id = '{doc_id}' AND paragraph_index = (SELECT max(paragraph_index) FROM paragraphs "
            f"WHERE doc_id = '{doc_id}')",
        ],
        [
            f"DELETE FROM {t} WHERE doc_id = '{doc_id}'"
            for t in ("documents", "paragraphs", "utterances", "document_persons")
        ],
    ]
    manifest = dict(sample.manifest)
    prev = _version(tmp_path, "v0", base)
    write_editions(prev, manifest, parent_dir=None, changes=None, editions=["sqlite"])
    for i, statements in enumerate(steps, start=1):
        cold = _version(tmp_path, f"cold{i}", prev / DB_FILENAME)
        _mutate(cold / DB_FILENAME, statements)
        inc = _version(tmp_path, f"inc{i}", cold / DB_FILENAME)
        changes = diff_databases(prev / DB_FILENAME, inc / DB_FILENAME)
        assert changes, "the mutation must show up in the diff"
        got = write_editions(inc, manifest, parent_dir=prev, changes=changes, editions=["sqlite"])
        assert got["sqlite"].detail.startswith("incremental")
        write_editions(cold, manifest, parent_dir=None, changes=None, editions=["sqlite"])
        a, b = inc / sq.SQLITE_FILENAME, cold / sq.SQLITE_FILENAME
        assert _table_contents(a) == _table_contents(b)
        for words in ("Zanzibarian marmalade", "President", "cooperation"):
            for table in sq.FTS_COLUMNS:
                assert _search(a, table, words) == _search(b, table, words), (table, words)
        for path in (a, b):
            con = sqlite3.connect(path)
            try:
                for table in sq.FTS_COLUMNS:
                    fts = sq.fts_table(table)
                    # FTS5's own consistency check of an external-content index against its table.
                    con.execute(f"INSERT INTO {fts}({fts}, rank) VALUES ('integrity-check', 1)")
                    # The cold build indexes without merging, then leaves FTS5's merging on.
                    (automerge,) = con.execute(f"SELECT v FROM {fts}_config WHERE k = 'automerge'").fetchone()
                    assert automerge == sq.FTS5_AUTOMERGE, (path, table)
            finally:
                con.close()
        prev = inc
    assert _search(prev / sq.SQLITE_FILENAME, "paragraphs", "Zanzibarian marmalade") == []


@pytest.mark.parametrize("range_rows", [1, 3])
def test_cold_sqlite_copied_in_key_ranges_is_the_same_file_content(
    range_rows: int, sample: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large tables are copied in runs of the first key column (bounded DuckDB sorts); the
    rows, their rowids and so the FTS entries are those of one ordered copy."""
    whole = _version(tmp_path, "whole", sample.version_dir / DB_FILENAME)
    write_editions(whole, sample.manifest, parent_dir=None, changes=None, editions=["sqlite"])
    monkeypatch.setattr(sq, "RANGE_ROWS", range_rows)
    ranged = _version(tmp_path, "ranged", sample.version_dir / DB_FILENAME)
    write_editions(ranged, sample.manifest, parent_dir=None, changes=None, editions=["sqlite"])
    sizes = []
    for table in TABLES:
        sql = f"SELECT rowid, * FROM {table} ORDER BY rowid"
        rows = _sqlite_rows(ranged / sq.SQLITE_FILENAME, sql)
        assert rows == _sqlite_rows(whole / sq.SQLITE_FILENAME, sql), table
        sizes.append(len(rows))
    assert max(sizes) > 2 * range_rows  # some copy really was cut into several runs
    for table in sq.FTS_COLUMNS:
        sql = f"SELECT rowid FROM {sq.fts_table(table)} WHERE {sq.fts_table(table)} MATCH 'president' ORDER BY rowid"
        assert _sqlite_rows(ranged / sq.SQLITE_FILENAME, sql) == _sqlite_rows(whole / sq.SQLITE_FILENAME, sql)


def _set_user_version(path: Path, value: int) -> None:
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {value}")
    con.commit()
    con.close()


@pytest.mark.parametrize("case", ["no diff", "foreign file", "older layout"])
def test_sqlite_falls_back_to_cold(case: str, sample: Built, tmp_path: Path) -> None:
    manifest = sample.manifest
    parent = _version(tmp_path, "parent", sample.version_dir / DB_FILENAME)
    if case == "foreign file":
        sqlite3.connect(parent / sq.SQLITE_FILENAME).execute("CREATE TABLE unrelated (x)").connection.close()
    else:
        write_editions(parent, manifest, parent_dir=None, changes=None, editions=["sqlite"])
    if case == "older layout":
        _set_user_version(parent / sq.SQLITE_FILENAME, 1)
    vdir = _version(tmp_path, "v", sample.version_dir / DB_FILENAME)
    changes = None if case == "no diff" else []
    got = write_editions(vdir, manifest, parent_dir=parent, changes=changes, editions=["sqlite"])
    # Without a diff the parent is not even tried; otherwise the detail says why it was refused.
    assert (
        got["sqlite"].detail == "cold"
        if case == "no diff"
        else got["sqlite"].detail.startswith("cold (parent not reused: IncompatibleParent")
    )
    assert sq.row_counts(vdir / sq.SQLITE_FILENAME, TABLES) == sq.duckdb_row_counts(
        vdir / DB_FILENAME, TABLES
    )
    # and with the same parent untouched, an empty diff is an incremental no-op
    if case == "no diff":
        again = _version(tmp_path, "again", sample.version_dir / DB_FILENAME)
        got = write_editions(again, manifest, parent_dir=parent, changes=[], editions=["sqlite"])
        assert got["sqlite"].detail == "incremental (0 documents)"


@pytest.mark.slow
def test_datasette_metadata_describes_every_table_view_and_column(sample: Built) -> None:
    meta = json.loads((sample.version_dir / sq.METADATA_FILENAME).read_text())
    assert meta["license"] == "CC BY 4.0" and "kremlin.ru" in meta["source_url"]
    tables = meta["databases"][sq.DATABASE_NAME]["tables"]
    lite = sample.version_dir / sq.SQLITE_FILENAME
    for name in [*TABLES, *sq.SQLITE_VIEWS]:
        cols = [r[1] for r in _sqlite_rows(lite, f"PRAGMA table_info({name})")]
        assert tables[name]["description"]
        assert list(tables[name]["columns"]) == cols and all(tables[name]["columns"].values()), name
    assert tables["paragraphs"]["fts_table"] == "paragraphs_fts"


# --------------------------------------------------------------------------- browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _datasette(version_dir: Path) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [
            str(BIN / "datasette"),
            "serve",
            "-i",
            str(version_dir / sq.SQLITE_FILENAME),
            "--metadata",
            str(version_dir / sq.METADATA_FILENAME),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/-/versions.json", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"datasette did not start: {proc.stderr.read().decode()[-2000:]}"
                    ) from None
                time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        if proc.poll() is None:
            proc.kill()


def _dump_dom(url: str, tmp_path: Path) -> str:
    out = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed (.ci/run installs Debian's chromium)"
)


@pytest.mark.slow
@needs_chromium
def test_datasette_search_box_finds_a_phrase_of_the_sample_page(sample: Built, tmp_path: Path) -> None:
    lite = sample.version_dir / sq.SQLITE_FILENAME
    rows = _sqlite_rows(
        lite, "SELECT paragraph_index, text FROM paragraphs WHERE kind = 'text' ORDER BY length(text) DESC"
    )
    index, text = rows[0]
    words = re.findall(r"[A-Za-z]{4,}", text)
    phrase = " ".join(words[len(words) // 2 : len(words) // 2 + 4])
    others = [t for _, t in rows[1:] if not all(w.lower() in t.lower() for w in phrase.split())]
    with _datasette(sample.version_dir) as base:
        dom = html.unescape(
            _dump_dom(f"{base}/{sq.DATABASE_NAME}/paragraphs?_search={urllib.parse.quote(phrase)}", tmp_path)
        )
    assert 'name="_search"' in dom  # the table page offers the search box
    assert text in dom, f"paragraph {index} not shown for {phrase!r}"
    assert others and not any(o in dom for o in others)


class _SvgCounter(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.charts: list[int] = []
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "svg":
            self.charts.append(0)
        elif tag == "rect" and self.charts and ("class", "mark") in attrs:
            self.charts[-1] += 1


@pytest.mark.slow
@needs_chromium
def test_release_page_renders_charts_in_chromium(release: Built, tmp_path: Path) -> None:
    dom = _dump_dom((release.version_dir / page.PAGE_FILENAME).as_uri(), tmp_path)
    counter = _SvgCounter()
    counter.feed(dom)
    assert len(counter.charts) == 4 and all(n > 0 for n in counter.charts), counter.charts
    assert release.manifest["version_id"] in dom
    for name in ("kremlin.sqlite", "croissant.json", "datapackage.json", "README.md", "manifest.json"):
        assert f'href="{name}"' in dom
    assert "http://" not in dom.split("<body")[0] and "<script" not in dom


# --------------------------------------------------------------------------- units


def test_release_page_lists_changes_and_quarantined_files(sample: Built) -> None:
    manifest = json.loads(json.dumps(sample.manifest))
    manifest["parent"] = "20260101T000000Z-00000000"
    manifest["lineage"]["rejected_files"] = [
        {
            "source_file": "bad/quality.txt",
            "reason": f"{QUALITY_REASON_PREFIX}title_not_blank",
            "stage": "quality",
        },
        {"source_file": "bad/empty.txt", "reason": "empty", "stage": "decode"},
    ]
    release = release_from_manifest(sample.version_dir, manifest)
    changes = [
        DocumentChange("k1", "Added page", "added"),
        DocumentChange("k2", "Changed page", "changed", ["title", "paragraphs"]),
    ]
    data = page.ChartData([("2020", 1), ("2021", 2)], [("2020", 0), ("2021", 3)], [("A B", 3)], [("News", 2)])
    text = page.render_page(release, changes, data)
    assert "<b>1</b> added, <b>0</b> removed, <b>1</b> changed" in text
    assert "title, paragraphs" in text
    quarantine = text.split("quarantined by the quality gate")[1].split("</table>")[0]
    assert "bad/quality.txt" in quarantine and "bad/empty.txt" not in quarantine
    assert "class='verdict warn'" in text  # passed, but a file was quarantined


@pytest.mark.parametrize(
    ("value", "ceiling"),
    [(0, 1), (1, 1), (7, 8), (11, 20), (2400, 2500), (2900, 3000), (5877, 6000), (61955, 80000)],
)
def test_nice_ceiling(value: float, ceiling: float) -> None:
    assert charts.nice_ceiling(value) == ceiling


def test_charts_draw_one_mark_per_value() -> None:
    points = [(str(y), y - 2000) for y in range(2001, 2011)]
    for svg in (charts.column_chart("t", points), charts.bar_chart("t", points)):
        counter = _SvgCounter()
        counter.feed(svg)
        assert counter.charts == [len(points)]
        assert "2010: 10" in svg


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ALL_EDITIONS),
        ("all", ALL_EDITIONS),
        ("none", ()),
        ("page,card", ("card", "page")),
        (" sqlite , croissant ", ("sqlite", "croissant")),
    ],
)
def test_parse_editions(text: str, expected: tuple[str, ...]) -> None:
    assert parse_editions(text) == expected


def test_an_edition_brings_the_edition_it_reads(sample: Built, tmp_path: Path) -> None:
    vdir = tmp_path / "v"
    vdir.mkdir()
    shutil.copy(sample.version_dir / DB_FILENAME, vdir / DB_FILENAME)
    got = write_editions(vdir, sample.manifest, parent_dir=None, changes=None, editions=["datapackage"])
    assert list(got) == ["sqlite", "datapackage"]
    assert (vdir / sq.SQLITE_FILENAME).is_file() and (vdir / "datapackage.json").is_file()


def test_unknown_edition_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown edition"):
        parse_editions("card,pdf")
