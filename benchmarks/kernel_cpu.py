"""CPU time of M0's kernel and cohort synthesis in this checkout and earlier ones, interleaved.

    git archive 0ccdac5 | tar -x -C /tmp/jaksim_s0      # any earlier checkouts
    python benchmarks/kernel_cpu.py --n 1e6 --repeats 21 /tmp/jaksim_s0 /tmp/jaksim_base

One warm process per checkout (its own ``src`` and ``benchmarks``, one numba thread), each
holding M0's cohorts of ``--n`` patients (chunks of 65,536, made once). The coordinator asks
each process in turn for one repeat (the order reversed every other round), so a change in the
machine's load falls on every checkout alike: ``kernel`` is ``simulate_chunk`` over every chunk
(kernel inputs, kernel, compaction), ``synthesis`` is making every chunk's cohort. Times are
``time.process_time`` of the worker (CPU, less disturbed by other processes than wall time);
the ratio checkout/this of each round, and of the minima, are printed (this checkout first).
The checkouts must simulate the same events (checked). Nothing is written.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHUNK = 1 << 16


def worker(n: int) -> None:
    """Serve repeats on stdin ('kernel' / 'synthesis'); one JSON line per repeat on stdout."""
    # the checkout's own benchmarks (PYTHONPATH), not this script's folder
    sys.path[:] = [p for p in sys.path if not p or Path(p).resolve() != HERE] + [str(HERE)]
    import jaksim_impl
    from jaksim.run import chunks as chunk_loop
    from m0 import SCENARIO
    model = jaksim_impl.load(SCENARIO.read_text(), 1)[0]
    jaksim_impl.first_call(model)
    arm = model.arms[0]
    cap0 = chunk_loop.initial_cap(arm, float(model.scenario.horizon_years))
    cohorts = [model.cohort.block(s, min(n, s + CHUNK)) for s in range(0, n, CHUNK)]
    # the arm's kernel inputs checked once per run, as run_chunks does (checkouts since session 9)
    extra = {"prepared": chunk_loop.kernel_arm_inputs(model, arm)} if hasattr(chunk_loop, "kernel_arm_inputs") else {}
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        what = line.strip()
        events = 0
        t0 = time.process_time()
        if what == "kernel":
            cap = cap0
            for cohort in cohorts:
                r, cap = chunk_loop.simulate_chunk(model, arm, cohort, cap, **extra)
                events += int(r.ev_type.shape[0])
        else:
            for s in range(0, n, CHUNK):
                model.cohort.block(s, min(n, s + CHUNK))
        print(json.dumps({"cpu": time.process_time() - t0, "events": events}), flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkouts", nargs="*", type=Path, help="earlier checkouts to compare with this one")
    ap.add_argument("--n", type=float, default=1e6)
    ap.add_argument("--repeats", type=int, default=21)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(int(args.n))
        return 0
    trees = [HERE.parent] + [c.resolve() for c in args.checkouts]
    procs = []
    for tree in trees:
        env = {**os.environ, "PYTHONPATH": f"{tree / 'src'}{os.pathsep}{tree / 'benchmarks'}", "NUMBA_NUM_THREADS": "1"}
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--n", str(int(args.n))]
        procs.append(subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=tree))
    for p in procs:
        json.loads(p.stdout.readline())
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')}, load average {'/'.join(f'{x:.2f}' for x in os.getloadavg())}, "
          f"n = {int(args.n):,}, {args.repeats} repeats, one thread")
    for what in ("kernel", "synthesis"):
        cpu: list[list[float]] = [[] for _ in trees]
        events = [0] * len(trees)
        for r in range(args.repeats):
            order = range(len(trees)) if r % 2 == 0 else reversed(range(len(trees)))
            for i in order:
                procs[i].stdin.write(what + "\n")
                procs[i].stdin.flush()
                d = json.loads(procs[i].stdout.readline())
                cpu[i].append(d["cpu"])
                events[i] = d["events"]
        if len(set(events)) > 1:
            raise RuntimeError(f"the checkouts simulated different events: {events}")
        for tree, v in zip(trees, cpu, strict=True):
            ratios = [a / b for a, b in zip(v, cpu[0], strict=True)]
            print(f"{what:9s} {str(tree):28s} CPU s min {min(v):.4f} median {statistics.median(v):.4f}; "
                  f"/this: minima {min(v) / min(cpu[0]):.3f}, rounds median {statistics.median(ratios):.3f} "
                  f"({min(ratios):.3f}-{max(ratios):.3f})")
    print(f"finished {time.strftime('%H:%M:%S')}, load average {'/'.join(f'{x:.2f}' for x in os.getloadavg())}")
    for p in procs:
        p.stdin.close()
        p.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
