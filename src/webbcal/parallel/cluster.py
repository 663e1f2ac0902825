"""Dask clients for parallel runs: a local cluster of worker processes, or a scheduler.

``dask_client(workers=N)`` starts ``distributed.LocalCluster`` with ``N`` worker
*processes* of one thread each (numba kernels then use ``cores // N`` threads each, so
the machine is not oversubscribed) and a memory limit of 90% of the machine's memory
shared between them; ``dask_client(scheduler="tcp://HOST:PORT")`` connects to a running
scheduler (its workers must be able to import webbcal and read and write the files).
The cluster and its processes are closed when the ``with`` block ends, also on errors
and interrupts.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psutil

from webbcal.errors import ParameterError

log = logging.getLogger(__name__)

__all__ = ["dask_client", "default_workers", "warm_up", "worker_memory_limit"]

#: Share of the machine's memory given to the workers of a local cluster, together.
MEMORY_SHARE = 0.9
#: Seconds to wait for a scheduler to answer.
CONNECT_TIMEOUT_S = 30


def cpu_count() -> int:
    """Cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def default_workers(n_tasks: int) -> int:
    """Workers of a local cluster when none is asked for: one per core, at most one per task."""
    return max(1, min(cpu_count(), n_tasks))


def worker_memory_limit(workers: int) -> int:
    """Bytes each of ``workers`` local workers may use (90% of the memory, shared)."""
    return int(psutil.virtual_memory().total * MEMORY_SHARE / max(1, workers))


@contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None) -> Iterator[Any]:
    """A ``distributed.Client`` on a new local cluster or on ``scheduler``.

    Parameters
    ----------
    workers : int, optional
        Worker processes of the local cluster (default: one per core).
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://HOST:PORT``); ``workers`` is then
        ignored.

    Raises
    ------
    ParameterError
        When the scheduler cannot be reached or ``workers`` is not positive.

    """
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            raise ParameterError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
        log.info(
            "connected to the Dask scheduler %s (%d workers)",
            scheduler,
            len(client.scheduler_info().get("workers", {})),
        )
        try:
            yield client
        finally:
            client.close()
        return
    n = workers if workers is not None else cpu_count()
    if n < 1:
        raise ParameterError(f"--workers must be at least 1, not {n}")
    threads = max(1, cpu_count() // n)
    env = {"NUMBA_NUM_THREADS": str(threads), "OMP_NUM_THREADS": "1"}
    memory = worker_memory_limit(n)
    log.info(
        "starting a local Dask cluster: %d worker process(es), 1 task and %d numba "
        "thread(s) each, %.1f GB memory limit each",
        n,
        threads,
        memory / 1e9,
    )
    cluster = LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",  # no fixed port: several clusters may run
        memory_limit=memory,
        silence_logs=logging.ERROR,
        env=env,
    )
    try:
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def _warm_worker() -> None:
    """Import the pipelines and load the ASDF extensions (seconds in a fresh process)."""
    import asdf

    from webbcal import datamodels  # noqa: F401 - imported for its side effects
    from webbcal.core import registry

    registry.list_registered()
    len(asdf.get_config().extensions)


def warm_up(client: Any) -> None:
    """Prepare every worker of ``client`` for webbcal tasks, all at once.

    A fresh worker process spends seconds importing the pipelines and loading the ASDF
    extensions on its first task; doing it when the cluster starts (e.g. while the demo
    simulates its exposures) takes that off the first members' time.
    """
    client.run(_warm_worker)
