"""Copies of one page: which file is published, and what a copy that fails a row check costs.

A copy that fails a row-level check is rejected with the check's reason, and the page's
next copy with other bytes is checked in its place: one bad copy never takes a good copy
of the same page with it. Among copies, one whose file name names the page (the fetcher's
``<id>.txt`` or the delivered ``_<sha256(url)[:16]>.txt``) is published before others.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from kremlin.build import build_database
from kremlin.ids import source_url
from kremlin.quality import check_staged
from tests.pagekit import dialogue_page
from tests.runkit import parse_and_build, publish_run

TODAY = dt.date(2026, 12, 1)
SITE_ID = 61234
RANGE = "quality:documents.event_date.range"


def _copy(
    date: str = "May 5, 2016", title: str = "Meeting with Governor Ivan Petrov", style: str = "page"
) -> str:
    """A page-style copy of the page SITE_ID (its Direct link line names it)."""
    year = date.rsplit(" ", 1)[1]
    return dialogue_page(title, date, "12:00", f"May 5, {year}, 12:30", style=style, kremlin_id=SITE_ID)


GOOD = _copy()
FUTURE = _copy(date="May 5, 2199")  # fails documents.event_date.range
PAST = _copy(date="May 5, 1899")  # the same check, another value
DELIVERED = f"00007_{hashlib.sha256(source_url(SITE_ID).encode()).hexdigest()[:16]}.txt"

# files → {file: (status, reject_reason, duplicate_of)}
CASES: dict[str, tuple[dict[str, str], dict[str, tuple[str, str | None, str | None]]]] = {
    "a failing copy that sorts first gives way to the good one": (
        {"a.txt": FUTURE, "b.txt": GOOD},
        {"a.txt": ("rejected", RANGE, None), "b.txt": ("published", None, None)},
    ),
    # Only the copy published is checked: a duplicate's rows are never published.
    "the good copy first: the other copy is its duplicate": (
        {"a.txt": GOOD, "b.txt": FUTURE},
        {"a.txt": ("published", None, None), "b.txt": ("duplicate", None, "a.txt")},
    ),
    "two failing copies before the good one": (
        {"a.txt": FUTURE, "b.txt": PAST, "c.txt": GOOD, "d.txt": GOOD},
        {
            "a.txt": ("rejected", RANGE, None),
            "b.txt": ("rejected", RANGE, None),
            "c.txt": ("published", None, None),
            "d.txt": ("duplicate", None, "c.txt"),
        },
    ),
    "a file with the failing copy's bytes is rejected with it": (
        {"a.txt": FUTURE, "a2.txt": FUTURE, "b.txt": GOOD},
        {
            "a.txt": ("rejected", RANGE, None),
            "a2.txt": ("rejected", RANGE, None),
            "b.txt": ("published", None, None),
        },
    ),
    "no copy passes: every copy rejected with its own reason": (
        {"a.txt": FUTURE, "b.txt": PAST},
        {"a.txt": ("rejected", RANGE, None), "b.txt": ("rejected", RANGE, None)},
    ),
    "a copy named by the fetcher's layout is published before an arbitrary name": (
        {"0000_first.txt": GOOD.replace("Ivan Petrov", "Ivan  Petrov"), f"{SITE_ID}.txt": GOOD},
        {
            "0000_first.txt": ("duplicate", None, f"{SITE_ID}.txt"),
            f"{SITE_ID}.txt": ("published", None, None),
        },
    ),
    "a copy named by the delivered layout is published before an arbitrary name": (
        {"00000_fake.txt": GOOD + " ", DELIVERED: GOOD},
        {"00000_fake.txt": ("duplicate", None, DELIVERED), DELIVERED: ("published", None, None)},
    ),
    "a page-style copy still comes before a screen-style one that names the page": (
        {"x.txt": GOOD, DELIVERED: _copy(style="screen")},
        {"x.txt": ("published", None, None), DELIVERED: ("duplicate", None, "x.txt")},
    ),
}


def _build(tmp_path: Path, files: dict[str, str]) -> tuple[dict[str, tuple], list[tuple]]:
    raw = tmp_path / "raw"
    raw.mkdir()
    for name, text in files.items():
        (raw / name).write_text(text, encoding="utf-8")
    built = parse_and_build(raw, tmp_path / "work")
    db = tmp_path / "checked.duckdb"
    build_database(
        db, built.plan.inputs, built.plan.cache_dir, row_checker=lambda con: check_staged(con, today=TODAY)
    )
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = {
            r[0]: r[1:]
            for r in con.execute(
                "SELECT source_file, status, reject_reason, duplicate_of, reject_message, doc_id FROM source_files"
            ).fetchall()
        }
        docs = con.execute("SELECT source_file, event_date FROM documents").fetchall()
    finally:
        con.close()
    return rows, docs


@pytest.mark.parametrize("case", sorted(CASES))
def test_copies_of_a_page(case: str, tmp_path: Path) -> None:
    files, want = CASES[case]
    rows, docs = _build(tmp_path, files)
    assert {f: r[:3] for f, r in rows.items()} == want
    published = [f for f, (status, *_) in want.items() if status == "published"]
    assert [d[0] for d in docs] == published
    if published:
        assert docs[0][1] == dt.date(2016, 5, 5), "the published copy's rows, not a failed copy's"


def test_failed_copies_say_why_and_which_bytes(tmp_path: Path) -> None:
    rows, _ = _build(tmp_path, {"a.txt": FUTURE, "a2.txt": FUTURE, "b.txt": PAST, "c.txt": GOOD})
    assert rows["a.txt"][3].startswith("a.txt: documents.event_date.range: event_date = 21990505")
    assert rows["a2.txt"][3].startswith(
        "a2.txt: same bytes as a.txt, quarantined: documents.event_date.range"
    )
    assert rows["b.txt"][3].startswith("b.txt: documents.event_date.range: event_date = 18990505"), (
        "its own value, checked"
    )
    assert rows["a.txt"][4] is None and rows["c.txt"][4] is not None, "a rejected file has no doc_id"


def test_many_failing_copies_cost_two_rounds_of_checks(tmp_path: Path) -> None:
    """All other copies of a page are checked in one round: a page with many failing copies
    costs two runs of the row checks, not one per copy."""
    files = {f"a{k}.txt": _copy(date=f"May {k + 1}, 2199") for k in range(6)} | {"b.txt": GOOD}
    raw = tmp_path / "raw"
    raw.mkdir()
    for name, text in files.items():
        (raw / name).write_text(text, encoding="utf-8")
    built = parse_and_build(raw, tmp_path / "work")
    rounds = []

    def checker(con):
        rounds.append(con.execute("SELECT count(*) FROM staged_documents").fetchone()[0])
        return check_staged(con, today=TODAY)

    db = tmp_path / "checked.duckdb"
    build_database(db, built.plan.inputs, built.plan.cache_dir, row_checker=checker)
    assert rounds == [1, 6], "the first copy, then the six others at once"
    con = duckdb.connect(str(db), read_only=True)
    try:
        got = dict(con.execute("SELECT source_file, status FROM source_files").fetchall())
    finally:
        con.close()
    assert got == {
        **{f"a{k}.txt": "rejected" for k in range(1, 6)},
        "a0.txt": "rejected",
        "b.txt": "published",
    }


def _fingerprint(curated: Path) -> str:
    return json.loads((curated / "latest" / "manifest.json").read_text(encoding="utf-8"))[
        "dataset_fingerprint"
    ]


def test_fallback_incremental_equals_cold(tmp_path: Path) -> None:
    """good copy alone → a failing copy that sorts first lands → a third, good copy lands;
    each version equals a cold build of its folder."""
    raw, curated = tmp_path / "raw", tmp_path / "curated"
    raw.mkdir()
    (raw / "b.txt").write_text(GOOD, encoding="utf-8")
    steps = [("a.txt", FUTURE), ("c.txt", _copy(title="Meeting with Governor Ivan Petrov "))]
    publish_run(raw, curated, today=TODAY)
    for k, (name, text) in enumerate(steps):
        (raw / name).write_text(text, encoding="utf-8")
        summary = publish_run(raw, curated, today=TODAY)
        assert summary["published"] == 1
        cold = tmp_path / f"cold{k}"
        publish_run(raw, cold, today=TODAY)
        assert _fingerprint(curated) == _fingerprint(cold)
