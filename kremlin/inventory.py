"""What is in the landing folder, and which code is about to process it."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import schemas
from schemas.page import PARSER_VERSION
from schemas.tables import SCHEMA_VERSION

_PACKAGE_ROOT = Path(__file__).resolve().parent
_READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class InputFile:
    source_file: str  # relative to RAW_DIR, '/' separated
    path: str  # absolute
    sha256: str
    size_bytes: int
    error: str | None = None  # set when the file could not be read


def _hash_file(path: str) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_READ_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def scan_inputs(raw_dir: Path) -> list[InputFile]:
    """Every regular file below raw_dir, sorted by relative path, with its sha256.

    Nothing is skipped (not even hidden files): every file that lands must end up
    published, duplicate or rejected. Unreadable files are listed with their error.
    """
    raw_dir = Path(raw_dir).resolve()
    if not raw_dir.is_dir():
        raise FileNotFoundError(f"RAW_DIR {raw_dir} is not a directory")
    out = []
    for root, dirs, files in os.walk(raw_dir, followlinks=False):
        dirs.sort()
        for name in files:
            path = os.path.join(root, name)
            rel = Path(path).relative_to(raw_dir).as_posix()
            if not os.path.isfile(path):
                out.append(InputFile(rel, path, hashlib.sha256(b"").hexdigest(), 0, "not a regular file"))
                continue
            try:
                sha, size = _hash_file(path)
            except OSError as exc:
                out.append(InputFile(rel, path, hashlib.sha256(rel.encode()).hexdigest(), 0, str(exc)))
                continue
            out.append(InputFile(rel, path, sha, size))
    out.sort(key=lambda f: f.source_file)
    return out


# The modules whose code decides what a file parses to: they key the parse cache.
_PARSE_MODULES = (
    "kremlin/parser",
    "kremlin/decode.py",
    "kremlin/textnorm.py",
    "kremlin/records.py",
    "kremlin/ids.py",
    "kremlin/instants.py",
    "kremlin/placenorm.py",
    "kremlin/shards.py",
    "kremlin/contract.py",
    "schemas",
)


def _source_files(only: tuple[str, ...] | None = None) -> list[Path]:
    roots = [_PACKAGE_ROOT, Path(schemas.__file__).resolve().parent]
    files = sorted(p for root in roots for p in root.rglob("*.py") if "__pycache__" not in p.parts)
    if only is None:
        return files
    return [p for p in files if any(_rel(p).startswith(prefix) for prefix in only)]


def _rel(path: Path) -> str:
    return path.relative_to(_PACKAGE_ROOT.parent).as_posix()


def _fingerprint(files: list[Path]) -> str:
    h = hashlib.sha256(f"{PARSER_VERSION}|{SCHEMA_VERSION}".encode())
    for path in files:
        h.update(_rel(path).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def parser_fingerprint() -> str:
    """Over the code that turns a file into rows: a change there re-parses every file."""
    return _fingerprint(_source_files(_PARSE_MODULES))


def code_fingerprint() -> str:
    """Over all domain code and contracts: with the input fingerprint it decides whether
    a run would produce anything new."""
    return _fingerprint(_source_files())
