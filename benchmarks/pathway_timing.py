"""Time of the SimPy care pathway and its share of a full run (vaccination study scenario).

Runs ``scenarios/ra_tofacitinib_zoster_vaccination.yaml`` at 1e5 patients (its own
``n_patients``; override with ``--n-patients``) into a temporary folder and prints the
pathway's own time (``jaksim.json`` → ``vaccination.<arm>.pathway_seconds``) for every
capacity-limited arm and its share of the run's wall-clock time. A first small run compiles
the numba kernel so that compilation is not counted.

    python benchmarks/pathway_timing.py [--n-patients N] [--threads T]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from jaksim.model import spec
from jaksim.run import chunks as chunk_loop
from jaksim.run import engine
from jaksim.scenario import load as config

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "ra_tofacitinib_zoster_vaccination.yaml"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-patients", type=int, default=100_000)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    sc = config.load_scenario(SCENARIO)
    with tempfile.TemporaryDirectory(prefix="jaksim-bench-") as tmp:
        engine.run_to_folder(spec.build_model(sc.with_overrides(n_patients=1000)), Path(tmp) / "warm",
                             threads=args.threads)
        model = spec.build_model(sc.with_overrides(n_patients=args.n_patients))
        started = time.perf_counter()
        engine.run_to_folder(model, Path(tmp) / "run", threads=args.threads)
        total = time.perf_counter() - started
        meta = json.loads((Path(tmp) / "run" / "jaksim.json").read_text())
    print(f"{sc.name}: {args.n_patients:,} patients x {len(model.arms)} arms, threads "
          f"{chunk_loop.set_threads(args.threads)}: full run {total:.2f} s")
    for arm, stats in meta["vaccination"].items():
        if "pathway_seconds" in stats:
            s = stats["pathway_seconds"]
            print(f"  {arm}: SimPy pathway {s:.2f} s = {100 * s / total:.1f}% of the run "
                  f"({stats['n_vaccinated']:,} vaccinated, mean wait {stats['wait_weeks_mean']:.2f} weeks)")


if __name__ == "__main__":
    main()
