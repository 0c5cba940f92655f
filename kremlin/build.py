"""Assemble the curated DuckDB file from the run's files and the parse shards.

All heavy lifting is SQL over the shard Parquet files, so memory stays flat however
many pages there are; only the compact people index (tags and speaker labels) passes
through Python for person resolution.

"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from kremlin import duck
from kremlin.contract import columns, ddl
from kremlin.inventory import InputFile
from kremlin.persons import DocPeople, KnownPerson, resolve_people
from schemas.tables import TABLES

DUPLICATE_RULE = """\
Files that parse to the same `doc_id` are one document. The published copy is a
page-style text (it carries the site's id) if there is one, else the first by file
name; the others are `duplicate`, with `duplicate_of` naming the published file."""

_CONTENT_TABLES = ("documents", "paragraphs", "utterances")
# Columns the shards cannot know: the file a document is published from, and the
# speaker kind, set by person resolution right after the insert.
_PLACEHOLDERS = {"source_file": "p.source_file", "speaker_kind": "'anonymous'"}


@dataclass(frozen=True)
class BuildStats:
    files: int
    published: int
    duplicates: int
    rejected: int
    row_counts: dict[str, int]


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _inputs_table(inputs: list[InputFile]) -> pa.Table:
    return pa.table(
        {
            "source_file": [f.source_file for f in inputs],
            "sha256": [f.sha256 for f in inputs],
            "size_bytes": pa.array([f.size_bytes for f in inputs], pa.int64()),
        }
    )


def build_database(
    db_path: Path,
    inputs: list[InputFile],
    cache_dir: Path,
    *,
    known_persons: list[KnownPerson] | None = None,
    threads: int | None = None,
) -> BuildStats:
    db_path.unlink(missing_ok=True)
    con = duck.connect(db_path)
    try:
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        for table in TABLES:
            con.execute(ddl(table))
        con.register("inputs_arrow", _inputs_table(inputs))
        con.execute("CREATE TEMP TABLE inputs AS SELECT * FROM inputs_arrow")
        con.unregister("inputs_arrow")
        _load_outcomes(con, cache_dir)
        _fill_source_files(con)
        _fill_content(con, cache_dir)
        _resolve_people(con, known_persons or [])
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
        status = dict(con.execute("SELECT status, count(*) FROM source_files GROUP BY status").fetchall())
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return BuildStats(
        files=len(inputs),
        published=status.get("published", 0),
        duplicates=status.get("duplicate", 0),
        rejected=status.get("rejected", 0),
        row_counts=counts,
    )


def _shard_glob(cache_dir: Path, table: str) -> str:
    return _sql_str(str(cache_dir / "*" / f"{table}.parquet"))


def _load_outcomes(con: duckdb.DuckDBPyConnection, cache_dir: Path) -> None:
    # A sha256 may sit in two shards (runs that overlapped): take the first shard by name.
    con.execute(
        f"""
        CREATE TEMP TABLE outcome AS
        SELECT * EXCLUDE (rn) FROM (
            SELECT o.*, regexp_replace(o.filename, '/[^/]+$', '') AS shard,
                   row_number() OVER (PARTITION BY o.sha256 ORDER BY o.filename) AS rn
            FROM read_parquet({_shard_glob(cache_dir, "outcomes")}, filename = true) o
            WHERE o.sha256 IN (SELECT sha256 FROM inputs)
        ) WHERE rn = 1
        """
    )
    missing = con.execute(
        "SELECT count(*) FROM inputs WHERE sha256 NOT IN (SELECT sha256 FROM outcome)"
    ).fetchone()[0]
    if missing:
        raise RuntimeError(f"{missing} input file(s) have no parse result in {cache_dir}")


def _fill_source_files(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        CREATE TEMP TABLE file_outcome AS
        SELECT i.source_file, i.sha256, i.size_bytes, o.doc_id, o.kremlin_id, o.shard,
               o.reject_reason, o.reject_stage, o.reject_message,
               CASE WHEN o.doc_id IS NULL THEN NULL ELSE row_number() OVER (
                   PARTITION BY o.doc_id ORDER BY o.kremlin_id IS NULL, i.source_file) END AS copy_rank
        FROM inputs i JOIN outcome o USING (sha256)
        """
    )
    con.execute(
        """
        CREATE TEMP TABLE published AS
        SELECT doc_id, source_file, sha256, shard FROM file_outcome WHERE copy_rank = 1
        """
    )
    con.execute(
        """
        INSERT INTO source_files
        SELECT f.source_file, f.sha256, f.size_bytes,
               CASE WHEN f.doc_id IS NULL THEN 'rejected'
                    WHEN f.copy_rank = 1 THEN 'published' ELSE 'duplicate' END,
               f.doc_id, f.reject_reason, f.reject_stage, f.reject_message,
               CASE WHEN f.copy_rank > 1 THEN p.source_file END
        FROM file_outcome f LEFT JOIN published p ON f.doc_id = p.doc_id
        ORDER BY f.source_file
        """
    )


def _fill_content(con: duckdb.DuckDBPyConnection, cache_dir: Path) -> None:
    for table in _CONTENT_TABLES:
        cols = [c.name for c in columns(TABLES[table])]
        keys = [c.name for c in columns(TABLES[table]) if c.pk]
        select = ", ".join(_PLACEHOLDERS.get(c, f"s.{c}") for c in cols)
        con.execute(
            f"""
            INSERT INTO {table} ({", ".join(cols)})
            SELECT {select}
            FROM read_parquet({_shard_glob(cache_dir, table)}, filename = true) s
            JOIN published p
              ON s.sha256 = p.sha256 AND regexp_replace(s.filename, '/[^/]+$', '') = p.shard
            ORDER BY {", ".join("s." + k for k in keys)}
            """
        )


def _resolve_people(con: duckdb.DuckDBPyConnection, known: list[KnownPerson]) -> None:
    tags = con.execute("SELECT doc_id, person_tags FROM documents ORDER BY doc_id").fetchall()
    speakers: dict[str, list[str]] = defaultdict(list)
    for doc, label in con.execute(
        "SELECT doc_id, speaker_label FROM utterances ORDER BY doc_id, turn_index"
    ).fetchall():
        speakers[doc].append(label)
    docs = [DocPeople(doc, tuple(t), tuple(speakers.get(doc, ()))) for doc, t in tags]
    res = resolve_people(docs, known)

    turn_rows: dict[str, list] = defaultdict(list)
    mention_rows: dict[str, list] = defaultdict(list)
    for doc in docs:
        for i, (pid, spk) in enumerate(
            zip(res.speaker_ids[doc.doc_id], res.speakers[doc.doc_id], strict=True)
        ):
            for k, v in (
                ("doc_id", doc.doc_id),
                ("turn_index", i),
                ("speaker_kind", spk.kind),
                ("speaker_name", spk.name),
                ("speaker_role", spk.role),
                ("person_id", pid),
            ):
                turn_rows[k].append(v)
            if spk.kind == "person":
                _mention(mention_rows, doc.doc_id, pid, doc.speakers[i], "speaker", i)
        for i, (tag, pid) in enumerate(zip(doc.tags, res.tag_ids[doc.doc_id], strict=True)):
            _mention(mention_rows, doc.doc_id, pid, tag, "tag", i)

    con.register(
        "turn_people",
        pa.table(
            turn_rows
            or {
                k: []
                for k in ("doc_id", "turn_index", "speaker_kind", "speaker_name", "speaker_role", "person_id")
            }
        ),
    )
    con.execute(
        """
        UPDATE utterances u SET speaker_kind = t.speaker_kind, speaker_name = t.speaker_name,
               speaker_role = t.speaker_role, person_id = t.person_id
        FROM turn_people t WHERE u.doc_id = t.doc_id AND u.turn_index = t.turn_index
        """
    )
    con.unregister("turn_people")
    if mention_rows:
        con.register("mentions", pa.table(mention_rows))
        con.execute(
            "INSERT INTO document_persons SELECT doc_id, person_id, mentioned_as, source, position "
            "FROM mentions ORDER BY doc_id, source DESC, position"
        )
        con.unregister("mentions")
    if res.persons:
        con.register("persons_arrow", pa.Table.from_pylist(res.persons))
        con.execute(
            "INSERT INTO persons SELECT person_id, name, sort_name, aliases, n_documents "
            "FROM persons_arrow ORDER BY person_id"
        )
        con.unregister("persons_arrow")


def _mention(rows: dict[str, list], doc: str, pid: str | None, text: str, source: str, position: int) -> None:
    rows["doc_id"].append(doc)
    rows["person_id"].append(pid)
    rows["mentioned_as"].append(text)
    rows["source"].append(source)
    rows["position"].append(position)


def known_persons_from(db_path: Path | None) -> list[KnownPerson]:
    """The persons of a previous version, so that their ids never change."""
    if db_path is None or not db_path.exists():
        return []
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        rows = con.execute(
            "SELECT person_id, name, sort_name, aliases FROM persons ORDER BY person_id"
        ).fetchall()
    finally:
        con.close()
    return [KnownPerson(pid, name, sort, tuple(aliases or ())) for pid, name, sort, aliases in rows]
