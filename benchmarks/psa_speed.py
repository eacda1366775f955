"""PSA speed (issue 15): 1,000 draws x 10^5 patients x 2 arms, and 2 Dask workers against 1.

Usage::

    python benchmarks/psa_speed.py [--draws 1000] [--dask-draws 60]

1. ``run_psa`` of ``psa_speed.yaml`` (two arms of the vaccination study, 10^5 patients, economics)
   for ``--draws`` draws on this machine (all cores, in process); seconds reported, the first
   draw (numba cache load, library) timed apart.
2. The same PSA for ``--dask-draws`` draws on a local Dask cluster of 1 worker and of 2 workers
   (``--scheduler local:1`` / ``local:2``), in the same run: throughput = draws finished per
   second between the first and the last finished draw (cluster start-up excluded), and the
   ratio of the two.
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


def _throughput(sc, draws: int, scheduler: str | None) -> tuple[float, float]:
    stamps: list[float] = []
    t0 = time.perf_counter()
    psa.run_psa(sc, range(draws), scheduler=scheduler, progress=lambda n: stamps.extend([time.perf_counter()] * n))
    total = time.perf_counter() - t0
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 and stamps[-1] > stamps[0] else 0.0
    return total, rate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--dask-draws", type=int, default=60)
    ap.add_argument("--json", type=Path, default=HERE / "results" / "psa_speed.json")
    a = ap.parse_args()
    sc = load_scenario(HERE / "psa_speed.yaml").with_overrides(n_patients=100_000)
    t0 = time.perf_counter()
    psa.run_psa(sc, [a.draws + 1])                # first call: numba cache load, library (not counted)
    first = time.perf_counter() - t0
    total, rate = _throughput(sc, a.draws, None)
    print(f"in process: {a.draws} draws x 100,000 patients x 2 arms in {total:.1f} s "
          f"({rate:.2f} draws/s; first call {first:.1f} s apart), {os.cpu_count()} cores")
    one_total, one = _throughput(sc, a.dask_draws, "local:1")
    two_total, two = _throughput(sc, a.dask_draws, "local:2")
    print(f"Dask: 1 worker {one:.2f} draws/s ({one_total:.1f} s with start-up), 2 workers {two:.2f} draws/s "
          f"({two_total:.1f} s); ratio {two / one if one else float('nan'):.2f}")
    a.json.parent.mkdir(parents=True, exist_ok=True)
    a.json.write_text(json.dumps({"draws": a.draws, "seconds": total, "draws_per_second": rate, "first_call": first,
                                  "dask_draws": a.dask_draws, "dask_1_worker_draws_per_second": one,
                                  "dask_2_workers_draws_per_second": two, "ratio": two / one if one else None,
                                  "cores": os.cpu_count(), "load_average": os.getloadavg()}, indent=2))


if __name__ == "__main__":
    main()
