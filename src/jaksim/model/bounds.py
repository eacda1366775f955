"""The per-patient event bound: a model whose hazards would give a patient more events than
jaksim simulates is refused before any simulation (issue 17, finding 6).

A scenario's rates and hazard ratios are each bounded (``scenario.base``), but their product
is not: a rate of 10 a year times several hazard ratios of 100 made a run's event buffers grow
without bound. :func:`check_event_bound` computes, per arm and infection type, the expected
events over the horizon of the worst-placed patient (every hazard ratio above 1 applying, the
highest age factor the cohort reaches, the highest time-on-treatment or off-treatment
multiplier) and refuses a model where their sum exceeds ``MAX_EXPECTED_EVENTS``, as a one-line
error at the arm's infection type. The kernel's event count is bounded at run time too
(``run.chunks.MAX_EVENTS_PER_PATIENT``), in case a patient exceeds the expectation.
"""

from __future__ import annotations

import numpy as np

from jaksim.codes import MAX_AGE
from jaksim.model.hazards import ArmSpec
from jaksim.scenario.schema import FileCohort, Scenario

#: most expected events of the worst-placed patient over the horizon, all types together (an event
#: every 4 days for 100 years; the shipped scenarios' worst patients expect at most 170 in 5 years)
MAX_EXPECTED_EVENTS = 10_000.0


def cohort_ages(scenario: Scenario, table_ages: np.ndarray | None) -> tuple[int, int]:
    """Completed ages (lowest, highest) a patient of the cohort can have during follow-up."""
    c = scenario.cohort
    if isinstance(c, FileCohort):
        lo, hi = ((float(table_ages.min()), float(table_ages.max())) if table_ages is not None and table_ages.size
                  else (0.0, float(MAX_AGE)))
    elif c.age.distribution == "truncated_normal":
        lo, hi = c.age.min_years, c.age.max_years
    else:
        lo, hi = min(b.min_years for b in c.age.bands), max(b.max_years for b in c.age.bands)
    if c.age_advances:
        hi += scenario.horizon_years
    return int(max(0, np.floor(lo))), int(min(MAX_AGE, np.ceil(hi)))


def worst_events(spec: ArmSpec, horizon: float, ages: tuple[int, int]) -> np.ndarray:
    """Per type: expected events over ``horizon`` years of the patient with the highest hazard."""
    lo, hi = ages
    rate = (np.nanmax(spec.base_rate, axis=1, initial=0.0)
            * np.exp(np.clip(spec.log_hr, 0.0, None).sum(axis=1))
            * spec.hr_gc.max(axis=1, initial=0.0)
            * spec.age_hr_table[:, lo:hi + 1].max(axis=1, initial=0.0)
            * np.maximum(spec.tot_mult.max(axis=1, initial=0.0), spec.off_hr))
    events = rate * horizon
    return np.where(spec.recurrent.astype(bool), events, np.minimum(events, 1.0))


def check_event_bound(scenario: Scenario, arms: tuple[ArmSpec, ...], table_ages: np.ndarray | None) -> None:
    """Raise a one-line ScenarioError at the infection type that makes some patient's expected
    events exceed ``MAX_EXPECTED_EVENTS``."""
    horizon = float(scenario.horizon_years)
    ages = cohort_ages(scenario, table_ages)
    for i, spec in enumerate(arms):
        events = worst_events(spec, horizon, ages)
        total = float(np.nansum(events))
        if not total > MAX_EXPECTED_EVENTS and np.isfinite(total):
            continue
        k = int(np.nanargmax(events)) if np.isfinite(events).any() else 0
        raise scenario.error(
            ("arms", i, "infections", spec.types[k]),
            f"with this rate and these hazard ratios a patient may expect {total:,.0f} events in "
            f"{horizon:g} years ({events[k]:,.0f} of '{spec.types[k]}', {events[k] / horizon:,.3g} a year); "
            f"at most {MAX_EXPECTED_EVENTS:,.0f} per patient are simulated: lower the rate or the hazard ratios")
