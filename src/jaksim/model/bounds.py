"""The per-patient event bound: a model whose hazards would give a patient more events than
jaksim simulates is refused before any simulation (issue 17, finding 6).

A scenario's rates and hazard ratios are each bounded (``scenario.base``), but their product
is not: a rate of 10 a year times several hazard ratios of 100 made a run's event buffers grow
without bound. :func:`check_event_bound` computes, per arm and infection type, the expected
events over the horizon of the worst-placed patient the cohort can hold (every hazard ratio
above 1 of a covariate or steroid band that occurs in the cohort, the highest age factor at an
age its patients reach, the highest time-on-treatment or off-treatment multiplier) and refuses
a model where their sum exceeds ``MAX_EXPECTED_EVENTS``, as a one-line error at the arm's
infection type. A truncated-normal age reaches as far as fewer than 1 in 100 cohorts of its
size would pass. The kernel's event count is bounded at run time too
(``run.chunks.MAX_EVENTS_PER_PATIENT``), in case a patient exceeds the expectation.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from jaksim.codes import MAX_AGE
from jaksim.model.hazards import ArmSpec
from jaksim.scenario.schema import BINARY_COVARIATES, GLUCOCORTICOID_BANDS, REGIONS, FileCohort, Scenario

#: most expected events of the worst-placed patient over the horizon, all types together (an event
#: every 4 days for 100 years; the shipped scenarios' worst patients expect at most 170 in 5 years)
MAX_EXPECTED_EVENTS = 10_000.0


@dataclass(frozen=True)
class Reach:
    """What the cohort's patients can have: completed ages (lowest, highest) during follow-up,
    which binary covariates occur, and which glucocorticoid bands and regions."""

    ages: tuple[int, int]
    covariates: np.ndarray       # bool (len(BINARY_COVARIATES),)
    bands: np.ndarray            # bool (B,)
    regions: np.ndarray          # bool (R,)


def _normal_ages(a, n: int) -> tuple[float, float]:
    """Ages of a truncated normal that fewer than 1 in 100 cohorts of ``n`` patients pass."""
    z = NormalDist().inv_cdf(1.0 - 0.01 / max(n, 1) / 2.0)
    lo, hi = max(a.min_years, a.mean_years - z * a.sd_years), min(a.max_years, a.mean_years + z * a.sd_years)
    return min(lo, a.max_years), max(hi, a.min_years)


def cohort_reach(scenario: Scenario, table=None) -> Reach:
    """:class:`Reach` of the scenario's cohort (``table``: a file cohort's PatientTable)."""
    c = scenario.cohort
    if isinstance(c, FileCohort):
        if table is None or not len(table.age):
            return Reach((0, MAX_AGE), np.ones(len(BINARY_COVARIATES), bool), np.ones(len(GLUCOCORTICOID_BANDS), bool),
                         np.ones(len(REGIONS), bool))
        lo, hi = float(table.age.min()), float(table.age.max())
        covariates = table.covariates.any(axis=0).astype(bool)
        bands = np.isin(np.arange(len(GLUCOCORTICOID_BANDS)), table.gc_band)
        regions = np.isin(np.arange(len(REGIONS)), table.region)
    else:
        if c.age.distribution == "truncated_normal":
            lo, hi = _normal_ages(c.age, scenario.n_patients)
        else:
            lo, hi = min(b.min_years for b in c.age.bands), max(b.max_years for b in c.age.bands)
        covariates = np.array([getattr(c, name) > 0 for name in BINARY_COVARIATES], bool)
        covariates[BINARY_COVARIATES.index("asia")] = c.asia_share() > 0
        g = c.glucocorticoid
        shares = np.array([g.band_shares()] + [r.band_shares() for r in g.by_age])
        bands = np.concatenate([[True], (shares > 0).any(axis=0)])
        regions = np.array([r in (c.region or {"unspecified": 1.0}) for r in REGIONS], bool)
    if c.age_advances:
        hi += scenario.horizon_years
    return Reach((int(max(0, np.floor(lo))), int(min(MAX_AGE, np.ceil(hi)))), covariates, bands, regions)


def worst_events(spec: ArmSpec, horizon: float, reach: Reach) -> np.ndarray:
    """Per type: expected events over ``horizon`` years of the cohort's patient with the highest
    hazard (every hazard ratio above 1 of the covariates and bands that occur, the age with the
    highest age factor, the highest time-on-treatment or off-treatment multiplier)."""
    lo, hi = reach.ages
    log_hr = np.where(reach.covariates[None, :], np.clip(spec.log_hr, 0.0, None), 0.0)
    rate = (np.nanmax(spec.base_rate, axis=1, initial=0.0)
            * np.exp(log_hr.sum(axis=1))
            * spec.hr_gc[:, reach.bands].max(axis=1, initial=0.0)
            * spec.region_hr[:, reach.regions].max(axis=1, initial=0.0)
            * spec.age_hr_table[:, lo:hi + 1].max(axis=1, initial=0.0)
            * np.maximum(spec.tot_mult.max(axis=1, initial=0.0), spec.off_hr))
    events = rate * horizon
    return np.where(spec.recurrent.astype(bool), events, np.minimum(events, 1.0))


def check_event_bound(scenario: Scenario, arms: tuple[ArmSpec, ...], table=None) -> None:
    """Raise a one-line ScenarioError at the infection type that makes some patient's expected
    events exceed ``MAX_EXPECTED_EVENTS`` (``table``: a file cohort's PatientTable)."""
    horizon = float(scenario.horizon_years)
    reach = cohort_reach(scenario, table)
    for i, spec in enumerate(arms):
        events = worst_events(spec, horizon, reach)
        total = float(np.nansum(events))
        if not total > MAX_EXPECTED_EVENTS and np.isfinite(total):
            continue
        k = int(np.nanargmax(events)) if np.isfinite(events).any() else 0
        raise scenario.error(
            ("arms", i, "infections", spec.types[k]),
            f"with this rate and these hazard ratios a patient may expect {total:,.0f} events in "
            f"{horizon:g} years ({events[k]:,.0f} of '{spec.types[k]}', {events[k] / horizon:,.3g} a year); "
            f"at most {MAX_EXPECTED_EVENTS:,.0f} per patient are simulated: lower the rate or the hazard ratios")
