"""Scale-out on Dask distributed: a client for a local cluster or a running scheduler.

``--scheduler local`` starts one worker process per core on this machine (``local:N`` for N
workers); any other value is a scheduler address (``tcp://host:8786``) of a cluster whose
workers have jaksim installed.

The local cluster listens on 127.0.0.1 only and speaks mutual TLS with a certificate made for
this cluster alone (``distributed.security.Security.temporary``, issue 17, finding 7): another
process of this machine can neither join it nor submit code to its workers, since it has no
certificate the cluster trusts. A remote scheduler is the user's own cluster: its security is
that cluster's configuration (use a ``tls://`` address with Dask's ``distributed.comm.tls``
settings on shared networks). Work sent to the workers is a pure function of the scenario,
the draw and the patient ids (counter-based random numbers), so results are identical to a
run on one machine, whatever the number of workers or the order tasks finish in.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from jaksim.errors import JaksimError

_LOCAL = re.compile(r"^local(?::(\d+))?$")
_ADDRESS = re.compile(r"^(?:(?:tcp|tls|inproc|ucx|ws|wss)://)?[\w.\-\[\]:]+:\d+$")


#: Dask settings of a local cluster's processes (jaksim's own, so tuned for its tasks): no
#: statistical profiler in the workers (a stack sample every 10 ms), no GIL monitor (every 1 ms),
#: the system and memory monitors and the event-loop tick less often. On a machine whose every
#: core runs a worker, what these take comes out of the draws.
LOCAL_CLUSTER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.gil.enabled": False,
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.tick.interval": "200ms",
}


@dataclass(frozen=True)
class Cluster:
    """A connected client and how many numba threads each task should use (None: worker default)."""

    client: Any                   # distributed.Client (imported lazily)
    numba_threads: int | None


def check_scheduler(scheduler: str) -> None:
    """Raise a one-line error unless ``scheduler`` is ``local``, ``local:N`` or an address."""
    m = _LOCAL.match(scheduler)
    if m:
        cores = os.cpu_count() or 1
        if m.group(1) is not None and not 1 <= int(m.group(1)) <= cores:
            raise JaksimError(f"--scheduler {scheduler}: the number of local workers must be at least 1 and "
                              f"at most {cores} (the cores of this machine); use a scheduler address for more")
        return
    if not _ADDRESS.match(scheduler):
        raise JaksimError(f"--scheduler {scheduler!r} is not allowed; allowed: 'local', 'local:N' (N worker "
                          "processes on this machine) or a Dask scheduler address such as tcp://host:8786")


@contextmanager
def connect(scheduler: str, timeout_seconds: float = 30.0, threads: int | None = None) -> Iterator[Cluster]:
    """A Dask client for ``scheduler`` (see the module docstring), closed on exit.

    ``threads``: numba threads per task (``--threads``); default on a local cluster: the cores
    divided among the workers, on a remote one: the worker's default (all its cores)."""
    check_scheduler(scheduler)
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise JaksimError("--scheduler needs Dask distributed, which is not installed: "
                          "pip install 'jaksim[dask]'") from None
    m = _LOCAL.match(scheduler)
    if m:
        cores = os.cpu_count() or 1
        workers = int(m.group(1)) if m.group(1) else cores
        # one single-threaded worker process per slot; numba gets the cores left per worker
        import dask
        with dask.config.set(LOCAL_CLUSTER_CONFIG), \
                LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                             host="127.0.0.1", security=local_security()) as cluster, Client(cluster) as client:
            from jaksim.run.dask_worker import KeepFreedMemory
            client.register_plugin(KeepFreedMemory())
            yield Cluster(client, threads if threads is not None else max(1, cores // workers))
        return
    try:
        client = Client(scheduler, timeout=f"{timeout_seconds}s")
    except (OSError, TimeoutError) as exc:
        raise JaksimError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({exc}); start one with "
                          "'dask scheduler' and workers with 'dask worker ADDRESS', or use --scheduler local") from None
    try:
        _check_workers(client, scheduler, timeout_seconds)
        yield Cluster(client, threads)
    finally:
        client.close()


def local_security():
    """Mutual TLS with a temporary certificate authority for a local cluster (one line if the
    ``cryptography`` package it needs is missing)."""
    from distributed.security import Security
    try:
        return Security.temporary()
    except ImportError:
        raise JaksimError("--scheduler local needs the 'cryptography' package to secure the cluster with TLS: "
                          "pip install cryptography (or pip install 'jaksim[dask]')") from None


def _worker_version() -> str:
    from jaksim import __version__
    return __version__


def _check_workers(client, scheduler: str, timeout_seconds: float) -> None:
    """At least one worker, and every worker runs this jaksim version (same numbers)."""
    from jaksim import __version__
    try:
        client.wait_for_workers(1, timeout=timeout_seconds)
    except TimeoutError:
        raise JaksimError(f"--scheduler {scheduler}: the scheduler has no workers; start some with "
                          f"'dask worker {scheduler}'") from None
    try:
        versions = client.run(_worker_version)
    except Exception as exc:   # a worker without jaksim cannot load the function it is sent
        raise JaksimError(f"--scheduler {scheduler}: a worker cannot import jaksim ({type(exc).__name__}: "
                          f"{exc}); install jaksim {__version__} on every worker") from None
    wrong = {w: v for w, v in versions.items() if v != __version__}
    if wrong:
        raise JaksimError(f"--scheduler {scheduler}: workers run other jaksim versions ({wrong}); "
                          f"install jaksim {__version__} on every worker")
