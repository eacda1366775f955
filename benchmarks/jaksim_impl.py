"""jaksim under the benchmark: simulation only (kernel over chunks) and end to end (Parquet).

Both start with one small first call that JIT-compiles or loads numba's on-disk cache; its
time is ``compile_seconds`` and ``cache`` says which ("cold": at least one kernel compiled
because the cache was empty or stale; "warm": everything loaded from the cache).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from m0 import SCENARIO
from tally import Tally


def chunk_size(model) -> int:
    """Patients per chunk of ``simulate_only``: the measured checkout's default for the model
    (``jaksim run``'s ``--chunk-size``; 2**16 in checkouts before session 11)."""
    try:
        from jaksim.run.settings import default_chunk_size
    except ImportError:
        return 1 << 16
    return default_chunk_size(len(model.arms))


def load(yaml_text: str, threads: int | None):
    """(model, threads used, import seconds) for a scenario given as YAML text."""
    from jaksim.run.memory import keep_freed_memory
    keep_freed_memory()   # as `jaksim run` does: chunks reuse freed pages (process-wide, so set here)
    t0 = time.perf_counter()
    from jaksim.model import spec
    from jaksim.run import chunks as chunk_loop
    from jaksim.run import engine  # noqa: F401  (timed with the others: a run imports it)
    from jaksim.scenario import load as config
    import_seconds = time.perf_counter() - t0
    sc = config.scenario_from_text(yaml_text, file=str(SCENARIO))
    model = spec.build_model(sc)
    used = chunk_loop.set_threads(threads)
    return model, used, import_seconds


def _dispatchers():
    from jaksim.cohort import synthesis
    from jaksim.kernel import sampling as kernel
    # compaction is part of simulate since session 9 (``compact`` in earlier checkouts)
    return tuple(f for f in (kernel.simulate, getattr(kernel, "compact", None), synthesis.synthesise) if f is not None)


def _cache_state() -> str:
    misses = sum(sum(d.stats.cache_misses.values()) for d in _dispatchers())
    return "cold" if misses else "warm"


def first_call(model) -> tuple[float, str]:
    """Time of the first (compiling or cache-loading) call on 256 patients, and cache state."""
    from jaksim.run import chunks as chunk_loop
    t0 = time.perf_counter()
    cohort = model.cohort.block(0, 256)
    chunk_loop.simulate_chunk(model, model.arms[0], cohort, 4096)
    return time.perf_counter() - t0, _cache_state()


def simulate_only(model, n: int) -> tuple[Tally, float, float]:
    """(tally, seconds, kernel_seconds): cohort synthesis + kernel for n patients, no output.

    ``seconds`` covers making each chunk's cohort and running the kernel (with compaction of
    the event buffers), i.e. everything but writing; the tally's bookkeeping is excluded.
    """
    from jaksim.codes import EXIT_BACKGROUND_DEATH
    from jaksim.run import chunks as chunk_loop
    arm = model.arms[0]
    horizon = float(model.scenario.horizon_years)
    cap = chunk_loop.initial_cap(arm, horizon)
    tally = Tally(tuple(model.types) + ("death",))
    # the arm's kernel inputs checked once, as run_chunks does (session 9; per chunk before)
    prepared = chunk_loop.kernel_arm_inputs(model, arm) if hasattr(chunk_loop, "kernel_arm_inputs") else None
    extra = {"prepared": prepared} if prepared is not None else {}
    seconds = kernel = 0.0
    size = chunk_size(model)
    for start in range(0, n, size):
        t0 = time.perf_counter()
        cohort = model.cohort.block(start, min(n, start + size))
        t1 = time.perf_counter()
        r, cap = chunk_loop.simulate_chunk(model, arm, cohort, cap, **extra)
        t2 = time.perf_counter()
        seconds += t2 - t0
        kernel += t2 - t1
        tally.add_parts(r.counts, r.exit_reason, EXIT_BACKGROUND_DEATH, r.follow_up)
    return tally, seconds, kernel


def end_to_end(model, n: int, threads: int) -> tuple[dict, float, float]:
    """(events by type, seconds, patient-years) of engine.run_to_folder writing all Parquet."""
    from jaksim.model import spec
    from jaksim.run import engine
    sc = model.scenario.with_overrides(n_patients=n)
    model = spec.build_model(sc)
    with tempfile.TemporaryDirectory(prefix="jaksim-bench-") as tmp:
        t0 = time.perf_counter()
        result = engine.run_to_folder(model, Path(tmp) / "run", threads=threads)
        seconds = time.perf_counter() - t0
    summaries = getattr(result, "summaries", result)  # RunSummary, or {arm: table} in older versions
    s = summaries[model.arms[0].name].to_pydict()
    events = dict(zip(s["type"], map(int, s["events"]), strict=False))
    return events, seconds, float(s["person_years"][0])
