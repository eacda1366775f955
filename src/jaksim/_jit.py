"""The one place that sets numba's jit policy for every kernel in jaksim."""

import os

#: cache=True keeps compile time out of every run after the first (on-disk cache);
#: error_model="numpy" avoids per-division zero checks in the hot loop (division by
#: zero gives inf, which the kernel handles explicitly); fastmath stays off so results
#: are bit-reproducible across machines with the same numba/LLVM.
JIT = {"cache": True, "nogil": True, "error_model": "numpy"}

# numba's OpenMP workers spin between parallel regions by default. On a small machine shared
# with other work that steals the cores the kernel needs (measured on 2 cores with one busy
# process: 0.207 s vs 0.154 s for 1e6 M0 patients; no difference when the machine is quiet).
# A default only: a user's own OMP_WAIT_POLICY wins. It must be set before numba starts its
# thread pool, i.e. before the first parallel call, which importing jaksim precedes.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
