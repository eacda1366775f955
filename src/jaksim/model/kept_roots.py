"""Roots of the first-event calibration kept between processes, keyed by everything they depend on.

A first-event rate is calibrated by Brent's method (``scipy.optimize.brentq``,
``calibration._solve``). Importing ``scipy.optimize`` takes 0.1-0.2 s, as long as simulating
many thousand patients, and a warm 1,000-patient ``jaksim run`` has under 1 s in all (issue 11).
So each root found is written as one small JSON file, and a later process that would solve the
very same problem reads it instead of importing scipy.optimize.

"The very same problem": the file's name is the SHA-256 of every input (for a root: the target,
follow-up, bracket, tolerances and the bytes of the hazard-ratio nodes and weights, i.e. the
whole function whose root is sought), the numpy and scipy versions, the jaksim version and the
bytes of the module that poses the problem (``calibration.py``). Any change of these gives another
name, so a kept root is never stale; JSON keeps a float exactly (shortest repr), so a run
reads the same bits scipy returned. Folder: that of the library cache
(:func:`jaksim.library.cache.cache_dir`; ``JAKSIM_CACHE_DIR=`` (empty) turns both off). A file
that cannot be read or written is skipped silently: the root is then computed, as before.

Roots are kept only inside :func:`keeping_roots`, which ``jaksim run`` puts around building its
model: one model per scenario, so the folder grows by a file per distinct root. PSA draws,
sweeps and the API solve as before (every draw is a problem of its own; keeping them would fill
the folder with files that no start-up reads again).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import numpy as np

from jaksim import __version__
from jaksim.library.cache import cache_dir

#: True inside :func:`keeping_roots`
_KEEPING: ContextVar[bool] = ContextVar("jaksim_keeping_roots", default=False)


@contextmanager
def keeping_roots() -> Iterator[None]:
    """Roots found inside this block are read from and written to the cache folder."""
    token = _KEEPING.set(True)
    try:
        yield
    finally:
        _KEEPING.reset(token)


def _path(kind: str, source: Path, scalars: tuple[float, ...], arrays: tuple[np.ndarray, ...]) -> Path | None:
    """The file of one value, or None (caching off, or the source unreadable)."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        code = source.read_bytes()
    except OSError:
        return None
    import scipy  # the top package only (numba has imported it already)
    h = hashlib.sha256(f"jaksim {__version__} {kind} v1; numpy {np.__version__}; scipy {scipy.__version__}; "
                       f"{sys.byteorder}\0".encode())
    h.update(code + b"\0" + repr(tuple(float(x) for x in scalars)).encode())
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"\0{a.dtype.str}{a.shape}\0".encode() + a.tobytes())
    return folder / f"{kind}-{h.hexdigest()}.json"


def _finite(values) -> bool:
    return isinstance(values, list) and all(isinstance(v, float) and math.isfinite(v) for v in values)


def _read(path: Path | None) -> list[list[float]] | None:
    """The kept arrays (lists of finite floats, one length), or None."""
    if path is None:
        return None
    try:
        arrays = json.loads(path.read_text(encoding="utf-8"))["arrays"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    ok = (isinstance(arrays, list) and arrays and all(_finite(a) for a in arrays)
          and len({len(a) for a in arrays}) == 1)
    return arrays if ok else None


def _write(path: Path | None, arrays: list[list[float]]) -> None:
    """Keep arrays of floats (atomically: a reader sees the whole file or none)."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".kept-", suffix=".json", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps({"arrays": arrays}))
        os.replace(tmp, path)
    except (OSError, ValueError):
        return


def kept_root(solve: Callable[[], float], source: Path, scalars: tuple[float, ...],
              arrays: tuple[np.ndarray, ...]) -> float:
    """``solve()``, or (inside :func:`keeping_roots`) the value it returned in an earlier process
    for the same problem.

    Parameters
    ----------
    solve : callable
        Finds the root (imports scipy.optimize only when called).
    source : Path
        The module that defines the problem and calls the solver (its bytes are in the key).
    scalars, arrays
        Every other input of the problem: target, follow-up (years), bracket, tolerances; the
        arrays the function is evaluated on.

    Returns
    -------
    float
        The root, bit for bit what ``solve()`` returns.
    """
    if not _KEEPING.get():
        return solve()
    path = _path("root", source, scalars, arrays)
    kept = _read(path)
    if kept is not None and len(kept) == 1 and len(kept[0]) == 1:
        return kept[0][0]
    value = float(solve())
    _write(path, [[value]])
    return value
