"""Set-up of the worker processes of a local Dask cluster that jaksim starts (``run.scaleout``).

Imported only when such a cluster is started, since it needs Dask distributed.
"""

from __future__ import annotations

from distributed.diagnostics.plugin import WorkerPlugin


class KeepFreedMemory(WorkerPlugin):
    """The allocator setting of ``jaksim run`` (``run.memory.keep_freed_memory``) in each worker.

    Dask starts its worker processes with ``MALLOC_TRIM_THRESHOLD_=65536``, which hands every
    freed array back to the kernel, so each draw faulted in fresh pages: measured on 2 cores,
    the economics of a draw took 4-9x longer in a worker than in process. The worker processes
    of a local cluster are jaksim's own, so the setting is applied there; a remote cluster's
    workers are the user's, and are left as configured.
    """

    name = "jaksim-keep-freed-memory"

    def setup(self, worker) -> None:
        from jaksim.run.memory import keep_freed_memory
        keep_freed_memory()
