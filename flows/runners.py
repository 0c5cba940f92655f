"""Task runners for the pipeline flow, and the Prefect API their workers talk to."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


def dask_task_runner(address: str | None, workers: int = 0):
    """prefect-dask runner: an existing scheduler at ``address``, or a local cluster.

    The local cluster uses one single-threaded worker process per core: parsing is pure
    Python, so threads would share one interpreter lock.

    Run the flow inside ``shared_prefect_api()``: every Dask worker runs Prefect's task
    engine and needs a Prefect API; without one configured each worker would start its
    own temporary server (7-12 s and ~250 MB each).
    """
    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=address)
    n = workers or os.cpu_count() or 1
    return DaskTaskRunner(
        cluster_kwargs={"n_workers": n, "threads_per_worker": 1, "processes": True, "dashboard_address": None}
    )


@contextlib.contextmanager
def shared_prefect_api(*, remote_workers: bool = False) -> Iterator[str]:
    """One Prefect API for the flow process and all its Dask workers; yields its URL.

    With ``PREFECT_API_URL`` set, that server is used as is. Otherwise the flow
    process's own temporary server (Prefect's ``SubprocessASGIServer`` singleton, the
    one ``get_client`` would start anyway) is started now, and its URL is put both in
    the settings context (serialised with every task submitted to Dask, so the task
    engine on a worker uses it) and in ``os.environ`` (inherited by the local
    cluster's worker processes, for anything Prefect does outside a task). The server
    is left to Prefect's own exit hook, as for a plain run: stopping it here, before
    the log and event workers have drained, makes them retry for a minute.

    ``remote_workers``: the workers run elsewhere and cannot reach a 127.0.0.1
    temporary server; warn that ``PREFECT_API_URL`` should name a reachable server.
    """
    from prefect.settings import PREFECT_API_URL

    configured = PREFECT_API_URL.value()
    if configured:
        yield configured
        return
    if remote_workers:
        print(
            "warning: PREFECT_API_URL is not set; Dask workers on other hosts cannot reach this "
            "process's temporary Prefect server and will each start their own. Run `prefect server "
            "start --host 0.0.0.0` somewhere and export PREFECT_API_URL=http://<host>:4200/api.",
            file=sys.stderr,
        )
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start()
    with _pointed_at(server.api_url) as url:
        yield url


@contextlib.contextmanager
def _pointed_at(url: str) -> Iterator[str]:
    """This process's Prefect settings and its environment (inherited by child processes)
    point at ``url`` for the block; the previous environment value is restored after."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    previous = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = url
    try:
        with temporary_settings(updates={PREFECT_API_URL: url}):
            yield url
    finally:
        if previous is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = previous


# Prefect's temporary server (prefect 3.9's SubprocessASGIServer) runs this app with these
# variables; started here without importing prefect.server, which costs the flow process
# 5-6 s of imports and their memory for a server that runs in another process anyway.
_SERVER_APP = "prefect.server.api.server:create_app"
_SERVER_ENV = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
_PORT_IN_USE = 3  # uvicorn's exit status when it cannot bind


def _free_port() -> int:
    import socket

    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TemporaryApi:
    """A temporary Prefect API server for this run, started at once and waited for only
    when the flow begins, so that its start-up (seconds) overlaps the run's own work.

    Stopped at interpreter exit, after Prefect's log and event workers (registered later,
    so their exit hooks run first) have drained."""

    def __init__(self) -> None:
        import atexit

        from prefect.logging import get_logger

        self.port = 0
        self.process = self._launch()
        atexit.register(self.stop)
        # The line Prefect logs when it starts its own temporary server (tools/bench.py
        # times the server start from it).
        get_logger().info("Starting temporary server on %s", self.url.removesuffix("/api"))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def _launch(self):
        import subprocess

        import prefect
        from prefect.settings import get_current_settings

        self.port = _free_port()
        env = {
            **os.environ,
            **_SERVER_ENV,
            **get_current_settings().to_environment_variables(exclude_unset=True),
        }
        # Never the API URL this server is about to serve (set below once it is up).
        env.pop("PREFECT_API_URL", None)
        return subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--app-dir", str(prefect.__module_path__.parent),
             "--factory", _SERVER_APP, "--host", "127.0.0.1", "--port", str(self.port),
             "--log-level", "error", "--lifespan", "on"],
            env=env,
        )  # fmt: skip

    def wait(self, timeout: float = 120.0) -> str:
        """Block until the server answers its health check; return its API URL."""
        import time
        import urllib.error
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code == _PORT_IN_USE:
                self.process = self._launch()
                continue
            if code is not None:
                raise RuntimeError(f"the temporary Prefect server exited with status {code}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                    if response.status == 200:
                        return self.url
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the temporary Prefect server did not start within {timeout:.0f} s")

    @contextlib.contextmanager
    def serving(self) -> Iterator[str]:
        """Wait for the server, then point this process (and its children) at it."""
        with _pointed_at(self.wait()) as url:
            yield url

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except Exception:
                self.process.kill()
                self.process.wait()


def start_temporary_api() -> TemporaryApi | None:
    """Start a temporary Prefect server now, unless ``PREFECT_API_URL`` names one."""
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        return None
    return TemporaryApi()
