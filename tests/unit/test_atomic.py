"""The kernel's atomic counter (``kernel.atomic.fetch_add``): every task is taken exactly once by
the threads of a parallel loop, whatever their number, and only int64 counters are accepted."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from numba import njit, prange

from jaksim.kernel.atomic import fetch_add


@njit(parallel=True)
def _take(n_tasks, workers, counter):
    """Each worker takes tasks from ``counter`` until none is left; returns how often each task
    was taken and by which worker (the counter is read by the caller: ``kernel.atomic``)."""
    taken = np.zeros(n_tasks, dtype=np.int64)
    by = np.full(n_tasks, -1, dtype=np.int64)
    for w in prange(workers):
        t = fetch_add(counter, 0, 1)
        while t < n_tasks:
            taken[t] += 1             # one writer per task: no race if each is taken once
            by[t] = w
            t = fetch_add(counter, 0, 1)
    return taken, by


def _take_all(n_tasks, workers):
    counter = np.zeros(1, dtype=np.int64)
    taken, by = _take(n_tasks, workers, counter)
    return taken, by, int(counter[0])


@pytest.mark.parametrize("workers", [1, 2, 3, 8])
@pytest.mark.parametrize("n_tasks", [0, 1, 5, 1000, 100_003])
def test_every_task_is_taken_exactly_once(n_tasks, workers):
    taken, by, final = _take_all(n_tasks, workers)
    assert np.all(taken == 1)
    assert np.all((by >= 0) & (by < workers))
    assert final == n_tasks + workers          # each worker's last fetch finds nothing left


def test_returns_the_value_before_the_addition():
    @njit
    def twice(c):
        a = fetch_add(c, 1, 5)
        b = fetch_add(c, 1, -2)
        return a, b

    c = np.array([7, 10], dtype=np.int64)
    assert twice(c) == (10, 15)
    assert c.tolist() == [7, 13]


def test_only_int64_counters_and_integer_arguments_compile():
    @njit
    def add(c, i, v):
        return fetch_add(c, i, v)

    for counter, index, value in ((np.zeros(1), 0, 1), (np.zeros(1, dtype=np.int32), 0, 1),
                                  (np.zeros(1, dtype=np.int64), 0.0, 1), (np.zeros(1, dtype=np.int64), 0, 1.5)):
        with pytest.raises(numba.core.errors.TypingError):
            add(counter, index, value)
