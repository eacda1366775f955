"""EVPI and EVPPI (analysis/voi.py) on a linear-Gaussian case with closed forms.

Two strategies, incremental net benefit INB = b·θ + ε with θ ~ N(0, 1) and ε ~ N(0, σ²)
independent: EVPPI(θ) = E[max(0, bθ)] = b/√(2π); EVPI = E[max(0, INB)] = √(b² + σ²)/√(2π).
Draws are normal quantiles at (i + 0.5)/n (θ) and a fixed permutation of them (ε), so the
draws' own Monte Carlo error is below 1e-3 of the values and the remaining error is the
regression's, which the reported SE measures: the test allows 2.5 SE (deterministic inputs). The
EVPI, a plain mean over draws, is checked within 4 Monte Carlo SE (false-failure rate 6e-5).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from jaksim.analysis.voi import evpi, evppi, population_evpi

N = 600
THETA = special.ndtri((np.arange(N) + 0.5) / N)
EPS = np.random.default_rng(1).permutation(THETA)


@pytest.mark.parametrize("b,sigma", [(3.0, 2.0), (1.0, 3.0)])
def test_evppi_of_a_linear_gaussian_case(b, sigma):
    nb = np.column_stack([np.zeros(N), b * THETA + sigma * EPS])
    r = evppi(nb, THETA, ("theta",))
    assert abs(r.evppi - b / np.sqrt(2 * np.pi)) < 2.5 * r.se, r
    mc_se = np.maximum(nb[:, 1], 0).std() / np.sqrt(N)        # EVPI is a sample mean over the draws
    assert abs(r.evpi - np.sqrt(b * b + sigma * sigma) / np.sqrt(2 * np.pi)) < 4 * mc_se
    assert 0 <= r.evppi <= r.evpi


def test_evppi_of_noise_is_about_zero_and_never_above_evpi():
    nb = np.column_stack([np.zeros(N), 2.0 * EPS])
    r = evppi(nb, THETA, ("unrelated",))
    assert r.evppi < 0.05 * r.evpi and r.evppi <= r.evpi


def test_evpi_and_population_evpi():
    nb = np.array([[0.0, 1.0], [0.0, -1.0]])
    assert evpi(nb) == pytest.approx(0.5)
    assert population_evpi(0.5, 1000, 2, 0.035) == pytest.approx(0.5 * 1000 * (1 + 1 / 1.035))
