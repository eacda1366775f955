"""Uncertainty of library values: the distribution a probabilistic sensitivity analysis draws.

* rates: gamma from events and person-years when both are reported (shape = events,
  mean = the published rate); otherwise log-normal from the 95% CI;
* hazard ratios, other ratios and rates without counts: log-normal fitted to the 95% CI,
  μ = (ln lo + ln hi) / 2, σ = (ln hi − ln lo) / (2·1.96), so its 2.5% and 97.5% quantiles are
  the reported bounds exactly. The median √(lo·hi) equals the point estimate when the CI is
  symmetric on the log scale (Wald CIs of hazard ratios, up to rounding); where it is not (exact
  Poisson CIs, or a rate rounded to one digit such as 0.1 (0.1–0.2)) the CI carries the
  uncertainty and the point estimate stays the deterministic value;
* probabilities: beta by the method of moments from the 95% CI (sd = (hi − lo) / (2·1.96));
* a value without a reported CI is fixed (no uncertainty) and says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: the 97.5% quantile of the standard normal, scipy.special.ndtri(0.975) to the last bit (a literal:
#: importing scipy.special costs 0.1-0.2 s, which ``jaksim validate`` must not pay)
Z95 = 1.959963984540054


@dataclass(frozen=True)
class PointMass:
    """All probability at one value: the scipy frozen-distribution methods a PSA uses."""

    value: float

    def mean(self) -> float:
        return self.value

    def median(self) -> float:
        return self.value

    def std(self) -> float:
        return 0.0

    def var(self) -> float:
        return 0.0

    def ppf(self, q):
        return np.full(np.shape(q), self.value) if np.ndim(q) else self.value

    def cdf(self, x):
        return np.where(np.asarray(x) >= self.value, 1.0, 0.0)

    def interval(self, confidence: float):
        return self.value, self.value

    def rvs(self, size=None, random_state=None):
        return np.full(size, self.value) if size is not None else self.value


@dataclass(frozen=True)
class Distribution:
    """A named distribution with scipy-style parameters and its derivation."""

    family: str            # gamma | lognormal | beta | fixed
    params: dict
    derivation: str

    def frozen(self):
        """The scipy frozen distribution (``fixed`` → a point mass at the value)."""
        from scipy import stats  # imported when needed (slow to import)
        p = self.params
        if self.family == "gamma":
            return stats.gamma(a=p["shape"], scale=p["scale"])
        if self.family == "lognormal":
            return stats.lognorm(s=p["sigma"], scale=math.exp(p["mu"]))
        if self.family == "beta":
            return stats.beta(a=p["alpha"], b=p["beta"])
        return PointMass(p["value"])


def _fixed(value: float, why: str) -> Distribution:
    return Distribution("fixed", {"value": float(value)}, why)


def rate_distribution(entry: dict) -> Distribution:
    """Distribution of a rate per 100 patient-years (library ``rates`` entry)."""
    value = float(entry["rate_per_100py"])
    events, py = entry.get("events"), entry.get("person_years")
    if events and py and events > 0:
        # Gamma with the Poisson likelihood's relative precision (CV = 1/√events) and mean = the
        # published rate (= 100·events/PY up to the rounding of the published rate).
        return Distribution("gamma", {"shape": float(events), "scale": value / float(events)},
                            f"gamma(shape = {events} events, scale = rate/events): mean {value:g} per 100 PY")
    return ratio_distribution(value, entry.get("ci95_per_100py"))


def ratio_distribution(value: float, ci: list | None) -> Distribution:
    """Log-normal fitted to a 95% CI (hazard ratio, or rate without counts): quantiles = CI."""
    if not ci or ci[0] is None or ci[1] is None or ci[0] <= 0 or ci[1] <= ci[0]:
        return _fixed(value, "no 95% CI reported: fixed")
    mu = (math.log(ci[0]) + math.log(ci[1])) / 2
    sigma = (math.log(ci[1]) - math.log(ci[0])) / (2 * Z95)
    return Distribution("lognormal", {"mu": mu, "sigma": sigma},
                        f"log-normal fitted to the CI: median √({ci[0]:g}·{ci[1]:g}) = {math.exp(mu):.4g}, "
                        f"σ = (ln {ci[1]:g} − ln {ci[0]:g}) / 3.92 = {sigma:.4g}")


def probability_distribution(value: float, ci: list | None) -> Distribution:
    """Beta by the method of moments from a probability and its 95% CI."""
    if not ci or ci[0] is None or ci[1] is None or not 0 < value < 1 or ci[1] <= ci[0]:
        return _fixed(value, "no 95% CI reported (or p is 0 or 1): fixed")
    sd = (ci[1] - ci[0]) / (2 * Z95)
    common = value * (1 - value) / sd**2 - 1
    if common <= 0:
        return _fixed(value, "CI too wide for a beta by moments: fixed")
    return Distribution("beta", {"alpha": value * common, "beta": (1 - value) * common},
                        f"beta by moments: mean {value:g}, sd (hi − lo)/3.92 = {sd:.4g}")


def distribution(section: str, entry: dict) -> Distribution:
    """Distribution of any library entry, by its section."""
    if section == "rates":
        return rate_distribution(entry)
    if section in ("hazard_ratios", "off_treatment_hazard_ratio"):
        return ratio_distribution(float(entry["hazard_ratio"]), entry.get("ci95"))
    if section == "consequences":
        return probability_distribution(float(entry["probability"]), entry.get("ci95"))
    if section == "discontinuation":
        return ratio_distribution(float(entry["rate_per_100py"]), entry.get("ci95"))
    if section == "mortality":
        return ratio_distribution(float(entry["value"]), entry.get("ci95"))
    raise ValueError(f"no uncertainty model for library section '{section}'")
