"""Stream keys of the counter-based generator: pure Python, no compiled code.

A stream's 64-bit key is a SplitMix64 hash of (seed, PSA draw, stream id); the generator
itself (Squares64, numba) is in :mod:`jaksim.kernel.rng`, which re-exports these names. Kept
apart so that resolving a scenario (``jaksim validate``) needs no numba (issue 11).
"""

from __future__ import annotations

import zlib

import numpy as np


def _splitmix64(x: int) -> int:
    """SplitMix64 finaliser on a Python int (key derivation only, not the hot path)."""
    mask = (1 << 64) - 1
    x = (x + 0x9E3779B97F4A7C15) & mask
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & mask
    return x ^ (x >> 31)


def stream_id(name: str) -> int:
    """Stable 32-bit id of a named stream (e.g. ``"clock/herpes_zoster"``).

    Keyed by name, not position, so adding an infection type to a scenario never
    moves the random numbers of the others.
    """
    return zlib.crc32(name.encode("utf-8"))


def stream_key(seed: int, name: str, draw: int = 0) -> np.uint64:
    """64-bit Squares key for one (seed, PSA draw, stream); odd and well mixed."""
    x = _splitmix64(seed & ((1 << 64) - 1))
    x = _splitmix64(x ^ (draw & ((1 << 64) - 1)))
    x = _splitmix64(x ^ stream_id(name))
    return np.uint64(x | 1)
