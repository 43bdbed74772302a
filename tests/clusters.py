"""A dask LocalCluster of worker processes for tests, on loopback only."""

from __future__ import annotations

from distributed import LocalCluster


def process_cluster(workers: int = 2) -> LocalCluster:
    """Return a cluster of ``workers`` processes with one thread each.

    The scheduler, the workers and the dashboard listen on 127.0.0.1 on ports
    the system chooses. Use it in a ``with`` statement, which stops it.
    """
    # The scheduler serves HTTP even without a dashboard, so the dashboard
    # address keeps it on loopback too.
    return LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    )
