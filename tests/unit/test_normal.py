"""The numba standard normal quantile (AS 241) against its paper and against scipy."""

import math

import numpy as np
import pytest
from numba import njit
from scipy import special

from jaksim.cohort import normal
from jaksim.cohort.normal import normal_quantile


@njit(cache=True)
def _quantiles(p):
    out = np.empty_like(p)
    for i in range(p.shape[0]):
        out[i] = normal_quantile(p[i])
    return out


def _mantissa(x: float) -> float:
    return x / 10.0 ** math.floor(math.log10(x))


@pytest.mark.parametrize("num, den, published", [
    ("A", "B", 55.8831928806149014439),
    ("C", "D", 49.33206503301610289036),
    ("E", "F", 47.52583317549289671629),
])
def test_coefficients_match_the_papers_transcription_hash_sums(num, den, published):
    """Wichura (1988) prints, per region, the sum of the coefficients' decimal mantissas to
    check a transcription; a mistyped digit beyond the 12th would still pass, which the
    comparison with scipy below catches."""
    coefs = getattr(normal, num) + getattr(normal, den)[1:]
    assert len(coefs) == 15
    assert sum(map(_mantissa, coefs)) == pytest.approx(published, rel=1e-14)


def test_agrees_with_scipy_ndtri_to_a_few_ulps_over_the_whole_range():
    rng = np.random.default_rng(20261125)
    p = np.concatenate([
        rng.random(200_000),                                  # central and intermediate
        10.0 ** -rng.uniform(1, 300, 20_000),                 # lower far tail
        1.0 - 10.0 ** -rng.uniform(1, 16, 20_000),            # upper tail (1 - p exact)
        [0.075, 0.5 - 0.425, 0.5 + 0.425, 0.5, np.exp(-25.0), 1e-300],  # region edges
    ])
    z, ref = _quantiles(p), special.ndtri(p)
    ulps = np.abs(z - ref) / np.spacing(np.maximum(np.abs(ref), 1e-300))
    assert np.all(np.isfinite(z))
    assert np.max(ulps) <= 16, np.max(ulps)          # measured: 7 ulps at most, near z = 0
    assert np.median(ulps) <= 1


def test_symmetry_monotonicity_and_edges():
    p = np.arange(1, 2**20) / 2**20                      # dyadic: 1 - p is exact
    z = _quantiles(p)
    assert np.all(np.diff(z) > 0)                       # monotone: inverse transform keeps order
    np.testing.assert_allclose(z, -_quantiles(1.0 - p), rtol=1e-15, atol=1e-15)
    assert normal_quantile(0.5) == 0.0
    assert normal_quantile(0.0) == -np.inf and normal_quantile(1.0) == np.inf
    assert np.isnan(normal_quantile(-0.1)) and np.isnan(normal_quantile(1.1))
    assert np.isnan(normal_quantile(np.nan))
    assert normal_quantile(0.975) == pytest.approx(1.959963984540054, rel=1e-15)
