"""Distributions declared in the scenario (issue 15): drawn with their declared marginals, jointly
where the scenario says so, or taken row by row from a draws file; errors are one located line.

Statistical checks use n = 4000 draws: |mean − E| < 4.5 MC SE and tail shares at the declared
2.5/97.5% quantiles within 4.5 binomial SE (false-failure rate about 7e-6 per check); the sample
correlation of jointly drawn log values within 4.5/√n of the declared one (same rate).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from jaksim.cli import main
from jaksim.errors import ScenarioError
from jaksim.run import psa
from jaksim.scenario.load import scenario_from_text

ROOT = Path(__file__).resolve().parents[2]
VACC = (ROOT / "scenarios" / "ra_tofacitinib_zoster_vaccination.yaml").read_text()
UPTAKE = "arms.rzv_all_before_start.vaccination.uptake"


def _with(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def _scenario(extra: str = "", uptake: str = "{value: 0.9, distribution: {beta: {mean: 0.9, sd: 0.05}}}"):
    text = _with(VACC, "uptake: 0.9", f"uptake: {uptake}")
    return scenario_from_text(text + extra).with_overrides(n_patients=300)


def test_declared_distribution_is_a_psa_parameter_with_its_marginal():
    sc = _scenario(uptake="{value: 0.9, distribution: {beta: {mean: 0.85, sd: 0.05}}}")
    params = psa.parameters(sc)
    p = next(p for p in params if p.name == UPTAKE)
    assert p.library == "scenario" and p.point == 0.9 and p.family == "beta"
    n = 4000
    x = psa.draw_values(params, sc.seed, range(n), sc)[:, params.index(p)]
    assert abs(x.mean() - 0.85) < 4.5 * 0.05 / np.sqrt(n)
    se = np.sqrt(0.025 * 0.975 / n)
    assert abs((x < p.dist.ppf(0.025)).mean() - 0.025) < 4.5 * se
    assert abs((x > p.dist.ppf(0.975)).mean() - 0.025) < 4.5 * se
    fixed = psa.parameters(scenario_from_text(VACC).with_overrides(n_patients=300))
    assert UPTAKE not in {q.name for q in fixed}          # a value without a distribution is fixed


@pytest.mark.parametrize("family,spec", [
    ("gamma", "{gamma: {mean: 150, sd: 30}}"), ("lognormal", "{lognormal: {ci95: [100, 200]}}"),
    ("normal", "{normal: {mean: 150, sd: 10}}"), ("uniform", "{uniform: {min: 100, max: 200}}"),
    ("triangular", "{triangular: {min: 100, mode: 120, max: 200}}"),
])
def test_every_family_draws_its_declared_mean(family, spec):
    text = _with(VACC, "economics:\n", f"economics:\n  vaccine_cost_per_dose: {{value: 150, distribution: {spec}}}\n")
    sc = scenario_from_text(text).with_overrides(n_patients=300)
    params = psa.parameters(sc)
    j = next(i for i, p in enumerate(params) if p.name == "economics.vaccine_cost_per_dose")
    n = 4000
    x = psa.draw_values(params, sc.seed, range(n), sc)[:, j]
    d = params[j].dist
    assert params[j].family == family
    assert abs(x.mean() - float(d.mean())) < 4.5 * float(d.std()) / np.sqrt(n)


def test_declared_correlation_of_two_parameters():
    extra = ("\npsa:\n  correlations:\n    - parameters: [" + UPTAKE + ", economics.vaccine_cost_per_dose]\n"
             "      correlation: [[1, 0.6], [0.6, 1]]\n")
    text = _with(VACC, "economics:\n", "economics:\n  vaccine_cost_per_dose: {value: 150, distribution: "
                                       "{lognormal: {ci95: [100, 220]}}}\n")
    sc = scenario_from_text(_with(text, "uptake: 0.9", "uptake: {value: 0.9, distribution: {normal: "
                                                       "{mean: 0.9, sd: 0.03}}}") + extra).with_overrides(n_patients=300)
    params = psa.parameters(sc)
    names = [p.name for p in params]
    n = 4000
    x = psa.draw_values(params, sc.seed, range(n), sc)
    a, b = x[:, names.index(UPTAKE)], np.log(x[:, names.index("economics.vaccine_cost_per_dose")])
    assert abs(np.corrcoef(a, b)[0, 1] - 0.6) < 4.5 / np.sqrt(n)


def test_draws_file_is_used_row_by_row(tmp_path):
    draws = tmp_path / "draws.csv"
    draws.write_text(f"draw,{UPTAKE}\n0,0.5\n1,0.6\n2,0.7\n")
    text = _with(VACC, "uptake: 0.9", "uptake: {value: 0.9, distribution: {beta: {mean: 0.9, sd: 0.05}}}")
    path = tmp_path / "s.yaml"
    path.write_text(text + "\npsa: {draws_file: draws.csv}\n")
    from jaksim.scenario.load import load_scenario
    sc = load_scenario(path).with_overrides(n_patients=300)
    params = psa.parameters(sc)
    j = [p.name for p in params].index(UPTAKE)
    assert psa.draw_values(params, sc.seed, [0, 1, 2], sc)[:, j].tolist() == [0.5, 0.6, 0.7]
    with pytest.raises(ScenarioError, match="draw 5 needs row 5"):
        psa.draw_values(params, sc.seed, [5], sc)


def test_drawn_uptake_reaches_the_simulation(tmp_path):
    """Same library values, same clocks: the draw's uptake alone changes who is vaccinated."""
    sc = _scenario(uptake="{value: 0.9, distribution: {uniform: {min: 0.2, max: 1.0}}}")
    params = psa.parameters(sc)
    j = [p.name for p in params].index(UPTAKE)
    costs = []
    for uptake in (0.2, 1.0):
        vals = [p.point for p in params]
        vals[j] = uptake
        lib, econ = psa.libraries(params, vals)
        drawn = psa.scenario_of_draw(sc, params, vals)
        assert next(a for a in drawn.arms if a.name == "rzv_all_before_start").vaccination.uptake == uptake
        assert drawn.n_patients == sc.n_patients          # the command line's overrides are kept
        _, _, res, _ = psa._run_once(drawn, 0, lib, econ, None)
        costs.append(res["rzv_all_before_start"][0]["costs"] - res["no_vaccination"][0]["costs"])
    assert costs[1] > costs[0]


def test_psa_with_a_declared_distribution_runs_from_the_command_line(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(_with(VACC, "uptake: 0.9", "uptake: {value: 0.9, distribution: {uniform: {min: 0.2, max: 1.0}}}"))
    out = tmp_path / "psa"
    assert main(["psa", str(path), "--draws", "3", "--n-patients", "300", "--out", str(out)]) == 0
    import pyarrow.parquet as pq
    drawn = pq.read_table(out / "parameters.parquet").column(UPTAKE).to_pylist()
    assert len(set(drawn)) == 3 and all(0.2 <= x <= 1.0 for x in drawn)
    info = pq.read_table(out / "parameter_info.parquet").to_pylist()
    assert any(r["parameter"] == UPTAKE and r["status"] == "scenario" for r in info)


@pytest.mark.parametrize("uptake,words,where", [
    ("{value: 0.9, distribution: {beta: {mean: 0.9}}}", "give either mean and sd", "distribution.beta"),
    ("{value: 0.9, distribution: {beta: {mean: 0.9, sd: 0.5}}}", "too large for a beta", "distribution.beta"),
    ("{value: 0.9, distribution: {}}", "exactly one family", "distribution"),
    ("{value: 0.9, distribution: {poisson: {mean: 1}}}", "poisson", "distribution"),
    ("{value: yes, distribution: {normal: {mean: 1, sd: 1}}}", "must be a number", "value"),
])
def test_bad_distribution_is_one_located_line(tmp_path, capsys, uptake, words, where):
    path = tmp_path / "s.yaml"
    path.write_text(_with(VACC, "uptake: 0.9", f"uptake: {uptake}"))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0] and f"vaccination.uptake.{where}" in err[0], err
