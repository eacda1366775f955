"""Per-cycle counts for a Markov (cohort state-transition) model: ``jaksim run --cycle-length``.

Follow-up is cut into cycles ``(start, end]`` of the given length from the index date to the
horizon (the last cycle ends at the horizon and may be shorter). Per cycle and outcome (each
infection type, post-herpetic neuralgia when zoster is simulated, and death) the accumulator
keeps, chunk by chunk and exactly:

* patients in follow-up at the cycle start (``n_at_risk``: follow-up longer than the start;
  every patient in cycle 0) and person-years in the cycle;
* events in the cycle (an event at time t belongs to the cycle with start < t <= end; t = 0 to
  cycle 0; a death at the end of follow-up likewise);
* patients at risk of a first event at the cycle start (in follow-up and no event of that
  outcome before the start) and first events in the cycle.

The table gives two transition probabilities per cycle and outcome, both with 95% CIs:

* ``transition_probability`` = 1 − exp(−rate × length), rate = events / person-years (all
  events, recurrent ones too; constant rate within the cycle), CI from the exact Poisson CI of
  the rate;
* ``first_event_probability`` = first events / patients at risk of a first event at the cycle
  start (a proportion: nobody is censored inside a cycle, death competes), exact binomial CI;
  for death it is the probability of dying in the cycle.

Person-years are exact: the accumulator keeps, per cycle, the exact sum of min(follow-up, end)
(person-time up to the cycle's end) and reports each cycle's person-years as the difference of
the correctly rounded cumulative sums. Those differences are exact floats, so summed over the
cycles in order (or with ``math.fsum``) they give the run's summary person-years bit for bit.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pyarrow as pa

from jaksim.analysis.accumulators import ExactSum, binomial_ci, poisson_ci
from jaksim.errors import JaksimError
from jaksim.output.arrow import column

#: at most this many cycles (a day over 100 years is 36,525)
MAX_CYCLES = 100_000


def cycle_bounds(horizon: float, length: float) -> np.ndarray:
    """Cycle boundaries 0, L, 2L, …, horizon (float64; the last one is the horizon itself)."""
    if not (isinstance(length, (int, float)) and math.isfinite(length) and length > 0):
        raise JaksimError(f"--cycle-length {length!r} is not allowed; give a positive number of years, e.g. 0.25")
    n = max(1, math.ceil(horizon / length - 1e-9))
    if n > MAX_CYCLES:
        raise JaksimError(f"--cycle-length {length:g} gives {n:,} cycles over {horizon:g} years; allowed: at most "
                          f"{MAX_CYCLES:,} cycles (a longer cycle)")
    bounds = np.minimum(np.arange(n + 1, dtype=np.float64) * length, horizon)
    bounds[-1] = horizon
    return bounds


class CycleAccumulator:
    """One arm's per-cycle counts (see the module docstring); ``outcomes`` are the summary's
    outcomes without death (infection types, then PHN when simulated)."""

    def __init__(self, outcomes: tuple[str, ...], bounds: np.ndarray):
        C, M = len(bounds) - 1, len(outcomes)
        self.outcomes = outcomes
        self.bounds = np.asarray(bounds, dtype=np.float64)
        self.n_patients = 0
        self.exits = np.zeros(C, dtype=np.int64)          # follow-up ends in cycle c
        self.exit_time = [ExactSum() for _ in range(C)]    # exact sum of those follow-up times
        self.deaths = np.zeros(C, dtype=np.int64)
        self.events = np.zeros((C, M), dtype=np.int64)
        self.first_events = np.zeros((C, M), dtype=np.int64)
        self.first_risk_ends = np.zeros((C, M), dtype=np.int64)   # at risk of a first event until cycle c

    def _cycle(self, t: np.ndarray) -> np.ndarray:
        """Cycle index of times t: start < t <= end (t = 0: cycle 0)."""
        C = len(self.bounds) - 1
        return np.minimum(np.searchsorted(self.bounds[1:], t, side="left"), C - 1)

    def add(self, follow_up: np.ndarray, exit_reason: np.ndarray, ev_type: np.ndarray, ev_time: np.ndarray,
            first_time: np.ndarray) -> None:
        """One chunk: per-patient follow-up and exit reason, every event's outcome index and
        time, and per-patient first-event times (n, outcomes; NaN: none)."""
        C, M = self.events.shape
        self.n_patients += follow_up.shape[0]
        k = self._cycle(follow_up)
        self.exits += np.bincount(k, minlength=C)
        order = np.argsort(k, kind="stable")
        cuts = np.searchsorted(k[order], np.arange(C + 1))
        for c in np.flatnonzero(np.diff(cuts)):
            self.exit_time[c].add(follow_up[order[cuts[c]:cuts[c + 1]]])
        self.deaths += np.bincount(k[exit_reason != 0], minlength=C)
        if ev_time.size:
            self.events += np.bincount(self._cycle(ev_time) * M + ev_type, minlength=C * M).reshape(C, M)
        for o in range(M):
            ft = first_time[:, o]
            has = ~np.isnan(ft)
            self.first_events[:, o] += np.bincount(self._cycle(ft[has]), minlength=C)
            self.first_risk_ends[:, o] += np.bincount(self._cycle(np.where(has, np.fmin(ft, follow_up), follow_up)),
                                                      minlength=C)

    def person_years(self) -> tuple[np.ndarray, np.ndarray]:
        """Per cycle: person-years (exact float differences) and cumulative person-years to its end."""
        scale = 1 << ExactSum._SHIFT
        ends = self.bounds[1:]
        done, done_time = 0, 0
        cumulative = np.zeros(len(ends))
        for c, end in enumerate(ends):
            done += int(self.exits[c])
            done_time += self.exit_time[c]._total
            still = self.n_patients - done           # followed beyond this cycle's end
            exact = done_time + still * int(Fraction(float(end)) * scale)
            cumulative[c] = float(Fraction(exact, scale))
        return np.diff(cumulative, prepend=0.0), cumulative

    def table(self, draw: int = 0) -> pa.Table:
        """One row per cycle and outcome (the outcomes, then death), cycle by cycle."""
        C, M = self.events.shape
        names = list(self.outcomes) + ["death"]
        py, _ = self.person_years()
        at_risk = self.n_patients - np.concatenate([[0], np.cumsum(self.exits)[:-1]])
        events = np.column_stack([self.events, self.deaths])
        first = np.column_stack([self.first_events, self.deaths])
        ends = np.column_stack([self.first_risk_ends, self.exits])
        first_risk = self.n_patients - np.vstack([np.zeros((1, M + 1), np.int64), np.cumsum(ends, axis=0)[:-1]])
        n = M + 1
        start, end = np.repeat(self.bounds[:-1], n), np.repeat(self.bounds[1:], n)
        length = end - start
        py_rows, risk_rows = np.repeat(py, n), np.repeat(at_risk, n)
        e, f, fr = events.ravel(), first.ravel(), first_risk.ravel()
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(py_rows > 0, 100.0 * e / py_rows, np.nan)
            lo, hi = poisson_ci(e, py_rows)
            fprob = np.where(fr > 0, f / fr, np.nan)
        lo, hi = np.where(py_rows > 0, lo, np.nan), np.where(py_rows > 0, hi, np.nan)
        flo, fhi = binomial_ci(f, fr)
        flo, fhi = np.where(fr > 0, flo, np.nan), np.where(fr > 0, fhi, np.nan)

        def prob(r):
            return -np.expm1(-r / 100.0 * length)

        return pa.table({
            "cycle": column(np.repeat(np.arange(C), n), pa.int32()),
            "draw": column(np.full(C * n, draw), pa.int32()),
            "start_years": column(start), "end_years": column(end),
            "outcome": column(names * C, pa.string()),
            "n_at_risk": column(risk_rows, pa.int64()),
            "person_years": column(py_rows),
            "events": column(e, pa.int64()),
            "rate_per_100py": column(rate), "rate_ci_lower": column(lo), "rate_ci_upper": column(hi),
            "transition_probability": column(prob(rate)),
            "transition_probability_ci_lower": column(prob(lo)),
            "transition_probability_ci_upper": column(prob(hi)),
            "n_at_risk_first_event": column(fr, pa.int64()),
            "first_events": column(f, pa.int64()),
            "first_event_probability": column(fprob),
            "first_event_probability_ci_lower": column(flo),
            "first_event_probability_ci_upper": column(fhi),
        })
