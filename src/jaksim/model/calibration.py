"""Marginal calibration: from a published population rate to the reference patient's rate.

A published incidence rate R is an average over its trial population P, not the rate of the
model's reference patient (reference age, no glucocorticoid, male, non-Asian, …). Under the
model's own hazard ratios HR(x) the reference rate b solves

* all-events rate (E/100 PY):   R = b · E_P[HR(x)]
* first-event rate (patients with event / 100 PY at risk), follow-up T per patient:
      R = E_P[1 − e^{−b·HR(x)·T}] / E_P[(1 − e^{−b·HR(x)·T}) / (b·HR(x))]

With a gamma frailty of variance θ (mean 1, ``kernel/frailty.py``) the all-events rate is
unchanged (E[z] = 1), while the first-event probability and time at risk become, with λ = b·HR(x),
      P(event by T) = 1 − (1 + θλT)^{−1/θ}        (the Laplace transform of the gamma law)
      E[time at risk] = ∫_0^T (1 + θλu)^{−1/θ} du = ((1 + θλT)^{1−1/θ} − 1) / (λ(θ − 1))
(log(1 + λT)/λ at θ = 1), so a published first-event rate gives a higher reference rate.

The expectation over P is a deterministic quadrature: baseline age on 64 Gauss–Legendre
quantile nodes of a normal truncated to [18, 100] years, its age factor averaged over the
exposure [0, T] as patients age in the kernel (completed age, stepping at birthdays), times
every combination of the binary covariates and glucocorticoid bands weighted by their shares
(covariates independent: an assumption, stated in the provenance).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from jaksim.model.kept_roots import kept_root
from jaksim.scenario.schema import BINARY_COVARIATES


@dataclass(frozen=True)
class SourcePopulation:
    """Baseline characteristics of the population a published rate was measured in."""

    id: str
    age_mean_years: float
    age_sd_years: float
    shares: dict[str, float]          # binary covariate -> share (female, asia, …)
    glucocorticoid_shares: tuple[float, ...]  # bands after 'none' (<= 5, > 5-10, > 10 mg/day)
    follow_up_years: float            # mean exposure per patient (person-years / patients)
    assumptions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Calibration:
    """Result: reference-patient rate (per 100 PY) and how it was obtained."""

    reference_rate_per_100py: float
    published_rate_per_100py: float
    measure: str
    mean_hazard_ratio: float          # E_P[HR(x)] at the reference rate's scale
    population: str
    assumptions: tuple[str, ...]

    frailty_variance: float = 0.0     # gamma frailty variance θ the calibration accounted for

    def provenance(self) -> dict:
        out = {"method": "marginal calibration to the source population (jaksim.calibration)",
               "published_rate_per_100py": self.published_rate_per_100py, "measure": self.measure,
               "reference_rate_per_100py": self.reference_rate_per_100py,
               "population_mean_hazard_ratio": self.mean_hazard_ratio,
               "source_population": self.population, "assumptions": list(self.assumptions)}
        if self.frailty_variance > 0.0:
            out["frailty_variance"] = self.frailty_variance
        return out


def exposure_age_factor(age: np.ndarray, follow_up_years: float, age_log_hr: float,
                        ref_age: float) -> np.ndarray:
    """Mean age factor over [0, T] of patients ageing as the kernel ages them.

    With ``age_advances: true`` the hazard uses the completed age floor(a + t); the factor is
    (1/T) ∫_0^T exp(β (floor(a + t) − ref)) dt, summed exactly year by year.
    """
    T = follow_up_years
    whole = np.floor(age)
    frac = age - whole
    total = np.zeros_like(age)
    for m in range(int(np.ceil(T)) + 2):
        lo = np.clip(m - frac, 0.0, T)
        hi = np.clip(m + 1 - frac, 0.0, T)
        total += (hi - lo) * np.exp(age_log_hr * (whole + m - ref_age))
    return total / T


@lru_cache(maxsize=4)
def _legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [-1, 1] (pure: computed once per n).

    numpy's ``leggauss`` (the same nodes as ``scipy.special.roots_legendre`` to 2e-16, weights to
    2e-15), which spares a run importing scipy.linalg (30-40 ms of start-up).
    """
    from numpy.polynomial import legendre
    nodes, weights = legendre.leggauss(n)
    nodes.flags.writeable = False
    weights.flags.writeable = False
    return nodes, weights


def population_hazard_ratios(pop: SourcePopulation, log_hr: np.ndarray, hr_gc: np.ndarray,
                             age_log_hr: float, ref_age: float) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature nodes of HR(x) over the population and their weights (sum to 1)."""
    from scipy import special  # imported when needed (slow to import)
    nodes, w_nodes = _legendre(64)
    u = 0.5 * (nodes + 1.0)
    lo, hi = 18.0, 100.0
    a, b = (lo - pop.age_mean_years) / pop.age_sd_years, (hi - pop.age_mean_years) / pop.age_sd_years
    lo_p, hi_p = special.ndtr(a), special.ndtr(b)     # truncated normal by inverse CDF
    age = pop.age_mean_years + pop.age_sd_years * special.ndtri(lo_p + u * (hi_p - lo_p))
    w_age = 0.5 * w_nodes
    age_hr = exposure_age_factor(age, pop.follow_up_years, age_log_hr, ref_age)
    gc_w = np.array([1.0 - sum(pop.glucocorticoid_shares), *pop.glucocorticoid_shares])
    hrs, weights = [], []
    for combo in itertools.product((0, 1), repeat=len(BINARY_COVARIATES)):
        w = 1.0
        x = 0.0
        for c, on in enumerate(combo):
            share = pop.shares.get(BINARY_COVARIATES[c], 0.0)
            w *= share if on else 1.0 - share
            x += log_hr[c] * on
        if w == 0.0:
            continue
        for band in range(gc_w.shape[0]):
            if gc_w[band] <= 0.0:
                continue
            hrs.append(age_hr * np.exp(x) * hr_gc[band])
            weights.append(w_age * w * gc_w[band])
    hr = np.concatenate(hrs)
    wt = np.concatenate(weights)
    return hr, wt / wt.sum()


def calibrate(published_per_100py: float, measure: str, pop: SourcePopulation, log_hr: np.ndarray,
              hr_gc: np.ndarray, age_log_hr: float, ref_age: float, frailty_variance: float = 0.0) -> Calibration:
    """Reference-patient rate that reproduces the published rate in its source population
    (a pure function of its inputs: arms of the same drug and draw share one computation);
    ``frailty_variance``: θ of the type's gamma frailty (0: none)."""
    key = (pop.id, pop.age_mean_years, pop.age_sd_years, tuple(sorted(pop.shares.items())),
           pop.glucocorticoid_shares, pop.follow_up_years, pop.assumptions)
    return _calibrate(float(published_per_100py), measure, key, _Carried(pop),
                      tuple(np.asarray(log_hr, dtype=float).tolist()), tuple(np.asarray(hr_gc, dtype=float).tolist()),
                      float(age_log_hr), float(ref_age), float(frailty_variance))


class _Carried:
    """A value passed through the cache without being part of its key (``key`` carries its values)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __hash__(self) -> int:
        return 0

    def __eq__(self, other) -> bool:
        return isinstance(other, _Carried)


@lru_cache(maxsize=512)
def _calibrate(published_per_100py: float, measure: str, _key: tuple, pop: _Carried, log_hr: tuple,
               hr_gc: tuple, age_log_hr: float, ref_age: float, frailty_variance: float) -> Calibration:
    return _solve(published_per_100py, measure, pop.value, np.array(log_hr), np.array(hr_gc), age_log_hr, ref_age,
                  frailty_variance)


def first_event_probability_and_time(lam: np.ndarray, T: float, frailty_variance: float
                                     ) -> tuple[np.ndarray, np.ndarray]:
    """P(first event by T) and the expected time at risk of it (years) at hazard ``lam`` (per
    year), without frailty or with a gamma frailty of variance θ (module docstring)."""
    theta = frailty_variance
    if theta <= 0.0:
        p = -np.expm1(-lam * T)
        return p, p / lam
    log_s = np.log1p(theta * lam * T)                 # log(1 + θλT)
    p = -np.expm1(-log_s / theta)
    a = 1.0 - 1.0 / theta
    if abs(a) < 1e-12:
        return p, log_s / lam
    return p, np.expm1(a * log_s) / (theta * lam * a)


def _solve(published_per_100py: float, measure: str, pop: SourcePopulation, log_hr: np.ndarray,
           hr_gc: np.ndarray, age_log_hr: float, ref_age: float, frailty_variance: float = 0.0) -> Calibration:
    hr, w = population_hazard_ratios(pop, log_hr, hr_gc, age_log_hr, ref_age)
    mean_hr = float(np.dot(w, hr))
    target = published_per_100py / 100.0
    if target <= 0.0:
        base = 0.0
    elif measure == "all_events":
        base = target / mean_hr
    elif measure == "first_event":
        T = pop.follow_up_years

        def first_event_rate(b: float) -> float:
            p, at_risk = first_event_probability_and_time(b * hr, T, frailty_variance)
            return float(np.dot(w, p) / np.dot(w, at_risk))

        lo = target / mean_hr / 100.0
        hi = target / mean_hr * 100.0
        xtol, rtol = 1e-14, 1e-12

        def root() -> float:
            from scipy import optimize  # imported when needed (slow to import): a kept root skips it
            return optimize.brentq(lambda b: first_event_rate(b) - target, lo, hi, xtol=xtol, rtol=rtol)
        # the same problem solved by an earlier process: its root, bit for bit (kept_roots.py)
        base = kept_root(root, Path(__file__), (target, T, lo, hi, xtol, rtol, float(frailty_variance)), (hr, w))
    else:
        raise ValueError(f"unknown rate measure '{measure}'; allowed: first_event, all_events")
    return Calibration(100.0 * base, published_per_100py, measure, mean_hr, pop.id, pop.assumptions,
                       frailty_variance)


# ------------------------------------------------------------------ source populations
#: Characteristics used where a source population does not report one (status: assumption).
#: Values of the pooled tofacitinib RA programme (Cohen 2020, Table 1), the best-described
#: RA trial population in the library; age SD and the steroid dose split are not reported there.
TYPICAL_RA_TRIAL = {"age_mean_years": 52.1, "age_sd_years": 12.0, "female": 0.826, "asia": 0.237,
                    "glucocorticoid_any": 0.563, "glucocorticoid_7_5mg_or_more": 0.0,
                    "diabetes": 0.080, "prior_zoster": 0.0, "chronic_lung_disease": 0.0,
                    "follow_up_years": 2.0}
_WHY = {
    "age_sd_years": "age SD not reported: 12 years assumed (typical of RA trials)",
    "glucocorticoid_7_5mg_or_more": "steroid dose split not reported: every user assumed below 7.5 mg/day "
                                    "(RA trials capped prednisone at 10 mg/day), i.e. in the <= 5 mg/day band",
    "follow_up_years": "mean exposure not derivable: 2 years assumed",
    "prior_zoster": "prior zoster not reported: none assumed",
    "chronic_lung_disease": "chronic lung disease not reported: none assumed (if present in the source "
                            "population, the reference rate is somewhat too high)",
}


def population_from_entry(pid: str, p: dict) -> SourcePopulation:
    """A described population (library entry: shares as fractions, null = not reported) with a
    typical RA-trial value, stated as an assumption, for each characteristic not reported."""
    vals, notes = {}, []
    n, py = p.get("n_patients"), p.get("person_years")
    got = dict(p)
    got["follow_up_years"] = p.get("follow_up_years") or (py / n if n and py else None)
    for key, default in TYPICAL_RA_TRIAL.items():
        v = got.get(key)
        if v is None:
            v = default
            notes.append(_WHY.get(key, f"{key} not reported: {default:g} assumed (pooled tofacitinib "
                                       "RA programme, Cohen 2020)"))
        vals[key] = float(v)
    gc_any = vals["glucocorticoid_any"]
    high = min(vals["glucocorticoid_7_5mg_or_more"], gc_any)
    return SourcePopulation(
        id=pid, age_mean_years=vals["age_mean_years"], age_sd_years=vals["age_sd_years"],
        shares={"female": vals["female"], "asia": vals["asia"], "prior_zoster": vals["prior_zoster"],
                "diabetes": vals["diabetes"], "zoster_vaccinated": 0.0,
                "chronic_lung_disease": vals["chronic_lung_disease"], "concomitant_csdmard": 0.0},
        # the library's two-band shares read as the four bands (< 7.5 as <= 5, >= 7.5 as > 5-10)
        glucocorticoid_shares=(gc_any - high, high, 0.0),
        follow_up_years=vals["follow_up_years"],
        assumptions=tuple(notes) + ("covariates independent of each other and of age",
                                    "zoster vaccination absent in trial populations",
                                    "concomitant csDMARD share not read: none assumed (most trial patients took "
                                    "background methotrexate; where its hazard ratio is above 1 the reference "
                                    "rate is then somewhat too high)",
                                    "region not given: the pooled patients' rate (region hazard ratio 1)"))


def source_populations(data: dict) -> dict[tuple, SourcePopulation]:
    """Map (drug, dose_mg, type, indication) → SourcePopulation from the validated data of
    ``library/source_populations.yaml`` (``jaksim.library.loader.load_source_populations``;
    an ``applies_to`` item without ``indication`` is RA)."""
    out: dict[tuple, SourcePopulation] = {}
    for p in data.get("source_populations", []):
        if p.get("status") == "assumption" and p.get("age_mean_years") is None:
            continue  # no measured population behind the rate: leave it uncalibrated
        pop = population_from_entry(p["id"], p)
        for a in p.get("applies_to", []):
            out[(a["drug"], float(a["dose_mg"]), a["type"], a.get("indication", "ra"))] = pop
    return out
