"""Gamma frailty of a patient's infection type, sampled exactly and only when it matters.

A patient's frailty z for type k multiplies the type's hazard for the whole follow-up:
z ~ Gamma(shape 1/θ, rate 1/θ) (mean 1, variance θ, per patient-year scale unchanged). Event
times are those of a unit-rate Poisson process in the cumulative hazard z·Λ(t), Λ the type's
cumulative hazard without frailty (per patient, piecewise constant hazards, ``patient.py``).

Drawing z for every patient and type would cost a gamma variate each. The kernel draws the
same joint law in an order that needs almost none (θ > 0; θ = 0 is the model without frailty,
bit for bit):

1. The first event happens when Λ reaches T₁ = E₁ / z, E₁ ~ Exp(1). Integrated over z, T₁ has
   the Lomax survival P(T₁ > x) = E[e^{−z x}] = (1 + θx)^{−1/θ}, so T₁ is drawn by inversion
   from the clock's first uniform u: T₁ = ((1 − u)^{−θ} − 1)/θ. Since T₁ ≥ −log(1 − u) ≥ u, the
   kernel's lazy bound (``rng.lazy_exponential``) still applies: a patient whose u is above the
   bound of Λ over the horizon has no event and never needs z, nor a power.
2. Given the first event at Λ = T₁, z has the density ∝ z^{1/θ−1} e^{−z/θ} · z e^{−z T₁}, i.e.
   z | T₁ ~ Gamma(1/θ + 1, rate 1/θ + T₁); it is drawn then, from the stream
   ``frailty/<type>`` (Marsaglia & Tsang 2000, ACM TOMS 26:363, shape ≥ 1: exact).
3. Later events: Λ advances by E_j / z between events (E_j the clock's later Exp(1) targets).

(T₁, z) so drawn has the law of (E₁/z, z) with z ~ Gamma(1/θ, 1/θ): the patient has one z for
the whole follow-up. T₁ and z are functions of the patient's uniforms only, not of the arm's
hazards, so every arm of a scenario sees the same z (common random numbers) and more hazard
never gives fewer events.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from jaksim.kernel.jit import JIT_INLINE
from jaksim.kernel.rng import MAX_INDEX, uniform

_TWO_PI = 2.0 * np.pi


@njit(**JIT_INLINE)
def lomax_target(u, upper, variance):
    """First-event target of cumulative hazard (no frailty factor) from uniform ``u``:
    Exp(1) when ``variance`` is 0, else Lomax((1 + θx)^(−1/θ)); +inf when provably above ``upper``."""
    if u >= upper:
        return np.inf
    if variance > 0.0:
        return np.expm1(-variance * np.log1p(-u)) / variance
    return -np.log1p(-u)


@njit(**JIT_INLINE)
def gamma_variate(key, patient_id, shape):
    """Gamma(shape, rate 1) for shape >= 1 from counters 0, 1, 2, ... of the patient's stream
    (Marsaglia & Tsang 2000; normal deviates by Box–Muller); NaN if the counters run out."""
    d = shape - 1.0 / 3.0
    c = 1.0 / np.sqrt(9.0 * d)
    index = 0
    while index + 3 <= MAX_INDEX:
        u1 = uniform(key, patient_id, index)
        u2 = uniform(key, patient_id, index + 1)
        u3 = uniform(key, patient_id, index + 2)
        index += 3
        x = np.sqrt(-2.0 * np.log(u1)) * np.cos(_TWO_PI * u2)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        if np.log(u3) < 0.5 * x * x + d - d * v + d * np.log(v):
            return d * v
    return np.nan


@njit(**JIT_INLINE)
def frailty_after_first_event(key, patient_id, variance, first_target):
    """The patient's frailty given its first event at cumulative hazard ``first_target``:
    Gamma(1/θ + 1, rate 1/θ + first_target) (1 when θ is 0)."""
    if variance <= 0.0:
        return 1.0
    a = 1.0 / variance
    return gamma_variate(key, patient_id, a + 1.0) / (a + first_target)
