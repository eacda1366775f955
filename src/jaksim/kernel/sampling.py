"""The numba kernel: exact event sampling for a chunk of patients, named arrays in and out.

Each (patient, infection type) owns a unit-rate Poisson process: its events happen when the
type's cumulative hazard reaches successive Exp(1) targets drawn from the type's own stream
(random time change / next-reaction method). Hazards are piecewise constant between change
points (``patient.py``), so the time to the next target inside a segment is exact: remaining
target / hazard (``events.py``). Background death has its own clock; case fatality,
hospitalisation, seriousness, post-herpetic neuralgia and event-triggered treatment stop are
drawn from the type's consequence stream indexed by event number.

``simulate`` takes a ``kernel.inputs.KernelInputs`` (built and checked by
``kernel.inputs.kernel_inputs``) and works in parallel over blocks of patients. Nothing here
knows of files, configs or pandas.

numba's on-disk cache does not notice edits to *other* modules a cached function calls: after
changing ``events.py``, ``patient.py`` or ``rng.py``, remove the ``*.nbi``/``*.nbc`` files under
``src/jaksim/kernel/__pycache__`` (or set ``NUMBA_CACHE_DIR`` to a fresh folder).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from jaksim.codes import EXIT_HORIZON
from jaksim.kernel.atomic import fetch_add
from jaksim.kernel.events import new_clocks
from jaksim.kernel.inputs import EventBuffer, KernelInputs, PatientOutputs
from jaksim.kernel.jit import JIT, JIT_INLINE, JIT_LOOP
from jaksim.kernel.patient import (
    ChunkTables,
    all_targets_unreachable,
    baseline_age_rates_and_bounds,
    discontinuation_years,
    first_targets,
    follow_patient,
    provably_quiet,
    static_rates_and_bounds,
)
from jaksim.kernel.rng import uniform


@njit(**JIT)
def _max_factor_by_band(hazards):
    """(K, B): the largest on/off-treatment factor × the largest glucocorticoid HR of bands 0..b.

    The band only goes down (tapering): a patient starting in band b never has a larger factor
    than the largest of bands 0..b (a tighter bound of the cumulative hazard: fewer logs)."""
    tot, hr_gc = hazards.time_on_treatment_multiplier, hazards.glucocorticoid_hazard_ratio
    out = np.empty((tot.shape[0], hr_gc.shape[1]))
    for k in range(tot.shape[0]):
        m = hazards.off_treatment_hazard_ratio[k]
        for g in range(tot.shape[1]):
            m = max(m, tot[k, g])
        gmax = hr_gc[k, 0]
        for b in range(hr_gc.shape[1]):
            gmax = max(gmax, hr_gc[k, b])
            out[k, b] = m * gmax
    return out


@njit(**JIT)
def _covariate_factors(log_hazard_ratio):
    """(K, 2**C): hazard-ratio product of every combination of the binary covariates."""
    n_types, n_cov = log_hazard_ratio.shape
    out = np.empty((n_types, 1 << n_cov))
    for k in range(n_types):
        for m in range(1 << n_cov):
            x = 0.0
            for c in range(n_cov):
                if (m >> c) & 1:
                    x += log_hazard_ratio[k, c]
            out[k, m] = np.exp(x)
    return out


@njit(**JIT)
def chunk_tables(hazards, consequences):
    """Tables made once per chunk: covariate HR products, the distinct (log HR per year of age,
    reference age) pairs (one exp per pair and patient instead of one per type), the bound
    factors, and whether hazards can change only at a patient's own schedule."""
    n_types = hazards.base_rate_per_year.shape[0]
    group = np.empty(n_types, dtype=np.int64)
    group_log_hr = np.empty(n_types)
    group_ref = np.empty(n_types)
    n_groups = 0
    for k in range(n_types):
        found = -1
        for q in range(n_groups):
            if (group_log_hr[q] == hazards.age_log_hazard_ratio_per_year[k]
                    and group_ref[q] == hazards.reference_age_years[k]):
                found = q
        if found < 0:
            found = n_groups
            group_log_hr[found] = hazards.age_log_hazard_ratio_per_year[k]
            group_ref[found] = hazards.reference_age_years[k]
            n_groups += 1
        group[k] = found
    # constant: no birthdays, no time-on-treatment grid, no taper step after 0, no event-stop
    constant = not hazards.age_advances and hazards.time_on_treatment_edges_years.shape[0] == 0
    for ti in range(hazards.taper_times_years.shape[0]):
        if hazards.taper_times_years[ti] > 0.0:
            constant = False
    for k in range(n_types):
        if consequences.p_stop[k] > 0.0:
            constant = False
    return ChunkTables(_covariate_factors(hazards.log_hazard_ratio), group, group_log_hr, group_ref, n_groups,
                       _max_factor_by_band(hazards), constant,
                       _age_factor_bound(hazards, group_log_hr[:n_groups], group_ref[:n_groups]))


@njit(**JIT)
def _age_factor_bound(hazards, log_hr_per_year, reference_years):
    """(Q, A): the largest baseline-age factor exp(x (age - ref)) of each (log HR, reference age) pair
    over ages [a, a + 1), from its values at both ends (exp and the rounding of x (age - ref) are
    monotone; ``patient.QUIET_SLACK`` covers the last place); (0, A) when age advances."""
    n_ages = hazards.age_hazard_ratio_by_age.shape[1]
    if hazards.age_advances:
        return np.empty((0, n_ages))
    out = np.empty((log_hr_per_year.shape[0], n_ages))
    for q in range(log_hr_per_year.shape[0]):
        for a in range(n_ages):
            out[q, a] = max(np.exp(log_hr_per_year[q] * (a - reference_years[q])),
                            np.exp(log_hr_per_year[q] * ((a + 1) - reference_years[q])))
    return out


@njit(**JIT)
def _first_uniforms(keys, patient_id, lo, hi):
    """The first uniform of every clock (K, hi - lo) and of death (hi - lo,) for patients lo..hi-1,
    in simple loops that vectorise."""
    n = hi - lo
    u_clock = np.empty((keys.clock.shape[0], n))
    for k in range(keys.clock.shape[0]):
        key = keys.clock[k]
        row = u_clock[k]
        for j in range(n):
            row[j] = uniform(key, patient_id[np.uint64(lo + j)], 0)     # unsigned: no wrap-around
    u_death = np.empty(n)
    for j in range(n):
        u_death[j] = uniform(keys.death, patient_id[np.uint64(lo + j)], 0)
    return u_clock, u_death


@njit(**JIT_INLINE)
def _simulate_patient(row, column, u_clock, u_death, clocks, tables, inputs, outputs, events, n_events):
    """Patient ``row`` from t = 0 to exit; returns the block's event count after it.

    A quiet patient (every target above its clock's bound, lazy logs gave +inf, and no
    discontinuation) can have no event: the segments would end at the horizon; skipped."""
    hazards, cohort = inputs.hazards, inputs.cohort
    horizon = hazards.horizon_years
    max_age = hazards.age_hazard_ratio_by_age.shape[1] - 1
    age_now = int(np.floor(cohort.age_years[row]))
    age_end = int(np.floor(cohort.age_years[row] + horizon))
    age_end = min(age_end, max_age)
    age_now = min(age_now, max_age)
    if tables.age_factor_bound.shape[0] > 0 and cohort.age_years[row] < max_age + 1:   # baseline-age model
        if provably_quiet(clocks, tables, inputs, row, age_now, u_clock, u_death, column):
            outputs.follow_up_years[row] = horizon
            outputs.exit_reason[row] = EXIT_HORIZON
            outputs.stop_time_years[row] = np.nan
            for k in range(hazards.base_rate_per_year.shape[0]):
                outputs.event_counts[row, k] = 0
                outputs.first_event_years[row, k] = np.nan
            return n_events
        baseline_age_rates_and_bounds(clocks, tables, hazards, cohort, inputs.vaccination, row)
    else:
        static_rates_and_bounds(clocks, tables, hazards, cohort, inputs.vaccination, row, age_now, age_end)
    first_targets(clocks, hazards, outputs, row, cohort.covariates[row, 0], age_now, age_end, u_clock, u_death,
                  column)
    t_disc = discontinuation_years(hazards, inputs.keys.discontinuation, cohort.patient_id[row],
                                   inputs.vaccination.treatment_start_years[row])
    if not t_disc < horizon and all_targets_unreachable(clocks):
        outputs.follow_up_years[row] = horizon
        outputs.exit_reason[row] = EXIT_HORIZON
        outputs.stop_time_years[row] = np.nan
        return n_events
    return follow_patient(clocks, tables, inputs, outputs, events, n_events, row, age_now, t_disc)


@njit(**JIT_LOOP)
def _simulate_patients(lo, hi, u_clock, u_death, clocks, tables, inputs, outputs, events):
    """Patients lo..hi-1 of a block (no allocation, no reference counting); returns the events."""
    n_events = 0
    for row in range(lo, hi):
        # unsigned row and column: numba wraps negative signed indices around (a select and the
        # array's shape at every access); these are never negative
        n_events = _simulate_patient(np.uint64(row), np.uint64(row - lo), u_clock, u_death, clocks, tables, inputs,
                                     outputs, events, n_events)
    return n_events


@njit(**JIT)
def _simulate_block(b, block_size, cap, cohort, hazards, vaccination, consequences, keys, tables, outputs,
                    events):
    """Simulate block b (patients b*block_size ..) into ``outputs`` and the block's ``cap`` event
    slots; return the number of events (more than ``cap`` when the slots overflowed)."""
    lo = b * block_size
    hi = min(cohort.patient_id.shape[0], lo + block_size)
    u_clock, u_death = _first_uniforms(keys, cohort.patient_id, lo, hi)
    return _simulate_patients(lo, hi, u_clock, u_death, new_clocks(hazards.frailty_variance), tables,
                              KernelInputs(cohort, hazards, vaccination, consequences, keys), outputs,
                              _block_events(events, b * cap, (b + 1) * cap))


@njit(**JIT)
def _empty_outputs(n, n_types, n_slots):
    """Uninitialised per-patient outputs of n patients and an event buffer of n_slots."""
    return (PatientOutputs(np.empty(n), np.empty(n, dtype=np.int8), np.empty(n),
                           np.empty((n, n_types), dtype=np.int32), np.empty((n, n_types))),
            EventBuffer(np.empty(n_slots, dtype=np.int64), np.empty(n_slots, dtype=np.int16), np.empty(n_slots),
                        np.empty(n_slots, dtype=np.int32), np.empty(n_slots, dtype=np.uint8)))


@njit(**JIT)
def _block_events(events, lo, hi):
    """The slots lo..hi-1 of an event buffer (views)."""
    return EventBuffer(events.patient_id[lo:hi], events.type[lo:hi], events.time_years[lo:hi],
                       events.number[lo:hi], events.flags[lo:hi])


@njit(parallel=True, **JIT)
def _simulate_blocks(cohort, hazards, vaccination, consequences, keys, tables, outputs, events, block_counts,
                     block_size, cap, workers):
    """Every block of the chunk, in parallel: ``workers`` tasks (one per thread), each taking the
    next block from an atomic counter until none is left (``kernel.atomic``; a block's output does
    not depend on the thread). Named tuples reach the parallel loop only as flat arguments: numba's
    parfor lowering rejects nested ones, and one made inside this function and written in the loop
    silently lost the writes (numba 0.68)."""
    n_blocks = block_counts.shape[0]
    next_block = np.zeros(1, dtype=np.int64)
    for _ in prange(min(workers, n_blocks)):
        b = fetch_add(next_block, 0, 1)
        while b < n_blocks:
            block_counts[b] = _simulate_block(b, block_size, cap, cohort, hazards, vaccination, consequences, keys,
                                              tables, outputs, events)
            b = fetch_add(next_block, 0, 1)


@njit(**JIT)
def simulate(inputs, block_size, cap, workers):
    """Simulate every patient of a chunk, parallel over blocks of ``block_size`` patients.

    Parameters
    ----------
    inputs : KernelInputs
        The chunk's patients and the arm's hazards (``kernel.inputs.kernel_inputs``).
    block_size : int
        Patients per parallel task.
    cap : int
        Event slots per block.
    workers : int
        Parallel tasks, one per numba thread (``numba.get_num_threads()``).

    Returns
    -------
    (PatientOutputs, EventBuffer, block_counts)
        The chunk's events, dense (patient order, time order within a patient), and the number
        of events of each block. When a block's count exceeds ``cap`` (it wrote only ``cap``
        events) the EventBuffer is empty and the caller reruns with a larger cap (results are a
        pure function of the patient, so the rerun is identical).
    """
    n = inputs.cohort.patient_id.shape[0]
    nb = (n + block_size - 1) // block_size
    outputs, events = _empty_outputs(n, inputs.hazards.base_rate_per_year.shape[0], nb * cap)
    block_counts = np.zeros(nb, dtype=np.int64)
    tables = chunk_tables(inputs.hazards, inputs.consequences)
    _simulate_blocks(inputs.cohort, inputs.hazards, inputs.vaccination, inputs.consequences, inputs.keys, tables,
                     outputs, events, block_counts, block_size, cap, workers)
    return outputs, _dense_events(block_counts, cap, events), block_counts


@njit(**JIT)
def _dense_events(block_counts, cap, events):
    """The blocks' event slots concatenated (patient order, time order); empty when a block
    overflowed its ``cap`` slots. Each block is copied by the thread that is likely to hold it
    in cache (in the kernel's call, no serial copy between chunks)."""
    offsets = np.empty(block_counts.shape[0] + 1, dtype=np.int64)
    offsets[0] = 0
    for b in range(block_counts.shape[0]):
        if block_counts[b] > cap:
            return _empty_outputs(0, 0, 0)[1]
        offsets[b + 1] = offsets[b] + block_counts[b]
    out = _empty_outputs(0, 0, offsets[-1])[1]
    _copy_blocks(offsets, cap, events, out)
    return out


@njit(parallel=True, **JIT)
def _copy_blocks(offsets, cap, events, out):
    """Copy every block's events to its place in ``out``, in parallel. The copy is in a called
    function: slice writes to a named tuple's field made in the parallel loop's own body were
    lost (numba 0.68)."""
    for b in prange(offsets.shape[0] - 1):
        _copy_block(b * cap, offsets[b], offsets[b + 1] - offsets[b], events, out)


@njit(**JIT)
def _copy_block(lo, w, n, events, out):
    """Slots lo..lo+n-1 of ``events`` to w..w+n-1 of ``out`` (slices: memcpy)."""
    out.patient_id[w:w + n] = events.patient_id[lo:lo + n]
    out.type[w:w + n] = events.type[lo:lo + n]
    out.time_years[w:w + n] = events.time_years[lo:lo + n]
    out.number[w:w + n] = events.number[lo:lo + n]
    out.flags[w:w + n] = events.flags[lo:lo + n]
