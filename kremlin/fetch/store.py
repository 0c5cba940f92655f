"""What the fetcher writes into RAW_DIR, and how (atomically: a reader never sees half a file).

    RAW_DIR/<kremlin_id>.txt             the page text (corpus layout, "page" style)
    RAW_DIR/.html/<kremlin_id>.html.gz   the HTML it was rendered from (provenance, re-rendering)
    RAW_DIR/.fetch/state.sqlite3         the crawl state (kremlin.fetch.state)
    RAW_DIR/.fetch/tmp/                  files being written; renamed into place when complete
    RAW_DIR/.fetch/lock                  held by the running fetch

The two sub-folders are named in ``kremlin.layout``; the pipeline's scan leaves them out.
Temporary files live under ``.fetch/tmp`` (same file system as their destination, so
the rename is atomic) rather than beside the page texts, so a run killed mid-write
leaves nothing the scan would take for a page.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import hashlib
import os
import re
import tempfile
from pathlib import Path

from kremlin.fetch.state import STATE_FILENAME
from kremlin.layout import FETCH_HTML_DIR, FETCH_STATE_DIR, FETCHED_TEXT_NAME

_TEXT_NAME = re.compile("^" + re.escape(FETCHED_TEXT_NAME).replace(r"\{\}", r"(\d+)") + "$")
LOCK_FILENAME = "lock"


class FetchLocked(RuntimeError):
    """Another fetch is running on this RAW_DIR."""


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class RawStore:
    def __init__(self, raw_dir: Path) -> None:
        self.raw_dir = Path(raw_dir)
        self.state_dir = self.raw_dir / FETCH_STATE_DIR
        self.html_dir = self.raw_dir / FETCH_HTML_DIR
        self.tmp_dir = self.state_dir / "tmp"

    @property
    def state_path(self) -> Path:
        return self.state_dir / STATE_FILENAME

    def lock(self) -> int:
        """Hold RAW_DIR for one fetch (a file descriptor; closing it releases the lock).

        Two fetches at once would ask the site for the same pages twice; the second
        one stops instead. The lock goes with the process, so a killed run leaves none.
        """
        self.state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.state_dir / LOCK_FILENAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise FetchLocked(f"another fetch is running on {self.raw_dir}") from None
        return fd

    def prepare(self) -> None:
        """Create the folders; drop temporary files a killed run left behind (call under :meth:`lock`)."""
        for d in (self.raw_dir, self.state_dir, self.html_dir, self.tmp_dir):
            d.mkdir(parents=True, exist_ok=True)
        for leftover in self.tmp_dir.iterdir():
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()

    def text_path(self, kremlin_id: int) -> Path:
        return self.raw_dir / FETCHED_TEXT_NAME.format(kremlin_id)

    def html_path(self, kremlin_id: int) -> Path:
        return self.html_dir / f"{kremlin_id}.html.gz"

    def text_ids(self) -> set[int]:
        """Ids that have a page text in RAW_DIR (whoever wrote it)."""
        ids = set()
        with os.scandir(self.raw_dir) as it:
            for entry in it:
                m = _TEXT_NAME.match(entry.name)
                if m and entry.is_file(follow_symlinks=False):
                    ids.add(int(m.group(1)))
        return ids

    def read_text(self, kremlin_id: int) -> str | None:
        try:
            return self.text_path(kremlin_id).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def _write_atomic(self, dest: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.tmp_dir, prefix=dest.name + ".", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, dest)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_dir(dest.parent)

    def write_page(self, kremlin_id: int, html: bytes, text: str) -> None:
        """HTML first, then the text: a text in RAW_DIR always has its HTML beside it."""
        # mtime=0: the same HTML gives the same bytes on every run.
        self._write_atomic(self.html_path(kremlin_id), gzip.compress(html, mtime=0))
        self._write_atomic(self.text_path(kremlin_id), text.encode("utf-8"))
