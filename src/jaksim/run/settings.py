"""Defaults of a run's chunking and checkpointing (``jaksim run --chunk-size``, ``--checkpoint-every``).

A module without imports, so that the command line shows the defaults without loading the engine.
"""

#: patient-arms per chunk by default. Each chunk costs some fixed work besides its patients (Python
#: bookkeeping, numba's unboxing of the kernel's named inputs, the end of each parallel pass), so
#: larger chunks run faster: one arm, 2**18 patients against 2**16, M0 simulation 7-10% faster on 2
#: threads and a 10^7-patient run 13-20% faster (``benchmarks/README.md``, session 11). Every arm's
#: kernel output of a chunk is kept until all arms have run it (paired contrasts), so memory grows
#: with patients x arms: the default holds that product, not the patients, to 2**18.
CHUNK_PATIENT_ARMS = 1 << 18
#: the smallest default chunk (the default of every run before session 11)
MIN_DEFAULT_CHUNK = 1 << 16
#: patients per checkpoint segment: one Parquet part of events and of patients per arm each
CHECKPOINT_PATIENTS = 1 << 22
#: patient rows that may wait on the Parquet writing thread (``output.parquet.WriteQueue``): memory
#: bound of a run whose writing is slower than its simulation, whatever the chunk size
PENDING_ROWS = 1 << 19


def default_chunk_size(n_arms: int) -> int:
    """Patients per chunk when none is given: the largest power of two up to ``CHUNK_PATIENT_ARMS``
    patient-arms, at least ``MIN_DEFAULT_CHUNK`` (1 arm 262,144; 2 arms 131,072; 3 or more 65,536).
    Results do not depend on it (byte-identical output whatever the chunk size)."""
    size = CHUNK_PATIENT_ARMS
    while size > MIN_DEFAULT_CHUNK and size * max(1, n_arms) > CHUNK_PATIENT_ARMS:
        size //= 2
    return size


def pending_batches(chunk_size: int) -> int:
    """Record batches the write queue may hold for chunks of ``chunk_size`` patients: about
    ``PENDING_ROWS`` patient rows (a chunk puts one batch of events and one of patients per arm),
    at least 4 and at most 256."""
    return max(4, min(256, 2 * PENDING_ROWS // max(1, chunk_size)))
