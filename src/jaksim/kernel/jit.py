"""The one place that sets numba's jit policy for every kernel in jaksim."""

from typing import Any

#: cache=True keeps compile time out of every run after the first (on-disk cache);
#: error_model="numpy" avoids per-division zero checks in the hot loop (division by
#: zero gives inf, which the kernel handles explicitly); fastmath stays off so results
#: are bit-reproducible across machines with the same numba/LLVM.
JIT: dict[str, Any] = {"cache": True, "nogil": True, "error_model": "numpy"}
