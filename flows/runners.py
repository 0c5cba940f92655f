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
    from prefect.settings import PREFECT_API_URL, temporary_settings

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
    url = server.api_url
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
