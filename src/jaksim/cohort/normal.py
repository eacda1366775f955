"""The standard normal quantile (inverse CDF) as numba code, for cohort synthesis.

Ages of a synthetic cohort are drawn by inverse transform of a truncated normal: one quantile
per patient. ``scipy.special.ndtri`` cannot be called from numba code cached on disk, and
called from Python it ran single-threaded beside the parallel synthesis (10 of 18 ms per
10^6 patients on the 2-core benchmark machine); this version runs inside the parallel pass.

Algorithm AS 241 (PPND16): Wichura MJ. "Algorithm AS 241: The percentage points of the normal
distribution." Journal of the Royal Statistical Society Series C (Applied Statistics)
1988;37(3):477-84, doi:10.2307/2347330. Rational approximations in three regions of p,
relative error about 1e-16; the coefficients are the paper's (checked against its
transcription hash sums in tests/test_normal.py, and against scipy's ``ndtri``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from jaksim.kernel.jit import JIT

#: |p - 1/2| <= SPLIT1: central region, rational function of r = 0.180625 - q^2
SPLIT1 = 0.425
#: r = sqrt(-log(min(p, 1 - p))) <= SPLIT2: intermediate tail; beyond: far tail
SPLIT2 = 5.0
CONST1 = 0.180625
CONST2 = 1.6

# numerator a0..a7 and denominator b1..b7 (b0 = 1) of each region, lowest order first
A = (3.3871328727963666080e0, 1.3314166789178437745e+2, 1.9715909503065514427e+3,
     1.3731693765509461125e+4, 4.5921953931549871457e+4, 6.7265770927008700853e+4,
     3.3430575583588128105e+4, 2.5090809287301226727e+3)
B = (1.0, 4.2313330701600911252e+1, 6.8718700749205790830e+2, 5.3941960214247511077e+3,
     2.1213794301586595867e+4, 3.9307895800092710610e+4, 2.8729085735721942674e+4,
     5.2264952788528545610e+3)
C = (1.42343711074968357734e0, 4.63033784615654529590e0, 5.76949722146069140550e0,
     3.64784832476320460504e0, 1.27045825245236838258e0, 2.41780725177450611770e-1,
     2.27238449892691845833e-2, 7.74545014278341407640e-4)
D = (1.0, 2.05319162663775882187e0, 1.67638483018380384940e0, 6.89767334985100004550e-1,
     1.48103976427480074590e-1, 1.51986665636164571966e-2, 5.47593808499534494600e-4,
     1.05075007164441684324e-9)
E = (6.65790464350110377720e0, 5.46378491116411436990e0, 1.78482653991729133580e0,
     2.96560571828504891230e-1, 2.65321895265761230930e-2, 1.24266094738807843860e-3,
     2.71155556874348757815e-5, 2.01033439929228813265e-7)
F = (1.0, 5.99832206555887937690e-1, 1.36929880922735805310e-1, 1.48753612908506148525e-2,
     7.86869131145613259100e-4, 1.84631831751005468180e-5, 1.42151175831644588870e-7,
     2.04426310338993978564e-15)


@njit(**JIT)
def _ratio(num, den, r):
    """num(r) / den(r) for degree-7 polynomials given lowest order first (Horner's rule,
    written out so that loops calling it vectorise)."""
    p = ((((((num[7] * r + num[6]) * r + num[5]) * r + num[4]) * r + num[3]) * r + num[2]) * r
         + num[1]) * r + num[0]
    q = ((((((den[7] * r + den[6]) * r + den[5]) * r + den[4]) * r + den[3]) * r + den[2]) * r
         + den[1]) * r + den[0]
    return p / q


@njit(**JIT)
def central_quantile(p: float) -> float:
    """The central-region formula alone (exact for |p - 1/2| <= 0.425, about 85% of draws):
    branch-free, so a loop over many p vectorises; ``normal_quantile`` is the whole function."""
    q = p - 0.5
    return q * _ratio(A, B, CONST1 - q * q)


@njit(**JIT)
def in_central_region(p: float) -> bool:
    return abs(p - 0.5) <= SPLIT1


@njit(**JIT)
def normal_quantile(p: float) -> float:
    """z with Phi(z) = p for 0 < p < 1 (standard normal); -inf / +inf at 0 / 1, nan outside."""
    q = p - 0.5
    if abs(q) <= SPLIT1:
        return central_quantile(p)
    if not 0.0 < p < 1.0:
        if p == 0.0:
            return -np.inf
        if p == 1.0:
            return np.inf
        return np.nan
    r = np.sqrt(-np.log(p if q < 0.0 else 1.0 - p))
    if r <= SPLIT2:
        z = _ratio(C, D, r - CONST2)
    else:
        z = _ratio(E, F, r - SPLIT2)
    return -z if q < 0.0 else z
