"""The per-patient utility integral, compiled (numba, cache on disk): imported only by code that
computes QALYs, so ``jaksim validate`` never loads numba."""

from __future__ import annotations

import numpy as np
from numba import njit

from jaksim.kernel.jit import JIT


@njit(**JIT)
def utility_time_ageing(age0, a, b, u, d):  # pragma: no cover - compiled
    """Per patient: ∫_a^b u(floor(age0 + s)) e^{−δs} ds, segment by segment between birthdays
    (δ = d = ln(1 + r); d = 0: undiscounted). A PSA draw spends half its economics time here."""
    n = age0.shape[0]
    top = u.shape[0] - 1
    out = np.zeros(n)
    for i in range(n):
        whole = np.floor(age0[i])
        frac = age0[i] - whole
        s, end_all = a[i], b[i]
        total = 0.0
        while s < end_all:
            m = np.floor(frac + s)
            end = min(end_all, m + 1.0 - frac)
            if end <= s:                       # rounding at a birthday: step past it
                end = min(end_all, np.nextafter(s, np.inf))
            k = int(min(max(whole + m, 0.0), float(top)))
            length = end - s
            if d == 0.0:
                total += u[k] * length
            else:
                total += u[k] * (np.exp(-d * s) * (-np.expm1(-d * length)) / d)
            s = end
        out[i] = total
    return out
