"""The landing-folder scan's bookkeeping: display names, the hash cache, what is left out."""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from kremlin import inventory
from kremlin.inventory import HashCache, scan_inputs
from kremlin.layout import RAW_STATE_DIRS
from tests.conftest import ROOT


@pytest.mark.parametrize(
    "raw, shown, keeps_hex",
    [
        (b"plain.txt", "plain.txt", False),
        ("Путин_встреча.txt".encode(), "Путин_встреча.txt", False),
        (b"bad\xff.txt", "bad\\xff.txt", True),
        (b"new\nline\t.txt", "new\\nline\\t.txt", True),
        (b"bell\x07.txt", "bell\\x07.txt", True),
        ("zero\u200bwidth.txt".encode(), "zero\\u200bwidth.txt", True),
        # A backslash always starts an escape, so a name spelled like another's escape differs.
        (b"back\\slash.txt", "back\\\\slash.txt", True),
        (b"bad\\xff.txt", "bad\\\\xff.txt", True),
        ("c1\x80.txt".encode(), "c1\\u0080.txt", True),
        (b"c1\x80.txt", "c1\\x80.txt", True),
        ("astral\U000e0001.txt".encode(), "astral\\U000e0001.txt", True),
    ],
)
def test_entry_names_are_printable_and_lossless(raw, shown, keeps_hex):
    entry = inventory._entry(raw, "/x", sha256=None, size_bytes=0)
    assert entry.source_file == shown
    assert (entry.name_hex is not None) == keeps_hex
    assert entry.raw_name == raw


def test_shown_names_are_one_to_one() -> None:
    """``source_file`` is the key of source_files: two names never show alike (two that did
    blocked the release on source_files.source_file.unique)."""
    rng = random.Random(7)
    alphabet = [b"a", b"\\", b"x", b"f", b"u", b"0", b"\xff", b"\x80", b"\n", "\u200b".encode(), "é".encode()]
    names = {b"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))) for _ in range(20000)}
    shown = {inventory.display_name(n) for n in names}
    assert len(shown) == len(names)
    assert all(s.isprintable() for s in shown)


def _old_files(raw: Path, names: list[bytes]) -> None:
    raw.mkdir()
    old = time.time_ns() - 10_000_000_000  # out of the racy window: hashes are remembered
    for k, name in enumerate(names):
        path = os.path.join(os.fsencode(raw), name)
        with open(path, "wb") as fh:
            fh.write(b"page %d\n" % k * (k + 1))
        os.utime(path, ns=(old, old))


def test_hash_cache_round_trip_keeps_every_column(tmp_path):
    raw, cache = tmp_path / "raw", tmp_path / "hashes.parquet"
    names = [b"a.txt", b"b\xff.txt", "в.txt".encode()]
    _old_files(raw, names)
    files = scan_inputs(raw, hash_cache=cache)
    remembered = HashCache(cache)._old
    expected = {}
    for name in names:
        path = os.path.join(os.fsencode(raw), name)
        st = os.lstat(path)
        with open(path, "rb") as fh:
            sha = hashlib.sha256(fh.read()).hexdigest()
        expected[name] = ((st.st_size, st.st_mtime_ns, st.st_ino), sha)
    assert remembered == expected
    assert {f.raw_name: f.sha256 for f in files} == {n: sha for n, (_, sha) in expected.items()}


def test_hash_cache_misses_when_size_mtime_or_inode_differ(tmp_path):
    raw, cache = tmp_path / "raw", tmp_path / "hashes.parquet"
    _old_files(raw, [b"a.txt"])
    scan_inputs(raw, hash_cache=cache)
    hc = HashCache(cache)
    st = os.lstat(raw / "a.txt")
    assert hc.lookup(b"a.txt", st) is not None
    for field in ("st_size", "st_mtime_ns", "st_ino"):
        changed = {f: getattr(st, f) for f in ("st_size", "st_mtime_ns", "st_ino")}
        changed[field] += 1
        assert hc.lookup(b"a.txt", _Stat(**changed)) is None, field
    assert hc.lookup(b"other.txt", st) is None


class _Stat:
    def __init__(self, st_size: int, st_mtime_ns: int, st_ino: int) -> None:
        self.st_size, self.st_mtime_ns, self.st_ino = st_size, st_mtime_ns, st_ino


@pytest.mark.parametrize("damage", [b"", b"not parquet at all", b"PAR1\x00\x00PAR1"])
def test_a_damaged_hash_cache_only_costs_a_rehash(tmp_path, damage):
    raw, cache = tmp_path / "raw", tmp_path / "hashes.parquet"
    _old_files(raw, [b"a.txt", b"b.txt"])
    first = {f.source_file: f.sha256 for f in scan_inputs(raw, hash_cache=cache)}
    cache.write_bytes(damage)
    assert HashCache(cache)._old == {}
    assert {f.source_file: f.sha256 for f in scan_inputs(raw, hash_cache=cache)} == first
    assert len(HashCache(cache)._old) == 2, "the cache is written again"


def test_state_folders_are_left_out_and_hidden_files_are_not(tmp_path):
    raw = tmp_path / "raw"
    _old_files(raw, [b"a.txt", b".hidden.txt"])
    for name in RAW_STATE_DIRS:
        (raw / name).mkdir()
    (raw / "sub").mkdir()
    seen = {f.source_file: f for f in scan_inputs(raw)}
    assert set(seen) == {"a.txt", ".hidden.txt", "sub"}
    assert seen["sub"].reject is not None and seen["sub"].reject.reason == "not_a_regular_file"


def _make_file(path: Path) -> None:
    path.write_text("Events\nnot the fetcher's state\n", encoding="utf-8")


def _make_dir_link(path: Path) -> None:
    (path.parent / "elsewhere").mkdir()
    path.symlink_to("elsewhere")


# how to make an entry named like a state directory -> the reject reason of its row (None:
# read, the parse decides), or "left out" for the fetcher's own directory.
STATE_NAMED: dict[str, tuple[Callable[[Path], object], str | None]] = {
    "directory": (Path.mkdir, "left out"),
    "regular file": (_make_file, None),
    "empty file": (Path.touch, None),
    "link to a directory": (_make_dir_link, "not_a_regular_file"),
    "dangling link": (lambda path: path.symlink_to("nowhere"), "broken_link"),
    "FIFO": (os.mkfifo, "not_a_regular_file"),
}


@pytest.mark.parametrize("state_name", sorted(RAW_STATE_DIRS))
@pytest.mark.parametrize("kind", STATE_NAMED)
def test_only_a_directory_named_like_the_fetchers_state_is_left_out(tmp_path, kind, state_name):
    raw = tmp_path / "raw"
    _old_files(raw, [b"a.txt"])
    make, want = STATE_NAMED[kind]
    make(raw / state_name)
    seen = {f.source_file: f for f in scan_inputs(raw)}
    if want == "left out":
        assert set(seen) == {"a.txt"}
        return
    assert set(seen) - {"elsewhere"} == {"a.txt", state_name}, "the entry has its row"
    entry = seen[state_name]
    assert (entry.reject.reason if entry.reject else None) == want
    if want is None:
        assert entry.readable and entry.sha256 == hashlib.sha256((raw / state_name).read_bytes()).hexdigest()


def test_many_files_are_hashed_in_chunks_in_scan_order(tmp_path):
    raw = tmp_path / "raw"
    names = [f"{k:04d}.txt".encode() for k in range(3 * inventory._HASH_CHUNK + 5)]
    _old_files(raw, names)
    files = scan_inputs(raw)
    assert [f.raw_name for f in files] == sorted(names)
    for f in files:
        assert f.sha256 == hashlib.sha256(Path(f.path).read_bytes()).hexdigest()


def test_the_scan_imports_neither_pandas_nor_pyarrow_dataset(tmp_path):
    raw, cache = tmp_path / "raw", tmp_path / "hashes.parquet"
    _old_files(raw, [b"a.txt", b"b.txt"])
    code = (
        "import sys; from pathlib import Path; from kremlin.inventory import scan_inputs\n"
        f"scan_inputs(Path({str(raw)!r}), hash_cache=Path({str(cache)!r}))\n"  # writes the cache
        f"scan_inputs(Path({str(raw)!r}), hash_cache=Path({str(cache)!r}))\n"  # reads it
        "for name in ('pandas', 'pyarrow.dataset'):\n"
        "    assert name not in sys.modules, name\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert cache.is_file()
