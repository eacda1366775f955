"""PSA speed (issue 15): 1,000 draws x 10^5 patients x 2 arms, and 2 Dask workers against 1.

Usage::

    python benchmarks/psa_speed.py [--draws 1000] [--dask-draws 300] [--skip-in-process]

1. ``run_psa`` of ``psa_speed.yaml`` (two arms of the vaccination study, 10^5 patients, economics)
   for ``--draws`` draws on this machine: on a worker process per core (``jaksim psa``'s default
   for 32 draws per core or more; seconds with the pool's start-up), then in this process (all
   cores as numba threads, ``--processes 1``); the first draw (numba cache load, library) timed
   apart.
2. The same PSA on a local Dask cluster of 1 worker and of 2 workers, each worker one core (one
   Dask thread, ``--threads 1`` numba thread per task), in the same run: draws per second by
   difference of whole PSAs of ``--dask-draws`` / 3 and ``--dask-draws`` draws (cluster start-up
   and each worker's numba cache load cancel), and the ratio of the two (scaling with workers:
   the target of issue 15 is >= 1.8).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from jaksim.run import psa
from jaksim.scenario.load import load_scenario

HERE = Path(__file__).resolve().parent


def _throughput(sc, draws: int, scheduler: str | None, threads: int | None = None,
                warm: int = 1, processes: int | None = 1) -> tuple[float, float]:
    """(seconds with start-up, draws per second after the first ``warm`` finished draws)."""
    stamps: list[float] = []
    t0 = time.perf_counter()
    psa.run_psa(sc, range(draws), scheduler=scheduler, threads=threads, processes=processes,
                progress=lambda n: stamps.extend([time.perf_counter()] * n))
    total = time.perf_counter() - t0
    w = min(warm, len(stamps) - 2) if len(stamps) > 2 else 0
    span = stamps[-1] - stamps[w] if stamps else 0.0
    rate = (len(stamps) - 1 - w) / span if span > 0 else 0.0
    return total, rate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--dask-draws", type=int, default=300)
    ap.add_argument("--skip-in-process", action="store_true", help="only the Dask scaling")
    ap.add_argument("--json", type=Path, default=HERE / "results" / "psa_speed.json")
    a = ap.parse_args()
    sc = load_scenario(HERE / "psa_speed.yaml").with_overrides(n_patients=100_000)
    t0 = time.perf_counter()
    psa.run_psa(sc, [a.draws + 1])                # first call: numba cache load, library (not counted)
    first = time.perf_counter() - t0
    if a.skip_in_process:
        pool_total = pool_rate = total = rate = float("nan")
    else:
        pool_total, pool_rate, total, rate = _in_process(sc, a.draws, first)
    scaling = _dask_scaling(sc, a.dask_draws)
    a.json.parent.mkdir(parents=True, exist_ok=True)
    a.json.write_text(json.dumps({"draws": a.draws, "processes_seconds": pool_total,
                                  "processes_draws_per_second": pool_rate,
                                  "seconds": total, "draws_per_second": rate, "first_call": first,
                                  "dask_draws": a.dask_draws, **scaling,
                                  "cores": os.cpu_count(), "load_average": os.getloadavg()}, indent=2))


def _in_process(sc, draws: int, first: float) -> tuple[float, float, float, float]:
    """1,000 draws on a worker process per core, then in this process (all cores as threads)."""
    pool_total, pool_rate = _throughput(sc, draws, None, processes=os.cpu_count())
    print(f"worker processes (jaksim psa's default for >= 32 draws per core): {draws} draws x 100,000 patients "
          f"x 2 arms in {pool_total:.1f} s with start-up ({pool_rate:.2f} draws/s), {os.cpu_count()} processes")
    total, rate = _throughput(sc, draws, None)
    print(f"in process (--processes 1): {draws} draws in {total:.1f} s "
          f"({rate:.2f} draws/s; first call {first:.1f} s apart), {os.cpu_count()} numba threads")
    return pool_total, pool_rate, total, rate


def _dask_scaling(sc, n_large: int) -> dict:
    """Draws per second of a local cluster of 1 and of 2 workers, one core each, by difference:
    (N2 − N1) / (T(N2) − T(N1)) with N1 = N2 / 3, each T a fresh cluster's whole PSA, so cluster
    start-up and each worker's first draws (numba cache load) cancel; the runs alternate between
    1 and 2 workers. (Draws reach the driver in batches, so per-draw time stamps cannot be used.)"""
    n_small = n_large // 3
    seconds: dict[tuple[int, int], float] = {}
    for n in (n_small, n_large):
        for workers in (1, 2):
            seconds[workers, n] = _throughput(sc, n, f"local:{workers}", threads=1)[0]
    rate = {w: (n_large - n_small) / (seconds[w, n_large] - seconds[w, n_small]) for w in (1, 2)}
    print(f"Dask, one core per worker, by difference of {n_small} and {n_large} draws: 1 worker {rate[1]:.2f} draws/s, "
          f"2 workers {rate[2]:.2f} draws/s; ratio {rate[2] / rate[1]:.2f} "
          f"(whole runs: {', '.join(f'{w} worker(s) x {n}: {t:.1f} s' for (w, n), t in seconds.items())})")
    return {"dask_1_worker_draws_per_second": rate[1], "dask_2_workers_draws_per_second": rate[2],
            "ratio": rate[2] / rate[1], "dask_seconds": {f"{w}x{n}": t for (w, n), t in seconds.items()}}


if __name__ == "__main__":
    main()
