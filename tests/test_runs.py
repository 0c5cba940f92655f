"""Run planning: the parse cache is keyed on file bytes and parser code; places split."""

from __future__ import annotations

import shutil

import pytest

from kremlin import runs
from kremlin.inventory import scan_inputs
from kremlin.placenorm import PlaceParts, normalise_place
from tests.conftest import SAMPLE_RAW
from tests.pagekit import make_page
from tests.runkit import parse_and_build


@pytest.fixture
def raw(tmp_path):
    d = tmp_path / "raw"
    d.mkdir()
    shutil.copy(SAMPLE_RAW / "000_2db0a70f9af90d4e.txt", d)
    (d / "B.txt").write_text(make_page())
    return d


def test_cached_files_are_not_parsed_again_and_a_renamed_file_reuses_its_parse(raw, tmp_path):
    work = tmp_path / "work"
    first = parse_and_build(raw, work)
    assert first.plan.files_to_parse == 2
    (raw / "B.txt").rename(raw / "B renamed.txt")
    again = runs.plan_run(raw, work, scan_inputs(raw))
    assert again.files_to_parse == 0


def test_a_parser_change_invalidates_the_cache(raw, tmp_path, monkeypatch):
    work = tmp_path / "work"
    parse_and_build(raw, work)
    monkeypatch.setattr(runs, "parser_fingerprint", lambda: "f" * 64)
    plan = runs.plan_run(raw, work, scan_inputs(raw))
    assert plan.files_to_parse == 2 and plan.cache_dir.name == "parse-ffffffffffffffff"


def test_version_ids_sort_by_time_and_name_the_inputs(raw, tmp_path):
    plan = runs.plan_run(raw, tmp_path / "work", scan_inputs(raw))
    stamp, fp = plan.version_id.split("-")
    assert stamp == plan.created_at.strftime("%Y%m%dT%H%M%SZ") and plan.input_fingerprint.startswith(fp)


@pytest.mark.parametrize(
    ("place", "parts"),
    [
        ("The Kremlin, Moscow.", PlaceParts("The Kremlin", "Moscow", None, "Russia")),
        ("The\u00a0Kremlin,  Moscow", PlaceParts("The Kremlin", "Moscow", None, "Russia")),
        ("Novo-Ogaryovo, Moscow Region", PlaceParts(None, "Novo-Ogaryovo", "Moscow Region", "Russia")),
        ("Kuala Lumpur, Malaysia", PlaceParts(None, "Kuala Lumpur", None, "Malaysia")),
        ("Bangkok.", PlaceParts(None, "Bangkok", None, "Thailand")),
        ("Saint Petersburg", PlaceParts(None, "St Petersburg", None, "Russia")),
        ("Washington, D.C", PlaceParts(None, "Washington, D.C", None, "United States")),
        ("Gleneagles", PlaceParts(None, "Gleneagles", None, "United Kingdom")),
        ("Somewhere Unknown", PlaceParts(None, "Somewhere Unknown", None, None)),
        (None, PlaceParts()),
    ],
)
def test_place_split(place, parts):
    assert normalise_place(place) == parts


def test_hash_cache_rehashes_only_what_changed(raw, tmp_path, monkeypatch):
    import os
    import time

    from kremlin import inventory

    cache = tmp_path / "hashes.parquet"
    old = time.time_ns() - 10_000_000_000  # out of the racy window: the hashes are remembered
    for p in raw.iterdir():
        os.utime(p, ns=(old, old))
    first = {f.source_file: f.sha256 for f in scan_inputs(raw, hash_cache=cache)}
    hashed: list[str] = []
    real = inventory._hashed
    monkeypatch.setattr(inventory, "_hashed", lambda e: hashed.append(e.source_file) or real(e))
    again = {f.source_file: f.sha256 for f in scan_inputs(raw, hash_cache=cache)}
    assert again == first and hashed == [], "nothing changed: nothing is read"
    (raw / "B.txt").write_text(make_page(title="Another meeting"))  # new size and mtime
    changed = {f.source_file: f.sha256 for f in scan_inputs(raw, hash_cache=cache)}
    assert hashed == ["B.txt"] and changed["B.txt"] != first["B.txt"]


def test_a_run_with_nothing_to_do_imports_neither_prefect_server_nor_great_expectations(raw, tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT
    from tests.runkit import publish_run

    curated = tmp_path / "cur"
    publish_run(raw, curated)
    code = (
        "import sys; from pathlib import Path; from flows.pipeline import precheck;"
        f"plan = precheck(Path({str(raw)!r}), Path({str(curated)!r}), 10, 400);"
        "assert plan.unchanged, 'same inputs and code';"
        "assert 'great_expectations' not in sys.modules, 'GX imported for nothing'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
