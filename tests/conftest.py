"""Shared fixtures: an isolated Prefect home, one Prefect test server per session, the corpus."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Before anything imports prefect: never touch the user's ~/.prefect, never call home.
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="kremlin-prefect-home-")
# Removed at the end of the session: every run of the suite would otherwise leave one behind.
atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], True)
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / ".." / "shared" / "corpus"
SAMPLE_RAW = ROOT / "raw"


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect API for the whole session (it costs seconds to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not (CORPUS / "raw").is_dir() or not (CORPUS / "labels.jsonl").is_file():
        pytest.skip(f"corpus not found at {CORPUS} (../shared/corpus from the repo root)")
    return CORPUS.resolve()
