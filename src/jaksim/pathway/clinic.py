"""Care pathway (SimPy): vaccination and screening appointments under limited clinic capacity.

Patients' planned treatment starts are spread over an enrolment period (calendar weeks).
Each eligible patient who accepts is referred at planned start + ``first_dose_weeks`` and
books the earliest free slot (first come, first served); a no-show is rebooked from the next
calendar week; dose 2 is recalled ``interval`` after dose 1 and booked the same way. A referral
with no slot within ``max_wait_weeks`` is dropped without taking a slot. Unlimited capacity
without no-shows reproduces the direct schedule exactly;
zero capacity vaccinates nobody. SimPy handles only this low-volume process; infection
events are sampled by the numba kernel from the times produced here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import simpy

from jaksim.kernel.rng import stream_key, uniform, uniforms
from jaksim.model.vaccination import WEEKS_PER_YEAR, second_dose_interval_years
from jaksim.scenario.clinic import Clinic
from jaksim.scenario.schema import Vaccination


@dataclass(frozen=True)
class PathwayResult:
    """First and second dose times (years from each patient's planned start; +inf if none)."""

    dose1: np.ndarray
    dose2: np.ndarray
    wait_weeks: np.ndarray        # referral to dose 1 (nan if not vaccinated)
    seconds: float


class _Slots:
    """Weekly appointment capacity, booked in time order."""

    def __init__(self, per_week: int):
        self.per_week = per_week
        self.used: dict[int, int] = {}
        self.first_free = -10**9

    def book(self, t: float, latest: float = math.inf) -> float | None:
        """Earliest appointment at or after calendar time t (weeks); None, and nothing booked,
        when it would be after ``latest`` (the slot stays free for others)."""
        w = max(math.floor(t), self.first_free)
        while self.used.get(w, 0) >= self.per_week:
            if w == self.first_free:
                self.first_free += 1
            w += 1
        slot = t if w == math.floor(t) else float(w)
        if slot > latest:
            return None
        self.used[w] = self.used.get(w, 0) + 1
        return slot


def run_pathway(v: Vaccination, seed: int, offered: np.ndarray, wants_second: np.ndarray,
                engine: str = "compiled") -> PathwayResult:
    """Simulate the vaccination clinic for every patient (ids 0..n-1); ``offered``: eligible and accepting.

    ``engine``: ``"compiled"`` (``pathway.fast_clinic``, the default) or ``"simpy"`` (this
    module's processes, the readable reference); both give the same times, bit for bit.
    """
    assert v.clinic is not None, "run_pathway is for capacity-limited strategies"
    gap_years = second_dose_interval_years(v)
    return run_clinic(v.clinic, float(v.first_dose_weeks), gap_years, seed, offered, wants_second,
                      stream_key(seed, "pathway/no_show"), engine)


def screening_visits(clinic: Clinic, referral_weeks_before_start: float, seed: int, n: int,
                     engine: str = "compiled") -> PathwayResult:
    """Latent TB test dates of patients 0..n-1 at a screening clinic (``tb_screening.clinic``):
    everyone is referred ``referral_weeks_before_start`` before the planned start; one visit
    each (``dose1``: the test, years from the planned start; +inf: not seen in time). Its
    no-shows have a stream of their own (``pathway/screening_no_show``)."""
    return run_clinic(clinic, -float(referral_weeks_before_start), math.inf, seed, np.ones(n, dtype=bool),
                      np.zeros(n, dtype=bool), stream_key(seed, "pathway/screening_no_show"), engine)


def run_clinic(clinic: Clinic, first_weeks: float, gap_years: float, seed: int, offered: np.ndarray,
               wants_second: np.ndarray, no_show_key: np.uint64, engine: str = "compiled") -> PathwayResult:
    """A clinic's appointments for patients 0..n-1: referral ``first_weeks`` after the planned
    start (negative: before), a second visit ``gap_years`` after the first (inf: none) for those
    who want one, no-shows drawn with ``no_show_key``; ``engine`` as in ``run_pathway``."""
    import time
    started = time.perf_counter()
    n = offered.shape[0]
    ids = np.arange(n, dtype=np.int64)
    planned = uniforms(stream_key(seed, "pathway/enrolment"), ids, 0) * clinic.enrolment_weeks
    dose1 = np.full(n, np.inf)
    dose2 = np.full(n, np.inf)
    wait = np.full(n, np.nan)
    if clinic.slots_per_week == 0:
        return PathwayResult(dose1, dose2, wait, time.perf_counter() - started)
    gap_weeks = gap_years * WEEKS_PER_YEAR
    referral = planned + first_weeks
    if engine == "compiled":
        return _compiled(clinic, first_weeks, referral, offered, wants_second, no_show_key, gap_weeks, gap_years,
                         started)
    if engine != "simpy":
        raise ValueError(f"engine must be 'compiled' or 'simpy', not {engine!r}")
    slots = _Slots(clinic.slots_per_week)

    def attend(i: int, ready: float, first_attempt: int):
        """Book from `ready` until attended; returns (time, attempts) or (None, attempts).

        Slots are booked from `ready` itself, not from ``env.now``: SimPy's clock is the sum of
        the timeouts, which can differ from `ready` in the last bit, and a patient booked when
        ready must get exactly `ready`. A no-show is rebooked from the next calendar week (not
        at the missed appointment's own time, which would cost the patient nothing). A
        referral with no slot within ``max_wait_weeks`` books nothing and is dropped.
        """
        attempt = first_attempt
        earliest = ready
        while True:
            slot = slots.book(earliest, ready + clinic.max_wait_weeks)
            if slot is None:
                return None, attempt
            yield env.timeout(max(slot - env.now, 0.0))
            attempt += 1
            if clinic.no_show_probability <= 0 or uniform(no_show_key, i, attempt) >= clinic.no_show_probability:
                return slot, attempt
            earliest = math.floor(slot) + 1.0

    def patient(i: int, referral: float):
        yield env.timeout(referral - env.now)
        got, attempts = yield from attend(i, referral, 0)
        if got is None:
            return
        # times relative to the patient's own planned start; a patient booked exactly when
        # ready gets exactly the direct schedule's times (no rounding through calendar time)
        delay1 = got - referral
        dose1[i] = first_weeks / WEEKS_PER_YEAR if delay1 == 0 else (first_weeks + delay1) / WEEKS_PER_YEAR
        wait[i] = delay1
        if wants_second[i] and math.isfinite(gap_weeks):
            recall = got + gap_weeks
            yield env.timeout(recall - env.now)
            got2, _ = yield from attend(i, recall, attempts)
            if got2 is not None:
                delay2 = got2 - recall
                dose2[i] = dose1[i] + gap_years + delay2 / WEEKS_PER_YEAR

    t0 = float(referral[offered].min()) if offered.any() else 0.0
    env = simpy.Environment(initial_time=t0)
    for i in np.flatnonzero(offered)[np.argsort(referral[offered], kind="stable")]:
        env.process(patient(int(i), float(referral[i])))
    env.run()
    return PathwayResult(dose1, dose2, wait, time.perf_counter() - started)


def _compiled(clinic: Clinic, first_weeks: float, referral: np.ndarray, offered: np.ndarray,
              wants_second: np.ndarray, no_show_key: np.uint64, gap_weeks: float, gap_years: float,
              started: float) -> PathwayResult:
    """``run_clinic`` by the compiled clinic (``pathway.fast_clinic``): the same times."""
    import time

    from jaksim.pathway.fast_clinic import clinic_schedule
    order = np.flatnonzero(offered)[np.argsort(referral[offered], kind="stable")].astype(np.int64)
    dose1, dose2, wait = clinic_schedule(referral, order, wants_second.astype(np.bool_), clinic.slots_per_week,
                                         float(clinic.max_wait_weeks), float(clinic.no_show_probability),
                                         no_show_key, float(first_weeks), float(gap_weeks),
                                         float(gap_years), float(WEEKS_PER_YEAR))
    return PathwayResult(dose1, dose2, wait, time.perf_counter() - started)
