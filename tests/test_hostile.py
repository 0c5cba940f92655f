"""Hostile landing folders: one bad entry never crashes a run, is never read when it is not a
regular file inside RAW_DIR, is listed once with a reason naming it, and a page with a bad
value is quarantined instead of blocking the release.

Every case runs the pipeline's stages (tests/runkit.publish_run) on a folder with good
pages beside the bad entry; one case goes through the real command (python -m flows.pipeline).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest

from kremlin import runs
from kremlin.inventory import display_name
from tests.conftest import ROOT
from tests.pagekit import PHONE_CALL_PAGE, dialogue_page, make_page
from tests.runkit import _parse, publish_run

TODAY = dt.date(2026, 12, 1)
GOOD = {
    "good_a.txt": dialogue_page(
        "Meeting with Governor Ivan Petrov", "March 3, 2015", "15:40", "March 3, 2015, 15:40"
    ),
    "good_b.txt": PHONE_CALL_PAGE,
}
SECRET = "root:x:0:0:SECRET-OUTSIDE-MARKER:/root:/bin/bash"


def _landing(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    for name, text in GOOD.items():
        (raw / name).write_text(text, encoding="utf-8")
    return raw


def _rows(curated: Path) -> dict[str, tuple]:
    con = duckdb.connect(str(curated / "latest" / "kremlin.duckdb"), read_only=True)
    try:
        return {
            r[0]: r[1:]
            for r in con.execute(
                "SELECT source_file, name_hex, status, reject_reason, reject_stage, reject_message FROM source_files"
            ).fetchall()
        }
    finally:
        con.close()


def _assert_outcome(curated: Path, raw: Path, entry: str, status: str, reason: str | None) -> tuple:
    rows = _rows(curated)
    listed = sorted(display_name(os.fsencode(n)) for n in os.listdir(raw))
    assert sorted(rows) == listed, "every entry is listed exactly once"
    for name in GOOD:
        assert rows[name][1] == "published", rows[name]
    row = rows[entry]
    assert (row[1], row[2]) == (status, reason), row
    if status == "rejected":
        assert row[4] and row[4].startswith(entry + ": "), f"the message names its own entry: {row[4]!r}"
    return row


def _run(raw: Path, curated: Path) -> dict:
    summary = publish_run(raw, curated, today=TODAY)
    assert summary["status"] == "published"
    return summary


def _no_secret_anywhere(curated: Path) -> None:
    for path in curated.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), f"outside content leaked into {path}"
            assert b"SECRET-OUTSIDE-MARKER" not in path.read_bytes(), path


def _fifo_outside(tmp_path: Path) -> Path:
    target = tmp_path / "outside" / "pipe"
    target.parent.mkdir()
    os.mkfifo(target)
    return target


def test_fifo_is_listed_not_opened(tmp_path):
    raw = _landing(tmp_path)
    os.mkfifo(raw / "pipe.txt")
    _run(raw, tmp_path / "cur")
    row = _assert_outcome(tmp_path / "cur", raw, "pipe.txt", "rejected", "not_a_regular_file")
    assert "FIFO" in row[4]


def test_socket_is_listed_not_opened(tmp_path):
    raw = _landing(tmp_path)
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(raw / "s.txt"))
        _run(raw, tmp_path / "cur")
    finally:
        sock.close()
    row = _assert_outcome(tmp_path / "cur", raw, "s.txt", "rejected", "not_a_regular_file")
    assert "socket" in row[4]


def test_directory_named_like_a_page(tmp_path):
    raw = _landing(tmp_path)
    (raw / "folder.txt").mkdir()
    (raw / "folder.txt" / "inside.txt").write_text(GOOD["good_a.txt"], encoding="utf-8")
    _run(raw, tmp_path / "cur")
    row = _assert_outcome(tmp_path / "cur", raw, "folder.txt", "rejected", "not_a_regular_file")
    assert "directory" in row[4] and "not scanned" in row[4]


def test_files_named_like_the_fetchers_state_directories_are_entries(tmp_path):
    """Only the fetcher's own state directories are left out, not whatever takes their name."""
    raw = _landing(tmp_path)
    (raw / ".fetch").write_text(make_page(title="Meeting saved under a state name"), encoding="utf-8")
    (raw / ".html").write_bytes(b"<!DOCTYPE html><html><body><p>Events</p></body></html>")
    _run(raw, tmp_path / "cur")
    _assert_outcome(tmp_path / "cur", raw, ".fetch", "published", None)
    _assert_outcome(tmp_path / "cur", raw, ".html", "rejected", "not_a_page")


def test_symlink_inside_raw_dir_is_read(tmp_path):
    raw = _landing(tmp_path)
    (raw / "link.txt").symlink_to("good_b.txt")
    _run(raw, tmp_path / "cur")
    # The same page twice: the link's copy is a duplicate of the file it points at.
    _assert_outcome(tmp_path / "cur", raw, "link.txt", "duplicate", None)


def test_symlink_outside_is_not_followed(tmp_path):
    raw = _landing(tmp_path)
    # A FIFO as the target: following the link would hang this test.
    (raw / "escape.txt").symlink_to(_fifo_outside(tmp_path))
    secret = tmp_path / "outside" / "passwd"
    secret.write_text(SECRET + "\n", encoding="utf-8")
    (raw / "passwd.txt").symlink_to(secret)
    _run(raw, tmp_path / "cur")
    _assert_outcome(tmp_path / "cur", raw, "escape.txt", "rejected", "outside_landing_folder")
    row = _assert_outcome(tmp_path / "cur", raw, "passwd.txt", "rejected", "outside_landing_folder")
    assert str(secret) not in row[4], "the target's path is not revealed either"
    _no_secret_anywhere(tmp_path / "cur")


def test_hard_link_to_a_file_outside_is_read_but_never_quoted(tmp_path):
    """A hard link is a file of RAW_DIR (nothing tells it from one), so it is read; its
    content must still not reach the release through a reject message."""
    raw = _landing(tmp_path)
    secret = tmp_path / "outside" / "passwd"
    secret.parent.mkdir()
    secret.write_text(SECRET + "\n", encoding="utf-8")
    try:
        os.link(secret, raw / "hardlink.txt")
    except OSError as exc:
        pytest.skip(f"hard links not possible here: {exc}")
    _run(raw, tmp_path / "cur")
    _assert_outcome(tmp_path / "cur", raw, "hardlink.txt", "rejected", "not_a_page")
    _no_secret_anywhere(tmp_path / "cur")


def test_dangling_symlink(tmp_path):
    raw = _landing(tmp_path)
    (raw / "dangling.txt").symlink_to(raw / "nowhere.txt")
    _run(raw, tmp_path / "cur")
    _assert_outcome(tmp_path / "cur", raw, "dangling.txt", "rejected", "broken_link")


def test_name_with_invalid_utf8_bytes_is_kept_losslessly(tmp_path):
    raw = _landing(tmp_path)
    raw_name = b"\xff\xfepage.txt"
    with open(os.path.join(os.fsencode(raw), raw_name), "wb") as fh:
        fh.write(make_page(title="Meeting on a strangely named file").encode())
    _run(raw, tmp_path / "cur")
    shown = display_name(raw_name)
    assert shown == "\\xff\\xfepage.txt"
    row = _assert_outcome(tmp_path / "cur", raw, shown, "published", None)
    assert bytes.fromhex(row[0]) == raw_name
    manifest = json.loads((tmp_path / "cur" / "latest" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["lineage"]["by_status"]["published"] == 3


def test_names_spelled_like_each_others_escapes_are_two_entries(tmp_path):
    """A byte 0xFF in one name and the characters `\\xff` in another (or a real zero-width
    space and its spelling): two rows, both published; shown alike, they blocked the release."""
    raw = _landing(tmp_path)
    names = [b"bad\xff.txt", b"bad\\xff.txt", "zero\u200bwidth.txt".encode(), b"zero\\u200bwidth.txt"]
    for k, name in enumerate(names):
        with open(os.path.join(os.fsencode(raw), name), "wb") as fh:
            fh.write(make_page(title=f"Meeting number {k} on a look-alike name").encode())
    summary = _run(raw, tmp_path / "cur")
    assert summary["published"] == len(GOOD) + len(names)
    for name in names:
        row = _assert_outcome(tmp_path / "cur", raw, display_name(name), "published", None)
        assert bytes.fromhex(row[0]) == name


def test_file_changed_during_the_parse_is_parsed_again_next_run(tmp_path):
    """A file that changes between scan and parse is `unreadable` in that run only: the
    next run that sees the scanned bytes parses them (the failed read is not cached)."""
    raw, curated = _landing(tmp_path), tmp_path / "cur"
    page = make_page(title="Meeting on a file that changes while the run reads it")
    (raw / "x.txt").write_text(page, encoding="utf-8")
    with runs.locked(curated, timeout=60):
        plan = runs.plan_run(raw, curated, runs.scan(raw, curated))
        with open(raw / "x.txt", "a", encoding="utf-8") as fh:
            fh.write("\n")  # a writer appends after the scan
        _parse(plan, 1)
    (scanned,) = [f.sha256 for f in plan.inputs if f.source_file == "x.txt"]
    assert scanned not in runs.cached_shas(plan.cache_dir), "a failed read is not a parse of the bytes"
    (raw / "x.txt").write_text(page, encoding="utf-8")  # the scanned bytes again
    _run(raw, curated)
    _assert_outcome(curated, raw, "x.txt", "published", None)


def test_name_with_newline_and_tab(tmp_path):
    raw = _landing(tmp_path)
    (raw / "bad\nname\t.txt").write_text(
        make_page(title="Meeting on a name with a newline"), encoding="utf-8"
    )
    summary = _run(raw, tmp_path / "cur")
    shown = "bad\\nname\\t.txt"
    row = _assert_outcome(tmp_path / "cur", raw, shown, "published", None)
    assert bytes.fromhex(row[0]) == b"bad\nname\t.txt"
    # No row of the summary tables is broken by the name (the lineage lists it in the manifest).
    for line in runs.summary_markdown(summary).splitlines():
        assert line.startswith("|") and line.endswith("|"), line
    manifest = json.loads((tmp_path / "cur" / "latest" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["lineage"]["by_status"] == {"published": 3}


def test_sparse_2gb_file_is_refused_by_size_unread(tmp_path):
    raw = _landing(tmp_path)
    big = raw / "huge.txt"
    with open(big, "wb") as fh:
        fh.truncate(2 * 1024**3)
    _run(raw, tmp_path / "cur")
    row = _assert_outcome(tmp_path / "cur", raw, "huge.txt", "rejected", "too_large")
    assert "not read" in row[4]


@pytest.mark.parametrize("year", [1899, 2199])
def test_out_of_range_year_is_quarantined_not_blocking(tmp_path, year):
    raw = _landing(tmp_path)
    (raw / "bad_year.txt").write_text(
        make_page(title=f"Meeting in {year}", date=f"May 5, {year}", publication=f"May 5, {year}, 10:00"),
        encoding="utf-8",
    )
    summary = _run(raw, tmp_path / "cur")
    row = _assert_outcome(
        tmp_path / "cur", raw, "bad_year.txt", "rejected", "quality:documents.event_date.range"
    )
    assert row[3] == "quality" and f"{year}05" in row[4], "the observed value is in the message"
    assert summary["quality"] == "PASSED WITH WARNINGS"
    report = (tmp_path / "cur" / "latest" / "quality" / "report.html").read_text(encoding="utf-8")
    assert "bad_year.txt" in report and "documents.event_date.range" in report


def test_missing_date_line(tmp_path):
    raw = _landing(tmp_path)
    text = make_page(title="A page that lost its date line").replace("March 3, 2015\n", "", 1)
    (raw / "no_date.txt").write_text(text, encoding="utf-8")
    _run(raw, tmp_path / "cur")
    _assert_outcome(tmp_path / "cur", raw, "no_date.txt", "rejected", "no_date")


def test_next_day_run_publishes_new_pages_beside_a_quarantined_one(tmp_path):
    raw = _landing(tmp_path)
    (raw / "bad_year.txt").write_text(
        make_page(title="Meeting in 2199", date="May 5, 2199", publication="May 5, 2199, 10:00"),
        encoding="utf-8",
    )
    first = _run(raw, tmp_path / "cur")
    (raw / "next_day.txt").write_text(
        make_page(title="Meeting the next day", date="March 4, 2015", publication="March 4, 2015, 11:00"),
        encoding="utf-8",
    )
    second = _run(raw, tmp_path / "cur")
    assert second["version_id"] != first["version_id"]
    assert second["published"] == first["published"] + 1
    _assert_outcome(tmp_path / "cur", raw, "next_day.txt", "published", None)
    _assert_outcome(tmp_path / "cur", raw, "bad_year.txt", "rejected", "quality:documents.event_date.range")


@pytest.mark.slow
def test_command_exits_0_on_a_hostile_folder_and_leaks_nothing(tmp_path):
    """The real command: every hostile entry at once; exit 0, nothing of the outside target
    in any table, file or log (stdout/stderr)."""
    raw = _landing(tmp_path)
    os.mkfifo(raw / "pipe.txt")
    (raw / "escape.txt").symlink_to(_fifo_outside(tmp_path))
    secret = tmp_path / "outside" / "passwd"
    secret.write_text(SECRET + "\n", encoding="utf-8")
    (raw / "passwd.txt").symlink_to(secret)
    (raw / "dangling.txt").symlink_to(raw / "nowhere.txt")
    (raw / "dir.txt").mkdir()
    with open(os.path.join(os.fsencode(raw), b"\xff\xfe.txt"), "wb") as fh:
        fh.write(b"not a page at all\n")
    (raw / "new\nline.txt").write_text("Events\n", encoding="utf-8")
    (raw / "y1899.txt").write_text(
        make_page(title="Meeting in 1899", date="May 5, 1899", publication="May 5, 1899, 10:00"),
        encoding="utf-8",
    )
    with open(raw / "sparse.txt", "wb") as fh:
        fh.truncate(2 * 1024**3)
    env = {**os.environ, "PREFECT_LOGGING_LEVEL": "INFO"}
    timer = threading.Timer(600, lambda: None)
    timer.start()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "flows.pipeline", "--raw-dir", str(raw), "--curated-dir", str(tmp_path / "cur"),
             "--no-progress", "--editions", "none"],
            cwd=ROOT, capture_output=True, timeout=600, env=env,
        )  # fmt: skip
    finally:
        timer.cancel()
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-3000:]
    assert b"SECRET-OUTSIDE-MARKER" not in proc.stdout + proc.stderr
    _no_secret_anywhere(tmp_path / "cur")
    rows = _rows(tmp_path / "cur")
    assert len(rows) == len(os.listdir(raw))
    assert {r[1] for n, r in rows.items() if n in GOOD} == {"published"}
