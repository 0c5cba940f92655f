"""Versioned layout of the curated output, its manifest, atomic publishing and retention.

Layout of ``CURATED_DIR``::

    .lock                      flock target of CuratedLock (one publisher at a time)
    .staging/<build>/          builds in progress (same filesystem as versions/)
    .staging/<build>.lock      held by a live build (see ``staging_dir``)
    .trash/                    versions/builds being deleted (rename first, then rmtree)
    versions/<version_id>/     complete, immutable versions:
        kremlin.duckdb  parquet/  quality/  manifest.json  README.md
    latest -> versions/<version_id>   relative symlink, switched atomically

Crash safety rests on two atomic operations of one filesystem: a build directory
becomes a version with a single ``rename`` (so ``versions/`` only ever holds complete
versions), and ``latest`` is switched by ``rename``-ing a fresh symlink over it (so it
always names either the old or the new version). Everything else is cleanup that a
later run can redo.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb

from kremlin import duck
from kremlin.contract import columns
from schemas.tables import TABLES

PACKAGE = "kremlin-dataset"
DB_FILENAME = "kremlin.duckdb"
MANIFEST_FILENAME = "manifest.json"
MANIFEST_FORMAT = 1
VERSIONS = "versions"
LATEST = "latest"
STAGING = ".staging"
TRASH = ".trash"
LOCK = ".lock"
# /1: per table, sha256 over "<table>(<columns>)\n" followed by the hex sha256 of every
# row's JSON in key order (see ``_table_fingerprint``); over the tables, sha256 of this
# name followed by "\n<table>:<digest>" in contract order. Computed in SQL since the
# throughput work, with byte-for-byte the same value as the earlier Python streaming.
FINGERPRINT_ALGORITHM = "kremlin-dataset-fingerprint/1"

_VERSION_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{8}$")


class LockBusyError(RuntimeError):
    """Another process holds the curated-directory lock."""


# --------------------------------------------------------------------------- ids & fingerprints


def make_version_id(created_at: dt.datetime, input_fingerprint: str) -> str:
    """Sortable version id: UTC creation second + first 8 hex digits of the input fingerprint.

    Lexicographic order equals chronological order, so directory listings sort by age.
    """
    if created_at.tzinfo is None or created_at.utcoffset() is None:
        raise ValueError("created_at must be timezone-aware (a naive time is ambiguous)")
    prefix = input_fingerprint.lower()[:8]
    if not re.fullmatch(r"[0-9a-f]{8}", prefix):
        raise ValueError(f"input_fingerprint must start with 8 hex digits: {input_fingerprint!r}")
    return f"{created_at.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}-{prefix}"


def is_version_id(name: str) -> bool:
    return bool(_VERSION_ID.match(name))


def input_fingerprint(files: Iterable[tuple[str, str]]) -> str:
    """sha256 over the sorted (relative name, file sha256) pairs: independent of listing order."""
    h = hashlib.sha256()
    for name, digest in sorted((str(n), str(d).lower()) for n, d in files):
        # NUL and newline cannot occur in a relative name, so the encoding is unambiguous.
        h.update(f"{name}\0{digest}\n".encode())
    return h.hexdigest()


def _row_hash_sql(table: str) -> str:
    """SQL of one row's hash: sha256 of its JSON (column name -> value, contract order)."""
    struct = ", ".join(f"'{c.name}': \"{c.name}\"" for c in columns(TABLES[table]))
    return f"sha256(to_json({{{struct}}})::VARCHAR)"


def _fingerprint_header(table: str) -> str:
    cols = columns(TABLES[table])
    return f"{table}({','.join(c.name for c in cols)})\n"


def _table_hashes_sql(table: str) -> str:
    """SQL of the row hashes of ``table`` in fingerprint order (see ``_table_fingerprint``)."""
    cols = columns(TABLES[table])
    pk = [c.name for c in cols if c.pk] or [c.name for c in cols]
    order = ", ".join([*(f'"{k}"' for k in pk), "h"])
    return f"SELECT h FROM (SELECT {_row_hash_sql(table)} AS h, * FROM {table}) ORDER BY {order}"


def _ordered_digest(con: duckdb.DuckDBPyConnection, table: str, sql: str, params: list | None = None) -> str:
    """sha256 of the table's header followed by the strings ``sql`` returns, in its order.

    DuckDB hashes the rows and sorts (in parallel, spilling if need be); the concatenation
    is hashed here batch by batch, so neither side ever holds it whole (an ordered
    ``string_agg`` held 40 MB per table at 10x and took longer than the hashing itself).
    """
    h = hashlib.sha256(_fingerprint_header(table).encode())
    for batch in con.execute(sql, params or []).to_arrow_reader(_DIGEST_BATCH_ROWS):
        h.update(_concatenated_utf8(batch.column(0)))
    return h.hexdigest()


def _concatenated_utf8(strings) -> bytes | memoryview:
    """The UTF-8 bytes of an Arrow string column's values one after the other. A string
    array without nulls stores exactly that between its first and last offsets, so it is
    read off the data buffer without a Python object per row."""
    import pyarrow as pa

    if len(strings) == 0:
        return b""
    width = 4 if pa.types.is_string(strings.type) else 8 if pa.types.is_large_string(strings.type) else 0
    if strings.null_count == 0 and width:
        _, offsets, data = strings.buffers()
        raw = memoryview(offsets)
        bounds = raw[: len(raw) // width * width].cast("i" if width == 4 else "q")  # cast needs whole items
        return memoryview(data)[bounds[strings.offset] : bounds[strings.offset + len(strings)]]
    return "".join(strings.to_pylist()).encode()


_DIGEST_BATCH_ROWS = 50_000


def _table_fingerprint(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """The sha256 of ``table`` (algorithm ``FINGERPRINT_ALGORITHM``).

    Each row is serialised as JSON (column name -> value, in contract column order, with
    timestamps rendered in UTC) and hashed; the row hashes, ordered by the table's key
    with the row hash as the final tie-break (so duplicate keys or key-less tables are
    still deterministic), are concatenated after a header naming the table and its
    columns, and that string is hashed once more. The order is a function of the values
    only, so the physical layout and insert order of the file never matter.
    """
    return _ordered_digest(con, table, _table_hashes_sql(table))


# ---- fingerprint parts: the row hashes of the large tables, kept per document
#
# The large tables' keys start with doc_id, so the ordered concatenation of a table's row
# hashes is the concatenation, in doc_id order, of each document's own run of hashes. A
# build stores those runs in FINGERPRINT_PARTS (for every document in a cold build, for
# the documents it touched in an incremental one: the rest are the parent's, copied with
# its database), and the fingerprint reads them instead of hashing every row again.
# Same algorithm, same value: only the hashing of unchanged rows is saved.

FINGERPRINT_PARTS = "fingerprint_parts"
PART_TABLES = ("documents", "paragraphs", "utterances")
"""Tables whose fingerprint is assembled from per-document parts (first key column doc_id)."""


def _part_order(table: str) -> str:
    rest = [c.name for c in columns(TABLES[table]) if c.pk][1:]
    return ", ".join([*(f'"{k}"' for k in rest), "h"])


# The ordered per-document aggregate holds every row hash of a pass in memory; passes over
# slices of the documents (by a hash of doc_id) keep it inside the DuckDB memory limit at any
# corpus size. A part depends on its document's rows only, so the slicing changes no value.
_PART_ROWS_PER_PASS = 50_000


def _insert_parts(con: duckdb.DuckDBPyConnection, table: str, touched: str | None) -> None:
    where = "TRUE" if touched is None else f"doc_id IN ({touched})"
    rows = con.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0]
    passes = max(1, -(-rows // _PART_ROWS_PER_PASS))
    for k in range(passes):
        con.execute(
            f"INSERT INTO {FINGERPRINT_PARTS} SELECT '{table}', doc_id, count(*), "
            f"string_agg(h, '' ORDER BY {_part_order(table)}) "
            f"FROM (SELECT *, {_row_hash_sql(table)} AS h FROM {table} "
            f"WHERE {where} AND hash(doc_id) % {passes} = {k}) GROUP BY doc_id"
        )


def refresh_fingerprint_parts(con: duckdb.DuckDBPyConnection, touched: str | None) -> None:
    """Recompute the parts of the documents listed by the SQL query ``touched`` (every
    document when None) from the tables as they are now; call after the last change to
    the part tables in a build."""
    zone = con.execute("SELECT current_setting('TimeZone')").fetchone()[0]
    con.execute("SET TimeZone = 'UTC'")  # as in table_fingerprints
    try:
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {FINGERPRINT_PARTS} "
            "(table_name VARCHAR, doc_id VARCHAR, n_rows BIGINT, hashes VARCHAR)"
        )
        where = "" if touched is None else f" WHERE doc_id IN ({touched})"
        con.execute(f"DELETE FROM {FINGERPRINT_PARTS}{where}")
        for table in PART_TABLES:
            _insert_parts(con, table, touched)
        con.execute(
            f"COMMENT ON TABLE {FINGERPRINT_PARTS} IS 'Build bookkeeping, not data: the row hashes of "
            "documents, paragraphs and utterances per document, from which the dataset fingerprint "
            "of the manifest is assembled (an incremental build rehashes only the documents it touched).'"
        )
        for col, doc in (
            ("table_name", "Table the rows belong to."),
            ("doc_id", "Document of the rows."),
            ("n_rows", "Rows of the document in the table."),
            ("hashes", "Sha256 hex digests of the rows, concatenated in key order."),
        ):
            con.execute(f"COMMENT ON COLUMN {FINGERPRINT_PARTS}.{col} IS '{doc}'")
    finally:
        con.execute(f"SET TimeZone = '{zone}'")


def _parts_fingerprint(con: duckdb.DuckDBPyConnection, table: str) -> str | None:
    """The table's fingerprint from its parts, None when they do not cover every row."""
    (covered,) = con.execute(
        f"SELECT coalesce(sum(n_rows), 0) FROM {FINGERPRINT_PARTS} WHERE table_name = ?", [table]
    ).fetchone()
    (total,) = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    if covered != total:
        return None
    return _ordered_digest(
        con, table, f"SELECT hashes FROM {FINGERPRINT_PARTS} WHERE table_name = ? ORDER BY doc_id", [table]
    )


def table_fingerprints(db_path: Path, *, use_parts: bool = True) -> dict[str, str]:
    """sha256 of each contract table's content (see ``_table_fingerprint``).

    Rows are hashed and sorted by DuckDB; only the ordered 64-byte hashes pass through
    Python, a batch at a time, into one sha256. With ``use_parts`` the large tables are assembled from the build's fingerprint parts
    when they cover every row (``refresh_fingerprint_parts``).
    """
    con = duck.connect(db_path, read_only=True, memory=duck.PUBLISH_MEMORY)
    try:
        # TIMESTAMPTZ renders in the session zone; pin it so two runners agree.
        con.execute("SET TimeZone = 'UTC'")
        has_parts = use_parts and bool(
            con.execute(
                "SELECT 1 FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = ?",
                [FINGERPRINT_PARTS],
            ).fetchone()
        )
        out: dict[str, str] = {}
        for table in TABLES:
            digest = _parts_fingerprint(con, table) if has_parts and table in PART_TABLES else None
            out[table] = digest if digest is not None else _table_fingerprint(con, table)
    finally:
        con.close()
    return out


def dataset_fingerprint(db_path: Path) -> str:
    """One sha256 over every contract table's content (see ``table_fingerprints``).

    Identical data gives an identical fingerprint whatever the insertion order, the
    runner or the physical layout of the file; any changed value changes it.
    """
    h = hashlib.sha256(FINGERPRINT_ALGORITHM.encode())
    for table, digest in table_fingerprints(db_path).items():
        h.update(f"\n{table}:{digest}".encode())
    return h.hexdigest()


# --------------------------------------------------------------------------- code version & manifest


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", "--no-optional-locks", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout


def code_version(parser_version: str | None = None) -> dict[str, Any]:
    """Package version and, in a git checkout, the commit and whether the tree is dirty.

    ``git --no-optional-locks`` keeps ``status`` from rewriting the index, so asking
    never changes the checkout. Untracked files do not count as dirty (as in
    ``git describe --dirty``).
    """
    try:
        version = metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        version = "0+unknown"
    info: dict[str, Any] = {"package": PACKAGE, "version": version, "git_commit": None, "git_dirty": None}
    root = Path(__file__).resolve().parents[1]
    if (root / ".git").exists():
        head = _git(root, "rev-parse", "HEAD")
        if head and head.strip():
            info["git_commit"] = head.strip()
            status = _git(root, "status", "--porcelain", "--untracked-files=no")
            info["git_dirty"] = None if status is None else bool(status.strip())
    if parser_version is not None:
        info["parser_version"] = parser_version
    return info


def _iso(t: dt.datetime) -> str:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError("created_at must be timezone-aware")
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def build_manifest(
    *,
    version_id: str,
    created_at: dt.datetime,
    parent: str | None,
    code_version: dict,
    input_fingerprint: str,
    schema_version: str,
    row_counts: dict,
    quality: dict,
    lineage: dict,
    dataset_fingerprint: str,
) -> dict[str, Any]:
    """The version's manifest as a JSON-ready dict (written by ``write_manifest``)."""
    if not is_version_id(version_id):
        raise ValueError(f"not a version id: {version_id!r}")
    manifest = {
        "manifest_format": MANIFEST_FORMAT,
        "version_id": version_id,
        "created_at": _iso(created_at),
        "parent": parent,
        "schema_version": schema_version,
        "code_version": code_version,
        "input_fingerprint": input_fingerprint,
        "dataset_fingerprint": dataset_fingerprint,
        "fingerprint_algorithm": FINGERPRINT_ALGORITHM,
        "row_counts": row_counts,
        "quality": quality,
        "lineage": lineage,
    }
    # Fail here, in the build, rather than when the manifest is written or read.
    json.dumps(manifest, allow_nan=False)
    return manifest


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_and_flush(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` and begin writing the copy to disk in a background thread.

    A build starts from copies of its parent's files (hundreds of MB at 60,000 pages);
    left to the fsync in ``publish_version``, writing them out would be a second or more
    at the end of the run. Flushed now, it overlaps the build; that final fsync still runs
    and is what guarantees durability."""
    shutil.copyfile(src, dst)
    threading.Thread(target=_fsync_path, args=(Path(dst),), name="flush-copy", daemon=True).start()


def write_manifest(build_dir: Path, manifest: dict) -> Path:
    """Write ``build_dir/manifest.json`` atomically (temp file, fsync, rename).

    Write it last: a version directory is "complete" when its manifest exists.
    """
    target = build_dir / MANIFEST_FILENAME
    tmp = build_dir / f".{MANIFEST_FILENAME}.{secrets.token_hex(4)}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2, sort_keys=False, allow_nan=False)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    _fsync_path(build_dir)
    return target


# --------------------------------------------------------------------------- reading the layout


def _is_complete(version_dir: Path) -> bool:
    return (version_dir / MANIFEST_FILENAME).is_file() and (version_dir / DB_FILENAME).is_file()


def latest_version(curated_dir: Path) -> str | None:
    """Version id that ``latest`` points at, or None when there is no (complete) latest."""
    link = curated_dir / LATEST
    try:
        target = os.readlink(link)
    except OSError:
        return None
    version_id = Path(target).name
    return version_id if _is_complete(curated_dir / VERSIONS / version_id) else None


def list_versions(curated_dir: Path) -> list[str]:
    """Complete versions (manifest and database present), oldest first."""
    root = curated_dir / VERSIONS
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if is_version_id(p.name) and p.is_dir() and _is_complete(p))


def read_manifest(curated_dir: Path, version_id: str | None = None) -> dict | None:
    """Manifest of a version (``latest`` when None), or None if there is no such version."""
    version_id = version_id or latest_version(curated_dir)
    if version_id is None:
        return None
    try:
        with open(curated_dir / VERSIONS / version_id / MANIFEST_FILENAME, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        return None


# --------------------------------------------------------------------------- lock


class CuratedLock:
    """Exclusive lock on a curated directory (``flock`` on ``curated_dir/.lock``).

    Hold it around publish + retention. ``flock`` belongs to the open file, so the
    kernel releases it when the holder dies: a crashed publisher never leaves a stale
    lock behind. ``wait=False`` fails at once with LockBusyError; ``timeout`` waits at
    most that many seconds.
    """

    def __init__(self, curated_dir: Path, wait: bool = True, timeout: float | None = None) -> None:
        self.curated_dir = Path(curated_dir)
        self.path = self.curated_dir / LOCK
        self.wait = wait
        self.timeout = timeout
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def _holder(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8").strip() or "unknown holder"
        except OSError:
            return "unknown holder"

    def acquire(self) -> None:
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this CuratedLock")
        self.curated_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            self._lock(fd)
            # Who holds it, for the next process's error message (diagnostic only).
            os.ftruncate(fd, 0)
            os.pwrite(
                fd,
                f"pid {os.getpid()} on {socket.gethostname()} since {_iso(dt.datetime.now(dt.UTC))}\n".encode(),
                0,
            )
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def _lock(self, fd: int) -> None:
        if self.wait and self.timeout is None:
            fcntl.flock(fd, fcntl.LOCK_EX)
            return
        deadline = time.monotonic() + ((self.timeout or 0.0) if self.wait else 0.0)
        delay = 0.01
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
            if time.monotonic() >= deadline:
                waited = f" after waiting {self.timeout:g}s" if self.wait else ""
                raise LockBusyError(
                    f"{self.curated_dir} is locked by another process ({self._holder()}){waited}; "
                    "another pipeline run is publishing"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.25)

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> CuratedLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


# --------------------------------------------------------------------------- staging & publishing


@contextlib.contextmanager
def staging_dir(curated_dir: Path, name: str) -> Iterator[Path]:
    """Create ``curated_dir/.staging/<name>/`` for a build and mark it live while in use.

    The build holds ``flock`` on ``.staging/<name>.lock`` for the duration of the block,
    so ``apply_retention`` in another run never deletes a build that is still running,
    while a crashed build's lock is released by the kernel and its leftovers become
    removable. On normal exit the lock file is removed; the build directory is left
    (it was usually moved away by ``publish_version``; a failed build stays for
    inspection until retention removes it).
    """
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"bad staging name {name!r}")
    staging = curated_dir / STAGING
    staging.mkdir(parents=True, exist_ok=True)
    lock_path = staging / f"{name}.lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise LockBusyError(f"build {name!r} is already running in {staging}") from exc
        try:
            build = staging / name
            build.mkdir()
            yield build
        finally:
            # Only the holder may remove the lock file, or a second process could
            # delete a live build's marker.
            with contextlib.suppress(FileNotFoundError):
                lock_path.unlink()
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    # Data must be on disk before the rename that makes it visible, or a power loss
    # could leave a "complete" version with empty files.
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            _fsync_path(Path(dirpath) / name)
        _fsync_path(Path(dirpath))


def publish_version(curated_dir: Path, build_dir: Path, version_id: str) -> Path:
    """Move a finished build to ``versions/<version_id>`` and point ``latest`` at it.

    Call with ``CuratedLock`` held. ``build_dir`` must be on the same filesystem
    (normally ``curated_dir/.staging/...``) and contain kremlin.duckdb and manifest.json.
    A process killed at any point leaves ``latest`` naming a complete version: until the
    final ``os.replace`` it is the previous one, afterwards the new one. An exception
    before the switch moves the build back to ``build_dir``.
    """
    curated_dir = Path(curated_dir)
    build_dir = Path(build_dir)
    if not is_version_id(version_id):
        raise ValueError(f"not a version id: {version_id!r}")
    if not _is_complete(build_dir):
        raise ValueError(f"{build_dir} is not a complete build (needs {DB_FILENAME} and {MANIFEST_FILENAME})")
    versions = curated_dir / VERSIONS
    versions.mkdir(parents=True, exist_ok=True)
    target = versions / version_id
    if target.exists():
        raise FileExistsError(f"version {version_id} already exists")
    manifest = json.loads((build_dir / MANIFEST_FILENAME).read_text(encoding="utf-8"))
    if manifest.get("version_id") != version_id:
        raise ValueError(f"manifest version_id {manifest.get('version_id')!r} != {version_id!r}")
    if build_dir.stat().st_dev != versions.stat().st_dev:
        raise ValueError(f"{build_dir} is not on the filesystem of {versions}: the move would not be atomic")
    link = curated_dir / LATEST
    if link.exists() and not link.is_symlink():
        raise ValueError(f"{link} exists and is not a symlink")

    _fsync_tree(build_dir)
    os.rename(build_dir, target)
    _fsync_path(versions)
    _fsync_path(build_dir.parent)

    tmp_link = curated_dir / f".{LATEST}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        os.symlink(f"{VERSIONS}/{version_id}", tmp_link)
        os.replace(tmp_link, link)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_link.unlink()
        # Nothing points at the new version yet: undo the move so the build can be
        # retried or inspected where it was.
        with contextlib.suppress(OSError):
            os.rename(target, build_dir)
        raise
    _fsync_path(curated_dir)
    return target


# --------------------------------------------------------------------------- retention


def _remove_tree(curated_dir: Path, path: Path) -> None:
    """Delete via a rename into .trash so a half-deleted tree is never mistaken for data."""
    trash = curated_dir / TRASH
    trash.mkdir(exist_ok=True)
    doomed = trash / f"{path.name}.{secrets.token_hex(4)}"
    os.rename(path, doomed)
    shutil.rmtree(doomed, ignore_errors=True)


def _build_is_live(staging: Path, name: str) -> bool:
    lock_path = staging / f"{name}.lock"
    try:
        fd = os.open(lock_path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def apply_retention(
    curated_dir: Path,
    keep: int = 10,
    *,
    run_started_at: dt.datetime | None = None,
    running: Path | None = None,
) -> list[str]:
    """Keep the newest ``keep`` complete versions (and always ``latest``); return removed ids.

    Also clears ``.trash`` and stray ``latest`` temp links, and, when ``run_started_at``
    is given, removes ``.staging`` entries last modified before it, except ``running``
    and builds whose ``staging_dir`` lock is still held by a live process. Call with
    ``CuratedLock`` held.
    """
    if keep < 1:
        raise ValueError("keep must be at least 1")
    curated_dir = Path(curated_dir)
    removed: list[str] = []
    complete = list_versions(curated_dir)
    latest = latest_version(curated_dir)
    retained = set(complete[-keep:])
    if latest is not None:
        retained.add(latest)
    for version_id in complete:
        if version_id not in retained:
            _remove_tree(curated_dir, curated_dir / VERSIONS / version_id)
            removed.append(version_id)

    for tmp in curated_dir.glob(f".{LATEST}.*.tmp"):
        with contextlib.suppress(OSError):
            tmp.unlink()

    staging = curated_dir / STAGING
    if run_started_at is not None and staging.is_dir():
        cutoff = run_started_at.timestamp()
        keep_path = Path(running).resolve() if running is not None else None
        for entry in sorted(staging.iterdir()):
            if entry.name.endswith(".lock"):
                continue
            if keep_path is not None and entry.resolve() == keep_path:
                continue
            if _build_is_live(staging, entry.name):
                continue
            try:
                if entry.lstat().st_mtime >= cutoff:
                    continue
            except FileNotFoundError:
                continue
            if entry.is_dir() and not entry.is_symlink():
                _remove_tree(curated_dir, entry)
            else:
                entry.unlink(missing_ok=True)
            with contextlib.suppress(FileNotFoundError):
                (staging / f"{entry.name}.lock").unlink()

    trash = curated_dir / TRASH
    if trash.is_dir():
        for leftover in trash.iterdir():
            shutil.rmtree(leftover, ignore_errors=True)
    return removed
