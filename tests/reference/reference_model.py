"""Plain-NumPy reference twin of jaksim's sampler, used only by the tests.

The twin simulates the constant-hazard competing-risk model with recurrent events by a
different algorithm and a different random number generator from jaksim's kernel:

* jaksim: one unit-rate Poisson process per (patient, type), next-reaction method,
  counter-based Squares64 numbers keyed by patient id;
* twin: one *total*-hazard clock per patient (Gillespie / competing exponentials), the
  channel picked in proportion to its hazard, ``numpy.random.default_rng`` for all draws,
  vectorised over the patients still at risk.

The model (per patient, per year; the reference patient has the stated rates):

    λ_k = rate_k/100 × age_hr_k^((age − ref_age_k)/10) × gc_hr_k^[glucocorticoid]
          × vacc_hr_k^[vaccinated] × (off_hr_k if off treatment)
    background death μ (constant), all-cause treatment stop d while on treatment.

An event of type k is fatal with probability ``case_fatality_k`` (ends follow-up); if not
fatal and on treatment it stops treatment with probability ``stop_k``; it is hospitalised
with ``hosp_k`` and serious with ``serious_k`` (independent marks). Non-recurrent types
happen at most once. Age does not advance (``age_advances: false`` in jaksim).

``scenario_text`` writes the same model as a jaksim scenario (JSON is YAML), so the tests can
run both and compare them statistically.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
from scipy import special

# flag bits and exit reasons are the output contract (jaksim.codes); nothing of the kernel is imported
from jaksim.codes import (  # noqa: F401
    EXIT_BACKGROUND_DEATH,
    EXIT_HORIZON,
    EXIT_INFECTION_DEATH,
    FATAL,
    HOSPITALISED,
    ON_TREATMENT,
    SERIOUS,
    STOPS_TREATMENT,
)


@dataclass(frozen=True)
class CohortSpec:
    """Baseline characteristics: truncated-normal age, binary covariates."""

    age_mean: float = 55.0
    age_sd: float = 13.0
    age_min: float = 18.0
    age_max: float = 90.0
    female: float = 0.0
    gc: float = 0.0                  # P(glucocorticoid below 7.5 mg/day) below gc_from_age
    gc_from_age: float = 200.0       # from this age on, P = gc_old
    gc_old: float = 0.0
    vaccinated: float = 0.0


@dataclass(frozen=True)
class Params:
    """One arm of the reference model (rates per 100 patient-years)."""

    rates: dict[str, float]
    horizon: float
    mortality: float = 0.0                     # background death per 100 PY
    discontinuation: float = 0.0               # all-cause treatment stop per 100 PY
    case_fatality: dict[str, float] = field(default_factory=dict)
    hosp: dict[str, float] = field(default_factory=dict)
    serious: dict[str, float] = field(default_factory=dict)
    stop: dict[str, float] = field(default_factory=dict)
    off_hr: dict[str, float] = field(default_factory=dict)
    recurrent: dict[str, bool] = field(default_factory=dict)
    age_hr: dict[str, float] = field(default_factory=dict)    # per 10 years
    ref_age: float = 50.0
    gc_hr: dict[str, float] = field(default_factory=dict)
    vacc_hr: dict[str, float] = field(default_factory=dict)
    cohort: CohortSpec = CohortSpec()

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(self.rates)

    def vec(self, name: str, default: float) -> np.ndarray:
        d = getattr(self, name)
        return np.array([float(d.get(t, default)) for t in self.types])


@dataclass
class Result:
    """Per-patient outcomes and the event list (patient, then time order)."""

    follow_up: np.ndarray
    exit_reason: np.ndarray
    stop_time: np.ndarray
    counts: np.ndarray
    first_time: np.ndarray
    ev_pid: np.ndarray
    ev_type: np.ndarray
    ev_time: np.ndarray
    ev_flags: np.ndarray


# ------------------------------------------------------------------------ cohort
def draw_cohort(rng: np.random.Generator, spec: CohortSpec, n: int) -> dict[str, np.ndarray]:
    """Draw n patients: age by inverse-CDF truncated normal, covariates by Bernoulli."""
    lo = special.ndtr((spec.age_min - spec.age_mean) / spec.age_sd)
    hi = special.ndtr((spec.age_max - spec.age_mean) / spec.age_sd)
    age = spec.age_mean + spec.age_sd * special.ndtri(lo + rng.random(n) * (hi - lo))
    age = np.clip(age, spec.age_min, spec.age_max)
    female = rng.random(n) < spec.female
    p_gc = np.where(age >= spec.gc_from_age, spec.gc_old, spec.gc)
    gc = rng.random(n) < p_gc
    vacc = rng.random(n) < spec.vaccinated
    return {"age": age, "female": female, "gc": gc, "vaccinated": vacc}


def hazards(p: Params, cohort: dict[str, np.ndarray]) -> np.ndarray:
    """On-treatment infection hazards per year, shape (n, K)."""
    base = p.vec("rates", 0.0) / 100.0
    age_term = np.log(p.vec("age_hr", 1.0))[None, :] * (cohort["age"][:, None] - p.ref_age) / 10.0
    lam = base[None, :] * np.exp(age_term)
    lam = lam * np.where(cohort["gc"][:, None], p.vec("gc_hr", 1.0)[None, :], 1.0)
    lam = lam * np.where(cohort["vaccinated"][:, None], p.vec("vacc_hr", 1.0)[None, :], 1.0)
    return lam


# --------------------------------------------------------------------- simulation
def simulate(rng: np.random.Generator, p: Params, rates: np.ndarray) -> Result:
    """Total-hazard (Gillespie) simulation of every patient, vectorised over those at risk."""
    n, K = rates.shape
    T = float(p.horizon)
    mu = p.mortality / 100.0
    d = p.discontinuation / 100.0
    off = p.vec("off_hr", 1.0)
    p_fatal, p_hosp = p.vec("case_fatality", 0.0), p.vec("hosp", 0.0)
    p_serious, p_stop = p.vec("serious", 0.0), p.vec("stop", 0.0)
    recurrent = np.array([bool(p.recurrent.get(t, True)) for t in p.types])

    t = np.zeros(n)
    on = np.ones(n, dtype=bool)
    follow_up = np.full(n, T)
    exit_reason = np.zeros(n, dtype=np.int8)
    stop_time = np.full(n, np.nan)
    counts = np.zeros((n, K), dtype=np.int64)
    first_time = np.full((n, K), np.nan)
    ev = {"pid": [], "type": [], "time": [], "flags": []}
    active = np.arange(n)
    while active.size:
        a = active
        lam = rates[a] * np.where(on[a][:, None], 1.0, off[None, :])
        lam = np.where(~recurrent[None, :] & (counts[a] > 0), 0.0, lam)
        chan = np.column_stack([lam, np.full(a.size, mu), np.where(on[a], d, 0.0)])
        cum = np.cumsum(chan, axis=1)
        total = cum[:, -1]
        with np.errstate(divide="ignore"):
            dt = np.where(total > 0, rng.standard_exponential(a.size) / np.where(total > 0, total, 1.0), np.inf)
        t_new = t[a] + dt
        ends = t_new >= T
        follow_up[a[ends]] = T                      # end of horizon
        keep = ~ends
        a, cum, total, t_new = a[keep], cum[keep], total[keep], t_new[keep]
        t[a] = t_new
        # which channel: inverse CDF on the cumulative hazards (zero-hazard channels skipped)
        u = rng.random(a.size) * total
        which = np.minimum((cum <= u[:, None]).sum(axis=1), K + 1)
        dead = which == K
        follow_up[a[dead]] = t_new[dead]
        exit_reason[a[dead]] = EXIT_BACKGROUND_DEATH
        stops = which == K + 1
        on[a[stops]] = False
        stop_time[a[stops]] = t_new[stops]
        inf = which < K
        ai, ki, ti = a[inf], which[inf], t_new[inf]
        first = counts[ai, ki] == 0
        first_time[ai[first], ki[first]] = ti[first]
        counts[ai, ki] += 1
        m = ai.size
        flags = np.where(on[ai], ON_TREATMENT, 0)
        flags |= np.where(rng.random(m) < p_hosp[ki], HOSPITALISED, 0)
        flags |= np.where(rng.random(m) < p_serious[ki], SERIOUS, 0)
        fatal = rng.random(m) < p_fatal[ki]
        stop = ~fatal & on[ai] & (rng.random(m) < p_stop[ki])
        flags |= np.where(fatal, FATAL, 0) | np.where(stop, STOPS_TREATMENT, 0)
        follow_up[ai[fatal]] = ti[fatal]
        exit_reason[ai[fatal]] = EXIT_INFECTION_DEATH
        on[ai[stop]] = False
        stop_time[ai[stop]] = ti[stop]
        ev["pid"].append(ai)
        ev["type"].append(ki)
        ev["time"].append(ti)
        ev["flags"].append(flags)
        gone = np.zeros(a.size, dtype=bool)
        gone[dead] = True
        gone[np.flatnonzero(inf)[fatal]] = True
        active = a[~gone]
    pid = np.concatenate(ev["pid"]) if ev["pid"] else np.empty(0, np.int64)
    typ = np.concatenate(ev["type"]) if ev["type"] else np.empty(0, np.int64)
    tim = np.concatenate(ev["time"]) if ev["time"] else np.empty(0)
    flg = np.concatenate(ev["flags"]) if ev["flags"] else np.empty(0, np.int64)
    order = np.lexsort((tim, pid))
    return Result(follow_up, exit_reason, stop_time, counts, first_time,
                  pid[order], typ[order], tim[order], flg[order].astype(np.uint8))


def run(p: Params, n: int, seed: int) -> tuple[dict[str, np.ndarray], Result]:
    """Draw a cohort and simulate it; everything from ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    cohort = draw_cohort(rng, p.cohort, n)
    return cohort, simulate(rng, p, hazards(p, cohort))


# ----------------------------------------------------------- the same model in jaksim
def scenario_dict(p: Params, *, name: str = "twin", seed: int = 1, n: int = 1000) -> dict:
    """The reference model as a jaksim scenario (every value explicit; no library default)."""
    c = p.cohort
    gc = {"below_7_5mg": c.gc}
    if c.gc_from_age < 200.0:
        gc["by_age"] = [{"from_age_years": c.gc_from_age, "below_7_5mg": c.gc_old}]
    infections = {}
    for t in p.types:
        gc_hr = float(p.gc_hr.get(t, 1.0))
        infections[t] = {
            "rate_per_100py": float(p.rates[t]),
            "recurrent": bool(p.recurrent.get(t, True)),
            "hazard_ratios": {"age_per_10_years": float(p.age_hr.get(t, 1.0)), "reference_age_years": p.ref_age,
                              "glucocorticoid_below_7_5mg": gc_hr, "glucocorticoid_7_5mg_or_more": gc_hr,
                              "female": 1, "asia": 1, "prior_zoster": 1, "diabetes": 1,
                              "zoster_vaccinated": float(p.vacc_hr.get(t, 1.0))},
            "off_treatment_hazard_ratio": float(p.off_hr.get(t, 1.0)),
            "hospitalisation_probability": float(p.hosp.get(t, 0.0)),
            "serious_probability": float(p.serious.get(t, 0.0)),
            "discontinuation_probability": float(p.stop.get(t, 0.0)),
        }
    return {
        "name": name, "seed": seed, "n_patients": n, "horizon_years": float(p.horizon),
        "cohort": {"age": {"distribution": "truncated_normal", "mean_years": c.age_mean, "sd_years": c.age_sd,
                           "min_years": c.age_min, "max_years": c.age_max},
                   "age_advances": False, "female": c.female, "glucocorticoid": gc,
                   "zoster_vaccinated": c.vaccinated},
        "treatment": {"drug": "tofacitinib", "dose_mg": 5, "discontinuation_rate_per_100py": p.discontinuation},
        "infections": infections,
        "mortality": {"rate_per_100py": p.mortality,
                      "case_fatality": {t: float(p.case_fatality.get(t, 0.0)) for t in p.types}},
    }


def scenario_text(p: Params, **kw) -> str:
    """``scenario_dict`` as scenario text (JSON is a subset of YAML)."""
    return json.dumps(scenario_dict(p, **kw), indent=1)
