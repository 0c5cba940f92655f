"""Processes seen through /proc (Linux), for tests that check what a run leaves behind.

By /proc, not ``Process.is_alive()``: a pool's own thread may already have reaped a child,
and a test in a subprocess has no ``Process`` objects for the children of its command.
"""

from __future__ import annotations

import os
from pathlib import Path


def running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def left_running() -> list[int]:
    """Children of this process (of any of its threads) still running, except
    multiprocessing's resource tracker (started with a process pool, it ends with its parent)."""
    kids = [
        int(k)
        for task in os.listdir("/proc/self/task")
        if os.path.exists(f"/proc/self/task/{task}/children")
        for k in Path(f"/proc/self/task/{task}/children").read_text().split()
    ]
    return [k for k in kids if running(k) and b"multiprocessing.resource_tracker" not in _cmdline(k)]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return b""
