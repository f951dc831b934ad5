"""The task runner a run uses (``run.task_runner``): Prefect's thread pool, or Dask for spreading analysis."""

from __future__ import annotations

from typing import Any

from prefect.task_runners import ThreadPoolTaskRunner

from vaktpost.settings import Settings


def task_runner(settings: Settings) -> Any:
    """``threads``: Prefect's ``ThreadPoolTaskRunner``. ``dask``: ``prefect_dask.DaskTaskRunner`` on the scheduler
    at ``run.dask_address``, or on a local cluster of ``run.dask_workers`` worker processes (one thread each)."""
    if settings.run.task_runner == "threads":
        return ThreadPoolTaskRunner()
    from prefect_dask.task_runners import DaskTaskRunner

    if settings.run.dask_address:
        return DaskTaskRunner(address=settings.run.dask_address)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": settings.run.dask_workers,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,
        }
    )


def analysis_window(settings: Settings) -> int:
    """How many analysis batches are in flight at once: one on threads (the analyzer is shared), a few per
    Dask worker (each worker loads its own)."""
    return 1 if settings.run.task_runner == "threads" else 2 * settings.run.dask_workers
