"""Acceptance tests of the parameter library: sources, coverage, dose order, generated docs,
PSA distributions and the marginal calibration (``jaksim.calibration``).

Deterministic (no simulation); tolerances are floating-point ones except where stated.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy import stats

from jaksim.library import STATUSES, load_library
from jaksim.library.uncertainty import distribution, probability_distribution, rate_distribution, ratio_distribution
from jaksim.model.calibration import TYPICAL_RA_TRIAL, SourcePopulation, calibrate, population_hazard_ratios
from jaksim.model.hazards import build_arms
from jaksim.report.parameter_document import library_hazard_model, parameters_markdown
from jaksim.scenario import load as config
from jaksim.scenario import schema
from jaksim.scenario.schema import BINARY_COVARIATES

REPO = Path(__file__).resolve().parents[2]
LIB = load_library()
POPULATIONS_YAML = yaml.safe_load((LIB.root / "source_populations.yaml").read_text(encoding="utf-8"))
POPULATIONS = POPULATIONS_YAML["source_populations"]
MEASURES = ("first_event", "all_events")
SECTIONS = ("rates", "hazard_ratios", "consequences", "discontinuation", "off_treatment_hazard_ratio",
            "mortality", "life_tables", "tuberculosis_background_incidence", "time_on_treatment_profiles", "frailty")
#: sections the PSA does not draw: a life table, documented evidence, the TB setting ratios
#: (a scenario choice, fixed; their CIs are kept in the data) and the frailty variances (fixed in
#: the PSA for now; their CIs are kept in the data)
NOT_DRAWN = ("life_tables", "time_on_treatment_profiles", "tuberculosis_background_incidence", "frailty")


def _label(e: dict) -> str:
    keys = ("section", "name", "id", "drug", "dose_mg", "type", "covariate", "quantity")
    return " ".join(f"{k}={e[k]}" for k in keys if k in e)


def _rate_entries():
    return LIB.data["rates"]


def _rate_key(e):
    return (e["drug"], float(e["dose_mg"]), e["type"])


# ------------------------------------------------------------------ no value without a source
def test_every_section_is_listed_by_entries():
    """``Library.entries`` (what ``jaksim params`` and this file check) covers every section."""
    assert {e["section"] for e in LIB.entries()} == set(SECTIONS)
    counts = {s: sum(e["section"] == s for e in LIB.entries()) for s in SECTIONS}
    assert counts["rates"] == len(LIB.data["rates"]) and counts["hazard_ratios"] == len(LIB.data["hazard_ratios"])


def _sourcing_problems(entry: dict, note_keys=("note",)) -> list[str]:
    problems = []
    citation = str(entry.get("citation") or "").strip()
    status = entry.get("status")
    if not citation:
        problems.append("empty citation")
    if status not in STATUSES:
        problems.append(f"status {status!r} not in {STATUSES}")
    if status in ("read", "computed") and citation.lower() == "none":
        problems.append(f"status {status} but citation 'none'")
    if status in ("computed", "assumption"):
        note = " ".join(str(entry.get(k) or "") for k in note_keys if not isinstance(entry.get(k), dict))
        note += " ".join(str(v) for k in note_keys if isinstance(entry.get(k), dict) for v in entry[k].values())
        if not note.strip():
            problems.append(f"status {status} without a note saying why/how")
    return problems


def test_no_value_lacks_a_source():
    """Every entry has a citation and a status in {read, computed, assumption}; computed and
    assumption entries say why or how in a note; 'none' as citation only for assumptions."""
    assert STATUSES == ("read", "computed", "assumption")
    problems = []
    for e in LIB.entries():
        for p in _sourcing_problems(e, note_keys=("note", "description")):
            problems.append(f"{_label(e)}: {p}")
        if e["section"] == "rates" and e.get("measure") not in MEASURES:
            problems.append(f"{_label(e)}: measure {e.get('measure')!r} not in {MEASURES}")
    for p in POPULATIONS:
        for msg in _sourcing_problems(p, note_keys=("note", "field_notes")):
            problems.append(f"source population {p.get('id')}: {msg}")
    assert not problems, "\n".join(problems)


def test_defaults_filled_into_source_populations_are_stated():
    """A characteristic a source population does not report is filled from TYPICAL_RA_TRIAL,
    and each filled value adds one stated assumption to the population (plus the four general
    ones: independent covariates, no zoster vaccination, no csDMARD share read, region not given)."""
    pops = {p.id: p for p in LIB._pops_all().values()}
    assert pops
    for raw in POPULATIONS:
        if raw["id"] not in pops:
            continue
        pop = pops[raw["id"]]
        missing = [k for k in TYPICAL_RA_TRIAL if k != "follow_up_years" and raw.get(k) is None]
        if raw.get("follow_up_years") is not None:       # stated in the data file
            assert pop.follow_up_years == raw["follow_up_years"]
        elif not (raw.get("n_patients") and raw.get("person_years")):
            missing.append("follow_up_years")
            assert pop.follow_up_years == TYPICAL_RA_TRIAL["follow_up_years"]
        else:
            assert pop.follow_up_years == pytest.approx(raw["person_years"] / raw["n_patients"], rel=1e-15)
        filled = pop.assumptions[:len(missing)]
        assert len(pop.assumptions) == len(missing) + 4, (raw["id"], missing, pop.assumptions)
        assert all("assumed" in a for a in filled), (raw["id"], filled)


# ------------------------------------------------------------------ coverage
#: the types the integrated programmes report (programme_rates evidence); the other library types
#: (pneumonia, URTI, UTI, cellulitis) come from baselines x relative effects in either evidence set
PROGRAMME_TYPES = ("serious_infection", "herpes_zoster", "opportunistic_infection", "tuberculosis")
#: drugs with programme rates (comparators added for the evidence network have none)
PROGRAMME_DRUGS = sorted({k[0] for k in LIB.programme_keys()})


def test_every_drug_and_dose_has_a_rate_for_every_type():
    types = list(LIB.infection_types)
    assert set(types) == {"serious_infection", "herpes_zoster", "opportunistic_infection", "tuberculosis",
                          "pneumonia", "upper_respiratory_tract_infection", "urinary_tract_infection", "cellulitis",
                          "varicella"}    # varicella: force of infection among the seronegative, on every drug
    assert {"tofacitinib", "baricitinib", "upadacitinib", "filgotinib", "adalimumab", "methotrexate",
            "placebo"} <= set(PROGRAMME_DRUGS)
    assert not {k[3] for k in LIB.programme_keys()} - set(PROGRAMME_TYPES)
    missing = [(drug, dose, t) for drug in PROGRAMME_DRUGS for dose in LIB.doses(drug) for t in PROGRAMME_TYPES
               if LIB.rate(drug, dose, "ra", t) is None]
    assert not missing, f"no RA rate for {missing}"
    keys = [(e["drug"], float(e["dose_mg"]), e.get("indication", "ra"), e["type"]) for e in _rate_entries()]
    assert len(keys) == len(set(keys)), "a rate entry is repeated"
    for drug, dose, _, t in keys:
        assert drug in LIB.drugs and dose in LIB.doses(drug) and t in types, (drug, dose, t)


def test_every_non_ra_indication_of_a_drug_and_dose_has_every_type():
    """A drug and dose with rates for another indication (uc, psa) has all four programme types
    there, so a cohort of that indication can be simulated from the programme rates alone."""
    types = set(PROGRAMME_TYPES)
    combos = {(e["drug"], float(e["dose_mg"]), e["indication"]) for e in _rate_entries()
              if e.get("indication", "ra") != "ra"}
    assert combos, "expected rates for indications other than RA (tofacitinib UC and PsA)"
    for drug, dose, ind in combos:
        missing = [t for t in types if LIB.rate(drug, dose, ind, t) is None]
        assert not missing, (drug, dose, ind, missing)


def test_every_rate_has_a_source_population_or_is_explicitly_uncalibrated():
    """Every rate has a described source population (``applies_to`` names drug, dose, type and
    indication, RA by default), or is explicitly uncalibrated: an assumption rate whose
    population entry says there is no measured population, or a rate whose note says
    'uncalibrated'."""
    applies = {}
    for p in POPULATIONS:
        for a in p["applies_to"]:
            key = (a["drug"], float(a["dose_mg"]), a["type"], a.get("indication", "ra"))
            assert key not in applies, f"{key} is in the applies_to of {applies.get(key)} and {p['id']}"
            applies[key] = p
    rates = {(e["drug"], float(e["dose_mg"]), e["type"], e.get("indication", "ra")): e for e in _rate_entries()}
    assert set(applies) <= set(rates), f"populations for rates that do not exist: {set(applies) - set(rates)}"
    for key, e in rates.items():
        pop = LIB.source_population(*key)
        if pop is not None:
            assert pop.id == applies[key]["id"]
            assert 18 < pop.age_mean_years < 100 and pop.age_sd_years > 0 and pop.follow_up_years > 0
            assert 0 <= sum(pop.glucocorticoid_shares) <= 1
            assert all(0 <= s <= 1 for s in pop.shares.values())
            continue
        if key in applies:   # an assumption population entry: no measured population behind the rate
            p = applies[key]
            assert e["status"] == "assumption" and p["status"] == "assumption" and p.get("age_mean_years") is None, \
                f"rate {key} is uncalibrated without saying so"
        else:
            assert "uncalibrated" in str(e.get("note") or "").lower(), \
                f"{_label(e)}: a rate without a source population must say in its note that it is uncalibrated"


def test_engine_calibrates_uc_rates_to_the_uc_population():
    """A UC cohort on tofacitinib gets reference rates calibrated to the UC source population
    (provenance names it); PsA rates, which have none, are used as published and say so."""
    types = list(PROGRAMME_TYPES)
    for ind, dose in (("uc", 5), ("uc", 10), ("psa", 5)):
        sc = {"name": "x", "seed": 1, "n_patients": 10, "horizon_years": 1, "evidence": "programme_rates",
              "cohort": {"age": {"distribution": "truncated_normal", "mean_years": 42, "sd_years": 14},
                         "female": 0.45, "indication": ind},
              "treatment": {"drug": "tofacitinib", "dose_mg": dose}, "infections": {t: {} for t in types}}
        arm = build_arms(config.scenario_from_text(json.dumps(sc)), LIB)[0]
        j = schema.INDICATIONS.index(ind)
        for k, t in enumerate(types):
            published = LIB.rate("tofacitinib", dose, ind, t).value
            cal = arm.provenance["infections"][t]["rate_per_100py"][ind]["calibration"]
            if ind == "uc":
                assert cal["source_population"] == "tofacitinib_uc_octave_sustain", cal
                assert 100.0 * arm.base_rate[k, j] == pytest.approx(cal["reference_rate_per_100py"], rel=1e-15)
                assert cal["published_rate_per_100py"] == published
            else:
                assert isinstance(cal, str) and cal.startswith("none:"), cal
                assert 100.0 * arm.base_rate[k, j] == pytest.approx(published, rel=1e-15)
    md = parameters_markdown(LIB)
    psa_rows = [row for row in md.splitlines() if row.startswith("| tofacitinib | 5 | psa |")]
    assert len(psa_rows) == len(types) and all("(uncalibrated)" in row for row in psa_rows)


#: SELECT-PsA 2 (Mease 2021 Ann Rheum Dis 80:312-20, Table 4): patients with >= 1 event through
#: week 24, (n, N) per upadacitinib dose, as read
SELECT_PSA2_WEEK24 = {("serious_infection", 15): (1, 211), ("serious_infection", 30): (6, 218),
                      ("herpes_zoster", 15): (3, 211), ("herpes_zoster", 30): (8, 218),
                      ("tuberculosis", 15): (0, 211), ("tuberculosis", 30): (0, 218)}


def test_upadacitinib_psa_rates_are_the_select_psa2_week24_counts_converted():
    """Upadacitinib PsA serious infection, zoster and TB: first-event rate −ln(1 − n/N)/0.46 y
    (dropouts ignored), person-years n/rate, exact Poisson 95% CI on n over them; the PSA draws
    gamma(n) with the computed mean."""
    for (t, dose), (n, big_n) in SELECT_PSA2_WEEK24.items():
        e = next(r for r in _rate_entries() if (r["drug"], r["dose_mg"], r.get("indication"), r["type"])
                 == ("upadacitinib", dose, "psa", t))
        assert e["status"] == "computed" and e["doi"] == "10.1136/annrheumdis-2020-218870", _label(e)
        assert e["measure"] == "first_event" and e["events"] == n, _label(e)
        assert f"{n}/{big_n}" in e["note"], _label(e)
        rate = -math.log1p(-n / big_n) / 0.46 * 100.0
        assert e["rate_per_100py"] == round(rate, 2), _label(e)
        if n == 0:
            assert e["ci95_per_100py"] is None and distribution("rates", e).family == "fixed"
            continue
        py = n / rate * 100.0
        assert e["person_years"] == round(py, 1), _label(e)
        lo, hi = stats.chi2.ppf(0.025, 2 * n) / 2 / py * 100, stats.chi2.ppf(0.975, 2 * n + 2) / 2 / py * 100
        assert e["ci95_per_100py"] == [round(lo, 2), round(hi, 2)], _label(e)
        d = rate_distribution(e)
        assert d.family == "gamma" and d.params["shape"] == n
        assert d.frozen().mean() == pytest.approx(e["rate_per_100py"], rel=1e-12)


def test_upadacitinib_psa_zoster_and_serious_infection_higher_at_30mg():
    """SELECT-PsA 2 week 24: zoster 8/218 at 30 mg vs 3/211 at 15 mg, serious infection 6/218 vs
    1/211 (the authors report both higher at 30 mg; the CIs overlap). Published and calibrated."""
    for t in ("herpes_zoster", "serious_infection"):
        low, high = LIB.rate("upadacitinib", 15, "psa", t), LIB.rate("upadacitinib", 30, "psa", t)
        assert high.value > low.value, t
        ref = {}
        for dose in (15, 30):
            e = LIB.rate("upadacitinib", dose, "psa", t)
            pop = LIB.source_population("upadacitinib", dose, t, "psa")
            ref[dose] = calibrate(e.value, dict(e.extra)["measure"], pop,
                                  *library_hazard_model(LIB, t)).reference_rate_per_100py
        assert ref[30] > ref[15], t


def test_engine_calibrates_upadacitinib_psa_rates_to_the_select_psa2_arms():
    """A PsA cohort on upadacitinib gets reference rates calibrated to the SELECT-PsA 2 arm of its
    dose (opportunistic infection: to the RA population its borrowed rate was published in)."""
    types = list(PROGRAMME_TYPES)
    j = schema.INDICATIONS.index("psa")
    for dose in (15, 30):
        sc = {"name": "x", "seed": 1, "n_patients": 10, "horizon_years": 1, "evidence": "programme_rates",
              "cohort": {"age": {"distribution": "truncated_normal", "mean_years": 53, "sd_years": 12},
                         "female": 0.53, "indication": "psa"},
              "treatment": {"drug": "upadacitinib", "dose_mg": dose}, "infections": {t: {} for t in types}}
        arm = build_arms(config.scenario_from_text(json.dumps(sc)), LIB)[0]
        for k, t in enumerate(types):
            cal = arm.provenance["infections"][t]["rate_per_100py"]["psa"]["calibration"]
            expected = (f"upadacitinib_ra_global_{dose}mg" if t == "opportunistic_infection"
                        else f"upadacitinib_psa_select_psa2_{dose}mg")
            assert cal["source_population"] == expected, (dose, t, cal)
            assert cal["published_rate_per_100py"] == LIB.rate("upadacitinib", dose, "psa", t).value
            assert 100.0 * arm.base_rate[k, j] == pytest.approx(cal["reference_rate_per_100py"], rel=1e-15)


# ------------------------------------------------------------------ dose ordering
def _reference_rate(drug: str, dose: float, t: str) -> float:
    e = LIB.rate(drug, dose, "ra", t)
    pop = LIB.source_population(drug, dose, t)
    assert pop is not None
    return calibrate(e.value, dict(e.extra)["measure"], pop,
                     *library_hazard_model(LIB, t, drug, dose)).reference_rate_per_100py


@pytest.mark.parametrize("drug, low, high", [("baricitinib", 2, 4), ("upadacitinib", 15, 30)])
def test_herpes_zoster_rate_increases_with_dose(drug, low, high):
    """Published and calibrated (reference-patient) HZ rates: higher dose, higher rate."""
    assert LIB.rate(drug, high, "ra", "herpes_zoster").value > LIB.rate(drug, low, "ra", "herpes_zoster").value
    assert _reference_rate(drug, high, "herpes_zoster") > _reference_rate(drug, low, "herpes_zoster")


def test_filgotinib_paradoxical_serious_infection_order_is_documented_not_forced():
    """Long-term filgotinib SI: 100 mg 3.1 > 200 mg 1.6. Kept as published; both notes say so."""
    low, high = LIB.rate("filgotinib", 100, "ra", "serious_infection"), LIB.rate("filgotinib", 200, "ra",
                                                                                 "serious_infection")
    assert (low.value, high.value) == (3.1, 1.6)
    for entry in (low, high):
        note = entry.note.lower()
        assert "paradox" in note and "3.1" in note and "1.6" in note, entry.note


# ------------------------------------------------------------------ generated documentation
def test_docs_parameters_md_is_generated_from_the_library():
    path = REPO / "docs" / "parameters.md"
    assert path.read_text(encoding="utf-8") == parameters_markdown(LIB), (
        "docs/parameters.md is out of date with the library; regenerate it with "
        "`jaksim params --markdown > docs/parameters.md`")


def test_docs_reference_rates_are_the_ones_the_engine_simulates():
    """The calibrated reference rate docs/parameters.md shows (library hazard ratios) is the base
    rate the engine uses for a scenario that takes everything from the library, divided by the
    mean of the drug's time-on-treatment profile over the rate's window where it has one (as the
    docs say; the divisor is the one the provenance records)."""
    types = list(PROGRAMME_TYPES)
    for drug in PROGRAMME_DRUGS:
        for dose in LIB.doses(drug):
            sc = {"name": "lib", "seed": 1, "n_patients": 10, "horizon_years": 1, "evidence": "programme_rates",
                  "cohort": {"age": {"distribution": "truncated_normal", "mean_years": 55, "sd_years": 10},
                             "female": 0.5},
                  "treatment": {"drug": drug, "dose_mg": dose}, "infections": {t: {} for t in types}}
            arm = build_arms(config.scenario_from_text(json.dumps(sc)), LIB)[0]
            for k, t in enumerate(types):
                pop = LIB.source_population(drug, dose, t)
                expected = (_reference_rate(drug, dose, t) if pop is not None
                            else LIB.rate(drug, dose, "ra", t).value)
                profile = arm.provenance["infections"][t].get("time_on_treatment")
                if profile is not None:
                    assert LIB.time_on_treatment_profile(drug, t) is not None
                    expected /= profile["normalisation"]["ra"]["mean_multiplier"]
                assert 100.0 * arm.base_rate[k, 0] == pytest.approx(expected, rel=1e-12), (drug, dose, t)


# ------------------------------------------------------------------ PSA distributions
def _ci_of(section: str, e: dict):
    return e.get("ci95_per_100py") if section == "rates" else e.get("ci95")


def _value_of(section: str, e: dict) -> float:
    key = {"rates": "rate_per_100py", "hazard_ratios": "hazard_ratio", "off_treatment_hazard_ratio": "hazard_ratio",
           "consequences": "probability", "discontinuation": "rate_per_100py", "mortality": "value"}[section]
    return float(e[key])


def _psa_entries():
    return [(e["section"], e) for e in LIB.entries() if e["section"] not in NOT_DRAWN]


def test_every_point_estimate_lies_in_its_ci():
    for section, e in _psa_entries():
        ci = _ci_of(section, e)
        if ci:
            assert ci[0] <= _value_of(section, e) <= ci[1], _label(e)


def test_psa_gamma_for_rates_with_events_and_person_years_has_the_published_mean():
    with_counts = [e for e in _rate_entries() if e.get("events") and e.get("person_years")]
    assert with_counts, "expected some rates with events and person-years (tofacitinib SI)"
    for e in with_counts:
        d = rate_distribution(e)
        assert d.family == "gamma" and d.params["shape"] == e["events"]
        assert d.frozen().mean() == pytest.approx(e["rate_per_100py"], rel=1e-12)
        assert d.frozen().std() / d.frozen().mean() == pytest.approx(1 / math.sqrt(e["events"]), rel=1e-12)


def test_psa_lognormal_quantiles_reproduce_the_reported_ci_exactly():
    checked = 0
    for section, e in _psa_entries():
        d = distribution(section, e)
        if d.family != "lognormal":
            continue
        ci = _ci_of(section, e)
        lo, hi = d.frozen().ppf([0.025, 0.975])
        assert (lo, hi) == (pytest.approx(ci[0], rel=1e-12), pytest.approx(ci[1], rel=1e-12)), _label(e)
        checked += 1
    assert checked >= 20
    # and for any CI, not only the library's
    for value, ci in ((1.64, [1.30, 2.07]), (0.1, [0.1, 0.2]), (7.0, [5.8, 8.4])):
        lo, hi = ratio_distribution(value, ci).frozen().ppf([0.025, 0.975])
        assert (lo, hi) == (pytest.approx(ci[0], rel=1e-12), pytest.approx(ci[1], rel=1e-12))


BETA_TOLERANCE = 0.05   # of the CI width


@pytest.mark.parametrize("alpha, beta", [(3, 40), (7, 93), (20, 180), (50, 50), (100, 1000)])
def test_psa_beta_quantiles_reproduce_the_ci_approximately(alpha, beta):
    """Beta by the method of moments matches mean and SD ((hi − lo)/3.92), not the quantiles, so
    it reproduces a CI only approximately. For a CI that is the 2.5/97.5% quantiles of a beta
    with α, β ≥ 3 the fitted quantiles are within 5% of the CI width of its bounds (largest
    found: 1.9% for Beta(3, 40))."""
    true = stats.beta(alpha, beta)
    ci = list(true.ppf([0.025, 0.975]))
    d = probability_distribution(float(true.mean()), ci)
    assert d.family == "beta"
    assert d.frozen().mean() == pytest.approx(true.mean(), rel=1e-12)
    lo, hi = d.frozen().ppf([0.025, 0.975])
    assert abs(lo - ci[0]) <= BETA_TOLERANCE * (ci[1] - ci[0])
    assert abs(hi - ci[1]) <= BETA_TOLERANCE * (ci[1] - ci[0])


def test_psa_beta_for_library_probabilities_with_a_ci():
    for e in LIB.data.get("consequences", []):
        d = distribution("consequences", e)
        if d.family != "beta":
            continue
        ci = e["ci95"]
        lo, hi = d.frozen().ppf([0.025, 0.975])
        assert abs(lo - ci[0]) <= BETA_TOLERANCE * (ci[1] - ci[0]) and abs(hi - ci[1]) <= BETA_TOLERANCE * (
            ci[1] - ci[0]), _label(e)


def test_psa_fixed_without_a_ci():
    fixed = 0
    for section, e in _psa_entries():
        d = distribution(section, e)
        if _ci_of(section, e) and not (section == "consequences" and _value_of(section, e) in (0.0, 1.0)):
            assert d.family != "fixed", _label(e)
            continue
        if section == "rates" and e.get("events") and e.get("person_years"):
            continue
        assert d.family == "fixed", _label(e)
        value = _value_of(section, e)
        f = d.frozen()
        assert f.mean() == value and f.std() == 0.0, _label(e)
        assert np.all(f.ppf([0.025, 0.5, 0.975]) == value), _label(e)
        fixed += 1
    assert fixed > 0


# ------------------------------------------------------------------ calibration
K = len(BINARY_COVARIATES)


def _population(**changes) -> SourcePopulation:
    base = SourcePopulation(id="test", age_mean_years=55.0, age_sd_years=12.0,
                            shares={"female": 0.8, "asia": 0.2, "prior_zoster": 0.05, "diabetes": 0.1,
                                    "zoster_vaccinated": 0.0},
                            glucocorticoid_shares=(0.4, 0.1, 0.0), follow_up_years=3.0)
    return dataclasses.replace(base, **changes)


HOMOGENEOUS = dict(age_sd_years=1e-6, shares={c: 0.0 for c in BINARY_COVARIATES},
                   glucocorticoid_shares=(0.0, 0.0, 0.0))


@pytest.mark.parametrize("measure", MEASURES)
def test_calibration_homogeneous_population_with_no_effects_gives_the_published_rate(measure):
    pop = _population(**HOMOGENEOUS)
    cal = calibrate(4.2, measure, pop, np.zeros(K), np.ones(3), 0.0, 55.0)
    assert cal.reference_rate_per_100py == pytest.approx(4.2, rel=1e-10)
    assert cal.mean_hazard_ratio == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("measure", MEASURES)
def test_calibration_population_of_reference_patients_gives_the_published_rate(measure):
    """Everybody is the reference patient (no covariate, no age effect): whatever the other
    hazard ratios, the reference rate is the published rate. (Patients age during exposure,
    so with an age effect nobody stays at the reference age.)"""
    log_hr, hr_gc, _, ref = library_hazard_model(LIB, "herpes_zoster")
    pop = _population(**HOMOGENEOUS, age_mean_years=ref - 1.5)
    cal = calibrate(3.7, measure, pop, log_hr, hr_gc, 0.0, ref)
    assert cal.mean_hazard_ratio == pytest.approx(1.0, abs=1e-6)
    assert cal.reference_rate_per_100py == pytest.approx(3.7, rel=1e-6)


@pytest.mark.parametrize("infection_type", ["serious_infection", "herpes_zoster"])
def test_calibration_all_events_reference_times_mean_hr_is_published(infection_type):
    model = library_hazard_model(LIB, infection_type)
    pop = _population()
    cal = calibrate(5.5, "all_events", pop, *model)
    hr, w = population_hazard_ratios(pop, *model)
    assert w.sum() == pytest.approx(1.0, rel=1e-14) and np.all(w > 0)
    assert cal.mean_hazard_ratio == pytest.approx(float(np.dot(w, hr)), rel=1e-14)
    assert cal.reference_rate_per_100py * cal.mean_hazard_ratio == pytest.approx(5.5, rel=1e-14)
    assert cal.mean_hazard_ratio > 1.0   # the population is riskier than the reference patient


@pytest.mark.parametrize("infection_type", ["serious_infection", "herpes_zoster"])
@pytest.mark.parametrize("published", [0.2, 3.5, 40.0])
def test_calibration_first_event_solution_reproduces_the_published_rate(infection_type, published):
    """Plug the solution back in: E[1 − e^{−bHT}] / E[(1 − e^{−bHT}) / (bH)] equals the published
    rate; with heterogeneity and depletion it is below b·E[H], so b exceeds the all-events b."""
    model = library_hazard_model(LIB, infection_type)
    pop = _population()
    cal = calibrate(published, "first_event", pop, *model)
    hr, w = population_hazard_ratios(pop, *model)
    lam = cal.reference_rate_per_100py / 100.0 * hr
    p = -np.expm1(-lam * pop.follow_up_years)
    assert 100.0 * np.dot(w, p) / np.dot(w, p / lam) == pytest.approx(published, rel=1e-9)
    all_events = calibrate(published, "all_events", pop, *model)
    assert cal.reference_rate_per_100py > all_events.reference_rate_per_100py


def test_calibration_rejects_an_unknown_measure_and_keeps_a_zero_rate():
    pop = _population()
    with pytest.raises(ValueError, match="first_event, all_events"):
        calibrate(1.0, "events", pop, np.zeros(K), np.ones(3), 0.0, 55.0)
    assert calibrate(0.0, "first_event", pop, np.zeros(K), np.ones(3), 0.0, 55.0).reference_rate_per_100py == 0.0


def test_exposure_age_factor_matches_numerical_integration():
    """The exact year-by-year sum equals a fine midpoint integral of exp(β(floor(a+t) − ref))
    (error of the 2e5-point midpoint rule below 1e-4 relative: a few jumps of size ≤ 7%)."""
    from jaksim.model.calibration import exposure_age_factor
    ages = np.array([18.0, 52.37, 69.999, 70.0, 88.5])
    beta, ref = np.log(1.64) / 10.0, 55.0
    for T in (0.46, 1.0, 2.665, 9.5):
        exact = exposure_age_factor(ages, T, beta, ref)
        t = (np.arange(200_000) + 0.5) * T / 200_000
        numeric = np.exp(beta * (np.floor(ages[:, None] + t[None, :]) - ref)).mean(axis=1)
        np.testing.assert_allclose(exact, numeric, rtol=1e-4)


def test_tuberculosis_background_incidence_scales_the_calibrated_rate_exactly():
    """low / medium / high multiply the drug's (calibrated) TB rate by setting rate / programme
    rate (Winthrop 2016: 0.02, 0.08, 0.75 vs 0.21 per 100 PY); other types refuse the key."""
    sc = {"name": "tb", "seed": 1, "n_patients": 10, "horizon_years": 1,
          "cohort": {"age": {"distribution": "truncated_normal", "mean_years": 55, "sd_years": 12}, "female": 0.8},
          "treatment": {"drug": "tofacitinib", "dose_mg": 10}, "infections": {"tuberculosis": {}},
          "arms": {"avg": {}, **{s: {"infections": {"tuberculosis": {"background_incidence": s}}}
                                 for s in ("low", "medium", "high")}}}
    arms = build_arms(config.scenario_from_text(json.dumps(sc)), LIB)
    base = arms[0].base_rate[0, 0]
    for arm, setting_rate in zip(arms[1:], (0.02, 0.08, 0.75), strict=False):
        assert arm.base_rate[0, 0] == pytest.approx(base * setting_rate / 0.21, rel=1e-14)
    bad = dict(sc, infections={"tuberculosis": {}, "herpes_zoster": {"background_incidence": "high"}})
    bad.pop("arms")
    with pytest.raises(Exception, match="background_incidence applies to the type 'tuberculosis' only"):
        build_arms(config.scenario_from_text(json.dumps(bad)), LIB)


def test_chronic_lung_disease_hazard_ratio_comes_from_the_library():
    """Serious infection: ORAL Surveillance HR 2.13 for chronic lung disease (tofacitinib 5 mg)."""
    sc = {"name": "cld", "seed": 1, "n_patients": 10, "horizon_years": 1,
          "cohort": {"age": {"distribution": "truncated_normal", "mean_years": 55, "sd_years": 12},
                     "female": 0.8, "chronic_lung_disease": 0.1},
          "treatment": {"drug": "tofacitinib", "dose_mg": 5}, "infections": {"serious_infection": {}}}
    arm = build_arms(config.scenario_from_text(json.dumps(sc)), LIB)[0]
    c = BINARY_COVARIATES.index("chronic_lung_disease")
    assert arm.log_hr[0, c] == pytest.approx(np.log(2.13), rel=1e-15)


def test_at_least_60_percent_of_library_values_are_read_or_computed():
    from jaksim.report.assumptions import library_status_counts
    counts = library_status_counts(LIB)
    total = {k: sum(c[k] for c in counts.values()) for k in ("read", "computed", "assumption")}
    share = (total["read"] + total["computed"]) / sum(total.values())
    assert share >= 0.60, (share, counts)


@pytest.mark.parametrize("path", sorted((REPO / "scenarios").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_resolved_value_of_a_shipped_scenario_is_labelled(path):
    """Every value a shipped scenario resolves says where it comes from: typed in the scenario,
    or a status (read, computed, assumption); no number is unlabelled."""
    from jaksim.model.spec import build_model
    from jaksim.report.assumptions import status_counts
    model = build_model(config.load_scenario(path), calibrate=False)

    def leaves(node, path=()):
        if isinstance(node, dict):
            if "status" in node or str(node.get("source", "")).startswith(("scenario file", "library")):
                return
            if "value" in node:
                raise AssertionError(f"unlabelled value at {'.'.join(map(str, path))}: {node}")
            for k, v in node.items():
                leaves(v, path + (k,))
    for arm in model.arms:
        leaves(arm.provenance)
    c = status_counts(model)
    assert c["read"] + c["computed"] > 0


#: (table, age, sex, qx) read in the published tables (quotes in each table's entry source):
#: ONS National life tables: UK, 2022-2024 sheet of nltuk198020223.xlsx; Destatis 12621-0001, 2022/24
PUBLISHED_QX = [
    ("uk_2022_2024", 0, "male", 0.004602), ("uk_2022_2024", 50, "male", 0.003711),
    ("uk_2022_2024", 100, "male", 0.402489), ("uk_2022_2024", 65, "female", 0.007943),
    ("uk_2022_2024", 80, "female", 0.037938),
    ("germany_2022_2024", 0, "male", 0.00338118), ("germany_2022_2024", 65, "male", 0.01543007),
    ("germany_2022_2024", 100, "male", 0.42042179), ("germany_2022_2024", 65, "female", 0.00829459),
    ("germany_2022_2024", 80, "female", 0.03774262),
]


@pytest.mark.parametrize("table,age,sex,qx", PUBLISHED_QX)
def test_national_life_tables_match_the_published_values(table, age, sex, qx):
    t = LIB.life_table(table)
    i = list(t.ages).index(age)
    assert (t.male_qx if sex == "male" else t.female_qx)[i] == qx
    meta = LIB.data["mortality"]["life_tables"][table]
    assert meta["country"] and meta["status"] == "read" and meta["citation"]
