"""Consumers of the chunk loop that add chunks up: a run's accumulators and a PSA draw's totals.

A run keeps, per arm, the summary (events, exact person-years), the paired contrast versus the
reference arm, the economics sums and the vaccination counts; :class:`RunState` holds them with
the loop's position, so that a checkpoint can save and restore the whole run. A PSA draw keeps
per arm the sums of per-patient economic outcomes, event counts and yearly counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from jaksim.analysis.accumulators import (
    EconomicsAccumulator,
    PairedContrast,
    SummaryAccumulator,
)
from jaksim.analysis.cycles import CycleAccumulator
from jaksim.codes import POST_HERPETIC_NEURALGIA
from jaksim.economics.costs_qalys import OUTCOMES as ECON_OUTCOMES
from jaksim.economics.costs_qalys import yearly_counts
from jaksim.model.spec import Model, outcomes
from jaksim.run.chunks import ArmChunk, initial_cap
from jaksim.run.schedules import VaccinationStats


@dataclass
class ArmTotals:
    """One arm's accumulators; ``contrast`` is None for the reference arm, ``economics`` None
    without an economics section, ``cycles`` None without a cycle length."""

    summary: SummaryAccumulator
    vaccination: VaccinationStats
    contrast: PairedContrast | None
    economics: EconomicsAccumulator | None
    cycles: CycleAccumulator | None = None


@dataclass
class RunState:
    """Where a run stands after its completed segments: what a checkpoint saves and restores.

    ``kind`` is ``"run"``; ``fingerprint`` identifies the inputs and settings a resumed run must
    share; ``next_start`` is the first patient id not yet simulated; ``caps`` the event-buffer
    size per arm name; ``arms`` the accumulators per arm name.
    """

    kind: str
    fingerprint: str
    next_start: int
    caps: dict[str, int]
    arms: dict[str, ArmTotals]

    @classmethod
    def fresh(cls, model: Model, fingerprint: str, cycle_bounds: np.ndarray | None = None) -> RunState:
        """The state before the first patient: empty accumulators for every arm of ``model``
        (per-cycle counts too when ``cycle_bounds`` are given)."""
        names = outcomes(model)
        econ = bool(model.economics)
        horizon = float(model.scenario.horizon_years)
        return cls("run", fingerprint, 0, {arm.name: initial_cap(arm, horizon) for arm in model.arms},
                   {arm.name: ArmTotals(SummaryAccumulator(names), VaccinationStats(),
                                        PairedContrast(names) if a > 0 else None,
                                        EconomicsAccumulator(ECON_OUTCOMES) if econ else None,
                                        None if cycle_bounds is None else CycleAccumulator(names, cycle_bounds))
                    for a, arm in enumerate(model.arms)})


class RunTotals:
    """Adds each chunk and arm to the run's accumulators (``RunState.arms``)."""

    def __init__(self, model: Model, arms: dict[str, ArmTotals]):
        self.arms = arms
        self.with_phn = len(outcomes(model)) > len(model.types)
        self._ref_counts: np.ndarray | None = None
        self._ref_econ: dict | None = None

    def add(self, item: ArmChunk) -> None:
        """Summary, vaccination counts, economics and the paired contrast to the reference arm."""
        r, totals = item.result, self.arms[item.arm.name]
        totals.vaccination.add(item.schedule, r.follow_up)
        if totals.economics is not None and item.economics is not None:
            totals.economics.add(item.economics, None if item.index == 0 else self._ref_econ)
        counts, first = r.counts, r.first_time
        if self.with_phn:
            counts = np.column_stack([counts, item.phn])
            first = np.column_stack([first, item.phn_first])
        totals.summary.add(r.follow_up, r.exit_reason, r.stop_time, counts, first)
        if totals.cycles is not None:
            ev_type, ev_time = r.ev_type.astype(np.int64), r.ev_time
            if self.with_phn:            # a PHN episode counts as an event of the extra outcome
                sel = (r.ev_flags & POST_HERPETIC_NEURALGIA) != 0
                ev_type = np.concatenate([ev_type, np.full(int(sel.sum()), counts.shape[1] - 1)])
                ev_time = np.concatenate([ev_time, r.ev_time[sel]])
            totals.cycles.add(r.follow_up, r.exit_reason, ev_type, ev_time, first)
        if item.index == 0:
            self._ref_counts, self._ref_econ = counts, item.economics
        elif totals.contrast is not None and self._ref_counts is not None:
            totals.contrast.add(self._ref_counts, counts, item.schedule.dose1 < r.follow_up)


class DrawArmTotals(NamedTuple):
    """One arm's totals in a PSA draw: sums and sums of squares of the per-patient economic
    outcomes (``OUTCOMES``), events by outcome, events by year of follow-up and outcome, and
    person-years by year of follow-up."""

    s1: dict[str, float]
    s2: dict[str, float]
    events: np.ndarray
    cycles: np.ndarray
    person_years: np.ndarray

    @classmethod
    def empty(cls, n_outcomes: int, years: int) -> DrawArmTotals:
        """Zero totals for ``n_outcomes`` outcomes over ``years`` years of follow-up."""
        return cls({o: 0.0 for o in ECON_OUTCOMES}, {o: 0.0 for o in ECON_OUTCOMES},
                   np.zeros(n_outcomes, dtype=np.int64), np.zeros((years, n_outcomes), dtype=np.int64),
                   np.zeros(years))


class DrawTotals:
    """Adds each chunk and arm of a PSA draw to per-arm :class:`DrawArmTotals` (``arms``)."""

    def __init__(self, model: Model):
        self.model = model
        self.names = outcomes(model)
        self.years = int(np.ceil(model.scenario.horizon_years))
        self.arms = {arm.name: DrawArmTotals.empty(len(self.names), self.years) for arm in model.arms}

    def add(self, item: ArmChunk) -> None:
        """Event counts, yearly counts and person-years, and the economic sums (in chunk order)."""
        r, t = item.result, self.arms[item.arm.name]
        K, Y = len(self.model.types), self.years
        t.events[:K] += r.counts.sum(axis=0, dtype=np.int64)
        if len(self.names) > K:
            t.events[K] += int(item.phn.sum())
        c, p = yearly_counts(self.model.types, self.model.scenario.horizon_years, r.follow_up, r.ev_type, r.ev_time)
        t.cycles[:, :K] += c
        if len(self.names) > K:
            sel = (r.ev_flags & POST_HERPETIC_NEURALGIA) != 0
            t.cycles[:, K] += np.bincount(np.minimum(r.ev_time[sel].astype(np.int64), Y - 1), minlength=Y)[:Y]
        t.person_years[:] += p
        if item.economics is not None:
            for o in ECON_OUTCOMES:
                t.s1[o] += float(item.economics[o].sum())
                t.s2[o] += float((item.economics[o] * item.economics[o]).sum())
