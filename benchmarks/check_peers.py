"""Statistical cross-check of the benchmark's implementations (not part of the main test suite).

    python -m pytest benchmarks/check_peers.py -q

The file name does not match pytest's ``test_*.py`` pattern and ``testpaths`` is ``tests``, so
a plain ``pytest`` never collects it. It checks that

* ``m0_expected.json`` equals the expectation recomputed by quadrature, and ``m0.yaml``
  resolves to M0's numbers;
* jaksim, the NumPy peer and the SimPy peer each agree with the analytic incidence rates
  (serious infection, herpes zoster, tuberculosis, death) and mean follow-up, and each peer
  agrees with jaksim, within Monte Carlo error.

Each comparison is a z-test with the delta-method standard error of the ratio estimator
(``tally.py``). There are M = 25 comparisons; each uses |z| < z* with z* = Phi^-1(1 - alpha / (2M)),
alpha = 0.001 (z* ≈ 4.11). By Bonferroni, when every implementation is correct the chance that
any comparison fails is at most 0.1 % per seed. Seeds are fixed (override with
JAKSIM_BENCH_SEED), so a given checkout passes or fails deterministically.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from scipy import special

import m0
import peers

SEED = int(os.environ.get("JAKSIM_BENCH_SEED", "20240501"))
N = {"jaksim": 200_000, "numpy": 200_000, "simpy": 20_000}
NAMES = m0.TYPES + ("death",)
COMPARISONS = 3 * (len(NAMES) + 1) + 2 * (len(NAMES) + 1)
ALPHA = 1e-3
Z_CRIT = float(special.ndtri(1 - ALPHA / (2 * COMPARISONS)))


@pytest.fixture(scope="module")
def tallies():
    import jaksim_impl as J
    model, _, _ = J.load(m0.variant(N["jaksim"], SEED), None)
    out = {"jaksim": J.simulate_only(model, N["jaksim"])[0]}
    out["numpy"] = peers.simulate_numpy(N["numpy"], SEED + 1)[0]
    out["simpy"] = peers.simulate_simpy(N["simpy"], SEED + 2)[0]
    return out


def _estimates(tally) -> dict[str, tuple[float, float]]:
    est = dict(tally.ir())
    est["mean_follow_up"] = tally.mean_follow_up()
    return est


def test_stored_expectation_equals_quadrature():
    stored, exp = m0.expected(), m0.compute_expectation()
    for k in NAMES:
        assert abs(exp["ir_per_100py"][k] - stored["ir_per_100py"][k]) < stored["tolerance_abs"], k
    assert abs(exp["mean_follow_up_years"] - stored["mean_follow_up_years"]) < stored["tolerance_abs"]


def test_scenario_file_is_m0():
    from jaksim.model import spec
    from jaksim.scenario import load as config
    from jaksim.scenario.schema import BINARY_COVARIATES
    p = m0.PARAMS
    model = spec.build_model(config.load_scenario(m0.SCENARIO))
    arm = model.arms[0]
    assert model.types == m0.TYPES and not model.cohort.age_advances
    assert float(model.scenario.horizon_years) == p["horizon"]
    vac = BINARY_COVARIATES.index("zoster_vaccinated")
    for k, name in enumerate(m0.TYPES):
        assert arm.base_rate[k, 0] == pytest.approx(p["rate"][name])
        assert arm.hr_gc[k, 1] == pytest.approx(p["hr_steroid"][name])
        assert np.exp(arm.log_hr[k, vac]) == pytest.approx(p["hr_vaccinated"][name])
        assert np.delete(arm.log_hr[k], vac) == pytest.approx(0.0)
        assert arm.age_log_hr[k] == pytest.approx(np.log(p["hr_age_per_10"]) / 10)
        assert arm.ref_age[k] == p["ref_age"]
    assert arm.mortality == pytest.approx(p["death_rate"])
    assert arm.p_fatal.max() == arm.p_stop.max() == arm.discontinuation_rate == 0.0
    assert arm.p_hosp.max() == arm.p_serious.max() == 0.0
    assert getattr(arm, "p_phn_age", np.zeros(1)).max() == 0.0


@pytest.mark.parametrize("impl", ["jaksim", "numpy", "simpy"])
def test_agrees_with_analytic_expectation(tallies, impl):
    exp = m0.expected()
    want = dict(exp["ir_per_100py"], mean_follow_up=exp["mean_follow_up_years"])
    for name, (value, se) in _estimates(tallies[impl]).items():
        z = (value - want[name]) / se
        assert abs(z) < Z_CRIT, f"{impl} {name}: {value:.4f} vs {want[name]:.4f} (z = {z:.2f})"


@pytest.mark.parametrize("impl", ["numpy", "simpy"])
def test_peer_agrees_with_jaksim(tallies, impl):
    ref = _estimates(tallies["jaksim"])
    for name, (value, se) in _estimates(tallies[impl]).items():
        z = (value - ref[name][0]) / np.hypot(se, ref[name][1])
        assert abs(z) < Z_CRIT, f"{impl} vs jaksim {name}: {value:.4f} vs {ref[name][0]:.4f} (z = {z:.2f})"
