"""Task runners for the pipeline flow."""

from __future__ import annotations

import os


def dask_task_runner(address: str | None, workers: int = 0):
    """prefect-dask runner: an existing scheduler at ``address``, or a local cluster.

    The local cluster uses one single-threaded worker process per core: parsing is pure
    Python, so threads would share one interpreter lock.
    """
    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=address)
    n = workers or os.cpu_count() or 1
    return DaskTaskRunner(
        cluster_kwargs={"n_workers": n, "threads_per_worker": 1, "processes": True, "dashboard_address": None}
    )
