"""The frailty setting: resolution per type with provenance, its statement in `jaksim validate`,
and the kernel's frailty path when it must change nothing (variance 0, or no event)."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq

from factories import model_of, run_arm
from helpers import MINIMAL, replace, write_scenario
from jaksim.cli import main
from jaksim.library import load_library
from jaksim.model.frailty import describe_frailty

FIELDS = ("follow_up", "exit_reason", "stop_time", "counts", "first_time", "ev_pid", "ev_type", "ev_time", "ev_num",
          "ev_flags")


def _scenario(frailty=None) -> dict:
    sc = {"name": "f", "seed": 5, "n_patients": 1000, "horizon_years": 4,
          "cohort": {"age": {"distribution": "truncated_normal", "mean_years": 60, "sd_years": 10, "min_years": 18,
                             "max_years": 90}, "female": 0.6, "glucocorticoid": {"below_7_5mg": 0.3}},
          "treatment": {"drug": "tofacitinib", "dose_mg": 5, "discontinuation_rate_per_100py": 10},
          "infections": {"serious_infection": {"rate_per_100py": 30}, "herpes_zoster": {"rate_per_100py": 20},
                         "tuberculosis": {"rate_per_100py": 5}},
          "mortality": {"rate_per_100py": 2}}
    if frailty is not None:
        sc["frailty"] = frailty
    return sc


def test_library_frailty_resolves_per_type_with_sources():
    model = model_of(_scenario("library"))
    lib = load_library()
    arm = model.arms[0]
    assert arm.frailty_variance.tolist() == [lib.frailty_variance("serious_infection").value,
                                             lib.frailty_variance("herpes_zoster").value, 0.0]
    prov = arm.provenance["frailty"]
    assert prov["serious_infection"]["source"] == "library" and prov["serious_infection"]["citation"]
    assert prov["tuberculosis"]["status"] == "assumption" and prov["tuberculosis"]["value"] == 0.0
    assert "herpes_zoster variance 0.42 (library)" in describe_frailty(arm.provenance)
    assert "others none" in describe_frailty(arm.provenance)


def test_scenario_variances_and_default_none():
    model = model_of(_scenario({"herpes_zoster": {"variance": 1.5}, "serious_infection": "library"}))
    assert model.arms[0].frailty_variance[1] == 1.5
    assert model.arms[0].provenance["frailty"]["herpes_zoster"] == {"value": 1.5, "source": "scenario file"}
    none = model_of(_scenario())
    assert none.arms[0].frailty_variance is None
    assert describe_frailty(none.arms[0].provenance).startswith("frailty: none")


def test_variance_zero_changes_nothing_and_frailty_changes_only_its_type():
    """Variance 0 is the model without frailty, bit for bit; a frailty on herpes zoster leaves every
    other type's events unchanged (its own stream; no event-triggered stop here) and changes zoster's."""
    plain = run_arm(model_of(_scenario()), 0, 0, 3000)
    zero = run_arm(model_of(_scenario({"herpes_zoster": {"variance": 0.0}})), 0, 0, 3000)
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(plain, name), getattr(zero, name))
    frail = run_arm(model_of(_scenario({"herpes_zoster": {"variance": 2.0}})), 0, 0, 3000)
    for k in (0, 2):
        np.testing.assert_array_equal(plain.counts[:, k], frail.counts[:, k])
        np.testing.assert_array_equal(plain.first_time[:, k], frail.first_time[:, k])
    assert not np.array_equal(plain.counts[:, 1], frail.counts[:, 1])


def test_validate_and_run_state_the_frailty(tmp_path, capsys):
    text = replace(MINIMAL, "horizon_years: 2\n", "horizon_years: 2\nfrailty:\n  infection_a: {variance: 0.7}\n")
    path = write_scenario(tmp_path, text)
    assert main(["validate", str(path)]) == 0
    assert "frailty (per-patient gamma, mean 1, independent between types): infection_a variance 0.7 (scenario), " \
           "others none" in capsys.readouterr().out.replace("\n", " ")
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "--n-patients", "200"]) == 0
    assert "infection_a variance 0.7 (scenario)" in capsys.readouterr().out.replace("\n", " ")
    meta = pq.read_schema(tmp_path / "out" / "summary" / "arm=base" / "part-00000.parquet").metadata
    assert json.loads(meta[b"jaksim.parameters"])["frailty"]["infection_a"]["value"] == 0.7


def test_each_patient_has_one_frailty_in_every_arm():
    """Common random numbers with frailty: at constant hazards λ1 < λ2 (no death, no stop), a
    patient's events in the faster arm are those of the slower one at times × λ1/λ2, and more
    (the events sit at the same points of cumulative hazard in both arms: the same frailty)."""
    sc = _scenario({"herpes_zoster": {"variance": 1.5}})
    sc["mortality"] = {"rate_per_100py": 0}
    sc["treatment"]["discontinuation_rate_per_100py"] = 0
    sc["cohort"] = {"age": {"distribution": "bands", "bands": [{"min_years": 50, "max_years": 51, "share": 1}]},
                    "age_advances": False, "female": 0}
    sc["infections"] = {"herpes_zoster": {"rate_per_100py": 20, "discontinuation_probability": 0}}
    sc["arms"] = {"slow": {}, "fast": {"infections": {"herpes_zoster": {"rate_per_100py": 50}}}}
    model = model_of(sc)
    slow, fast = run_arm(model, 0, 0, 4000), run_arm(model, 1, 0, 4000)
    k = 0
    assert np.all(fast.counts[:, k] >= slow.counts[:, k]) and fast.counts[:, k].sum() > slow.counts[:, k].sum()
    for pid in np.unique(slow.ev_pid[slow.ev_type == k]):
        t_slow = slow.ev_time[(slow.ev_pid == pid) & (slow.ev_type == k)]
        t_fast = fast.ev_time[(fast.ev_pid == pid) & (fast.ev_type == k)]
        np.testing.assert_allclose(t_fast[: t_slow.size], t_slow * 20 / 50, rtol=1e-12)
