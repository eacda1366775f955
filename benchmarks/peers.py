"""Peer implementations of M0 written for the benchmark: NumPy, SimPy and (if present) starsim.

Each returns ``(tally, seconds)``: a Tally of per-patient counts and follow-up (for the
statistical cross-check) and the simulation time, which excludes the tally's own bookkeeping.
Both peers use their own generators (NumPy PCG64, Python's Mersenne Twister), independent of
jaksim's counter-based streams.
"""

from __future__ import annotations

import math
import random
import time
from statistics import NormalDist

import numpy as np
from scipy import special

from m0 import PARAMS, TYPES
from tally import Tally

NAMES = TYPES + ("death",)
#: SimPy keeps one process per patient in Python: about 5e4 patients/s, so cap N.
SIMPY_MAX_N = 100_000
NUMPY_CHUNK = 1 << 20


def _hazards(p: dict, age, steroid, vaccinated, xp=np):
    """Per-type hazard (per PY) of M0; works on arrays (numpy) and on scalars (math)."""
    hr_age = p["hr_age_per_10"] ** ((age - p["ref_age"]) / 10.0)
    out = []
    for k in TYPES:
        lam = p["rate"][k] * hr_age
        if xp is np:
            lam = lam * np.where(steroid, p["hr_steroid"][k], 1.0) * np.where(vaccinated, p["hr_vaccinated"][k], 1.0)
        else:
            lam *= (p["hr_steroid"][k] if steroid else 1.0) * (p["hr_vaccinated"][k] if vaccinated else 1.0)
        out.append(lam)
    return out


# --------------------------------------------------------------------------- NumPy
def simulate_numpy(n: int, seed: int, p: dict = PARAMS, chunk: int = NUMPY_CHUNK) -> tuple[Tally, float]:
    """Vectorised exact sampler, chunks of 2**20 patients.

    Death is Exp(mu), follow-up F = min(death, horizon). Hazards are constant in time and no
    infection changes survival, so given F each type's events are a Poisson process on [0, F]:
    count ~ Poisson(lambda_k F), times i.i.d. Uniform(0, F). The event arrays (patient id,
    type, time; unsorted within a patient) are built and dropped, as jaksim's are.
    """
    rng = np.random.default_rng(seed)
    a = p["age"]
    lo = special.ndtr((a["min"] - a["mean"]) / a["sd"])
    hi = special.ndtr((a["max"] - a["mean"]) / a["sd"])
    tally = Tally(NAMES)
    seconds = 0.0
    for start in range(0, n, chunk):
        t0 = time.perf_counter()
        m = min(n, start + chunk) - start
        age = a["mean"] + a["sd"] * special.ndtri(lo + rng.random(m) * (hi - lo))
        _female = rng.random(m) < p["p_female"]  # drawn as in M0; no effect on any hazard
        steroid = rng.random(m) < np.where(age >= 65.0, p["p_steroid_from_65"], p["p_steroid"])
        vaccinated = rng.random(m) < p["p_vaccinated"]
        death = rng.exponential(1.0 / p["death_rate"], m)
        fu = np.minimum(death, p["horizon"])
        counts = np.empty((m, len(NAMES)), dtype=np.int64)
        ids = np.arange(start, start + m, dtype=np.int64)
        for k, lam in enumerate(_hazards(p, age, steroid, vaccinated)):
            c = rng.poisson(lam * fu)
            counts[:, k] = c
            ev_pid = np.repeat(ids, c)
            ev_time = rng.random(ev_pid.shape[0]) * np.repeat(fu, c)
            del ev_pid, ev_time
        counts[:, -1] = death < p["horizon"]
        seconds += time.perf_counter() - t0
        tally.add(counts, fu)
    return tally, seconds


# --------------------------------------------------------------------------- SimPy
def simulate_simpy(n: int, seed: int, p: dict = PARAMS) -> tuple[Tally, float]:
    """One SimPy process per patient; each waits for the earliest of its competing clocks.

    Every infection type has an exponential clock (memoryless, redrawn after each event);
    death and the horizon end the process. Exact for constant hazards.
    """
    import simpy

    if n > SIMPY_MAX_N:
        raise ValueError(f"simpy peer is capped at n <= {SIMPY_MAX_N}")
    t0 = time.perf_counter()
    rnd = random.Random(seed)
    a = p["age"]
    nd = NormalDist(a["mean"], a["sd"])
    lo, hi = nd.cdf(a["min"]), nd.cdf(a["max"])
    horizon, mu = p["horizon"], p["death_rate"]
    K = len(TYPES)
    counts = [[0] * (K + 1) for _ in range(n)]
    follow_up = [0.0] * n
    events = []  # (patient id, type, time)
    env = simpy.Environment()

    def patient(env, i):
        age = nd.inv_cdf(lo + rnd.random() * (hi - lo))
        _female = rnd.random() < p["p_female"]
        steroid = rnd.random() < (p["p_steroid_from_65"] if age >= 65.0 else p["p_steroid"])
        vaccinated = rnd.random() < p["p_vaccinated"]
        lam = _hazards(p, age, steroid, vaccinated, xp=math)
        death = rnd.expovariate(mu)
        end = min(death, horizon)
        nxt = [rnd.expovariate(x) for x in lam]
        row = counts[i]
        while True:
            k = min(range(K), key=nxt.__getitem__)
            if nxt[k] >= end:
                yield env.timeout(end - env.now)
                break
            yield env.timeout(nxt[k] - env.now)
            row[k] += 1
            events.append((i, k, env.now))
            nxt[k] = env.now + rnd.expovariate(lam[k])
        row[K] = 1 if death < horizon else 0
        follow_up[i] = end

    for i in range(n):
        env.process(patient(env, i))
    env.run()
    seconds = time.perf_counter() - t0
    tally = Tally(NAMES)
    tally.add(np.array(counts), np.array(follow_up))
    return tally, seconds


# --------------------------------------------------------------------------- starsim
def starsim_skip_reason() -> str:
    """Why the starsim peer does not run here (no port of M0 to starsim is written yet)."""
    try:
        import starsim  # noqa: F401
    except ImportError:
        return "starsim is not installed (pip install starsim); peer figure in BENCHMARK.md: 2.1e6 PY/s"
    return "starsim is installed but no M0 port is written; peer figure in BENCHMARK.md: 2.1e6 PY/s"
