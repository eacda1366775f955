"""Analysis: incidence rates with exact Poisson CIs and cumulative incidence.

Sums of person-time are exact (integer arithmetic on the float64 mantissas), so the
summary is bit-identical whatever the chunk size, and person-years in ``summary`` equal
the correctly rounded sum of follow-up in ``patients``.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pyarrow as pa
from numba import njit
from scipy import special

from jaksim.codes import EXIT_REASONS
from jaksim.kernel.jit import JIT
from jaksim.output.arrow import column


@njit(**JIT)
def _mantissa_sums(v):
    """Per exponent field of binary64, the sums of the high and low 26 bits of the 53-bit
    integer mantissas (exact in int64 for up to 2**36 values); and a flag for a negative,
    infinite or NaN value. One pass over the data."""
    hi = np.zeros(2048, dtype=np.int64)
    lo = np.zeros(2048, dtype=np.int64)
    bits = v.view(np.uint64)
    bad = False
    for i in range(bits.shape[0]):
        b = bits[i]
        field = np.int64((b >> np.uint64(52)) & np.uint64(0x7FF))
        if (b >> np.uint64(63)) != np.uint64(0) or field == 2047:
            if v[i] != 0.0:        # -0.0 is fine
                bad = True
            continue
        m = np.int64(b & np.uint64(0xFFFFFFFFFFFFF))
        if field > 0:
            m += np.int64(1) << 52
        hi[field] += m >> 26
        lo[field] += m & ((1 << 26) - 1)
    return hi, lo, bad


class ExactSum:
    """Exact running sum of non-negative finite float64 values (order-independent)."""

    _SHIFT = 1200  # covers the full float64 exponent range (subnormals too)

    def __init__(self) -> None:
        self._total = 0  # Python int: sum * 2**_SHIFT

    def add(self, values: np.ndarray) -> None:
        v = np.ascontiguousarray(values, dtype=np.float64)
        if v.size == 0:
            return
        for start in range(0, v.size, 1 << 30):
            hi, lo, bad = _mantissa_sums(v[start:start + (1 << 30)])
            if bad:
                raise ValueError("ExactSum takes non-negative finite values only")
            for field in np.flatnonzero(hi | lo):
                part = (int(hi[field]) << 26) + int(lo[field])
                # value = mantissa * 2**(max(field, 1) - 1075) for IEEE-754 binary64
                self._total += part << (max(int(field), 1) - 1075 + self._SHIFT)

    def value(self) -> float:
        """The correctly rounded float64 of the exact sum."""
        return float(Fraction(self._total, 1 << self._SHIFT))


def poisson_ci(events: np.ndarray, person_years: np.ndarray, level: float = 0.95,
               per: float = 100.0) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) confidence interval of an incidence rate, per ``per`` patient-years."""
    k = np.asarray(events, dtype=np.float64)
    py = np.asarray(person_years, dtype=np.float64)
    a = (1.0 - level) / 2.0
    # chi2.ppf(p, 2k) / 2 = gammaincinv(k, p) (scipy.special: imports much faster than scipy.stats)
    with np.errstate(invalid="ignore"):
        lower = np.where(k > 0, special.gammaincinv(np.maximum(k, 1.0), a), 0.0)
    upper = special.gammaincinv(k + 1.0, 1.0 - a)
    with np.errstate(divide="ignore", invalid="ignore"):
        return per * lower / py, per * upper / py


def binomial_ci(x: np.ndarray, n: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper-Pearson) confidence interval of a proportion."""
    x = np.asarray(x, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    a = (1.0 - level) / 2.0
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = np.where(x > 0, special.betaincinv(np.maximum(x, 1.0), n - x + 1, a), 0.0)
        upper = np.where(x < n, special.betaincinv(x + 1, np.maximum(n - x, 1.0), 1 - a), 1.0)
    return lower, upper


class SummaryAccumulator:
    """Per-arm totals built chunk by chunk: events, person-years, first events, deaths."""

    def __init__(self, types: tuple[str, ...]):
        self.types = types
        K = len(types)
        self.n_patients = 0
        self.events = np.zeros(K, dtype=np.int64)
        self.patients_with_event = np.zeros(K, dtype=np.int64)
        self.person_years = ExactSum()
        self.first_event_py = [ExactSum() for _ in range(K)]
        self.on_treatment_py = ExactSum()
        self.deaths = np.zeros(3, dtype=np.int64)

    def add(self, follow_up, exit_reason, stop_time, counts, first_time) -> None:
        self.n_patients += follow_up.shape[0]
        self.events += counts.sum(axis=0, dtype=np.int64)
        self.patients_with_event += (counts > 0).sum(axis=0)
        self.person_years.add(follow_up)
        for k in range(len(self.types)):
            ft = first_time[:, k]
            self.first_event_py[k].add(np.where(np.isnan(ft), follow_up, ft))
        self.on_treatment_py.add(np.where(np.isnan(stop_time), follow_up, stop_time))
        self.deaths += np.bincount(exit_reason, minlength=len(EXIT_REASONS))[:len(EXIT_REASONS)]

    def table(self, horizon_years: float) -> pa.Table:
        """One row per infection type plus one for all-cause death."""
        py = self.person_years.value()
        names = list(self.types) + ["death"]
        events = np.append(self.events, self.deaths[1] + self.deaths[2])
        with_event = np.append(self.patients_with_event, self.deaths[1] + self.deaths[2])
        first_py = np.array([s.value() for s in self.first_event_py] + [py])
        py_arr = np.full(len(names), py)
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = 100.0 * events / py_arr
            first_rate = 100.0 * with_event / first_py
        lo, hi = poisson_ci(events, py_arr)
        flo, fhi = poisson_ci(with_event, first_py)
        n = np.full(len(names), self.n_patients)
        ci = with_event / np.maximum(n, 1)
        clo, chi = binomial_ci(with_event, n)
        return pa.table({
            "type": column(names, pa.string()),
            "n_patients": column(n, pa.int64()),
            "horizon_years": column(np.full(len(names), horizon_years), pa.float64()),
            "events": column(events, pa.int64()),
            "person_years": column(py_arr, pa.float64()),
            "incidence_rate_per_100py": column(rate, pa.float64()),
            "incidence_rate_ci_lower": column(lo, pa.float64()),
            "incidence_rate_ci_upper": column(hi, pa.float64()),
            "patients_with_event": column(with_event, pa.int64()),
            "first_event_person_years": column(first_py, pa.float64()),
            "first_event_rate_per_100py": column(first_rate, pa.float64()),
            "first_event_rate_ci_lower": column(flo, pa.float64()),
            "first_event_rate_ci_upper": column(fhi, pa.float64()),
            "cumulative_incidence": column(ci, pa.float64()),
            "cumulative_incidence_ci_lower": column(clo, pa.float64()),
            "cumulative_incidence_ci_upper": column(chi, pa.float64()),
            "person_years_on_treatment": column(np.full(len(names), self.on_treatment_py.value()),
                                                  pa.float64()),
        })


class PairedContrast:
    """Events averted in one arm versus a reference arm, from per-patient paired differences.

    Arms simulate the same patients with the same event clocks (common random numbers), so
    the difference d_i = events_ref,i − events_arm,i of each patient is the unit of analysis:
    mean and variance of d give a CI far narrower than comparing two independent runs.
    """

    def __init__(self, outcomes: tuple[str, ...]):
        self.outcomes = outcomes
        m = len(outcomes)
        self.n = 0
        self.n_vaccinated = 0
        self.ref_events = np.zeros(m, dtype=np.int64)
        self.arm_events = np.zeros(m, dtype=np.int64)
        self.sum_d = np.zeros(m, dtype=np.int64)
        self.sum_d2 = np.zeros(m, dtype=np.int64)

    def add(self, ref_counts: np.ndarray, arm_counts: np.ndarray, vaccinated: np.ndarray) -> None:
        """Per-patient counts (n, outcomes) of the reference and this arm for one chunk."""
        d = ref_counts.astype(np.int64) - arm_counts.astype(np.int64)
        self.n += d.shape[0]
        self.n_vaccinated += int(np.count_nonzero(vaccinated))
        self.ref_events += ref_counts.sum(axis=0, dtype=np.int64)
        self.arm_events += arm_counts.sum(axis=0, dtype=np.int64)
        self.sum_d += d.sum(axis=0)
        self.sum_d2 += (d * d).sum(axis=0)

    def table(self, arm: str, reference: str, level: float = 0.95) -> pa.Table:
        z = special.ndtri(0.5 + level / 2)
        n = max(self.n, 1)
        mean = self.sum_d / n
        var = np.maximum(self.sum_d2 / n - mean**2, 0.0) * n / max(n - 1, 1)
        se = np.sqrt(var / n)
        per_pt, lo_pt, hi_pt = 1000 * mean, 1000 * (mean - z * se), 1000 * (mean + z * se)
        nv = self.n_vaccinated
        scale = n / nv if nv else np.nan
        per_vacc = per_pt * scale
        lo_v, hi_v = lo_pt * scale, hi_pt * scale
        with np.errstate(divide="ignore", invalid="ignore"):
            nnv = np.where(per_vacc > 0, 1000.0 / per_vacc, np.nan)
            # NNV's CI inverts the CI of cases averted per vaccinee; unbounded if that CI includes 0
            nnv_lo = np.where(hi_v > 0, 1000.0 / hi_v, np.nan)
            nnv_hi = np.where(lo_v > 0, 1000.0 / lo_v, np.inf)
        m = len(self.outcomes)
        return pa.table({
            "arm": column([arm] * m), "reference_arm": column([reference] * m),
            "outcome": column(list(self.outcomes)), "n_patients": column([self.n] * m, pa.int64()),
            "n_vaccinated": column([nv] * m, pa.int64()),
            "events_reference": column(self.ref_events), "events_arm": column(self.arm_events),
            "averted": column(self.sum_d),
            "averted_per_1000_patients": column(per_pt), "averted_per_1000_patients_ci_lower": column(lo_pt),
            "averted_per_1000_patients_ci_upper": column(hi_pt),
            "averted_per_1000_vaccinated": column(per_vacc, pa.float64()),
            "averted_per_1000_vaccinated_ci_lower": column(lo_v, pa.float64()),
            "averted_per_1000_vaccinated_ci_upper": column(hi_v, pa.float64()),
            "number_needed_to_vaccinate": column(nnv, pa.float64()),
            "number_needed_to_vaccinate_ci_lower": column(nnv_lo, pa.float64()),
            "number_needed_to_vaccinate_ci_upper": column(nnv_hi, pa.float64()),
        })


# ----------------------------------------------------------------------- economics
class SignedExactSum:
    """Exact, order-independent running sum of finite float64 values of any sign."""

    def __init__(self) -> None:
        self._pos, self._neg = ExactSum(), ExactSum()

    def add(self, values: np.ndarray) -> None:
        v = np.asarray(values, dtype=np.float64)
        self._pos.add(v[v > 0])
        self._neg.add(-v[v < 0])

    def value(self) -> float:
        return float(Fraction(self._pos._total - self._neg._total, 1 << ExactSum._SHIFT))


class EconomicsAccumulator:
    """Per-arm sums of per-patient economic outcomes and of paired differences to the reference.

    Sums are exact, so means and standard errors do not depend on the chunk size. The paired
    difference d_i = x_arm,i − x_ref,i of each patient (same patients, common random numbers)
    gives the increment's CI.
    """

    def __init__(self, outcomes: tuple[str, ...]):
        self.outcomes = outcomes
        self.n = 0
        self.s1 = {o: SignedExactSum() for o in outcomes}
        self.s2 = {o: ExactSum() for o in outcomes}
        self.d1 = {o: SignedExactSum() for o in outcomes}
        self.d2 = {o: ExactSum() for o in outcomes}

    def add(self, values: dict[str, np.ndarray], reference: dict[str, np.ndarray] | None) -> None:
        self.n += next(iter(values.values())).shape[0]
        for o in self.outcomes:
            x = values[o]
            self.s1[o].add(x)
            self.s2[o].add(x * x)
            if reference is not None:
                d = x - reference[o]
                self.d1[o].add(d)
                self.d2[o].add(d * d)

    def means(self) -> dict[str, float]:
        return {o: self.s1[o].value() / max(self.n, 1) for o in self.outcomes}

    def table(self, arm: str, reference: str, spec, level: float = 0.95) -> pa.Table:
        """One row: means with standard errors, and increments versus the reference with CIs."""
        z = special.ndtri(0.5 + level / 2)
        n = max(self.n, 1)
        cols: dict = {"arm": [arm], "reference_arm": [reference], "n_patients": [self.n],
                      "currency": [spec.currency], "price_year": [spec.price_year],
                      "discount_rate_costs": [spec.rate_costs], "discount_rate_outcomes": [spec.rate_outcomes]}
        for o in self.outcomes:
            m = self.s1[o].value() / n
            var = max(self.s2[o].value() / n - m * m, 0.0) * n / max(n - 1, 1)
            cols[f"mean_{o}"] = [m]
            cols[f"mean_{o}_se"] = [float(np.sqrt(var / n))]
        for o in ("costs", "qalys", "life_years", "costs_undiscounted", "qalys_undiscounted"):
            md = self.d1[o].value() / n
            var = max(self.d2[o].value() / n - md * md, 0.0) * n / max(n - 1, 1)
            se = float(np.sqrt(var / n))
            cols[f"incremental_{o}"] = [md]
            cols[f"incremental_{o}_ci_lower"] = [md - z * se]
            cols[f"incremental_{o}_ci_upper"] = [md + z * se]
        return pa.table({k: column(v) for k, v in cols.items()})


DOMINATED, EXTENDED, FRONTIER = "dominated", "extendedly dominated", "frontier"


def icer_table(names: list[str], costs, qalys) -> list[dict]:
    """Incremental analysis of mutually exclusive strategies (pure function).

    Strategies are ordered by cost. A strategy is *dominated* when another costs no more and
    gives at least as many QALYs (one of the two strictly; of identical strategies the first
    stays); it is *extendedly dominated* when a mix of two others beats it, i.e. its ICER
    against the previous non-dominated strategy exceeds the next one's. ICERs of the frontier
    are against the previous frontier strategy (the cheapest has none).

    Returns one dict per strategy, in the input order: name, costs, qalys, status, comparator,
    icer (NaN where none).
    """
    c = np.asarray(costs, dtype=np.float64)
    q = np.asarray(qalys, dtype=np.float64)
    n = len(names)
    status = [FRONTIER] * n
    for j in range(n):
        for i in range(n):
            if i == j:
                continue
            better = c[i] <= c[j] and q[i] >= q[j]
            strictly = c[i] < c[j] or q[i] > q[j]
            if better and (strictly or i < j):
                status[j] = DOMINATED
                break
    front = sorted((j for j in range(n) if status[j] == FRONTIER), key=lambda j: (c[j], q[j]))
    changed = True
    while changed and len(front) > 2:
        changed = False
        icers = [(c[front[k]] - c[front[k - 1]]) / (q[front[k]] - q[front[k - 1]]) for k in range(1, len(front))]
        for k in range(len(icers) - 1):
            if icers[k] > icers[k + 1]:
                status[front[k + 1]] = EXTENDED
                del front[k + 1]
                changed = True
                break
    rows = []
    for j in range(n):
        row = {"name": names[j], "costs": float(c[j]), "qalys": float(q[j]), "status": status[j],
               "comparator": None, "icer": float("nan")}
        if status[j] == FRONTIER:
            k = front.index(j)
            if k > 0:
                p = front[k - 1]
                row["comparator"] = names[p]
                row["icer"] = float((c[j] - c[p]) / (q[j] - q[p]))
        rows.append(row)
    return rows


def net_monetary_benefit(costs, qalys, wtp) -> np.ndarray:
    """λ·QALYs − costs for every willingness-to-pay λ (last axis)."""
    return np.asarray(qalys, dtype=np.float64)[..., None] * np.asarray(wtp, dtype=np.float64) \
        - np.asarray(costs, dtype=np.float64)[..., None]


def acceptability(costs: np.ndarray, qalys: np.ndarray, wtp: np.ndarray) -> dict[str, np.ndarray]:
    """CEAC, frontier and EVPI from PSA draws: ``costs``/``qalys`` of shape (draws, arms).

    Returns ``probability_optimal`` (W, arms), ``frontier`` (W,) index of the arm with the
    highest expected NMB, and ``evpi`` (W,) per patient: E[max_a NMB] − max_a E[NMB].
    """
    nmb = net_monetary_benefit(costs, qalys, wtp)             # (D, A, W)
    best = nmb.argmax(axis=1)                                 # (D, W)
    A = nmb.shape[1]
    prob = np.stack([(best == a).mean(axis=0) for a in range(A)], axis=1)   # (W, A)
    mean = nmb.mean(axis=0)                                   # (A, W)
    return {"probability_optimal": prob, "frontier": mean.argmax(axis=0),
            "evpi": nmb.max(axis=1).mean(axis=0) - mean.max(axis=0)}
