"""Keep freed memory in the process between chunks (glibc malloc thresholds).

A run makes and frees the same few MB of arrays for every chunk (cohort, kernel output,
Arrow batches). With glibc's defaults, blocks above a moving threshold are mapped fresh from
the kernel and the heap top is returned after each chunk, so every chunk touches new pages:
on the 2-core benchmark VM that was up to 27,000 page faults and +35 ms per 10^6 patients
of M0 (the kernel alone takes about 31 ms). Blocks under 32 MiB then come from the heap, and
up to 128 MiB of freed heap is kept for the next chunk; peak memory is unchanged (measured).

Set ``JAKSIM_MALLOC_DEFAULTS=1`` to leave the allocator as it is (e.g. when jaksim is
embedded in a long-lived process that tunes malloc itself). Not glibc: nothing is done.
"""

from __future__ import annotations

import ctypes
import os
import sys

#: mallopt parameter numbers (glibc malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: glibc's largest allowed mmap threshold on 64-bit systems
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 128 << 20


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds for this process; True when applied.

    Idempotent; a no-op (False) off Linux, without glibc's ``mallopt``, or when
    ``JAKSIM_MALLOC_DEFAULTS=1``.
    """
    if os.environ.get("JAKSIM_MALLOC_DEFAULTS") == "1" or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # both, or glibc's dynamic threshold stops and every large block is mapped afresh
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
