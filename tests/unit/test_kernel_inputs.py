"""The kernel's named inputs (``jaksim.kernel.inputs``): built in one place, checked field by field."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from helpers import MINIMAL
from jaksim.kernel.inputs import KernelInputs, kernel_inputs
from jaksim.model.spec import build_model, no_schedule
from jaksim.scenario.load import scenario_from_text


@pytest.fixture(scope="module")
def parts():
    model = build_model(scenario_from_text(MINIMAL))
    cohort = model.cohort.block(0, 50)
    keys = (model.clock_keys, model.cons_keys, model.death_key, model.disc_key)
    return model.arms[0], cohort, no_schedule(len(cohort)), keys


def _build(arm, cohort, schedule, keys, age_advances=False, horizon=5.0):
    return kernel_inputs(arm, cohort, schedule, keys, age_advances, horizon)


def test_inputs_are_named_views_of_the_arm_cohort_and_schedule(parts):
    arm, cohort, schedule, keys = parts
    x = _build(arm, cohort, schedule, keys)
    assert isinstance(x, KernelInputs)
    assert x.consequences.p_hospitalised is arm.p_hosp and x.consequences.p_serious is arm.p_serious
    assert x.hazards.base_rate_per_year is arm.base_rate and x.cohort.age_years is cohort.age
    assert x.vaccination.dose1_years is schedule.dose1 and x.keys.death == keys[2]
    assert x.hazards.horizon_years == 5.0 and x.hazards.age_advances is False


@pytest.mark.parametrize("field, change, message", [
    ("p_hosp", lambda a: a.p_hosp.astype(np.float32), "consequences.p_hospitalised: expected float64"),
    ("p_serious", lambda a: a.p_serious[:-1], "consequences.p_serious: dimension K is"),
    ("recurrent", lambda a: a.recurrent.astype(np.int64), "consequences.recurrent: expected uint8"),
    ("hr_gc", lambda a: a.hr_gc[:, :2], "hazards.glucocorticoid_hazard_ratio: dimension 4 is 2"),
    ("tot_mult", lambda a: np.hstack([a.tot_mult, a.tot_mult]),
     "hazards.time_on_treatment_multiplier: 2 columns, expected 1"),
    ("mortality", lambda a: a.mortality[:, :50], "hazards.mortality_rate_per_year: dimension A is 50"),
    ("taper_band", lambda a: a.taper_band.astype(np.int64), "hazards.taper_band: expected int8"),
    ("p_phn_age", lambda a: a.p_phn_age.T, "consequences.p_phn_by_age: dimension K is"),
])
def test_a_wrong_field_gives_one_line_naming_it(parts, field, change, message):
    arm, cohort, schedule, keys = parts
    bad = dataclasses.replace(arm, **{field: change(arm)})
    with pytest.raises(ValueError) as err:
        _build(bad, cohort, schedule, keys)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_cohort_schedule_and_keys_are_checked_too(parts):
    arm, cohort, schedule, keys = parts
    short = dataclasses.replace(schedule, dose2=schedule.dose2[:-1])
    with pytest.raises(ValueError, match="vaccination.dose2_years: dimension n is 49, expected 50"):
        _build(arm, cohort, short, keys)
    with pytest.raises(ValueError, match="keys.clock: expected uint64"):
        _build(arm, cohort, schedule, (keys[0].astype(np.int64),) + keys[1:])
    with pytest.raises(TypeError, match="keys.death: expected a numpy.uint64 key"):
        _build(arm, cohort, schedule, keys[:2] + (int(keys[2]), keys[3]))
    with pytest.raises(TypeError, match="hazards.age_advances: expected a bool"):
        _build(arm, cohort, schedule, keys, age_advances="yes")
    with pytest.raises(TypeError, match="hazards.discontinuation_rate_per_year: expected a number"):
        _build(dataclasses.replace(arm, discontinuation_rate="0.1"), cohort, schedule, keys)
    with pytest.raises(TypeError, match="cohort.age_years: expected a numpy array, got list"):
        _build(arm, dataclasses.replace(cohort, age=list(cohort.age)), schedule, keys)
    with pytest.raises(ValueError, match="cohort.covariates: expected uint8"):
        _build(arm, dataclasses.replace(cohort, covariates=cohort.covariates.astype(bool)), schedule, keys)
