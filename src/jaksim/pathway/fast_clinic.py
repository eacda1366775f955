"""Compiled fast path of the vaccination clinic (weekly slots, first come first served).

Gives the same dose times, bit for bit, as the SimPy model of ``pathway.clinic`` for the same
seed: it replays SimPy's event order. SimPy processes events by (time, priority, creation
order); every patient has at most one pending event (referral, appointment, recall), created
at the same moments and with the same float arithmetic (``now + delay``) as the SimPy
processes create their timeouts, so a binary heap on (time, creation number) pops them in
SimPy's order, ties included. The weekly slot book is an array over calendar weeks instead of
a dict. The SimPy model stays the readable reference; a test compares the two on the shipped
studies and on random clinics.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from jaksim.kernel.jit import JIT
from jaksim.kernel.rng import uniform

#: what a patient's pending event is
_REFERRAL, _DOSE1_VISIT, _RECALL, _DOSE2_VISIT = 0, 1, 2, 3


@njit(**JIT)
def _push(heap_t, heap_e, heap_p, size, t, e, p):
    """Add (t, e) for patient p to the binary min-heap of ``size`` entries; the new size."""
    i = size
    heap_t[i], heap_e[i], heap_p[i] = t, e, p
    while i > 0:
        parent = (i - 1) >> 1
        if heap_t[parent] < heap_t[i] or (heap_t[parent] == heap_t[i] and heap_e[parent] < heap_e[i]):
            break
        heap_t[i], heap_t[parent] = heap_t[parent], heap_t[i]
        heap_e[i], heap_e[parent] = heap_e[parent], heap_e[i]
        heap_p[i], heap_p[parent] = heap_p[parent], heap_p[i]
        i = parent
    return size + 1


@njit(**JIT)
def _pop(heap_t, heap_e, heap_p, size):
    """Remove the smallest (t, e); returns (t, patient, new size)."""
    t, p = heap_t[0], heap_p[0]
    size -= 1
    heap_t[0], heap_e[0], heap_p[0] = heap_t[size], heap_e[size], heap_p[size]
    i = 0
    while True:
        left, small = 2 * i + 1, i
        for c in (left, left + 1):
            if c < size and (heap_t[c] < heap_t[small] or (heap_t[c] == heap_t[small] and heap_e[c] < heap_e[small])):
                small = c
        if small == i:
            break
        heap_t[i], heap_t[small] = heap_t[small], heap_t[i]
        heap_e[i], heap_e[small] = heap_e[small], heap_e[i]
        heap_p[i], heap_p[small] = heap_p[small], heap_p[i]
        i = small
    return t, p, size


@njit(**JIT)
def _book(used, state, per_week, t, latest):
    """``_Slots.book`` of the SimPy model: the earliest appointment at or after week ``t`` (NaN
    when after ``latest``, nothing booked). ``state``: [first week of ``used``, first free week];
    ``used`` grows by doubling (the new array is returned)."""
    w = max(math.floor(t), state[1])
    while True:
        k = w - state[0]
        if k >= used.shape[0]:
            bigger = np.zeros(max(2 * used.shape[0], k + 1), dtype=np.int64)
            bigger[:used.shape[0]] = used
            used = bigger
        if used[k] < per_week:
            break
        if w == state[1]:
            state[1] += 1
        w += 1
    slot = t if w == math.floor(t) else float(w)
    if slot > latest:
        return np.nan, used
    used[w - state[0]] += 1
    return slot, used


@njit(**JIT)
def clinic_schedule(referral, order, wants_second, per_week, max_wait_weeks, no_show_probability, no_show_key,
                    first_dose_weeks, gap_weeks, gap_years, weeks_per_year):
    """Dose times (years from planned start) and waits (weeks) of the patients ``order`` lists
    (offered ones, by referral time), as ``pathway.clinic.run_pathway`` gives them."""
    n = referral.shape[0]
    dose1 = np.full(n, np.inf)
    dose2 = np.full(n, np.inf)
    wait = np.full(n, np.nan)
    m = order.shape[0]
    if m == 0 or per_week == 0:
        return dose1, dose2, wait
    phase = np.zeros(n, dtype=np.int8)
    ready = np.zeros(n)        # when the current booking was asked for (referral or recall)
    slot = np.zeros(n)         # the booked appointment (weeks)
    attempts = np.zeros(n, dtype=np.int64)
    got1 = np.zeros(n)
    heap_t, heap_e, heap_p = np.empty(m), np.empty(m, dtype=np.int64), np.empty(m, dtype=np.int64)
    t0 = referral[order[0]]
    used = np.zeros(1024, dtype=np.int64)
    state = np.array([math.floor(t0), math.floor(t0)], dtype=np.int64)
    size, created = 0, 0
    for j in range(m):                       # each process's first timeout, at t0 + (referral - t0)
        i = order[j]
        size = _push(heap_t, heap_e, heap_p, size, t0 + (referral[i] - t0), created, i)
        created += 1
    while size > 0:
        now, i, size = _pop(heap_t, heap_e, heap_p, size)
        ph = phase[i]
        if ph == _DOSE1_VISIT or ph == _DOSE2_VISIT:
            attempts[i] += 1
            if no_show_probability <= 0 or uniform(no_show_key, i, attempts[i]) >= no_show_probability:
                if ph == _DOSE2_VISIT:
                    dose2[i] = dose1[i] + gap_years + (slot[i] - ready[i]) / weeks_per_year
                    continue
                got1[i] = slot[i]
                delay1 = slot[i] - ready[i]
                dose1[i] = first_dose_weeks / weeks_per_year if delay1 == 0 else \
                    (first_dose_weeks + delay1) / weeks_per_year
                wait[i] = delay1
                if wants_second[i] and math.isfinite(gap_weeks):
                    recall = got1[i] + gap_weeks
                    phase[i] = _RECALL
                    size = _push(heap_t, heap_e, heap_p, size, now + (recall - now), created, i)
                    created += 1
                continue
            earliest = math.floor(slot[i]) + 1.0      # no-show: rebook from the next week
        else:                                          # referral or recall: book from ready
            ready[i] = referral[i] if ph == _REFERRAL else got1[i] + gap_weeks
            phase[i] = _DOSE1_VISIT if ph == _REFERRAL else _DOSE2_VISIT
            earliest = ready[i]
        s, used = _book(used, state, per_week, earliest, ready[i] + max_wait_weeks)
        if s != s:
            continue                                   # no slot in time: dropped
        slot[i] = s
        size = _push(heap_t, heap_e, heap_p, size, now + max(s - now, 0.0), created, i)
        created += 1
    return dose1, dose2, wait
