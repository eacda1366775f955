"""PSA: reproducible draws whatever the order, threads or batching; draws follow the library's
distributions; CLI psa and report write the tables and figures."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from test_economics import ECON_SCENARIO

from jaksim import cli
from jaksim.run import psa
from jaksim.scenario import load as config


@pytest.fixture(scope="module")
def scenario():
    return config.scenario_from_text(ECON_SCENARIO).with_overrides(n_patients=400)


def test_same_seed_same_results_whatever_order_threads_and_batches(scenario):
    a = psa.run_psa(scenario, [0, 1, 2], threads=1)
    b = psa.run_psa(scenario, [2, 0, 1], threads=2)
    c = psa.run_psa(scenario, [1])
    assert a.outcomes.equals(b.outcomes) and a.parameters.equals(b.parameters) and a.cycles.equals(b.cycles)
    one = a.outcomes.filter(np.array(a.outcomes.column("draw").to_pylist()) == 1)
    assert one.equals(c.outcomes)
    assert c.parameters.equals(a.parameters.slice(1, 1))
    # draws differ from each other, and the reference arm's increment is zero by construction
    costs = a.outcomes.to_pandas().pivot(index="draw", columns="arm", values="costs")
    assert costs["none"].nunique() == 3


def test_drawn_parameters_follow_the_library_distributions(scenario):
    params = psa.parameters(scenario)
    names = {p.name for p in params}
    assert {"baseline.ra_herpes_zoster_bsrbr_nbdmard", "utility.decrements.herpes_zoster.decrement"} <= names
    assert any(n.startswith("relative_effect.") for n in names)
    assert not any(n.startswith("rate.") for n in names)          # programme rates: not in this evidence set
    n = 4000
    x = psa.draw_values(params, scenario.seed, range(n))
    assert np.array_equal(x[:5], psa.draw_values(params, scenario.seed, range(5)))
    # |mean − E| < 4.5 MC standard errors; tail shares at the 2.5/97.5% quantiles within 4.5 binomial SEs
    # (false-failure rate about 7e-6 per check, ~40 parameters × 3 checks)
    tail_se = np.sqrt(0.025 * 0.975 / n)
    for j, p in enumerate(params):
        sd = float(p.dist.std())
        assert abs(x[:, j].mean() - float(p.dist.mean())) < 4.5 * sd / np.sqrt(n), p.name
        assert abs((x[:, j] < p.dist.ppf(0.025)).mean() - 0.025) < 4.5 * tail_se, p.name
        assert abs((x[:, j] > p.dist.ppf(0.975)).mean() - 0.025) < 4.5 * tail_se, p.name


def test_draws_reach_the_model(scenario):
    params = psa.parameters(scenario)
    names = [p.name for p in params]
    point = [p.point for p in params]
    j = names.index("event_costs.serious_infection.hospitalised")
    lo, hi = list(point), list(point)
    lo[j], hi[j] = 1000.0, 100000.0
    blocks = None
    _, _, r_lo, blocks = psa._run_once(scenario, 0, *psa.libraries(params, lo), blocks)
    _, _, r_hi, _ = psa._run_once(scenario, 0, *psa.libraries(params, hi), blocks)
    assert r_hi["none"][0]["costs"] > r_lo["none"][0]["costs"]
    assert r_hi["none"][0]["qalys"] == r_lo["none"][0]["qalys"]      # same clocks: only costs move


@pytest.mark.slow
def test_cli_psa_and_report(tmp_path, scenario_writer):
    path = scenario_writer(ECON_SCENARIO)
    out = tmp_path / "psa"
    assert cli.main(["psa", str(path), "--draws", "4", "--n-patients", "300", "--out", str(out), "--one-way"]) == 0
    o = pq.read_table(out / "outcomes.parquet")
    assert o.num_rows == 4 * 3
    assert {"draw", "arm", "n_patients", "costs", "qalys", "life_years", "costs_undiscounted",
            "qalys_undiscounted", "costs_se", "events_herpes_zoster"} <= set(o.column_names)
    assert pq.read_table(out / "parameters.parquet").num_rows == 4
    cyc = pq.read_table(out / "cycles.parquet")
    assert cyc.num_rows == 4 * 3 * 4
    assert cli.main(["report", str(out)]) == 0
    assert (out / "report.html").stat().st_size > 0
    for name in ("ce_plane", "ceac", "evpi", "tornado_nmb_vaccine", "tornado_icer_vaccine"):
        for ext in ("png", "svg"):
            assert (out / "report_figures" / f"{name}.{ext}").stat().st_size > 0
    run = tmp_path / "run"
    assert cli.main(["run", str(path), "--n-patients", "300", "--out", str(run)]) == 0
    assert cli.main(["report", str(run)]) == 0
    assert (run / "report_figures" / "ce_plane.png").is_file()


def test_relative_effects_of_one_trial_are_drawn_jointly(scenario):
    """Contrasts sharing a trial arm are correlated as computed (Gaussian copula on the log
    scale); the correlation of the drawn log ratios is within 4.5 SE (1/sqrt(n)) of it."""
    from jaksim.run.psa_parameters import correlation
    params = psa.parameters(scenario.with_overrides(evidence="relative_effects"))
    groups: dict = {}
    for j, p in enumerate(params):
        if p.group is not None:
            groups.setdefault(p.group, []).append(j)
    joint = [idx for idx in groups.values() if len(idx) > 1]
    assert joint, "no trial with two drawn contrasts"
    n = 4000
    x = np.log(psa.draw_values(params, scenario.seed, range(n)))
    checked = 0
    for idx in joint:
        r = correlation([params[j] for j in idx])
        for a in range(len(idx)):
            for b in range(a + 1, len(idx)):
                got = np.corrcoef(x[:, idx[a]], x[:, idx[b]])[0, 1]
                assert abs(got - r[a, b]) < 4.5 / np.sqrt(n), (params[idx[a]].name, params[idx[b]].name, got, r[a, b])
                checked += abs(r[a, b]) > 0.05
    assert checked >= 1                    # at least one pair is really correlated


def test_programme_rates_evidence_draws_programme_rates(scenario):
    names = {p.name for p in psa.parameters(scenario.with_overrides(evidence="programme_rates"))}
    assert "rate.tofacitinib.5mg.ra.herpes_zoster" in names
    assert not any(n.startswith(("baseline.", "relative_effect.")) for n in names)


def test_values_the_scenario_fixes_are_not_psa_parameters(scenario):
    """A value every arm sets in the scenario file is fixed: no PSA column (issue 15)."""
    before = {p.name for p in psa.parameters(scenario)}
    assert {"hazard_ratio.herpes_zoster.diabetes", "utility.decrements.herpes_zoster.decrement"} <= before
    text = ECON_SCENARIO.replace("  herpes_zoster: {}", "  herpes_zoster: {hazard_ratios: {diabetes: 2.0}}")
    assert text != ECON_SCENARIO, "the scenario text changed: update this test"
    fixed = config.scenario_from_text(text).with_overrides(n_patients=400)
    after = {p.name for p in psa.parameters(fixed)}
    assert "hazard_ratio.herpes_zoster.diabetes" not in after
    assert before - after == {"hazard_ratio.herpes_zoster.diabetes"}


def test_economics_values_the_scenario_fixes_are_not_psa_parameters(scenario):
    name = "event_costs.herpes_zoster.hospitalised"
    assert name in {p.name for p in psa.parameters(scenario)}
    text = ECON_SCENARIO.replace("economics: {discount: nice}",
                                 "economics: {discount: nice, events: {herpes_zoster: {cost_hospitalised: 2500}}}")
    fixed = config.scenario_from_text(text).with_overrides(n_patients=400)
    assert name not in {p.name for p in psa.parameters(fixed)}


def test_evppi_command_on_a_psa_folder(scenario, tmp_path, capsys):
    result = psa.run_psa(scenario.with_overrides(n_patients=200), range(12))
    out = tmp_path / "psa"
    psa.write_psa(result, scenario, out)
    assert cli.main(["evppi", str(out), "--each", "--wtp", "20000"]) == 0
    text = capsys.readouterr().out
    assert "EVPPI per patient at 20,000 per QALY (12 draws)" in text
    assert cli.main(["evppi", str(out), "--parameter", "nosuch"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a PSA parameter of this folder: nosuch" in err[0]


def test_parameters_have_readable_labels():
    from jaksim.report.labels import parameter_label
    assert parameter_label("hazard_ratio.herpes_zoster.diabetes") == "Hazard ratio of diabetes, herpes zoster"
    assert parameter_label("event_costs.herpes_zoster.hospitalised", "GBP") == (
        "Cost per herpes zoster episode, hospitalised (GBP)")
    assert parameter_label("case_fatality_probability.serious_infection") == "P(case fatality | serious infection)"


def test_relative_effects_and_baselines_are_labelled_by_trial_and_arms():
    from jaksim.report.labels import parameter_label
    assert parameter_label("relative_effect.select_compare_hz_upa15_vs_ada") == (
        "Risk ratio, SELECT-COMPARE: herpes zoster, upadacitinib 15 mg vs adalimumab 40 mg")
    assert parameter_label("baseline.ra_herpes_zoster_bsrbr_nbdmard").startswith(
        "Baseline rate on csDMARD (per 100 PY), RA, herpes zoster")
    assert parameter_label("relative_effect.user_entry") == "Relative effect vs csDMARD: user entry"



def test_psa_on_worker_processes_equals_the_serial_psa(tmp_path):
    """Draws in batches on two spawned worker processes (finishing in any order, saved to the
    draw store as they come) give the serial PSA's tables exactly."""
    from pathlib import Path

    from jaksim.run import psa
    from jaksim.run.checkpoint import DrawStore
    from jaksim.scenario import load as config
    study = Path(__file__).resolve().parents[2] / "scenarios" / "ra_tofacitinib_zoster_vaccination.yaml"
    sc = config.load_scenario(study).with_overrides(n_patients=1500)
    draws = [3, 0, 2, 1, 4]
    serial = psa.run_psa(sc, draws, processes=1)
    done: list[int] = []
    pooled = psa.run_psa(sc, draws, processes=2, progress=done.append, store=DrawStore(tmp_path, sc))
    assert sum(done) == len(draws)
    assert sorted(p.name for p in tmp_path.glob("draw-*.json")) == [f"draw-{d}.json" for d in range(5)]
    for name in ("outcomes", "parameters", "cycles", "summary"):
        a, b = getattr(serial, name), getattr(pooled, name)
        assert a.num_rows > 0 and a.equals(b), name


def test_process_count():
    import os

    import pytest

    from jaksim.errors import JaksimError
    from jaksim.run.psa import MIN_DRAWS_PER_PROCESS, process_count
    cores = os.cpu_count() or 1
    assert process_count(None, 10, None) == 1                      # few draws: this process
    assert process_count(None, MIN_DRAWS_PER_PROCESS * cores, None) == (cores if cores > 1 else 1)
    assert process_count(3, 10, None) == 3 and process_count(None, 10_000, "local:2") == 0
    with pytest.raises(JaksimError, match="--processes 0 is out of range"):
        process_count(0, 10, None)


def test_pathway_and_frailty_values_are_psa_parameters_where_the_library_gives_them():
    """Latent TB and VZV values an arm takes from the library (with a CI) and library frailty
    variances are drawn; a value every arm gives in the scenario is not; a drawn pathway value
    makes the schedules per draw."""
    import json

    from jaksim.run.psa_parameters import parameters, shares_cohort
    from jaksim.scenario.load import scenario_from_text
    base = {"name": "p", "seed": 1, "n_patients": 100, "horizon_years": 2, "frailty": "library",
            "cohort": {"age": {"distribution": "truncated_normal", "mean_years": 50, "sd_years": 5,
                               "min_years": 40, "max_years": 60}, "female": 0.7},
            "treatment": {"drug": "tofacitinib", "dose_mg": 5},
            "infections": {"herpes_zoster": {}, "tuberculosis": {"background_incidence": "high"}},
            "economics": {"discount": "nice"},
            "arms": {"none": {"tb_screening": {"test": "none"}},
                     "igra": {"tb_screening": {"test": "igra", "prophylaxis": "9H"}}}}
    sc = scenario_from_text(json.dumps(base))
    names = {p.name for p in parameters(sc)}
    assert {"latent_tuberculosis.tests.igra.sensitivity", "latent_tuberculosis.prophylaxis.9H.efficacy",
            "frailty_variance.herpes_zoster"} <= names
    assert "latent_tuberculosis.prevalence.high" not in names        # no CI read: fixed
    assert not any(".tst." in n for n in names) and not shares_cohort(parameters(sc))
    base["arms"]["igra"]["tb_screening"].update(sensitivity=0.5, efficacy=0.7)
    base["frailty"] = "none"
    names = {p.name for p in parameters(scenario_from_text(json.dumps(base)))}
    assert "latent_tuberculosis.tests.igra.sensitivity" not in names and not any("frailty" in n for n in names)
    assert "latent_tuberculosis.prophylaxis.9H.efficacy" not in names
