"""Orchestration: a served deployment run through a real Prefect server, the Dask runner,
and two concurrent runs on one CURATED_DIR.

Every test runs the pipeline in subprocesses (as ``make pipeline`` / ``make serve`` do)
with a temporary PREFECT_HOME. One ``prefect server start`` on 127.0.0.1 is shared by
the module (a temporary server costs 7-12 s per process otherwise); it is always
stopped at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import duckdb
import httpx
import pytest

from flows.serve import DEFAULT_CRON, free_port, local_prefect_server
from kremlin.versions import DB_FILENAME, MANIFEST_FILENAME, latest_version, list_versions

ROOT = Path(__file__).resolve().parents[1]
CORPUS_RAW = ROOT.parent / "shared" / "corpus" / "raw"
CORPUS_PAGES = 40
PY = sys.executable

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prefect_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("prefect-home")


@pytest.fixture(scope="module")
def prefect_server(prefect_home, tmp_path_factory):
    """A real ``prefect server start`` on 127.0.0.1 (SQLite in a temp PREFECT_HOME)."""
    log = tmp_path_factory.mktemp("server") / "server.log"
    with local_prefect_server(
        "127.0.0.1", free_port(), prefect_home=str(prefect_home), ui=False, timeout=90, log_file=log
    ) as api_url:
        yield api_url


def _env(prefect_home: Path, api_url: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PREFECT_API_URL", None)
    env.update(PREFECT_HOME=str(prefect_home), PREFECT_SERVER_ANALYTICS_ENABLED="false", PYTHONUNBUFFERED="1")
    env["PREFECT_LOGGING_LEVEL"] = "INFO"  # the assertions read the run's log (conftest sets WARNING)
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def _sample_raw(dest: Path, corpus_pages: int = 0) -> Path:
    """The repo's raw/ sample, plus the first ``corpus_pages`` corpus pages if the corpus exists."""
    shutil.copytree(ROOT / "raw", dest)
    if corpus_pages:
        if CORPUS_RAW.is_dir():
            for f in sorted(CORPUS_RAW.iterdir())[1 : corpus_pages + 1]:
                shutil.copy2(f, dest / f.name)
        else:
            warnings.warn(f"{CORPUS_RAW} not found: using the raw/ sample only", stacklevel=2)
    return dest


def _pipeline(raw: Path, curated: Path, env: dict, *extra: str) -> subprocess.Popen:
    cmd = [PY, "-m", "flows.pipeline", "--raw-dir", str(raw), "--curated-dir", str(curated), "--no-progress"]
    return subprocess.Popen(
        [*cmd, *extra], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _finish(proc: subprocess.Popen, timeout: float = 150) -> tuple[int, str]:
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail(f"pipeline did not finish in {timeout} s:\n{out[-4000:]}")
    return proc.returncode, out


def _manifest(curated: Path) -> dict:
    return json.loads((curated / "latest" / MANIFEST_FILENAME).read_text(encoding="utf-8"))


def _assert_latest_consistent(curated: Path) -> dict:
    """``latest`` names a complete version whose manifest and DuckDB agree on row counts."""
    version = latest_version(curated)
    assert version is not None, "latest is missing or points at an incomplete version"
    assert (curated / "latest").resolve() == (curated / "versions" / version).resolve()
    manifest = _manifest(curated)
    assert manifest["version_id"] == version
    con = duckdb.connect(str(curated / "latest" / DB_FILENAME), read_only=True)
    try:
        for table, n in manifest["row_counts"].items():
            assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == n, table
    finally:
        con.close()
    return manifest


def test_served_deployment_runs_through_the_api(tmp_path, prefect_server, prefect_home):
    """`python -m flows.serve` registers the daily deployment; a run triggered over REST fetches
    (from a site on 127.0.0.1 with nothing new) and then publishes."""
    from tests.replaykit import ReplaySite

    raw = _sample_raw(tmp_path / "raw")
    curated = tmp_path / "curated"
    empty_site = tmp_path / "site"
    empty_site.mkdir()
    (empty_site / "robots.txt").write_text("User-agent: *\nDisallow: /search\n")
    site = ReplaySite(empty_site).__enter__()
    env = _env(prefect_home, prefect_server)
    serve = subprocess.Popen(
        [PY, "-m", "flows.serve", "--raw-dir", str(raw), "--curated-dir", str(curated), "--name", "test",
         "--poll-seconds", "1", "--site", site.base, "--fetch-delay", "0.01"],
        cwd=tmp_path,  # the deployment must not depend on the working directory
        env=env,
        stdout=(tmp_path / "serve.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the flow-run subprocesses go with it
    )  # fmt: skip
    try:
        with httpx.Client(base_url=prefect_server, timeout=10) as api:
            deployment = None
            deadline = time.monotonic() + 60
            while deployment is None:
                assert serve.poll() is None, (tmp_path / "serve.log").read_text()
                r = api.get("/deployments/name/kremlin-daily/test")
                if r.status_code == 200:
                    deployment = r.json()
                elif time.monotonic() > deadline:
                    pytest.fail("deployment not registered in 60 s:\n" + (tmp_path / "serve.log").read_text())
                else:
                    time.sleep(0.5)
            crons = [s["schedule"].get("cron") for s in deployment["schedules"] if s.get("active", True)]
            assert crons == [DEFAULT_CRON]
            assert deployment["parameters"]["raw_dir"] == str(raw)
            assert deployment["parameters"]["curated_dir"] == str(curated)
            assert deployment["parameters"]["site"] == site.base

            # 503 is the busy server's "try again" (Prefect's own client retries it too).
            for _ in range(10):
                r = api.post(f"/deployments/{deployment['id']}/create_flow_run", json={})
                if r.status_code != 503:
                    break
                time.sleep(1)
            assert r.status_code == 201, r.text
            run_id = r.json()["id"]
            state = None
            deadline = time.monotonic() + 150
            while time.monotonic() < deadline:
                state = api.get(f"/flow_runs/{run_id}").json()["state"]
                if state and state["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
                    break
                assert serve.poll() is None, (tmp_path / "serve.log").read_text()
                time.sleep(1)
            assert state and state["type"] == "COMPLETED", (
                f"{state}\n{(tmp_path / 'serve.log').read_text()[-4000:]}"
            )
            r = api.post("/artifacts/filter", json={"artifacts": {"key": {"any_": ["daily-summary"]}}})
            assert r.status_code == 200, r.text
            daily = [a["data"] for a in r.json()]
            assert (
                daily and "## Fetch" in daily[0] and "| new | 0 |" in daily[0] and "## Pipeline" in daily[0]
            )
    finally:
        site.__exit__(None, None, None)
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGTERM)
            try:
                serve.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(serve.pid, signal.SIGKILL)
                serve.wait()
    assert site.paths()[:1] == ["/robots.txt"]  # the run fetched first
    manifest = _assert_latest_consistent(curated)
    assert len(list_versions(curated)) == 1
    assert manifest["row_counts"]["documents"] >= 1


def test_dask_runner_matches_local_runner(tmp_path, prefect_server, prefect_home):
    """Same input → same dataset_fingerprint with 2 Dask workers as with the default runner.

    The Dask run has no PREFECT_API_URL: it must start one temporary server, shared by
    its workers (not one per worker).
    """
    raw = _sample_raw(tmp_path / "raw", CORPUS_PAGES)
    dask = _pipeline(raw, tmp_path / "dask", _env(prefect_home, None), "--runner", "dask", "--workers", "2",
                     "--batch-size", "10")  # fmt: skip
    rc, out = _finish(dask)
    assert rc == 0, out[-4000:]
    assert out.count("Starting temporary server") == 1, out[:3000]
    local = _pipeline(raw, tmp_path / "local", _env(prefect_home, prefect_server))
    rc, out_local = _finish(local)
    assert rc == 0, out_local[-4000:]
    m_dask, m_local = (
        _assert_latest_consistent(tmp_path / "dask"),
        _assert_latest_consistent(tmp_path / "local"),
    )
    assert m_dask["row_counts"] == m_local["row_counts"]
    assert m_dask["dataset_fingerprint"] == m_local["dataset_fingerprint"]
    assert m_dask["lineage"]["files"] == len(list(raw.iterdir()))


def test_two_concurrent_runs_on_one_curated_dir(tmp_path, prefect_server, prefect_home):
    """Two runs started together: both exit 0, one publishes, the other waits and finds nothing new."""
    raw = _sample_raw(tmp_path / "raw", 10)
    curated = tmp_path / "curated"
    env = _env(prefect_home, prefect_server)
    procs = [_pipeline(raw, curated, env) for _ in range(2)]
    results = [_finish(p) for p in procs]
    for rc, out in results:
        assert rc == 0, out[-4000:]
    outputs = [out for _, out in results]
    published = [o for o in outputs if "│ status                      │ published" in o]
    unchanged = [o for o in outputs if "nothing new" in o]
    versions = list_versions(curated)
    # Either the second waited for the lock and found nothing new, or it published the next version.
    assert (len(published), len(unchanged), len(versions)) in ((1, 1, 1), (2, 0, 2)), outputs
    _assert_latest_consistent(curated)
    assert not list((curated / ".staging").glob("*.lock"))
