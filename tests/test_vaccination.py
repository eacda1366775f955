"""Acceptance tests of zoster vaccination strategies (config, schedules, SimPy clinic, kernel, contrasts).

1. Common random numbers (hypothesis): a vaccination arm against the no-vaccination arm of the
   same scenario never raises any patient's zoster count, and leaves every non-zoster event,
   follow-up, exit and treatment stop unchanged.
2. The live vaccine is never given on or after treatment start; invalid live strategies fail
   ``jaksim validate`` (exit code 2, one line naming the key).
3. Clinic capacity: zero capacity vaccinates nobody; unlimited capacity reproduces the direct
   schedule exactly; a small capacity only delays doses (and fills its slots, no more).
5. Cases averted from paired arms (``contrasts``) against two independently seeded runs.

False-failure rates: tests 1–3 check properties that hold for every input (the hypothesis
tests use ``derandomize=True``, so their examples are a fixed function of the test); a failure
is a bug, not chance. Test 5's two statistical assertions are stated where they are made.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import write_scenario
from jaksim import config, engine, rng
from jaksim.cli import main
from jaksim.errors import ScenarioError
from jaksim.kernel import HOSPITALISED, SERIOUS
from jaksim.vaccination import WEEKS_PER_YEAR

ZOSTER = "herpes_zoster"
TYPES = ("serious_infection", ZOSTER, "tuberculosis")
HZ = TYPES.index(ZOSTER)
PROPS = settings(max_examples=30, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
#: Event times and follow-up of two arms must be equal bit for bit: the vaccine arm's extra
#: change points (doses, waning steps) re-base only the zoster clock.
TIME_ATOL = 0.0

probs = st.floats(0.0, 1.0)
hrs = st.floats(0.3, 3.0)


# ------------------------------------------------------------------------- strategies
@st.composite
def eligibility(draw) -> dict:
    e = {}
    if draw(st.booleans()):
        e["min_age_years"] = draw(st.floats(18, 90))
    if draw(st.booleans()):
        e["glucocorticoid_users"] = True
    if draw(st.booleans()):
        e["prior_zoster"] = True
    return e


@st.composite
def clinic(draw) -> dict:
    return {"slots_per_week": draw(st.sampled_from([0, 1, 5, 20, 10**7])),
            "enrolment_weeks": draw(st.floats(1, 104)),
            "no_show_probability": draw(st.floats(0, 0.5)),
            "max_wait_weeks": draw(st.floats(1, 60))}


@st.composite
def strategy_without_waiting(draw) -> dict:
    """Any valid strategy in which treatment does not wait for the vaccine: recombinant (before
    or after start, with or without a clinic, 1 or 2 doses) or live (at least 4 weeks before)."""
    vaccine = draw(st.sampled_from(["recombinant", "recombinant", "live"]))
    v = {"vaccine": vaccine, "eligible": draw(eligibility()), "uptake": draw(probs),
         "second_dose_completion": draw(probs)}
    if vaccine == "live":
        v["first_dose_weeks"] = draw(st.floats(-104, -4))
    else:
        v["first_dose_weeks"] = draw(st.floats(-60, 60))
        if draw(st.booleans()):
            v["second_dose_interval_weeks"] = draw(st.floats(1, 104))
        if draw(st.booleans()):
            v["clinic"] = draw(clinic())
    return v


@st.composite
def scenario(draw, n: int) -> dict:
    """Random cohort, treatment (discontinuation, taper), infection rates and consequences,
    mortality; herpes zoster has case fatality 0 and never stops treatment."""
    infections, fatality = {}, {}
    for t in TYPES:
        inf = {"rate_per_100py": draw(st.floats(0.0, 80.0)),
               "recurrent": draw(st.sampled_from([True, True, False])),
               "off_treatment_hazard_ratio": draw(hrs),
               "hospitalisation_probability": draw(probs), "serious_probability": draw(probs),
               "discontinuation_probability": 0.0 if t == ZOSTER else draw(st.floats(0, 0.5))}
        if draw(st.booleans()):
            inf["post_herpetic_neuralgia_probability"] = draw(probs)
        infections[t] = inf
        fatality[t] = 0.0 if t == ZOSTER else draw(st.floats(0, 0.3))
    gc_low = draw(st.floats(0, 0.6))
    cohort = {"age": {"distribution": "truncated_normal", "mean_years": draw(st.floats(20, 90)),
                      "sd_years": draw(st.floats(1, 20)), "min_years": 18, "max_years": 100},
              "age_advances": draw(st.booleans()), "female": draw(probs), "asia": draw(probs),
              "prior_zoster": draw(probs), "diabetes": draw(probs), "zoster_vaccinated": draw(probs),
              "glucocorticoid": {"below_7_5mg": gc_low, "at_least_7_5mg": draw(st.floats(0, 0.4))}}
    treatment = {"drug": "tofacitinib", "dose_mg": draw(st.sampled_from([5, 10])),
                 "discontinuation_rate_per_100py": draw(st.floats(0, 60))}
    if draw(st.booleans()):
        treatment["glucocorticoid_taper"] = [{"at_weeks": draw(st.floats(0, 300)),
                                              "max_band": draw(st.sampled_from(["none", "below_7_5mg"]))}]
    mortality = {"case_fatality": fatality}
    if draw(st.booleans()):
        mortality["rate_per_100py"] = draw(st.floats(0, 30))
    else:
        mortality["life_table"] = "us_2019"
    return {"name": "vacc", "seed": draw(st.integers(0, 2**63 - 1)), "n_patients": n,
            "horizon_years": draw(st.floats(0.1, 15)), "cohort": cohort, "treatment": treatment,
            "infections": infections, "mortality": mortality}


def model_of(sc: dict) -> engine.Model:
    return engine.build_model(config.scenario_from_text(json.dumps(sc)))


def simulate_arms(sc: dict):
    """Schedules and kernel output of every arm for all patients (one chunk)."""
    model = model_of(sc)
    n = sc["n_patients"]
    schedules = engine.Schedules(model, n)
    cohort = model.cohort.block(0, n)
    scheds = [schedules.chunk(arm, cohort) for arm in model.arms]
    results = [engine.simulate_chunk(model, arm, cohort, 64, s)[0] for arm, s in zip(model.arms, scheds)]
    return model, schedules, cohort, scheds, results


def events(r, keep: np.ndarray) -> dict:
    return {name: getattr(r, name)[keep] for name in ("ev_pid", "ev_type", "ev_time", "ev_num", "ev_flags")}


# ----------------------------------------------------------- 1. common random numbers
@PROPS
@given(data=st.data(), n=st.integers(1, 300))
def test_vaccination_only_removes_zoster_and_changes_nothing_else(data, n):
    """Vaccination arm vs the no-vaccination arm of the same scenario (common random numbers).

    Conditions under which this must hold, and why: herpes zoster has case fatality 0 and
    discontinuation probability 0, and treatment does not wait for the vaccine. Then the
    treatment course (start 0, all-cause stop, stops by other types' events) and the death
    clock do not depend on zoster events; every other type's events come from its own clock
    and consequence streams (indexed by event number), and only zoster's hazard changes, by the
    factor 1 − scale·VE(t) ∈ (0, 1]. So its cumulative hazard is lower at every time and each
    Exp(1) target is reached later or never: the j-th zoster event can only move later (and
    keeps its hospitalisation/serious draws), counts never grow. Without the conditions,
    vaccination legitimately changes other outcomes: a prevented fatal zoster episode extends
    follow-up (more events of every type), a prevented treatment stop keeps the on-treatment
    hazards, and a start delayed for the vaccine changes every hazard before it.
    Strategies are random: eligibility, uptake, timing before/after start, completion, 1 or 2
    doses, recombinant or live (then ≥ 4 weeks before start), with or without a clinic.
    """
    sc = data.draw(scenario(n))
    sc["arms"] = {"no_vaccination": {}, "vaccination": {"vaccination": data.draw(strategy_without_waiting())}}
    model, _, _, scheds, (a, b) = simulate_arms(sc)
    s = scheds[1]
    assert np.all(s.treatment_start == 0.0)
    vacc = np.isfinite(s.dose1)

    # every patient: same exit, same follow-up and treatment stop (to rounding)
    np.testing.assert_array_equal(a.exit_reason, b.exit_reason)
    np.testing.assert_allclose(b.follow_up, a.follow_up, rtol=0, atol=TIME_ATOL)
    np.testing.assert_array_equal(np.isnan(a.stop_time), np.isnan(b.stop_time))
    np.testing.assert_allclose(b.stop_time, a.stop_time, rtol=0, atol=TIME_ATOL, equal_nan=True)

    # every non-zoster event: same patient, type, number and consequences; same time
    ea, eb = events(a, a.ev_type != HZ), events(b, b.ev_type != HZ)
    for name in ("ev_pid", "ev_type", "ev_num", "ev_flags"):
        np.testing.assert_array_equal(ea[name], eb[name])
    np.testing.assert_allclose(eb["ev_time"], ea["ev_time"], rtol=0, atol=TIME_ATOL)
    other = [k for k in range(len(TYPES)) if k != HZ]
    np.testing.assert_array_equal(a.counts[:, other], b.counts[:, other])

    # zoster: never more, the j-th event never earlier, hospitalisation/serious draws kept
    assert np.all(b.counts[:, HZ] <= a.counts[:, HZ])
    za, zb = events(a, a.ev_type == HZ), events(b, b.ev_type == HZ)
    key_a = za["ev_pid"] * 2**20 + za["ev_num"]
    key_b = zb["ev_pid"] * 2**20 + zb["ev_num"]
    assert np.all(np.isin(key_b, key_a))
    pos = np.searchsorted(key_a, key_b)          # events are in patient, then number order
    assert np.all(zb["ev_time"] >= za["ev_time"][pos] - TIME_ATOL)
    keep = HOSPITALISED | SERIOUS
    np.testing.assert_array_equal(zb["ev_flags"] & keep, za["ev_flags"][pos] & keep)

    # a patient the strategy does not vaccinate is simulated bit for bit as without it
    if (~vacc).any():
        ids = np.flatnonzero(~vacc)
        np.testing.assert_array_equal(a.follow_up[ids], b.follow_up[ids])
        np.testing.assert_array_equal(a.counts[ids], b.counts[ids])
        ua, ub = np.isin(a.ev_pid, ids), np.isin(b.ev_pid, ids)
        for name, x in events(a, ua).items():
            np.testing.assert_array_equal(x, events(b, ub)[name])


# A fixed scenario in which vaccinated patients have many non-zoster events (high rates, 10 y).
CRN_FIXED = {
    "name": "crn", "seed": 7, "n_patients": 3000, "horizon_years": 10,
    "cohort": {"age": {"distribution": "truncated_normal", "mean_years": 55, "sd_years": 12}, "female": 0.6},
    "treatment": {"drug": "tofacitinib", "dose_mg": 5},
    "infections": {"serious_infection": {"rate_per_100py": 30},
                   ZOSTER: {"rate_per_100py": 30, "discontinuation_probability": 0},
                   "tuberculosis": {"rate_per_100py": 20}},
    "mortality": {"life_table": "us_2019", "case_fatality": {ZOSTER: 0}},
    "arms": {"none": {}, "rzv": {"vaccination": {"vaccine": "recombinant", "first_dose_weeks": 3}}},
}


def test_crn_is_bit_exact_for_other_types():
    """A vaccine arm adds change points (doses, waning steps) that only the zoster hazard
    feels; the kernel re-bases a clock only when its own hazard changes, so every other
    type's event times and every patient's follow-up are bit-identical to the reference arm."""
    _, _, _, _, (a, b) = simulate_arms(json.loads(json.dumps(CRN_FIXED)))
    keep_a, keep_b = a.ev_type != HZ, b.ev_type != HZ
    np.testing.assert_array_equal(a.ev_time[keep_a], b.ev_time[keep_b])
    np.testing.assert_array_equal(a.follow_up, b.follow_up)


# ------------------------------------------------------------------- 2. live vaccine
LIVE_BASE = {
    "name": "live", "seed": 11, "n_patients": 400, "horizon_years": 2,
    "cohort": {"age": {"distribution": "truncated_normal", "mean_years": 60, "sd_years": 12},
               "female": 0.6, "prior_zoster": 0.3, "glucocorticoid": {"below_7_5mg": 0.4, "at_least_7_5mg": 0.1}},
    "treatment": {"drug": "tofacitinib", "dose_mg": 5},
    "infections": {ZOSTER: {}},
    "mortality": {"rate_per_100py": 1.0},
}


def live_rule_holds(v: dict) -> bool:
    """The documented rule: one dose, and dose 1 provably ≥ 4 weeks before the start."""
    waits = v.get("treatment_waits_for_first_dose", False) and v.get("wait_weeks_after_first_dose", 0) >= 4
    if "second_dose_interval_weeks" in v:
        return False
    if "clinic" in v:
        return waits
    return waits or v.get("first_dose_weeks", -4.0) <= -4


@st.composite
def live_strategy(draw) -> dict:
    """Any live strategy, valid or not (timing, waiting, clinic, a second-dose interval)."""
    v = {"vaccine": "live", "eligible": draw(eligibility()), "uptake": draw(probs),
         "first_dose_weeks": draw(st.one_of(st.floats(-60, 60), st.sampled_from([-4.0, -3.9999, 0.0])))}
    if draw(st.booleans()):
        v["treatment_waits_for_first_dose"] = True
        v["wait_weeks_after_first_dose"] = draw(st.one_of(st.floats(0, 30), st.sampled_from([4.0, 3.999])))
    if draw(st.integers(0, 2)) == 0:
        v["clinic"] = draw(clinic())
    if draw(st.integers(0, 5)) == 0:
        v["second_dose_interval_weeks"] = draw(st.floats(1, 104))
    return v


@PROPS
@given(v=live_strategy(), seed=st.integers(0, 2**32))
def test_live_vaccine_is_accepted_only_when_given_4_weeks_before_start(v, seed):
    """Every live strategy is either rejected by validation (exactly those that break the rule),
    or every vaccinated patient gets its single dose at least 4 weeks before the (possibly
    delayed) treatment start: start − dose 1 ≥ 4 weeks (up to rounding of weeks → years)."""
    sc = json.loads(json.dumps(LIVE_BASE))
    sc["seed"] = seed
    sc["arms"] = {"none": {}, "live": {"vaccination": v}}
    try:
        model = model_of(sc)
    except ScenarioError as exc:
        assert not live_rule_holds(v), str(exc)
        assert "arms.live.vaccination." in str(exc)
        return
    assert live_rule_holds(v), v
    schedules = engine.Schedules(model, sc["n_patients"])
    s = schedules.chunk(model.arms[1], model.cohort.block(0, sc["n_patients"]))
    vacc = np.isfinite(s.dose1)
    assert np.all(np.isinf(s.dose2))
    assert np.all(s.dose1[vacc] < s.treatment_start[vacc])
    assert np.all((s.treatment_start[vacc] - s.dose1[vacc]) * WEEKS_PER_YEAR >= 4.0 - 1e-9)
    assert np.all(s.treatment_start[~vacc] == 0.0)


def test_live_vaccine_timing_in_the_patients_table():
    """The public output agrees: vaccine_dose1_years ≤ treatment_start_years − 4 weeks, also with
    a capacity-limited clinic that delays doses (and so treatment)."""
    import jaksim
    sc = json.loads(json.dumps(LIVE_BASE))
    sc["n_patients"] = 3000
    sc["arms"] = {"direct": {"vaccination": {"vaccine": "live", "first_dose_weeks": -6, "uptake": 0.7}},
                  "clinic": {"vaccination": {"vaccine": "live", "first_dose_weeks": -2, "uptake": 0.9,
                                             "treatment_waits_for_first_dose": True,
                                             "wait_weeks_after_first_dose": 4,
                                             "clinic": {"slots_per_week": 30, "enrolment_weeks": 52,
                                                        "max_wait_weeks": 12}}}}
    patients = jaksim.run(config.scenario_from_text(json.dumps(sc))).patients
    for arm in ("direct", "clinic"):
        p = patients.filter(pc.equal(patients["arm"], arm))
        d1 = p["vaccine_dose1_years"].to_numpy(zero_copy_only=False)
        start = p["treatment_start_years"].to_numpy(zero_copy_only=False)
        d2 = p["vaccine_dose2_years"].to_numpy(zero_copy_only=False)
        follow = p["follow_up_years"].to_numpy()
        given_ = np.isfinite(d1)                      # null (NaN): not vaccinated
        started = np.isfinite(start)                  # null: follow-up ended before the start
        assert given_.sum() > 500, arm
        gap = (start[given_ & started] - d1[given_ & started]) * WEEKS_PER_YEAR
        assert np.all(gap >= 4.0 - 1e-9), (arm, gap.min())
        # never started (died while waiting): follow-up ended before dose 1 + 4 weeks
        never = given_ & ~started
        assert np.all(follow[never] <= d1[never] + 4.0 / WEEKS_PER_YEAR + 1e-12), arm
        assert np.all(np.isnan(d2)), arm
    clinic_start = patients.filter(pc.equal(patients["arm"], "clinic"))["treatment_start_years"].to_numpy()
    assert (clinic_start > 2 / WEEKS_PER_YEAR + 1e-9).any()   # the clinic delayed some starts


LIVE_YAML = """\
name: live
seed: 1
n_patients: 100
horizon_years: 2
cohort:
  age: {distribution: truncated_normal, mean_years: 50, sd_years: 10}
  female: 0.5
treatment: {drug: tofacitinib, dose_mg: 5}
infections:
  herpes_zoster: {}
arms:
  none: {}
  live:
    vaccination:
      vaccine: live
"""


@pytest.mark.parametrize("extra, key", [
    ("      first_dose_weeks: -2\n", "arms.live.vaccination.first_dose_weeks"),
    ("      first_dose_weeks: -2\n      treatment_waits_for_first_dose: true\n"
     "      wait_weeks_after_first_dose: 3\n", "arms.live.vaccination.first_dose_weeks"),
    ("      first_dose_weeks: -8\n      clinic: {slots_per_week: 10}\n",
     "arms.live.vaccination.treatment_waits_for_first_dose"),
    ("      first_dose_weeks: -8\n      treatment_waits_for_first_dose: true\n"
     "      wait_weeks_after_first_dose: 2\n      clinic: {slots_per_week: 10}\n",
     "arms.live.vaccination.treatment_waits_for_first_dose"),
    ("      first_dose_weeks: -8\n      second_dose_interval_weeks: 8\n",
     "arms.live.vaccination.second_dose_interval_weeks"),
], ids=["on_treatment", "wait_too_short", "clinic_without_waiting", "clinic_wait_too_short",
        "second_dose"])
def test_invalid_live_strategy_fails_validate(tmp_path, capsys, extra, key):
    path = write_scenario(tmp_path, LIVE_YAML + extra)
    rc = main(["validate", str(path)])
    captured = capsys.readouterr()
    assert rc == 2, captured.out + captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert "Traceback" not in captured.err
    assert f"{path}:" in lines[0] and f": {key}: " in lines[0], lines[0]
    assert "live zoster vaccine" in lines[0]


def test_valid_live_strategy_passes_validate(tmp_path, capsys):
    path = write_scenario(tmp_path, LIVE_YAML + "      first_dose_weeks: -4\n")
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err


# --------------------------------------------------------------------- 3. clinic
CLINIC_BASE = {
    "name": "clinic", "seed": 3, "n_patients": 4000, "horizon_years": 2,
    "cohort": {"age": {"distribution": "truncated_normal", "mean_years": 58, "sd_years": 12},
               "female": 0.7, "prior_zoster": 0.2, "glucocorticoid": {"below_7_5mg": 0.4}},
    "treatment": {"drug": "tofacitinib", "dose_mg": 5},
    "infections": {ZOSTER: {"discontinuation_probability": 0}, "serious_infection": {}},
    "mortality": {"rate_per_100py": 1.0, "case_fatality": {ZOSTER: 0}},
}


def clinic_arms(v: dict, clinic_: dict, n: int = 4000, seed: int = 3):
    """Schedules and pathway of a strategy given directly and through a clinic."""
    sc = json.loads(json.dumps(CLINIC_BASE))
    sc["n_patients"], sc["seed"] = n, seed
    sc["arms"] = {"none": {}, "direct": {"vaccination": v}, "clinic": {"vaccination": {**v, "clinic": clinic_}}}
    return simulate_arms(sc)


@st.composite
def recombinant_strategy(draw) -> dict:
    v = {"vaccine": "recombinant", "eligible": draw(eligibility()), "uptake": draw(probs),
         "second_dose_completion": draw(probs), "first_dose_weeks": draw(st.floats(-60, 60))}
    if draw(st.booleans()):
        v["second_dose_interval_weeks"] = draw(st.floats(1, 104))
    if draw(st.booleans()):
        v["treatment_waits_for_first_dose"] = True
        v["wait_weeks_after_first_dose"] = draw(st.floats(0, 20))
    return v


@PROPS
@given(v=recombinant_strategy(), enrol=st.floats(1, 104), wait=st.floats(1, 60), seed=st.integers(0, 2**32))
def test_unlimited_clinic_equals_direct_schedule(v, enrol, wait, seed):
    """Unlimited capacity, no no-shows: dose 1, dose 2, treatment start and VE scale equal the
    direct schedule's exactly, patient by patient, and nobody waits."""
    huge = {"slots_per_week": 10_000_000, "enrolment_weeks": enrol, "max_wait_weeks": wait}
    _, schedules, _, (_, d, c), _ = clinic_arms(v, huge, n=500, seed=seed)
    for name in ("dose1", "dose2", "treatment_start", "scale"):
        np.testing.assert_array_equal(getattr(c, name), getattr(d, name), err_msg=name)
    w = schedules.pathways["clinic"].wait_weeks
    assert np.all(w[np.isfinite(c.dose1)] == 0.0)


def test_zero_capacity_vaccinates_nobody():
    """slots_per_week 0: nobody vaccinated, nobody's start delayed (treatment waits for a dose
    that never comes only as long as the referral is open: here it never opens), and the arm's
    simulation is bit for bit the no-vaccination arm's."""
    v = {"vaccine": "recombinant", "first_dose_weeks": -8, "uptake": 1.0,
         "treatment_waits_for_first_dose": True, "wait_weeks_after_first_dose": 1}
    _, _, _, (_, d, c), (none, _, clin) = clinic_arms(v, {"slots_per_week": 0})
    assert np.isfinite(d.dose1).all()
    assert not np.isfinite(c.dose1).any() and not np.isfinite(c.dose2).any()
    assert np.all(c.scale == 0.0) and np.all(c.treatment_start == 0.0)
    for name in engine.ChunkResult.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(none, name), getattr(clin, name), err_msg=name)


def planned_starts(seed: int, clinic_: dict, n: int) -> np.ndarray:
    """Calendar week of each patient's planned treatment start (the pathway's enrolment stream)."""
    ids = np.arange(n, dtype=np.int64)
    return rng.uniforms(rng.stream_key(seed, "pathway/enrolment"), ids, 0) * clinic_["enrolment_weeks"]


def calendar_week(planned: np.ndarray, dose_years: np.ndarray) -> np.ndarray:
    """Calendar week index of doses given ``dose_years`` after the planned start; 1e-7 weeks
    absorbs the rounding of weeks → years → weeks for slots at a week's start."""
    return np.floor(planned + dose_years * WEEKS_PER_YEAR + 1e-7)


def test_small_capacity_only_delays_and_fills_its_slots():
    """A saturated clinic (about 62 referrals a week for 25 slots): doses and starts are never
    earlier than the direct schedule's, some wait, every wait is within max_wait_weeks, no
    calendar week has more attended appointments than slots, and every week inside the
    referral period is full (a referral that is dropped for waiting too long must not hold a slot)."""
    v = {"vaccine": "recombinant", "first_dose_weeks": -8, "uptake": 0.9, "second_dose_completion": 0.8,
         "treatment_waits_for_first_dose": True, "wait_weeks_after_first_dose": 1}
    small = {"slots_per_week": 25, "enrolment_weeks": 52, "max_wait_weeks": 10}
    seed = 3
    _, schedules, _, (_, d, c), _ = clinic_arms(v, small, seed=seed)
    both1 = np.isfinite(c.dose1)
    assert np.all(np.isfinite(d.dose1[both1]))                     # the clinic sees only those offered
    assert np.all(c.dose1[both1] >= d.dose1[both1])
    assert (c.dose1[both1] > d.dose1[both1]).sum() > 500
    both2 = np.isfinite(c.dose2)
    assert np.all(np.isfinite(d.dose2[both2]) & np.isfinite(c.dose1[both2]))
    assert np.all(c.dose2[both2] >= d.dose2[both2])
    assert np.all(c.treatment_start >= d.treatment_start - 1e-15)
    assert (c.treatment_start > d.treatment_start).sum() > 500
    wait = schedules.pathways["clinic"].wait_weeks
    assert np.all(wait[both1] <= small["max_wait_weeks"]) and np.all(np.isnan(wait[~both1]))
    assert (np.isfinite(d.dose1) & ~both1).sum() > 100               # the queue dropped some referrals

    planned = planned_starts(seed, small, c.dose1.shape[0])
    weeks = np.concatenate([calendar_week(planned[both1], c.dose1[both1]),
                            calendar_week(planned[both2], c.dose2[both2])])
    first = weeks.min()
    used = np.bincount((weeks - first).astype(np.int64))
    assert used.max() <= small["slots_per_week"]
    # full weeks: from two weeks after the first referral to the last referral's week
    offered = np.isfinite(d.dose1)
    referral = np.floor(planned[offered] - 8)
    lo, hi = int(referral.min() - first) + 2, int(referral.max() - first)
    assert hi - lo > 40
    assert np.all(used[lo:hi] == small["slots_per_week"]), used[lo:hi]


def test_no_show_is_rebooked_later():
    """Unlimited capacity with no-shows: exactly the patients whose first appointment's no-show
    draw falls below the probability get dose 1 later (from the next calendar week), everybody
    else gets the direct schedule's dose 1; nobody earlier."""
    p = 0.3
    v = {"vaccine": "recombinant", "first_dose_weeks": -8, "uptake": 1.0, "second_dose_completion": 0.0}
    huge = {"slots_per_week": 10_000_000, "enrolment_weeks": 52, "no_show_probability": p, "max_wait_weeks": 52}
    seed = 3
    _, _, cohort, (_, d, c), _ = clinic_arms(v, huge, seed=seed)
    missed = rng.uniforms(rng.stream_key(seed, "pathway/no_show"), cohort.patient_id, 1) < p
    assert missed.any() and (~missed).any()
    np.testing.assert_array_equal(c.dose1[~missed], d.dose1[~missed])
    assert np.all(c.dose1[missed] > d.dose1[missed])
    # rebooked from the next calendar week: at least the rest of the missed week later
    planned = rng.uniforms(rng.stream_key(seed, "pathway/enrolment"), cohort.patient_id, 0) * 52
    missed_at = planned - 8
    rest = np.floor(missed_at) + 1 - missed_at
    assert np.all((c.dose1 - d.dose1)[missed] * WEEKS_PER_YEAR >= rest[missed] - 1e-9)


# --------------------------------------------------------- 5. paired vs independent CIs
def _run(sc, folder: Path) -> tuple[engine.RunSummary, object]:
    summary = engine.run_to_folder(engine.build_model(sc), folder)
    return summary, engine.read_dataset(folder, "patients")


def _zoster_counts(patients, arm: str) -> np.ndarray:
    return patients.filter(pc.equal(patients["arm"], arm))[f"{ZOSTER}_events"].to_numpy().astype(np.float64)


@pytest.fixture(scope="module")
def paired_and_independent():
    """The study scenario's reference arm and 'RZV for all before start' at 50,000 patients
    (seed A = the file's 4242); a second run with seed B = 4243 for the independent design."""
    path = Path(__file__).resolve().parents[1] / "scenarios" / "ra_tofacitinib_zoster_vaccination.yaml"
    text = path.read_text(encoding="utf-8")
    cut = text.index("  rzv_age_50_plus_before_start:")
    n = 50_000
    sc = config.scenario_from_text(text[:cut]).with_overrides(n_patients=n)
    with tempfile.TemporaryDirectory() as tmp:
        run_a, pat_a = _run(sc, Path(tmp) / "a")
        _, pat_b = _run(sc.with_overrides(seed=4243), Path(tmp) / "b")
    row = next(r for r in run_a.contrasts["rzv_all_before_start"].to_pylist() if r["outcome"] == ZOSTER)
    return n, row, pat_a, pat_b


def test_contrast_ci_is_the_paired_difference_ci(paired_and_independent):
    """The contrasts table's CI is 1000 × (mean d ± z·sd(d)/√n), d_i = ref_i − vaccine_i from
    the patients table of the same run (a plumbing check; exact up to rounding)."""
    n, row, pat_a, _ = paired_and_independent
    d = _zoster_counts(pat_a, "no_vaccination") - _zoster_counts(pat_a, "rzv_all_before_start")
    half = 1.959963984540054 * d.std(ddof=1) / math.sqrt(n)
    assert row["averted"] == d.sum()
    assert row["averted_per_1000_patients"] == pytest.approx(1000 * d.mean(), rel=1e-12)
    assert row["averted_per_1000_patients_ci_lower"] == pytest.approx(1000 * (d.mean() - half), rel=1e-9)
    assert row["averted_per_1000_patients_ci_upper"] == pytest.approx(1000 * (d.mean() + half), rel=1e-9)


def _ci_ratio(paired_and_independent) -> tuple[float, dict]:
    n, row, pat_a, pat_b = paired_and_independent
    paired = row["averted_per_1000_patients_ci_upper"] - row["averted_per_1000_patients_ci_lower"]
    vac = _zoster_counts(pat_a, "rzv_all_before_start")      # vaccine arm, seed A
    ref = _zoster_counts(pat_b, "no_vaccination")             # no-vaccine arm, seed B
    se = math.sqrt(vac.var(ddof=1) / n + ref.var(ddof=1) / n)
    independent = 2 * 1.959963984540054 * se * 1000
    info = {"paired_ci_width_per_1000": paired, "independent_ci_width_per_1000": independent,
            "paired_averted_per_1000": row["averted_per_1000_patients"],
            "independent_averted_per_1000": 1000 * (ref.mean() - vac.mean())}
    return independent / paired, info


def test_paired_ci_is_narrower_than_independent(paired_and_independent):
    """Paired arms give a narrower CI of zoster cases averted than two independent runs.

    Poisson counts with cumulative hazard Λ: the paired difference counts the Exp(1) targets
    between (1 − VE)Λ and Λ, Var(d) ≈ VE·Λ, while Var(N_ref) + Var(N_vac) ≈ (2 − VE)·Λ, so the
    width ratio is about √((2 − VE)/VE) (plus between-patient heterogeneity, which pairing also
    removes); VE_eff ≈ 0.75 here (uptake 0.9, completion 0.85, waning) predicts ≈ 1.3. The
    ratio's Monte Carlo error at n = 50,000 is about 1% (sample SDs of counts with kurtosis
    ≈ 8: √(7/n) on each variance), so requiring > 1.1 has a negligible false-failure rate
    (> 10 SE from the expected value)."""
    ratio, info = _ci_ratio(paired_and_independent)
    print(f"\nCI width of zoster cases averted per 1000 patients: paired {info['paired_ci_width_per_1000']:.2f}, "
          f"independent {info['independent_ci_width_per_1000']:.2f}; ratio {ratio:.2f} "
          f"(averted: paired {info['paired_averted_per_1000']:.1f}, independent "
          f"{info['independent_averted_per_1000']:.1f} per 1000)")
    assert ratio > 1.1


@pytest.mark.xfail(strict=True, reason=(
    "acceptance target 'paired CI at least 5x narrower' is not reachable for a high-efficacy "
    "vaccine: measured ratio 1.27 (paired CI width 6.76 vs independent 8.61 per 1000 patients at "
    "n = 50,000). Pairing removes the variance of the events both arms share, not the Poisson "
    "variance of the events averted themselves: ratio ≈ √((2 − VE)/VE), ≥ 5 only if VE_eff ≤ 0.077"))
def test_paired_ci_at_least_5_times_narrower(paired_and_independent):
    ratio, _ = _ci_ratio(paired_and_independent)
    assert ratio >= 5.0
