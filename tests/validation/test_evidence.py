"""The shipped evidence set: dose order, input reproduction by simulation, leave-one-trial-out.

* Dose order: for each JAK inhibitor whose two doses both have randomised evidence, the
  higher dose's relative effect (serious infection, herpes zoster; every indication with
  evidence) is at least the lower dose's, unless ``dose_order_exceptions`` documents that the
  randomised evidence itself shows otherwise (and then it must really be lower).
* Input reproduction (labelled so): each randomised input contrast, simulated in its trial's
  population (two arms, same patients, common random numbers), gives the network's estimate of
  that contrast within Monte Carlo error (4 SE, SE of the log ratio √(1/e₁ + 1/e₂) from the
  simulated event counts; false-failure rate 6e-5 per contrast): a failure is a plumbing bug.
  Whether that estimate is inside the trial's own CI is reported in
  docs/evidence_consistency.md (68 of 68 at the time of writing), not tuned.
* Leave one trial out (out of sample): ``model/consistency.py`` predicts every contrast of a
  trial from the other trials; the prediction must not move when the trial's own numbers do
  (it is out of sample), and docs/evidence_consistency.md must be the current report.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from factories import simulate
from jaksim.library import load_library
from jaksim.model import consistency
from jaksim.model import evidence as ev

ROOT = Path(__file__).resolve().parents[2]
TYPES = ("serious_infection", "herpes_zoster")


def _lib():
    return load_library()


def _randomised_on_path(re) -> bool:
    return re is not None and re.how == "randomised"


def test_higher_dose_never_lower_risk_unless_documented():
    lib = _lib()
    exceptions = {(x["drug"], x["type"]) for x in lib.evidence.get("dose_order_exceptions", [])}
    checked = 0
    for drug, d in lib.drugs.items():
        if d["drug_class"] != "jak_inhibitor" or len(d["doses_mg"]) < 2:
            continue
        low, high = sorted(float(x) for x in d["doses_mg"])[:2]
        for t in TYPES:
            for ind in ("ra", "psa", "uc", "ad", "as"):
                re_low = ev.relative_effect(lib.evidence, lib.drugs, drug, low, t, ind)
                re_high = ev.relative_effect(lib.evidence, lib.drugs, drug, high, t, ind)
                if not (_randomised_on_path(re_low) and _randomised_on_path(re_high)) or re_low.transfer:
                    continue
                checked += 1
                if (drug, t) in exceptions:
                    continue
                assert re_high.ratio >= re_low.ratio * (1 - 1e-12), (drug, t, ind, re_low.ratio, re_high.ratio)
    assert checked >= 6          # at least three drugs × two types have randomised evidence at both doses
    for drug, t in exceptions:   # a documented exception must be a real one somewhere
        lows = [ev.relative_effect(lib.evidence, lib.drugs, drug, sorted(lib.drugs[drug]["doses_mg"])[i], t, ind)
                for i in (0, 1) for ind in ("ra", "psa", "uc", "ad", "as")]
        pairs = [(lows[k], lows[5 + k]) for k in range(5) if lows[k] is not None and lows[5 + k] is not None]
        assert any(h.ratio < lo.ratio for lo, h in pairs), (drug, t)


def _simulable(lib, t: dict) -> tuple[str, float] | None:
    """(drug, dose) of a treatment that can be an arm (a drug, at its dose or its only dose)."""
    if t.get("drug") is None:
        return None
    doses = lib.drugs[t["drug"]]["doses_mg"]
    if t.get("dose_mg") is None and len(doses) != 1:
        return None
    return t["drug"], float(t["dose_mg"] if t.get("dose_mg") is not None else doses[0])


def _trial_scenario(lib, e: dict, arms: list[tuple[str, float]]) -> dict:
    trial = next((t for t in lib.evidence["trials"] if t["id"] == e.get("trial")), {})
    pop = trial.get("population") or {}      # a pooled estimate without one trial: a typical RA cohort
    cohort = {"age": {"distribution": "truncated_normal", "mean_years": pop.get("age_mean_years") or 55,
                      "sd_years": pop.get("age_sd_years") or 12},
              "female": pop.get("female") or 0.8, "asia": pop.get("asia") or 0.0,
              "indication": e.get("indication") or "ra"}
    return {"name": "trial", "seed": 7, "n_patients": 20000, "horizon_years": 1, "cohort": cohort,
            "treatment": {"drug": arms[0][0], "dose_mg": arms[0][1], "discontinuation_rate_per_100py": 0},
            "mortality": {"rate_per_100py": 0.5},
            "infections": {e["type"]: {}},
            "arms": {"treatment": {}, "comparator": {"treatment": {"drug": arms[1][0], "dose_mg": arms[1][1]}}}}


@pytest.mark.slow
def test_input_reproduction_trial_by_trial():
    """Simulated ratio of a trial's two arms = the network's contrast, within 4 MC SE."""
    from jaksim.report.consistency_doc import model_contrasts
    lib = _lib()
    effects = {e["id"]: e for e in lib.evidence["relative_effects"]}
    rows = [r for r in model_contrasts(lib)
            if _simulable(lib, effects[r["effect"]]["treatment"]) and _simulable(lib, effects[r["effect"]]["comparator"])
            and ev.baseline(lib.evidence, r["indication"] or "ra", r["type"]) is not None]
    assert len(rows) >= 20
    misses = []
    for r in rows:
        e = effects[r["effect"]]
        arms = [_simulable(lib, e["treatment"]), _simulable(lib, e["comparator"])]
        sc = _trial_scenario(lib, e, arms)
        counts = []
        for a in (0, 1):
            _, _, res = simulate(sc, sc["n_patients"], arm=a)
            counts.append((res.counts[:, 0].sum(), res.follow_up.sum()))
        (e1, t1), (e2, t2) = counts
        log_ratio = math.log((e1 / t1) / (e2 / t2))
        se = math.sqrt(1 / e1 + 1 / e2)
        if abs(log_ratio - math.log(r["model"])) > 4 * se:
            misses.append((r["effect"], math.exp(log_ratio), r["model"], se))
    assert not misses, misses


def test_leave_one_trial_out_is_out_of_sample():
    """Changing a trial's own numbers never moves its leave-one-out prediction."""
    lib = _lib()
    rows = consistency.leave_one_trial_out(lib.evidence, lib.drugs)
    predicted = [r for r in rows if r["predicted"] is not None]
    assert len(predicted) >= 10
    for trial in sorted({r["trial"] for r in predicted})[:6]:
        changed = {**lib.evidence, "relative_effects": [
            {**e, "ratio": e["ratio"] * 10.0, "ci95": [x * 10.0 for x in e["ci95"]] if e.get("ci95") else None}
            if e.get("trial") == trial else e for e in lib.evidence["relative_effects"]]}
        again = {r["effect"]: r for r in consistency.leave_one_trial_out(changed, lib.drugs) if r["trial"] == trial}
        for r in (x for x in predicted if x["trial"] == trial):
            assert again[r["effect"]]["predicted"] == pytest.approx(r["predicted"], rel=1e-12), r["effect"]
            assert r["inside"] == (r["ci95"][0] <= r["predicted"] <= r["ci95"][1])


def test_consistency_report_is_current():
    lib = _lib()
    text = consistency.markdown(consistency.leave_one_trial_out(lib.evidence, lib.drugs))
    doc = (ROOT / "docs" / "evidence_consistency.md").read_text(encoding="utf-8")
    assert text in doc, ("docs/evidence_consistency.md is out of date: "
                         "python -m jaksim.report.consistency_doc > docs/evidence_consistency.md")


def test_rates_follow_relative_effects_in_a_run():
    """Arms differ only by their relative effects: base rate ratio = RE ratio (same baseline)."""
    lib = _lib()
    sc = {"name": "dose", "seed": 1, "n_patients": 10, "horizon_years": 1,
          "cohort": {"age": {"distribution": "truncated_normal", "mean_years": 55, "sd_years": 10}, "female": 0.8},
          "treatment": {"drug": "tofacitinib", "dose_mg": 5}, "infections": {"serious_infection": {}},
          "arms": {"t5": {}, "t10": {"treatment": {"dose_mg": 10}}}}
    model, _, _ = simulate(sc, 10)
    got = model.arms[1].base_rate[0, 0] / model.arms[0].base_rate[0, 0]
    want = (ev.relative_effect(lib.evidence, lib.drugs, "tofacitinib", 10, "serious_infection", "ra").ratio
            / ev.relative_effect(lib.evidence, lib.drugs, "tofacitinib", 5, "serious_infection", "ra").ratio)
    assert got == pytest.approx(want, rel=1e-12)
    prov = model.arms[1].provenance["infections"]["serious_infection"]["rate_per_100py"]["ra"]
    assert prov["relative_effect"]["randomised"] is True
    json.dumps(prov)                       # provenance is JSON as written to the outputs
    assert np.isfinite(got)
