"""Run one implementation of M0 once and print one JSON line.

    python benchmarks/run.py --impl jaksim --n 1000000 --seed 1 --threads 2 --json

Implementations: jaksim (simulation only), jaksim_e2e (run_to_folder, all Parquet written),
numpy, simpy (n <= 1e5), starsim (skipped unless a port exists). ``--horizon``,
``--types``, ``--age-advances`` and ``--frailty`` make M0 variants (jaksim only) for the scaling
curves and the frailty check (``frailty_speed.py``).
Run each measurement in a fresh process (suite.py does) so ``peak_rss_mib`` is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time

T_START = time.perf_counter()

import numpy as np  # noqa: E402

import m0  # noqa: E402
from foreign import ForeignLoad  # noqa: E402

PROCESS_LOAD = ForeignLoad().__enter__()

IMPLS = ("jaksim", "jaksim_e2e", "numpy", "simpy", "starsim")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def repeated(fn, min_seconds: float) -> list:
    """Results of fn() called until min_seconds of (reported) simulation time have run, at most 10
    times: the first call is as fast as the rest once warmed up, and small N needs several calls."""
    with ForeignLoad() as load:
        results = [fn()]
        while sum(r[1] for r in results) < min_seconds and len(results) < 10:
            results.append(fn())
    repeated.foreign_load = load.fraction
    return results


def med(results: list, i: int) -> float:
    return float(np.median([r[i] for r in results]))


def run(args) -> dict:
    out = {"impl": args.impl, "n": args.n, "seed": args.seed}
    variant = any(v is not None for v in (args.horizon, args.types, args.age_advances, args.frailty))
    if variant and not args.impl.startswith("jaksim"):
        return {**out, "skipped": "M0 variants (--horizon/--types/--age-advances/--frailty) are jaksim-only"}
    if args.impl == "starsim":
        from peers import starsim_skip_reason
        return {**out, "skipped": starsim_skip_reason()}
    if args.impl in ("numpy", "simpy"):
        import peers
        if args.impl == "simpy" and args.n > peers.SIMPY_MAX_N:
            return {**out, "skipped": f"simpy is capped at n <= {peers.SIMPY_MAX_N} (one Python process per patient)"}
        fn = peers.simulate_numpy if args.impl == "numpy" else peers.simulate_simpy
        rs = repeated(lambda: fn(args.n, args.seed), args.min_seconds)
        tally = rs[0][0]
        out.update(threads=1, compile_seconds=None, cache="n/a (no JIT)", seconds=med(rs, 1),
                   seconds_inner=[r[1] for r in rs],
                   patient_years=tally.patient_years, **tally.to_json())
        return out

    import jaksim_impl as J
    text = m0.variant(args.n, args.seed, horizon=args.horizon, n_types=args.types,
                      age_advances=args.age_advances, frailty=args.frailty)
    model, threads, import_s = J.load(text, args.threads)
    compile_s, cache = J.first_call(model)
    out.update(threads=threads, import_seconds=import_s, compile_seconds=compile_s, cache=cache,
               numba_cache_dir=os.environ.get("NUMBA_CACHE_DIR", "(default: src/jaksim/__pycache__)"),
               horizon_years=float(model.scenario.horizon_years), n_types=len(model.types),
               age_advances=bool(model.cohort.age_advances), frailty_variance=args.frailty or 0.0)
    if args.impl == "jaksim":
        rs = repeated(lambda: J.simulate_only(model, args.n), args.min_seconds)
        tally = rs[0][0]
        out.update(seconds=med(rs, 1), seconds_inner=[r[1] for r in rs], kernel_seconds=med(rs, 2),
                   patient_years=tally.patient_years, **tally.to_json())
        out["kernel_patient_years_per_second"] = tally.patient_years / out["kernel_seconds"]
    else:
        J.end_to_end(model, 1000, threads)  # warm-up: Parquet writer, summary, first file system use
        rs = repeated(lambda: J.end_to_end(model, args.n, threads), args.min_seconds)
        out.update(seconds=med(rs, 1), seconds_inner=[r[1] for r in rs], patient_years=rs[0][2], events=rs[0][0])
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--impl", required=True, choices=IMPLS)
    ap.add_argument("--n", type=float, required=True, help="patients (1e6 notation allowed)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None, help="numba threads (jaksim); peers are single-threaded")
    ap.add_argument("--horizon", type=float, default=None, help="years (jaksim variant)")
    ap.add_argument("--types", type=int, default=None, help="number of infection types (jaksim variant)")
    ap.add_argument("--frailty", type=float, default=None,
                    help="gamma frailty variance on every infection type (jaksim variant, issue 13)")
    ap.add_argument("--age-advances", type=lambda s: s.lower() in ("1", "true", "yes"), default=None,
                    help="true/false (jaksim variant)")
    ap.add_argument("--min-seconds", type=float, default=0.5,
                    help="repeat the timed simulation in this process until this much time has run "
                         "(at most 10 times) and report the median; 0 = once")
    ap.add_argument("--json", action="store_true", help="print one JSON line (the only output format)")
    args = ap.parse_args(argv)
    args.n = int(args.n)
    out = run(args)
    if "seconds" in out:
        out["foreign_load"] = repeated.foreign_load
        out["patients_per_second"] = out["n"] / out["seconds"]
        out["patient_years_per_second"] = out["patient_years"] / out["seconds"]
    out["process_seconds"] = time.perf_counter() - T_START
    PROCESS_LOAD.__exit__(None, None, None)
    out["foreign_load_process"] = PROCESS_LOAD.fraction
    out["peak_rss_mib"] = peak_rss_mib()
    out["python"] = platform.python_version()
    out["numpy"] = np.__version__
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
