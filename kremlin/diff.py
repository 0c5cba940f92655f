"""What changed between two published versions, document by document.

Both databases are attached read-only to one in-memory duckdb connection and compared
in SQL, so a diff of two full versions never loads either into Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa

from kremlin import duck
from kremlin.contract import columns
from kremlin.duck import sql_str
from kremlin.versions import DB_FILENAME, VERSIONS
from schemas.tables import TABLES

# Bookkeeping, not content: which raw file a document came from, and a hash that
# changes with any parser tweak even when no column does.
BOOKKEEPING_COLUMNS = frozenset({"source_file", "content_sha256"})

# Per-document child tables compared as a whole, and the column that orders their rows.
_CHILDREN = {"paragraphs": "paragraph_index", "utterances": "turn_index"}


@dataclass
class DocumentChange:
    doc_id: str
    title: str
    change: Literal["added", "removed", "changed"]
    fields: list[str] = field(default_factory=list)


def _shared_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """Contract columns present in both versions, in contract order.

    Comparing only shared columns keeps a diff across a schema change (a column added
    in the new contract) meaningful instead of failing.
    """
    present = {
        (db, col)
        for db, col in con.execute(
            "SELECT database_name, column_name FROM duckdb_columns() "
            "WHERE database_name IN ('old', 'new') AND schema_name = 'main' AND table_name = ?",
            [table],
        ).fetchall()
    }
    return [
        c.name for c in columns(TABLES[table]) if ("old", c.name) in present and ("new", c.name) in present
    ]


def _child_hashes_sql(db: str, table: str, cols: list[str], where: str) -> str:
    order = _CHILDREN[table]
    content = [c for c in cols if c not in ("doc_id", "year")]
    struct = ", ".join(f"'{c}': \"{c}\"" for c in content)
    return (
        f"SELECT doc_id, sha256(string_agg(md5(to_json({{{struct}}})::VARCHAR), '' ORDER BY {order})) AS h "
        f"FROM {db}.main.{table} {where} GROUP BY doc_id"
    )


# The ordered per-document aggregate cannot spill: passes over slices of the documents (by
# a hash of doc_id) keep a whole-version diff inside the memory budget at any corpus size.
_HASH_ROWS_PER_PASS = 100_000


def _child_hashes(con: duckdb.DuckDBPyConnection, side: str, table: str, cols: list[str], where: str) -> None:
    """Temp table ``<side>_<table>`` (doc_id, h) of the documents selected by ``where``."""
    (rows,) = con.execute(f"SELECT count(*) FROM {side}.main.{table} {where}").fetchone()
    passes = max(1, -(-rows // _HASH_ROWS_PER_PASS))
    con.execute(f"CREATE TEMP TABLE {side}_{table} (doc_id VARCHAR, h VARCHAR)")
    for k in range(passes):
        sliced = f"{where} AND hash(doc_id) % {passes} = {k}"
        con.execute(f"INSERT INTO {side}_{table} {_child_hashes_sql(side, table, cols, sliced)}")


def diff_databases(
    old_db: Path,
    new_db: Path,
    *,
    ignore: Iterable[str] = BOOKKEEPING_COLUMNS,
    only: Iterable[str] | None = None,
) -> list[DocumentChange]:
    """Document-level changes from ``old_db`` to ``new_db`` (two kremlin.duckdb files), by doc_id.

    ``only``: compare just these documents, when every other one is known to be unchanged
    (an incremental build's delta), so the cost follows the change."""
    if Path(old_db).resolve() == Path(new_db).resolve():
        return []
    ignored = set(ignore) | {"doc_id"}
    # The pipeline's memory budget (an unbounded in-memory connection took 80 % of RAM
    # for its hash tables: the stage worker's peak of a refresh at 10x).
    con = duck.connect(memory=duck.PUBLISH_MEMORY, spill_beside=Path(new_db))
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"ATTACH {sql_str(old_db)} AS old (READ_ONLY)")
        con.execute(f"ATTACH {sql_str(new_db)} AS new (READ_ONLY)")
        where = ""
        if only is not None:
            con.register("only_arrow", pa.table({"doc_id": pa.array(sorted(set(only)), pa.string())}))
            con.execute("CREATE TEMP TABLE only_docs AS SELECT doc_id FROM only_arrow")
            con.unregister("only_arrow")
            where = "WHERE doc_id IN (SELECT doc_id FROM only_docs)"
        # Child rows are compared only for documents on both sides: an added or removed
        # document is reported as such whatever its rows (most of a refresh's delta).
        con.execute(
            "CREATE TEMP TABLE both_docs AS SELECT doc_id FROM "
            f"(SELECT doc_id FROM old.main.documents {where}) JOIN (SELECT doc_id FROM new.main.documents {where}) "
            "USING (doc_id)"
        )
        in_both = "WHERE doc_id IN (SELECT doc_id FROM both_docs)"
        doc_cols = [c for c in _shared_columns(con, "documents") if c not in ignored]
        flags = [f'CASE WHEN o."{c}" IS DISTINCT FROM n."{c}" THEN \'{c}\' END' for c in doc_cols]
        joins = []
        for child in _CHILDREN:
            cols = _shared_columns(con, child)
            for side in ("old", "new"):
                _child_hashes(con, side, child, cols, in_both)
            joins.append(f"LEFT JOIN old_{child} AS o_{child} ON o_{child}.doc_id = o.doc_id")
            joins.append(f"LEFT JOIN new_{child} AS n_{child} ON n_{child}.doc_id = n.doc_id")
            flags.append(f"CASE WHEN o_{child}.h IS DISTINCT FROM n_{child}.h THEN '{child}' END")
        rows = con.execute(
            f"""
            SELECT coalesce(n.doc_id, o.doc_id) AS doc_id,
                   coalesce(n.title, o.title) AS title,
                   CASE WHEN o.doc_id IS NULL THEN 'added'
                        WHEN n.doc_id IS NULL THEN 'removed'
                        ELSE 'changed' END AS change,
                   CASE WHEN o.doc_id IS NULL OR n.doc_id IS NULL THEN []
                        ELSE list_filter([{", ".join(flags)}], x -> x IS NOT NULL) END AS fields
            FROM (SELECT * FROM old.main.documents {where}) AS o
            FULL OUTER JOIN (SELECT * FROM new.main.documents {where}) AS n ON o.doc_id = n.doc_id
            {" ".join(joins)}
            ORDER BY doc_id
            """
        ).fetchall()
    finally:
        con.close()
    return [
        DocumentChange(doc_id, title, change, list(fields))
        for doc_id, title, change, fields in rows
        if change != "changed" or fields
    ]


def diff_versions(curated_dir: Path, old: str, new: str) -> list[DocumentChange]:
    """Document-level changes from version ``old`` to version ``new``, sorted by doc_id.

    ``fields`` of a changed document lists the differing document columns (bookkeeping
    columns excluded) in contract order, then 'paragraphs' / 'utterances' when any of
    the document's rows in those tables differ (compared via content hashes).
    """
    root = Path(curated_dir) / VERSIONS
    paths = [root / v / DB_FILENAME for v in (old, new)]
    for p in paths:
        if not p.is_file():
            raise FileNotFoundError(f"no database for version at {p}")
    return diff_databases(paths[0], paths[1])


def format_diff(changes: Iterable[DocumentChange]) -> str:
    """Human-readable diff: one line per document ('+' added, '-' removed, '~' changed) and a summary."""
    changes = list(changes)
    if not changes:
        return "no changes"
    marks = {"added": "+", "removed": "-", "changed": "~"}
    lines = []
    for c in changes:
        detail = f"  [{', '.join(c.fields)}]" if c.fields else ""
        lines.append(f"{marks[c.change]} {c.doc_id}  {c.title}{detail}")
    counts = {kind: sum(1 for c in changes if c.change == kind) for kind in marks}
    lines.append(f"{counts['added']} added, {counts['removed']} removed, {counts['changed']} changed")
    return "\n".join(lines)
