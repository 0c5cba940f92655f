"""Turn a built ``kremlin.duckdb`` into an analyst-friendly, self-describing release.

``enrich_database`` adds documentation (COMMENT ON), convenience views and full-text
search indexes to the file; ``export_parquet`` writes the contract tables as Parquet;
``search`` queries the indexes.

Full-text search and read-only opening
--------------------------------------
The FTS index (``PRAGMA create_fts_index``) is a set of ordinary tables and macros in
schemas ``fts_main_paragraphs_search`` / ``fts_main_utterances_search``. A plain
duckdb client opens such a file (read-only or not) *without* the fts extension: the
macros are stored as SQL text and only bound when called. Only *calling*
``match_bm25`` needs the extension (for its ``stem`` function), so a client that wants
to search runs ``LOAD fts`` (or ``load_fts(con)`` below, which loads the copy shipped in
the ``duckdb-extension-fts`` PyPI package, never downloading anything).

The index has the fts extension's layout (docs, terms, dict, stats, fields, stopwords,
the tokenize and match_bm25 macros), keyed by a single text column, while paragraphs
and utterances have composite keys. So there are two small helper tables
``paragraphs_search(search_id, doc_id, paragraph_index)`` and
``utterances_search(search_id, doc_id, turn_index)``, where ``search_id`` is
``'<doc_id>:<position>'``: a function of the row's key, hence the same whether the index
was built cold or updated, and unique by construction.

Building and updating
---------------------
``PRAGMA create_fts_index`` is run over an *empty* helper table only, to lay out the
schema, stop words and macros exactly as the extension does. The rows are then indexed by
``_add_rows`` with the extension's own ``tokenize`` macro and ``stem`` function and the
same options (porter, english stop words dropped before stemming, strip_accents, lower),
so each row's term list, ``docs.len``, ``dict.df`` and ``stats`` equal what the PRAGMA would
compute (tests/test_search_incremental.py compares the BM25 scores with the PRAGMA's).
That makes an update possible: given a ``SearchDelta``, the rows of removed documents are
taken out (df drops by the number of removed rows holding each term, read from the
index's own term lists), the rows of added documents are tokenized and appended (new terms
get new termids), terms no row holds any more are dropped, and ``stats`` is recomputed with
the PRAGMA's expressions. docids and termids are internal: they differ between a cold and
an updated index, which BM25 never sees. Each distinct word is stemmed once instead of
every occurrence, and the two indexes are built at the same time on two cursors.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from kremlin import duck
from kremlin.contract import columns
from kremlin.duck import sql_str
from schemas.tables import SCHEMA_VERSION, TABLES

# Tables large enough that analysts usually want one year at a time.
PARTITIONED_TABLES = ("documents", "paragraphs", "utterances")

# Search sources: helper table name -> (contract table, its in-document position column).
_SEARCH_SOURCES = {
    "paragraphs_search": ("paragraphs", "paragraph_index"),
    "utterances_search": ("utterances", "turn_index"),
}

# Never let duckdb reach for the network for an extension: the build must be offline
# and reproducible, and a silently auto-installed extension could differ from the pin.


# --------------------------------------------------------------------------- helpers


def _model_doc(table: str) -> str:
    doc = TABLES[table].__doc__ or table
    return " ".join(doc.split())


def key_columns(table: str) -> list[str]:
    """Primary-key columns of a contract table; all columns when it has none.

    Falling back to every column still gives a total, deterministic order for tables
    like document_persons that have no declared key.
    """
    cols = columns(TABLES[table])
    return [c.name for c in cols if c.pk] or [c.name for c in cols]


def fts_extension_path() -> Path:
    """The fts extension binary shipped inside the ``duckdb-extension-fts`` wheel."""
    import duckdb_extension_fts

    root = Path(duckdb_extension_fts.__file__).parent
    wanted = root / "extensions" / f"v{duckdb.__version__}" / "fts.duckdb_extension"
    if wanted.is_file():
        return wanted
    found = sorted(root.rglob("*.duckdb_extension"))
    if not found:
        raise FileNotFoundError(f"no .duckdb_extension file under {root}")
    # A binary built for another duckdb version would fail to LOAD anyway, but with a
    # clearer message than "not found".
    return found[-1]


def load_fts(con: duckdb.DuckDBPyConnection) -> None:
    """LOAD the packaged fts extension into ``con`` (idempotent, offline)."""
    loaded = con.execute(
        "SELECT count(*) FROM duckdb_extensions() WHERE extension_name = 'fts' AND loaded"
    ).fetchone()
    if loaded and loaded[0]:
        return
    con.execute(f"LOAD {sql_str(str(fts_extension_path()))}")


# --------------------------------------------------------------------------- views

# name -> (description, {column: description}, SELECT). Column docs for columns copied
# unchanged from a contract table are filled in from the contract automatically.
VIEWS: dict[str, tuple[str, dict[str, str], str]] = {
    "utterances_enriched": (
        "Each speech turn with its document's date, start, title and place and the "
        "resolved speaker's canonical name (saves the usual three-way join).",
        {
            "event_date": "Event day of the document (documents.event_date).",
            "event_start": "Event start instant of the document (documents.event_start).",
            "title": "Title of the document (documents.title).",
            "place": "Place line of the document (documents.place).",
            "person_name": "Canonical name of the resolved speaker (persons.name), NULL if unresolved.",
            "person_sort_name": "Canonical name, surname first (persons.sort_name), NULL if unresolved.",
            "n_words": "Words in the turn text (runs of non-blank characters).",
        },
        """
        SELECT u.doc_id, u.turn_index, u.speaker_label, u.speaker_kind, u.speaker_name,
               u.speaker_role, u.person_id, u.text, u.n_paragraphs, u.year,
               d.event_date, d.event_start, d.title, d.place,
               p.name AS person_name, p.sort_name AS person_sort_name,
               len(regexp_extract_all(u.text, '\\S+')) AS n_words
        FROM utterances AS u
        JOIN documents AS d USING (doc_id)
        LEFT JOIN persons AS p ON p.person_id = u.person_id
        """,
    ),
    "document_speakers": (
        "One row per document and resolved speaker: how many turns and words they spoke.",
        {
            "person_id": "Resolved speaker (persons.person_id).",
            "person_name": "Canonical name of the speaker (persons.name).",
            "person_sort_name": "Canonical name, surname first (persons.sort_name).",
            "event_date": "Event day of the document.",
            "title": "Title of the document.",
            "turns": "Speech turns by this person in the document.",
            "words": "Words spoken by this person in the document.",
            "first_turn": "turn_index of the person's first turn in the document.",
        },
        """
        SELECT u.doc_id, u.person_id,
               any_value(p.name) AS person_name, any_value(p.sort_name) AS person_sort_name,
               any_value(d.event_date) AS event_date, any_value(d.title) AS title,
               count(*) AS turns,
               sum(len(regexp_extract_all(u.text, '\\S+'))) AS words,
               min(u.turn_index) AS first_turn
        FROM utterances AS u
        JOIN documents AS d USING (doc_id)
        LEFT JOIN persons AS p ON p.person_id = u.person_id
        WHERE u.person_id IS NOT NULL
        GROUP BY u.doc_id, u.person_id
        """,
    ),
    "speaker_totals": (
        "One row per resolved speaker over the whole dataset: documents, turns, words "
        "and the first and last event day they spoke at.",
        {
            "person_id": "Resolved speaker (persons.person_id).",
            "person_name": "Canonical name of the speaker (persons.name).",
            "person_sort_name": "Canonical name, surname first (persons.sort_name).",
            "documents": "Documents in which the person speaks.",
            "turns": "Speech turns by the person.",
            "words": "Words spoken by the person.",
            "first_event_date": "Earliest event day at which the person speaks.",
            "last_event_date": "Latest event day at which the person speaks.",
        },
        """
        SELECT person_id, any_value(person_name) AS person_name,
               any_value(person_sort_name) AS person_sort_name,
               count(*) AS documents, sum(turns) AS turns, sum(words) AS words,
               min(event_date) AS first_event_date, max(event_date) AS last_event_date
        FROM document_speakers
        GROUP BY person_id
        """,
    ),
    "person_mentions": (
        "Every mention of a person (footer tag or speaker label) with the document's "
        "date and title and the resolved canonical name.",
        {
            "person_name": "Canonical name of the resolved person, NULL if unresolved.",
            "event_date": "Event day of the document.",
            "title": "Title of the document.",
        },
        """
        SELECT m.doc_id, m.person_id, m.mentioned_as, m.source, m.position,
               p.name AS person_name, d.event_date, d.title
        FROM document_persons AS m
        JOIN documents AS d USING (doc_id)
        LEFT JOIN persons AS p ON p.person_id = m.person_id
        """,
    ),
    "document_topics": (
        "One row per document and Topics footer tag (documents.topics unnested).",
        {
            "topic": "Topic tag as printed.",
            "position": "0-based position of the tag in the footer block.",
        },
        """
        SELECT doc_id, event_date, year, t.topic, t.position - 1 AS position
        FROM documents, unnest(topics) WITH ORDINALITY AS t(topic, position)
        """,
    ),
    "document_geography": (
        "One row per document and Geography footer tag (documents.geography unnested).",
        {
            "geography": "Geography tag as printed.",
            "position": "0-based position of the tag in the footer block.",
        },
        """
        SELECT doc_id, event_date, year, g.geography, g.position - 1 AS position
        FROM documents, unnest(geography) WITH ORDINALITY AS g(geography, position)
        """,
    ),
    "yearly_counts": (
        "Documents, paragraphs and speech turns per year of event_date.",
        {
            "documents": "Documents with event_date in the year.",
            "paragraphs": "Body paragraphs of those documents.",
            "turns": "Speech turns of those documents.",
        },
        """
        SELECT year, count(*) AS documents, sum(n_paragraphs) AS paragraphs,
               sum(n_turns) AS turns
        FROM documents
        GROUP BY year
        """,
    ),
    "rejected_files": (
        "Input files that were rejected, with the reason (source_files filtered).",
        {},
        """
        SELECT source_file, sha256, size_bytes, reject_reason, reject_stage, reject_message
        FROM source_files
        WHERE status = 'rejected'
        """,
    ),
}

_FTS_TABLE_DOCS = {
    "docs": "FTS index: one row per indexed row (name = search_id) with its token count.",
    "terms": "FTS index: one row per token occurrence (docid, fieldid, termid).",
    "dict": "FTS index: vocabulary of stemmed terms with their document frequency.",
    "stats": "FTS index: corpus statistics used by BM25 (document count, average length).",
    "fields": "FTS index: indexed text columns.",
    "stopwords": "FTS index: English stop words ignored by the index.",
}


def _contract_column_docs() -> dict[str, str]:
    """First contract description for each column name, to document view columns."""
    docs: dict[str, str] = {}
    for model in TABLES.values():
        for c in columns(model):
            docs.setdefault(c.name, c.description)
    return docs


def _comment_relation(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    name: str,
    description: str,
    column_docs: dict[str, str],
    fallback: dict[str, str],
    schema: str = "main",
) -> None:
    cols = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
        "ORDER BY column_index",
        [schema, name],
    ).fetchall()
    # One round trip for all the statements of the relation.
    statements = [f"COMMENT ON {kind} {schema}.{name} IS {sql_str(description)}"]
    for (col,) in cols:
        doc = column_docs.get(col) or fallback.get(col) or f"Column {col} of {name}."
        statements.append(f'COMMENT ON COLUMN {schema}.{name}."{col}" IS {sql_str(doc)}')
    con.execute(";\n".join(statements))


# Options of the index: the same for the empty index the PRAGMA lays out and for the rows
# this module tokenizes itself (the PRAGMA's tokenize macro is reused, stem() gets STEMMER).
STEMMER = "porter"
_FTS_OPTIONS = f"stemmer = '{STEMMER}', stopwords = 'english', strip_accents = 1, lower = 1"

# What PRAGMA create_fts_index lays out (fts extension 1.5.5) and this module fills in;
# checked on every build so that a changed layout fails loudly instead of scoring wrongly.
_FTS_LAYOUT = {
    "docs": [("docid", "BIGINT"), ("name", "VARCHAR"), ("len", "BIGINT")],
    "terms": [("docid", "BIGINT"), ("fieldid", "BIGINT"), ("termid", "BIGINT")],
    "dict": [("termid", "BIGINT"), ("term", "VARCHAR"), ("df", "BIGINT")],
    "stats": [("num_docs", "BIGINT"), ("avgdl", "DOUBLE")],
}


@dataclass(frozen=True)
class SearchDelta:
    """Documents whose paragraphs/utterances rows changed since the parent's index.

    A changed document is in both sets: its old rows leave the index, its new rows enter.
    """

    removed_doc_ids: frozenset[str] = frozenset()
    added_doc_ids: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        # Accept any iterable of ids; a frozenset keeps the object hashable and immutable.
        object.__setattr__(self, "removed_doc_ids", frozenset(self.removed_doc_ids))
        object.__setattr__(self, "added_doc_ids", frozenset(self.added_doc_ids))

    @property
    def touched_doc_ids(self) -> frozenset[str]:
        return self.removed_doc_ids | self.added_doc_ids


def _search_id_sql(pos: str) -> str:
    """search_id of a row: its key as text, so that it is the same however the index was built."""
    return f"doc_id || ':' || {pos}"


def _fts(helper: str) -> str:
    return f"fts_main_{helper}"


def _layout(con: duckdb.DuckDBPyConnection, helper: str) -> dict[str, list[tuple[str, str]]]:
    rows = con.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE schema_name = ? ORDER BY table_name, column_index",
        [_fts(helper)],
    ).fetchall()
    out: dict[str, list[tuple[str, str]]] = {}
    for table, col, typ in rows:
        out.setdefault(table, []).append((col, typ))
    return out


def _has_incremental_index(con: duckdb.DuckDBPyConnection, helper: str, pos: str) -> bool:
    """The parent's index is one this module can update (same layout, text search_id)."""
    layout = _layout(con, helper)
    if any(layout.get(t) != cols for t, cols in _FTS_LAYOUT.items()):
        return False
    helper_cols = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() "
        "WHERE schema_name = 'main' AND table_name = ? ORDER BY column_index",
        [helper],
    ).fetchall()
    return helper_cols == [("search_id", "VARCHAR"), ("doc_id", "VARCHAR"), (pos, "INTEGER")]


def _empty_index(con: duckdb.DuckDBPyConnection, helper: str, pos: str) -> None:
    """An empty helper table and the extension's own index schema over it.

    The PRAGMA over zero rows costs nothing and lays out what BM25 reads: the stop-word
    list, the tokenize and match_bm25 macros and the docs/terms/dict/stats tables. The
    rows are then added by ``_add_rows`` exactly as the PRAGMA would have computed them.
    """
    con.execute(
        f"CREATE OR REPLACE TABLE {helper} (search_id VARCHAR, doc_id VARCHAR, {pos} INTEGER, text VARCHAR)"
    )
    con.execute(
        f"PRAGMA create_fts_index({sql_str(helper)}, 'search_id', 'text', {_FTS_OPTIONS}, overwrite = 1)"
    )
    con.execute(f"ALTER TABLE {helper} DROP COLUMN text")
    layout = _layout(con, helper)
    for table, cols in _FTS_LAYOUT.items():
        if layout.get(table) != cols:
            raise RuntimeError(
                f"the fts extension laid out {_fts(helper)}.{table} as {layout.get(table)}, "
                f"not {cols}: the incremental index code must be updated for this version"
            )


def _doc_id_table(con: duckdb.DuckDBPyConnection, name: str, ids: frozenset[str]) -> None:
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} (doc_id VARCHAR)")
    if ids:
        con.execute(f"INSERT INTO {name} SELECT unnest(?::VARCHAR[])", [sorted(ids)])


def _remove_rows(con: duckdb.DuckDBPyConnection, helper: str, docs: str) -> None:
    """Take the rows of the documents in temp table ``docs`` out of the index.

    The index's own term lists say which terms lose a document, so the old text is not
    needed; df drops by the number of removed documents that held the term.
    """
    fts = _fts(helper)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _search_gone AS
        SELECT d.docid FROM {fts}.docs AS d JOIN {helper} AS h ON d.name = h.search_id
        WHERE h.doc_id IN (SELECT doc_id FROM {docs})
        """
    )
    con.execute(
        f"""
        UPDATE {fts}.dict SET df = dict.df - gone.n
        FROM (SELECT termid, count(DISTINCT docid) AS n FROM {fts}.terms
              WHERE docid IN (SELECT docid FROM _search_gone) GROUP BY termid) AS gone
        WHERE dict.termid = gone.termid
        """
    )
    con.execute(f"DELETE FROM {fts}.terms WHERE docid IN (SELECT docid FROM _search_gone)")
    con.execute(f"DELETE FROM {fts}.docs WHERE docid IN (SELECT docid FROM _search_gone)")
    con.execute(f"DELETE FROM {helper} WHERE doc_id IN (SELECT doc_id FROM {docs})")


def _add_rows(con: duckdb.DuckDBPyConnection, helper: str, table: str, pos: str, only: str | None) -> None:
    """Tokenize and index the rows of ``table`` (of the documents in temp table ``only``, or all).

    Same result as the PRAGMA's indexing script: tokens from the index's tokenize macro,
    stop words and empty tokens dropped *before* stemming, one terms row per remaining
    token, len = the row's term count, df = documents holding the term. Two differences
    that BM25 never sees: every distinct word is stemmed once (not every occurrence, which
    is most of the PRAGMA's time), and new docids/termids continue after the existing ones.
    Texts are cut at line breaks before the macro: a line break is white space, where the
    macro splits anyway, and the macro's regular expressions cost more than linear time
    on the long texts of speech turns (2.3x the time on the utterances of a 10x corpus).
    """
    fts = _fts(helper)
    where = f"WHERE doc_id IN (SELECT doc_id FROM {only})" if only else ""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _search_new AS
        SELECT (SELECT coalesce(max(docid) + 1, 0) FROM {fts}.docs)
                   + row_number() OVER (ORDER BY doc_id, {pos}) - 1 AS docid,
               {_search_id_sql(pos)} AS search_id, doc_id, {pos}
        FROM {table} {where}
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _search_tokens AS
        SELECT docid, w FROM (
            SELECT docid, unnest({fts}.tokenize(line)) AS w FROM (
                SELECT n.docid, unnest(string_split(t.text, chr(10))) AS line
                FROM {table} AS t JOIN _search_new AS n USING (doc_id, {pos})
            )
        )
        WHERE w IS NOT NULL AND len(w) > 0 AND w NOT IN (SELECT sw FROM {fts}.stopwords)
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _search_stems AS
        SELECT w, stem(w, '{STEMMER}') AS term FROM (SELECT DISTINCT w FROM _search_tokens)
        """
    )
    con.execute(
        f"""
        INSERT INTO {fts}.dict
        SELECT (SELECT coalesce(max(termid) + 1, 0) FROM {fts}.dict) + row_number() OVER (ORDER BY term) - 1,
               term, 0
        FROM (SELECT DISTINCT term FROM _search_stems
              WHERE term NOT IN (SELECT term FROM {fts}.dict))
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _search_terms AS
        SELECT t.docid, d.termid
        FROM _search_tokens AS t JOIN _search_stems AS s USING (w) JOIN {fts}.dict AS d ON d.term = s.term
        """
    )
    con.execute("DROP TABLE _search_tokens")
    con.execute(
        f"""
        INSERT INTO {fts}.terms
        SELECT docid, (SELECT fieldid FROM {fts}.fields WHERE field = 'text'), termid
        FROM _search_terms
        """
    )
    con.execute(
        f"""
        INSERT INTO {fts}.docs
        SELECT n.docid, n.search_id, coalesce(c.len, 0)
        FROM _search_new AS n
        LEFT JOIN (SELECT docid, count(*) AS len FROM _search_terms GROUP BY docid) AS c USING (docid)
        """
    )
    con.execute(
        f"""
        UPDATE {fts}.dict SET df = dict.df + added.n
        FROM (SELECT termid, count(DISTINCT docid) AS n FROM _search_terms GROUP BY termid) AS added
        WHERE dict.termid = added.termid
        """
    )
    con.execute(f"INSERT INTO {helper} SELECT search_id, doc_id, {pos} FROM _search_new ORDER BY docid")
    con.execute("DROP TABLE _search_terms")
    con.execute("DROP TABLE _search_new")
    con.execute("DROP TABLE _search_stems")


def _finish_index(con: duckdb.DuckDBPyConnection, helper: str) -> None:
    """Drop terms no document holds any more and recompute the BM25 corpus statistics.

    The statistics use the PRAGMA's own expressions over the whole docs table (integer
    sums, so the same value however the rows got there).
    """
    fts = _fts(helper)
    con.execute(f"DELETE FROM {fts}.dict WHERE df <= 0")
    con.execute(f"DELETE FROM {fts}.stats")
    con.execute(
        f"INSERT INTO {fts}.stats SELECT COUNT(docs.docid), SUM(docs.len) / COUNT(docs.len) FROM {fts}.docs AS docs"
    )


def _comment_search(con: duckdb.DuckDBPyConnection, helper: str, table: str, pos: str) -> None:
    con.execute(
        f"COMMENT ON TABLE {helper} IS "
        + sql_str(
            f"Full-text search key for {table}: search_id is the single unique key that "
            f"the fts index needs (the index is {_fts(helper)}); join back to "
            f"{table} on (doc_id, {pos}). Query with {_fts(helper)}.match_bm25(search_id, "
            "'words') after LOAD fts."
        )
    )
    con.execute(
        f"COMMENT ON COLUMN {helper}.search_id IS "
        + sql_str(f"'<doc_id>:<{pos}>' of the indexed {table} row; the FTS document name.")
    )
    con.execute(f"COMMENT ON COLUMN {helper}.doc_id IS 'Document id.'")
    con.execute(f"COMMENT ON COLUMN {helper}.{pos} IS " + sql_str(f"{table}.{pos} of the indexed row."))
    for fts_table, doc in _FTS_TABLE_DOCS.items():
        _comment_relation(con, "TABLE", fts_table, f"{doc} Index of {helper}.", {}, {}, _fts(helper))


def _refresh_search_index(
    con: duckdb.DuckDBPyConnection, helper: str, table: str, pos: str, delta: SearchDelta | None
) -> None:
    if delta is not None and _has_incremental_index(con, helper, pos):
        # Every document of the delta leaves the index and comes back with the rows the
        # table holds now (none if it was removed): the index then matches the table for
        # any delta that covers the changes, even one that lists a document on one side only.
        _doc_id_table(con, "_search_touched", delta.touched_doc_ids)
        _remove_rows(con, helper, "_search_touched")
        _add_rows(con, helper, table, pos, "_search_touched")
        con.execute("DROP TABLE _search_touched")
    else:
        _empty_index(con, helper, pos)
        _add_rows(con, helper, table, pos, None)
    _finish_index(con, helper)
    _comment_search(con, helper, table, pos)


def _refresh_search_indexes(con: duckdb.DuckDBPyConnection, delta: SearchDelta | None) -> None:
    """Build both indexes from scratch, or, given a delta and an index of this layout, update them.

    The two indexes are built at the same time on two cursors of the connection (they
    share its thread pool): much of the work is single-threaded per statement when a
    table has few row groups (the utterances of a 10x corpus are one), so one index's
    statements fill the cores the other leaves idle. Each cursor has its own temp tables.
    """
    from concurrent.futures import ThreadPoolExecutor

    load_fts(con)
    cursors = [con.cursor() for _ in _SEARCH_SOURCES]
    try:
        with ThreadPoolExecutor(max_workers=len(cursors)) as pool:
            futures = [
                pool.submit(_refresh_search_index, cur, helper, table, pos, delta)
                for cur, (helper, (table, pos)) in zip(cursors, _SEARCH_SOURCES.items(), strict=True)
            ]
            for f in futures:
                f.result()  # re-raises the first failure
    finally:
        for cur in cursors:
            cur.close()


def enrich_database(db_path: Path, delta: SearchDelta | None = None) -> None:
    """Document, add views and full-text search indexes to a complete build in place.

    Without ``delta`` both search indexes are rebuilt from the paragraphs and utterances
    tables. With ``delta`` the file is a copy of the parent version's enriched database
    whose contract tables have since been brought up to date: only the rows of the
    documents in the delta are taken out of / put into the indexes (if the parent's index
    has another layout, it is rebuilt instead). Either way the BM25 scores equal those of
    ``PRAGMA create_fts_index`` over the same rows. Idempotent; checkpointed on close so
    the file can then be opened read-only by any duckdb 1.5 client.
    """
    con = duck.connect(db_path, memory=duck.PUBLISH_MEMORY)
    try:
        contract_docs = _contract_column_docs()
        # One transaction for the ~200 catalog writes: committing each one costs more
        # than writing it (1.2 s of an otherwise sub-second update).
        con.execute("BEGIN TRANSACTION")
        for table, model in TABLES.items():
            docs = {c.name: c.description for c in columns(model)}
            description = f"{_model_doc(table)} (contract schema {SCHEMA_VERSION})"
            _comment_relation(con, "TABLE", table, description, docs, {})
        for view, (description, col_docs, select) in VIEWS.items():
            con.execute(f"CREATE OR REPLACE VIEW {view} AS {select}")
            _comment_relation(con, "VIEW", view, description, col_docs, contract_docs)
        con.execute("COMMIT")
        _refresh_search_indexes(con, delta)
        con.execute("CHECKPOINT")
    finally:
        con.close()


# --------------------------------------------------------------------------- search

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def _snippet(text: str, query: str, width: int = 240) -> str:
    """A window of ``text`` around the first query word, for display only."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    lowered = flat.lower()
    starts = [lowered.find(w.lower()) for w in _WORD.findall(query)]
    hit = min((s for s in starts if s >= 0), default=0)
    begin = max(0, hit - width // 3)
    end = min(len(flat), begin + width)
    begin = max(0, end - width)
    return ("…" if begin else "") + flat[begin:end].strip() + ("…" if end < len(flat) else "")


def _candidates(helper: str) -> str:
    """Rows of ``helper`` holding at least one term of the query ``$q``.

    match_bm25 scores exactly these rows (NULL for every other), so calling it on them
    alone gives the same hits while the macro runs over a few thousand rows, not all of
    them. The query terms are found as the macro finds them: its tokenize, then stem.
    """
    fts = _fts(helper)
    return f"""
        SELECT h.* FROM {helper} AS h
        WHERE h.search_id IN (
            SELECT d.name FROM {fts}.docs AS d
            WHERE d.docid IN (
                SELECT t.docid FROM {fts}.terms AS t
                WHERE t.termid IN (
                    SELECT termid FROM {fts}.dict
                    WHERE term IN (SELECT stem(unnest({fts}.tokenize($q)), '{STEMMER}')))))
    """


def search(con: duckdb.DuckDBPyConnection, query: str, *, limit: int = 10) -> list[dict[str, Any]]:
    """Ranked BM25 search over paragraphs and speech turns.

    Each hit: doc_id, title, event_date, source ('paragraph' or 'utterance'),
    paragraph_index / turn_index, speaker (speaker_label of the turn, when the hit is
    in a speech turn), snippet, score. A speech turn usually matches both as an
    utterance and through its paragraphs; only the best-scoring hit per turn (and per
    narration paragraph) is kept so one turn cannot fill the whole result list. Scores
    of the two indexes are both BM25 over similar text and are ranked together.
    Works on read-only connections; loads the packaged fts extension if needed.
    """
    if not _WORD.search(query):
        return []
    load_fts(con)
    rows = con.execute(
        f"""
        WITH p_rows AS ({_candidates("paragraphs_search")}),
        u_rows AS ({_candidates("utterances_search")}),
        hits AS (
            SELECT 'paragraph' AS source, s.doc_id, s.paragraph_index, p.turn_index,
                   p.text, fts_main_paragraphs_search.match_bm25(s.search_id, $q) AS score
            FROM p_rows AS s
            JOIN paragraphs AS p USING (doc_id, paragraph_index)
            UNION ALL
            SELECT 'utterance', s.doc_id, NULL, s.turn_index, u.text,
                   fts_main_utterances_search.match_bm25(s.search_id, $q)
            FROM u_rows AS s
            JOIN utterances AS u USING (doc_id, turn_index)
        ), best AS (
            SELECT * FROM hits
            WHERE score IS NOT NULL
            QUALIFY row_number() OVER (
                PARTITION BY doc_id, coalesce(turn_index, -1 - paragraph_index)
                ORDER BY score DESC, source, paragraph_index) = 1
        )
        SELECT b.doc_id, d.title, d.event_date, b.source, b.paragraph_index, b.turn_index,
               u.speaker_label AS speaker, b.text, b.score
        FROM best AS b
        JOIN documents AS d USING (doc_id)
        LEFT JOIN utterances AS u ON u.doc_id = b.doc_id AND u.turn_index = b.turn_index
        ORDER BY b.score DESC, b.doc_id, b.turn_index NULLS FIRST, b.paragraph_index NULLS FIRST
        LIMIT $limit
        """,
        {"q": query, "limit": limit},
    ).fetchall()
    out = []
    for doc_id, title, event_date, source, p_idx, t_idx, speaker, text, score in rows:
        out.append(
            {
                "doc_id": doc_id,
                "title": title,
                "event_date": event_date,
                "source": source,
                "paragraph_index": p_idx,
                "turn_index": t_idx,
                "speaker": speaker,
                "snippet": _snippet(text, query),
                "score": float(score),
            }
        )
    return out


# --------------------------------------------------------------------------- parquet

_PARQUET_OPTIONS = "FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100000"
# Key-value metadata entry naming how a file was written: a parent's file is reused only
# when it carries exactly the entry this code would write (same writer, options and
# columns), so a reused file has the bytes a fresh write would have.
_PARQUET_KV_KEY = "kremlin_parquet"


def _parquet_format(con: duckdb.DuckDBPyConnection, table: str) -> str:
    cols = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = ? "
        "ORDER BY column_index",
        [table],
    ).fetchall()
    contract = [c.name for c in columns(TABLES[table])]
    types = dict(cols)
    layout = ", ".join(f"{c} {types[c]}" for c in contract)
    return f"duckdb {duckdb.__version__}; {_PARQUET_OPTIONS}; {table}({layout})"


def _copy_parquet(con: duckdb.DuckDBPyConnection, select: str, target: Path, fmt: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    con.execute(
        f"COPY ({select}) TO {sql_str(str(target))} "
        f"({_PARQUET_OPTIONS}, KV_METADATA {{{_PARQUET_KV_KEY}: {sql_str(fmt)}}})"
    )


def _written_as(path: Path) -> str | None:
    """The format entry of a Parquet file this module wrote, None for any other file."""
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(path).metadata or {}
    except (OSError, ValueError):
        return None
    value = meta.get(_PARQUET_KV_KEY.encode())
    return value.decode() if value is not None else None


def _link_or_copy(src: Path, dst: Path) -> None:
    """Share the parent's immutable file (a hard link); copy where links are impossible."""
    import os
    import shutil

    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


_EXPORT_BATCH_ROWS = 60_000
"""Rows of the years sorted together for the Parquet export: a few batches instead of a
filter and sort of the whole table per year, yet a bounded working set (at 200,000 rows
the stage worker peaked 90 MB higher at 3x)."""


def _year_batches(years: list[int], counts: dict[int, int]) -> list[list[int]]:
    """``years`` in order, cut into runs of at most ``_EXPORT_BATCH_ROWS`` rows (a larger
    year is a run of its own)."""
    batches: list[list[int]] = []
    rows = 0
    for year in years:
        if not batches or rows + counts[year] > _EXPORT_BATCH_ROWS:
            batches.append([])
            rows = 0
        batches[-1].append(year)
        rows += counts[year]
    return batches


def partition_path(table: str, year: int, part: int = 0) -> str:
    """Relative path of one part file of one year of a partitioned table."""
    return f"{table}/year={int(year)}/{_part_name(part)}"


def _part_name(part: int) -> str:
    return f"part-{int(part)}.parquet"


_PART_FILE = re.compile(r"^part-(\d+)\.parquet$")
_YEAR_DIR = re.compile(r"^year=(-?\d+)$")

MAX_PARTS_PER_YEAR = 8
"""Part files a year may hold before an incremental export merges all but its largest part
into one (a daily refresh adds a part to most years: this bounds the files a reader opens)."""


@dataclass(frozen=True)
class _ParentPart:
    """One part file of the parent's export of a partitioned table."""

    path: Path
    year: int
    number: int
    rows: int
    hit: bool
    """Holds a row of a delta document, so cannot be shared as it is."""


def _parent_parts(
    con: duckdb.DuckDBPyConnection, table: str, parent_dir: Path, fmt: str
) -> list[_ParentPart] | None:
    """The parent's part files of ``table``; None when one was written in another format (or
    is unreadable), so that nothing of the parent is reused for the table."""
    import pyarrow.parquet as pq

    found: list[tuple[Path, int, int, int]] = []
    for year_dir in sorted((parent_dir / table).glob("year=*")):
        y = _YEAR_DIR.match(year_dir.name)
        if y is None or not year_dir.is_dir():
            return None
        for f in sorted(year_dir.iterdir()):
            m = _PART_FILE.match(f.name)
            if m is None or _written_as(f) != fmt:
                return None
            found.append((f, int(y.group(1)), int(m.group(1)), pq.read_metadata(f).num_rows))
    if not found:
        return []
    hit = {
        Path(name)
        for (name,) in con.execute(
            "SELECT DISTINCT filename FROM read_parquet(?, filename = true, hive_partitioning = false) "
            "WHERE doc_id IN (SELECT doc_id FROM export_touched)",
            [[str(f) for f, *_ in found]],
        ).fetchall()
    }
    return [_ParentPart(f, year, n, rows, f in hit) for f, year, n, rows in found]


def _plan_year(parts: list[_ParentPart], new_rows: int) -> tuple[list[_ParentPart], list[_ParentPart], bool]:
    """(parts linked as they are, parts rewritten without the delta documents, whether the
    year's other rows are merged into one part) for one year of an incremental export."""
    kept = [p for p in parts if not p.hit]
    hit = [p for p in parts if p.hit]
    if len(parts) + (1 if new_rows else 0) <= MAX_PARTS_PER_YEAR:
        return kept, hit, False
    # Too many parts: keep the largest shared one, merge every other row of the year.
    base = max(kept, key=lambda p: (p.rows, -p.number), default=None)
    return ([base] if base else []), [], True


def _export_incremental(
    con: duckdb.DuckDBPyConnection,
    table: str,
    out_dir: Path,
    counts: dict[int, int],
    parts: list[_ParentPart],
    select: str,
    order: str,
    fmt: str,
) -> list[int]:
    """Share the parent's part files that hold no delta document, rewrite those that do
    without those documents, and write the delta documents' rows into the year's first
    rewritten part, or as one new part when none is rewritten.
    Returns the years that must be written cold (their parts do not add up to the table)."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE export_rows AS {select} "
        f"WHERE doc_id IN (SELECT doc_id FROM export_touched) ORDER BY year, {order}"
    )
    new_counts = dict(con.execute("SELECT year, count(*) FROM export_rows GROUP BY year").fetchall())
    by_year: dict[int, list[_ParentPart]] = {}
    for p in parts:
        by_year.setdefault(p.year, []).append(p)
    cold: list[int] = []
    for year in sorted(counts):
        year_parts = by_year.get(year, [])
        if not year_parts:
            cold.append(year)  # a year new to this version: written as a cold export would
            continue
        linked, rewritten, merge = _plan_year(year_parts, new_counts.get(year, 0))
        if merge and not linked:
            cold.append(year)  # every part holds a delta document: the year is rewritten whole
            continue
        next_part = 1 + max(p.number for p in year_parts)
        written = 0
        for p in linked:
            _link_or_copy(p.path, out_dir / partition_path(table, year, p.number))
            written += p.rows
        if merge:
            # Every row of the year but those of the shared base part, in one new part.
            base = " ".join(
                f"AND doc_id NOT IN (SELECT doc_id FROM read_parquet({sql_str(str(p.path))}))" for p in linked
            )
            rest = f"{select} WHERE year = {int(year)} {base} ORDER BY {order}"
            written += _copy_part(con, rest, out_dir / partition_path(table, year, next_part), fmt)
        else:
            # The delta documents' rows join the first part that is rewritten anyway, else
            # they make a new part: a year held in one part stays in one part.
            home = rewritten[0].number if rewritten else next_part
            for p in rewritten:
                rows = f"doc_id IN (SELECT doc_id FROM read_parquet({sql_str(str(p.path))}))"
                rows = f"({rows} AND doc_id NOT IN (SELECT doc_id FROM export_touched))"
                if p.number == home:
                    rows = f"({rows} OR doc_id IN (SELECT doc_id FROM export_touched))"
                kept = f"{select} WHERE year = {int(year)} AND {rows} ORDER BY {order}"
                written += _copy_part(con, kept, out_dir / partition_path(table, year, p.number), fmt)
            if not rewritten and new_counts.get(year):
                added = f"SELECT * FROM export_rows WHERE year = {int(year)} ORDER BY {order}"
                written += _copy_part(con, added, out_dir / partition_path(table, year, next_part), fmt)
        if written != counts[year]:
            # The delta missed a document of this year (or the parent's files were not what
            # they claim): never publish parts that do not add up to the table.
            shutil.rmtree(out_dir / table / f"year={int(year)}", ignore_errors=True)
            cold.append(year)
    con.execute("DROP TABLE export_rows")
    return cold


def _copy_part(con: duckdb.DuckDBPyConnection, select: str, target: Path, fmt: str) -> int:
    """Write ``select`` as a part file unless it is empty; return its rows."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE export_part AS {select}")
    (rows,) = con.execute("SELECT count(*) FROM export_part").fetchone()
    if rows:
        _copy_parquet(con, "SELECT * FROM export_part", target, fmt)
    con.execute("DROP TABLE export_part")
    return rows


def _export_cold(
    con: duckdb.DuckDBPyConnection,
    table: str,
    out_dir: Path,
    years: list[int],
    counts: dict[int, int],
    select: str,
    order: str,
    fmt: str,
) -> None:
    """Each year of ``years`` as one part file ``part-0.parquet``, as a cold export writes it."""
    for batch in _year_batches(years, counts):
        # One sort of a few years' rows, then one cheap ordered COPY per year from
        # it: a year's rows are then contiguous instead of scattered over the table
        # (the same bytes, 2.4x faster than filtering and sorting the table per
        # year); batches bound the rows held at once.
        in_batch = ", ".join(str(int(y)) for y in batch)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE export_rows AS {select} WHERE year IN ({in_batch}) ORDER BY year, {order}"
        )
        for year in batch:
            one = f"SELECT * FROM export_rows WHERE year = {int(year)} ORDER BY {order}"
            _copy_parquet(con, one, out_dir / partition_path(table, year), fmt)
        con.execute("DROP TABLE export_rows")


def export_parquet(
    db_path: Path, out_dir: Path, *, parent_dir: Path | None = None, delta: SearchDelta | None = None
) -> dict[str, str]:
    """Write every contract table as zstd Parquet under ``out_dir``; return table -> relative path.

    documents, paragraphs and utterances become Hive-style partitions
    ``<table>/year=YYYY/part-<n>.parquet`` that keep the ``year`` column inside each file
    (readers that take the files as they are, like the Hugging Face viewer, see every
    column; ``hive_partitioning`` readers get the same value from the path); the others
    one ``<table>.parquet`` each. Rows are sorted by the table's key inside each file and
    each file is written by its own ordered COPY, so the same database gives
    byte-identical files. A cold export writes one part (``part-0``) per year.

    With ``parent_dir`` (the parent version's ``parquet/``) and ``delta`` (every document
    whose documents/paragraphs/utterances rows differ from the parent's), the parent's
    part files are immutable parts shared between versions: a part that holds no delta
    document is hard-linked, a part that does is rewritten without the delta documents,
    and the delta documents' current rows go into the year's first rewritten part, or,
    when the year has none, into one new part (numbered after the year's last part). A year that would hold more than ``MAX_PARTS_PER_YEAR`` parts
    keeps its largest shared part and has its other rows merged into one. So the rows of
    a year are the same set whichever way it was built, but an incremental export may
    split them into other parts than a cold one: read a year (or a table) with ``ORDER BY``
    its key to get the same rows in the same order. A year whose parts would not add up
    to its row count, a new year and a parent written in another format are exported as
    a cold export does; the small unpartitioned tables are always rewritten.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, str] = {}
    con = duck.connect(db_path, read_only=True, memory=duck.PUBLISH_MEMORY)
    try:
        # Timestamps are stored as UTC instants either way; pin the zone so nothing
        # session-dependent can leak into the files.
        con.execute("SET TimeZone = 'UTC'")
        if parent_dir is not None and delta is not None:
            con.execute("CREATE TEMP TABLE export_touched (doc_id VARCHAR)")
            con.execute(
                "INSERT INTO export_touched SELECT unnest(?::VARCHAR[])", [sorted(delta.touched_doc_ids)]
            )
        for table in TABLES:
            order = ", ".join(key_columns(table))
            select = f"SELECT {', '.join(c.name for c in columns(TABLES[table]))} FROM {table}"
            fmt = _parquet_format(con, table)
            if table not in PARTITIONED_TABLES:
                target = out_dir / f"{table}.parquet"
                _copy_parquet(con, f"{select} ORDER BY {order}", target, fmt)
                paths[table] = target.name
                continue
            counts = dict(con.execute(f"SELECT year, count(*) FROM {table} GROUP BY year").fetchall())
            parts = (
                _parent_parts(con, table, parent_dir, fmt)
                if parent_dir is not None and delta is not None
                else None
            )
            if parts:
                cold = _export_incremental(con, table, out_dir, counts, parts, select, order, fmt)
            else:
                cold = sorted(counts)
            _export_cold(con, table, out_dir, cold, counts, select, order, fmt)
            (out_dir / table).mkdir(parents=True, exist_ok=True)
            paths[table] = table
    finally:
        con.close()
    return paths
