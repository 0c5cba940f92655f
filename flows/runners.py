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
# variables; started here without importing prefect (2-3 s) or prefect.server (5-6 s and
# ~80 MB) into the flow process, for a server that runs in another process anyway.
_SERVER_APP = "prefect.server.api.server:create_app"
_SERVER_ENV = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
# A temporary server lives for one run that nobody watches live. It keeps what shows the
# run afterwards (flow runs, task runs, logs, artifacts, in PREFECT_HOME's database) and
# leaves out what serves a long-lived server: the event feed's storage and its vacuum (which
# also runs at every start), automations, streaming events to UI clients, registering block
# types (the run uses none; loading the block collections imports prefect-dask and Dask),
# and the loops that look after deployments, workers, pauses, cancellations and concurrency
# leases, none of which a server that only ever sees this one run has.
# 1.5-2 s of CPU less at every start, seconds the run's own processes compete for. The
# environment wins: set any of these to true to have it back.
_SERVER_DEFAULTS = {
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false",
    "PREFECT_SERVER_EVENTS_STREAM_OUT_ENABLED": "false",
    "PREFECT_API_BLOCKS_REGISTER_ON_START": "false",
    "PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION": "false",
    "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_FOREMAN_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_CANCELLATION_CLEANUP_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_REPOSSESSOR_ENABLED": "false",
}
_SERVER_NICENESS = 10
_PORT_IN_USE = 3  # uvicorn's exit status when it cannot bind


def _free_port() -> int:
    import socket

    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _prefect_dir() -> str:
    """Where the prefect package is, found without importing it."""
    import importlib.util

    spec = importlib.util.find_spec("prefect")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("prefect is not installed")
    return os.path.dirname(next(iter(spec.submodule_search_locations)))


def _server_env() -> dict[str, str]:
    env = {**_SERVER_DEFAULTS, **os.environ, **_SERVER_ENV}
    # Settings changed inside this process (``temporary_settings``) are passed on, as Prefect
    # does for its own temporary server; without prefect imported there can be none, and the
    # server reads the same environment, profile and working directory as this process.
    if "prefect.settings" in sys.modules:
        from prefect.settings import get_current_settings

        env.update(get_current_settings().to_environment_variables(exclude_unset=True))
    # Never the API URL this server is about to serve (set for this process once it is up).
    env.pop("PREFECT_API_URL", None)
    return env


class TemporaryApi:
    """A temporary Prefect API server for this run, launched at once and waited for only
    when the flow begins, so that its start-up (seconds) overlaps the run's own work.

    ``discard()`` drops it when the run turns out to have nothing to do: while uvicorn is
    still importing the app (the first seconds) SIGTERM ends it at once; once it has begun
    starting (database migrations) it finishes that and exits by itself, never cut midway.
    A server the run uses (``adopt()``) is stopped at interpreter exit, after Prefect's log
    and event workers (registered later, so their exit hooks run first) have drained."""

    def __init__(self) -> None:
        import atexit
        import time

        self.port = 0
        self.adopted = False
        self.launched_at = time.monotonic()
        self.process = self._launch()
        atexit.register(self.stop)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def _launch(self):
        import subprocess

        self.port = _free_port()
        return subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--app-dir", _prefect_dir(),
             "--factory", _SERVER_APP, "--host", "127.0.0.1", "--port", str(self.port),
             "--log-level", "error", "--lifespan", "on"],
            env=_server_env(),
            # Lower priority: while it starts, the run's own head start (parse, build, gate)
            # is what the flow will wait for; once up, the server mostly waits on sockets.
            preexec_fn=lambda: os.nice(_SERVER_NICENESS),
        )  # fmt: skip

    def superseded(self) -> bool:
        """A Prefect profile (read once prefect is imported) names an API server to use instead."""
        from prefect.settings import PREFECT_API_URL

        return bool(PREFECT_API_URL.value())

    def adopt(self) -> None:
        """The run will use this server: log it (tools/bench.py times the wait from here on)."""
        import time

        from prefect.logging import get_logger

        self.adopted = True
        # The line Prefect logs when it starts its own temporary server.
        get_logger().info(
            "Starting temporary server on %s (launched %.1f s ago, with the precheck)",
            self.url.removesuffix("/api"),
            time.monotonic() - self.launched_at,
        )

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
            time.sleep(0.05)
        raise RuntimeError(f"the temporary Prefect server did not start within {timeout:.0f} s")

    @contextlib.contextmanager
    def serving(self) -> Iterator[str]:
        """Wait for the server, then point this process (and its children) at it."""
        import time

        from prefect.logging import get_logger

        url = self.wait()
        # tools/bench.py splits the wait for the server from the flow-run creation here.
        get_logger().info(
            "Temporary server ready, %.1f s after its launch", time.monotonic() - self.launched_at
        )
        with _pointed_at(url):
            yield url

    def discard(self) -> None:
        """Stop a server the run does not need, without waiting for one that is starting."""
        import atexit

        atexit.unregister(self.stop)
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(Exception):
                self.process.wait(timeout=0.5)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except Exception:
                self.process.kill()
                self.process.wait()


def launch_temporary_api() -> TemporaryApi | None:
    """Launch a temporary Prefect server now, unless ``PREFECT_API_URL`` names one in the
    environment (a profile that names one is seen later: ``TemporaryApi.superseded``)."""
    if os.environ.get("PREFECT_API_URL"):
        return None
    return TemporaryApi()
