"""A patient's clocks and the one event loop that rings them, with each event's consequences.

Each infection type k of a patient has a clock: an Exp(1) target of cumulative hazard, spent at
the type's current ``rate_per_year`` since ``rebased_at_years``; it rings at ``rings_at_years``.
Slot K of the clock arrays is background death. ``ring_clocks`` is the only event loop of the
kernel: every patient's segments, the constant-hazard patient's single one included, go
through it, so both kinds of patient give the same events bit for bit.

A clock is re-based only when its own hazard changes, so a type's event times do not depend,
not even in the last bit, on other types' events or on change points of other types' hazards
(common random numbers across arms).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from jaksim.codes import (
    EXIT_BACKGROUND_DEATH,
    EXIT_INFECTION_DEATH,
    FATAL,
    HOSPITALISED,
    ON_TREATMENT,
    POST_HERPETIC_NEURALGIA,
    SERIOUS,
    STOPS_TREATMENT,
)
from jaksim.kernel.frailty import frailty_gap
from jaksim.kernel.jit import JIT, JIT_INLINE
from jaksim.kernel.rng import MAX_INDEX, exponential_target, uniform

#: consequence draws per event: counter 8*j + q for event j, q = 0 fatal, 1 hospitalised,
#: 2 serious, 3 treatment stop, 4 post-herpetic neuralgia (5-7 reserved)
DRAWS_PER_EVENT = 8
MAX_EVENTS_PER_TYPE = MAX_INDEX // DRAWS_PER_EVENT
#: ``earliest_clock``: no clock rings before the end of the segment / background death rings
NO_EVENT, DEATH = -2, -1
#: ``ring_clocks`` outcomes besides the exit reasons of death (``codes.EXIT_*``, >= 0)
SEGMENT_END, TREATMENT_STOPPED = -1, -2


class Clocks(NamedTuple):
    """A block's scratch for the clocks of the patient being simulated (slot K: death)."""

    static_rate_per_year: np.ndarray  # (K,) base rate × covariate HRs (× baseline-age HR)
    target_bound: np.ndarray      # (K,) bound of the cumulative hazard over the horizon × BOUND_FACTOR
    target_left: np.ndarray       # (K + 1,) Exp(1) target left at ``rebased_at_years``
    rebased_at_years: np.ndarray  # (K + 1,) last change of the clock's own hazard, or its last event
    rate_per_year: np.ndarray     # (K + 1,) the clock's hazard since ``rebased_at_years``
    rings_at_years: np.ndarray    # (K + 1,) when the target is reached at that hazard (+inf: never)
    age_factor: np.ndarray        # (K,) baseline-age HR of each distinct (log HR, reference age) pair
    frailty_variance: np.ndarray  # (K,) the arm's gamma frailty variance θ_k (0: none; set per block)
    frailty_shape: np.ndarray     # (K,) 1/θ_k (0 where θ_k is 0; set per block)
    drawn_target: np.ndarray      # (K,) the clock's target as drawn (frailty: the gap to the next event)
    hazard_at_event: np.ndarray   # (K,) frailty: cumulative hazard (no frailty factor) at the last event


@njit(**JIT)
def new_clocks(frailty_variance):
    """Scratch clocks for the infection types (one per frailty variance) and background death."""
    n_types = frailty_variance.shape[0]
    return Clocks(np.empty(n_types), np.empty(n_types), np.empty(n_types + 1), np.empty(n_types + 1),
                  np.empty(n_types + 1), np.empty(n_types + 1), np.empty(n_types), frailty_variance.copy(),
                  np.where(frailty_variance > 0.0, 1.0 / np.maximum(frailty_variance, 1e-300), 0.0),
                  np.empty(n_types), np.zeros(n_types))


@njit(**JIT_INLINE)
def ring_time(t_years, target_left, rate_per_year):
    """When a clock with ``target_left`` at ``t_years`` rings at a constant hazard."""
    return t_years + target_left / rate_per_year if rate_per_year > 0.0 else np.inf


@njit(**JIT_INLINE)
def target_left_after(target_left, rate_per_year, dt_years):
    """Target left after ``dt_years`` at ``rate_per_year`` (never below 0: rounding must not move
    an event before the segment it falls in; +inf stays +inf)."""
    r = target_left - rate_per_year * dt_years
    return max(0.0, r)


@njit(**JIT_INLINE)
def rebase(clocks, k, t_years, rate_per_year, first):
    """Give clock k the hazard ``rate_per_year`` from ``t_years``; nothing when it is unchanged
    (``first``: the patient's first segment, every clock is set)."""
    if first or rate_per_year != clocks.rate_per_year[k]:
        if not first:
            clocks.target_left[k] = target_left_after(clocks.target_left[k], clocks.rate_per_year[k],
                                                      t_years - clocks.rebased_at_years[k])
        clocks.rebased_at_years[k] = t_years
        clocks.rate_per_year[k] = rate_per_year
        clocks.rings_at_years[k] = ring_time(t_years, clocks.target_left[k], rate_per_year)


@njit(**JIT_INLINE)
def earliest_clock(rings_at_years, t_end_years):
    """(time, which) of the first clock to ring before ``t_end_years``: which is the type, DEATH,
    or NO_EVENT (then the time is ``t_end_years``); ties go to the lowest type, then to death."""
    death = rings_at_years.shape[0] - 1
    last = np.uint64(death)         # unsigned index: no wrap-around (numba)
    t_min = t_end_years
    which = NO_EVENT
    for k in range(death):
        if rings_at_years[k] < t_min:
            t_min = rings_at_years[k]
            which = k
    if rings_at_years[last] < t_min:
        t_min = rings_at_years[last]
        which = DEATH
    return t_min, which


@njit(**JIT_INLINE)
def next_target(recurrent, key, patient_id, j, target_bound):
    """The Exp(1) target after a type's event number j+1 (+inf when the type does not recur or
    its counters run out); lazy above ``target_bound``."""
    if recurrent and j + 1 < MAX_EVENTS_PER_TYPE:
        return exponential_target(key, patient_id, j + 1, target_bound)
    return np.inf


@njit(**JIT_INLINE)
def next_frailty_target(clocks, k, recurrent, key, patient_id, j):
    """The target after a type's event number j+1 when the type has a gamma frailty: the gap to
    the next event given the j+1 events so far and the cumulative hazard at the last one
    (``kernel.frailty``), from the clock's counter j+1; +inf when the type does not recur."""
    clocks.hazard_at_event[k] += clocks.drawn_target[k]
    if not recurrent or j + 1 >= MAX_EVENTS_PER_TYPE:
        return np.inf
    a = clocks.frailty_shape[k]
    gap = frailty_gap(uniform(key, patient_id, j + 1), clocks.target_bound[k] - clocks.hazard_at_event[k],
                      a + j + 1, a + clocks.hazard_at_event[k])
    clocks.drawn_target[k] = gap
    return gap


@njit(**JIT_INLINE)
def _draw(key, patient_id, index, p):
    """Bernoulli(p) from one counter; no draw needed when p is 0 or 1."""
    if p <= 0.0:
        return False
    if p >= 1.0:
        return True
    return uniform(key, patient_id, index) < p


@njit(**JIT_INLINE)
def event_flags(consequences, k, key, patient_id, j, on_treatment, completed_age):
    """Flags of a patient's event number j+1 of type k: its consequences drawn from the type's
    consequence stream (counters 8j..8j+4); FATAL excludes STOPS_TREATMENT."""
    flags = ON_TREATMENT if on_treatment else 0
    c0 = DRAWS_PER_EVENT * j
    if _draw(key, patient_id, c0 + 1, consequences.p_hospitalised[k]):
        flags |= HOSPITALISED
    if _draw(key, patient_id, c0 + 2, consequences.p_serious[k]):
        flags |= SERIOUS
    if _draw(key, patient_id, c0 + 4, consequences.p_phn_by_age[k, np.uint64(completed_age)]):
        flags |= POST_HERPETIC_NEURALGIA
    if _draw(key, patient_id, c0 + 0, consequences.p_fatal[k]):
        flags |= FATAL
    elif on_treatment and _draw(key, patient_id, c0 + 3, consequences.p_stop[k]):
        flags |= STOPS_TREATMENT
    return flags


@njit(**JIT_INLINE)
def _record(outputs, events, n_events, row, patient_id, k, t_years, flags):
    """Count patient ``row``'s event of type k at ``t_years`` and store it in slot ``n_events`` of
    the block's buffer (when there is room; the caller reruns with a larger one otherwise).
    Returns j, the number of the patient's earlier events of the type."""
    j = outputs.event_counts[row, k]
    outputs.event_counts[row, k] = j + 1
    if j == 0:
        outputs.first_event_years[row, k] = t_years
    if n_events < events.patient_id.shape[0]:
        slot = np.uint64(n_events)     # unsigned index: no wrap-around (numba)
        events.patient_id[slot] = patient_id
        events.type[slot] = k
        events.time_years[slot] = t_years
        events.number[slot] = j + 1
        events.flags[slot] = flags
    return j


@njit(**JIT_INLINE)
def ring_clocks(clocks, t_end_years, on_treatment, completed_age, row, patient_id, consequences, keys,
                outputs, events, n_events):
    """Ring the patient's clocks in time order up to ``t_end_years`` at their current hazards.

    Each event is counted and stored with its consequences; its clock gets the next target.
    Stops at the end of the segment, at death, or when an event stops treatment (the hazards
    change then). Returns (time reached, outcome, events of the block so far): the outcome is
    SEGMENT_END, TREATMENT_STOPPED or the exit reason of a death.
    """
    while True:
        t, which = earliest_clock(clocks.rings_at_years, t_end_years)
        if which == NO_EVENT:
            return t, SEGMENT_END, n_events
        if which == DEATH:
            return t, EXIT_BACKGROUND_DEATH, n_events
        k = np.uint64(which)        # unsigned index: no wrap-around (numba)
        key = keys.consequence[k]
        flags = event_flags(consequences, k, key, patient_id, outputs.event_counts[row, k], on_treatment,
                            completed_age)
        j = _record(outputs, events, n_events, row, patient_id, k, t, flags)
        n_events += 1
        if flags & FATAL:
            return t, EXIT_INFECTION_DEATH, n_events
        if clocks.frailty_variance[k] > 0.0:
            clocks.target_left[k] = next_frailty_target(clocks, k, consequences.recurrent[k], keys.clock[k],
                                                        patient_id, j)
        else:
            clocks.target_left[k] = next_target(consequences.recurrent[k], keys.clock[k], patient_id, j,
                                                clocks.target_bound[k])
        clocks.rebased_at_years[k] = t
        clocks.rings_at_years[k] = ring_time(t, clocks.target_left[k], clocks.rate_per_year[k])
        if flags & STOPS_TREATMENT:
            return t, TREATMENT_STOPPED, n_events
