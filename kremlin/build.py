"""Assemble the curated DuckDB file from the run's files and the parse shards.

All heavy lifting is SQL over the shard Parquet files, so memory stays flat however many
pages there are; only the tags and speaker labels of the pages person resolution has to
read pass through Python.

A build either starts empty (cold) or from a copy of the parent version's database
(incremental, when the parent was built by the same code): then only the documents whose
published file changed are deleted and re-inserted, and only their rows are read from the
shards and checked row by row. Both ways end with the same tables: duplicates, quarantine
and source_files are recomputed from the complete state in SQL; people are resolved from
the stored ``people_*`` state for what changed, which equals a full resolution
(``kremlin.persons.resolve_changes``); and the dataset fingerprint is a function of table
content alone.

Order of a build: files → documents (ids, published copy) → delta against the parent →
new rows staged → row-level quality checks on the staged documents (a document that fails
one is quarantined: left out, its files rejected with reason ``quality:<check>``) → rows
inserted → people resolved → ``source_files``.
"""

from __future__ import annotations

import dataclasses
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import duckdb
import pyarrow as pa

from kremlin import duck
from kremlin.contract import columns, ddl
from kremlin.duck import sql_str
from kremlin.ids import SITE_DOC_ID_SQL, SOURCE_URL_PREFIX
from kremlin.inventory import InputFile
from kremlin.layout import PAGE_FILE_NAME_RULE, names_page_sql
from kremlin.persons import (
    ClusterStat,
    DocPeople,
    EntityRow,
    KeyStat,
    KnownPerson,
    LexiconRow,
    ParseRow,
    PeopleState,
    PeopleUpdate,
    RowColumn,
    resolve_changes,
    row_columns,
)
from kremlin.versions import FINGERPRINT_PARTS, copy_and_flush, refresh_fingerprint_parts
from schemas.page import READ_STAGE
from schemas.tables import QUALITY_REASON_PREFIX, TABLES

DUPLICATE_RULE = (
    """\
Files that give the same `doc_id` are one document. Its copies are ranked: page-style texts
(they carry the site's id) first, then those whose file name names the page (below), then
by file name. The published copy is the first that passes the row-level quality checks:
a copy that fails one is rejected with the check's reason (with every file of the same
bytes), and the page's other copies (other bytes) are checked in its place. The other files are
`duplicate`, with `duplicate_of` naming the published file; a document none of whose copies
passes is quarantined. """
    + PAGE_FILE_NAME_RULE
)

CONTENT_TABLES = ("documents", "paragraphs", "utterances")
PEOPLE_TABLES = ("persons", "document_persons")
STAGED = {t: f"staged_{t}" for t in CONTENT_TABLES}
"""Temp tables holding the rows of the documents new in this build (what row checks see)."""
_TOUCHED_DOCS = "SELECT doc_id FROM new_docs UNION SELECT doc_id FROM removed_docs UNION SELECT doc_id FROM people_changed"
"""Documents whose rows an incremental build deleted, inserted or updated."""
# Columns the shards cannot know: the file a document is published from, and the
# speaker kind, set by person resolution right after the insert.
_PLACEHOLDERS = {"source_file": "n.source_file", "speaker_kind": "'anonymous'", "doc_id": "n.doc_id"}


@dataclass(frozen=True)
class Quarantine:
    """A staged document that failed a row-level check: it is not published."""

    doc_id: str
    check: str
    message: str


class RowVerdict(Protocol):
    quarantine: list[Quarantine]


RowChecker = Callable[[duckdb.DuckDBPyConnection], RowVerdict]
"""Runs the row-level checks on the ``staged_*`` tables of a build connection."""


@dataclass(frozen=True)
class BuildStats:
    files: int
    published: int
    duplicates: int
    rejected: int
    quarantined: int
    row_counts: dict[str, int]
    incremental: bool = False
    documents_reused: int = 0
    documents_added: int = 0
    documents_removed: int = 0


@dataclass(frozen=True)
class Delta:
    """Documents of this build relative to the parent (a changed document is in both lists)."""

    removed: tuple[str, ...]
    added: tuple[str, ...]
    people_changed: tuple[str, ...] = ()
    """Kept documents whose speaker columns were resolved anew (their utterance rows changed)."""


@dataclass(frozen=True)
class BuildResult:
    stats: BuildStats
    delta: Delta
    quarantine: list[Quarantine]
    row_verdict: RowVerdict | None
    seconds: dict[str, float] = dataclasses.field(default_factory=dict)
    """Wall time of each step of the build (``copy``, ``people``, ...), for the manifest."""


def _inputs_table(inputs: list[InputFile]) -> pa.Table:
    return pa.table(
        {
            "source_file": pa.array([f.source_file for f in inputs], pa.string()),
            "name_hex": pa.array([f.name_hex for f in inputs], pa.string()),
            "sha256": pa.array([f.sha256 for f in inputs], pa.string()),
            "size_bytes": pa.array([f.size_bytes for f in inputs], pa.int64()),
            "scan_reason": pa.array([f.reject.reason if f.reject else None for f in inputs], pa.string()),
            "scan_message": pa.array([f.reject.message if f.reject else None for f in inputs], pa.string()),
        }
    )


def build_database(
    db_path: Path,
    inputs: list[InputFile],
    cache_dir: Path,
    *,
    parent_db: Path | None = None,
    known_persons: list[KnownPerson] | None = None,
    row_checker: RowChecker | None = None,
    threads: int | None = None,
) -> BuildResult:
    """Build ``db_path``: from a copy of ``parent_db`` when given (same code), else from scratch."""
    seconds: dict[str, float] = {}

    def step(name: str, fn, *args):
        t0 = time.perf_counter()
        try:
            return fn(*args)
        finally:
            seconds[name] = round(seconds.get(name, 0.0) + time.perf_counter() - t0, 3)

    db_path.unlink(missing_ok=True)
    if parent_db is not None:
        step("copy", copy_and_flush, parent_db, db_path)
    con = duck.connect(db_path)
    try:
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        if parent_db is None:
            for table in TABLES:
                con.execute(ddl(table))
        con.register("inputs_arrow", _inputs_table(inputs))
        con.execute("CREATE TEMP TABLE inputs AS SELECT * FROM inputs_arrow")
        con.unregister("inputs_arrow")
        step("outcomes", _load_outcomes, con, cache_dir)
        step("documents", _assign_documents, con)
        delta = step("delta", lambda: _apply_delta(con, incremental=parent_db is not None))
        step("stage", _stage_rows, con, cache_dir)
        verdict = step("row_checks", row_checker, con) if row_checker else None
        con.execute(_FAILED_COPY_DDL)
        quarantined = step("fallback", _fall_back, con, cache_dir, row_checker, verdict) if verdict else []
        _quarantine(con)
        step("insert", _insert_staged, con)
        step("source_files", _fill_source_files, con)
        step("people", _resolve_people, con, known_persons or [])
        # Every row of the part tables is final now: rehash the documents that changed.
        touched = _TOUCHED_DOCS if parent_db is not None and _has_table(con, FINGERPRINT_PARTS) else None
        step("fingerprint_parts", refresh_fingerprint_parts, con, touched)
        people = [r[0] for r in con.execute("SELECT doc_id FROM people_changed ORDER BY 1").fetchall()]
        delta = dataclasses.replace(delta, people_changed=tuple(people))
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
        status = dict(con.execute("SELECT status, count(*) FROM source_files GROUP BY status").fetchall())
        added = con.execute(f"SELECT count(*) FROM {STAGED['documents']}").fetchone()[0]
        step("checkpoint", con.execute, "CHECKPOINT")
    finally:
        con.close()
    stats = BuildStats(
        files=len(inputs),
        published=status.get("published", 0),
        duplicates=status.get("duplicate", 0),
        rejected=status.get("rejected", 0),
        quarantined=len(quarantined),
        row_counts=counts,
        incremental=parent_db is not None,
        documents_reused=counts["documents"] - added,
        documents_added=len(delta.added),
        documents_removed=len(delta.removed),
    )
    return BuildResult(stats, delta, quarantined, verdict, seconds)


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        con.execute(
            "SELECT 1 FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = ?", [name]
        ).fetchone()
    )


def _shard_file(shard: str, table: str) -> str:
    return f"{shard}/{table}.parquet"


def _load_outcomes(con: duckdb.DuckDBPyConnection, cache_dir: Path) -> None:
    readable = con.execute("SELECT count(*) FROM inputs WHERE sha256 IS NOT NULL").fetchone()[0]
    if not readable:
        con.execute(
            "CREATE TEMP TABLE outcome (sha256 VARCHAR, doc_id VARCHAR, kremlin_id BIGINT, shard VARCHAR, "
            "reject_reason VARCHAR, reject_stage VARCHAR, reject_message VARCHAR)"
        )
        return
    glob = sql_str(str(cache_dir / "*" / "outcomes.parquet"))
    # A sha256 may sit in two shards (runs that overlapped, or a file that could not be read
    # and was parsed again by a later run): take a parse of its bytes over a failed read,
    # then the first shard by name.
    con.execute(
        f"""
        CREATE TEMP TABLE outcome AS
        SELECT sha256, doc_id, kremlin_id, shard, reject_reason, reject_stage, reject_message FROM (
            SELECT o.*, regexp_replace(o.filename, '/[^/]+$', '') AS shard,
                   row_number() OVER (
                       PARTITION BY o.sha256 ORDER BY o.reject_stage IS NOT DISTINCT FROM {sql_str(READ_STAGE)}, o.filename
                   ) AS rn
            FROM read_parquet({glob}, filename = true) o
            WHERE o.sha256 IN (SELECT sha256 FROM inputs)
        ) WHERE rn = 1
        """
    )
    missing = con.execute(
        "SELECT count(*) FROM inputs WHERE sha256 IS NOT NULL AND sha256 NOT IN (SELECT sha256 FROM outcome)"
    ).fetchone()[0]
    if missing:
        raise RuntimeError(f"{missing} input file(s) have no parse result in {cache_dir}")


def _assign_documents(con: duckdb.DuckDBPyConnection) -> None:
    """Each file's document (see kremlin.ids.DOC_ID_RULE) and its published copy."""
    site_id = SITE_DOC_ID_SQL.format("coalesce(o.kremlin_id, g.site_id)")
    names_page = names_page_sql("source_file", "site_id", sql_str(SOURCE_URL_PREFIX))
    con.execute(
        f"""
        CREATE TEMP TABLE file_outcome AS
        WITH g AS (SELECT doc_id AS identity_id, min(kremlin_id) AS site_id FROM outcome
                   WHERE doc_id IS NOT NULL GROUP BY doc_id),
        f AS (
            SELECT i.source_file, i.name_hex, i.sha256, i.size_bytes, i.scan_reason, i.scan_message,
                   o.doc_id AS identity_id, o.kremlin_id, o.shard,
                   o.reject_reason, o.reject_stage, o.reject_message, coalesce(o.kremlin_id, g.site_id) AS site_id,
                   CASE WHEN o.doc_id IS NULL THEN NULL
                        WHEN coalesce(o.kremlin_id, g.site_id) IS NOT NULL THEN {site_id}
                        ELSE o.doc_id END AS doc_id
            FROM inputs i LEFT JOIN outcome o USING (sha256) LEFT JOIN g ON g.identity_id = o.doc_id
        )
        SELECT * EXCLUDE (site_id), CASE WHEN doc_id IS NULL THEN NULL ELSE row_number() OVER (
                   PARTITION BY doc_id ORDER BY kremlin_id IS NULL, NOT coalesce({names_page}, false), source_file)
                   END AS copy_rank
        FROM f
        """
    )
    con.execute(
        "CREATE TEMP TABLE candidate AS SELECT doc_id, source_file, sha256, shard "
        "FROM file_outcome WHERE copy_rank = 1"
    )


def _apply_delta(con: duckdb.DuckDBPyConnection, *, incremental: bool) -> Delta:
    """Delete the parent's documents that are gone or changed; leave the new ones to stage.

    A parent document is kept when the same file with the same bytes still publishes it:
    same code, same bytes, same rows.
    """
    if incremental:
        con.execute(
            """
            CREATE TEMP TABLE kept AS
            SELECT d.doc_id FROM documents d
            JOIN source_files s ON s.source_file = d.source_file
            JOIN candidate c ON c.doc_id = d.doc_id AND c.source_file = d.source_file AND c.sha256 = s.sha256
            """
        )
        con.execute(
            "CREATE TEMP TABLE removed_docs AS "
            "SELECT doc_id FROM documents WHERE doc_id NOT IN (SELECT doc_id FROM kept)"
        )
        removed = [r[0] for r in con.execute("SELECT doc_id FROM removed_docs ORDER BY doc_id").fetchall()]
        for table in (*CONTENT_TABLES, "document_persons"):
            con.execute(f"DELETE FROM {table} WHERE doc_id NOT IN (SELECT doc_id FROM kept)")
    else:
        con.execute("CREATE TEMP TABLE kept (doc_id VARCHAR)")
        con.execute("CREATE TEMP TABLE removed_docs (doc_id VARCHAR)")
        removed = []
    con.execute(
        "CREATE TEMP TABLE new_docs AS SELECT * FROM candidate WHERE doc_id NOT IN (SELECT doc_id FROM kept)"
    )
    added = [r[0] for r in con.execute("SELECT doc_id FROM new_docs ORDER BY doc_id").fetchall()]
    return Delta(removed=tuple(removed), added=tuple(added))


def _stage_rows(con: duckdb.DuckDBPyConnection, cache_dir: Path, docs: str = "new_docs") -> None:
    """Rows of the new documents (``docs``: doc_id, sha256, shard), read from only the shards that hold them."""
    shards = [r[0] for r in con.execute(f"SELECT DISTINCT shard FROM {docs} ORDER BY 1").fetchall()]
    for table in CONTENT_TABLES:
        cols = [c.name for c in columns(TABLES[table])]
        keys = [c.name for c in columns(TABLES[table]) if c.pk]
        select = ", ".join(f"{_PLACEHOLDERS.get(c, 's.' + c)} AS {c}" for c in cols)
        if not shards:
            con.execute(f"CREATE TEMP TABLE {STAGED[table]} AS SELECT * FROM {table} LIMIT 0")
            continue
        files = "[" + ", ".join(sql_str(_shard_file(s, table)) for s in shards) + "]"
        con.execute(
            f"""
            CREATE TEMP TABLE {STAGED[table]} AS
            SELECT {select}
            FROM read_parquet({files}, filename = true) s
            JOIN {docs} n ON s.sha256 = n.sha256 AND regexp_replace(s.filename, '/[^/]+$', '') = n.shard
            ORDER BY {", ".join(keys)}
            """
        )


_FAILED_COPY_DDL = "CREATE TEMP TABLE failed_copy (doc_id VARCHAR, sha256 VARCHAR, source_file VARCHAR, reason VARCHAR, message VARCHAR)"
"""The copies that failed a row check: the one checked (``source_file``) stands for its bytes."""


def _fall_back(
    con: duckdb.DuckDBPyConnection, cache_dir: Path, row_checker: RowChecker, verdict: RowVerdict
) -> list[Quarantine]:
    """Give each document whose published copy failed a row check its best-ranked other
    copy (other bytes) that passes; return the failures of the documents with none left
    (quarantined).

    The other copies of all such documents are checked in one more round, each under a
    stand-in doc_id (``_COPY_ID``), so a page with many failing copies costs two rounds,
    not one per copy. Every failed copy is kept in ``failed_copy``, for its files' reasons.
    The winner is the first by rank, so the outcome depends on the files alone (cold =
    incremental)."""
    if not verdict.quarantine:
        return []
    _record_failed(con, verdict.quarantine, "(SELECT *, doc_id AS real_id FROM candidate)")
    con.execute(
        f"""
        CREATE TEMP TABLE copy_docs AS
        SELECT {_COPY_ID} AS doc_id, doc_id AS real_id, source_file, sha256, shard, copy_rank FROM (
            SELECT f.*, row_number() OVER (PARTITION BY f.doc_id, f.sha256 ORDER BY f.copy_rank) AS k
            FROM file_outcome f
            WHERE f.doc_id IN (SELECT doc_id FROM failed_copy)
              AND (f.doc_id, f.sha256) NOT IN (SELECT doc_id, sha256 FROM failed_copy)
        ) WHERE k = 1
        """
    )
    if con.execute("SELECT count(*) FROM copy_docs").fetchone()[0]:
        _check_copies(con, cache_dir, row_checker)
    # Only a document that failed in the first round can have no passing copy left.
    left = {r[0] for r in con.execute(_NO_PASSING_COPY).fetchall()}
    return [q for q in verdict.quarantine if q.doc_id in left]


_NO_PASSING_COPY = (
    "SELECT c.doc_id FROM candidate c JOIN failed_copy x ON x.doc_id = c.doc_id AND x.sha256 = c.sha256"
)
"""The documents whose copy to publish failed a row check: no copy of theirs passed (quarantined)."""

_COPY_ID = "('k' || left(sha256(doc_id || ':' || sha256), 16))"
"""A copy's stand-in doc_id while it is checked beside the other copies of its document
(a valid doc_id, so the pattern check reads it as any other)."""


def _first_failures(failures: list[Quarantine]) -> dict[str, Quarantine]:
    first: dict[str, Quarantine] = {}
    for q in failures:
        first.setdefault(q.doc_id, q)  # the first failed check (in suite order) is the reason
    return first


def _record_failed(con: duckdb.DuckDBPyConnection, failures: list[Quarantine], copies: str) -> None:
    """The copies that failed (``copies``: a relation of the checked copies, ``doc_id`` as
    checked, ``real_id``, ``sha256``, ``source_file``): into ``failed_copy``, with the reason."""
    first = _first_failures(failures)
    table = pa.table(
        {
            "doc_id": pa.array(list(first), pa.string()),
            "reason": pa.array([QUALITY_REASON_PREFIX + q.check for q in first.values()], pa.string()),
            "message": pa.array([q.message for q in first.values()], pa.string()),
        }
    )
    with _registered(con, "failed_arrow", table):
        con.execute(
            "INSERT INTO failed_copy SELECT c.real_id, c.sha256, c.source_file, f.reason, f.message "
            f"FROM failed_arrow f JOIN {copies} c USING (doc_id)"
        )


def _check_copies(con: duckdb.DuckDBPyConnection, cache_dir: Path, row_checker: RowChecker) -> None:
    """Check the rows of ``copy_docs`` alone; publish each document's first passing copy."""
    for table in CONTENT_TABLES:
        con.execute(f"ALTER TABLE {STAGED[table]} RENAME TO held_{table}")
    _stage_rows(con, cache_dir, docs="copy_docs")
    _record_failed(con, row_checker(con).quarantine, "copy_docs")
    con.execute(
        """
        CREATE TEMP TABLE next_copy AS
        SELECT real_id, doc_id AS copy_id, source_file, sha256, shard FROM (
            SELECT c.*, row_number() OVER (PARTITION BY c.real_id ORDER BY c.copy_rank) AS rn
            FROM copy_docs c
            WHERE (c.real_id, c.sha256) NOT IN (SELECT doc_id, sha256 FROM failed_copy)
        ) WHERE rn = 1
        """
    )
    for table in ("candidate", "new_docs"):
        con.execute(
            f"UPDATE {table} t SET source_file = n.source_file, sha256 = n.sha256, shard = n.shard "
            "FROM next_copy n WHERE t.doc_id = n.real_id"
        )
    for table in CONTENT_TABLES:
        keys = ", ".join(c.name for c in columns(TABLES[table]) if c.pk)
        # The winners' rows replace their failed copy's, under the document's own id.
        con.execute(f"DELETE FROM held_{table} WHERE doc_id IN (SELECT real_id FROM next_copy)")
        con.execute(
            f"INSERT INTO held_{table} SELECT s.* REPLACE (n.real_id AS doc_id) "
            f"FROM {STAGED[table]} s JOIN next_copy n ON s.doc_id = n.copy_id"
        )
        con.execute(f"DROP TABLE {STAGED[table]}")
        con.execute(f"CREATE TEMP TABLE {STAGED[table]} AS SELECT * FROM held_{table} ORDER BY {keys}")
        con.execute(f"DROP TABLE held_{table}")


def _quarantine(con: duckdb.DuckDBPyConnection) -> None:
    """Leave out the documents whose every copy failed a row check."""
    for table in CONTENT_TABLES:
        con.execute(f"DELETE FROM {STAGED[table]} WHERE doc_id IN ({_NO_PASSING_COPY})")


def _insert_staged(con: duckdb.DuckDBPyConnection) -> None:
    for table in CONTENT_TABLES:
        cols = ", ".join(c.name for c in columns(TABLES[table]))
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {STAGED[table]}")


def _fill_source_files(con: duckdb.DuckDBPyConnection) -> None:
    """One row per input file: its copy failed a row check (``failed_copy``), else it is the
    published copy of its document, a duplicate of it, or a scan/decode/parse reject."""
    con.execute("DELETE FROM source_files")
    con.execute(
        """
        INSERT INTO source_files
        SELECT f.source_file, f.name_hex, f.sha256, f.size_bytes,
               CASE WHEN f.doc_id IS NULL OR x.doc_id IS NOT NULL THEN 'rejected'
                    WHEN f.source_file = c.source_file THEN 'published' ELSE 'duplicate' END,
               CASE WHEN x.doc_id IS NULL THEN f.doc_id END,
               coalesce(f.scan_reason, f.reject_reason, x.reason),
               CASE WHEN f.scan_reason IS NOT NULL THEN 'scan'
                    WHEN f.reject_reason IS NOT NULL THEN f.reject_stage
                    WHEN x.doc_id IS NOT NULL THEN 'quality' END,
               -- Every message starts with its own entry's name.
               f.source_file || ': ' || coalesce(
                   f.scan_message, f.reject_message,
                   CASE WHEN x.source_file <> f.source_file
                        THEN 'same bytes as ' || x.source_file || ', quarantined: ' || x.message
                        ELSE x.message END),
               CASE WHEN x.doc_id IS NULL AND f.source_file <> c.source_file THEN c.source_file END
        FROM file_outcome f
        LEFT JOIN candidate c ON f.doc_id = c.doc_id
        LEFT JOIN failed_copy x ON x.doc_id = f.doc_id AND x.sha256 = f.sha256
        ORDER BY f.source_file
        """
    )


def _resolve_people(con: duckdb.DuckDBPyConnection, known: list[KnownPerson]) -> None:
    """Resolve the people of what changed (``kremlin.persons.resolve_changes``): the result
    is the one a resolution of every document gives; ids of ``known`` persons are kept.

    The resolver's state (lexicon, label parses, the entity index of every page) lives in
    the ``people_*`` bookkeeping tables, so the parent's copy carries it to an incremental
    build; without it (cold build, or a parent from older code) every page is linked."""
    state = _load_people_state(con)
    if state is None:
        con.execute(f"CREATE OR REPLACE TABLE {_PEOPLE_ENTITIES} ({_PEOPLE_TABLES[_PEOPLE_ENTITIES][0]})")
        touched = "SELECT doc_id FROM documents"
    else:
        touched = f"SELECT doc_id FROM {STAGED['documents']} UNION SELECT doc_id FROM removed_docs"
    docs = {r[0] for r in con.execute(touched).fetchall()}
    update = resolve_changes(_DuckPeople(con), known, docs, state)
    _write_linked(con, update)
    _write_moved(con, update)
    con.execute("DELETE FROM persons")
    if update.resolution.persons:
        with _registered(con, "persons_arrow", pa.Table.from_pylist(update.resolution.persons)):
            con.execute(
                "INSERT INTO persons SELECT person_id, name, sort_name, aliases, n_documents "
                "FROM persons_arrow ORDER BY person_id"
            )
    _save_people_state(con, update.state)
    for view in ("people_want", "people_linked"):
        con.unregister(view)


def _write_linked(con: duckdb.DuckDBPyConnection, update: PeopleUpdate) -> None:
    """All people columns of the documents linked anew (every document in a cold build)."""
    res = update.resolution
    turn_rows: dict[str, list] = {name: [] for name in _TURN_PEOPLE.names}
    mention_rows: dict[str, list] = {
        k: [] for k in ("doc_id", "person_id", "mentioned_as", "source", "position")
    }
    for doc in update.docs:
        # Column lists grow a document at a time (per-value appends cost about a second
        # at 20,000 documents).
        ids, spks = res.speaker_ids[doc.doc_id], res.speakers[doc.doc_id]
        n = len(spks)
        turn_rows["doc_id"] += [doc.doc_id] * n
        turn_rows["turn_index"] += range(n)
        turn_rows["speaker_kind"] += [s.kind for s in spks]
        turn_rows["speaker_name"] += [s.name for s in spks]
        turn_rows["speaker_role"] += [s.role for s in spks]
        turn_rows["person_id"] += ids
        said = [i for i in range(n) if spks[i].kind == "person"]
        _mentions(
            mention_rows, doc.doc_id, [ids[i] for i in said], [doc.speakers[i] for i in said], "speaker", said
        )
        tag_ids = res.tag_ids[doc.doc_id]
        _mentions(mention_rows, doc.doc_id, tag_ids, list(doc.tags), "tag", range(len(doc.tags)))
        if len(tag_ids) != len(doc.tags) or len(ids) != n:
            raise ValueError(f"person resolution lost a mention of {doc.doc_id}")

    _write_turns(con, pa.table(turn_rows, schema=_TURN_PEOPLE))
    _register_values(con, "people_linked", [d.doc_id for d in update.docs])
    con.execute("DELETE FROM document_persons WHERE doc_id IN (SELECT v FROM people_linked)")
    if mention_rows["doc_id"]:
        with _registered(con, "mentions", pa.table(mention_rows)):
            con.execute(
                "INSERT INTO document_persons SELECT doc_id, person_id, mentioned_as, source, position "
                "FROM mentions ORDER BY doc_id, source DESC, position"
            )


def _write_turns(con: duckdb.DuckDBPyConnection, turns: pa.Table) -> None:
    """The people columns of the turns of linked documents, where they differ."""
    differs = (
        "u.doc_id = t.doc_id AND u.turn_index = t.turn_index AND ("
        "u.speaker_kind IS DISTINCT FROM t.speaker_kind OR u.speaker_name IS DISTINCT FROM t.speaker_name "
        "OR u.speaker_role IS DISTINCT FROM t.speaker_role OR u.person_id IS DISTINCT FROM t.person_id)"
    )
    with _registered(con, "turn_people", turns):
        # Reused documents whose speakers resolve differently now (a new namesake, say): their
        # rows changed too, so exports that reuse the parent's files must rewrite them.
        con.execute(
            "CREATE TEMP TABLE people_changed AS SELECT DISTINCT u.doc_id FROM utterances u, turn_people t "
            f"WHERE {differs} AND u.doc_id NOT IN (SELECT doc_id FROM {STAGED['documents']})"
        )
        # Only rows whose people columns change are written (all of them in a cold build).
        con.execute(
            "UPDATE utterances u SET speaker_kind = t.speaker_kind, speaker_name = t.speaker_name, "
            f"speaker_role = t.speaker_role, person_id = t.person_id FROM turn_people t WHERE {differs}"
        )


def _write_moved(con: duckdb.DuckDBPyConnection, update: PeopleUpdate) -> None:
    """The person of every indexed page entity, and of its mentions where it changed.

    The entity index keeps each entity's person and the turns it speaks, so a person
    that changes on a document nobody linked again (two spellings merged, a new
    namesake) is rewritten in SQL, mention by mention."""
    _find_moved(con, update)
    con.execute(
        f"UPDATE {_PEOPLE_ENTITIES} e SET person_id = x.pid FROM people_moved x "
        "WHERE e.doc_id = x.doc_id AND e.ent = x.ent"
    )
    _rewrite_kept_mentions(con)


def _find_moved(con: duckdb.DuckDBPyConnection, update: PeopleUpdate) -> None:
    """Temp table ``people_moved``: the indexed entities whose person is not the stored one."""
    keys = sorted(update.key_person)
    ents = sorted(update.entity_person)
    key_person = pa.table(
        {
            "key": pa.array(keys, pa.string()),
            "pid": pa.array([update.key_person[k] for k in keys], pa.string()),
        }
    )
    entity_person = pa.table(
        {
            "doc_id": pa.array([d for d, _ in ents], pa.string()),
            "ent": pa.array([i for _, i in ents], pa.int32()),
            "pid": pa.array([update.entity_person[e] for e in ents], pa.string()),
        }
    )
    with _registered(con, "key_person", key_person), _registered(con, "entity_person", entity_person):
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE people_moved AS
            SELECT e.doc_id, e.ent, e.is_tag, e.turns, coalesce(m.pid, k.pid) AS pid
            FROM {_PEOPLE_ENTITIES} e
            LEFT JOIN entity_person m ON m.doc_id = e.doc_id AND m.ent = e.ent
            LEFT JOIN key_person k ON k.key = e.key
            WHERE e.person_id IS DISTINCT FROM coalesce(m.pid, k.pid)
            """
        )
    (lost,) = con.execute("SELECT count(*) FROM people_moved WHERE pid IS NULL").fetchone()
    if lost:
        # An indexed entity the resolution gave no person: never write NULL person ids.
        raise ValueError(f"person resolution lost {lost} indexed entities")


def _rewrite_kept_mentions(con: duckdb.DuckDBPyConnection) -> None:
    """The mentions of ``people_moved`` on documents not linked anew (those are written whole)."""
    kept = "x.doc_id NOT IN (SELECT v FROM people_linked)"
    turns = f"(SELECT doc_id, unnest(turns) AS turn_index, pid FROM people_moved x WHERE {kept})"
    con.execute(
        f"UPDATE utterances u SET person_id = x.pid FROM {turns} x "
        "WHERE u.doc_id = x.doc_id AND u.turn_index = x.turn_index"
    )
    con.execute(
        f"UPDATE document_persons d SET person_id = x.pid FROM {turns} x "
        "WHERE d.doc_id = x.doc_id AND d.source = 'speaker' AND d.position = x.turn_index"
    )
    con.execute(
        "UPDATE document_persons d SET person_id = x.pid FROM people_moved x "
        f"WHERE x.is_tag AND {kept} AND d.doc_id = x.doc_id AND d.source = 'tag' AND d.position = x.ent"
    )
    # Only documents whose turns moved: a tag mention lives in document_persons alone, a
    # whole-corpus table the exports rewrite or diff as a whole, while the Parquet parts and
    # the version diff follow the rows of documents, paragraphs and utterances.
    con.execute(
        "INSERT INTO people_changed SELECT DISTINCT doc_id FROM people_moved x "
        f"WHERE len(turns) > 0 AND {kept} AND doc_id NOT IN (SELECT doc_id FROM people_changed)"
    )


_TURN_PEOPLE = pa.schema(
    [
        ("doc_id", pa.string()),
        ("turn_index", pa.int32()),
        ("speaker_kind", pa.string()),
        ("speaker_name", pa.string()),
        ("speaker_role", pa.string()),
        ("person_id", pa.string()),
    ]
)

# ---- the person resolver's bookkeeping tables (not data: never exported or fingerprinted)

_PEOPLE_ENTITIES = "people_entities"
# Python type of a bookkeeping column (``kremlin.persons.row_columns``) -> DuckDB and Arrow type
_PEOPLE_TYPES: dict[object, tuple[str, pa.DataType]] = {
    str: ("VARCHAR", pa.string()),
    str | None: ("VARCHAR", pa.string()),
    int: ("INTEGER", pa.int32()),
    bool: ("BOOLEAN", pa.bool_()),
    tuple[str, ...]: ("VARCHAR[]", pa.list_(pa.string())),
    tuple[int, ...]: ("INTEGER[]", pa.list_(pa.int32())),
}
_PEOPLE_ROWS: dict[str, tuple[type[tuple], str, tuple[RowColumn, ...]]] = {
    # table: (row type, what it holds, columns the build adds after the row type's)
    "people_lexicon": (LexiconRow, "the name lexicon the label parses of people_parses were made with", ()),
    "people_parses": (
        ParseRow,
        "every speaker label and known alias parsed, with the lexicon keys each parse looked up",
        (),
    ),
    _PEOPLE_ENTITIES: (
        EntityRow,
        "every page entity (a tag, or the speakers of one name on a page) with its mentions and person",
        (RowColumn("person_id", str | None, "Person the entity resolved to."),),
    ),
}
_PEOPLE_TABLES: dict[str, tuple[str, str, dict[str, str]]] = {
    table: (
        ", ".join(f"{c.name} {_PEOPLE_TYPES[c.type][0]}" for c in cols),
        what,
        {c.name: c.doc for c in cols},
    )
    for table, (row, what, added) in _PEOPLE_ROWS.items()
    for cols in [(*row_columns(row), *added)]
}
"""DDL, meaning and column docs of each bookkeeping table, derived from its row type."""


def _people_arrow(row: type[tuple], rows: Sequence[tuple]) -> pa.Table:
    """Rows of a bookkeeping row type as an Arrow table of its columns."""
    cols = row_columns(row)
    values = list(zip(*rows, strict=True)) if rows else [() for _ in cols]
    return pa.table(
        {c.name: pa.array(list(v), _PEOPLE_TYPES[c.type][1]) for c, v in zip(cols, values, strict=True)}
    )


@contextmanager
def _registered(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> Iterator[None]:
    """``table`` visible to SQL as ``name`` for the block."""
    con.register(name, table)
    try:
        yield
    finally:
        con.unregister(name)


def _register_values(con: duckdb.DuckDBPyConnection, name: str, values: list[str]) -> None:
    con.register(name, pa.table({"v": pa.array(values, pa.string())}))


class _DuckPeople:
    """``kremlin.persons.PeopleStore`` over a build's tables: distinct texts, keys and
    per-key counts come out of SQL, only the documents asked for come out as rows."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def _column(self, sql: str) -> list:
        return self.con.execute(sql).to_arrow_table().column(0).to_pylist()

    def _where(self, values: Collection[str]) -> str:
        _register_values(self.con, "people_want", sorted(values))
        return "(SELECT v FROM people_want)"

    def tag_texts(self) -> set[str]:
        return set(self._column("SELECT DISTINCT unnest(person_tags) FROM documents"))

    def label_texts(self) -> set[str]:
        return set(self._column("SELECT DISTINCT speaker_label FROM utterances"))

    def docs_with_labels(self, labels: Collection[str]) -> set[str]:
        if not labels:
            return set()
        return set(
            self._column(
                f"SELECT DISTINCT doc_id FROM utterances WHERE speaker_label IN {self._where(labels)}"
            )
        )

    def doc_people(self, doc_ids: Collection[str]) -> list[DocPeople]:
        if not doc_ids:
            return []
        want = self._where(doc_ids)
        t = self.con.execute(
            f"""
            SELECT d.doc_id, d.person_tags, coalesce(s.labels, []) AS labels
            FROM documents d
            LEFT JOIN (SELECT doc_id, list(speaker_label ORDER BY turn_index) AS labels FROM utterances
                       WHERE doc_id IN {want} GROUP BY doc_id) s USING (doc_id)
            WHERE d.doc_id IN {want} ORDER BY d.doc_id
            """
        ).to_arrow_table()
        return [
            DocPeople(d, tuple(tags or ()), tuple(labels))
            for d, tags, labels in zip(
                t.column(0).to_pylist(), t.column(1).to_pylist(), t.column(2).to_pylist(), strict=True
            )
        ]

    def replace_entities(self, doc_ids: Collection[str], rows: list[EntityRow]) -> None:
        if doc_ids:
            self.con.execute(f"DELETE FROM {_PEOPLE_ENTITIES} WHERE doc_id IN {self._where(doc_ids)}")
        if not rows:
            return
        fields = ", ".join(EntityRow._fields)
        with _registered(self.con, "people_rows", _people_arrow(EntityRow, rows)):
            self.con.execute(
                f"INSERT INTO {_PEOPLE_ENTITIES} ({fields}) SELECT {fields} FROM people_rows ORDER BY doc_id, ent"
            )

    def docs_with_keys(self, keys: Collection[str]) -> set[str]:
        if not keys:
            return set()
        return set(
            self._column(f"SELECT DISTINCT doc_id FROM {_PEOPLE_ENTITIES} WHERE key IN {self._where(keys)}")
        )

    def key_stats(self) -> list[KeyStat]:
        t = self.con.execute(
            f"SELECT key, surname, count(*) FILTER (WHERE is_tag), count(*) FROM {_PEOPLE_ENTITIES} "
            "GROUP BY key, surname ORDER BY key, surname"
        ).to_arrow_table()
        return [KeyStat(*r) for r in zip(*(c.to_pylist() for c in t.columns), strict=True)]

    def cluster_stats(self, roots: dict[str, str]) -> dict[str, ClusterStat]:
        keys = sorted(roots)
        key_root = pa.table(
            {"key": pa.array(keys, pa.string()), "root": pa.array([roots[k] for k in keys], pa.string())}
        )
        with _registered(self.con, "people_roots", key_root):
            self.con.execute(
                "CREATE OR REPLACE TEMP TABLE people_grouped AS SELECT r.root, e.doc_id, e.is_tag, e.tags, "
                f"e.names, e.labels FROM {_PEOPLE_ENTITIES} e JOIN people_roots r USING (key)"
            )
        out: dict[str, ClusterStat] = defaultdict(ClusterStat)
        for root, slots, n_docs in self._rows(
            "SELECT root, max(n), count(*) FROM (SELECT root, doc_id, count(*) FILTER (WHERE is_tag) AS n "
            "FROM people_grouped GROUP BY root, doc_id) GROUP BY root"
        ):
            out[root].tag_slots, out[root].n_documents = slots, n_docs
        for root, tag, n_docs in self._rows(
            "SELECT root, t, count(DISTINCT doc_id) FROM (SELECT root, doc_id, unnest(tags) AS t "
            "FROM people_grouped) GROUP BY root, t"
        ):
            out[root].tag_docs[tag] = n_docs
            out[root].aliases.add(tag)
        for root, name, n_docs, n_uses in self._rows(
            "SELECT root, n, count(DISTINCT doc_id), count(*) FROM (SELECT root, doc_id, unnest(names) AS n "
            "FROM people_grouped) GROUP BY root, n"
        ):
            out[root].name_docs[name], out[root].name_uses[name] = n_docs, n_uses
            out[root].aliases.add(name)
        for root, label in self._rows(
            "SELECT DISTINCT root, l FROM (SELECT root, unnest(labels) AS l FROM people_grouped)"
        ):
            out[root].aliases.add(label)
        return dict(out)

    def _rows(self, sql: str):
        t = self.con.execute(sql).to_arrow_table()
        return zip(*(c.to_pylist() for c in t.columns), strict=True)


def _person_rows(con: duckdb.DuckDBPyConnection) -> list[KnownPerson]:
    rows = con.execute(
        "SELECT person_id, name, sort_name, aliases FROM persons ORDER BY person_id"
    ).fetchall()
    return [KnownPerson(pid, name, sort, tuple(aliases or ())) for pid, name, sort, aliases in rows]


def _load_people_state(con: duckdb.DuckDBPyConnection) -> PeopleState | None:
    if not all(_has_table(con, t) for t in _PEOPLE_TABLES):
        return None

    def rows(table: str) -> list[tuple]:
        names = ", ".join(_PEOPLE_ROWS[table][0]._fields)
        return con.execute(f"SELECT {names} FROM {table}").fetchall()

    return PeopleState.from_rows(rows("people_lexicon"), rows("people_parses"))


def _save_people_state(con: duckdb.DuckDBPyConnection, state: PeopleState) -> None:
    for table, (cols, what, column_docs) in _PEOPLE_TABLES.items():
        if table != _PEOPLE_ENTITIES:
            con.execute(f"CREATE OR REPLACE TABLE {table} ({cols})")
        con.execute(
            f"COMMENT ON TABLE {table} IS {sql_str('Build bookkeeping of person resolution, not data: ' + what + '.')}"
        )
        for col, doc in column_docs.items():
            con.execute(f"COMMENT ON COLUMN {table}.{col} IS {sql_str(doc)}")
    for table, rows in (("people_lexicon", state.lexicon_rows()), ("people_parses", state.parse_rows())):
        with _registered(con, "state_arrow", _people_arrow(_PEOPLE_ROWS[table][0], rows)):
            con.execute(f"INSERT INTO {table} SELECT * FROM state_arrow")


def _mentions(rows: dict[str, list], doc: str, pids: list, texts: list[str], source: str, positions) -> None:
    n = len(texts)
    rows["doc_id"] += [doc] * n
    rows["person_id"] += pids
    rows["mentioned_as"] += texts
    rows["source"] += [source] * n
    rows["position"] += positions


def known_persons_from(db_path: Path | None) -> list[KnownPerson]:
    """The persons of a previous version, so that their ids never change."""
    if db_path is None or not db_path.exists():
        return []
    con = duck.connect(db_path, read_only=True)
    try:
        return _person_rows(con)
    finally:
        con.close()
