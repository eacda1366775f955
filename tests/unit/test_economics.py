"""Economics: exact continuous-time discounting, per-patient costs/QALYs, ICER logic, runs."""

from __future__ import annotations

import math

import numpy as np
import pyarrow.parquet as pq
import pytest

import jaksim
from helpers import MINIMAL
from jaksim.analysis.accumulators import DOMINATED, EXTENDED, FRONTIER, acceptability, icer_table
from jaksim.economics.costs_qalys import discount_factor, discounted_time, patient_economics, resolve, utility_time
from jaksim.errors import ScenarioError
from jaksim.model import spec
from jaksim.run import engine
from jaksim.scenario import load as config
from jaksim.scenario import schema
from jaksim.scenario.schema import Economics

RATES = [0.0, 0.015, 0.03, 0.035, 0.06]


@pytest.mark.parametrize("r", RATES)
@pytest.mark.parametrize("T", [0.25, 1.0, 5.0, 37.3])
def test_constant_rate_discounts_to_closed_form(r, T):
    c = 1234.5
    got = c * discounted_time(0.0, T, r)
    want = c * T if r == 0 else c * (1 - math.exp(-math.log1p(r) * T)) / math.log1p(r)
    assert got == pytest.approx(want, rel=1e-12, abs=0)


def test_rate_zero_is_the_undiscounted_total_and_intervals_add_up():
    a, b = np.array([0.0, 0.3, 2.0]), np.array([1.0, 4.2, 2.0])
    assert np.array_equal(discounted_time(a, b, 0.0), b - a)
    # additivity over a split point, and a tiny rate tends to the undiscounted length
    assert np.allclose(discounted_time(0.0, 0.7, 0.035) + discounted_time(0.7, 3.1, 0.035),
                       discounted_time(0.0, 3.1, 0.035), rtol=1e-14)
    assert discounted_time(0.0, 3.0, 1e-12) == pytest.approx(3.0, rel=1e-10)


@pytest.mark.parametrize("r", RATES)
def test_event_cost_is_discounted_by_its_time(r):
    t = np.array([0.0, 0.5, 2.75, 10.0])
    assert np.allclose(500.0 * discount_factor(t, r), 500.0 * (1 + r) ** -t, rtol=1e-14, atol=0)


def test_utility_is_piecewise_constant_in_completed_age():
    u = np.zeros(121)
    u[:50] = 0.8
    u[50:] = 0.6
    age = np.array([49.5, 49.5])
    # undiscounted: half a year at 0.8, then 0.6 — birthday at t = 0.5
    got = utility_time(age, 0.0, np.array([2.0, 0.25]), u, 0.0)
    assert got == pytest.approx([0.8 * 0.5 + 0.6 * 1.5, 0.8 * 0.25], rel=1e-14)
    r = 0.035
    d = math.log1p(r)
    want = 0.8 * (1 - math.exp(-d * 0.5)) / d + 0.6 * (math.exp(-d * 0.5) - math.exp(-d * 2.0)) / d
    assert utility_time(age[:1], 0.0, 2.0, u, r)[0] == pytest.approx(want, rel=1e-13)
    assert utility_time(age[:1], 0.0, 2.0, u, 0.0, age_advances=False)[0] == pytest.approx(1.6, rel=1e-14)


def _spec(rate=0.0, **kw):
    econ = Economics(discount={"costs": rate, "outcomes": rate}, currency="GBP",
                     baseline_utility=[{"from_age_years": 0, "utility": 0.8}, {"from_age_years": 50, "utility": 0.6}],
                     events={"herpes_zoster": {"cost": 100, "cost_hospitalised": 1000, "utility_decrement": 0.2,
                                               "duration_years": 0.1}},
                     post_herpetic_neuralgia={"cost": 50, "utility_decrement": 0.3, "duration_years": 0.5},
                     vaccine_cost_per_dose=150, vaccine_administration_cost_per_dose=10, drug_cost_per_year=1000, **kw)
    return resolve(econ, ("herpes_zoster", "serious_infection"), schema.Vaccination(vaccine="recombinant"))


def test_patient_economics_by_hand():
    spec = _spec(0.0)
    # patient 0: age 49.5, zoster with PHN at t=1 (outpatient), horizon 3, alive; doses at -0.2 and 0.1,
    # on treatment [0, 2]. patient 1: age 60, hospitalised zoster at 0.95, dies at 1.0 (decrement cut).
    out = patient_economics(
        spec, np.array([49.5, 60.0]), True, 3.0, np.array([3.0, 1.0]), np.array([0, 1]), np.zeros(2),
        np.array([2.0, np.nan]), np.array([-0.2, np.inf]), np.array([0.1, np.inf]),
        np.array([0, 1]), np.array([0, 0]), np.array([1.0, 0.95]), np.array([False, True]),
        np.array([True, False]))
    assert out["event_costs"] == pytest.approx([150.0, 1000.0])
    assert out["vaccine_costs"] == pytest.approx([320.0, 0.0])
    assert out["drug_costs"] == pytest.approx([2000.0, 1000.0])
    q0 = 0.8 * 0.5 + 0.6 * 2.5 - 0.2 * 0.1 - 0.3 * 0.5          # PHN from the end of the acute episode
    q1 = 0.6 * 1.0 - 0.2 * 0.05                                   # decrement cut at death
    assert out["qalys"] == pytest.approx([q0, q1], rel=1e-13)
    assert out["life_years"] == pytest.approx([3.0, 1.0])
    assert out["qalys_lost_at_death"] == pytest.approx([0.0, 0.6 * 2.0])
    assert np.array_equal(out["costs"], out["costs_undiscounted"])


def test_discounted_patient_economics_match_quadrature():
    r = 0.035
    spec = _spec(r)
    out = patient_economics(
        spec, np.array([49.5]), True, 3.0, np.array([3.0]), np.array([0]), np.zeros(1), np.array([np.nan]),
        np.array([-0.2]), np.array([0.1]), np.array([0]), np.array([0]), np.array([1.0]), np.array([True]),
        np.array([True]))
    s = np.linspace(0, 3, 3_000_001)
    w = (1 + r) ** -s
    util = np.where(s < 0.5, 0.8, 0.6) - 0.2 * ((s >= 1) & (s < 1.1)) - 0.3 * ((s >= 1.1) & (s < 1.6))
    assert out["qalys"][0] == pytest.approx(np.trapezoid(util * w, s), rel=1e-6)
    want_cost = 1050 * (1 + r) ** -1 + 160 + 160 * (1 + r) ** -0.1 + 1000 * (1 - (1 + r) ** -3) / math.log1p(r)
    assert out["costs"][0] == pytest.approx(want_cost, rel=1e-12)


# ------------------------------------------------------------------- incremental analysis
def _status(rows):
    return {r["name"]: r["status"] for r in rows}


def test_icer_strong_and_extended_dominance_by_hand():
    # B: ICER vs A = 100/QALY; C: vs B 200, E: vs C 100 -> C extendedly dominated; D dominated by B
    rows = icer_table(list("ABCDE"), [0, 100, 300, 250, 400], [0, 1, 2, 0.5, 3])
    assert _status(rows) == {"A": FRONTIER, "B": FRONTIER, "C": EXTENDED, "D": DOMINATED, "E": FRONTIER}
    by = {r["name"]: r for r in rows}
    assert math.isnan(by["A"]["icer"]) and by["B"]["icer"] == pytest.approx(100.0)
    assert by["E"]["comparator"] == "B" and by["E"]["icer"] == pytest.approx(150.0)


def test_icer_chain_of_extended_dominance_and_ties():
    # costs/QALYs: X(0,0), Y(10,0.1) ICER 100, Z(30,0.15) ICER 400, W(40,0.3) ICER vs Z 66.7 -> Z out;
    # then W vs Y = 30/0.2 = 150 > 100: frontier X, Y, W. V identical to Y -> dominated (later of two).
    rows = icer_table(["X", "Y", "Z", "W", "V"], [0, 10, 30, 40, 10], [0, 0.1, 0.15, 0.3, 0.1])
    assert _status(rows) == {"X": FRONTIER, "Y": FRONTIER, "Z": EXTENDED, "W": FRONTIER, "V": DOMINATED}
    by = {r["name"]: r for r in rows}
    assert by["W"]["icer"] == pytest.approx(150.0) and by["W"]["comparator"] == "Y"
    # two extendedly dominated in a row: P(0,0) Q(50,0.1) R(90,0.15) S(100,0.5)
    rows = icer_table(list("PQRS"), [0, 50, 90, 100], [0, 0.1, 0.15, 0.5])
    assert _status(rows) == {"P": FRONTIER, "Q": EXTENDED, "R": EXTENDED, "S": FRONTIER}
    assert {r["name"]: r for r in rows}["S"]["icer"] == pytest.approx(200.0)
    # cheaper and better than the reference: the reference is dominated
    assert _status(icer_table(["ref", "new"], [100, 90], [1.0, 1.1])) == {"ref": DOMINATED, "new": FRONTIER}


def test_acceptability_and_evpi_by_hand():
    costs = np.array([[0.0, 10.0], [0.0, 10.0]])
    qalys = np.array([[0.0, 0.2], [0.0, 0.0]])       # draw 0: new gains 0.2 QALY; draw 1: nothing
    acc = acceptability(costs, qalys, np.array([0.0, 100.0]))
    assert acc["probability_optimal"].tolist() == [[1.0, 0.0], [0.5, 0.5]]
    # λ = 100: NMB draw 0 = (0, 10), draw 1 = (0, -10): E[max] = 5, max E = 0 -> EVPI 5
    assert acc["evpi"].tolist() == pytest.approx([0.0, 5.0])


# ------------------------------------------------------------------- runs
ECON_SCENARIO = """\
name: econ
seed: 99
n_patients: 3000
horizon_years: 4
cohort:
  age: {distribution: truncated_normal, mean_years: 60, sd_years: 10, min_years: 18, max_years: 90}
  female: 0.8
treatment: {drug: tofacitinib, dose_mg: 5}
infections:
  serious_infection: {}
  herpes_zoster: {}
mortality: {life_table: us_2019}
economics: {discount: nice}
arms:
  none: {}
  vaccine_without_effect:
    vaccination: {vaccine: recombinant, first_dose_weeks: 4, uptake: 0.9, efficacy_multiplier: 0}
    economics: {vaccine_cost_per_dose: 0, vaccine_administration_cost_per_dose: 0}
  vaccine:
    vaccination: {vaccine: recombinant, first_dose_weeks: -8, uptake: 0.9}
"""


@pytest.fixture(scope="module")
def econ_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("econ")
    sc = config.scenario_from_text(ECON_SCENARIO)
    res = engine.run_to_folder(spec.build_model(sc), tmp / "a", chunk_size=65536)
    engine.run_to_folder(spec.build_model(sc), tmp / "b", chunk_size=700, threads=1)
    return tmp, res


def test_zero_efficacy_zero_cost_vaccine_equals_reference_exactly(econ_run):
    tmp, res = econ_run
    p0 = pq.read_table(tmp / "a" / "patients" / "arm=none" / "part-00000.parquet")
    p1 = pq.read_table(tmp / "a" / "patients" / "arm=vaccine_without_effect" / "part-00000.parquet")
    assert np.isfinite(p1.column("vaccine_dose1_years").to_numpy(zero_copy_only=False)).any()
    # bit for bit: the kernel re-bases a clock only when its own hazard changes, so the extra
    # change points of the vaccine arm (doses, waning steps) move nothing when efficacy is 0
    for col in ("herpes_zoster_events", "serious_infection_events", "post_herpetic_neuralgia_events",
                "costs", "qalys", "life_years", "costs_undiscounted", "qalys_undiscounted"):
        assert np.array_equal(p0.column(col).to_numpy(), p1.column(col).to_numpy()), col
    e = res.economics["vaccine_without_effect"].to_pylist()[0]
    assert e["incremental_costs"] == 0.0 and e["incremental_qalys"] == 0.0
    v = res.economics["vaccine"].to_pylist()[0]
    assert v["incremental_costs"] > 0 and v["incremental_qalys"] > 0   # doses cost, zoster averted


def test_economics_table_independent_of_chunks_and_threads(econ_run):
    tmp, _ = econ_run
    for arm in ("none", "vaccine"):
        a = pq.read_table(tmp / "a" / "economics" / f"arm={arm}" / "part-00000.parquet")
        b = pq.read_table(tmp / "b" / "economics" / f"arm={arm}" / "part-00000.parquet")
        assert a.equals(b)
    pa_ = pq.read_table(tmp / "a" / "patients" / "arm=vaccine" / "part-00000.parquet").to_pandas()
    e = pq.read_table(tmp / "a" / "economics" / "arm=vaccine" / "part-00000.parquet").to_pylist()[0]
    assert e["mean_costs"] == pytest.approx(pa_["costs"].mean(), rel=1e-12)
    assert (pa_["qalys"] <= pa_["qalys_undiscounted"] + 1e-12).all()
    assert (pa_["life_years_undiscounted"] == pa_["follow_up_years"]).all()


def test_no_economics_section_keeps_the_old_tables(tmp_path):
    res = jaksim.run(config.scenario_from_text(MINIMAL), out=tmp_path / "m")
    assert "costs" not in res.patients.column_names
    assert not (tmp_path / "m" / "economics").exists()


def test_economics_config_errors():
    with pytest.raises(ScenarioError, match="economics.events names infection type"):
        config.scenario_from_text(ECON_SCENARIO.replace("economics: {discount: nice}",
                                                        "economics: {discount: nice, events: {tb: {cost: 1}}}"))
    with pytest.raises(ScenarioError, match="currency or discount"):
        config.scenario_from_text(ECON_SCENARIO.replace("economics: {vaccine_cost_per_dose: 0,",
                                                        "economics: {discount: us, vaccine_cost_per_dose: 0,"))


def test_compiled_utility_time_equals_the_segment_sum():
    """The compiled birthday-by-birthday integral equals the plain segment sum (to 1e-13)."""
    from jaksim.economics.costs_qalys import discounted_time, utility_time
    rng = np.random.default_rng(5)
    age = np.concatenate([rng.uniform(18, 95, 5000), [50.0, 50.999999999, 64.5]])
    a = np.concatenate([rng.uniform(0, 2, 5000), [0.0, 0.0, 1.0]])
    b = a + np.concatenate([rng.uniform(0, 6, 5000), [3.0, 0.5, 0.0]])
    u = np.linspace(0.95, 0.55, 121)
    for rate in (0.0, 0.035):
        want = np.zeros_like(age)
        whole, frac = np.floor(age), age - np.floor(age)
        for m in range(-1, 12):
            lo, hi = np.clip(m - frac, a, b), np.clip(m + 1 - frac, a, b)
            want += u[np.clip(whole + m, 0, 120).astype(np.int64)] * discounted_time(lo, hi, rate)
        assert np.allclose(utility_time(age, a, b, u, rate), want, rtol=1e-13, atol=1e-13)
