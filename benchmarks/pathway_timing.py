"""Time of the care pathway and its share of a full run (six-arm vaccination study).

Runs ``scenarios/ra_tofacitinib_zoster_vaccination.yaml`` at ``--n-patients`` (default 10^6)
into a temporary folder and prints the pathway's own time (``jaksim.json`` →
``vaccination.<arm>.pathway_seconds``, the compiled clinic of ``pathway.fast_clinic``) for
every capacity-limited arm and its share of the run's wall-clock time; then, in the same run,
the SimPy reference model on the same patients (identical times: checked here too) and the
share it would have taken. A first small run compiles the numba code so that compilation is
not counted.

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
    ap.add_argument("--n-patients", type=int, default=1_000_000)
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
    compiled = sum(st["pathway_seconds"] for st in meta["vaccination"].values() if "pathway_seconds" in st)
    for arm, stats in meta["vaccination"].items():
        if "pathway_seconds" in stats:
            s = stats["pathway_seconds"]
            print(f"  {arm}: compiled pathway {s:.2f} s = {100 * s / total:.1f}% of the run "
                  f"({stats['n_vaccinated']:,} vaccinated, mean wait {stats['wait_weeks_mean']:.2f} weeks)")
    simpy = _simpy_seconds(model)
    print(f"  all clinic arms: compiled {compiled:.2f} s = {100 * compiled / total:.1f}% of the run; SimPy model "
          f"{simpy:.2f} s, would be {100 * simpy / (total - compiled + simpy):.1f}% "
          f"(x{simpy / compiled:.0f} the compiled time; same dose times)")


def _simpy_seconds(model) -> float:
    """The SimPy reference on the run's own patients, checked equal to the compiled clinic."""
    import numpy as np

    from jaksim.pathway.clinic import run_pathway
    from jaksim.run.schedules import clinic_patients
    sc = model.scenario
    seconds = 0.0
    for arm in model.arms:
        v = arm.vaccination
        if v is None or v.clinic is None:
            continue
        offered, second = clinic_patients(model, v)
        ref = run_pathway(v, sc.seed, offered, second, engine="simpy")
        fast = run_pathway(v, sc.seed, offered, second)
        assert np.array_equal(ref.dose1, fast.dose1) and np.array_equal(ref.dose2, fast.dose2)
        seconds += ref.seconds
    return seconds


if __name__ == "__main__":
    main()
