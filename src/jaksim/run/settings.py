"""Defaults of a run's chunking and checkpointing (``jaksim run --chunk-size``, ``--checkpoint-every``).

A module without imports, so that the command line shows the defaults without loading the engine.
"""

#: patients simulated per chunk by default. Each chunk costs some fixed work besides its patients:
#: Python bookkeeping, numba's unboxing of the kernel's named inputs, the wait for the slower thread
#: at the end of each parallel pass. 2**18 amortises it: M0 simulation 7-10% faster than with 2**16
#: on 2 threads (``benchmarks/README.md``, session 11), same output bit for bit (results do not
#: depend on the chunk size); a chunk's arrays stay within a few tens of MB.
DEFAULT_CHUNK_SIZE = 1 << 18
#: patients per checkpoint segment: one Parquet part of events and of patients per arm each
CHECKPOINT_PATIENTS = 1 << 22
#: patient rows that may wait on the Parquet writing thread (``output.parquet.WriteQueue``): memory
#: bound of a run whose writing is slower than its simulation, whatever the chunk size
PENDING_ROWS = 1 << 19


def pending_batches(chunk_size: int) -> int:
    """Record batches the write queue may hold for chunks of ``chunk_size`` patients: about
    ``PENDING_ROWS`` patient rows (a chunk puts one batch of events and one of patients per arm),
    at least 4 and at most 256."""
    return max(4, min(256, 2 * PENDING_ROWS // max(1, chunk_size)))
