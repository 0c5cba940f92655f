"""kremlin.versions (layout, manifest, atomic publish, retention, lock) and kremlin.diff."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from kremlin import versions as v
from kremlin.contract import columns, ddl
from kremlin.diff import DocumentChange, diff_versions, format_diff
from schemas.tables import SCHEMA_VERSION, TABLES

ROOT = Path(__file__).resolve().parents[1]
UTC = dt.UTC

_DEFAULTS = {
    "VARCHAR": "x",
    "VARCHAR[]": [],
    "BOOLEAN": False,
    "INTEGER": 0,
    "BIGINT": 0,
    "DATE": dt.date(2020, 1, 1),
    "TIME": dt.time(12, 0),
    "TIMESTAMPTZ": dt.datetime(2020, 1, 1, 9, 0, tzinfo=UTC),
}


def _row(table: str, **values: object) -> list[object]:
    """A full row of ``table`` in column order: given values, contract-typed defaults elsewhere."""
    return [values.get(c.name, _DEFAULTS[c.sql_type]) for c in columns(TABLES[table])]


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[list[object]]) -> None:
    if rows:
        marks = ", ".join("?" for _ in rows[0])
        con.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)


def make_db(path: Path, docs: dict[str, dict], *, reverse: bool = False) -> Path:
    """docs: doc_id -> {'title':…, 'paragraphs': [texts], 'turns': [(label, text)], …other document columns}."""
    con = duckdb.connect(str(path))
    for table in TABLES:
        con.execute(ddl(table))
    items = sorted(docs.items(), reverse=reverse)
    documents, paragraphs, utterances = [], [], []
    for doc_id, spec in items:
        extra = {k: val for k, val in spec.items() if k not in ("paragraphs", "turns")}
        paras = spec.get("paragraphs", [])
        turns = spec.get("turns", [])
        documents.append(
            _row("documents", doc_id=doc_id, year=2020, n_paragraphs=len(paras), n_turns=len(turns), **extra)
        )
        paragraphs += [
            _row(
                "paragraphs",
                doc_id=doc_id,
                paragraph_index=i,
                turn_index=None,
                kind="text",
                text=t,
                year=2020,
            )
            for i, t in enumerate(paras)
        ]
        utterances += [
            _row("utterances", doc_id=doc_id, turn_index=i, speaker_label=lab, speaker_kind="person", text=t)
            for i, (lab, t) in enumerate(turns)
        ]
    if reverse:
        paragraphs.reverse()
        utterances.reverse()
    _insert(con, "documents", documents)
    _insert(con, "paragraphs", paragraphs)
    _insert(con, "utterances", utterances)
    _insert(con, "persons", [_row("persons", person_id="p1", name="A B", sort_name="B A", aliases=["A B"])])
    _insert(
        con, "source_files", [_row("source_files", source_file=f"{d}.txt", doc_id=d) for d in sorted(docs)]
    )
    con.close()
    return path


BASE_DOCS = {
    "k01": {"title": "First", "paragraphs": ["alpha", "beta"], "turns": [("Putin", "alpha")]},
    "k02": {"title": "Second", "paragraphs": ["gamma"]},
}


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_db(tmp_path_factory.mktemp("tpl") / v.DB_FILENAME, BASE_DOCS)


def vid(i: int) -> str:
    return v.make_version_id(dt.datetime(2026, 11, 28, 14, 35, i, tzinfo=UTC), f"{i:08x}" + "0" * 56)


def make_build(curated: Path, version_id: str, parent: str | None, db: Path) -> Path:
    build = curated / v.STAGING / f"build-{version_id}"
    build.mkdir(parents=True)
    shutil.copy(db, build / v.DB_FILENAME)
    (build / "parquet").mkdir()
    (build / "README.md").write_text("card\n")
    manifest = v.build_manifest(
        version_id=version_id,
        created_at=dt.datetime(2026, 11, 28, 14, 35, tzinfo=UTC),
        parent=parent,
        code_version=v.code_version(parser_version="test"),
        input_fingerprint="0" * 64,
        schema_version=SCHEMA_VERSION,
        row_counts={"documents": 2},
        quality={"passed": True},
        lineage={"raw_dir": "raw"},
        dataset_fingerprint=v.dataset_fingerprint(db),
    )
    v.write_manifest(build, manifest)
    return build


def publish(curated: Path, i: int, db: Path) -> str:
    version_id = vid(i)
    build = make_build(curated, version_id, v.latest_version(curated), db)
    with v.CuratedLock(curated):
        v.publish_version(curated, build, version_id)
    return version_id


def assert_latest_readable(curated: Path) -> str:
    latest = v.latest_version(curated)
    assert latest is not None
    assert os.readlink(curated / v.LATEST) == f"versions/{latest}"
    con = duckdb.connect(str(curated / v.LATEST / v.DB_FILENAME), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM documents").fetchone() == (2,)
    finally:
        con.close()
    manifest = v.read_manifest(curated)
    assert manifest is not None and manifest["version_id"] == latest
    return latest


# --------------------------------------------------------------------------- ids & fingerprints


def test_version_id_is_sortable_and_needs_aware_time() -> None:
    a = v.make_version_id(dt.datetime(2026, 11, 28, 14, 35, 1, tzinfo=UTC), "abcdef0123" + "0" * 54)
    assert a == "20261128T143501Z-abcdef01"
    moscow = dt.timezone(dt.timedelta(hours=3))
    b = v.make_version_id(dt.datetime(2026, 11, 28, 18, 35, 2, tzinfo=moscow), "00" * 32)
    assert b == "20261128T153502Z-00000000" and a < b
    assert v.is_version_id(a) and not v.is_version_id("latest")
    with pytest.raises(ValueError):
        v.make_version_id(dt.datetime(2026, 11, 28), "00" * 32)


def test_input_fingerprint_is_order_independent() -> None:
    files = [("a/1.txt", "11" * 32), ("b/2.txt", "22" * 32), ("3.txt", "33" * 32)]
    assert v.input_fingerprint(files) == v.input_fingerprint(reversed(files))
    assert v.input_fingerprint(files) != v.input_fingerprint(files[:2])
    assert v.input_fingerprint(files) != v.input_fingerprint([("a/1.txt", "12" * 32), *files[1:]])
    assert len(v.input_fingerprint([])) == 64


def test_dataset_fingerprint(tmp_path: Path) -> None:
    a = make_db(tmp_path / "a.duckdb", BASE_DOCS)
    b = make_db(tmp_path / "b.duckdb", BASE_DOCS, reverse=True)
    assert v.dataset_fingerprint(a) == v.dataset_fingerprint(b)
    assert v.table_fingerprints(a) == v.table_fingerprints(b)
    changed = {**BASE_DOCS, "k02": {**BASE_DOCS["k02"], "paragraphs": ["gamma!"]}}
    c = make_db(tmp_path / "c.duckdb", changed)
    assert v.dataset_fingerprint(a) != v.dataset_fingerprint(c)
    diff = {t for t, h in v.table_fingerprints(c).items() if v.table_fingerprints(a)[t] != h}
    assert diff == {"paragraphs"}
    # A NULL is not the empty string.
    con = duckdb.connect(str(b))
    con.execute("UPDATE documents SET summary = '' WHERE doc_id = 'k01'")
    con.close()
    assert v.dataset_fingerprint(a) != v.dataset_fingerprint(b)


def test_code_version_and_manifest(tmp_path: Path) -> None:
    info = v.code_version(parser_version="p1")
    assert info["package"] == "kremlin-dataset" and info["version"]
    assert info["parser_version"] == "p1"
    assert info["git_commit"] is None or len(info["git_commit"]) == 40
    manifest = v.build_manifest(
        version_id=vid(1),
        created_at=dt.datetime(2026, 11, 28, 14, 35, 1, tzinfo=UTC),
        parent=None,
        code_version=info,
        input_fingerprint="0" * 64,
        schema_version=SCHEMA_VERSION,
        row_counts={"documents": 2},
        quality={},
        lineage={},
        dataset_fingerprint="1" * 64,
    )
    assert manifest["created_at"] == "2026-11-28T14:35:01Z"
    v.write_manifest(tmp_path, manifest)
    assert json.loads((tmp_path / "manifest.json").read_text()) == manifest
    with pytest.raises(ValueError):
        v.build_manifest(**{**manifest_kwargs(), "version_id": "nope"})


def manifest_kwargs() -> dict:
    return {
        "version_id": vid(1),
        "created_at": dt.datetime(2026, 11, 28, tzinfo=UTC),
        "parent": None,
        "code_version": {},
        "input_fingerprint": "0" * 64,
        "schema_version": SCHEMA_VERSION,
        "row_counts": {},
        "quality": {},
        "lineage": {},
        "dataset_fingerprint": "0" * 64,
    }


# --------------------------------------------------------------------------- publish & retention


def test_publish_two_versions(tmp_path: Path, template_db: Path) -> None:
    curated = tmp_path / "curated"
    assert v.latest_version(curated) is None and v.read_manifest(curated) is None
    assert v.list_versions(curated) == []
    first = publish(curated, 1, template_db)
    second = publish(curated, 2, template_db)
    assert os.readlink(curated / "latest") == f"versions/{second}"  # relative
    assert v.latest_version(curated) == second
    assert v.list_versions(curated) == [first, second]
    assert v.read_manifest(curated)["parent"] == first
    assert v.read_manifest(curated, first)["parent"] is None
    assert v.read_manifest(curated, "20000101T000000Z-00000000") is None
    assert not list((curated / v.STAGING).iterdir())
    assert sorted(p.name for p in (curated / "versions" / second).iterdir()) == [
        "README.md",
        "kremlin.duckdb",
        "manifest.json",
        "parquet",
    ]
    assert_latest_readable(curated)
    # The same id cannot be published twice, and incomplete builds are refused.
    build = make_build(curated, vid(3), second, template_db)
    with pytest.raises(FileExistsError):
        v.publish_version(curated, build, second)
    (build / v.MANIFEST_FILENAME).unlink()
    with pytest.raises(ValueError):
        v.publish_version(curated, build, vid(3))


def test_failed_switch_leaves_previous_latest(
    tmp_path: Path, template_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    curated = tmp_path / "curated"
    first = publish(curated, 1, template_db)
    build = make_build(curated, vid(2), first, template_db)

    def boom(src: object, dst: object) -> None:
        raise OSError("simulated crash between move and switch")

    monkeypatch.setattr(v.os, "replace", boom)
    with pytest.raises(OSError, match="simulated"):
        v.publish_version(curated, build, vid(2))
    monkeypatch.undo()
    assert assert_latest_readable(curated) == first
    assert v.list_versions(curated) == [first]
    assert (build / v.DB_FILENAME).is_file()  # moved back, can be retried
    assert not list(curated.glob(".latest.*"))
    v.publish_version(curated, build, vid(2))
    assert assert_latest_readable(curated) == vid(2)


_KILL_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from kremlin import versions as v

    curated, build, version_id, kill_after, nth = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
    real = getattr(os, kill_after)
    calls = 0

    def wrapped(*args, **kwargs):
        global calls
        result = real(*args, **kwargs)
        calls += 1
        if calls == nth:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(os, kill_after, wrapped)
    v.publish_version(curated, build, version_id)
    print("survived")
    """
)


@pytest.mark.parametrize(
    ("kill_after", "nth", "expect_new"),
    [
        ("fsync", 1, False),  # flushing the build, before the move
        ("rename", 1, False),  # moved into versions/, latest not switched yet
        ("symlink", 1, False),  # temp link made, not switched
        ("replace", 1, True),  # switched, before the final directory fsync
    ],
)
def test_publish_killed_at_each_step(
    tmp_path: Path, template_db: Path, kill_after: str, nth: int, expect_new: bool
) -> None:
    curated = tmp_path / "curated"
    first = publish(curated, 1, template_db)
    build = make_build(curated, vid(2), first, template_db)
    proc = subprocess.run(
        [sys.executable, "-c", _KILL_SCRIPT, str(curated), str(build), vid(2), kill_after, str(nth)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    latest = assert_latest_readable(curated)
    assert latest == (vid(2) if expect_new else first)
    # A later run cleans up whatever the killed one left and can publish again.
    with v.CuratedLock(curated, wait=False):
        v.apply_retention(curated, keep=10, run_started_at=dt.datetime.now(UTC) + dt.timedelta(seconds=1))
    assert not list(curated.glob(".latest.*"))
    assert not (curated / v.STAGING).exists() or not list((curated / v.STAGING).iterdir())
    publish(curated, 3, template_db)
    assert assert_latest_readable(curated) == vid(3)


def test_publish_loop_killed_at_random_moment(tmp_path: Path, template_db: Path) -> None:
    curated = tmp_path / "curated"
    publish(curated, 0, template_db)
    script = textwrap.dedent(
        f"""
        import datetime as dt, shutil, sys
        from pathlib import Path
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_versions import make_build, vid
        from kremlin import versions as v
        curated = Path({str(curated)!r})
        print("ready", flush=True)
        for i in range(1, 50):
            build = make_build(curated, vid(i), v.latest_version(curated), Path({str(template_db)!r}))
            with v.CuratedLock(curated):
                v.publish_version(curated, build, vid(i))
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(0.4)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert_latest_readable(curated)
    for version_id in v.list_versions(curated):
        assert (curated / "versions" / version_id / v.DB_FILENAME).is_file()


def test_retention_keeps_n_and_latest(tmp_path: Path, template_db: Path) -> None:
    curated = tmp_path / "curated"
    ids = [publish(curated, i, template_db) for i in range(1, 6)]
    with v.CuratedLock(curated):
        assert v.apply_retention(curated, keep=2) == ids[:3]
    assert v.list_versions(curated) == ids[3:]
    assert not (curated / "versions" / ids[0]).exists()
    # Point latest at the older survivor (a rollback): retention must not remove it.
    tmp = curated / ".latest.rollback.tmp"
    os.symlink(f"versions/{ids[3]}", tmp)
    os.replace(tmp, curated / "latest")
    publish(curated, 6, template_db)  # latest -> 6, parent 4
    os.symlink(f"versions/{ids[3]}", tmp)
    os.replace(tmp, curated / "latest")
    assert v.apply_retention(curated, keep=1) == [ids[4]]
    assert v.list_versions(curated) == [ids[3], vid(6)]
    assert_latest_readable(curated)
    with pytest.raises(ValueError):
        v.apply_retention(curated, keep=0)


def test_retention_cleans_stale_staging_only(tmp_path: Path, template_db: Path) -> None:
    curated = tmp_path / "curated"
    publish(curated, 1, template_db)
    staging = curated / v.STAGING
    stale = staging / "crashed-run"
    (stale / "parquet").mkdir(parents=True)
    (stale / v.DB_FILENAME).write_bytes(b"partial")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    running = staging / "this-run"
    running.mkdir()
    os.utime(running, (old, old))
    started = dt.datetime.now(UTC) - dt.timedelta(minutes=5)
    newer = staging / "other-run-started-later"
    newer.mkdir()
    with v.staging_dir(curated, "live-old-run") as live:
        os.utime(live, (old, old))
        with pytest.raises(v.LockBusyError), v.staging_dir(curated, "live-old-run"):
            pass
        assert (staging / "live-old-run.lock").exists()
        assert v.apply_retention(curated, keep=5, run_started_at=started, running=running) == []
        assert not stale.exists()
        assert running.is_dir() and newer.is_dir() and live.is_dir()
    # Once its process is done, the old run's leftovers are stale too.
    v.apply_retention(curated, keep=5, run_started_at=started, running=running)
    assert not live.exists() and running.is_dir()
    # Without run_started_at nothing in .staging is touched.
    v.apply_retention(curated, keep=5)
    assert running.is_dir() and newer.is_dir()
    assert not (curated / v.TRASH).exists() or not list((curated / v.TRASH).iterdir())


# --------------------------------------------------------------------------- lock


def test_lock_is_exclusive_within_process_and_across(tmp_path: Path) -> None:
    curated = tmp_path / "curated"
    with v.CuratedLock(curated) as held:
        assert held.held
        with pytest.raises(v.LockBusyError, match="locked by another process"):
            v.CuratedLock(curated, wait=False).acquire()
        t0 = time.monotonic()
        with pytest.raises(v.LockBusyError), v.CuratedLock(curated, timeout=0.2):
            pass
        assert time.monotonic() - t0 >= 0.2
        script = textwrap.dedent(
            f"""
            from pathlib import Path
            from kremlin.versions import CuratedLock, LockBusyError
            try:
                with CuratedLock(Path({str(curated)!r}), wait=False):
                    print("acquired")
            except LockBusyError as exc:
                print("busy:", exc)
            """
        )
        out = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
        )
        assert out.stdout.startswith("busy:") and f"pid {os.getpid()}" in out.stdout
    # Released: a waiting thread gets it.
    got: list[bool] = []

    def take() -> None:
        with v.CuratedLock(curated, timeout=5):
            got.append(True)

    thread = threading.Thread(target=take)
    thread.start()
    thread.join(10)
    assert got == [True]


def test_lock_waits_for_holder(tmp_path: Path) -> None:
    curated = tmp_path / "curated"
    first = v.CuratedLock(curated)
    first.acquire()
    timer = threading.Timer(0.2, first.release)
    timer.start()
    with v.CuratedLock(curated, wait=True, timeout=10) as second:
        assert second.held
    timer.join()
    assert not first.held


# --------------------------------------------------------------------------- diff


def test_diff_versions(tmp_path: Path) -> None:
    curated = tmp_path / "curated"
    old_docs = {
        "k01": {"title": "Unchanged", "paragraphs": ["a", "b"], "turns": [("Putin", "a")]},
        "k02": {"title": "Old title", "paragraphs": ["c"]},
        "k03": {"title": "Edited paragraph", "paragraphs": ["d", "e"]},
        "k04": {"title": "Removed", "paragraphs": ["f"]},
    }
    new_docs = {
        "k01": {**old_docs["k01"], "source_file": "moved/k01.txt", "content_sha256": "other"},
        "k02": {**old_docs["k02"], "title": "New title"},
        "k03": {**old_docs["k03"], "paragraphs": ["d", "e, edited"]},
        "k05": {"title": "Added", "paragraphs": ["g"]},
    }
    old_db = make_db(tmp_path / "old.duckdb", old_docs)
    new_db = make_db(tmp_path / "new.duckdb", new_docs, reverse=True)
    publish(curated, 1, old_db)
    version_new = vid(2)
    build = make_build(curated, version_new, vid(1), new_db)
    v.publish_version(curated, build, version_new)

    changes = diff_versions(curated, vid(1), version_new)
    assert changes == [
        DocumentChange("k02", "New title", "changed", ["title"]),
        DocumentChange("k03", "Edited paragraph", "changed", ["paragraphs"]),
        DocumentChange("k04", "Removed", "removed", []),
        DocumentChange("k05", "Added", "added", []),
    ]
    text = format_diff(changes)
    assert "~ k02  New title  [title]" in text
    assert "+ k05" in text and "- k04" in text
    assert text.splitlines()[-1] == "1 added, 1 removed, 2 changed"
    assert diff_versions(curated, version_new, version_new) == []
    assert format_diff([]) == "no changes"
    # Reversed direction swaps added and removed.
    back = {c.doc_id: c.change for c in diff_versions(curated, version_new, vid(1))}
    assert back == {"k02": "changed", "k03": "changed", "k04": "added", "k05": "removed"}


@pytest.mark.parametrize(
    "strings",
    [
        pa.array(["ab", "", "cé", "d"]),
        pa.array(["ab", "", "cé", "d"]).slice(1, 2),  # a slice: offsets start past 0
        pa.array(["ab", "cd", "ef"]).slice(2),
        pa.array(["a"] * 7),  # an odd number of 4-byte offsets
        pa.array(["ab", "c"], pa.large_string()).slice(1),
        pa.array([], pa.string()),
    ],
)
def test_concatenated_utf8_is_the_values_joined(strings: pa.Array) -> None:
    # The fingerprint reads an Arrow column's data buffer instead of its Python strings.
    assert bytes(v._concatenated_utf8(strings)) == "".join(strings.to_pylist()).encode()
