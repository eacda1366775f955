"""Calibration roots kept between processes (model/kept_roots.py): the kept root is the solver's
root bit for bit, any change of the problem gives another file, a damaged file is solved
again, ``JAKSIM_CACHE_DIR=`` (empty) turns keeping off, and only ``keeping_roots()`` (``jaksim
run``) keeps roots at all."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from jaksim.library import cache as library_cache
from jaksim.model import calibration
from jaksim.model.kept_roots import keeping_roots, kept_root

SOURCE = Path(calibration.__file__)


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(library_cache.ENV_VAR, str(folder))
    calibration._calibrate.cache_clear()
    with keeping_roots():
        yield folder
    calibration._calibrate.cache_clear()


def _problem(target: float = 0.03):
    """A first-event calibration problem as calibration._solve poses it (nodes, weights, bracket)."""
    pop = calibration.SourcePopulation("test population", 55.0, 12.0, {"female": 0.8}, (0.3, 0.1, 0.0), 2.5)
    log_hr = np.zeros(len(calibration.BINARY_COVARIATES))
    log_hr[0] = np.log(0.8)
    return pop, log_hr, np.array([1.0, 1.3, 2.1, 2.6]), 0.03, 55.0


def test_the_kept_root_is_the_solver_root_bit_for_bit(cache, monkeypatch):
    from scipy import optimize
    pop, log_hr, hr_gc, age_log_hr, ref_age = _problem()
    first = calibration.calibrate(2.5, "first_event", pop, log_hr, hr_gc, age_log_hr, ref_age)
    assert len(list(cache.glob("root-*.json"))) == 1
    # the same problem solved directly by brentq, as before kept roots existed
    hr, w = calibration.population_hazard_ratios(pop, log_hr, hr_gc, age_log_hr, ref_age)
    target, T = 0.025, pop.follow_up_years
    mean_hr = float(np.dot(w, hr))

    def excess(b):
        p = -np.expm1(-b * hr * T)
        return float(np.dot(w, p) / np.dot(w, p / (b * hr))) - target
    direct = optimize.brentq(excess, target / mean_hr / 100.0, target / mean_hr * 100.0, xtol=1e-14, rtol=1e-12)
    assert first.reference_rate_per_100py == 100.0 * direct
    # a new process (caches cleared) reads the root: brentq is not called, the result is identical
    calibration._calibrate.cache_clear()
    monkeypatch.setattr(optimize, "brentq", lambda *a, **k: pytest.fail("the kept root was not used"))
    again = calibration.calibrate(2.5, "first_event", pop, log_hr, hr_gc, age_log_hr, ref_age)
    assert again == first


def test_a_changed_problem_gets_its_own_root(cache):
    pop, log_hr, hr_gc, age_log_hr, ref_age = _problem()
    a = calibration.calibrate(2.5, "first_event", pop, log_hr, hr_gc, age_log_hr, ref_age)
    b = calibration.calibrate(2.5, "first_event", pop, log_hr, hr_gc * 1.01, age_log_hr, ref_age)
    c = calibration.calibrate(2.6, "first_event", pop, log_hr, hr_gc, age_log_hr, ref_age)
    # a frailty variance changes the problem (first events fall below all events): its own root
    d = calibration.calibrate(2.5, "first_event", pop, log_hr, hr_gc, age_log_hr, ref_age, 0.42)
    assert len(list(cache.glob("root-*.json"))) == 4
    rates = {x.reference_rate_per_100py for x in (a, b, c, d)}
    assert len(rates) == 4 and d.reference_rate_per_100py > a.reference_rate_per_100py


def test_every_input_is_in_the_key(cache):
    """Same function, other bracket / tolerance / array bytes / source: another file."""
    calls = []

    def solve():
        calls.append(1)
        return 0.5
    x, w = np.linspace(0.1, 1.0, 5), np.full(5, 0.2)
    base = (0.1, 2.0, 0.0, 1.0, 1e-14, 1e-12)
    for scalars, arrays, source in [(base, (x, w), SOURCE), (base, (x, w), SOURCE),
                                    (base[:-1] + (1e-11,), (x, w), SOURCE), (base, (x, w[::-1] * 1.5), SOURCE),
                                    (base, (x.astype(np.float32), w), SOURCE),
                                    (base, (x, w), Path(library_cache.__file__))]:
        assert kept_root(solve, source, scalars, arrays) == 0.5
    assert len(calls) == 5          # the second call was the only one read from a file
    assert len(list(cache.glob("root-*.json"))) == 5


@pytest.mark.parametrize("damage", ['{"arrays": [["x"]]}', '{"arrays": [[1e400]]}', "not json",
                                    '{"arrays": [[0.1, 0.2]]}', '{"root": 0.5}'])
def test_a_damaged_file_is_solved_again_and_rewritten(cache, damage):
    x = np.ones(3)
    assert kept_root(lambda: 0.25, SOURCE, (1.0,), (x,)) == 0.25
    (kept,) = cache.glob("root-*.json")
    kept.write_text(damage)
    assert kept_root(lambda: 0.25, SOURCE, (1.0,), (x,)) == 0.25
    assert kept_root(lambda: pytest.fail("not read"), SOURCE, (1.0,), (x,)) == 0.25


def test_keeping_off_or_unwritable_still_solves(tmp_path, monkeypatch):
    monkeypatch.setenv(library_cache.ENV_VAR, "")
    with keeping_roots():
        assert kept_root(lambda: 0.75, SOURCE, (1.0,), ()) == 0.75
        assert not any(tmp_path.iterdir())
        blocker = tmp_path / "file"
        blocker.write_text("not a folder")
        monkeypatch.setenv(library_cache.ENV_VAR, str(blocker / "sub"))
        assert kept_root(lambda: 0.75, SOURCE, (1.0,), ()) == 0.75


def test_only_inside_keeping_roots(tmp_path, monkeypatch):
    """PSA draws, sweeps and the API neither read nor write kept roots; ``jaksim run`` keeps them."""
    monkeypatch.setenv(library_cache.ENV_VAR, str(tmp_path / "cache"))
    assert kept_root(lambda: 0.75, SOURCE, (1.0,), ()) == 0.75
    assert not (tmp_path / "cache").exists()
    with keeping_roots():
        assert kept_root(lambda: 0.75, SOURCE, (1.0,), ()) == 0.75
    assert kept_root(lambda: 0.5, SOURCE, (1.0,), ()) == 0.5      # the kept 0.75 is not read outside
    assert len(list((tmp_path / "cache").glob("root-*.json"))) == 1


def test_jaksim_run_keeps_its_roots_and_the_api_does_not(tmp_path, monkeypatch):
    from jaksim import api
    from jaksim.cli import main
    scenario = Path(__file__).resolve().parents[2] / "scenarios" / "ra_tofacitinib_5mg.yaml"   # calibrates
    monkeypatch.setenv(library_cache.ENV_VAR, str(tmp_path / "cache"))
    calibration._calibrate.cache_clear()
    api.run(scenario, n_patients=200)
    assert not list((tmp_path / "cache").glob("root-*.json"))
    calibration._calibrate.cache_clear()
    assert main(["run", str(scenario), "--n-patients", "200", "--out", str(tmp_path / "run")]) == 0
    assert list((tmp_path / "cache").glob("root-*.json"))
    calibration._calibrate.cache_clear()
