"""The numba kernel: exact event sampling for a block of patients, arrays in, arrays out.

Each (patient, infection type) owns a unit-rate Poisson process: its events happen when the
type's cumulative hazard reaches successive Exp(1) targets drawn from the type's own stream
(random time change / next-reaction method). Hazards are piecewise constant between change
points (birthdays, glucocorticoid taper steps, treatment start, time-on-treatment grid,
discontinuation, vaccine doses and waning steps), so
the time to the next target inside a segment is exact: remaining target / hazard. Background
death has its own clock; case fatality, hospitalisation, seriousness and event-triggered
treatment stop are drawn from the type's consequence stream indexed by event number.

Nothing here knows of files, configs or pandas; see ``engine.py`` for the caller.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from jaksim.kernel.jit import JIT
from jaksim.kernel.rng import MAX_INDEX, exponential_target, lazy_exponential, uniform

# exit reasons
EXIT_HORIZON, EXIT_BACKGROUND_DEATH, EXIT_INFECTION_DEATH = 0, 1, 2
EXIT_REASONS = ("end_of_horizon", "background_death", "infection_death")
# event flag bits
ON_TREATMENT, HOSPITALISED, SERIOUS, FATAL, STOPS_TREATMENT, POST_HERPETIC_NEURALGIA = 1, 2, 4, 8, 16, 32
#: consequence draws per event: counter 8*j + q for event j, q = 0 fatal, 1 hospitalised,
#: 2 serious, 3 treatment stop, 4 post-herpetic neuralgia (5-7 reserved)
_DRAWS_PER_EVENT = 8
_MAX_EVENTS_PER_TYPE = MAX_INDEX // _DRAWS_PER_EVENT
_NO_EVENT = -2
_DEATH = -1


@njit(**JIT)
def _draw(key, pid, index, p):
    """Bernoulli(p) from one counter; no draw needed when p is 0 or 1."""
    if p <= 0.0:
        return False
    if p >= 1.0:
        return True
    return uniform(key, pid, index) < p


@njit(**JIT)
def _event_flags(ck, p_id, j, on, p_hosp, p_serious, p_phn, p_fatal, p_stop):
    """Flags of a patient's event number j+1 of one type: its consequences drawn from the
    type's consequence stream (counters 8j..8j+4); FATAL and STOPS_TREATMENT among them."""
    flags = ON_TREATMENT if on else 0
    c0 = _DRAWS_PER_EVENT * j
    if _draw(ck, p_id, c0 + 1, p_hosp):
        flags |= HOSPITALISED
    if _draw(ck, p_id, c0 + 2, p_serious):
        flags |= SERIOUS
    if _draw(ck, p_id, c0 + 4, p_phn):
        flags |= POST_HERPETIC_NEURALGIA
    if _draw(ck, p_id, c0 + 0, p_fatal):
        flags |= FATAL
    elif on and _draw(ck, p_id, c0 + 3, p_stop):
        flags |= STOPS_TREATMENT
    return flags


@njit(**JIT)
def _earliest(nxt, nxt_d, t_end):
    """(time, which) of the first clock to ring before ``t_end``: which is the type, _DEATH,
    or _NO_EVENT (then the time is ``t_end``); ties go to the lowest type, then to death."""
    t_min = t_end
    which = _NO_EVENT
    for k in range(nxt.shape[0]):
        if nxt[k] < t_min:
            t_min = nxt[k]
            which = k
    if nxt_d < t_min:
        t_min = nxt_d
        which = _DEATH
    return t_min, which


@njit(**JIT)
def _count_event(counts, first_time, i, k, t):
    """Count patient i's event of type k at time t; return its number before this one (j)."""
    j = counts[i, k]
    counts[i, k] = j + 1
    if j == 0:
        first_time[i, k] = t
    return j


@njit(**JIT)
def _store_event(ev_pid, ev_type, ev_time, ev_num, ev_flags, slot, p_id, k, t, number, flags):
    ev_pid[slot] = p_id
    ev_type[slot] = k
    ev_time[slot] = t
    ev_num[slot] = number
    ev_flags[slot] = flags


@njit(**JIT)
def _ring_time(t, rem, lam):
    """When a clock with target ``rem`` left at time ``t`` rings at constant hazard ``lam``."""
    return t + rem / lam if lam > 0.0 else np.inf


@njit(**JIT)
def _next_target(recurrent, key, p_id, j, upper):
    """The Exp(1) target after a type's event number j+1 (+inf when the type does not recur or
    its counters run out); lazy above ``upper``."""
    if recurrent and j + 1 < _MAX_EVENTS_PER_TYPE:
        return exponential_target(key, p_id, j + 1, upper)
    return np.inf


@njit(**JIT)
def _left(rem, lam, dt):
    """Target left after ``dt`` at hazard ``lam`` (never below 0: rounding must not move an
    event before the segment it falls in; +inf stays +inf)."""
    r = rem - lam * dt
    return r if r > 0.0 else 0.0


@njit(**JIT)
def _simulate_block(lo, hi, pid, age, cov, gc_band, indication, age_advances, horizon,
                    base_rate, hr_gc, age_hr_table, tot_edges, tot_mult,
                    off_hr, recurrent, p_fatal, p_hosp, p_serious, p_stop, disc_rate,
                    taper_times, taper_band, mortality, clock_keys, cons_keys, death_key, disc_key,
                    t_start, vacc1, vacc2, ve_scale, ve_group, ve_table, ve_step, ve_target, p_phn_age,
                    follow_up, exit_reason, stop_time, counts, first_time,
                    ev_pid, ev_type, ev_time, ev_num, ev_flags, ev_base, cap,
                    cov_factor, age_grp, age_grp_log_hr, age_grp_ref, n_age_groups):
    """Simulate patients lo..hi-1; write their events from ev_base; return the event count.

    ``cov_factor[k, mask]``: type k's hazard ratio for the covariate combination ``mask``;
    ``age_grp[k]``: the type's (log HR per year, reference age) pair among the distinct ones.
    """
    K = base_rate.shape[0]
    C = cov.shape[1]
    G = tot_edges.shape[0]
    T = taper_times.shape[0]
    max_age = age_hr_table.shape[1] - 1
    S = ve_table.shape[2]
    s = np.empty(K)
    lam = np.empty(K)
    rem = np.empty(K)
    t0 = np.empty(K)
    nxt = np.empty(K)
    ub = np.empty(K)
    maxfac = np.empty((K, 3))
    age_fac = np.empty(K)
    for k in range(K):
        m = off_hr[k]
        for g in range(G + 1):
            if tot_mult[k, g] > m:
                m = tot_mult[k, g]
        # the glucocorticoid band only goes down (tapering): a patient starting in band b never
        # has a larger factor than the largest of bands 0..b (a tighter bound: fewer logs)
        gmax = hr_gc[k, 0]
        for b in range(3):
            if hr_gc[k, b] > gmax:
                gmax = hr_gc[k, b]
            maxfac[k, b] = m * gmax
    # hazards that can only change at a patient's own events or schedule: no birthdays, no
    # time-on-treatment grid, no taper step after 0, no event that stops treatment
    constant = not age_advances and G == 0
    for ti in range(T):
        if taper_times[ti] > 0.0:
            constant = False
    for k in range(K):
        if p_stop[k] > 0.0:
            constant = False
    # first Exp(1) target of every clock: the uniforms in simple loops, which vectorise
    nb = hi - lo
    u_clock = np.empty((K, nb))
    for k in range(K):
        key = clock_keys[k]
        row = u_clock[k]
        for j in range(nb):
            row[j] = uniform(key, pid[lo + j], 0)
    u_death = np.empty(nb)
    for j in range(nb):
        u_death[j] = uniform(death_key, pid[lo + j], 0)
    n_ev = 0
    for i in range(lo, hi):
        p_id = pid[i]
        a0 = age[i]
        sex = cov[i, 0]
        ind = indication[i]
        b0 = gc_band[i]
        a_int = int(np.floor(a0))
        a_end = int(np.floor(a0 + horizon))
        if a_end > max_age:
            a_end = max_age
        if a_int > max_age:
            a_int = max_age
        # static part of each hazard and an upper bound of its cumulative hazard over the horizon
        mask = 0
        for c in range(C):
            if cov[i, c]:
                mask |= 1 << c
        if not age_advances:
            for q in range(n_age_groups):
                age_fac[q] = np.exp(age_grp_log_hr[q] * (a0 - age_grp_ref[q]))
        for k in range(K):
            if age_advances:
                s[k] = base_rate[k, ind] * cov_factor[k, mask]
                f0 = age_hr_table[k, a_int]
                f1 = age_hr_table[k, a_end]
                ub[k] = s[k] * maxfac[k, b0] * (f0 if f0 > f1 else f1) * horizon
            else:       # baseline age: the age factor of the type's (age HR, reference age) pair
                s[k] = base_rate[k, ind] * cov_factor[k, mask] * age_fac[age_grp[k]]
                ub[k] = s[k] * maxfac[k, b0] * horizon
            rem[k] = lazy_exponential(u_clock[k, i - lo], ub[k] * 1.0000001)
            counts[i, k] = 0
            first_time[i, k] = np.nan
        mu_ub = 0.0
        if age_advances:
            for a in range(a_int, a_end + 1):
                if mortality[sex, a] > mu_ub:
                    mu_ub = mortality[sex, a]
        else:
            mu_ub = mortality[sex, a_int]
        rem_d = lazy_exponential(u_death[i - lo], mu_ub * horizon * 1.0000001)
        # treatment starts at t_begin (later than planned when it waits for vaccination);
        # before that the patient has the off-treatment hazards. Discontinuation is counted
        # from the start.
        t_begin = t_start[i]
        t_disc = np.inf
        if disc_rate > 0.0:
            t_disc = t_begin + exponential_target(disc_key, p_id, 0, disc_rate * horizon * 1.0000001) / disc_rate
        # quiet patient: every target exceeds its clock's upper bound over the horizon (lazy
        # logs gave +inf) and treatment is not discontinued, so nothing can happen: the segment
        # loop would end at the horizon with no event; skip it (same output)
        if rem_d == np.inf and not t_disc < horizon:
            quiet = True
            for k in range(K):
                if rem[k] != np.inf:
                    quiet = False
                    break
            if quiet:
                follow_up[i] = horizon
                exit_reason[i] = EXIT_HORIZON
                stop_time[i] = np.nan
                continue
        if constant and t_begin <= 0.0 and not t_disc < horizon and not ve_scale[i] > 0.0:
            # hazards constant over the whole horizon (on treatment from the start, no change
            # point, no vaccine, no event-triggered stop): the segment loop below for its one
            # segment without the change-point bookkeeping; same operations in the same order,
            # so the same output bit for bit
            band = gc_band[i]
            for ti in range(T):                  # steps at or before 0 only (``constant``)
                if taper_band[ti] < band:
                    band = taper_band[ti]
            for k in range(K):
                lk = s[k] * hr_gc[k, band]
                lk *= tot_mult[k, 0]
                lam[k] = lk
                nxt[k] = _ring_time(0.0, rem[k], lk)
            mu = mortality[sex, a_int]
            nxt_d = _ring_time(0.0, rem_d, mu)
            reason = EXIT_HORIZON
            while True:
                t, which = _earliest(nxt, nxt_d, horizon)
                if which == _NO_EVENT:
                    break
                if which == _DEATH:
                    reason = EXIT_BACKGROUND_DEATH
                    break
                k = which
                j = _count_event(counts, first_time, i, k, t)
                flags = _event_flags(cons_keys[k], p_id, j, True, p_hosp[k], p_serious[k],
                                     p_phn_age[k, a_int], p_fatal[k], p_stop[k])
                if n_ev < cap:
                    _store_event(ev_pid, ev_type, ev_time, ev_num, ev_flags, ev_base + n_ev, p_id, k, t, j + 1, flags)
                n_ev += 1
                if flags & FATAL:
                    reason = EXIT_INFECTION_DEATH
                    break
                rem[k] = _next_target(recurrent[k], clock_keys[k], p_id, j, ub[k] * 1.0000001)
                nxt[k] = _ring_time(t, rem[k], lam[k])
            follow_up[i] = t if t < horizon else horizon
            exit_reason[i] = reason
            stop_time[i] = np.nan
            continue
        t = 0.0
        on = t_begin <= 0.0
        started = on
        t_stop = np.nan
        # zoster vaccine: doses received (nd), time of the last dose, waning step since it
        v1 = vacc1[i]
        v2 = vacc2[i]
        vs = ve_scale[i]
        nd = 0
        t_last = 0.0
        vstep = 0
        if vs > 0.0:
            if v1 <= 0.0:
                nd = 1
                t_last = v1
            if v2 <= 0.0:
                nd = 2
                t_last = v2
            if nd > 0:
                vstep = int(np.floor((0.0 - t_last) / ve_step))
        band = gc_band[i]
        ti = 0
        while ti < T and taper_times[ti] <= 0.0:
            if taper_band[ti] < band:
                band = taper_band[ti]
            ti += 1
        g = 0
        next_bday = np.inf
        if age_advances:
            next_bday = a_int + 1.0 - a0
            if next_bday <= 0.0:
                next_bday = 1.0
        reason = EXIT_HORIZON
        done = False
        first = True
        mu = 0.0
        t0_d = 0.0
        nxt_d = np.inf
        while not done:
            seg_end = horizon
            if next_bday < seg_end:
                seg_end = next_bday
            if ti < T and taper_times[ti] < seg_end:
                seg_end = taper_times[ti]
            if not started and t_begin < seg_end:
                seg_end = t_begin
            if on:
                if g < G and tot_edges[g] + t_begin < seg_end:
                    seg_end = tot_edges[g] + t_begin
                if t_disc < seg_end:
                    seg_end = t_disc
            vm = 1.0
            if vs > 0.0:
                if nd == 0 and v1 < seg_end:
                    seg_end = v1
                elif nd == 1 and v2 < seg_end:
                    seg_end = v2
                if nd > 0:
                    step_end = t_last + (vstep + 1) * ve_step
                    if step_end < seg_end:
                        seg_end = step_end
                    vm = 1.0 - vs * ve_table[ve_group[i], nd, vstep if vstep < S else S - 1]
            a_now = a_int if a_int <= max_age else max_age
            for k in range(K):
                lk = s[k] * hr_gc[k, band]
                if age_advances:
                    lk *= age_hr_table[k, a_now]
                if on:
                    lk *= tot_mult[k, g]
                else:
                    lk *= off_hr[k]
                if ve_target[k]:
                    lk *= vm
                # each clock's own arithmetic: rem[k] is the target left at time t0[k] (the
                # last change of the type's own hazard, or its own last event). A clock is
                # re-based only when its own hazard changes, so a type's event times do not
                # depend, not even in the last bit, on other types' events or on change points
                # of other types' hazards (common random numbers across arms)
                if first or lk != lam[k]:
                    if not first:
                        rem[k] = _left(rem[k], lam[k], t - t0[k])
                    t0[k] = t
                    lam[k] = lk
                    nxt[k] = _ring_time(t, rem[k], lk)
            mu_new = mortality[sex, a_now]
            if first or mu_new != mu:
                if not first:
                    rem_d = _left(rem_d, mu, t - t0_d)
                t0_d = t
                mu = mu_new
                nxt_d = _ring_time(t, rem_d, mu)
            first = False
            while True:
                t, which = _earliest(nxt, nxt_d, seg_end)
                if which == _NO_EVENT:
                    break
                if which == _DEATH:
                    reason = EXIT_BACKGROUND_DEATH
                    done = True
                    break
                k = which
                j = _count_event(counts, first_time, i, k, t)
                flags = _event_flags(cons_keys[k], p_id, j, on, p_hosp[k], p_serious[k],
                                     p_phn_age[k, a_now], p_fatal[k], p_stop[k])
                fatal = (flags & FATAL) != 0
                stop = (flags & STOPS_TREATMENT) != 0
                if n_ev < cap:
                    _store_event(ev_pid, ev_type, ev_time, ev_num, ev_flags, ev_base + n_ev, p_id, k, t, j + 1, flags)
                n_ev += 1
                if fatal:
                    reason = EXIT_INFECTION_DEATH
                    done = True
                    break
                rem[k] = _next_target(recurrent[k], clock_keys[k], p_id, j, ub[k] * 1.0000001)
                t0[k] = t
                nxt[k] = _ring_time(t, rem[k], lam[k])
                if stop:
                    # hazards change now: the next segment re-bases the clocks whose hazard changes
                    on = False
                    t_stop = t
                    break
            if done:
                break
            if t >= horizon:
                break
            if age_advances and t >= next_bday:
                a_int += 1
                next_bday += 1.0
            while ti < T and taper_times[ti] <= t:
                if taper_band[ti] < band:
                    band = taper_band[ti]
                ti += 1
            if vs > 0.0:
                if nd == 0 and t >= v1:
                    nd = 1
                    t_last = v1
                    vstep = 0
                if nd == 1 and t >= v2:
                    nd = 2
                    t_last = v2
                    vstep = 0
                while nd > 0 and t >= t_last + (vstep + 1) * ve_step:
                    vstep += 1
            if not started and t >= t_begin:
                started = True
                on = True
            if on:
                while g < G and tot_edges[g] + t_begin <= t:
                    g += 1
                if t >= t_disc:
                    on = False
                    t_stop = t
        follow_up[i] = t if t < horizon else horizon
        exit_reason[i] = reason
        stop_time[i] = t_stop
    return n_ev


@njit(parallel=True, **JIT)
def simulate(pid, age, cov, gc_band, indication, age_advances, horizon,
             base_rate, log_hr, hr_gc, age_log_hr, ref_age, age_hr_table, tot_edges, tot_mult,
             off_hr, recurrent, p_fatal, p_hosp, p_serious, p_stop, disc_rate,
             taper_times, taper_band, mortality, clock_keys, cons_keys, death_key, disc_key,
             t_start, vacc1, vacc2, ve_scale, ve_group, ve_table, ve_step, ve_target, p_phn_age,
             block_size, cap):
    """Simulate every patient of a chunk, parallel over blocks of ``block_size`` patients.

    Events of block b go to slots [b*cap, b*cap + block_counts[b]); a block whose count
    exceeds ``cap`` wrote only ``cap`` events and the caller reruns with a larger cap
    (results are a pure function of the patient, so the rerun is identical).
    """
    n = pid.shape[0]
    K = base_rate.shape[0]
    nb = (n + block_size - 1) // block_size
    follow_up = np.empty(n)
    exit_reason = np.empty(n, dtype=np.int8)
    stop_time = np.empty(n)
    counts = np.empty((n, K), dtype=np.int32)
    first_time = np.empty((n, K))
    ev_pid = np.empty(nb * cap, dtype=np.int64)
    ev_type = np.empty(nb * cap, dtype=np.int16)
    ev_time = np.empty(nb * cap)
    ev_num = np.empty(nb * cap, dtype=np.int32)
    ev_flags = np.empty(nb * cap, dtype=np.uint8)
    block_counts = np.zeros(nb, dtype=np.int64)
    C = log_hr.shape[1]
    # hazard-ratio products of every combination of the binary covariates (bit c of the
    # index is covariate c), and the distinct (log HR per year of age, reference age) pairs:
    # one exp per pair and patient instead of one per type
    cov_factor = np.empty((K, 1 << C))
    for k in range(K):
        for m in range(1 << C):
            x = 0.0
            for c in range(C):
                if (m >> c) & 1:
                    x += log_hr[k, c]
            cov_factor[k, m] = np.exp(x)
    age_grp = np.empty(K, dtype=np.int64)
    age_grp_log_hr = np.empty(K)
    age_grp_ref = np.empty(K)
    n_age_groups = 0
    for k in range(K):
        found = -1
        for q in range(n_age_groups):
            if age_grp_log_hr[q] == age_log_hr[k] and age_grp_ref[q] == ref_age[k]:
                found = q
        if found < 0:
            found = n_age_groups
            age_grp_log_hr[found] = age_log_hr[k]
            age_grp_ref[found] = ref_age[k]
            n_age_groups += 1
        age_grp[k] = found
    for b in prange(nb):
        lo = b * block_size
        hi = min(n, lo + block_size)
        block_counts[b] = _simulate_block(
            lo, hi, pid, age, cov, gc_band, indication, age_advances, horizon,
            base_rate, hr_gc, age_hr_table, tot_edges, tot_mult,
            off_hr, recurrent, p_fatal, p_hosp, p_serious, p_stop, disc_rate,
            taper_times, taper_band, mortality, clock_keys, cons_keys, death_key, disc_key,
            t_start, vacc1, vacc2, ve_scale, ve_group, ve_table, ve_step, ve_target, p_phn_age,
            follow_up, exit_reason, stop_time, counts, first_time,
            ev_pid, ev_type, ev_time, ev_num, ev_flags, b * cap, cap,
            cov_factor, age_grp, age_grp_log_hr, age_grp_ref, n_age_groups)
    return (follow_up, exit_reason, stop_time, counts, first_time,
            ev_pid, ev_type, ev_time, ev_num, ev_flags, block_counts)


@njit(**JIT)
def compact(block_counts, cap, ev_pid, ev_type, ev_time, ev_num, ev_flags):
    """Concatenate the blocks' event slots into dense arrays (patient order, time order)."""
    total = 0
    for b in range(block_counts.shape[0]):
        total += block_counts[b]
    o_pid = np.empty(total, dtype=np.int64)
    o_type = np.empty(total, dtype=np.int16)
    o_time = np.empty(total)
    o_num = np.empty(total, dtype=np.int32)
    o_flags = np.empty(total, dtype=np.uint8)
    w = 0
    for b in range(block_counts.shape[0]):
        base = b * cap
        for e in range(block_counts[b]):
            o_pid[w] = ev_pid[base + e]
            o_type[w] = ev_type[base + e]
            o_time[w] = ev_time[base + e]
            o_num[w] = ev_num[base + e]
            o_flags[w] = ev_flags[base + e]
            w += 1
    return o_pid, o_type, o_time, o_num, o_flags
