"""Time-on-treatment profiles: the step function's means, which profile an arm gets, normalisation."""

from __future__ import annotations

import json
import math

import pytest

from jaksim.library import load_library
from jaksim.library.resolve import SCENARIO
from jaksim.model.hazards import build_arm
from jaksim.model.time_on_treatment import Profile
from jaksim.scenario import load as config

P = Profile((2.0,), (1.0, 0.5), "library")


def test_profile_means_against_closed_forms():
    assert P.at(0.0) == 1.0 and P.at(1.999) == 1.0 and P.at(2.0) == 0.5
    assert P.uniform_mean(1.0) == 1.0
    assert P.uniform_mean(4.0) == pytest.approx((2 * 1.0 + 2 * 0.5) / 4)
    f = 3.0      # exponential exposure of mean f: share exp(-2/f) of person-years after 2 years
    assert P.exposure_mean(f) == pytest.approx(1.0 - 0.5 * math.exp(-2.0 / f))


def _arm(**top):
    sc = {"name": "t", "seed": 1, "n_patients": 10, "horizon_years": 5,
          "cohort": {"age": {"distribution": "truncated_normal", "mean_years": 50, "sd_years": 10,
                                 "min_years": 18, "max_years": 90}, "female": 0.8, "indication": "ra"},
          "treatment": {"drug": "tofacitinib", "dose_mg": 10}, "evidence": "programme_rates",
          "infections": {"serious_infection": {}, "herpes_zoster": {"rate_per_100py": 4.0}}, **top}
    return build_arm(config.scenario_from_text(json.dumps(sc)), 0, load_library(), calibrate=False)


def test_library_profile_by_default_normalised_over_the_programme_exposure():
    lib = load_library()
    arm = _arm()
    e = lib.time_on_treatment_profile("tofacitinib", "serious_infection")
    assert list(arm.tot_edges) == e["edges_years"]
    si = arm.types.index("serious_infection")
    assert list(arm.tot_mult[si]) == e["multipliers"]
    pop = lib.source_population("tofacitinib", 10, "serious_infection")
    norm = Profile(tuple(e["edges_years"]), tuple(e["multipliers"]), "library").exposure_mean(pop.follow_up_years)
    assert arm.base_rate[si, 0] * 100 == pytest.approx(lib.rate("tofacitinib", 10, "ra", "serious_infection").value
                                                       / norm)
    rec = arm.provenance["infections"]["serious_infection"]["time_on_treatment"]
    assert rec["source"] == "library" and rec["normalisation"]["ra"]["mean_multiplier"] == pytest.approx(norm)
    hz = arm.types.index("herpes_zoster")         # a typed rate stays constant
    assert list(arm.tot_mult[hz]) == [1.0, 1.0] and arm.base_rate[hz, 0] == pytest.approx(0.04)


def test_none_turns_library_profiles_off_and_scenario_steps_win():
    arm = _arm(time_on_treatment_profile="none")
    assert arm.tot_edges.shape == (0,) and "time_on_treatment" not in arm.provenance["infections"]["serious_infection"]
    steps = [{"until_years": 1.0, "hazard_ratio": 2.0}]
    arm = _arm(infections={"serious_infection": {"time_on_treatment": steps}})
    assert list(arm.tot_edges) == [1.0] and list(arm.tot_mult[0]) == [2.0, 1.0]
    assert arm.provenance["infections"]["serious_infection"]["time_on_treatment"]["source"] == SCENARIO


def test_a_user_library_adds_a_profile_for_another_drug(tmp_path):
    from jaksim.library.user import with_user_library
    user = tmp_path / "mine.yaml"
    user.write_text("time_on_treatment_profiles:\n"
                    "  - {drug: baricitinib, type: herpes_zoster, profile: piecewise, edges_years: [1.0],\n"
                    "     multipliers: [1.0, 0.5], citation: 'my analysis', status: assumption}\n", encoding="utf-8")
    lib = with_user_library(load_library(), user)
    sc = {"name": "t", "seed": 1, "n_patients": 10, "horizon_years": 5, "evidence": "programme_rates",
          "cohort": {"age": {"distribution": "truncated_normal", "mean_years": 50, "sd_years": 10},
                     "female": 0.8, "indication": "ra"},
          "treatment": {"drug": "baricitinib", "dose_mg": 4}, "infections": {"herpes_zoster": {}}}
    arm = build_arm(config.scenario_from_text(json.dumps(sc)), 0, lib, calibrate=False)
    assert list(arm.tot_edges) == [1.0] and list(arm.tot_mult[0]) == [1.0, 0.5]
    rec = arm.provenance["infections"]["herpes_zoster"]["time_on_treatment"]
    assert rec["library"] == str(user.resolve())
    # the 4 mg zoster rate is flagged as a 24-week window: the profile is 1 there, so it is kept
    assert rec["normalisation"]["ra"]["mean_multiplier"] == 1.0
    assert arm.base_rate[0, 0] * 100 == pytest.approx(lib.rate("baricitinib", 4, "ra", "herpes_zoster").value)
