"""kremlin.sqlite: the tables and analyst views in SQLite, with FTS5 search, for Datasette.

Cold build: every contract table is read from the finished ``kremlin.duckdb`` as Arrow
batches (types converted in DuckDB SQL) and inserted with ``executemany`` into a new
file with journalling and syncing off, in one transaction; the FTS5 indexes are built
once at the end with the ``rebuild`` command. Incremental build (a parent version with
a ``kremlin.sqlite`` and the document changes since it): the parent's file is copied,
the rows of removed and changed documents are deleted (and their FTS entries with the
FTS5 ``delete`` command), the rows of added and changed documents are inserted and
indexed, and in the small whole-corpus tables the rows that differ from the parent's
``kremlin.duckdb`` (which the parent's SQLite file mirrors) are replaced.

SQLite has no list, date or instant types: lists are JSON arrays (``json_each`` reads
them), dates and times are ISO 8601 text, instants are ISO 8601 UTC text
('2021-03-04T09:00:00Z'), booleans are 0/1.

The FTS5 tables are external-content tables (``content="<table>"``) over the implicit
rowid, which is how Datasette finds them; the file is therefore never VACUUMed, which
could renumber rowids of tables without an INTEGER PRIMARY KEY.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from kremlin import duck
from kremlin.analyst import PARTITIONED_TABLES, VIEWS, _contract_column_docs, key_columns
from kremlin.contract import Column
from kremlin.diff import DocumentChange
from kremlin.duck import sql_str
from kremlin.editions.release import (
    DESCRIPTION,
    LICENSE_URL,
    SOURCE_NAME,
    SOURCE_URL,
    TITLE,
    Release,
    TableInfo,
)
from kremlin.versions import DB_FILENAME, copy_and_flush

SQLITE_FILENAME = "kremlin.sqlite"
METADATA_FILENAME = "metadata.json"
DATABASE_NAME = Path(SQLITE_FILENAME).stem  # Datasette names a database after its file
BATCH_ROWS = 5_000
RANGE_ROWS = 25_000

# Searchable text: table -> column indexed with FTS5 (Datasette's search box).
FTS_COLUMNS = {"paragraphs": "text", "utterances": "text"}
FTS_TOKENIZE = "porter unicode61 remove_diacritics 2"

# The column Datasette shows for a row when another table links to it.
LABEL_COLUMNS = {"documents": "title", "persons": "name"}

# Per-document tables large enough to update document by document; the others are
# small whole-corpus tables (persons, mentions, files) and are replaced outright, which
# also picks up a person resolution that changed for an untouched document.
PER_DOCUMENT_TABLES = tuple(PARTITIONED_TABLES)

_SQLITE_TYPES = {
    "VARCHAR": "TEXT",
    "VARCHAR[]": "TEXT",
    # Declared BOOLEAN (numeric affinity, stored 0/1) so that SQLAlchemy, and through it
    # Frictionless, reads Python booleans.
    "BOOLEAN": "BOOLEAN",
    "INTEGER": "INTEGER",
    "BIGINT": "INTEGER",
    "DATE": "TEXT",
    "TIME": "TEXT",
    "TIMESTAMPTZ": "TEXT",
}

# DuckDB expression turning a contract column into its SQLite value.
_CONVERT = {
    "VARCHAR[]": "to_json({c})::VARCHAR",
    "BOOLEAN": "{c}::INTEGER",
    "DATE": "strftime({c}, '%Y-%m-%d')",
    "TIME": "{c}::VARCHAR",
    "TIMESTAMPTZ": "strftime(timezone('UTC', {c}), '%Y-%m-%dT%H:%M:%SZ')",
}

# Words in a text: runs of non-blank characters. SQLite has no regular expressions,
# but body text is normalised (single spaces inside a paragraph, paragraphs of a turn
# joined by one blank line, no leading or trailing blanks), so counting separators is
# exact; tests compare the SQLite views with the DuckDB ones.
_N_WORDS = (
    "(CASE WHEN {t} = '' THEN 0 ELSE length(replace({t}, char(10) || char(10), ' ')) "
    "- length(replace(replace({t}, char(10) || char(10), ' '), ' ', '')) + 1 END)"
)

# SQLite equivalents of kremlin.analyst.VIEWS (same names, same columns in the same
# order; descriptions come from VIEWS).
SQLITE_VIEWS: dict[str, str] = {
    "utterances_enriched": f"""
        SELECT u.doc_id, u.turn_index, u.speaker_label, u.speaker_kind, u.speaker_name,
               u.speaker_role, u.person_id, u.text, u.n_paragraphs, u.year,
               d.event_date, d.event_start, d.title, d.place,
               p.name AS person_name, p.sort_name AS person_sort_name,
               {_N_WORDS.format(t="u.text")} AS n_words
        FROM utterances AS u
        JOIN documents AS d USING (doc_id)
        LEFT JOIN persons AS p ON p.person_id = u.person_id""",
    "document_speakers": f"""
        SELECT u.doc_id, u.person_id,
               max(p.name) AS person_name, max(p.sort_name) AS person_sort_name,
               max(d.event_date) AS event_date, max(d.title) AS title,
               count(*) AS turns,
               sum({_N_WORDS.format(t="u.text")}) AS words,
               min(u.turn_index) AS first_turn
        FROM utterances AS u
        JOIN documents AS d USING (doc_id)
        LEFT JOIN persons AS p ON p.person_id = u.person_id
        WHERE u.person_id IS NOT NULL
        GROUP BY u.doc_id, u.person_id""",
    "speaker_totals": """
        SELECT person_id, max(person_name) AS person_name,
               max(person_sort_name) AS person_sort_name,
               count(*) AS documents, sum(turns) AS turns, sum(words) AS words,
               min(event_date) AS first_event_date, max(event_date) AS last_event_date
        FROM document_speakers
        GROUP BY person_id""",
    "person_mentions": """
        SELECT m.doc_id, m.person_id, m.mentioned_as, m.source, m.position,
               p.name AS person_name, d.event_date, d.title
        FROM document_persons AS m
        JOIN documents AS d USING (doc_id)
        LEFT JOIN persons AS p ON p.person_id = m.person_id""",
    "document_topics": """
        SELECT d.doc_id, d.event_date, d.year, t.value AS topic, t.key AS position
        FROM documents AS d, json_each(d.topics) AS t""",
    "document_geography": """
        SELECT d.doc_id, d.event_date, d.year, g.value AS geography, g.key AS position
        FROM documents AS d, json_each(d.geography) AS g""",
    "yearly_counts": """
        SELECT year, count(*) AS documents, sum(n_paragraphs) AS paragraphs,
               sum(n_turns) AS turns
        FROM documents
        GROUP BY year""",
    "rejected_files": """
        SELECT source_file, sha256, size_bytes, reject_reason, reject_stage, reject_message
        FROM source_files
        WHERE status = 'rejected'""",
}
if set(SQLITE_VIEWS) != set(VIEWS):  # a view added to analyst.VIEWS needs its SQLite twin
    raise RuntimeError(f"SQLite views {sorted(SQLITE_VIEWS)} != analyst views {sorted(VIEWS)}")


@dataclass(frozen=True)
class SqliteBuild:
    path: Path
    mode: str  # 'cold' or 'incremental'
    documents_touched: int | None = None


class IncompatibleParent(Exception):
    """The parent's SQLite file cannot be updated in place (other schema, missing tables)."""


def qi(name: str) -> str:
    """SQL identifier, double-quoted (the one quoting rule for SQLite and DuckDB)."""
    return '"' + name.replace('"', '""') + '"'


def fts_table(table: str) -> str:
    return f"{table}_fts"


def _pk_clause(table: TableInfo) -> str:
    return f",\n  PRIMARY KEY ({', '.join(qi(c) for c in table.primary_key)})" if table.primary_key else ""


def _fk_clauses(table: TableInfo) -> str:
    # Declared (not enforced: foreign_keys is off) so that Datasette links each value to
    # the row it names and shows that row's label.
    return "".join(
        f",\n  FOREIGN KEY ({qi(fk.column)}) REFERENCES {qi(fk.table)} ({qi(fk.column)})"
        for fk in table.foreign_keys
    )


def create_table_sql(table: TableInfo) -> str:
    cols = ",\n".join(
        f"  {qi(c.name)} {_SQLITE_TYPES[c.sql_type]}{'' if c.nullable else ' NOT NULL'}"
        for c in table.columns
    )
    return f"CREATE TABLE {qi(table.name)} (\n{cols}{_pk_clause(table)}{_fk_clauses(table)}\n)"


def index_sql(table: TableInfo) -> list[str]:
    """An index per foreign-key column not already leading the primary key (joins, facets)."""
    out = []
    for fk in table.foreign_keys:
        if table.primary_key[:1] == [fk.column]:
            continue
        out.append(
            f"CREATE INDEX {qi(f'idx_{table.name}_{fk.column}')} ON {qi(table.name)} ({qi(fk.column)})"
        )
    return out


def fts_sql(table: str) -> str:
    return (
        f"CREATE VIRTUAL TABLE {qi(fts_table(table))} USING fts5({qi(FTS_COLUMNS[table])}, "
        f'content="{table}", tokenize={sql_str(FTS_TOKENIZE)})'
    )


def _select_expr(column: Column) -> str:
    template = _CONVERT.get(column.sql_type)
    expr = template.format(c=qi(column.name)) if template else qi(column.name)
    return f"{expr} AS {qi(column.name)}"


def duckdb_select(table: TableInfo, where: str = "") -> str:
    """SELECT over the DuckDB table giving SQLite-ready values, in key order."""
    cols = ", ".join(_select_expr(c) for c in table.columns)
    order = ", ".join(qi(c) for c in key_columns(table.name))
    return f"SELECT {cols} FROM {qi(table.name)} {where} ORDER BY {order}"


def _copy_rows(
    src: duckdb.DuckDBPyConnection, dst: sqlite3.Connection, table: TableInfo, where: str = "", params=None
) -> int:
    marks = ", ".join("?" for _ in table.columns)
    insert = f"INSERT INTO {qi(table.name)} VALUES ({marks})"
    n = 0
    for part in _key_ranges(src, table, where):
        reader = src.execute(duckdb_select(table, part), params or []).to_arrow_reader(BATCH_ROWS)
        for batch in reader:
            # Column-wise to_pylist is far faster than row-wise conversion.
            dst.executemany(insert, zip(*(col.to_pylist() for col in batch.columns), strict=True))
            n += batch.num_rows
    return n


def _key_ranges(src: duckdb.DuckDBPyConnection, table: TableInfo, where: str) -> list[str]:
    """WHERE clauses that cut a whole-table copy into runs of about ``RANGE_ROWS`` rows by
    the first key column, in key order: each run is sorted on its own, so DuckDB never
    holds the sort of a whole large table (390 MB more in the stage worker at 10x), and
    the rows still arrive in exactly the order of one ORDER BY over the table."""
    if where:
        return [where]  # a filtered copy (an incremental update) is small
    first = qi(key_columns(table.name)[0])
    (rows,) = src.execute(f"SELECT count(*) FROM {qi(table.name)}").fetchone()
    if rows <= RANGE_ROWS:
        return [""]
    # Every RANGE_ROWS-th value of the first key column starts a run (equal values stay
    # in one run); NULLs sort last, so they go with the last run.
    bounds = [
        b
        for (b,) in src.execute(
            f"SELECT DISTINCT {first} FROM (SELECT {first}, row_number() OVER (ORDER BY {first}) AS rn "
            f"FROM {qi(table.name)}) WHERE rn % {RANGE_ROWS} = 1 AND rn > 1 ORDER BY 1"
        ).fetchall()
    ]
    lits = [_duck_lit(b) for b in bounds]
    clauses = [f"WHERE {first} < {lits[0]}"] if lits else []
    clauses += [f"WHERE {first} >= {lo} AND {first} < {hi}" for lo, hi in zip(lits, lits[1:], strict=False)]
    clauses.append(f"WHERE {first} >= {lits[-1]} OR {first} IS NULL" if lits else "")
    return clauses


def _duck_lit(value: object) -> str:
    if isinstance(value, int):
        return str(value)
    return sql_str(value)


def _fast(con: sqlite3.Connection) -> None:
    # The file is written once into a staging folder and published by rename: a crash
    # leaves a build that is thrown away, so no journal or fsync is needed.
    con.execute("PRAGMA journal_mode = OFF")
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA locking_mode = EXCLUSIVE")
    # 16 MiB: as fast as 64 MiB at 10x the corpus (the file is written in key order), 50 MB less.
    con.execute("PRAGMA cache_size = -16384")
    con.execute("PRAGMA temp_store = MEMORY")


def _create_views(con: sqlite3.Connection) -> None:
    for name, sql in SQLITE_VIEWS.items():
        con.execute(f"DROP VIEW IF EXISTS {qi(name)}")
        con.execute(f"CREATE VIEW {qi(name)} AS {sql}")


@contextlib.contextmanager
def _replacing(target: Path) -> Iterator[Path]:
    """A hidden temp file that becomes ``target`` on success and vanishes on failure."""
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, target)


@contextlib.contextmanager
def _connections(
    release: Release, path: Path
) -> Iterator[tuple[duckdb.DuckDBPyConnection, sqlite3.Connection]]:
    src = duck.connect(release.db_path, read_only=True, memory=duck.STREAM_MEMORY)
    try:
        dst = sqlite3.connect(path, isolation_level=None)
        try:
            _fast(dst)
            yield src, dst
        finally:
            dst.close()
    finally:
        src.close()


def build_cold(release: Release, target: Path) -> SqliteBuild:
    with _replacing(target) as tmp, _connections(release, tmp) as (src, dst):
        dst.execute("BEGIN")
        for t in release.tables:
            dst.execute(create_table_sql(t))
            _copy_rows(src, dst, t)
            for sql in index_sql(t):
                dst.execute(sql)
            if t.name in FTS_COLUMNS:
                dst.execute(fts_sql(t.name))
                _rebuild_fts(dst, t.name)
        _create_views(dst)
        dst.execute(f"PRAGMA user_version = {layout_version(release.tables)}")
        dst.execute("COMMIT")
        dst.execute("ANALYZE")
    return SqliteBuild(target, "cold")


# FTS5's default: merge level-0 segments once this many exist (https://sqlite.org/fts5.html).
FTS5_AUTOMERGE = 4


def _rebuild_fts(con: sqlite3.Connection, table: str) -> None:
    """Index every row of ``table`` in its FTS5 table, in one go.

    Incremental merging is off while the index is built: a whole-table rebuild flushes
    many segments, and merging them as they come took a quarter of the rebuild (paragraphs
    of a 10x corpus: 5.2 s with it, 4.0 s without; 30 searches took as long in either
    file). It is then set back to FTS5's default, which the file keeps, so the updates of
    later versions merge as usual."""
    fts = qi(fts_table(table))
    con.execute(f"INSERT INTO {fts}({fts}, rank) VALUES ('automerge', 0)")
    con.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
    con.execute(f"INSERT INTO {fts}({fts}, rank) VALUES ('automerge', {FTS5_AUTOMERGE})")


def layout_version(tables: Iterable[TableInfo]) -> int:
    """Fingerprint of everything that shapes the file (DDL, value conversions, FTS options).

    Stored as ``PRAGMA user_version``; a parent built with another layout (another
    contract, timestamp format or tokenizer) is rebuilt cold instead of being patched
    into a file that mixes two formats. Derived, so it cannot be forgotten on a change.
    """
    parts = [json.dumps([_SQLITE_TYPES, _CONVERT, FTS_COLUMNS, FTS_TOKENIZE], sort_keys=True)]
    for t in tables:
        parts.append(create_table_sql(t))
        parts.extend(_select_expr(c) for c in t.columns)
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return int(digest[:7], 16)  # user_version is a signed 32-bit integer


def _check_parent(con: sqlite3.Connection, release: Release) -> None:
    (found,) = con.execute("PRAGMA user_version").fetchone()
    if found != layout_version(release.tables):
        raise IncompatibleParent(f"layout {found} != {layout_version(release.tables)}")
    for t in release.tables:
        names = [r[1] for r in con.execute(f"PRAGMA table_info({qi(t.name)})")]
        if names != [c.name for c in t.columns]:
            raise IncompatibleParent(f"{t.name}: columns {names} differ from the contract")
    for table in FTS_COLUMNS:
        if not con.execute("SELECT 1 FROM sqlite_master WHERE name = ?", [fts_table(table)]).fetchone():
            raise IncompatibleParent(f"no FTS table {fts_table(table)}")


def _bookkeeping_changes(src: duckdb.DuckDBPyConnection) -> set[str]:
    """Documents whose source file or content hash moved, which the content diff ignores
    (``src`` has the parent's database attached as ``parent``)."""
    rows = src.execute(
        "SELECT coalesce(n.doc_id, o.doc_id) FROM documents AS n FULL JOIN parent.main.documents AS o "
        "ON n.doc_id = o.doc_id WHERE n.source_file IS DISTINCT FROM o.source_file "
        "OR n.content_sha256 IS DISTINCT FROM o.content_sha256"
    ).fetchall()
    return {d for (d,) in rows}


def _changed_groups(src: duckdb.DuckDBPyConnection, table: TableInfo) -> list | None:
    """Values of the table's first key column whose rows differ from the parent's (rows
    only one side has, as multisets); None when one of them is NULL (replace the table)."""
    first = qi(key_columns(table.name)[0])
    cols = ", ".join(qi(c.name) for c in table.columns)
    name = qi(table.name)
    rows = src.execute(
        f"SELECT DISTINCT {first} FROM ((SELECT {cols} FROM main.{name} EXCEPT ALL "
        f"SELECT {cols} FROM parent.main.{name}) UNION ALL (SELECT {cols} FROM parent.main.{name} "
        f"EXCEPT ALL SELECT {cols} FROM main.{name})) ORDER BY 1"
    ).fetchall()
    values = [v for (v,) in rows]
    return None if any(v is None for v in values) else values


def build_incremental(
    release: Release, parent_dir: Path, changes: Iterable[DocumentChange], target: Path
) -> SqliteBuild:
    parent_duck = Path(parent_dir) / DB_FILENAME
    if not parent_duck.is_file():
        raise IncompatibleParent(f"no {DB_FILENAME} beside the parent's {SQLITE_FILENAME}")
    # What differs from the parent, on a connection with the publish budget (the set
    # differences need more than the streaming reader's, which then could not spill).
    con = duck.connect(release.db_path, read_only=True, memory=duck.PUBLISH_MEMORY)
    try:
        con.execute(f"ATTACH {sql_str(parent_duck)} AS parent (READ_ONLY)")
        moved = _bookkeeping_changes(con)
        groups = {
            t.name: _changed_groups(con, t) for t in release.tables if t.name not in PER_DOCUMENT_TABLES
        }
    finally:
        con.close()
    with _replacing(target) as tmp:
        copy_and_flush(Path(parent_dir) / SQLITE_FILENAME, tmp)
        with _connections(release, tmp) as (src, dst):
            touched = _update(release, src, dst, sorted({c.doc_id for c in changes} | moved), groups)
    return SqliteBuild(target, "incremental", len(touched))


def _update(
    release: Release,
    src: duckdb.DuckDBPyConnection,
    dst: sqlite3.Connection,
    touched: list[str],
    groups: dict[str, list | None],
) -> list[str]:
    """Patch a copy of the parent's file in place; return the documents rewritten.

    The per-document tables are rewritten for the ``touched`` documents (those of the diff
    and those whose bookkeeping columns moved); the whole-corpus tables for the values of
    their first key column whose rows differ from the parent's database (``groups``, None:
    replace the table), which the SQLite file mirrors."""
    _check_parent(dst, release)
    dst.execute("BEGIN")
    dst.execute("CREATE TEMP TABLE touched (doc_id TEXT PRIMARY KEY)")
    dst.executemany("INSERT INTO temp.touched VALUES (?)", [(d,) for d in touched])
    in_touched = "doc_id IN (SELECT doc_id FROM temp.touched)"
    for t in release.tables:
        if t.name in PER_DOCUMENT_TABLES:
            if t.name in FTS_COLUMNS:
                fts, col = qi(fts_table(t.name)), qi(FTS_COLUMNS[t.name])
                dst.execute(
                    f"INSERT INTO {fts}({fts}, rowid, {col}) "
                    f"SELECT 'delete', rowid, {col} FROM {qi(t.name)} WHERE {in_touched}"
                )
            dst.execute(f"DELETE FROM {qi(t.name)} WHERE {in_touched}")
            (last,) = dst.execute(f"SELECT coalesce(max(rowid), 0) FROM {qi(t.name)}").fetchone()
            if touched:
                _copy_rows(src, dst, t, "WHERE doc_id IN (SELECT unnest($1))", [touched])
            if t.name in FTS_COLUMNS:
                # New rows take rowids above the old maximum.
                dst.execute(
                    f"INSERT INTO {fts}(rowid, {col}) SELECT rowid, {col} FROM {qi(t.name)} WHERE rowid > ?",
                    [last],
                )
            continue
        changed = groups[t.name]
        if changed is None:
            dst.execute(f"DELETE FROM {qi(t.name)}")
            _copy_rows(src, dst, t)
        elif changed:
            first = qi(key_columns(t.name)[0])
            dst.execute("CREATE TEMP TABLE groups (v)")
            dst.executemany("INSERT INTO temp.groups VALUES (?)", [(v,) for v in changed])
            dst.execute(f"DELETE FROM {qi(t.name)} WHERE {first} IN (SELECT v FROM temp.groups)")
            dst.execute("DROP TABLE temp.groups")
            _copy_rows(src, dst, t, f"WHERE {first} IN (SELECT unnest($1))", [changed])
    _create_views(dst)
    dst.execute("COMMIT")
    return touched


def row_counts(path: Path, tables: Iterable[str]) -> dict[str, int]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {qi(t)}").fetchone()[0] for t in tables}
    finally:
        con.close()


def duckdb_row_counts(db_path: Path, tables: Iterable[str]) -> dict[str, int]:
    con = duck.connect(db_path, read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {qi(t)}").fetchone()[0] for t in tables}
    finally:
        con.close()


def datasette_metadata(release: Release) -> dict:
    tables: dict[str, dict] = {}
    for t in release.tables:
        entry: dict[str, object] = {
            "description": t.description,
            "columns": {c.name: c.description for c in t.columns},
        }
        if t.name in FTS_COLUMNS:
            entry["fts_table"] = fts_table(t.name)
            entry["fts_pk"] = "rowid"
        if t.name in LABEL_COLUMNS:
            entry["label_column"] = LABEL_COLUMNS[t.name]
        tables[t.name] = entry
    contract_docs = _contract_column_docs()
    con = sqlite3.connect(":memory:")
    try:
        # Column names of each view, from SQLite itself, over empty tables.
        for t in release.tables:
            con.execute(create_table_sql(t))
        _create_views(con)
        for view, (description, col_docs, _sql) in VIEWS.items():
            cols = [r[1] for r in con.execute(f"PRAGMA table_info({qi(view)})")]
            tables[view] = {
                "description": " ".join(description.split()),
                "columns": {
                    c: col_docs.get(c) or contract_docs.get(c) or f"Column {c} of {view}." for c in cols
                },
            }
    finally:
        con.close()
    return {
        "title": f"{TITLE} — {release.version_id}",
        "description": DESCRIPTION,
        "license": "CC BY 4.0",
        "license_url": LICENSE_URL,
        "source": SOURCE_NAME,
        "source_url": SOURCE_URL,
        "databases": {
            DATABASE_NAME: {
                "description": f"Version {release.version_id} (parent {release.parent}).",
                "tables": tables,
            }
        },
    }


def write_metadata(release: Release) -> Path:
    path = release.version_dir / METADATA_FILENAME
    path.write_text(
        json.dumps(datasette_metadata(release), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return path


def write_sqlite(
    release: Release, *, parent_dir: Path | None, changes: list[DocumentChange] | None
) -> tuple[SqliteBuild, list[Path]]:
    """Build kremlin.sqlite (incrementally when possible) and metadata.json; check row counts."""
    target = release.version_dir / SQLITE_FILENAME
    parent_db = Path(parent_dir) / SQLITE_FILENAME if parent_dir is not None else None
    build: SqliteBuild | None = None
    why = ""
    if parent_db is not None and parent_db.is_file() and changes is not None:
        try:
            build = build_incremental(release, parent_db.parent, changes, target)
        except (IncompatibleParent, sqlite3.DatabaseError, duckdb.Error) as exc:
            # Safe (a cold build follows) but slow: say why in the manifest's build detail.
            why = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
    names = [t.name for t in release.tables]
    expected = duckdb_row_counts(release.db_path, names)
    if build is not None and row_counts(target, names) != expected:
        build = None  # an incremental update that drifted: start over rather than publish it
        why = "row counts drifted"
    if build is None:
        build = build_cold(release, target)
        if why:
            build = SqliteBuild(build.path, f"cold (parent not reused: {why})")
    got = row_counts(target, names)
    if got != expected:
        raise RuntimeError(f"kremlin.sqlite row counts {got} != kremlin.duckdb {expected}")
    return build, [target, write_metadata(release)]
