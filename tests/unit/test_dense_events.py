"""The kernel's event compaction (``sampling._dense_events``): blocks' slots made dense, in parallel.

numba 0.68 silently dropped slice writes made in a parallel loop's own body to a named tuple's
field (the first version of this copy returned uninitialised memory); these tests compare the
copy with numpy's concatenation of the same slots, value by value.
"""

from __future__ import annotations

import numpy as np
import pytest

from jaksim.kernel import sampling
from jaksim.kernel.inputs import EventBuffer


def _buffer(n_slots: int, seed: int) -> EventBuffer:
    """An event buffer whose every slot holds distinct values in every field."""
    rng = np.random.default_rng(seed)
    pid = rng.permutation(n_slots).astype(np.int64) + 10**12
    return EventBuffer(pid, (pid % 30_000).astype(np.int16), rng.random(n_slots),
                       (pid % 2**31).astype(np.int32), (pid % 251).astype(np.uint8))


@pytest.mark.parametrize("n_blocks, cap, seed", [(1, 1, 0), (4, 5, 1), (37, 64, 2), (200, 13, 3)])
def test_dense_events_are_the_blocks_slots_in_block_order(n_blocks, cap, seed):
    events = _buffer(n_blocks * cap, seed)
    counts = np.random.default_rng(seed).integers(0, cap + 1, n_blocks).astype(np.int64)
    counts[0] = 0 if n_blocks > 1 else counts[0]          # an empty block among them
    dense = sampling._dense_events(counts, cap, events)
    take = np.concatenate([np.arange(b * cap, b * cap + counts[b]) for b in range(n_blocks)]).astype(np.int64)
    for field in EventBuffer._fields:
        got, want = getattr(dense, field), getattr(events, field)[take]
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want, err_msg=field)


def test_an_overflowing_block_gives_an_empty_buffer():
    cap = 8
    events = _buffer(3 * cap, 4)
    dense = sampling._dense_events(np.array([2, cap + 1, 3], dtype=np.int64), cap, events)
    assert all(getattr(dense, f).shape == (0,) for f in EventBuffer._fields)
    full = sampling._dense_events(np.array([cap, cap, cap], dtype=np.int64), cap, events)
    np.testing.assert_array_equal(full.patient_id, events.patient_id)
