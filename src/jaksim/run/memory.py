"""Keep freed memory in the process between chunks (glibc malloc thresholds).

A run makes and frees the same few MB of arrays for every chunk (cohort, kernel output,
Arrow batches). With glibc's defaults, blocks above a moving threshold are mapped fresh from
the kernel and the heap top is returned after each chunk, so every chunk touches new pages:
on the 2-core benchmark VM that was up to 27,000 page faults and +35 ms per 10^6 patients
of M0 (the kernel alone takes about 31 ms). Blocks under 32 MiB then come from the heap, and
up to 128 MiB of freed heap is kept for the next chunk; peak memory is unchanged (measured).

Set ``JAKSIM_MALLOC_DEFAULTS=1`` to leave the allocator as it is (e.g. when jaksim is
embedded in a long-lived process that tunes malloc itself). Not glibc: nothing is done.

The console script also starts without Python's cyclic garbage collector
(:func:`pause_collection`, :func:`resume_collection`): start-up creates some 230,000
long-lived objects (numba's registries, scipy, pydantic's schemas), almost none of them
garbage, yet the collector walked all of them again at each full collection (0.2-0.4 s of a
warm 1,000-patient ``jaksim run``, issue 11). Reference counting still frees everything that is
not in a cycle while it is paused; the start-up's own cyclic garbage (about 1,400 objects at a
warm run's first chunk) is frozen with the rest and stays until the process ends. Neither
function changes a number.
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
from contextvars import ContextVar

#: mallopt parameter numbers (glibc malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: glibc's largest allowed mmap threshold on 64-bit systems
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 128 << 20
#: True while the collector is off because :func:`pause_collection` turned it off
_PAUSED: ContextVar[bool] = ContextVar("jaksim_collection_paused", default=False)


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


def pause_collection() -> bool:
    """Turn the cyclic garbage collector off for a process's start-up; True when this call did.

    For the console script only (``cli.main``): the process is jaksim's. Nothing is done when
    the collector is already off (whoever turned it off keeps it so).
    """
    if not gc.isenabled():
        return False
    gc.disable()
    _PAUSED.set(True)
    return True


def resume_collection() -> None:
    """Start-up is over: turn the collector on again, if :func:`pause_collection` turned it off.

    Every object made so far is frozen first (``gc.freeze``: kept out of every later
    collection), so a long run collects its own cyclic garbage as usual without walking the
    start-up's objects again. Idempotent and cheap (called after every chunk of a run).
    """
    if _PAUSED.get():
        _PAUSED.set(False)
        gc.freeze()
        gc.enable()
