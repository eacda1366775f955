"""One patient through the horizon: static hazards and bounds, change points, segments.

Hazards are piecewise constant between change points (birthdays, glucocorticoid taper steps,
treatment start, time-on-treatment grid, discontinuation, vaccine doses and waning steps).
A segment runs from one change point to the next; ``events.ring_clocks`` samples its events
exactly; then the change points the segment ended at are passed (``follow_patient``). A patient
whose hazards cannot change has one segment to the horizon without that bookkeeping
(``follow_constant``); both go through ``ring_clocks``, the kernel's one event loop, and a
property test (tests/properties) checks that they give the same output bit for bit.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from jaksim.codes import BOUND_FACTOR, EXIT_HORIZON
from jaksim.kernel.events import TREATMENT_STOPPED, rebase, ring_clocks
from jaksim.kernel.frailty import first_target
from jaksim.kernel.jit import JIT_INLINE
from jaksim.kernel.rng import exponential_target, lazy_exponential, uniform

#: relative slack of ``provably_quiet``'s bounds over the exact ones (× BOUND_FACTOR): products of the
#: same factors in another order differ by a few units in the last place (1e-16 each)
QUIET_SLACK = BOUND_FACTOR * (1.0 + 1e-9)


class ChunkTables(NamedTuple):
    """Products of an arm's hazards made once per chunk (``sampling.chunk_tables``)."""

    covariate_factor: np.ndarray    # (K, 2**C) HR product of each covariate combination (bit c: covariate c)
    age_group: np.ndarray           # (K,) the type's distinct (log HR per year, reference age) pair
    age_group_log_hr_per_year: np.ndarray  # (K,) first n_age_groups used
    age_group_reference_years: np.ndarray  # (K,)
    n_age_groups: int
    max_factor_by_band: np.ndarray  # (K, B) largest treatment × glucocorticoid factor from a band on
    constant: bool                  # no birthday, time-on-treatment grid, taper after 0, event-stop
    age_factor_bound: np.ndarray    # (Q, A) baseline-age model: the largest age factor of pair q over
    #                                 ages [a, a + 1) (``provably_quiet``); (0, A) when age advances


class ChangePoints(NamedTuple):
    """Where a patient stands among the change points of the hazards at time t."""

    completed_age: int            # years (may pass the table's last age; read capped)
    next_birthday_years: float    # +inf at baseline age
    band: int                     # glucocorticoid band
    taper_index: int              # next taper step
    started: bool                 # treatment has started
    on_treatment: bool
    tot_index: int                # time-on-treatment interval
    stop_time_years: float        # NaN until treatment stops
    doses: int                    # vaccine doses received
    last_dose_years: float
    waning_step: int              # waning steps since the last dose
    activity_phase: int           # disease activity: 0 before control, 1 controlled (if on treatment), 2 after


@njit(**JIT_INLINE)
def _covariate_mask(covariates, row):
    """Bit c set when the patient has binary covariate c (index of ``covariate_factor``)."""
    mask = 0
    for c in range(covariates.shape[1]):
        if covariates[row, c]:
            mask |= 1 << c
    return mask


@njit(**JIT_INLINE)
def _own_bound_factors(bound, vaccination, row, k):
    """A bound of type k's cumulative hazard × the patient's own factors: the screening hazard
    ratio and the larger disease-activity multiplier."""
    if vaccination.patient_hazard_ratio.shape[0] > 0:
        bound *= vaccination.patient_hazard_ratio[row, k]
    activity = vaccination.activity_hazard_ratio
    if activity.shape[0] > 0:
        bound *= max(activity[0, k], activity[1, k])
    return bound


@njit(**JIT_INLINE)
def _set_rate_and_bound(clocks, vaccination, row, k, rate_per_year, bound):
    """Clock k's static rate and bound (× BOUND_FACTOR) after the patient's own factors (the
    screening hazard ratio on both)."""
    if vaccination.patient_hazard_ratio.shape[0] > 0:
        rate_per_year *= vaccination.patient_hazard_ratio[row, k]
    clocks.static_rate_per_year[k] = rate_per_year
    clocks.target_bound[k] = _own_bound_factors(bound, vaccination, row, k) * BOUND_FACTOR


@njit(**JIT_INLINE)
def _baseline_age_factors(clocks, tables, cohort, row):
    """The baseline-age model's age factor exp(x (age - ref)) of each distinct (log HR, reference
    age) pair of the arm's types, into ``clocks.age_factor``."""
    for q in range(tables.n_age_groups):
        clocks.age_factor[q] = np.exp(tables.age_group_log_hr_per_year[q]
                                      * (cohort.age_years[row] - tables.age_group_reference_years[q]))


@njit(**JIT_INLINE)
def static_rates_and_bounds(clocks, tables, hazards, cohort, vaccination, row, age_now, age_end):
    """Each type's hazard part that never changes for the patient and the bound of its cumulative
    hazard over the horizon (× BOUND_FACTOR): the largest factors the patient can reach (the
    per-patient factors of screening, the larger disease-activity multiplier)."""
    horizon = hazards.horizon_years
    mask = np.uint64(_covariate_mask(cohort.covariates, row))     # unsigned indices: no wrap-around
    indication = np.uint64(cohort.indication[row])
    region = np.uint64(cohort.region[row])
    band = np.uint64(cohort.glucocorticoid_band[row])
    if not hazards.age_advances:
        _baseline_age_factors(clocks, tables, cohort, row)
    for k in range(hazards.base_rate_per_year.shape[0]):
        if hazards.age_advances:
            s = (hazards.base_rate_per_year[k, indication] * tables.covariate_factor[k, mask]
                 * hazards.region_hazard_ratio[k, region])
            f0 = hazards.age_hazard_ratio_by_age[k, age_now]
            f1 = hazards.age_hazard_ratio_by_age[k, age_end]
            bound = s * tables.max_factor_by_band[k, band] * (max(f1, f0)) * horizon
        else:       # baseline age: the age factor of the type's (age HR, reference age) pair
            s = (hazards.base_rate_per_year[k, indication] * tables.covariate_factor[k, mask]
                 * hazards.region_hazard_ratio[k, region] * clocks.age_factor[np.uint64(tables.age_group[k])])
            bound = s * tables.max_factor_by_band[k, band] * horizon
        _set_rate_and_bound(clocks, vaccination, row, k, s, bound)


@njit(**JIT_INLINE)
def _death_rate_bound(hazards, sex, age_now, age_end):
    """Largest background mortality (per year) the patient can reach over the horizon."""
    if not hazards.age_advances:
        return hazards.mortality_rate_per_year[sex, np.uint64(age_now)]
    mu_bound = 0.0
    for a in range(age_now, age_end + 1):
        mu_bound = max(mu_bound, hazards.mortality_rate_per_year[sex, a])
    return mu_bound


@njit(**JIT_INLINE)
def first_targets(clocks, hazards, outputs, row, sex, age_now, age_end, u_clock, u_death, column):
    """Each clock's first target from its first uniform (lazily: +inf above the bound): Exp(1), or
    Lomax for a type with frailty (``kernel.frailty``); the patient's event counts set to 0."""
    n_types = hazards.base_rate_per_year.shape[0]
    for k in range(n_types):
        clocks.target_left[k] = first_target(u_clock[k, column], clocks.target_bound[k], clocks.frailty_variance[k],
                                             clocks.frailty_shape[k])
        clocks.drawn_target[k] = clocks.target_left[k]
        clocks.hazard_at_event[k] = 0.0
        outputs.event_counts[row, k] = 0
        outputs.first_event_years[row, k] = np.nan
    mu_bound = _death_rate_bound(hazards, sex, age_now, age_end)
    clocks.target_left[np.uint64(n_types)] = lazy_exponential(u_death[column],
                                                              mu_bound * hazards.horizon_years * BOUND_FACTOR)


@njit(**JIT_INLINE)
def all_targets_unreachable(clocks):
    """Whether every clock's target (death's included) is +inf: no clock can ring."""
    for k in range(clocks.target_left.shape[0]):
        if clocks.target_left[k] != np.inf:
            return False
    return True


@njit(**JIT_INLINE)
def provably_quiet(clocks, tables, inputs, row, age_now, u_clock, u_death, column):
    """Whether patient ``row`` provably has no event and no discontinuation over the horizon, by
    bounds that need no ``exp`` (baseline-age model only); False when unsure. Leaves each type's
    rate without its age factor (base × covariate HRs × region HR) in ``clocks.static_rate_per_year``
    for ``baseline_age_rates_and_bounds``.

    Each type's first uniform is compared with a bound no smaller than the exact one: the age
    factor's largest value over the patient's year of age (``age_factor_bound``, exact by
    monotonicity) with a relative slack QUIET_SLACK for products taken in another order. A patient
    called quiet would have every target +inf on the exact path too (lazy logs): same output. The
    tests are combined without branches (one branch per patient). About 60% of M0's patients are
    settled here without an exp, a log or a clock."""
    hazards, cohort, vaccination = inputs.hazards, inputs.cohort, inputs.vaccination
    horizon = hazards.horizon_years
    age = np.uint64(age_now)           # unsigned indices: no wrap-around (numba)
    quiet = u_death[column] >= (_death_rate_bound(hazards, cohort.covariates[row, 0], age_now, age_now) * horizon
                                * BOUND_FACTOR)
    rate = hazards.discontinuation_rate_per_year
    if rate > 0.0:
        u_disc = uniform(inputs.keys.discontinuation, cohort.patient_id[row], 0)
        quiet = quiet & (u_disc >= rate * horizon * BOUND_FACTOR)
    mask = np.uint64(_covariate_mask(cohort.covariates, row))
    indication, region = np.uint64(cohort.indication[row]), np.uint64(cohort.region[row])
    band = np.uint64(cohort.glucocorticoid_band[row])
    for k in range(hazards.base_rate_per_year.shape[0]):
        s = (hazards.base_rate_per_year[k, indication] * tables.covariate_factor[k, mask]
             * hazards.region_hazard_ratio[k, region])
        clocks.static_rate_per_year[k] = s
        bound = s * tables.age_factor_bound[np.uint64(tables.age_group[k]), age] * tables.max_factor_by_band[k, band] \
            * horizon * QUIET_SLACK
        quiet = quiet & (u_clock[k, column] >= _own_bound_factors(bound, vaccination, row, k))
    return quiet


@njit(**JIT_INLINE)
def baseline_age_rates_and_bounds(clocks, tables, hazards, cohort, vaccination, row):
    """``static_rates_and_bounds`` of the baseline-age model after ``provably_quiet`` (which left
    base × covariate HRs × region HR in ``static_rate_per_year``): the same products in the same
    order, so the same bits."""
    horizon = hazards.horizon_years
    band = np.uint64(cohort.glucocorticoid_band[row])
    _baseline_age_factors(clocks, tables, cohort, row)
    for k in range(hazards.base_rate_per_year.shape[0]):
        s = clocks.static_rate_per_year[k] * clocks.age_factor[np.uint64(tables.age_group[k])]
        bound = s * tables.max_factor_by_band[k, band] * horizon
        _set_rate_and_bound(clocks, vaccination, row, k, s, bound)


@njit(**JIT_INLINE)
def discontinuation_years(hazards, key, patient_id, start_years):
    """When treatment is discontinued (counted from the actual start; +inf when never)."""
    rate = hazards.discontinuation_rate_per_year
    if rate > 0.0:
        return start_years + exponential_target(key, patient_id, 0, rate * hazards.horizon_years * BOUND_FACTOR) / rate
    return np.inf


@njit(**JIT_INLINE)
def _taper(t_years, taper_index, band, hazards):
    """Pass the taper steps at or before ``t_years``: (next step, band); bands only go down."""
    while taper_index < hazards.taper_times_years.shape[0] and hazards.taper_times_years[taper_index] <= t_years:
        if hazards.taper_band[taper_index] < band:
            band = int(hazards.taper_band[taper_index])
        taper_index += 1
    return taper_index, band


@njit(**JIT_INLINE)
def start_change_points(hazards, vaccination, cohort, row, completed_age):
    """The patient's change points at t = 0 (treatment starts then unless it waits)."""
    on = vaccination.treatment_start_years[row] <= 0.0
    doses, last_dose, step = 0, 0.0, 0
    if vaccination.efficacy_scale[row] > 0.0:
        if vaccination.dose1_years[row] <= 0.0:
            doses, last_dose = 1, vaccination.dose1_years[row]
        if vaccination.dose2_years[row] <= 0.0:
            doses, last_dose = 2, vaccination.dose2_years[row]
        if doses > 0:
            step = int(np.floor((0.0 - last_dose) / vaccination.waning_step_years))
    taper_index, band = _taper(0.0, 0, int(cohort.glucocorticoid_band[row]), hazards)
    next_birthday = np.inf
    if hazards.age_advances:
        next_birthday = completed_age + 1.0 - cohort.age_years[row]
        if next_birthday <= 0.0:
            next_birthday = 1.0
    return ChangePoints(completed_age, next_birthday, band, taper_index, on, on, 0, np.nan, doses, last_dose, step,
                        _activity_phase(vaccination, row, 0.0, 0))


@njit(**JIT_INLINE)
def _activity_phase(vaccination, row, t_years, phase):
    """The disease-activity phase after passing its change points at ``t_years`` (phases only advance)."""
    if vaccination.controlled_from_years.shape[0] == 0:
        return 2
    if phase == 0 and t_years >= vaccination.controlled_from_years[row]:
        phase = 1
    if phase == 1 and t_years >= vaccination.controlled_until_years[row]:
        phase = 2
    return phase


@njit(**JIT_INLINE)
def segment_end(cp, hazards, vaccination, row, t_disc_years):
    """The first change point after the current one (at most the horizon), years."""
    end = hazards.horizon_years
    end = min(end, cp.next_birthday_years)
    if cp.taper_index < hazards.taper_times_years.shape[0] and hazards.taper_times_years[cp.taper_index] < end:
        end = hazards.taper_times_years[cp.taper_index]
    t_begin = vaccination.treatment_start_years[row]
    if not cp.started and t_begin < end:
        end = t_begin
    if cp.on_treatment:
        edges = hazards.time_on_treatment_edges_years
        if cp.tot_index < edges.shape[0] and edges[cp.tot_index] + t_begin < end:
            end = edges[cp.tot_index] + t_begin
        end = min(end, t_disc_years)
    if vaccination.efficacy_scale[row] > 0.0:
        if cp.doses == 0 and vaccination.dose1_years[row] < end:
            end = vaccination.dose1_years[row]
        elif cp.doses == 1 and vaccination.dose2_years[row] < end:
            end = vaccination.dose2_years[row]
        if cp.doses > 0:
            step_end = cp.last_dose_years + (cp.waning_step + 1) * vaccination.waning_step_years
            end = min(end, step_end)
    if cp.activity_phase == 0:
        end = min(end, vaccination.controlled_from_years[row])
    elif cp.activity_phase == 1:
        end = min(end, vaccination.controlled_until_years[row])
    return end


@njit(**JIT_INLINE)
def _vaccine_multiplier(cp, vaccination, row):
    """1 − the patient's vaccine efficacy now (1 when unvaccinated or before the first dose)."""
    scale = vaccination.efficacy_scale[row]
    if scale > 0.0 and cp.doses > 0:
        table = vaccination.efficacy_table
        last = table.shape[2] - 1
        return 1.0 - scale * table[vaccination.age_group[row], cp.doses,
                                   min(cp.waning_step, last)]
    return 1.0


@njit(**JIT_INLINE)
def set_segment_hazards(clocks, cp, hazards, vaccination, row, sex, t_years, first):
    """Every clock's hazard for the segment from ``t_years`` (re-based when it changes);
    returns the completed age the segment's tables are read at."""
    max_age = hazards.age_hazard_ratio_by_age.shape[1] - 1
    age = min(cp.completed_age, max_age)
    vm = _vaccine_multiplier(cp, vaccination, row)
    n_types = hazards.base_rate_per_year.shape[0]
    activity = vaccination.activity_hazard_ratio.shape[0] > 0
    controlled = 1 if cp.activity_phase == 1 and cp.on_treatment else 0
    for k in range(n_types):
        lk = clocks.static_rate_per_year[k] * hazards.glucocorticoid_hazard_ratio[k, cp.band]
        if hazards.age_advances:
            lk *= hazards.age_hazard_ratio_by_age[k, age]
        if cp.on_treatment:
            lk *= hazards.time_on_treatment_multiplier[k, cp.tot_index]
        else:
            lk *= hazards.off_treatment_hazard_ratio[k]
        if vaccination.target[k]:
            lk *= vm
        if activity:
            lk *= vaccination.activity_hazard_ratio[controlled, k]
        rebase(clocks, k, t_years, lk, first)
    rebase(clocks, n_types, t_years, hazards.mortality_rate_per_year[sex, age], first)
    return age


@njit(**JIT_INLINE)
def _vaccine_doses(t_years, cp, vaccination, row):
    """(doses, last dose, waning step) after passing the dose and waning change points at t."""
    doses, last_dose, step = cp.doses, cp.last_dose_years, cp.waning_step
    if vaccination.efficacy_scale[row] > 0.0:
        if doses == 0 and t_years >= vaccination.dose1_years[row]:
            doses, last_dose, step = 1, vaccination.dose1_years[row], 0
        if doses == 1 and t_years >= vaccination.dose2_years[row]:
            doses, last_dose, step = 2, vaccination.dose2_years[row], 0
        while doses > 0 and t_years >= last_dose + (step + 1) * vaccination.waning_step_years:
            step += 1
    return doses, last_dose, step


@njit(**JIT_INLINE)
def pass_change_points(t_years, cp, hazards, vaccination, row, t_disc_years):
    """The change points after passing those at ``t_years`` (the end of a segment)."""
    age, next_birthday = cp.completed_age, cp.next_birthday_years
    if hazards.age_advances and t_years >= next_birthday:
        age += 1
        next_birthday += 1.0
    taper_index, band = _taper(t_years, cp.taper_index, cp.band, hazards)
    doses, last_dose, step = _vaccine_doses(t_years, cp, vaccination, row)
    started, on, g, stop = cp.started, cp.on_treatment, cp.tot_index, cp.stop_time_years
    t_begin = vaccination.treatment_start_years[row]
    if not started and t_years >= t_begin:
        started = True
        on = True
    if on:
        edges = hazards.time_on_treatment_edges_years
        while g < edges.shape[0] and edges[g] + t_begin <= t_years:
            g += 1
        if t_years >= t_disc_years:
            on = False
            stop = t_years
    return ChangePoints(age, next_birthday, band, taper_index, started, on, g, stop, doses, last_dose, step,
                        _activity_phase(vaccination, row, t_years, cp.activity_phase))


@njit(**JIT_INLINE)
def _stopped(cp, t_years):
    """The change points after an event stopped treatment at ``t_years``."""
    return ChangePoints(cp.completed_age, cp.next_birthday_years, cp.band, cp.taper_index, cp.started, False,
                        cp.tot_index, t_years, cp.doses, cp.last_dose_years, cp.waning_step, cp.activity_phase)


@njit(**JIT_INLINE)
def follow_constant(clocks, inputs, outputs, events, n_events, row, completed_age):
    """A patient whose hazards cannot change (on treatment from 0, no change point, no vaccine,
    no event-triggered stop): one segment to the horizon, the hazards of ``set_segment_hazards``
    without its bookkeeping (the vaccine factor would be 1, the age factor baseline)."""
    hazards, cohort = inputs.hazards, inputs.cohort
    band = np.uint64(_taper(0.0, 0, int(cohort.glucocorticoid_band[row]), hazards)[1])
    n_types = hazards.base_rate_per_year.shape[0]
    for k in range(n_types):
        lk = clocks.static_rate_per_year[k] * hazards.glucocorticoid_hazard_ratio[k, band]
        lk *= hazards.time_on_treatment_multiplier[k, 0]
        rebase(clocks, k, 0.0, lk, True)
    rebase(clocks, np.uint64(n_types), 0.0,
           hazards.mortality_rate_per_year[cohort.covariates[row, 0], np.uint64(completed_age)], True)
    t, outcome, n_events = ring_clocks(clocks, hazards.horizon_years, True, completed_age, row,
                                       cohort.patient_id[row], inputs.consequences, inputs.keys, outputs, events,
                                       n_events)
    outputs.follow_up_years[row] = min(hazards.horizon_years, t)
    outputs.exit_reason[row] = outcome if outcome >= 0 else EXIT_HORIZON
    outputs.stop_time_years[row] = np.nan
    return n_events


@njit(**JIT_INLINE)
def follow_patient(clocks, tables, inputs, outputs, events, n_events, row, completed_age, t_disc_years):
    """Segments from t = 0 to the patient's exit; the exit written to ``outputs``; returns the
    block's event count. ``follow_constant`` when the hazards cannot change."""
    hazards, vaccination, cohort = inputs.hazards, inputs.vaccination, inputs.cohort
    horizon = hazards.horizon_years
    patient_id, sex = cohort.patient_id[row], cohort.covariates[row, 0]
    if (tables.constant and vaccination.treatment_start_years[row] <= 0.0
            and not t_disc_years < horizon and not vaccination.efficacy_scale[row] > 0.0
            and vaccination.activity_hazard_ratio.shape[0] == 0):
        return follow_constant(clocks, inputs, outputs, events, n_events, row, completed_age)
    cp = start_change_points(hazards, vaccination, cohort, row, completed_age)
    t = 0.0
    first = True
    reason = EXIT_HORIZON
    while True:
        end = segment_end(cp, hazards, vaccination, row, t_disc_years)
        age = set_segment_hazards(clocks, cp, hazards, vaccination, row, sex, t, first)
        first = False
        t, outcome, n_events = ring_clocks(clocks, end, cp.on_treatment, age, row, patient_id,
                                           inputs.consequences, inputs.keys, outputs, events, n_events)
        if outcome >= 0:
            reason = outcome
            break
        if outcome == TREATMENT_STOPPED:   # hazards change now: the next segment re-bases clocks
            cp = _stopped(cp, t)
        if t >= horizon:
            break
        cp = pass_change_points(t, cp, hazards, vaccination, row, t_disc_years)
    outputs.follow_up_years[row] = min(horizon, t)
    outputs.exit_reason[row] = reason
    outputs.stop_time_years[row] = cp.stop_time_years
    return n_events
