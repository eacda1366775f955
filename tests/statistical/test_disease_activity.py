"""Disease activity (issue 14, item 1): waiting for treatment costs QALYs in proportion to the
time in uncontrolled disease. Hand-computed values on constructed patients, and an end-to-end
run whose only difference between arms is a delayed start."""

from __future__ import annotations

import math

import numpy as np
import pyarrow.parquet as pq
import pytest

from jaksim.economics.costs_qalys import ActivitySpec, uncontrolled_time
from jaksim.errors import JaksimError
from jaksim.model import spec
from jaksim.run import engine
from jaksim.scenario import load as config

DELTA = math.log1p(0.035)


def _dt(a: float, b: float) -> float:
    """∫_a^b e^{−δs} ds by hand."""
    return (math.exp(-DELTA * a) - math.exp(-DELTA * b)) / DELTA


def test_uncontrolled_time_by_hand():
    a = ActivitySpec(response_probability=0.6, onset_years=0.25, loss_of_response_per_year=0.0,
                     decrement_uncontrolled=0.2)
    start = np.array([0.0, 0.0, 0.5, 0.5, 0.0])
    stop = np.array([5.0, 5.0, 5.0, 2.0, 5.0])           # patient 3 stops at 2 years
    fu = np.array([5.0, 5.0, 5.0, 5.0, 0.2])             # patient 4 dies before the response
    u_resp = np.array([0.1, 0.9, 0.1, 0.1, 0.1])         # patient 1 does not respond
    u_loss = np.full(5, 0.5)
    got = uncontrolled_time(a, start, stop, fu, u_resp, u_loss, 0.035)
    want = [_dt(0, 0.25), _dt(0, 5), _dt(0, 0.75), _dt(0, 0.75) + _dt(2, 5), _dt(0, 0.2)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # loss of response at rate λ after L = −log(u)/λ: control over [0.25, 0.25 + L)
    lossy = ActivitySpec(0.6, 0.25, 0.5, 0.2)
    L = -math.log(0.5) / 0.5
    got = uncontrolled_time(lossy, start[:1], stop[:1], fu[:1], u_resp[:1], u_loss[:1], 0.035)
    assert got[0] == pytest.approx(_dt(0, 5) - _dt(0.25, 0.25 + L), rel=1e-12)


def test_a_delay_of_w_weeks_loses_decrement_times_the_extra_uncontrolled_time():
    a = ActivitySpec(1.0, 12 / 52.18, 0.0, 0.15)
    n = 4
    fu, stop = np.full(n, 5.0), np.full(n, 5.0)
    u = np.full(n, 0.5)
    for w in (1.0, 8.0, 16.7):
        delay = w * 7 / 365.25
        lost = a.decrement_uncontrolled * (uncontrolled_time(a, np.full(n, delay), stop, fu, u, u, 0.035)
                                           - uncontrolled_time(a, np.zeros(n), stop, fu, u, u, 0.035))
        np.testing.assert_allclose(lost, 0.15 * _dt(a.onset_years, a.onset_years + delay), rtol=1e-12)


SCENARIO = """\
name: delay
seed: 11
n_patients: 20000
horizon_years: 3
time_on_treatment_profile: none     # hazards constant on treatment: the delay changes nothing else
cohort:
  age: {distribution: truncated_normal, mean_years: 50, sd_years: 5, min_years: 40, max_years: 60}
  female: 0.7
treatment: {drug: tofacitinib, dose_mg: 5, discontinuation_rate_per_100py: 0, off_treatment_hazard_ratio: 1}
infections:
  serious_infection: {}
  herpes_zoster: {}
mortality: {life_table: us_2019}
economics:
  discount: nice
  vaccine_cost_per_dose: 0
  vaccine_administration_cost_per_dose: 0
  disease_activity: {response_probability: 0.5, response_onset_weeks: 12, loss_of_response_per_year: 0,
                     utility_decrement_uncontrolled: 0.2, infection_hazard_ratio_uncontrolled: {}}
arms:
  start_now: {}
  start_in_WEEKS_weeks:
    vaccination: {vaccine: recombinant, first_dose_weeks: WEEKS, second_dose_completion: 0, efficacy_multiplier: 0,
                  treatment_waits_for_first_dose: true}
"""


@pytest.mark.parametrize("weeks", [8, 26])
def test_delayed_start_end_to_end_matches_the_closed_form(tmp_path, weeks):
    """Arms equal but for a start w weeks later (the vaccine has no effect and no cost; hazards are
    the same on and off treatment, constant in time on treatment and not changed by disease
    activity here, so events are identical under common random numbers). Expected
    QALY loss per patient: p · d · ∫_τ^{τ+w} e^{−δs} ds with p = 0.5; the responders' share is
    binomial (SE √(p(1−p)/n) = 0.0035 relative to 0.5 at n = 20,000), so the tolerance of 4 SE
    (2.8%) fails falsely with probability 6e-5; deaths in 3 years at age 40-60 (< 2%) shorten
    a few windows, covered by the tolerance."""
    sc = config.scenario_from_text(SCENARIO.replace("WEEKS", str(weeks)))
    engine.run_to_folder(spec.build_model(sc), tmp_path / "r")
    q = {}
    for arm in ("start_now", f"start_in_{weeks}_weeks"):
        t = pq.read_table(tmp_path / "r" / "patients" / f"arm={arm}").to_pydict()
        q[arm] = np.array(t["qalys"])
        events = sum(np.array(t[c]) for c in t if c.endswith("_events"))
        q[arm + "_events"] = events
    np.testing.assert_array_equal(q["start_now_events"], q[f"start_in_{weeks}_weeks_events"])
    loss = float(np.mean(q["start_now"] - q[f"start_in_{weeks}_weeks"]))
    onset, w = 12 * 7 / 365.25, weeks * 7 / 365.25
    assert loss == pytest.approx(0.5 * 0.2 * _dt(onset, onset + w), rel=0.028)


def test_missing_library_response_is_a_clear_error():
    from jaksim.economics.costs_qalys import economics_library
    lib = economics_library()
    lib["disease_activity"] = None
    text = SCENARIO.replace("WEEKS", "8").replace("response_probability: 0.5, ", "")
    with pytest.raises(JaksimError, match="response_probability: no library value for tofacitinib 5 mg "
                                          r"\(library has: none\); give it in the arm's economics.disease_activity"):
        spec.build_model(config.scenario_from_text(text), economics_library=lib)


def test_library_response_is_a_psa_parameter_only_where_used():
    from jaksim.run.psa_parameters import parameters
    base = config.scenario_from_text(SCENARIO.replace("WEEKS", "8"))
    names = {p.name for p in parameters(base)}
    assert not any(n.startswith("disease_activity") for n in names)          # every value given: fixed
    lib = config.scenario_from_text(SCENARIO.replace("WEEKS", "8").replace(
        "disease_activity: {response_probability: 0.5, response_onset_weeks: 12, loss_of_response_per_year: 0,\n"
        "                     utility_decrement_uncontrolled: 0.2, infection_hazard_ratio_uncontrolled: {}}",
        "disease_activity: library"))
    names = {p.name for p in parameters(lib)}
    assert "disease_activity.response_probability.tofacitinib_5mg" in names
    assert not any("baricitinib" in n for n in names)                       # no arm on baricitinib
    from jaksim.report.labels import parameter_label
    assert parameter_label("disease_activity.response_probability.tofacitinib_5mg") == (
        "P(disease controlled on treatment), tofacitinib 5mg")


INFECTION = """\
name: activity_hazard
seed: 5
n_patients: 60000
horizon_years: 4
time_on_treatment_profile: none
cohort:
  age: {distribution: truncated_normal, mean_years: 50, sd_years: 5, min_years: 40, max_years: 60}
  female: 0.7
treatment: {drug: tofacitinib, dose_mg: 5, discontinuation_rate_per_100py: 0, off_treatment_hazard_ratio: 1}
infections:
  serious_infection:           # every hazard ratio 1: the reference patient's rate for everyone
    rate_per_100py: 10
    hazard_ratios: {age_per_10_years: 1, female: 1, asia: 1, diabetes: 1, prior_zoster: 1, chronic_lung_disease: 1,
                    concomitant_csdmard: 1, glucocorticoid_up_to_5mg: 1, glucocorticoid_over_5_to_10mg: 1,
                    glucocorticoid_over_10mg: 1}
mortality: {life_table: us_2019}
economics:
  discount: nice
  disease_activity: {response_probability: 0.4, response_onset_weeks: 26, loss_of_response_per_year: 0.3,
                     utility_decrement_uncontrolled: 0.1, infection_hazard_ratio_uncontrolled: {serious_infection: 2.5}}
arms:
  start_now: {}
"""


def test_infection_hazard_follows_disease_activity_in_closed_form():
    """Serious infection at rate λ·m_u while uncontrolled and λ·m_c = λ·m_u/h while controlled
    (h = 2.5), normalised so the mean over the horizon is λ for a start at 0. Expected events of
    a non-responder λ m_u T, of a responder λ (m_u (T − C) + m_c C) with C its controlled years,
    and over all patients λT. Each group's count is Poisson given its expected value (deaths at
    40-60 y over 4 years remove < 3% of the person-time, so expectations use each patient's own
    follow-up); |z| < 3.29 per check, false-failure probability 0.001 each."""
    from jaksim.model.disease_activity import activity_multipliers, controlled_interval, controlled_share
    from jaksim.run.chunks import simulate_chunk
    from jaksim.run.schedules import Schedules, with_disease_activity
    sc = config.scenario_from_text(INFECTION)
    model = spec.build_model(sc)
    n, T, lam = 60000, 4.0, 0.10
    cohort = model.cohort.block(0, n)
    sched = with_disease_activity(Schedules(model, n).chunk(model.arms[0], cohort), model, 0, cohort.patient_id)
    r = simulate_chunk(model, model.arms[0], cohort, 256, sched)[0]
    a = model.economics[0].disease_activity
    m_u, m_c = activity_multipliers([2.5], controlled_share(0.4, 26 * 7 / 365.25, 0.3, T))[:, 0]
    assert m_u > 1 > m_c and m_u * (1 - controlled_share(0.4, 26 * 7 / 365.25, 0.3, T)) + m_c * controlled_share(
        0.4, 26 * 7 / 365.25, 0.3, T) == pytest.approx(1.0)
    begin, end = sched.controlled_from, sched.controlled_until
    fu = r.follow_up
    controlled = np.clip(np.minimum(end, fu) - np.minimum(begin, fu), 0.0, None)
    expected = lam * (m_u * (fu - controlled) + m_c * controlled)
    counts = r.counts[:, 0]
    responder = np.isfinite(begin)
    for group in (responder, ~responder, np.ones(n, bool)):
        e = expected[group].sum()
        assert abs(counts[group].sum() - e) / math.sqrt(e) < 3.29, (group.sum(), counts[group].sum(), e)
    assert a.infection_hazard_ratio == {"serious_infection": 2.5}
    # the same uniforms as the economics: controlled intervals of the responders
    from jaksim.kernel.rng import uniforms
    b2, e2 = controlled_interval(0.4, a.onset_years, 0.3, np.zeros(n), uniforms(model.activity_keys[0],
                                 cohort.patient_id, 0), uniforms(model.activity_keys[1], cohort.patient_id, 0))
    np.testing.assert_array_equal(b2, begin)
    np.testing.assert_array_equal(e2, end)


def test_each_psa_draw_uses_its_own_response_probability_in_the_kernel():
    """Draws share cohort chunks and schedules; disease activity is applied per draw, so a drawn
    response probability changes who is controlled, hence the serious infections (the kernel)
    and the QALYs (the economics)."""
    from jaksim.run import psa
    text = INFECTION.replace("disease_activity: {response_probability: 0.4, ", "disease_activity: {").replace(
        "n_patients: 60000", "n_patients: 4000")
    sc = config.scenario_from_text(text)
    params = psa.parameters(sc)
    names = [p.name for p in params]
    j = names.index("disease_activity.response_probability.tofacitinib_5mg")
    lo, hi = [p.point for p in params], [p.point for p in params]
    lo[j], hi[j] = 0.05, 0.95
    _, _, r_lo, blocks = psa._run_once(sc, 0, *psa.libraries(params, lo), None)
    _, _, r_hi, _ = psa._run_once(sc, 0, *psa.libraries(params, hi), blocks)
    events_lo, events_hi = r_lo["start_now"][2], r_hi["start_now"][2]
    assert events_lo[0] != events_hi[0]
    assert r_hi["start_now"][0]["qalys"] > r_lo["start_now"][0]["qalys"]
