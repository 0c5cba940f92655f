"""The head start (flows.headstart): what the command begins before its flow, while the
Prefect server starts, and how the flow takes it over or drops it.

The command's build and gate, begun ahead, must publish exactly what the flow alone would;
a head start for a plan the flow no longer follows (a version was published in between)
is dropped with its staging directory; a run with nothing to do never imports Great
Expectations, in the command or in the stage worker it started.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import Future
from pathlib import Path

import pytest

from flows.headstart import EarlyStages, HeadStart, StageWorker, _build_and_check
from kremlin import runs
from kremlin.versions import MANIFEST_FILENAME, STAGING, list_versions
from tests.conftest import ROOT, SAMPLE_RAW
from tests.pagekit import make_page
from tests.prockit import running
from tests.runkit import publish_run

pytestmark = pytest.mark.slow


def _landing(dest: Path, n_pages: int) -> Path:
    dest.mkdir()
    (dest / "000_sample.txt").write_bytes((SAMPLE_RAW / "000_2db0a70f9af90d4e.txt").read_bytes())
    for k in range(n_pages):
        (dest / f"page_{k}.txt").write_text(
            make_page(title=f"Meeting with Governor number {k + 1}", kremlin_id=5000 + k)
        )
    return dest


def _manifest(curated: Path) -> dict:
    return json.loads((curated / "latest" / MANIFEST_FILENAME).read_text(encoding="utf-8"))


def _staged(curated: Path) -> list[str]:
    staging = curated / STAGING
    return sorted(p.name for p in staging.iterdir()) if staging.is_dir() else []


def test_the_command_takes_its_head_start_over_and_publishes_what_the_flow_alone_would(
    tmp_path, prefect_harness
):
    from flows.pipeline import pipeline

    raw = _landing(tmp_path / "raw", 3)
    by_command, by_flow = tmp_path / "cur_command", tmp_path / "cur_flow"
    out = subprocess.run(
        [sys.executable, "-m", "flows.pipeline", "--raw-dir", str(raw), "--curated-dir", str(by_command),
         "--no-progress"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_LOGGING_LEVEL": "INFO"},
    )  # fmt: skip
    log = out.stdout + out.stderr
    assert out.returncode == 0, log
    # The build and the gate ran before the flow asked for them, and the flow took them.
    assert "normalise (begun with the head start)" in log, log
    assert "check (begun with the head start)" in log, log
    # The stage worker ends without leaving a named semaphore to the resource tracker.
    assert "leaked semaphore" not in out.stderr, out.stderr
    summary = pipeline(raw_dir=str(raw), curated_dir=str(by_flow))
    assert summary["status"] == "published"
    ahead, alone = _manifest(by_command), _manifest(by_flow)
    assert ahead["dataset_fingerprint"] == alone["dataset_fingerprint"]
    assert ahead["row_counts"] == alone["row_counts"]
    assert ahead["quality"]["verdict"] == alone["quality"]["verdict"] == "PASSED"
    assert _staged(by_command) == []  # the staging directory became the version, its lock went


def test_a_head_start_for_a_plan_the_flow_no_longer_follows_is_dropped(tmp_path, prefect_harness):
    from flows import pipeline_flow

    raw = _landing(tmp_path / "raw", 3)
    curated = tmp_path / "cur"
    plan = runs.plan_run(raw, curated, runs.scan(raw, curated))
    head = HeadStart.begin(plan, 1, StageWorker(True))
    early = head.early.result(timeout=300)
    assert early.outcome is not None and early.gate is not None  # built ahead, for a cold version
    staged = head.build_dir
    assert staged is not None and staged.is_dir()
    # Staged under a name of its own: a concurrent run that holds the lock and planned the
    # same version id (same inputs, same second) can stage it while this head start lives.
    assert staged.name == f"{plan.version_id}.head-{os.getpid()}"
    with runs.staging(plan) as lock_holders:
        assert lock_holders.name == plan.version_id
    shutil.rmtree(lock_holders)

    # Another run publishes first, from a folder with one page fewer.
    other = _landing(tmp_path / "raw_other", 2)
    assert publish_run(other, curated)["status"] == "published"

    pipeline_flow.take_over(plan, raw_dir=str(raw), curated_dir=str(curated), head=head)
    try:
        summary = pipeline_flow.pipeline(raw_dir=str(raw), curated_dir=str(curated))
    finally:
        pipeline_flow.release_head_start()
    # The flow planned on top of the new version: an incremental build of the third page,
    # not the cold build begun ahead, whose directory is gone.
    assert summary["status"] == "published"
    assert summary["version_id"] != plan.version_id
    assert not staged.exists()
    assert _staged(curated) == []
    assert len(list_versions(curated)) == 2
    manifest = _manifest(curated)
    assert manifest["build"]["incremental"] is True and manifest["build"]["documents_added"] == 1
    cold = tmp_path / "cur_cold"
    publish_run(raw, cold)
    assert manifest["dataset_fingerprint"] == _manifest(cold)["dataset_fingerprint"]


def _failed(exc: Exception) -> Future:
    fut: Future = Future()
    fut.set_exception(exc)
    return fut


def _done() -> Future:
    fut: Future = Future()
    fut.set_result(None)
    return fut


class _NoStages(StageWorker):
    """A stage worker that must not be asked for anything."""

    def __init__(self) -> None:
        super().__init__(False)

    def run(self, fn, *args, **kwargs):
        raise AssertionError(f"{fn.__name__} was run although a parse batch failed")


@pytest.mark.parametrize(
    "parses",
    [
        [_failed(RuntimeError("worker died"))],
        [_done(), _failed(MemoryError())],
        [_failed(OSError("disk full")), _done()],
    ],
    ids=["only batch failed", "second failed", "first failed"],
)
def test_nothing_is_built_ahead_when_an_early_parse_batch_failed(tmp_path, parses):
    # The flow parses a failed batch again and then builds itself.
    assert _build_and_check(_NoStages(), None, tmp_path, parses) == EarlyStages(None, None)  # type: ignore[arg-type]


def test_the_stage_worker_imports_great_expectations_only_once_there_is_work():
    code = (
        "import sys, threading\n"
        "from kremlin import runs\n"
        "runs.warm_up()\n"
        "assert 'great_expectations' not in sys.modules, 'imported before there was work'\n"
        "assert 'duckdb' in sys.modules and 'kremlin.build' in sys.modules\n"
        "runs.warm_up_checks()\n"
        "[t.join() for t in threading.enumerate() if t.name == 'import-gx']\n"
        "assert 'great_expectations' in sys.modules\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr


def test_a_discarded_stage_worker_ends_at_once():
    worker = StageWorker(True)
    pids = list(worker._pool._processes)  # type: ignore[union-attr]
    assert pids and all(running(pid) for pid in pids)
    worker.discard()
    assert not any(running(pid) for pid in pids)
    worker.close()  # a second end is a no-op
