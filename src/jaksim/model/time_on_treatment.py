"""Time-on-treatment multipliers of one arm: the scenario's steps, else the library's profile.

The hazard of type k on treatment is ``λ_ref,k × m_k(u) / N_k`` with u the years on treatment,
m_k a step function (1 in the first period) and N_k the mean of m_k over the window the rate
was measured in, so that the rate is reproduced over that window and the profile extrapolates
beyond it:

* a scenario's ``infections.<type>.time_on_treatment`` steps: m_k as given (1 after the last
  step), N_k = 1 (as before profiles existed);
* otherwise, with ``time_on_treatment_profile: library`` (default), the library's piecewise
  profile of the arm's drug and type (``parameters.yaml``, ``time_on_treatment_profiles``), if
  any, and only for a rate from the library (a rate typed in the scenario stays constant):

  - a programme rate flagged ``window_years: W`` (a short fixed window): N = mean of m over
    [0, W] (every patient followed through the window);
  - a long-term programme rate (no window): N = mean of m weighted by the exposure of its source
    population, taken as exponential with the population's mean follow-up F (PY / patients):
    N = ∫ m(u) e^(−u/F) du / F (assumption: patients leave the programme at a constant rate);
  - a baseline × relative effect: the relative effect comes from randomised periods of
    ``RELATIVE_EFFECT_WINDOW_YEARS`` (assumption), N = mean of m over that window.

Years throughout; multipliers are dimensionless.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from jaksim.library import Library
from jaksim.library.resolve import SCENARIO
from jaksim.scenario.schema import INDICATIONS, Arm, Scenario

#: window (years) of the randomised comparisons behind relative effects: placebo-controlled
#: periods of 12–24 weeks and head-to-head trials of up to a year (assumption; any value up to
#: the first edge of a profile gives the same result)
RELATIVE_EFFECT_WINDOW_YEARS = 0.5


@dataclass(frozen=True)
class Profile:
    """A step function of years on treatment: ``values[i]`` before ``ends[i]``, ``values[-1]`` after."""

    ends: tuple[float, ...]
    values: tuple[float, ...]
    source: str                      # "scenario" or "library"
    entry: dict | None = None        # the library entry as written

    def at(self, u: float) -> float:
        """Multiplier at ``u`` years on treatment."""
        for end, v in zip(self.ends, self.values, strict=False):
            if u < end:
                return v
        return self.values[-1]

    def _pieces(self):
        starts = (0.0,) + self.ends
        ends = self.ends + (math.inf,)
        return zip(starts, ends, self.values, strict=True)

    def uniform_mean(self, window_years: float) -> float:
        """Mean multiplier over [0, window_years]."""
        total = sum(v * max(0.0, min(b, window_years) - a) for a, b, v in self._pieces())
        return total / window_years

    def exposure_mean(self, follow_up_years: float) -> float:
        """Mean multiplier over an exponential exposure of mean ``follow_up_years``."""
        f = follow_up_years
        return sum(v * (math.exp(-a / f) - (0.0 if math.isinf(b) else math.exp(-b / f)))
                   for a, b, v in self._pieces())


def arm_profiles(scenario: Scenario, arm: Arm, library: Library) -> dict[str, Profile | None]:
    """The profile of each infection type of the arm (None: constant hazard on treatment)."""
    out: dict[str, Profile | None] = {}
    for name, inf in arm.infections.items():
        if inf.time_on_treatment:
            out[name] = Profile(tuple(s.until_years for s in inf.time_on_treatment),
                                tuple(s.hazard_ratio for s in inf.time_on_treatment) + (1.0,), SCENARIO)
            continue
        e = library.time_on_treatment_profile(arm.treatment.drug, name)
        use = scenario.time_on_treatment_profile == "library" and inf.typed_rate is None
        out[name] = (Profile(tuple(float(x) for x in e["edges_years"]), tuple(float(x) for x in e["multipliers"]),
                             "library", e) if e is not None and use else None)
    return out


def arm_edges(profiles: dict[str, Profile | None]) -> list[float]:
    """Every change point of the arm's profiles, sorted (years on treatment)."""
    return sorted({u for p in profiles.values() if p is not None for u in p.ends})


def multipliers(profile: Profile | None, edges: list[float]) -> np.ndarray:
    """The (G+1,) multiplier between the arm's edges (1 everywhere without a profile)."""
    if profile is None:
        return np.ones(len(edges) + 1)
    return np.array([profile.at(u) for u in [0.0] + edges], dtype=np.float64)


def normalise(profile: Profile | None, base: np.ndarray, prov: dict, library: Library, arm: Arm,
              name: str) -> None:
    """Divide each indication's rate by the profile's mean over its window (in place) and record
    the profile in ``prov["time_on_treatment"]``."""
    if profile is None or profile.source == SCENARIO:    # scenario steps: recorded where they are resolved
        return
    e = profile.entry or {}
    cited = {k: e[k] for k in ("citation", "doi", "status", "read_from", "note", "library") if e.get(k) is not None}
    record = {"source": "library", "profile": "piecewise", "edges_years": list(profile.ends),
              "multipliers": list(profile.values), **cited, "normalisation": {}}
    tr = arm.treatment
    for j, ind in enumerate(INDICATIONS):
        entry = (prov.get("rate_per_100py") or {}).get(ind)
        if entry is None or np.isnan(base[j]):
            continue
        norm, how = _normaliser(profile, entry, library, tr.drug, tr.dose_mg, ind, name)
        base[j] /= norm
        record["normalisation"][ind] = {"mean_multiplier": norm, "window": how}
    prov["time_on_treatment"] = record


def _normaliser(profile: Profile, entry: dict, library: Library, drug: str, dose_mg: float, ind: str,
                name: str) -> tuple[float, str]:
    """Mean multiplier over the window a rate was measured in, and how that window was set."""
    if "relative_effect" in entry:
        r = RELATIVE_EFFECT_WINDOW_YEARS
        return profile.uniform_mean(r), (f"relative effect from randomised periods: [0, {r:g}] years "
                                         "(assumption)")
    w = library.rate_window_years(drug, dose_mg, ind, name)
    if w is not None:
        return profile.uniform_mean(w), f"short window of the published rate: [0, {w:g}] years (window_years)"
    pop = library.source_population(drug, dose_mg, name, ind)
    if pop is None:
        return 1.0, "no source population: the rate is taken as the first period's (assumption)"
    f = pop.follow_up_years
    return profile.exposure_mean(f), (f"long-term rate of source population {pop.id}: exponential exposure "
                                      f"with mean follow-up {f:.3g} years (assumption)")
