"""The crawler's memory: every id seen, its status and when; validators of list pages.

One SQLite database, ``RAW_DIR/.fetch/state.sqlite3`` (with its ``-wal``/``-shm`` files). Every change is its own committed
transaction, so a run killed at any point leaves the state of its last finished step
(SQLite's journal makes each commit atomic); the next run goes on from there.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

STATE_FILENAME = "state.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pages (
    kremlin_id   INTEGER PRIMARY KEY,
    status       TEXT NOT NULL,
    listed_date  TEXT,
    first_seen   TEXT NOT NULL,
    last_attempt TEXT,
    fetched_at   TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    http_status  INTEGER,
    text_sha256  TEXT,
    error        TEXT
);
CREATE TABLE IF NOT EXISTS resources (
    url           TEXT PRIMARY KEY,
    etag          TEXT,
    last_modified TEXT,
    ids           TEXT NOT NULL DEFAULT '[]',
    http_status   INTEGER,
    checked_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT
);
"""


class PageStatus(StrEnum):
    PENDING = "pending"
    """Listed, not fetched yet."""
    FETCHED = "fetched"
    NOT_FOUND = "not_found"
    """The site answered 404/410: recorded, not asked again unless named with ``--ids``."""
    FAILED = "failed"
    """Retries exhausted (timeouts, 5xx, unreadable page): asked again next run."""
    DISALLOWED = "disallowed"
    """robots.txt forbids it: never requested (re-checked against robots.txt each run)."""


# Ids of these statuses are requested by an ordinary run.
TO_FETCH = (PageStatus.PENDING, PageStatus.FAILED, PageStatus.DISALLOWED)


@dataclass(frozen=True)
class PageRecord:
    kremlin_id: int
    status: PageStatus
    listed_date: dt.date | None
    first_seen: str
    last_attempt: str | None
    fetched_at: str | None
    attempts: int
    http_status: int | None
    text_sha256: str | None
    error: str | None


@dataclass(frozen=True)
class Validators:
    """What a conditional request needs, and what the resource held when last read."""

    etag: str | None
    last_modified: str | None
    ids: tuple[int, ...]


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class FetchState:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # One crawler uses it, one step at a time, possibly from an orchestrator's worker thread.
        self._con = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        # WAL: each commit is one append; a killed process loses no committed step (the
        # OS has the log), and only a power cut could cost the last few.
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute("PRAGMA synchronous=NORMAL")
        self._con.executescript(_SCHEMA)

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> FetchState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # pages -------------------------------------------------------------

    def _row(self, row: tuple) -> PageRecord:
        kid, status, listed, first, last, fetched, attempts, http, sha, err = row
        return PageRecord(
            kid,
            PageStatus(status),
            dt.date.fromisoformat(listed) if listed else None,
            first,
            last,
            fetched,
            attempts,
            http,
            sha,
            err,
        )

    def get(self, kremlin_id: int) -> PageRecord | None:
        row = self._con.execute("SELECT * FROM pages WHERE kremlin_id = ?", (kremlin_id,)).fetchone()
        return self._row(row) if row else None

    def known_ids(self) -> set[int]:
        return {r[0] for r in self._con.execute("SELECT kremlin_id FROM pages")}

    def ids_with(self, statuses: Iterable[PageStatus]) -> list[int]:
        marks = list(statuses)
        q = ",".join("?" * len(marks))
        rows = self._con.execute(
            f"SELECT kremlin_id FROM pages WHERE status IN ({q}) ORDER BY kremlin_id DESC", marks
        )
        return [r[0] for r in rows]

    def ids_since(self, since: dt.date) -> list[int]:
        rows = self._con.execute(
            "SELECT kremlin_id FROM pages WHERE listed_date >= ? ORDER BY kremlin_id DESC",
            (since.isoformat(),),
        )
        return [r[0] for r in rows]

    def counts(self) -> dict[str, int]:
        return dict(self._con.execute("SELECT status, count(*) FROM pages GROUP BY status ORDER BY status"))

    def see(self, kremlin_id: int, listed_date: dt.date | None) -> bool:
        """Record a listed id (pending if new); True if it was not known before."""
        listed = listed_date.isoformat() if listed_date else None
        if self._con.execute("SELECT 1 FROM pages WHERE kremlin_id = ?", (kremlin_id,)).fetchone():
            if listed:
                self._con.execute(
                    "UPDATE pages SET listed_date = ? WHERE kremlin_id = ?", (listed, kremlin_id)
                )
            return False
        self._con.execute(
            "INSERT INTO pages (kremlin_id, status, listed_date, first_seen) VALUES (?, ?, ?, ?)",
            (kremlin_id, PageStatus.PENDING, listed, now_iso()),
        )
        return True

    def record(
        self,
        kremlin_id: int,
        status: PageStatus,
        *,
        attempts: int = 0,
        http_status: int | None = None,
        text_sha256: str | None = None,
        error: str | None = None,
    ) -> None:
        """The outcome of one page (one committed transaction)."""
        now = now_iso()
        fetched_at = now if status is PageStatus.FETCHED else None
        self._con.execute(
            "INSERT INTO pages (kremlin_id, status, first_seen, last_attempt, fetched_at, attempts, "
            "http_status, text_sha256, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (kremlin_id) DO UPDATE SET status = excluded.status, "
            "last_attempt = coalesce(excluded.last_attempt, last_attempt), "
            "fetched_at = coalesce(excluded.fetched_at, fetched_at), "
            "attempts = attempts + excluded.attempts, "
            "http_status = coalesce(excluded.http_status, http_status), "
            "text_sha256 = coalesce(excluded.text_sha256, text_sha256), error = excluded.error",
            (
                kremlin_id,
                status,
                now,
                now if attempts else None,
                fetched_at,
                attempts,
                http_status,
                text_sha256,
                error,
            ),
        )

    # list pages and feed -------------------------------------------------

    def validators(self, url: str) -> Validators | None:
        row = self._con.execute(
            "SELECT etag, last_modified, ids FROM resources WHERE url = ?", (url,)
        ).fetchone()
        if row is None:
            return None
        return Validators(row[0], row[1], tuple(json.loads(row[2])))

    def remember(
        self, url: str, http_status: int, etag: str | None, last_modified: str | None, ids: Iterable[int]
    ) -> None:
        self._con.execute(
            "INSERT OR REPLACE INTO resources (url, etag, last_modified, ids, http_status, checked_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (url, etag, last_modified, json.dumps(list(ids)), http_status, now_iso()),
        )

    def touch(self, url: str, http_status: int) -> None:
        self._con.execute(
            "UPDATE resources SET http_status = ?, checked_at = ? WHERE url = ?",
            (http_status, now_iso(), url),
        )

    # where the walk of the list stopped ---------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str | None) -> None:
        if value is None:
            self._con.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            self._con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
