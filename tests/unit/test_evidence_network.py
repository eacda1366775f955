"""The network meta-analysis of relative effects (model/network.py, model/evidence.py) on small
hand-made evidence sets.

Expectations are arithmetic on the inputs: Bucher's indirect comparison (log ratios and
variances add along a chain), inverse-variance pooling of one pair from several trials, the
fixed-effect GLS of a closed loop (= inverse-variance average of the direct and the indirect
estimate), and the labelled fallbacks (non-randomised chain, class effect, indication transfer).
"""

from __future__ import annotations

import math

import pytest

from jaksim.library.uncertainty import Z95
from jaksim.model import evidence as ev

DRUGS = {"tofa": {"drug_class": "jak", "doses_mg": [5, 10]}, "ada": {"drug_class": "tnf", "doses_mg": [40]},
         "eta": {"drug_class": "tnf", "doses_mg": [50]},
         "placebo": {"drug_class": "placebo", "doses_mg": [0]}, "mtx": {"drug_class": "csdmard", "doses_mg": [15]}}


def effect(id_, t, c, ratio, ci=None, randomised=True, status="read", type_="si", indication="ra", trial=None):
    return {"id": id_, "treatment": t, "comparator": c, "ratio": ratio, "ci95": ci, "randomised": randomised,
            "status": status, "type": type_, "indication": indication, "trial": trial or id_,
            "measure": "hazard_ratio", "citation": "test"}


PLACEBO_IS_REF = effect("pbo_ref", {"drug": "placebo"}, {"drug_class": "csdmard"}, 1.0, None, False, "assumption",
                        type_=None, indication=None)
T5, T10, ADA, PBO = ({"drug": "tofa", "dose_mg": 5}, {"drug": "tofa", "dose_mg": 10}, {"drug": "ada"},
                     {"drug": "placebo"})


def evidence(*effects, class_effects=()):
    return {"reference_treatment": {"drug_class": "csdmard"}, "class_effects": list(class_effects),
            "relative_effects": [PLACEBO_IS_REF, *effects]}


def var(ci):
    return ((math.log(ci[1]) - math.log(ci[0])) / (2 * Z95)) ** 2


def re_of(e, drug="tofa", dose=5, type_="si", ind="ra"):
    return ev.relative_effect(e, DRUGS, drug, dose, type_, ind)


def test_direct_effect_against_placebo():
    re = re_of(evidence(effect("a", T5, PBO, 1.5, [1.0, 2.25])))
    assert re.ratio == pytest.approx(1.5)
    assert re.log_variance == pytest.approx(var([1.0, 2.25]))
    prov = re.provenance()
    assert prov["status"] == "read" and prov["randomised"] is True
    assert any(a.startswith("placebo taken as class csdmard") for a in prov["assumptions"])


def test_indirect_comparison_multiplies_ratios_and_adds_variances():
    re = re_of(evidence(effect("a", T5, ADA, 1.2, [0.9, 1.6]), effect("b", ADA, PBO, 1.5, [1.1, 2.0])))
    assert re.ratio == pytest.approx(1.8)
    assert re.log_variance == pytest.approx(var([0.9, 1.6]) + var([1.1, 2.0]))
    assert re.provenance()["status"] == "computed"
    assert sum(x for _, x in re.shares) == pytest.approx(1.0)


def test_reversed_entry_is_read_the_other_way():
    assert re_of(evidence(effect("a", PBO, T5, 0.5, [0.25, 1.0]))).ratio == pytest.approx(2.0)


def test_same_pair_from_two_trials_is_pooled_by_inverse_variance():
    a, b = effect("a", T5, PBO, 1.2, [0.8, 1.8]), effect("b", PBO, T5, 1 / 2.0, [1 / 3.0, 1 / 1.5])
    re = re_of(evidence(a, b))
    wa, wb = 1 / var([0.8, 1.8]), 1 / var([1 / 3.0, 1 / 1.5])
    assert math.log(re.ratio) == pytest.approx((wa * math.log(1.2) + wb * math.log(2.0)) / (wa + wb))
    assert re.log_variance == pytest.approx(1 / (wa + wb))
    assert len(re.comparisons) == 1 and {e["id"] for e in re.comparisons[0].entries} == {"a", "b"}


def test_closed_loop_combines_direct_and_indirect_evidence():
    direct, ab, bc = [1.0, 2.25], [0.9, 1.6], [1.1, 2.0]
    re = re_of(evidence(effect("d", T5, PBO, 1.5, direct), effect("a", T5, ADA, 1.2, ab),
                        effect("b", ADA, PBO, 1.5, bc)))
    v_dir, v_ind = var(direct), var(ab) + var(bc)
    want = (math.log(1.5) / v_dir + math.log(1.8) / v_ind) / (1 / v_dir + 1 / v_ind)
    assert math.log(re.ratio) == pytest.approx(want)
    assert re.log_variance == pytest.approx(1 / (1 / v_dir + 1 / v_ind))


def test_non_randomised_evidence_only_where_randomised_does_not_reach():
    rct = effect("rct", T5, PBO, 1.5, [1.0, 2.25])
    obs = effect("obs", T5, PBO, 3.0, [2.9, 3.1], randomised=False)
    re = re_of(evidence(rct, obs))
    assert re.ratio == pytest.approx(1.5) and re.how == "randomised"
    re10 = re_of(evidence(rct, effect("obs10", T10, T5, 2.0, [1.5, 2.7], randomised=False)), dose=10)
    assert re10.ratio == pytest.approx(3.0) and re10.how == "non-randomised"
    assert re10.provenance()["randomised"] is False
    assert re10.log_variance == pytest.approx(var([1.0, 2.25]) + var([1.5, 2.7]))


def test_class_evidence_is_a_fallback_and_never_a_sibling_dose():
    cls = effect("c", {"drug_class": "jak"}, PBO, 1.3, [1.1, 1.5])
    e = evidence(effect("a", T5, PBO, 2.0, [1.5, 2.7]), cls)
    assert re_of(e).ratio == pytest.approx(2.0)
    re10 = re_of(e, dose=10)
    assert re10.ratio == pytest.approx(1.3) and re10.how == "class"
    assert re10.provenance()["status"] == "assumption"
    assert re_of(evidence(effect("a", T5, PBO, 2.0, [1.5, 2.7])), dose=10) is None


def test_class_effect_makes_members_one_node():
    e = evidence(effect("os", T5, {"drug_class": "tnf"}, 1.2, [1.0, 1.44]), effect("b", {"drug": "eta"}, PBO, 1.5,
                                                                                      [1.1, 2.0]),
                 class_effects=("tnf",))
    assert re_of(e).ratio == pytest.approx(1.8)
    assert re_of(e, "ada", 40).ratio == pytest.approx(1.5)       # adalimumab = etanercept = the class
    assert any("class effect assumed" in a for a in re_of(e, "ada", 40).assumptions)
    assert re_of(evidence(*e["relative_effects"][1:]), "ada", 40) is None   # without the class effect


def test_other_indication_is_a_labelled_transfer():
    re = re_of(evidence(effect("uc", T10, PBO, 2.5, [1.2, 5.0], indication="uc")), dose=10)
    assert re.ratio == pytest.approx(2.5)
    assert "indication transfer" in re.transfer and re.provenance()["transfer"] == re.transfer


def test_type_is_respected_and_untyped_entries_apply_to_every_type():
    e = evidence(effect("hz", T5, PBO, 3.0, [2.0, 4.5], type_="hz"))
    assert re_of(e, type_="si") is None
    assert re_of(e, type_="hz").ratio == pytest.approx(3.0)
    assert re_of(e, "placebo", 0).ratio == pytest.approx(1.0)


def test_check_role_is_never_used():
    chk = {**effect("nma", T5, PBO, 9.0, [8.0, 10.0]), "role": "check"}
    assert re_of(evidence(chk)) is None


def test_drug_without_dose_stands_for_each_dose():
    e = evidence(effect("a", {"drug": "tofa"}, PBO, 1.4, [1.1, 1.8]))
    assert re_of(e, dose=5).ratio == re_of(e, dose=10).ratio == pytest.approx(1.4)
