"""Synthetic cohorts, compiled: one parallel pass draws every patient's characteristics.

The numba part of :class:`jaksim.cohort.patients.Synthesiser`, imported when the first block
of patients is made, so that resolving a scenario (``jaksim validate``) needs no numba.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from jaksim.cohort.normal import central_quantile, in_central_region, normal_quantile
from jaksim.kernel.atomic import fetch_add
from jaksim.kernel.jit import JIT
from jaksim.kernel.rng import uniform

# a synthetic cohort's streams "cohort/<name>", in the order of Synthesiser.keys
_AGE, _AGE_BAND, _GC, _INDICATION, _REGION, _FIRST_COVARIATE = 0, 1, 2, 3, 4, 5
_ASIA = 1         # column of the asia covariate (set by the region when regions are drawn)


_BLOCK = 4096
#: kinds of a copula variable (``Synthesiser``): age, glucocorticoid band, binary characteristic
_KIND_AGE, _KIND_GC, _KIND_BINARY = 0, 1, 2


@njit(**JIT)
def _copula(u, m, rows, kind, chol):
    """In place: the copula streams' uniforms of a block, correlated (see ``synthesise``)."""
    n_cop = rows.shape[0]
    z = np.empty(n_cop)
    for j in range(m):
        for a in range(n_cop):
            z[a] = normal_quantile(u[rows[a], j])
        for a in range(n_cop):
            x = 0.0
            for b in range(a + 1):
                x += chol[a, b] * z[b]
            v = 0.5 * math.erfc(-x / math.sqrt(2.0))
            u[rows[a], j] = 1.0 - v if kind[a] == _KIND_BINARY else v


#: helpers of ``synthesise``, inlined into its parallel block loop (they may allocate)
_INLINE = {**JIT, "inline": "always"}


# indices ``np.uint64(lo + j)``: numba wraps negative signed indices around (a select and the array's
# shape at each access), and these are never negative


@njit(**_INLINE)
def _ages(age, lo, m, ua, ub, age_mode, age_offset, age_scale, age_par, band_cum, band_lo, band_hi):
    """Ages of patients lo..lo+m-1 from their age (and age-band) uniforms (see ``synthesise``)."""
    if age_mode == 0:
        # the quantile in two loops: the central formula for all (vectorised), then the
        # tails (about 15% of draws) with the full function
        z = np.empty(m)
        for j in range(m):
            ua[j] = age_offset + age_scale * ua[j]
            z[j] = central_quantile(ua[j])
        for j in range(m):
            if not in_central_region(ua[j]):
                z[j] = normal_quantile(ua[j])
        for j in range(m):
            age[np.uint64(lo + j)] = min(max(age_par[0] + age_par[1] * z[j], age_par[2]), age_par[3])
    else:
        for j in range(m):
            b = 0
            while b < band_cum.shape[0] - 1 and ub[j] >= band_cum[b]:
                b += 1
            age[np.uint64(lo + j)] = band_lo[b] + ua[j] * (band_hi[b] - band_lo[b])


@njit(**_INLINE)
def _glucocorticoid_bands(gc, lo, m, age, ug, gc_from_age, gc_cum, gc_in_copula):
    """Glucocorticoid bands of patients lo..lo+m-1: the age row's cumulative shares (see ``synthesise``)."""
    n_bands = gc_cum.shape[1]
    for j in range(m):        # row r: the last whose from-age <= age (from-ages ascending)
        a = age[np.uint64(lo + j)]
        r = 0
        for rr in range(1, gc_from_age.shape[0]):
            r += a >= gc_from_age[rr]
        ugj = ug[j]
        if gc_in_copula:      # rotate: none below 1 - (share of all bands), then bands ascending
            ugj += gc_cum[r, n_bands - 1]
            if ugj >= 1.0:
                ugj -= 1.0
        b = 0                 # bands whose cumulative share ugj passes (shares >= 0: ascending), no branch
        for bb in range(n_bands):
            b += ugj >= gc_cum[np.uint64(r), bb]
        gc[np.uint64(lo + j)] = (b + 1) * (b < n_bands)


@njit(**_INLINE)
def _categories(out, lo, m, uc, cum, codes):
    """A category (indication, region) of patients lo..lo+m-1 by its cumulative shares ``cum``."""
    if codes.shape[0] == 1:
        for j in range(m):
            out[np.uint64(lo + j)] = codes[0]
        return
    for j in range(m):
        b = 0
        while b < cum.shape[0] - 1 and uc[j] >= cum[b]:
            b += 1
        out[np.uint64(lo + j)] = codes[b]


@njit(**JIT)
def _synthesise_block(blk, keys, use, ids, age_offset, age_scale, age_mode, age_par, band_cum, band_lo, band_hi,
                      cov_prob, gc_from_age, gc_cum, ind_cum, ind_codes, region_cum, region_codes, region_asian,
                      cop_rows, cop_kind, cop_chol, gc_in_copula, age, cov, cov_flat, gc, ind, region):
    """Block ``blk`` (patients blk*_BLOCK ..) of ``synthesise``, into its output arrays."""
    n = ids.shape[0]
    S = keys.shape[0]
    C = cov_prob.shape[0]
    lo = blk * _BLOCK
    hi = min(n, lo + _BLOCK)
    m = hi - lo
    # the block's rows zeroed by the thread that writes them (one memset of m*C bytes; the
    # whole table zeroed before the loop was a serial 3% of M0 with 2 threads)
    cov_flat[lo * C:hi * C] = 0
    u = np.empty((S, m))
    for s in range(S):
        if use[s]:
            key = keys[s]
            row = u[s]
            for j in range(m):
                row[j] = uniform(key, ids[np.uint64(lo + j)], 0)
    if cop_rows.shape[0] > 0:
        _copula(u, m, cop_rows, cop_kind, cop_chol)
    _ages(age, lo, m, u[_AGE], u[_AGE_BAND], age_mode, age_offset, age_scale, age_par, band_cum, band_lo,
          band_hi)
    for c in range(C):
        p = cov_prob[c]
        if p > 0.0:
            row = u[_FIRST_COVARIATE + c]
            for j in range(m):
                cov[np.uint64(lo + j), c] = row[j] < p
    _glucocorticoid_bands(gc, lo, m, age, u[_GC], gc_from_age, gc_cum, gc_in_copula)
    _categories(ind, lo, m, u[_INDICATION], ind_cum, ind_codes)
    if region_codes.shape[0] > 0:
        _categories(region, lo, m, u[_REGION], region_cum, region_codes)
        for j in range(m):
            cov[np.uint64(lo + j), _ASIA] = region_asian[np.uint64(region[np.uint64(lo + j)])]
    else:
        region[lo:hi] = 0


@njit(parallel=True, **JIT)
def synthesise(keys, use, ids, age_offset, age_scale, age_mode, age_par, band_cum, band_lo, band_hi,
               cov_prob, gc_from_age, gc_cum, ind_cum, ind_codes, region_cum, region_codes, region_asian,
               cop_rows, cop_kind, cop_chol, workers):
    """Age, binary covariates, glucocorticoid band (shares by age), indication and region of
    the patients ``ids``, in one parallel pass over blocks of patients (``workers`` threads, each
    taking the next block when done: ``kernel.atomic``).

    Stream s (row s of ``keys``, used where ``use[s]``) gives each patient one uniform
    (counter 0), drawn per block in a simple loop that the compiler vectorises (Squares64 is
    branch-free). ``age_mode`` 0: truncated normal by inverse transform (exact, monotone in
    the uniform): age = mean + sd·q, q the standard normal quantile at probability
    ``age_offset + age_scale·u``, clipped to [min, max] (``age_par``) against rounding.
    1: age bands: band from the band stream, age uniform within it. Glucocorticoid band b >= 1
    where the uniform falls in [cum[b-1], cum[b]) of the age row's cumulative band shares
    ``gc_cum`` (R, B-1), else 0 (none). Region: by its cumulative shares (``region_codes``
    empty: 0, unspecified); it sets the asia column (``region_asian`` by region code).
    Gaussian copula (``cop_rows`` non-empty): the uniforms of those streams become
    v = Φ(L z), z_a = Φ⁻¹(u_a), L the Cholesky factor of the correlation matrix; a binary
    characteristic then uses 1 − v (a high latent value means having it) and the glucocorticoid
    band (v + share of all bands) mod 1 (a high latent value means a high band).
    """
    n = ids.shape[0]
    C = cov_prob.shape[0]
    age = np.empty(n)
    cov = np.empty((n, C), dtype=np.uint8)     # zeroed block by block in the parallel loop
    cov_flat = cov.reshape(n * C)
    gc = np.empty(n, dtype=np.int8)
    ind = np.empty(n, dtype=np.int8)
    region = np.empty(n, dtype=np.int8)
    gc_in_copula = False
    for a in range(cop_rows.shape[0]):
        gc_in_copula = gc_in_copula or cop_kind[a] == _KIND_GC
    n_blocks = (n + _BLOCK - 1) // _BLOCK
    next_block = np.zeros(1, dtype=np.int64)
    for _ in prange(min(workers, n_blocks)):
        blk = fetch_add(next_block, 0, 1)
        while blk < n_blocks:
            _synthesise_block(blk, keys, use, ids, age_offset, age_scale, age_mode, age_par, band_cum, band_lo,
                              band_hi, cov_prob, gc_from_age, gc_cum, ind_cum, ind_codes, region_cum, region_codes,
                              region_asian, cop_rows, cop_kind, cop_chol, gc_in_copula, age, cov, cov_flat, gc, ind,
                              region)
            blk = fetch_add(next_block, 0, 1)
    return age, cov, gc, ind, region
