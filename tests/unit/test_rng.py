"""Quality of jaksim's counter-based generator (Squares64 keyed by seed, draw and stream).

Statistical checks use fixed keys and sample sizes, so each either always passes or always
fails; the false-failure rate stated for each test is the probability that a *perfect*
generator would fail it (per-assertion rates: |z| < 4 ⇒ 6.3e-5 two-sided, p-value > 1e-4 ⇒
1e-4; a test with m assertions states the Bonferroni total).
"""

from __future__ import annotations

import math
import zlib

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit
from scipy import stats

from jaksim.kernel import rng

N = 1 << 20
Z = 4.0          # two-sided normal bound: P(|z| >= 4) = 6.3e-5
ALPHA = 1e-4     # p-value bound for KS / chi-square tests


@njit(cache=True)
def _over_counters(key, patient_id, start, n):
    out = np.empty(n)
    for j in range(n):
        out[j] = rng.uniform(key, patient_id, start + j)
    return out


@njit(cache=True)
def _raw_bits(key, patient_id, n):
    out = np.empty(n, dtype=np.uint64)
    for j in range(n):
        ctr = (np.uint64(patient_id) << np.uint64(24)) | np.uint64(j)
        out[j] = rng.squares64(ctr, key)
    return out


def _squares64_numpy(ctr: np.ndarray, key: np.uint64) -> np.ndarray:
    """Squares64 (Widynski 2020, five rounds) in plain NumPy uint64 arithmetic (wraps mod 2**64)."""
    with np.errstate(over="ignore"):
        key = np.uint64(key)
        x = ctr * key
        y = x.copy()
        z = y + key
        s = np.uint64(32)
        x = x * x + y
        x = (x >> s) | (x << s)
        x = x * x + z
        x = (x >> s) | (x << s)
        x = x * x + y
        x = (x >> s) | (x << s)
        x = x * x + z
        t = x.copy()
        x = (x >> s) | (x << s)
        return t ^ ((x * x + y) >> s)


def _uniform_checks(u: np.ndarray) -> None:
    """Mean, variance (z-tests against 1/2, 1/12) and KS against U(0,1): 3 assertions."""
    n = u.size
    assert np.all(u > 0.0) and np.all(u < 1.0)
    z_mean = (u.mean() - 0.5) / math.sqrt(1.0 / 12.0 / n)
    assert abs(z_mean) < Z, z_mean
    # Var((U - 1/2)^2) = E(U - 1/2)^4 - (1/12)^2 = 1/80 - 1/144 = 1/180
    z_var = (np.mean((u - 0.5) ** 2) - 1.0 / 12.0) / math.sqrt(1.0 / 180.0 / n)
    assert abs(z_var) < Z, z_var
    p = stats.kstest(u, "uniform").pvalue
    assert p > ALPHA, p


def _lag1_z(a: np.ndarray, b: np.ndarray) -> float:
    """sqrt(n) × sample correlation: N(0,1) under independence (n large)."""
    return float(np.corrcoef(a, b)[0, 1] * math.sqrt(a.size))


def _pairs_chi2_p(a: np.ndarray, b: np.ndarray, bins: int = 16) -> float:
    """Chi-square test of independence/uniformity of (a, b) on a bins×bins grid."""
    ia = np.minimum((a * bins).astype(np.int64), bins - 1)
    ib = np.minimum((b * bins).astype(np.int64), bins - 1)
    observed = np.bincount(ia * bins + ib, minlength=bins * bins)
    return float(stats.chisquare(observed).pvalue)


KEY = rng.stream_key(20240601, "clock/herpes_zoster")


def test_unit_interval_is_open_at_both_ends():
    """The bit-to-float map stays strictly inside (0, 1) at the extreme inputs.

    Deterministic (false-failure rate 0). The earlier map ``(k53 + 0.5) * 2**-53`` returned
    exactly 1.0 for all-ones bits (``2**53 - 0.5`` rounds to ``2**53``).
    """
    lo = rng.unit_interval(np.uint64(0))
    hi = rng.unit_interval(np.uint64(2**64 - 1))
    assert 0.0 < lo < hi < 1.0
    assert lo == 2.0**-53 and hi == 1.0 - 2.0**-53
    assert -math.log1p(-hi) < math.inf
    # symmetric: u and 1 - u are both values of the map
    for bits in (0, 1 << 12, 12345 << 12, (2**52 - 2) << 12):
        k = bits >> 12
        u = rng.unit_interval(np.uint64(bits))
        assert u == (k + 0.5) * 2.0**-52
        assert 1.0 - u == rng.unit_interval(np.uint64((2**52 - 1 - k) << 12))


def test_squares64_matches_numpy_transcription():
    """The numba kernel computes the published Squares64 rounds with wrap-around uint64
    arithmetic (a NumPy transcription of the paper's C code agrees bit for bit), and
    ``uniform`` is ``unit_interval`` of it at counter ``patient_id * 2**24 + index``.
    Deterministic (false-failure rate 0)."""
    g = np.random.default_rng(5)
    keys = [KEY, rng.stream_key(0, "x"), np.uint64(0xFFFFFFFFFFFFFFFF), np.uint64(1)]
    pids = g.integers(0, rng.MAX_PATIENT_ID, 200)
    idx = g.integers(0, rng.MAX_INDEX, 200)
    ctr = (pids.astype(np.uint64) << np.uint64(24)) | idx.astype(np.uint64)
    for key in keys:
        ref = _squares64_numpy(ctr, key)
        got = np.array([rng.squares64(c, key) for c in ctr], dtype=np.uint64)
        np.testing.assert_array_equal(got, ref)
        u = np.array([rng.uniform(key, int(p), int(j)) for p, j in zip(pids, idx, strict=False)])
        np.testing.assert_array_equal(u, ((ref >> np.uint64(12)).astype(np.float64) + 0.5) * 2.0**-52)


def test_uniforms_over_counters():
    """One (key, patient), 2**20 consecutive counters: open interval, mean, variance, KS,
    lag-1 correlation, serial pairs chi-square (16×16).
    5 assertions: 3 × 6.3e-5 + 2 × 1e-4 ≈ 3.9e-4 false-failure rate."""
    u = _over_counters(KEY, 12345, 0, N)
    _uniform_checks(u)
    z = _lag1_z(u[:-1], u[1:])
    assert abs(z) < Z, z
    p = _pairs_chi2_p(u[0::2], u[1::2])
    assert p > ALPHA, p


def test_uniforms_over_patient_ids():
    """One key and counter index, 2**20 consecutive patient ids (the CRN axis): open interval,
    mean, variance, KS, lag-1 correlation between neighbouring ids, serial pairs chi-square.
    5 assertions: ≈ 3.9e-4 false-failure rate."""
    ids = np.arange(N, dtype=np.int64)
    u = rng.uniforms(KEY, ids, 0)
    _uniform_checks(u)
    z = _lag1_z(u[:-1], u[1:])
    assert abs(z) < Z, z
    assert _pairs_chi2_p(u[0::2], u[1::2]) > ALPHA


def test_uniforms_near_largest_patient_id():
    """Patient ids at the top of the counter layout (just below 2**40) still give uniforms:
    mean, variance, KS over 2**18 ids. 3 assertions: 3 × 6.3e-5 ≈ 1.9e-4."""
    ids = np.arange(rng.MAX_PATIENT_ID - (1 << 18), rng.MAX_PATIENT_ID, dtype=np.int64)
    u = rng.uniforms(KEY, ids, rng.MAX_INDEX - 1)
    _uniform_checks(u)


def test_streams_and_counters_are_uncorrelated():
    """For the same patients (2**20 ids): clock index 0 vs 1 of one stream, and two streams at
    the same counter (two types' clocks, and the same type under two seeds and two PSA draws)
    are uncorrelated (4 correlation z-tests) and jointly uniform (4 pairs chi-squares).
    8 assertions: 4 × 6.3e-5 + 4 × 1e-4 ≈ 6.5e-4 false-failure rate."""
    ids = np.arange(N, dtype=np.int64)
    a = rng.uniforms(KEY, ids, 0)
    others = [rng.uniforms(KEY, ids, 1),
              rng.uniforms(rng.stream_key(20240601, "clock/serious_infection"), ids, 0),
              rng.uniforms(rng.stream_key(20240602, "clock/herpes_zoster"), ids, 0),
              rng.uniforms(rng.stream_key(20240601, "clock/herpes_zoster", draw=1), ids, 0)]
    for b in others:
        z = _lag1_z(a, b)
        assert abs(z) < Z, z
        assert _pairs_chi2_p(a, b) > ALPHA


def test_every_output_bit_is_balanced():
    """Each of the 64 raw output bits over 2**20 counters is 1 with frequency 1/2.
    64 assertions at |z| < 4.5 (6.8e-6 each): Bonferroni total 4.4e-4."""
    bits = _raw_bits(KEY, 99, N)
    for b in range(64):
        ones = int(np.count_nonzero((bits >> np.uint64(b)) & np.uint64(1)))
        z = (ones - N / 2) / math.sqrt(N / 4)
        assert abs(z) < 4.5, (b, z)


def test_stream_keys_differ_by_name_seed_and_draw():
    """Keys of every (seed, draw, stream) in a grid are distinct, odd and reproducible;
    stream ids are CRC-32 of the name (stable across runs and Python versions).
    Deterministic (false-failure rate 0)."""
    names = ["clock/serious_infection", "clock/herpes_zoster", "clock/tuberculosis",
             "consequence/serious_infection", "consequence/herpes_zoster", "death/background",
             "treatment/discontinuation", "cohort/age", "cohort/female", "cohort/glucocorticoid"]
    seeds = [0, 1, 2, 3, 7, 2**31, 2**32 + 1, 2**62, 2**63 - 1, 20261125]
    keys = {}
    for s in seeds:
        for d in range(4):
            for nm in names:
                k = int(rng.stream_key(s, nm, d))
                assert k & 1
                assert k == int(rng.stream_key(s, nm, d))
                keys[(s, d, nm)] = k
    assert len(set(keys.values())) == len(keys)
    assert all(rng.stream_id(nm) == zlib.crc32(nm.encode()) for nm in names)
    # different keys give different numbers for the same patient and counter
    ids = np.arange(64, dtype=np.int64)
    u = {k: rng.uniforms(np.uint64(v), ids, 3).tobytes() for k, v in list(keys.items())[:200]}
    assert len(set(u.values())) == len(u)


def test_lazy_log_bound_on_every_float_scale():
    """``-log1p(-u) >= u`` for uniforms across all magnitudes jaksim can produce (the smallest
    2**-53, the largest 1 - 2**-53, 2**20 draws and a log-spaced grid), so a uniform at or
    above ``upper`` gives a target at or above ``upper``. Deterministic (rate 0)."""
    grid = np.concatenate([
        2.0 ** -np.arange(1, 54, dtype=np.float64),
        1.0 - 2.0 ** -np.arange(1, 54, dtype=np.float64),
        np.logspace(-16, -1e-16, 20001),
        _over_counters(KEY, 3, 0, N),
    ])
    assert np.all(-np.log1p(-grid) >= grid)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(u=st.floats(min_value=2.0**-53, max_value=1.0 - 2.0**-53))
def test_lazy_log_bound_hypothesis(u):
    """Same inequality at arbitrary doubles in jaksim's range. Deterministic (rate 0)."""
    assert -math.log1p(-u) >= u


@settings(max_examples=40, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**63 - 1), pid=st.integers(0, rng.MAX_PATIENT_ID - 1),
       index=st.integers(0, rng.MAX_INDEX - 1),
       upper=st.one_of(st.floats(0.0, 1.5), st.sampled_from([0.0, 1e-12, 0.5, 1.0, 2.0])))
def test_exponential_target_lazy_log_never_changes_an_outcome(seed, pid, index, upper):
    """``exponential_target`` returns the exact Exp(1) value ``-log1p(-u)`` of the uniform, or
    +inf only when that value is at least ``upper`` (so a cumulative hazard below ``upper``
    could never reach it). Deterministic (rate 0)."""
    key = rng.stream_key(seed, "clock/x")
    u = rng.uniform(key, pid, index)
    exact = -math.log1p(-u)
    e = rng.exponential_target(key, pid, index, upper)
    if math.isinf(e):
        assert u >= upper and exact >= upper
    else:
        assert e == exact and u < upper


def test_exponential_target_is_exponential():
    """Untruncated targets (upper = 2) over 2**18 patient ids: mean 1 (z-test, SD 1) and KS
    against Exp(1). 2 assertions: 6.3e-5 + 1e-4 ≈ 1.6e-4 false-failure rate."""
    n = 1 << 18
    e = np.array([rng.exponential_target(KEY, i, 7, 2.0) for i in range(n)])
    assert np.all(np.isfinite(e)) and np.all(e > 0)
    z = (e.mean() - 1.0) * math.sqrt(n)
    assert abs(z) < Z, z
    assert stats.kstest(e, "expon").pvalue > ALPHA
