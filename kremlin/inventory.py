"""What is in the landing folder, and which code is about to process it.

The landing folder is written by crawlers, people and archive tools, so the scan trusts
nothing in it: every entry is looked at with ``lstat`` before anything is opened, only
regular files inside RAW_DIR are ever read (a symbolic link only when its target resolves
inside RAW_DIR), FIFOs, sockets, devices and directories are never opened, and files are
opened non-blocking and without following links, then checked again with ``fstat``, so
an entry swapped between the look and the read is refused rather than followed. Every
entry that is not read still comes back, with the reason, so the accounting stays
complete. Only the top level is scanned: a sub-folder is an entry of its own (rejected,
``not_a_regular_file``), so files that would silently stay unpublished are listed.

File names are bytes on Linux and need not be UTF-8, nor free of newlines or control
characters. ``source_file`` is a display form that any table, log, JSON or terminal can
hold (undecodable bytes and control characters written as backslash escapes); the raw
name is kept losslessly in ``name_hex`` whenever the two differ, and the input
fingerprint is computed over the raw bytes.
"""

from __future__ import annotations

import array
import ast
import dataclasses
import errno
import functools
import hashlib
import itertools
import os
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

import schemas
from kremlin.decode import MAX_BYTES
from kremlin.layout import RAW_STATE_DIRS
from schemas.page import PARSER_VERSION
from schemas.tables import SCHEMA_VERSION

_PACKAGE_ROOT = Path(__file__).resolve().parent
_REPO_ROOT = _PACKAGE_ROOT.parent
_READ_CHUNK = 1 << 20
_SCAN_THREADS = 8
_HASH_CHUNK = 64
# A file modified this close to the scan may change again within the same mtime tick:
# its hash is not remembered (the "racy git" problem).
_RACY_NS = 2_000_000_000


@dataclass(frozen=True)
class EntryReject:
    """Why an entry of the landing folder was not read."""

    reason: str
    message: str


@dataclass(frozen=True)
class InputFile:
    source_file: str
    """Display name relative to RAW_DIR: printable, any byte that is not UTF-8 text as an escape."""
    path: str
    """Absolute path to open (surrogate-escaped ``str``, as ``os`` returns it)."""
    sha256: str | None
    """sha256 of the bytes; None when the entry was not read."""
    size_bytes: int
    name_hex: str | None = None
    """The raw name bytes in hex, when ``source_file`` is not the name itself."""
    mtime_ns: int = 0
    inode: int = 0
    reject: EntryReject | None = None

    @property
    def raw_name(self) -> bytes:
        return bytes.fromhex(self.name_hex) if self.name_hex else self.source_file.encode()

    @property
    def readable(self) -> bool:
        return self.reject is None and self.sha256 is not None

    @property
    def fingerprint_entry(self) -> tuple[str, str]:
        """(name, content) for the input fingerprint: the raw name losslessly (hex), and the
        sha256, or for an entry not read its reason and size (so a change still shows)."""
        content = self.sha256 or f"{self.reject.reason if self.reject else 'unread'}:{self.size_bytes}"
        return self.raw_name.hex(), content


# --------------------------------------------------------------------------- names


def display_name(raw: bytes) -> str:
    """A printable form of a file name, one-to-one (so ``source_file`` stays a key), and
    lossless with ``name_hex``.

    Valid UTF-8 without control characters or backslashes is kept as it is. Otherwise a
    backslash becomes ``\\\\``, an undecodable byte ``\\xNN`` and a control or invisible
    character ``\\n``, ``\\t``, ``\\r``, ``\\xNN`` (below 0x80), ``\\uNNNN`` or ``\\UNNNNNNNN``: a backslash always starts
    an escape, so no two names show alike (``bad\\xff.txt`` with a byte 0xFF, and the
    same name spelled with a backslash, ``bad\\\\xff.txt``).
    """
    text = raw.decode("utf-8", errors="surrogateescape")
    return text if _shown_as_is(text) else "".join(map(_shown_char, text))


def _shown_as_is(text: str) -> bool:
    # A backslash would read as the start of an escape: it is escaped itself.
    return text.isprintable() and "\\" not in text


_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\\": "\\\\"}


def _shown_char(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape's stand-in for the undecodable byte code - 0xDC00
        return f"\\x{code - 0xDC00:02x}"
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    if ch.isprintable():
        return ch
    # Bytes >= 0x80 are the undecodable ones above, so a character from 0x80 on is \\u or \\U.
    return f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _entry(raw: bytes, path: str, **kw) -> InputFile:
    try:
        plain = raw.decode()
    except UnicodeDecodeError:
        plain = ""
    if plain and _shown_as_is(plain):  # nearly every name: shown as it is, nothing to keep
        return InputFile(plain, path, **kw)
    shown = display_name(raw)
    return InputFile(shown, path, name_hex=None if shown.encode() == raw else raw.hex(), **kw)


# --------------------------------------------------------------------------- hash cache


class HashCache:
    """(raw name, size, mtime_ns, inode) → sha256 of the previous scan, in one Parquet file.

    A file whose size, mtime or inode changed is hashed again; so is one modified within
    two seconds of the scan that recorded it.
    """

    SCHEMA = pa.schema(
        [
            ("name", pa.binary()),
            ("size", pa.int64()),
            ("mtime_ns", pa.int64()),
            ("inode", pa.int64()),
            ("sha256", pa.string()),
        ]
    )

    def __init__(self, path: Path | None) -> None:
        self.path = path
        # name → ((size, mtime_ns, inode), sha256): plain tuples, built column-wise (one
        # object per file would cost a second per 60,000 files before the scan even starts).
        self._old: dict[bytes, tuple[tuple[int, int, int], str]] = {}
        if path is not None and path.is_file():
            try:
                # ParquetFile, not read_table: the latter imports pyarrow's dataset layer
                # (over a second) to read one small file.
                cols = pq.ParquetFile(path).read(columns=self.SCHEMA.names).to_pydict()
                keys = zip(cols["size"], cols["mtime_ns"], cols["inode"], strict=True)
                self._old = dict(zip(cols["name"], zip(keys, cols["sha256"], strict=True), strict=True))
            except (OSError, KeyError, ValueError, pa.ArrowException):
                self._old = {}  # a damaged cache only costs a re-hash
        self.hits = 0

    def lookup(self, name: bytes, st: os.stat_result) -> str | None:
        seen = self._old.get(name)
        if seen and seen[0] == (st.st_size, st.st_mtime_ns, st.st_ino):
            self.hits += 1
            return seen[1]
        return None

    def save(self, files: list[InputFile], scan_started_ns: int) -> None:
        if self.path is None:
            return
        if self.hits == len(self._old) == sum(f.readable for f in files):
            return  # every remembered hash was used and nothing is new: the file is current
        keep = [
            f
            for f in files
            if f.readable and f.mtime_ns < scan_started_ns - _RACY_NS and f.sha256 is not None
        ]
        # Arrays from buffers: converting Python lists makes pyarrow import pandas (half a
        # second), which nothing else in the precheck needs.
        table = pa.Table.from_arrays(
            [
                _bytes_array(pa.binary(), [f.raw_name for f in keep]),
                _int64_array([f.size_bytes for f in keep]),
                _int64_array([f.mtime_ns for f in keep]),
                _int64_array([f.inode for f in keep]),
                _bytes_array(pa.string(), [(f.sha256 or "").encode() for f in keep]),
            ],
            schema=self.SCHEMA,
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, self.path)


def _int64_array(values: list[int]) -> pa.Array:
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(array.array("q", values))])


def _bytes_array(kind: pa.DataType, values: list[bytes]) -> pa.Array:
    """A binary or (UTF-8 ``values``) string array: 32-bit offsets, then the bytes."""
    offsets = array.array("i", itertools.accumulate(map(len, values), initial=0))
    return pa.Array.from_buffers(
        kind, len(values), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(values))]
    )


# --------------------------------------------------------------------------- scanning


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "directory"),
        (stat.S_ISFIFO, "FIFO (named pipe)"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
    ):
        if test(mode):
            return name
    return "special file"


def _hash_fd(fd: int) -> str:
    h = hashlib.sha256()
    while chunk := os.read(fd, _READ_CHUNK):
        h.update(chunk)
    return h.hexdigest()


def _not_read(raw: bytes, path: str, reason: str, message: str, size: int = 0) -> InputFile:
    return _entry(raw, path, sha256=None, size_bytes=size, reject=EntryReject(reason, message))


def _read_entry(raw: bytes, path: str, real: str, seen: os.stat_result, cache: HashCache) -> InputFile:
    """Hash a regular file (``real``: the path to open, a link's resolved target or the entry;
    ``seen``: its ``lstat``). A known (size, mtime, inode) reuses the previous hash unopened."""
    if seen.st_size > MAX_BYTES:
        return _not_read(
            raw,
            path,
            "too_large",
            f"{seen.st_size} bytes is over the {MAX_BYTES} byte limit for one page: not read",
            size=seen.st_size,
        )
    sha = cache.lookup(raw, seen)
    return _entry(
        raw, real, sha256=sha, size_bytes=seen.st_size, mtime_ns=seen.st_mtime_ns, inode=seen.st_ino
    )


def _hashed(entry: InputFile) -> InputFile:
    """The entry with its sha256, read without following links; refused if it changed since ``lstat``."""

    def refuse(reason: str, message: str) -> InputFile:
        return dataclasses.replace(
            entry, reject=EntryReject(reason, message), size_bytes=0, mtime_ns=0, inode=0
        )

    try:
        fd = os.open(entry.path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return refuse("not_a_regular_file", "the entry changed into a link while scanning: not read")
        return refuse("unreadable", f"cannot open: {exc.strerror or exc}")
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_ino != entry.inode or st.st_size > MAX_BYTES:
            return refuse("not_a_regular_file", "the entry changed while scanning: not read")
        return dataclasses.replace(entry, sha256=_hash_fd(fd), size_bytes=st.st_size, mtime_ns=st.st_mtime_ns)
    except OSError as exc:
        return refuse("unreadable", f"read error: {exc.strerror or exc}")
    finally:
        os.close(fd)


class EntryChanged(OSError):
    """The entry is no longer the regular file with the bytes the scan saw."""


def read_entry(path: str, sha256: str) -> bytes:
    """The bytes of a scanned file, opened as the scan opened it (non-blocking, no links
    followed, regular files of at most MAX_BYTES only); raises EntryChanged when they are no
    longer the bytes the scan hashed, so rows are never cached under another file's hash."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_BYTES:
            raise EntryChanged(f"no longer a regular file of at most {MAX_BYTES} bytes")
        chunks = []
        while chunk := os.read(fd, _READ_CHUNK):
            chunks.append(chunk)
            if sum(map(len, chunks)) > MAX_BYTES:
                raise EntryChanged("grew past the size limit while being read")
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise EntryChanged("its bytes changed after the scan")
    return data


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def _scan_entry(raw: bytes, path: str, root_real: str, cache: HashCache) -> InputFile:
    try:
        st = os.lstat(path)
    except OSError as exc:
        return _not_read(raw, path, "unreadable", f"vanished while scanning: {exc.strerror or exc}")
    if stat.S_ISREG(st.st_mode):
        return _read_entry(raw, path, path, st, cache)
    if not stat.S_ISLNK(st.st_mode):
        hint = "; sub-folders are not scanned" if stat.S_ISDIR(st.st_mode) else ""
        return _not_read(
            raw, path, "not_a_regular_file", f"{_kind(st.st_mode)}, not a regular file{hint}: not read"
        )
    try:
        real = os.path.realpath(path, strict=True)
    except FileNotFoundError:
        return _not_read(raw, path, "broken_link", "symbolic link whose target does not exist: not followed")
    except OSError as exc:
        return _not_read(
            raw, path, "broken_link", f"symbolic link that cannot be resolved ({exc.strerror}): not followed"
        )
    # The target's path is not quoted: it lies outside what the dataset may reveal.
    if not _inside(real, root_real):
        return _not_read(
            raw, path, "outside_landing_folder", "symbolic link to a target outside RAW_DIR: not followed"
        )
    try:
        target = os.stat(real, follow_symlinks=False)
    except OSError as exc:
        return _not_read(raw, path, "broken_link", f"symbolic link target vanished: {exc.strerror or exc}")
    if not stat.S_ISREG(target.st_mode):
        return _not_read(
            raw,
            path,
            "not_a_regular_file",
            f"symbolic link to a {_kind(target.st_mode)} in RAW_DIR: not read",
        )
    return _read_entry(raw, path, real, target, cache)


def _is_state_dir(prefix: bytes, name: bytes) -> bool:
    """The entry is one of the fetcher's own state directories: named so, and a directory
    itself (``lstat``), as the fetcher makes them. A file, a link or anything else of that
    name is an entry like any other and gets its row."""
    try:
        return stat.S_ISDIR(os.lstat(prefix + name).st_mode)
    except OSError:
        return False  # vanished: the scan of the entry says so


def scan_inputs(raw_dir: Path, *, hash_cache: Path | None = None) -> list[InputFile]:
    """Every top-level entry of raw_dir (but the fetcher's own state directories), sorted
    by raw name, hashed when it is a readable regular file.

    Nothing else is skipped (not even hidden files, nor a file named like a state
    directory): every entry must end up published, duplicate or rejected. ``hash_cache``
    (a file path) remembers hashes between scans.
    """
    root = os.path.realpath(os.fspath(raw_dir))
    if not os.path.isdir(root):
        raise FileNotFoundError(f"RAW_DIR {raw_dir} is not a directory")
    started = time.time_ns()
    cache = HashCache(hash_cache)
    state_dirs = {name.encode() for name in RAW_STATE_DIRS}
    root_prefix = os.path.join(os.fsencode(root), b"")
    with os.scandir(os.fsencode(root)) as it:
        # Only the two state names are looked at again (os.scandir's d_type is not trusted).
        names = sorted(
            e.name for e in it if e.name not in state_dirs or not _is_state_dir(root_prefix, e.name)
        )
    prefix = os.path.join(root, "")
    # One lstat per entry (os.scandir's d_type is not trusted: the entry may change).
    out = [_scan_entry(raw, prefix + os.fsdecode(raw), root, cache) for raw in names]
    todo = [k for k, f in enumerate(out) if f.reject is None and f.sha256 is None]
    if todo:
        # Reading and hashing release the GIL: threads overlap the many small file reads,
        # a chunk of files per task (one task per file spent more time handing tasks to
        # the threads than reading: 10 s for 60,000 files on two busy cores).
        chunks = [todo[i : i + _HASH_CHUNK] for i in range(0, len(todo), _HASH_CHUNK)]
        with ThreadPoolExecutor(max_workers=_SCAN_THREADS) as pool:
            for ks, hashed in zip(
                chunks, pool.map(lambda ks: [_hashed(out[k]) for k in ks], chunks), strict=True
            ):
                for k, entry in zip(ks, hashed, strict=True):
                    out[k] = entry
    cache.save(out, started)
    return out


# --------------------------------------------------------------------------- code fingerprints


def _module_file(module: str) -> Path | None:
    parts = module.split(".")
    base = _REPO_ROOT.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path, module: str) -> set[str]:
    """Project modules a source file imports (absolute and relative), parent packages included."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_bytes())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            for k in range(1, len(parts) + 1):
                found.add(".".join(parts[:k]))
    return {m for m in found if m.split(".")[0] in ("kremlin", "schemas")}


def _package_data(pkg: Path) -> list[Path]:
    """Data files of a package: its non-Python files and whole data sub-folders (no
    ``__init__.py``); sub-packages and modules count only when imported."""
    out = []
    for p in pkg.iterdir():
        if p.is_file() and p.suffix not in (".py", ".pyc"):
            out.append(p)
        elif p.is_dir() and p.name != "__pycache__" and not (p / "__init__.py").exists():
            out.extend(q for q in p.rglob("*") if q.is_file() and q.suffix != ".pyc")
    return out


def import_closure(*roots: str) -> list[Path]:
    """Source files of the project modules reachable by imports from ``roots``, plus every
    data file (lexicons, models) in the directories of the packages reached."""
    seen: set[str] = set()
    todo = list(roots)
    files: set[Path] = set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        path = _module_file(module)
        if path is None:
            namespace = _REPO_ROOT.joinpath(*module.split("."))
            if namespace.is_dir():  # a package without __init__.py still carries its data
                files.update(_package_data(namespace))
            continue
        files.add(path)
        if path.name == "__init__.py":
            files.update(_package_data(path.parent))
        todo.extend(_imports(path, module) - seen)
    return sorted(files)


def _package_files() -> list[Path]:
    roots = [_PACKAGE_ROOT, Path(schemas.__file__).resolve().parent]
    return sorted(
        p
        for root in roots
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )


def _fingerprint(files: list[Path]) -> str:
    h = hashlib.sha256(f"{PARSER_VERSION}|{SCHEMA_VERSION}".encode())
    for path in files:
        h.update(path.relative_to(_REPO_ROOT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


@functools.cache
def parser_fingerprint() -> str:
    """Over what turns a file into shard rows: every module ``kremlin.shards`` imports,
    directly or not, and the data files of their packages. Derived from the imports, so
    it cannot miss a module the parser starts to use."""
    return _fingerprint(import_closure("kremlin.shards"))


@functools.cache
def code_fingerprint() -> str:
    """Over every file of the domain packages and contracts: with the input fingerprint
    it decides whether a run would produce anything new. Computed once per process: the
    code a process runs is the code it loaded."""
    return _fingerprint(_package_files())
