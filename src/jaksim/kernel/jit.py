"""The one place that sets numba's jit policy for every kernel in jaksim."""

from typing import Any

#: cache=True keeps compile time out of every run after the first (on-disk cache);
#: error_model="numpy" avoids per-division zero checks in the hot loop (division by
#: zero gives inf, which the kernel handles explicitly); fastmath stays off so results
#: are bit-reproducible across machines with the same numba/LLVM.
JIT: dict[str, Any] = {"cache": True, "nogil": True, "error_model": "numpy"}

#: The patient loop of the kernel (``sampling._simulate_patients``): it reads the named input
#: structures (``kernel.inputs``) and allocates nothing. Without the runtime's reference
#: counting: numba increfs and decrefs every array of a named tuple each time the tuple is
#: passed on or taken apart (atomic operations: the kernel ran over 10x slower on M0 with them).
#: ``_nrt`` is numba's flag for it; a helper that allocated would fail to compile here.
JIT_LOOP: dict[str, Any] = {**JIT, "_nrt": False}

#: Helpers of the patient loop (``events.py``, ``patient.py``): inlined at numba's IR level
#: into the loop, so that the named structures never cross a call (passed flattened, a tuple of
#: 30 arrays is some 200 arguments per call) and each helper reads like the step it is.
#: numba's cache does not see edits in another module: after changing a helper, delete
#: ``src/jaksim/kernel/__pycache__/*.nb[ic]`` (or set NUMBA_CACHE_DIR to a new folder).
JIT_INLINE: dict[str, Any] = {**JIT_LOOP, "inline": "always"}
