"""Glucocorticoid bands, concomitant csDMARD and region (issue 13): the two-band form read as
the documented four-band mapping, region shares and the Asia flag they set, and file cohorts
that keep the user's joint distribution.

Statistical checks use fixed seeds and binomial z-tests with |z| < 4 (6.3e-5 each); the
false-failure rate of each test is stated in its docstring.
"""

from __future__ import annotations

import json

import numpy as np

from factories import model_of, simulate
from jaksim.scenario.schema import ASIAN_REGIONS, BINARY_COVARIATES, GLUCOCORTICOID_BANDS, REGIONS, Region, band_index

Z = 4.0


def _scenario(cohort: dict, hazard_ratios: dict, taper: list, n: int = 20_000) -> dict:
    return {"name": "covariates", "seed": 99, "n_patients": n, "horizon_years": 2,
            "cohort": {"age": {"distribution": "truncated_normal", "mean_years": 60, "sd_years": 12},
                       "female": 0.7, **cohort},
            "treatment": {"drug": "tofacitinib", "dose_mg": 5, "discontinuation_rate_per_100py": 0,
                          "glucocorticoid_taper": taper},
            "infections": {"x": {"rate_per_100py": 20.0, "hazard_ratios": hazard_ratios}},
            "mortality": {"rate_per_100py": 1.0, "case_fatality": {"x": 0}}}


def test_the_region_names_of_the_schema_are_the_kernel_codes():
    assert tuple(Region.__args__) == REGIONS and set(ASIAN_REGIONS) < set(REGIONS)
    assert GLUCOCORTICOID_BANDS == ("none", "up_to_5mg", "over_5_to_10mg", "over_10mg")
    assert band_index("below_7_5mg") == 1 and band_index("at_least_7_5mg") == 2 and band_index("over_10mg") == 3


def test_the_two_band_form_is_read_as_the_mapped_four_band_form():
    """< 7.5 mg/day is the <= 5 band, >= 7.5 mg/day the > 5-10 band (shares, shares by age,
    taper steps); a two-band >= 7.5 hazard ratio stands for both bands above 5 mg/day. The same
    patients then have the same bands and the same events, bit for bit."""
    old = _scenario({"glucocorticoid": {"below_7_5mg": 0.4, "at_least_7_5mg": 0.15,
                                        "by_age": [{"from_age_years": 65, "below_7_5mg": 0.5, "at_least_7_5mg": 0.2}]}},
                    {"glucocorticoid_below_7_5mg": 1.4, "glucocorticoid_7_5mg_or_more": 2.5},
                    [{"at_weeks": 12, "max_band": "below_7_5mg"}])
    new = _scenario({"glucocorticoid": {"up_to_5mg": 0.4, "over_5_to_10mg": 0.15,
                                        "by_age": [{"from_age_years": 65, "up_to_5mg": 0.5, "over_5_to_10mg": 0.2}]}},
                    {"glucocorticoid_up_to_5mg": 1.4, "glucocorticoid_over_5_to_10mg": 2.5,
                     "glucocorticoid_over_10mg": 2.5},
                    [{"at_weeks": 12, "max_band": "up_to_5mg"}])
    m_old, c_old, r_old = simulate(old, 20_000)
    m_new, c_new, r_new = simulate(new, 20_000)
    assert np.array_equal(m_old.arms[0].hr_gc, m_new.arms[0].hr_gc)
    assert m_old.arms[0].hr_gc.tolist() == [[1.0, 1.4, 2.5, 2.5]]
    assert np.array_equal(m_old.arms[0].taper_band, m_new.arms[0].taper_band)
    assert np.array_equal(c_old.gc_band, c_new.gc_band) and set(np.unique(c_old.gc_band)) == {0, 1, 2}
    assert np.array_equal(r_old.counts, r_new.counts) and r_old.counts.sum() > 1000


def test_region_shares_set_the_region_and_the_asia_flag():
    """Each region's share: 5 binomial z-tests (3.2e-4); the Asia flag is exactly 'an Asian
    region'; the csDMARD share: one more z-test. Total false-failure rate 3.8e-4."""
    shares = {"north_america": 0.3, "eastern_europe": 0.2, "japan": 0.25, "china": 0.1, "other_asia": 0.15}
    n = 200_000
    model = model_of(_scenario({"region": shares, "concomitant_csdmard": 0.55}, {}, [], n=n))
    c = model.cohort.block(0, n)
    names = np.asarray(REGIONS)[c.region]
    for region, p in shares.items():
        z = (np.sum(names == region) - n * p) / np.sqrt(n * p * (1 - p))
        assert abs(z) < Z, (region, z)
    assert np.array_equal(c.column("asia") == 1, np.isin(names, ASIAN_REGIONS))
    z = (c.column("concomitant_csdmard").sum() - n * 0.55) / np.sqrt(n * 0.55 * 0.45)
    assert abs(z) < Z, z


def test_without_region_everybody_is_unspecified_and_asia_keeps_its_own_draws():
    """The one-flag form: region 0 (unspecified, hazard ratio 1) for all, the asia column from
    its own stream as before (the same patients are Asian with or without the region code)."""
    model = model_of(_scenario({"asia": 0.3}, {}, []))
    c = model.cohort.block(0, 5000)
    assert not c.region.any() and 0.25 < c.column("asia").mean() < 0.35
    assert model.arms[0].region_hr.tolist() == [[1.0] * len(REGIONS)]


def test_a_file_cohort_keeps_the_joint_distribution_of_its_rows(tmp_path):
    """Rows are resampled whole: every drawn (age, region, csDMARD, band) combination is a row
    of the file; two-band names are read as mapped; a named Asian region sets asia."""
    rows = [(41, "F", "japan", 1, "over_10mg"), (52, "M", "eastern_europe", 0, "below_7_5mg"),
            (67, "F", "rest_of_world", 1, "at_least_7_5mg"), (73, "M", "asia", 0, "none")]
    (tmp_path / "patients.csv").write_text("age,sex,region,concomitant_csdmard,glucocorticoid_band\n"
                                           + "".join(",".join(map(str, r)) + "\n" for r in rows))
    sc = _scenario({}, {}, [])
    sc["cohort"] = {"from_file": str(tmp_path / "patients.csv")}
    c = model_of(json.loads(json.dumps(sc))).cohort.block(0, 4000)
    expected = {41: ("japan", 1, 1, 3), 52: ("eastern_europe", 0, 0, 1), 67: ("unspecified", 0, 1, 2),
                73: ("unspecified", 1, 0, 0)}
    for a, (region, asia, csdmard, band) in expected.items():
        at = c.age == a
        assert at.sum() > 800
        assert set(np.asarray(REGIONS)[c.region[at]]) == {region}
        assert set(c.column("asia")[at]) == {asia} and set(c.column("concomitant_csdmard")[at]) == {csdmard}
        assert set(c.gc_band[at]) == {band}


def test_library_interactions_give_each_arm_its_treatment_s_hazard_ratio():
    """Age × treatment and chronic lung disease × treatment for serious infection (ORAL
    Surveillance, Table 3): tofacitinib 10 mg and adalimumab arms take their own entries, other
    arms the entry without a drug; an arm's scenario value still wins."""
    from jaksim.model.spec import build_model
    from jaksim.scenario.load import scenario_from_text
    sc = _scenario({}, {}, [])
    sc["infections"] = {"serious_infection": {}}
    sc["mortality"]["case_fatality"] = {}
    sc["arms"] = {"tofa5": {}, "tofa10": {"treatment": {"dose_mg": 10}},
                  "ada": {"treatment": {"drug": "adalimumab", "dose_mg": 40}},
                  "bari": {"treatment": {"drug": "baricitinib", "dose_mg": 4}},
                  "tofa10_given": {"treatment": {"dose_mg": 10},
                                   "infections": {"serious_infection": {"hazard_ratios": {"age_per_10_years": 1.2}}}}}
    model = build_model(scenario_from_text(json.dumps(sc)), calibrate=False)
    c = BINARY_COVARIATES.index("chronic_lung_disease")
    age = {a.name: round(float(np.exp(10 * a.age_log_hr[0])), 12) for a in model.arms}
    lung = {a.name: round(float(np.exp(a.log_hr[0, c])), 12) for a in model.arms}
    assert age == {"tofa5": 1.64, "tofa10": 1.74, "ada": 1.59, "bari": 1.64, "tofa10_given": 1.2}
    assert lung == {"tofa5": 2.13, "tofa10": 1.47, "ada": 1.85, "bari": 2.13, "tofa10_given": 1.47}
    prov = model.arms[2].provenance["infections"]["serious_infection"]["age_per_10_years"]
    assert prov["value"] == 1.59 and "ORAL Surveillance" in prov["citation"]


def test_a_gaussian_copula_correlates_characteristics_and_keeps_their_margins():
    """Latent normal correlations age–diabetes 0.3, diabetes–lung disease 0.25, lung disease–
    steroid band 0.15 (and others): each margin (2 shares, 3 band shares) and three joint
    probabilities, P(diabetes and lung disease) = Φ2(Φ⁻¹(0.15), Φ⁻¹(0.1); 0.25), P(any steroid
    and lung disease) and P(age > 55 and diabetes), are checked by binomial z-tests:
    8 × 6.3e-5 = 5.1e-4 false-failure rate."""
    from scipy.stats import multivariate_normal, norm
    n = 200_000
    variables = ["age", "diabetes", "chronic_lung_disease", "glucocorticoid"]
    matrix = [[1, 0.3, 0.2, 0.1], [0.3, 1, 0.25, 0], [0.2, 0.25, 1, 0.15], [0.1, 0, 0.15, 1]]
    cohort = {"age": {"distribution": "truncated_normal", "mean_years": 55, "sd_years": 12, "min_years": 18,
                      "max_years": 90},
              "diabetes": 0.15, "chronic_lung_disease": 0.1,
              "glucocorticoid": {"up_to_5mg": 0.3, "over_5_to_10mg": 0.15, "over_10mg": 0.05},
              "correlation": {"variables": variables, "matrix": matrix}}
    c = model_of(_scenario(cohort, {}, [], n=n)).cohort.block(0, n)
    dia, lung = c.column("diabetes") == 1, c.column("chronic_lung_disease") == 1
    on_gc = c.gc_band > 0

    def z_of(hits, p):
        return (np.sum(hits) - n * p) / np.sqrt(n * p * (1 - p))

    def both(p1, p2, rho):
        return float(multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf([norm.ppf(p1), norm.ppf(p2)]))

    lo, hi = norm.cdf((18 - 55) / 12), norm.cdf((90 - 55) / 12)
    p_old = 1 - (0.5 - lo) / (hi - lo)            # P(age > 55) under the truncated normal
    checks = [(dia, 0.15), (lung, 0.1), (c.gc_band == 1, 0.3), (c.gc_band == 2, 0.15), (c.gc_band == 3, 0.05),
              (dia & lung, both(0.15, 0.1, 0.25)), (on_gc & lung, both(0.5, 0.1, 0.15)),
              ((c.age > 55) & dia, both(p_old, 0.15, 0.3))]
    zs = [z_of(hits, p) for hits, p in checks]
    assert all(abs(z) < Z for z in zs), zs
    assert np.mean(dia & lung) > 1.5 * 0.15 * 0.1          # the copula does correlate (power check)


def test_a_copula_with_bad_matrix_is_refused(tmp_path, capsys):
    """One-line errors at the key: not positive definite, asymmetric, age bands with age."""
    from jaksim.cli import main
    cases = [([[1, 0.9, 0.9], [0.9, 1, -0.9], [0.9, -0.9, 1]], "not positive definite"),
             ([[1, 0.2, 0], [0.3, 1, 0], [0, 0, 1]], "must be symmetric")]
    for matrix, words in cases:
        sc = _scenario({"correlation": {"variables": ["diabetes", "female", "glucocorticoid"], "matrix": matrix}},
                       {}, [])
        path = tmp_path / "s.yaml"
        path.write_text(json.dumps(sc))
        assert main(["validate", str(path)]) == 2
        err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
        assert len(err) == 1 and words in err[0] and "cohort.correlation.matrix" in err[0], err
