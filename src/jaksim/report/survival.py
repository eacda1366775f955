"""Time-to-event estimators of the report: Aalen–Johansen cumulative incidence with death as a
competing risk, Kaplan–Meier event-free survival, and rates by stratum with exact Poisson CIs.

Pure functions of arrays (one value per patient); the CIs describe Monte Carlo uncertainty of
the simulated cohort (the model's parameters held at their values).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054

#: exit reasons of the patients table that are deaths (the competing risk)
DEATHS = ("background_death", "infection_death")


@dataclass(frozen=True)
class Curve:
    """A right-continuous step function: ``estimate[i]`` holds on [times[i], times[i + 1]);
    before ``times[0]`` the value is ``start``. ``lower``/``upper``: pointwise 95% CI."""
    times: np.ndarray
    estimate: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    start: float

    def at(self, t) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Estimate, lower and upper bound at times ``t``."""
        t = np.asarray(t, dtype=np.float64)
        i = np.searchsorted(self.times, t, side="right") - 1
        ok = i >= 0
        j = np.maximum(i, 0)

        def pick(v: np.ndarray) -> np.ndarray:
            return np.where(ok, v[j] if v.size else self.start, self.start)
        return pick(self.estimate), pick(self.lower), pick(self.upper)


def _risk_sets(time: np.ndarray, cause: np.ndarray):
    """Distinct times with a cause > 0 and, at each, the number at risk and the events by cause."""
    time = np.asarray(time, dtype=np.float64)
    cause = np.asarray(cause, dtype=np.int64)
    order = np.argsort(time, kind="stable")
    t, c = time[order], cause[order]
    uniq, first = np.unique(t, return_index=True)
    at_risk = len(t) - first
    d_any = np.add.reduceat((c > 0).astype(np.float64), first) if len(t) else np.zeros(0)
    d_one = np.add.reduceat((c == 1).astype(np.float64), first) if len(t) else np.zeros(0)
    keep = d_any > 0
    return uniq[keep], at_risk[keep].astype(np.float64), d_any[keep], d_one[keep]


def aalen_johansen(time, cause) -> Curve:
    """Cumulative incidence of cause 1 with competing causes ≥ 2 (cause 0: censored at ``time``).

    F(t) = Σ_{t_j ≤ t} S(t_j−) d_1j / n_j with S the all-cause Kaplan–Meier survival; variance by
    the delta method (Marubini & Valsecchi 1995; Pintilie 2006, eq. 4.4); Wald 95% CI clipped
    to [0, 1].
    """
    t, n, d, d1 = _risk_sets(time, cause)
    s = np.cumprod(1.0 - d / n)
    s_prev = np.concatenate(([1.0], s[:-1]))
    f = np.cumsum(s_prev * d1 / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(n > d, d / (n * (n - d)), 0.0)
    b = s_prev * d1 / n ** 2
    term1 = f ** 2 * np.cumsum(a) - 2.0 * f * np.cumsum(f * a) + np.cumsum(f ** 2 * a)
    term2 = np.cumsum(s_prev ** 2 * d1 * (n - d1) / n ** 3)
    term3 = f * np.cumsum(b) - np.cumsum(f * b)
    se = np.sqrt(np.maximum(term1 + term2 - 2.0 * term3, 0.0))
    return Curve(t, f, np.clip(f - Z95 * se, 0.0, 1.0), np.clip(f + Z95 * se, 0.0, 1.0), 0.0)


def kaplan_meier(time, event) -> Curve:
    """Kaplan–Meier survival (``event`` true: event at ``time``, else censored); Greenwood
    variance, pointwise 95% CI on the log(−log) scale (Kalbfleisch & Prentice)."""
    t, n, d, _ = _risk_sets(time, np.asarray(event, dtype=np.int64))
    s = np.cumprod(1.0 - d / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        green = np.cumsum(np.where(n > d, d / (n * (n - d)), np.inf))
        log_s = np.log(s)
        half = Z95 * np.sqrt(green) / np.abs(log_s)
        lower = np.where(s > 0, s ** np.exp(half), 0.0)
        upper = np.where(s > 0, s ** np.exp(-half), 0.0)
    lower = np.where(s >= 1.0, 1.0, np.nan_to_num(lower, nan=0.0))
    upper = np.where(s >= 1.0, 1.0, np.nan_to_num(upper, nan=1.0))
    return Curve(t, s, lower, upper, 1.0)


def competing_risk_inputs(follow_up, exit_reason, first_years) -> tuple[np.ndarray, np.ndarray]:
    """Time and cause per patient for a type's first event: 1 at the first event, 2 at death
    before it (the competing risk), 0 censored at the end of follow-up."""
    fu = np.asarray(follow_up, dtype=np.float64)
    first = np.asarray(first_years, dtype=np.float64)        # NaN: no event
    died = np.isin(np.asarray(exit_reason, dtype=object), DEATHS)
    has = ~np.isnan(first)
    time = np.where(has, first, fu)
    cause = np.where(has, 1, np.where(died, 2, 0))
    return time, cause


def closed_form_incidence(rate: float, death_rate: float, t) -> np.ndarray:
    """Cumulative incidence under constant hazards: λ/(λ + λ_d)·(1 − e^{−(λ + λ_d)t})."""
    total = rate + death_rate
    return rate / total * (1.0 - np.exp(-total * np.asarray(t, dtype=np.float64)))


# ---------------------------------------------------------------------- strata
AGE_BANDS = ((0.0, 50.0, "< 50"), (50.0, 65.0, "50–64"), (65.0, 75.0, "65–74"), (75.0, np.inf, "≥ 75"))


def age_band_labels(age) -> np.ndarray:
    """Label of each age in :data:`AGE_BANDS`."""
    age = np.asarray(age, dtype=np.float64)
    out = np.empty(len(age), dtype=object)
    for lo, hi, name in AGE_BANDS:
        out[(age >= lo) & (age < hi)] = name
    return out


def attained_age_person_years(age0, follow_up) -> dict[str, float]:
    """Person-years per attained-age band, splitting each patient's follow-up [age0, age0 + fu)
    at the band limits (age advances with time)."""
    a0 = np.asarray(age0, dtype=np.float64)
    a1 = a0 + np.asarray(follow_up, dtype=np.float64)
    return {name: float(np.clip(np.minimum(a1, hi) - np.maximum(a0, lo), 0.0, None).sum())
            for lo, hi, name in AGE_BANDS}
