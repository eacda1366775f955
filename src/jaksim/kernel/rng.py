"""Counter-based random numbers keyed by (seed, draw, stream, patient id, counter).

Every uniform is a pure function of its key and counter, so results do not depend on
chunk size, thread count or scheduling, and patient *i* sees the same numbers in every
arm of a study (common random numbers).

Generator: Squares64 (Widynski B. "Squares: a fast counter-based RNG", arXiv:2004.06278,
2020), five rounds of 64-bit square-and-rotate. The 64-bit key of a stream is a
SplitMix64 hash of (seed, draw, stream id); the counter is ``patient_id * 2**24 + index``,
so each (patient, stream) owns 2**24 consecutive counters.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from jaksim.kernel.jit import JIT
from jaksim.kernel.keys import _splitmix64, stream_id, stream_key  # noqa: F401  (re-exported: pure Python)

PATIENT_SHIFT = np.uint64(24)
#: Counters available to one (patient, stream); the kernel checks it never runs out.
MAX_INDEX = 1 << 24
#: Largest patient id the counter layout supports (2**40, about 1.1e12).
MAX_PATIENT_ID = 1 << 40

_TWO_M52 = 1.0 / 4503599627370496.0  # 2**-52


@njit(**JIT)
def squares64(ctr: np.uint64, key: np.uint64) -> np.uint64:
    """Squares64 output for one counter under one key (64 random bits)."""
    x = ctr * key
    y = x
    z = y + key
    x = x * x + y
    x = (x >> np.uint64(32)) | (x << np.uint64(32))
    x = x * x + z
    x = (x >> np.uint64(32)) | (x << np.uint64(32))
    x = x * x + y
    x = (x >> np.uint64(32)) | (x << np.uint64(32))
    x = x * x + z
    t = x
    x = (x >> np.uint64(32)) | (x << np.uint64(32))
    return t ^ ((x * x + y) >> np.uint64(32))


@njit(**JIT)
def unit_interval(bits: np.uint64) -> float:
    """Map 64 random bits to ``(k + 1/2) * 2**-52`` with ``k`` the top 52 bits.

    Every value is exactly representable, strictly inside (0, 1) (from 2**-53 to
    1 - 2**-53) and the set is symmetric about 1/2. (With 53 bits, ``k + 1/2`` needs 54
    significant bits: the sum rounds, and ``k = 2**53 - 1`` gave exactly 1.0.)
    """
    return (float(bits >> np.uint64(12)) + 0.5) * _TWO_M52


@njit(**JIT)
def uniform(key: np.uint64, patient_id: np.int64, index: np.int64) -> float:
    """One uniform in the open interval (0, 1), 52 random bits (see ``unit_interval``)."""
    ctr = (np.uint64(patient_id) << PATIENT_SHIFT) | np.uint64(index)
    return unit_interval(squares64(ctr, key))


@njit(**JIT)
def lazy_exponential(u: float, upper: float) -> float:
    """Exp(1) target ``-log(1 - u)``, or +inf when it provably exceeds ``upper`` (lazy log).

    ``-log(1 - u) >= u``, so a uniform above ``upper`` gives a target that the
    cumulative hazard can never reach; the log is skipped and the outcome is unchanged.
    """
    if u >= upper:
        return np.inf
    return -np.log1p(-u)


@njit(**JIT)
def exponential_target(key: np.uint64, patient_id: np.int64, index: np.int64, upper: float) -> float:
    """Exp(1) target from counter ``index`` of the patient's stream, lazily (``lazy_exponential``)."""
    return lazy_exponential(uniform(key, patient_id, index), upper)


@njit(parallel=True, **JIT)
def uniforms(key: np.uint64, patient_ids: np.ndarray, index: np.int64) -> np.ndarray:
    """Vector of uniforms, one per patient id, at a fixed counter index."""
    out = np.empty(patient_ids.shape[0], dtype=np.float64)
    for i in prange(patient_ids.shape[0]):
        out[i] = uniform(key, patient_ids[i], index)
    return out
