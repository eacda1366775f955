"""Uncertainty of library values: the distribution a probabilistic sensitivity analysis draws.

* rates: gamma from events and person-years when both are reported (shape = events,
  mean = the published rate); otherwise log-normal from the 95% CI;
* hazard ratios and other ratios: log-normal from the 95% CI, σ = (ln hi − ln lo) / (2·1.96);
* probabilities: beta by the method of moments from the 95% CI (sd = (hi − lo) / (2·1.96));
* a value without a reported CI is fixed (no uncertainty) and says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

Z95 = stats.norm.ppf(0.975)


@dataclass(frozen=True)
class Distribution:
    """A named distribution with scipy-style parameters and its derivation."""

    family: str            # gamma | lognormal | beta | fixed
    params: dict
    derivation: str

    def frozen(self):
        """The scipy frozen distribution (``fixed`` → a degenerate uniform)."""
        p = self.params
        if self.family == "gamma":
            return stats.gamma(a=p["shape"], scale=p["scale"])
        if self.family == "lognormal":
            return stats.lognorm(s=p["sigma"], scale=math.exp(p["mu"]))
        if self.family == "beta":
            return stats.beta(a=p["alpha"], b=p["beta"])
        return stats.uniform(loc=p["value"], scale=0.0)


def _fixed(value: float, why: str) -> Distribution:
    return Distribution("fixed", {"value": float(value)}, why)


def rate_distribution(entry: dict) -> Distribution:
    """Distribution of a rate per 100 patient-years (library ``rates`` entry)."""
    value = float(entry["rate_per_100py"])
    events, py = entry.get("events"), entry.get("person_years")
    if events and py and events > 0:
        # Poisson likelihood with a flat prior on the rate: Gamma(events, 100/PY) has mean = rate.
        return Distribution("gamma", {"shape": float(events), "scale": value / float(events)},
                            f"gamma(shape = {events} events, scale = rate/events): mean {value:g} per 100 PY")
    return ratio_distribution(value, entry.get("ci95_per_100py"))


def ratio_distribution(value: float, ci: list | None) -> Distribution:
    """Log-normal from a point estimate and 95% CI (hazard ratio, or rate without counts)."""
    if not ci or ci[0] is None or ci[1] is None or ci[0] <= 0 or ci[1] <= ci[0]:
        return _fixed(value, "no 95% CI reported: fixed")
    sigma = (math.log(ci[1]) - math.log(ci[0])) / (2 * Z95)
    return Distribution("lognormal", {"mu": math.log(value), "sigma": sigma},
                        f"log-normal, median {value:g}, σ = (ln {ci[1]:g} − ln {ci[0]:g}) / 3.92 = {sigma:.4g}")


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
