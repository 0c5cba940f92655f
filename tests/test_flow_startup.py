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
