"""Gamma frailty of a patient's infection type, sampled exactly with the frailty integrated out.

A patient's frailty z for type k multiplies the type's hazard for the whole follow-up:
z ~ Gamma(shape 1/θ, rate 1/θ) (mean 1, variance θ). Given z, the type's events happen where
the cumulative hazard without frailty, Λ(t), passes the points of a Poisson process of rate z
(the kernel's clocks work in Λ: ``events.py``).

The kernel never draws z. After n events, the last at Λ = S, the posterior of z is
Gamma(a = 1/θ + n, rate b = 1/θ + S) (likelihood z^n e^{−zS}), so the next gap G in Λ has
P(G > x) = E[e^{−zx} | past] = (b / (b + x))^a, a Lomax law drawn by inversion from the clock's
next uniform u:

    G = b ((1 − u)^(−1/a) − 1)

(n = 0, S = 0: the first event's Lomax law (1 + θx)^(−1/θ)). This is the gamma-mixed Poisson
process exactly (a Pólya-urn form of it); each event costs one power instead of one log. The
targets are functions of the clock's uniforms only, as without frailty, so a patient's events
sit at the same points of Λ in every arm: one frailty z per patient (the limit of n/S), shared by
every arm (common random numbers), and more hazard never gives fewer events.
Lazily: G >= (b/a)·(−log(1 − u)) >= (b/a)·u, so a gap that provably passes the cumulative
hazard left to the horizon (at most the bound of Λ over the horizon less S) is +inf after a
product (uniform) or a log, without the power (as ``rng.lazy_exponential``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from jaksim.kernel.jit import JIT_INLINE


@njit(**JIT_INLINE)
def frailty_gap(u, upper, shape, scale):
    """Gap of cumulative hazard to the next event, P(G > x) = (scale / (scale + x))^shape, from the
    uniform ``u``; +inf when provably above ``upper`` (then no power is taken)."""
    if u * scale >= upper * shape:
        return np.inf
    y = -np.log1p(-u) / shape
    if y * scale >= upper:
        return np.inf
    return scale * np.expm1(y)


@njit(**JIT_INLINE)
def first_target(u, upper, variance, shape):
    """First-event target of cumulative hazard: Exp(1) when ``variance`` is 0 (as
    ``rng.lazy_exponential``), else Lomax (1 + θx)^(−1/θ) (``frailty_gap`` with shape and scale
    1/θ = ``shape``, no division); +inf when provably above ``upper``."""
    if u >= upper:
        return np.inf
    y = -np.log1p(-u)
    if variance > 0.0:
        return np.inf if y >= upper else shape * np.expm1(variance * y)    # the target is >= y
    return y
