"""An atomic counter for numba code: threads of a parallel loop take the next task from it.

numba's OpenMP layer splits a ``prange`` statically (``#pragma omp for`` without a schedule
clause), so when one core is slowed (a shared machine) the other waits for it at the end of
each parallel pass. With ``fetch_add`` each thread takes the next block of patients when it is
done with its last one. Which thread simulates a block never changes the block's output.

numba's parallel passes do not see the atomic's writes: read a counter only after the parallel
function has returned (a read of it after the loop in the same function was moved before the
loop, numba 0.68).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba.core import cgutils, types
from numba.extending import intrinsic


def _fetch_add(typingctx, counter, index, value):
    """``counter[index] += value`` atomically; returns the value before (int64 arrays only)."""
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64
            and isinstance(index, types.Integer) and isinstance(value, types.Integer)):
        return None       # numba reports a typing error: no signature for these arguments
    sig = types.int64(counter, index, value)

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        idx = context.cast(builder, args[1], signature.args[1], types.intp)
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [idx])
        val = context.cast(builder, args[2], signature.args[2], types.int64)
        return builder.atomic_rmw("add", ptr, val, "monotonic")

    return sig, codegen


if TYPE_CHECKING:
    def fetch_add(counter: np.ndarray, index: int, value: int) -> int:
        """``counter[index] += value`` atomically, in numba code; returns the value before."""
else:
    fetch_add = intrinsic(_fetch_add)
