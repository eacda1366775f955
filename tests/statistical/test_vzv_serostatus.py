"""VZV serostatus (issue 14, item 3): seronegatives cannot have zoster, can have varicella, and
two live varicella doses give them the configured protection.

Every arm has the same patients, serostatus and clocks (common random numbers), so varicella
events differ between arms only in the protected patients, who have none.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from factories import model_of
from jaksim.errors import JaksimError
from jaksim.run.chunks import simulate_chunk
from jaksim.run.schedules import Schedules

N = 40_000
WEEK = 7 / 365.25


def _scenario(reference: dict, strategy: dict, **extra) -> dict:
    return {
        "name": "vzv", "seed": 91, "n_patients": N, "horizon_years": 4, "time_on_treatment_profile": "none",
        "cohort": {"age": {"distribution": "truncated_normal", "mean_years": 50, "sd_years": 5,
                           "min_years": 40, "max_years": 60}, "female": 0.7},
        "treatment": {"drug": "tofacitinib", "dose_mg": 5},
        "infections": {"herpes_zoster": {}, "varicella": {"rate_per_100py": 20.0}},
        "mortality": {"life_table": "us_2019"},
        "arms": {"reference": {"vzv_screening": reference}, "strategy": {"vzv_screening": strategy, **extra}},
    }


def _run(sc: dict, n: int = N):
    model = model_of(sc)
    schedules = Schedules(model, n)
    cohort = model.cohort.block(0, n)
    out = []
    for arm in model.arms:
        sched = schedules.chunk(arm, cohort)
        out.append((sched, simulate_chunk(model, arm, cohort, 256, sched)[0].counts.astype(np.int64)))
    return model, out


@pytest.mark.parametrize("protection", [0.94, 0.6])
def test_two_doses_give_seronegatives_the_configured_protection(protection):
    """Protected share among the vaccinated seronegatives and the fall in varicella cases both
    follow ``protection`` (binomial: A = Σ n_i P_i, E = p Σ n_i, Var = p(1 − p) Σ n_i²);
    |z| < 3.29 each, false-failure probability 0.001 per check."""
    sc = _scenario({"serology": False, "seronegative_share": 0.2},
                   {"serology": True, "vaccinate_seronegative": True, "seronegative_share": 0.2,
                    "protection": protection})
    model, [(ref_s, ref), (arm_s, arm)] = _run(sc)
    v = model.types.index("varicella")
    z = arm_s.vzv
    vacc_neg = z.vaccinated & z.seronegative
    share = z.protected[vacc_neg].mean()
    assert abs(share - protection) / math.sqrt(protection * (1 - protection) / vacc_neg.sum()) < 3.29
    assert np.array_equal(z.vaccinated, z.test_seronegative)
    n = ref[vacc_neg, v]
    averted = int(n.sum() - arm[vacc_neg, v].sum())
    zscore = (averted - protection * n.sum()) / math.sqrt(protection * (1 - protection) * float((n ** 2).sum()))
    assert abs(zscore) < 3.29, (averted, protection * n.sum())
    assert arm[z.protected, v].sum() == 0 and np.array_equal(arm[~z.protected, v], ref[~z.protected, v])
    # the vaccinated start 4 + 4 weeks late (second dose, then the live-vaccine rule); others at once
    np.testing.assert_allclose(arm_s.treatment_start[z.vaccinated], 8 * WEEK)
    assert np.all(arm_s.treatment_start[~z.vaccinated] == 0.0)


def test_seronegatives_have_no_zoster_and_seropositives_no_varicella():
    sc = _scenario({"serology": False, "seronegative_share": 0.3}, {"serology": False, "seronegative_share": 0.3})
    model, [(s, counts), _] = _run(sc)
    hz, v = model.types.index("herpes_zoster"), model.types.index("varicella")
    neg = s.vzv.seronegative
    assert counts[neg, hz].sum() == 0 and counts[~neg, v].sum() == 0
    assert counts[neg, v].sum() > 100 and counts[~neg, hz].sum() > 100
    # zoster hazard ratio 1/(1 − q) among seropositives: mean 1 (the population rate is kept)
    q = 0.3
    assert abs(neg.mean() - q) < 3.29 * math.sqrt(q * (1 - q) / N)
    np.testing.assert_allclose(s.hazard_ratio[~neg, hz], 1 / (1 - q))


def test_zoster_vaccine_for_those_testing_seropositive_only():
    rzv = {"vaccination": {"vaccine": "recombinant", "first_dose_weeks": -8}}
    sc = _scenario({"serology": False, "seronegative_share": 0.2},
                   {"serology": True, "zoster_vaccine_seropositive_only": True, "seronegative_share": 0.2}, **rzv)
    _, [_, (s, _)] = _run(sc, 5000)
    assert np.all(np.isinf(s.dose1[s.vzv.test_seronegative]))
    assert np.all(np.isfinite(s.dose1[~s.vzv.test_seronegative]))


@pytest.mark.parametrize("change, message", [
    (lambda sc: sc["arms"]["reference"].pop("vzv_screening"), "the infection type 'varicella' needs vzv_screening"),
    (lambda sc: sc["arms"]["strategy"]["vzv_screening"].update(serology=False),
     "vaccinate_seronegative needs the serostatus: set serology: true"),
    (lambda sc: sc["arms"]["strategy"]["vzv_screening"].update(zoster_vaccine_seropositive_only=True),
     "zoster_vaccine_seropositive_only needs the arm's vaccination"),
])
def test_clear_errors(change, message):
    sc = _scenario({"serology": False}, {"serology": True, "vaccinate_seronegative": True})
    change(sc)
    with pytest.raises(JaksimError, match=message):
        model_of(sc)
