"""End to end through the Prefect flow: publish, idempotence, one change = one version,
the quality gate blocking or warning, retention."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from flows.pipeline import pipeline
from kremlin import runs
from kremlin.diff import diff_versions
from kremlin.versions import latest_version, list_versions, read_manifest
from tests.conftest import SAMPLE_RAW
from tests.pagekit import PHONE_CALL_PAGE, dialogue_page, make_page

pytestmark = pytest.mark.slow

PAGE_B = PHONE_CALL_PAGE


def _run(raw: Path, curated: Path, **kw) -> dict:
    return pipeline(raw_dir=str(raw), curated_dir=str(curated), **kw)


def _count(curated: Path, sql: str):
    con = duckdb.connect(str(curated / "latest" / "kremlin.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = tmp_path_factory.mktemp("raw")
    shutil.copy(SAMPLE_RAW / "000_2db0a70f9af90d4e.txt", raw)
    (raw / "A.txt").write_text(
        dialogue_page("Meeting with Governor Ivan Petrov", "March 3, 2015", "15:40", "March 3, 2015, 15:40")
    )
    (raw / "B.txt").write_text(PAGE_B)
    (raw / "empty.txt").write_bytes(b"")
    return raw


@pytest.fixture(scope="module")
def curated(tmp_path_factory, landing, prefect_harness) -> Path:
    out = tmp_path_factory.mktemp("curated")
    summary = _run(landing, out)
    assert summary["status"] == "published"
    return out


def test_first_run_publishes_a_complete_version(curated, landing):
    latest = curated / "latest"
    assert latest.is_symlink() and latest.resolve().parent.name == "versions"
    for name in (
        "kremlin.duckdb",
        "manifest.json",
        "README.md",
        "quality/report.html",
        "quality/validation.json",
        "parquet/persons.parquet",
        "parquet/source_files.parquet",
    ):
        assert (latest / name).exists(), name
    assert any((latest / "parquet" / "paragraphs").glob("year=*/*.parquet"))
    m = json.loads((latest / "manifest.json").read_text())
    for key in (
        "version_id",
        "created_at",
        "parent",
        "code_version",
        "input_fingerprint",
        "schema_version",
        "row_counts",
        "quality",
        "lineage",
        "dataset_fingerprint",
    ):
        assert key in m, key
    assert m["parent"] is None and m["row_counts"]["documents"] == 3
    assert m["lineage"]["by_status"] == {"published": 3, "rejected": 1}
    files = _count(curated, "SELECT source_file, status, reject_reason FROM source_files ORDER BY 1")
    assert files == [
        ("000_2db0a70f9af90d4e.txt", "published", None),
        ("A.txt", "published", None),
        ("B.txt", "published", None),
        ("empty.txt", "rejected", "empty"),
    ]
    readme = (latest / "README.md").read_text()
    assert "CC BY 4.0" in readme and "en.kremlin.ru" in readme


def test_unchanged_rerun_publishes_nothing(curated, landing):
    before = list_versions(curated)
    summary = _run(landing, curated)
    assert summary["status"] == "unchanged" and summary["files_parsed"] == 0
    assert list_versions(curated) == before


def test_one_changed_page_gives_exactly_one_new_version(curated, landing):
    old = latest_version(curated)
    (landing / "B.txt").write_text(PAGE_B.replace("bilateral trade", "bilateral trade and energy"))
    summary = _run(landing, curated)
    assert summary["status"] == "published" and summary["files_parsed"] == 1, (
        "only the changed file is parsed"
    )
    new = latest_version(curated)
    assert list_versions(curated)[-2:] == [old, new]
    assert read_manifest(curated)["parent"] == old
    changes = diff_versions(curated, old, new)
    assert [(c.title, c.change) for c in changes] == [
        ("Telephone conversation with President of Finland", "changed")
    ]
    assert "paragraphs" in changes[0].fields


def _corrupt_after_build(monkeypatch, sql: str) -> None:
    real_build = runs.build

    def build_then_corrupt(plan, build_dir, **kw):
        outcome = real_build(plan, build_dir, **kw)
        con = duckdb.connect(str(build_dir / "kremlin.duckdb"))
        con.execute(sql)
        con.close()
        return outcome

    monkeypatch.setattr(runs, "build", build_then_corrupt)


@pytest.mark.parametrize(
    ("sql", "check"),
    [
        ("INSERT INTO documents SELECT * FROM documents LIMIT 1", "documents.doc_id.unique"),
        (
            "UPDATE source_files SET reject_reason = 'quality:no.such.check', status = 'rejected' "
            "WHERE source_file = (SELECT min(source_file) FROM source_files)",
            "source_files.reject_reason.enum",
        ),
        (
            "INSERT INTO utterances SELECT 'k0000000000000000', turn_index, speaker_label, speaker_kind, speaker_name, "
            "speaker_role, person_id, text, n_paragraphs, year FROM utterances LIMIT 1",
            "utterances.doc_id.in_documents",
        ),
    ],
)
def test_critical_failure_blocks_publication_and_latest_stays(curated, landing, monkeypatch, sql, check):
    before = latest_version(curated)
    (landing / "C.txt").write_text(
        make_page(title=f"Working meeting {len(sql)}", publication="March 4, 2015, 11:00")
    )
    _corrupt_after_build(monkeypatch, sql)
    with pytest.raises(runs.QualityGateFailed) as err:
        # The corruption is patched into this process: run the stages here, not in children.
        _run(landing, curated, isolate_stages=False)
    assert latest_version(curated) == before
    assert _count(curated, "SELECT count(*) FROM documents")[0][0] >= 3, "latest still opens and serves"
    names = [c.split(":")[0].strip() for c in str(err.value).splitlines()]
    assert any(check in n for n in names), str(err.value)


def test_warning_publishes_with_the_warning_recorded(curated, landing, monkeypatch):
    (landing / "D.txt").write_text(
        make_page(title="Working meeting on warnings", publication="March 5, 2015, 11:00")
    )
    _corrupt_after_build(monkeypatch, "UPDATE utterances SET person_id = NULL WHERE speaker_kind = 'person'")
    summary = _run(landing, curated, isolate_stages=False)
    assert summary["status"] == "published"
    warned = read_manifest(curated)["quality"]["failed_warning"]
    assert any("person_id" in w for w in warned), warned


def test_retention_keeps_the_newest_versions(curated, landing):
    (landing / "E.txt").write_text(
        make_page(title="Working meeting on retention", publication="March 6, 2015, 11:00")
    )
    _run(landing, curated, keep=2)
    versions = list_versions(curated)
    assert len(versions) == 2 and versions[-1] == latest_version(curated)
