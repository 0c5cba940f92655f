"""Start-up of the pipeline command: what a run pays before its flow begins.

The command launches Prefect's temporary server first, plans without Prefect, and a run
with nothing to do exits with the server stopped, having imported neither Prefect nor
Great Expectations.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLE_RAW
from tests.pagekit import make_page


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    d = tmp_path / "raw"
    d.mkdir()
    shutil.copy(SAMPLE_RAW / "000_2db0a70f9af90d4e.txt", d)
    (d / "B.txt").write_text(make_page())
    return d


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )


def test_the_command_module_imports_no_prefect_until_the_flow_is_asked_for():
    out = _python(
        "import sys, flows.pipeline as p\n"
        "assert 'prefect' not in sys.modules, 'the command imported prefect up front'\n"
        "flow = p.pipeline\n"
        "assert 'prefect' in sys.modules and flow.name == 'kremlin-pipeline', flow\n"
        "from flows.pipeline import normalise\n"
        "assert normalise.name == 'normalise'\n"
        "try:\n"
        "    p.no_such_name\n"
        "except AttributeError:\n"
        "    pass\n"
        "else:\n"
        "    raise SystemExit('unknown names must raise AttributeError')\n"
    )
    assert out.returncode == 0, out.stderr


_LEFT_RUNNING = "from tests.prockit import left_running\n"


def test_unchanged_run_stops_the_server_and_imports_neither_prefect_nor_great_expectations(raw, tmp_path):
    from tests.runkit import publish_run

    curated = tmp_path / "cur"
    publish_run(raw, curated)
    code = _LEFT_RUNNING + (
        "import sys\n"
        "from flows.pipeline import main\n"
        f"rc = main(['--raw-dir', {str(raw)!r}, '--curated-dir', {str(curated)!r}, '--no-progress'])\n"
        "assert rc == 0, rc\n"
        "for name in ('prefect', 'great_expectations'):\n"
        "    assert name not in sys.modules, name + ' imported for nothing'\n"
        "assert not left_running(), 'the server launched at start-up is still running'\n"
    )
    out = _python(code, PREFECT_HOME=str(tmp_path / "prefect-home"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "nothing new" in out.stdout


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--raw-dir", "/nonexistent/raw"], "is not a directory"),
        (["--raw-dir", ".", "--keep", "0"], "at least 1"),
        (["--raw-dir", ".", "--editions", "nonsense"], "unknown edition"),
    ],
)
def test_bad_arguments_exit_2_and_leave_no_server(tmp_path, argv, message):
    code = _LEFT_RUNNING + (
        "import sys\n"
        "from flows.pipeline import main\n"
        f"rc = main({argv!r})\n"
        "assert not left_running(), 'the server launched at start-up is still running'\n"
        "sys.exit(rc)\n"
    )
    out = _python(code, PREFECT_HOME=str(tmp_path / "prefect-home"))
    assert out.returncode == 2 and message in out.stderr, out.stderr


class _CrashingFlow:
    """Stands for the flow: takes its options, then fails as a task of a real run could."""

    def with_options(self, **options: object) -> _CrashingFlow:
        return self

    def __call__(self, **parameters: object) -> None:
        raise RuntimeError("boom in the flow")


# where the run fails -> code that makes it fail there.
CRASHES: dict[str, str] = {
    "in the precheck": "def boom(*args, **kw):\n    raise RuntimeError('boom in the precheck')\np.precheck = boom\n",
    "after the head start began, before the flow took it over": (
        "sys.modules['flows.pipeline_flow'] = None  # its import fails (a broken Prefect install)\n"
    ),
    "in the flow": (
        "from flows import pipeline_flow\n"
        "from tests.test_flow_startup import _CrashingFlow\n"
        "pipeline_flow.pipeline = _CrashingFlow()\n"
    ),
}


@pytest.mark.parametrize("where", CRASHES)
def test_an_unexpected_error_exits_3_with_the_error_and_releases_the_head_start(raw, tmp_path, where):
    setup = CRASHES[where]
    curated = tmp_path / "cur"
    code = _LEFT_RUNNING + (
        "import sys\n"
        "import flows.pipeline as p\n"
        f"{setup}"
        f"rc = p.main(['--raw-dir', {str(raw)!r}, '--curated-dir', {str(curated)!r}, '--no-progress'])\n"
        "assert not left_running(), 'the server, stage worker or parse pool is still running'\n"
        "sys.exit(rc)\n"
    )
    # No temporary server (an API named): the stand-in flow needs none, and one that came up
    # takes longer than the command waits for it to stop (it is stopped, not waited for).
    out = _python(code, PREFECT_HOME=str(tmp_path / "prefect-home"), PREFECT_API_URL="http://127.0.0.1:9/api")
    assert out.returncode == 3, out.stderr[-3000:]
    assert "Traceback" in out.stderr and "error: the run failed:" in out.stderr.splitlines()[-1], out.stderr
    staged = curated / ".staging"
    assert not staged.is_dir() or not [p for p in staged.iterdir() if p.is_dir()], (
        "the early build is dropped"
    )


def test_a_server_discarded_while_importing_dies_at_once(tmp_path, monkeypatch):
    from flows import runners

    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    server = runners.launch_temporary_api()
    assert server is not None
    t0 = time.monotonic()
    server.discard()
    assert server.process.wait(timeout=5) == -signal.SIGTERM  # killed, not a graceful exit
    assert time.monotonic() - t0 < 2.0


def test_no_temporary_server_when_the_environment_names_an_api(monkeypatch):
    from flows import runners

    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    assert runners.launch_temporary_api() is None


def test_server_environment_never_carries_the_api_url_it_is_about_to_serve(monkeypatch):
    from flows import runners

    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    env = runners._server_env()
    assert "PREFECT_API_URL" not in env
    assert env["PREFECT__SERVER_EPHEMERAL"] == "1" and env["PREFECT_UI_ENABLED"] == "0"


def test_server_environment_passes_on_settings_changed_in_this_process(monkeypatch, tmp_path):
    from prefect.settings import PREFECT_SERVER_API_KEEPALIVE_TIMEOUT, temporary_settings

    from flows import runners

    with temporary_settings(updates={PREFECT_SERVER_API_KEEPALIVE_TIMEOUT: 17}):
        env = runners._server_env()
    assert env.get("PREFECT_SERVER_API_KEEPALIVE_TIMEOUT") == "17"
